//! The DRAM plan: where the program, the weights, the params and every activation buffer live
//! in device memory. Every region and buffer starts on a [`DRAM_ALIGN`] boundary (the widest DMA
//! beat); descriptors carry absolute addresses.
//!
//! Layout, from `base`: the program (descriptors of every engine run, each run ending with END),
//! the weight tiles of each CONV layer, the params of each layer, then the activation buffers.
//! Buffers are not reused across the run yet (correctness first): each has its own bytes.

use crate::lower::{Lowered, LoweredStep};
use crate::schedule::{BufferId, Step};
use systole_arch::descriptor::{try_encode, DescriptorError, DESCRIPTOR_BYTES};
use systole_arch::regmap::DRAM_ALIGN;
use systole_arch::LayerDescriptor;
use thiserror::Error;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Region {
    pub addr: u64,
    pub bytes: u64,
}

impl Region {
    /// One past the last byte (saturating: regions read from a file may be absurd).
    pub fn end(&self) -> u64 {
        self.addr.saturating_add(self.bytes)
    }

    /// True when `[addr, addr + bytes)` lies inside this region.
    pub fn contains(&self, addr: u64, bytes: u64) -> bool {
        addr >= self.addr && addr.checked_add(bytes).is_some_and(|e| e <= self.end())
    }

    pub fn overlaps(&self, other: &Region) -> bool {
        self.bytes > 0 && other.bytes > 0 && self.addr < other.end() && other.addr < self.end()
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BufferPlacement {
    pub name: String,
    pub region: Region,
}

/// Where everything lives in device memory.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DramLayout {
    /// First byte the plan uses.
    pub base: u64,
    /// Bytes from `base` to the end of the last region (aligned).
    pub size: u64,
    pub program: Region,
    pub weights: Region,
    pub params: Region,
    pub buffers: Vec<BufferPlacement>,
}

impl DramLayout {
    /// Every region with a name, program first, then weights, params and the buffers.
    pub fn regions(&self) -> Vec<(String, Region)> {
        let mut v = vec![
            ("PROGRAM".to_string(), self.program),
            ("WEIGHTS".to_string(), self.weights),
            ("PARAMS".to_string(), self.params),
        ];
        v.extend(self.buffers.iter().map(|b| (format!("buffer '{}'", b.name), b.region)));
        v
    }

    pub fn end(&self) -> u64 {
        self.base.saturating_add(self.size)
    }
}

#[derive(Debug, Error)]
pub enum DramError {
    #[error("layer {index} ({node}): {source}")]
    Descriptor { index: usize, node: String, source: DescriptorError },
    #[error("the program has {0} descriptors; LAYER_INDEX is 16 bits")]
    TooManyDescriptors(usize),
    #[error("base address {0:#x} is not {DRAM_ALIGN}-byte aligned")]
    Unaligned(u64),
    #[error("the plan does not fit a 64-bit address space")]
    Overflow,
}

/// The placed model: memory images of the three constant regions and the schedule.
#[derive(Clone, Debug)]
pub struct Placed {
    pub layout: DramLayout,
    /// Encoded descriptors, `DESCRIPTOR_BYTES` each.
    pub program: Vec<u8>,
    pub weights: Vec<u8>,
    pub params: Vec<u8>,
    pub steps: Vec<Step>,
    /// Descriptors by program index (END included), as encoded.
    pub descriptors: Vec<LayerDescriptor>,
}

pub fn align(x: u64) -> u64 {
    x.div_ceil(DRAM_ALIGN) * DRAM_ALIGN
}

/// Appends `data` to `blob` at the next aligned offset; returns that offset.
fn append(blob: &mut Vec<u8>, data: &[u8]) -> u64 {
    let at = align(blob.len() as u64);
    blob.resize(at as usize, 0);
    blob.extend_from_slice(data);
    at
}

/// Assigns addresses from `base` and encodes the program.
pub fn place(lowered: &Lowered, base: u64) -> Result<Placed, DramError> {
    if !base.is_multiple_of(DRAM_ALIGN) {
        return Err(DramError::Unaligned(base));
    }
    // Descriptor indices: consecutive engine layers form one run, closed by END.
    let mut index_of = vec![None; lowered.steps.len()];
    let mut steps = Vec::new();
    let mut next = 0u32;
    let mut run: Option<(u32, u32)> = None;
    for (s, step) in lowered.steps.iter().enumerate() {
        match step {
            LoweredStep::Engine(_) => {
                let (first, count) = run.get_or_insert((next, 0));
                index_of[s] = Some(*first + *count);
                *count += 1;
            }
            LoweredStep::Host(h) => {
                if let Some((first, count)) = run.take() {
                    steps.push(Step::Engine { first, count });
                    next = first + count + 1;
                }
                steps.push(Step::Host(Box::new(h.clone())));
            }
        }
    }
    if let Some((first, count)) = run.take() {
        steps.push(Step::Engine { first, count });
        next = first + count + 1;
    }
    let n_desc = next as usize;
    if n_desc > u16::MAX as usize + 1 {
        return Err(DramError::TooManyDescriptors(n_desc));
    }

    let mut weights = Vec::new();
    let mut params = Vec::new();
    let mut offsets = Vec::with_capacity(lowered.steps.len());
    for step in &lowered.steps {
        offsets.push(match step {
            LoweredStep::Engine(l) => (
                (!l.weights.is_empty()).then(|| append(&mut weights, &l.weights)),
                (!l.params.is_empty()).then(|| append(&mut params, &l.params)),
            ),
            LoweredStep::Host(_) => (None, None),
        });
    }
    let program = Region { addr: base, bytes: (n_desc * DESCRIPTOR_BYTES) as u64 };
    let weights_region = Region { addr: align(program.end()), bytes: weights.len() as u64 };
    let params_region = Region { addr: align(weights_region.end()), bytes: params.len() as u64 };
    let mut cursor = align(params_region.end());
    let mut buffers = Vec::with_capacity(lowered.buffers.len());
    for b in &lowered.buffers {
        let region = Region { addr: cursor, bytes: b.bytes };
        cursor = align(region.addr.checked_add(b.bytes).ok_or(DramError::Overflow)?);
        buffers.push(BufferPlacement { name: b.name.clone(), region });
    }
    let layout =
        DramLayout { base, size: cursor - base, program, weights: weights_region, params: params_region, buffers };

    // Descriptors with their addresses, END after each run.
    let addr = |b: BufferId| layout.buffers[b as usize].region.addr;
    let mut descriptors = vec![LayerDescriptor::default(); n_desc];
    for (s, step) in lowered.steps.iter().enumerate() {
        let (LoweredStep::Engine(l), Some(i)) = (step, index_of[s]) else { continue };
        let mut d = l.desc.clone();
        d.layer_index = i as u16;
        d.input_addr = addr(l.input);
        d.input2_addr = l.input2.map_or(0, addr);
        d.output_addr = addr(l.output);
        d.weight_addr = offsets[s].0.map_or(0, |o| weights_region.addr + o);
        d.param_addr = offsets[s].1.map_or(0, |o| params_region.addr + o);
        descriptors[i as usize] = d;
    }
    for step in &steps {
        if let Step::Engine { first, count } = step {
            let end = (first + count) as usize;
            descriptors[end] = LayerDescriptor::end(end as u16);
        }
    }
    let mut program_bytes = Vec::with_capacity(n_desc * DESCRIPTOR_BYTES);
    let node_of = |i: usize| {
        lowered.steps.iter().zip(&index_of).find(|(_, idx)| **idx == Some(i as u32)).map_or(
            "END".to_string(),
            |(s, _)| match s {
                LoweredStep::Engine(l) => l.node.clone(),
                LoweredStep::Host(h) => h.node.clone(),
            },
        )
    };
    for (i, d) in descriptors.iter().enumerate() {
        let words = try_encode(d).map_err(|source| DramError::Descriptor { index: i, node: node_of(i), source })?;
        program_bytes.extend(words.iter().flat_map(|w| w.to_le_bytes()));
    }
    Ok(Placed { layout, program: program_bytes, weights, params, steps, descriptors })
}
