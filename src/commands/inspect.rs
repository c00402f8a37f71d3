//! `systole inspect MODEL`: the layer table.

use anyhow::{Context, Result};
use std::path::Path;
use systole_model::{load::load_model, summary};

pub fn run(model: &Path, json: bool) -> Result<()> {
    let graph = load_model(model).with_context(|| format!("loading {}", model.display()))?;
    let summary = summary::summarize(&graph);
    if json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        print!("{}", summary::render_table(&summary));
    }
    Ok(())
}
