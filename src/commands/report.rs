//! `systole report DIR`: re-renders `DIR/report.md`, `DIR/report.json` and `DIR/charts/*.svg`
//! from the facts `generate`, `synth` and `simulate` left in DIR (see `crate::report::facts`).

use crate::report;
use anyhow::Result;
use std::path::Path;

pub fn run(dir: &Path) -> Result<()> {
    let r = report::render(dir)?;
    println!("wrote {} and {}", r.markdown.display(), r.json.display());
    for c in &r.charts {
        println!("      {}", c.display());
    }
    Ok(())
}
