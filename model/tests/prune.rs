//! `systole_model::prune` against onnxruntime (goldens and accuracy from
//! `tools/fixtures/prune_goldens.py`, `fixtures/prune/`).
//!
//! * Own fixtures (always run): re-pruning the committed QDQ / QOperator models gives the
//!   committed pruned models byte for byte, and systole's integer reference on them equals
//!   onnxruntime's outputs (int8 session) bit for bit.
//! * digits (`$SYSTOLE_FIXTURES/onnx/digits_qdq`, loud SKIP when absent): the pruned float models
//!   (25 %, 50 %) and their `systole quantize --per-channel` versions are reproduced byte for
//!   byte; our float executor matches onnxruntime's float outputs within 1e-5, our integer
//!   reference matches its int8 outputs bit for bit on all 397 test images, and the accuracies
//!   we compute equal the ones onnxruntime computed (`fixtures/prune/accuracy.json`).

mod common;

use common::{argmax, assert_matches_goldens, f32s, own, read, shared_digits};
use systole_model::exec::Executor;
use systole_model::import::onnx::import_onnx;
use systole_model::ir::{TensorData, Value};
use systole_model::npy;
use systole_model::prune::{prune_onnx, Criterion, Options};
use systole_model::quantize::{self, FTensor};

fn opts(ratio: f64) -> Options {
    Options { ratio, criterion: Criterion::L1 }
}

#[test]
fn own_quantized_models_reprune_identically_and_match_onnxruntime() {
    for name in ["resnet_tiny_qdq", "resnet_tiny_qop", "mobilenet_tiny_qdq"] {
        let dir = own(&format!("prune/{name}_50"));
        let p = prune_onnx(&read(&own(&format!("onnx/{name}/model.onnx"))), &opts(0.5)).unwrap();
        assert!(p.model == read(&dir.join("model.onnx")), "{name}: prune output changed; regenerate fixtures/prune");
        let n = assert_matches_goldens(&p.model, &dir, "output_");
        eprintln!(
            "{name} pruned 50 %: {n} outputs bit-exact with onnxruntime; MACs {} -> {}",
            p.before.macs, p.after.macs
        );
    }
}

#[test]
fn pruned_digits_int8_matches_onnxruntime() {
    let dir = own("prune/digits_int8_50");
    let p = prune_onnx(&read(&own("quantize/digits/model.onnx")), &opts(0.5)).unwrap();
    assert!(p.model == read(&dir.join("model.onnx")), "prune output changed; regenerate fixtures/prune");
    assert_matches_goldens(&p.model, &dir, "output_");
}

#[test]
fn digits_pruned_models_match_onnxruntime_and_its_accuracy() {
    let Some(shared) = shared_digits("prune digits tests") else { return };
    let fp32 = read(&shared.join("model_fp32.onnx"));
    let calib = npy::read_value(&shared.join("calib.npy")).unwrap();
    let xs = npy::read_value(&shared.join("test_inputs.npy")).unwrap();
    let labels = match npy::read_value(&shared.join("test_labels.npy")).unwrap().data {
        TensorData::I64(v) => v,
        other => panic!("labels {other:?}"),
    };
    let accuracy: serde_json::Value = serde_json::from_slice(&read(&own("prune/accuracy.json"))).unwrap();
    let per: usize = xs.shape[1..].iter().product();
    let sample_shape = xs.shape[1..].to_vec();
    for pct in [25, 50] {
        let dir = own(&format!("prune/digits_{pct}"));
        let p = prune_onnx(&fp32, &opts(pct as f64 / 100.0)).unwrap();
        assert!(p.model == read(&dir.join("model.onnx")), "digits {pct}: prune output changed");
        let q_opts = quantize::Options { per_channel: true, ..Default::default() };
        let q = quantize::quantize_onnx(&p.model, "digits", &calib, &q_opts).unwrap();
        assert!(q.model == read(&dir.join("model_int8.onnx")), "digits {pct}: quantize of the pruned model changed");
        assert_matches_goldens(&q.model, &dir, "output_int8_");
        // Float: our executor (MLAS summation order) against onnxruntime's float kernels.
        let mut worst = 0f32;
        for n in 0..4 {
            let x = npy::read_value(&dir.join(format!("input_{n:03}.npy"))).unwrap();
            let want = npy::read_value(&dir.join(format!("output_fp32_{n:03}.npy"))).unwrap();
            let got = quantize::run_float(&p.model, &FTensor::new(x.shape.clone(), f32s(&x).to_vec())).unwrap();
            for (a, b) in got[0].data.iter().zip(f32s(&want)) {
                worst = worst.max((a - b).abs() / b.abs().max(1.0));
            }
        }
        assert!(worst < 1e-5, "digits {pct}: float outputs differ from onnxruntime by {worst}");
        // All test images: int8 bit for bit, accuracies equal onnxruntime's.
        let g = import_onnx(&q.model, "q").unwrap();
        let exec = Executor::new(&g).unwrap();
        let golden = npy::read_value(&dir.join("test_outputs_int8.npy")).unwrap();
        let golden = f32s(&golden);
        let (mut c_fp32, mut c_int8, mut differ) = (0, 0, 0);
        for (i, x) in f32s(&xs).chunks_exact(per).enumerate() {
            let label = labels[i] as usize;
            let v = Value::new(sample_shape.clone(), TensorData::F32(x.to_vec()));
            let out = exec.run(std::slice::from_ref(&v)).unwrap().remove(0);
            differ += f32s(&out)
                .iter()
                .zip(&golden[i * 10..(i + 1) * 10])
                .filter(|(a, b)| a.to_bits() != b.to_bits())
                .count();
            c_int8 += usize::from(argmax(f32s(&out)) == label);
            let f = quantize::run_float(&p.model, &FTensor::new(sample_shape.clone(), x.to_vec())).unwrap();
            c_fp32 += usize::from(argmax(&f[0].data) == label);
        }
        assert_eq!(differ, 0, "digits {pct}: {differ} int8 logits differ from onnxruntime over the test set");
        let n = labels.len() as f64;
        let (a_fp32, a_int8) = (c_fp32 as f64 / n, c_int8 as f64 / n);
        let ort = |k: &str| accuracy[k]["accuracy"].as_f64().unwrap();
        eprintln!(
            "digits pruned {pct} %: fp32 {a_fp32:.4} (onnxruntime {:.4}), int8 {a_int8:.4} (onnxruntime {:.4}); \
             weight bytes {} -> {}, MACs {} -> {}",
            ort(&format!("fp32_pruned_{pct}")),
            ort(&format!("int8_pruned_{pct}")),
            p.before.weight_bytes,
            p.after.weight_bytes,
            p.before.macs,
            p.after.macs
        );
        assert_eq!(a_fp32, ort(&format!("fp32_pruned_{pct}")), "fp32 accuracy differs from onnxruntime's");
        assert_eq!(a_int8, ort(&format!("int8_pruned_{pct}")), "int8 accuracy differs from onnxruntime's");
        assert_eq!(p.after.macs, accuracy[format!("fp32_pruned_{pct}")]["macs"].as_u64().unwrap());
    }
}
