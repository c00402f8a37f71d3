//! `systole reference MODEL --input X.npy --output Y.npy [--dump-dir DIR]`.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use systole_model::exec::Executor;
use systole_model::ir::{TensorId, Value};
use systole_model::{load::load_model, npy};

pub fn run(model: &Path, inputs: &[PathBuf], outputs: &[PathBuf], dump_dir: Option<&Path>) -> Result<()> {
    let graph = load_model(model).with_context(|| format!("loading {}", model.display()))?;
    if inputs.len() != graph.inputs.len() {
        bail!(
            "{} has {} input(s) but {} --input file(s) were given",
            model.display(),
            graph.inputs.len(),
            inputs.len()
        );
    }
    if outputs.len() != graph.outputs.len() {
        bail!(
            "{} has {} output(s) but {} --output file(s) were given",
            model.display(),
            graph.outputs.len(),
            outputs.len()
        );
    }
    let values = inputs
        .iter()
        .map(|p| npy::read_value(p).with_context(|| format!("reading input {}", p.display())))
        .collect::<Result<Vec<Value>>>()?;
    let executor = Executor::new(&graph).context("preparing the reference executor")?;

    let results = match dump_dir {
        None => executor.run(&values)?,
        Some(dir) => {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            let mut dumped: Vec<(TensorId, Value)> = graph.inputs.iter().copied().zip(values.iter().cloned()).collect();
            let results = executor.run_observed(&values, &mut |id, value| dumped.push((id, value.clone())))?;
            write_dump(&graph, dir, &dumped)?;
            results
        }
    };
    // Outputs are written only after the whole run succeeded, so a failure leaves no partial file.
    for (path, value) in outputs.iter().zip(&results) {
        npy::write_value(path, value).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

fn write_dump(graph: &systole_model::ir::Graph, dir: &Path, dumped: &[(TensorId, Value)]) -> Result<()> {
    let mut index = Vec::with_capacity(dumped.len());
    for (id, value) in dumped {
        let file = format!("t{id:03}.npy");
        npy::write_value(&dir.join(&file), value).with_context(|| format!("writing {}", dir.join(&file).display()))?;
        let tensor = graph.tensor(*id);
        index.push(serde_json::json!({
            "id": id,
            "file": file,
            "name": tensor.name,
            "shape": value.shape,
            "dtype": tensor.dtype.to_string(),
        }));
    }
    let text = serde_json::to_string_pretty(&index)?;
    std::fs::write(dir.join("index.json"), text)
        .with_context(|| format!("writing {}", dir.join("index.json").display()))?;
    Ok(())
}
