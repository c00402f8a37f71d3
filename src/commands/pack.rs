//! `systole pack MODEL --arch ARCH.json --out IMAGE.bin`: lower, place, write the image.

use anyhow::{Context, Result};
use std::path::Path;
use systole_arch::ArchConfig;
use systole_host::image::Image;
use systole_host::lower::render_partition;
use systole_host::{pack, PackOptions};
use systole_model::load::load_model;

pub fn run(model: &Path, arch: &Path, out: &Path, dram_base: u64) -> Result<()> {
    let graph = load_model(model).with_context(|| format!("loading {}", model.display()))?;
    let text = std::fs::read_to_string(arch).with_context(|| format!("reading {}", arch.display()))?;
    let cfg = ArchConfig::from_json(&text).with_context(|| format!("{}", arch.display()))?;
    let image = pack(&graph, &cfg, PackOptions { dram_base })
        .with_context(|| format!("packing {} for {}", model.display(), arch.display()))?;
    let bytes = image.to_bytes();
    // Read back what was written: the file is only reported when it loads.
    Image::from_bytes(&bytes).context("the written image does not read back")?;
    std::fs::write(out, &bytes).with_context(|| format!("writing {}", out.display()))?;
    print!("{}", render_partition(&image.metadata.partition));
    println!(
        "wrote {}: {} bytes ({} descriptors, {} weight bytes, {} param bytes; device memory {:#x}..{:#x}, config hash {:#010x})",
        out.display(),
        bytes.len(),
        image.program.len() / systole_arch::descriptor::DESCRIPTOR_BYTES,
        image.weights.len(),
        image.params.len(),
        image.plan.dram.base,
        image.plan.dram.end(),
        image.config_hash
    );
    Ok(())
}
