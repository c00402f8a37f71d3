//! Checks of a decoded image: its internal consistency (file level), then against the engine it
//! is loaded onto: config hash, device memory, DRAM overlaps, every descriptor (decoded and
//! checked by the arch crate, with its addresses inside the right regions), the schedule.

use super::format::{ImageError, SectionKind};
use super::Image;
use crate::dram::Region;
use crate::schedule::{BufferId, Step};
use crate::tensor_bytes::checked_tensor_bytes;
use systole_arch::descriptor::{
    check_against_config, decode, param_kind, ParamKind, DESCRIPTOR_BYTES, PARAM_BYTES_PER_CHANNEL, POST_PARAM_BYTES,
};
use systole_arch::regmap::DRAM_ALIGN;
use systole_arch::{ArchConfig, LayerDescriptor, Opcode};

impl Image {
    /// The `ArchConfig` the image was packed for (METADATA's arch.json).
    pub fn arch(&self) -> Result<ArchConfig, ImageError> {
        ArchConfig::from_json(&self.metadata.arch_json)
            .map_err(|e| ImageError::Malformed { section: SectionKind::Metadata, reason: e.to_string() })
    }

    /// The descriptors of the program, decoded and validated.
    pub fn descriptors(&self) -> Result<Vec<LayerDescriptor>, ImageError> {
        self.program
            .chunks(DESCRIPTOR_BYTES)
            .enumerate()
            .map(|(index, chunk)| {
                let words: Vec<u32> =
                    chunk.chunks(4).map(|b| u32::from_le_bytes(b.try_into().unwrap_or([0; 4]))).collect();
                decode(&words).map_err(|e| ImageError::Descriptor { index, reason: e.to_string() })
            })
            .collect()
    }

    /// File-level consistency: the constant sections match the plan's regions, the arch.json
    /// copy matches the header hash, buffers referenced exist and fit their tensors.
    pub(super) fn check_consistency(&self) -> Result<(), ImageError> {
        let d = &self.plan.dram;
        for (kind, body, region) in [
            (SectionKind::Program, &self.program, d.program),
            (SectionKind::Weights, &self.weights, d.weights),
            (SectionKind::Params, &self.params, d.params),
        ] {
            if body.len() as u64 != region.bytes {
                return Err(ImageError::Malformed {
                    section: SectionKind::Plan,
                    reason: format!("the {kind} region is {} bytes, the {kind} section {}", region.bytes, body.len()),
                });
            }
        }
        if !self.program.len().is_multiple_of(DESCRIPTOR_BYTES) {
            return Err(ImageError::Malformed {
                section: SectionKind::Program,
                reason: format!("{} bytes is not whole {DESCRIPTOR_BYTES}-byte descriptors", self.program.len()),
            });
        }
        let arch = self.arch()?;
        if arch.config_hash() != self.config_hash {
            return Err(ImageError::Malformed {
                section: SectionKind::Metadata,
                reason: format!(
                    "arch.json hashes to {:#010x}, the header says {:#010x}",
                    arch.config_hash(),
                    self.config_hash
                ),
            });
        }
        let buffers = d.buffers.len();
        let check_buf = |step: usize, b: BufferId, need: Option<u64>| -> Result<(), ImageError> {
            let Some(p) = d.buffers.get(b as usize) else {
                return Err(ImageError::Schedule { step, reason: format!("buffer {b} does not exist ({buffers})") });
            };
            match need {
                Some(n) if n > p.region.bytes => Err(ImageError::Schedule {
                    step,
                    reason: format!("buffer '{}' has {} bytes, its tensor needs {n}", p.name, p.region.bytes),
                }),
                _ => Ok(()),
            }
        };
        // A shape whose size overflows needs more than any buffer has.
        let tensor_need = |t: &systole_model::ir::Tensor| {
            Some(checked_tensor_bytes(t.dtype, &t.shape).map_or(u64::MAX, |b| b as u64))
        };
        for b in self.plan.inputs.iter().chain(&self.plan.outputs) {
            check_buf(usize::MAX, b.buffer, tensor_need(&b.tensor))?;
        }
        for (i, s) in self.plan.steps.iter().enumerate() {
            if let Step::Host(h) = s {
                for o in h.inputs.iter().chain([&h.output]) {
                    match o.buffer {
                        Some(b) => check_buf(i, b, tensor_need(&o.tensor))?,
                        None if o.tensor.data.is_none() => {
                            return Err(ImageError::Schedule {
                                step: i,
                                reason: format!("operand '{}' has neither a buffer nor data", o.tensor.name),
                            })
                        }
                        None => {}
                    }
                }
            }
        }
        Ok(())
    }

    /// Checks the image against the engine it is about to run on: `cfg` is the bitstream's
    /// configuration (its `CONFIG_HASH` register), `device_bytes` the device memory size.
    pub fn check_device(&self, cfg: &ArchConfig, device_bytes: u64) -> Result<(), ImageError> {
        if self.config_hash != cfg.config_hash() {
            return Err(ImageError::ConfigHashMismatch { image: self.config_hash, bitstream: cfg.config_hash() });
        }
        // An image built in memory has not been through `from_bytes`.
        self.check_consistency()?;
        self.check_dram(device_bytes)?;
        let descs = self.descriptors()?;
        for (index, d) in descs.iter().enumerate() {
            check_against_config(d, cfg).map_err(|e| ImageError::Descriptor { index, reason: e.to_string() })?;
            self.check_addresses(index, d, cfg)?;
        }
        self.check_schedule(&descs)
    }

    fn check_dram(&self, device_bytes: u64) -> Result<(), ImageError> {
        let d = &self.plan.dram;
        let plan_end = d.base.checked_add(d.size).ok_or(ImageError::OutsidePlan {
            region: "the plan".into(),
            base: d.base,
            end: u64::MAX,
        })?;
        let mut regions = d.regions();
        for (name, r) in &regions {
            let end = r.addr.saturating_add(r.bytes);
            if !r.addr.is_multiple_of(DRAM_ALIGN) {
                return Err(ImageError::Malformed {
                    section: SectionKind::Plan,
                    reason: format!("{name} at {:#x} is not {DRAM_ALIGN}-byte aligned", r.addr),
                });
            }
            if end > device_bytes {
                return Err(ImageError::ExceedsDeviceMemory { region: name.clone(), addr: r.addr, end, device_bytes });
            }
            if r.addr < d.base || end > plan_end {
                return Err(ImageError::OutsidePlan { region: name.clone(), base: d.base, end: plan_end });
            }
        }
        // The plan's rounded-up end too: the device model allocates it.
        if plan_end > device_bytes {
            return Err(ImageError::ExceedsDeviceMemory {
                region: "the DRAM plan".into(),
                addr: d.base,
                end: plan_end,
                device_bytes,
            });
        }
        regions.retain(|(_, r)| r.bytes > 0);
        regions.sort_by_key(|(_, r)| r.addr);
        for pair in regions.windows(2) {
            if pair[0].1.overlaps(&pair[1].1) {
                return Err(ImageError::DramOverlap { a: pair[0].0.clone(), b: pair[1].0.clone() });
            }
        }
        Ok(())
    }

    /// Every byte a descriptor reads or writes lies in the region meant for it.
    fn check_addresses(&self, index: usize, d: &LayerDescriptor, cfg: &ArchConfig) -> Result<(), ImageError> {
        let Some(op) = d.opcode.filter(|o| *o != Opcode::End) else { return Ok(()) };
        let dram = &self.plan.dram;
        // 16-bit fields: products up to 2^64, so saturate rather than wrap.
        let pixels_in = d.batch as u64 * d.in_h as u64 * d.in_w as u64;
        let pixels_out = d.batch as u64 * d.out_h as u64 * d.out_w as u64;
        let in_bytes = pixels_in.saturating_mul(d.in_c as u64);
        // The last pixel's slice ends OUT_CH_OFFSET + OUT_C channels into its stride.
        let out_bytes = pixels_out
            .saturating_sub(1)
            .saturating_mul(d.out_ch_stride as u64)
            .saturating_add(d.out_ch_offset as u64 + d.out_c as u64);
        let in_buffer = |addr: u64, bytes: u64| dram.buffers.iter().any(|b| b.region.contains(addr, bytes));
        let bad = |field: &str, addr: u64, bytes: u64, region: &str| ImageError::Descriptor {
            index,
            reason: format!("{field} [{addr:#x}, +{bytes:#x}) is not inside {region}"),
        };
        if !in_buffer(d.input_addr, in_bytes) {
            return Err(bad("INPUT_ADDR", d.input_addr, in_bytes, "an activation buffer"));
        }
        if op == Opcode::Add && !in_buffer(d.input2_addr, in_bytes) {
            return Err(bad("INPUT2_ADDR", d.input2_addr, in_bytes, "an activation buffer"));
        }
        if !in_buffer(d.output_addr, out_bytes) {
            return Err(bad("OUTPUT_ADDR", d.output_addr, out_bytes, "an activation buffer"));
        }
        if op == Opcode::Conv {
            // The stored tiles, and with zero-tile skipping the o-tiles' mask records after them.
            let masks = if d.zero_skip { d.o_tiles as u64 * cfg.mask_record_bytes() } else { 0 };
            let w = d.stored_tiles() as u64 * cfg.weight_tile_bytes() + masks;
            if !dram.weights.contains(d.weight_addr, w) {
                return Err(bad("WEIGHT_ADDR", d.weight_addr, w, "the weights region"));
            }
        }
        let params =
            match param_kind(op, d.requant).map_err(|e| ImageError::Descriptor { index, reason: e.to_string() })? {
                ParamKind::PerChannel => d.out_c as u64 * PARAM_BYTES_PER_CHANNEL as u64,
                ParamKind::Post => POST_PARAM_BYTES as u64,
                ParamKind::None => 0,
            };
        if params > 0 && !dram.params.contains(d.param_addr, params) {
            return Err(bad("PARAM_ADDR", d.param_addr, params, "the params region"));
        }
        Ok(())
    }

    fn check_schedule(&self, descs: &[LayerDescriptor]) -> Result<(), ImageError> {
        let mut used = vec![false; descs.len()];
        for (step, s) in self.plan.steps.iter().enumerate() {
            let Step::Engine { first, count } = *s else { continue };
            let (first, end) = (first as usize, first as usize + count as usize);
            let err = |reason: String| ImageError::Schedule { step, reason };
            if count == 0 || end >= descs.len() {
                return Err(err(format!(
                    "engine run {first}..={end} is empty or past the {} descriptors",
                    descs.len()
                )));
            }
            if let Some(i) = (first..end).find(|&i| descs[i].opcode == Some(Opcode::End)) {
                return Err(err(format!("descriptor {i} inside the run is END")));
            }
            if descs[end].opcode != Some(Opcode::End) {
                return Err(err(format!("descriptor {end} closing the run is not END")));
            }
            if used[first..=end].iter().any(|&u| u) {
                return Err(err("runs overlap".into()));
            }
            used[first..=end].iter_mut().for_each(|u| *u = true);
        }
        Ok(())
    }
}

impl Image {
    /// What a driver copies to device memory before the first run: (region, bytes) of the
    /// program, the weights and the params.
    pub fn constant_regions(&self) -> [(Region, &[u8]); 3] {
        let d = &self.plan.dram;
        [(d.program, &self.program), (d.weights, &self.weights), (d.params, &self.params)]
    }
}
