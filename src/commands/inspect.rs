//! `systole inspect FILE`: the layer table of a model, or the decoded contents of an image
//! (recognised by its magic).

use anyhow::{Context, Result};
use std::path::Path;
use systole_host::image::{describe, is_image, Image};
use systole_model::{load::load_model, summary};

pub fn run(model: &Path, json: bool) -> Result<()> {
    let head = std::fs::read(model).with_context(|| format!("reading {}", model.display()))?;
    if is_image(&head) {
        anyhow::ensure!(!json, "--json is for models; an image is described as text");
        let image = Image::from_bytes(&head).with_context(|| format!("loading image {}", model.display()))?;
        print!("{}", describe(&image));
        return Ok(());
    }
    let graph = load_model(model).with_context(|| format!("loading {}", model.display()))?;
    let summary = summary::summarize(&graph);
    if json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        print!("{}", summary::render_table(&summary));
    }
    Ok(())
}
