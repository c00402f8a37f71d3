//! Sizing of the repository's fixture models and of the shared third-party TFLite/ONNX models
//! (skipped loudly when absent), under xc7z020 and a 256-MAC budget. The reports are printed
//! (`--nocapture`) and written to `$CARGO_TARGET_TMPDIR/sizing/`.

use std::path::{Path, PathBuf};
use systole_arch::descriptor::{check_against_config, try_encode, LayerDescriptor, Opcode, RequantMode};
use systole_arch::plan::plan_conv;
use systole_arch::workload::{layers, Placement, Work};
use systole_arch::{size_model, Budget, SizingOptions, SizingReport};
use systole_model::load::load_model;

fn own_models() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
    let mut models = Vec::new();
    for (dir, file) in [("tflite", "model.tflite"), ("onnx", "model.onnx")] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else { continue };
        let mut found: Vec<PathBuf> =
            entries.filter_map(|e| e.ok()).map(|e| e.path().join(file)).filter(|p| p.is_file()).collect();
        found.sort();
        models.extend(found);
    }
    models
}

fn shared_models() -> Vec<PathBuf> {
    let dir = std::env::var_os("SYSTOLE_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures"));
    if !dir.is_dir() {
        eprintln!(
            "!!! SKIP shared models: third-party fixtures not found at {} (set SYSTOLE_FIXTURES) !!!",
            dir.display()
        );
        return Vec::new();
    }
    let mut models = Vec::new();
    for (sub, file) in [("tflite", "model.tflite"), ("onnx", "model.onnx")] {
        let Ok(entries) = std::fs::read_dir(dir.join(sub)) else { continue };
        let mut found: Vec<PathBuf> =
            entries.filter_map(|e| e.ok()).map(|e| e.path().join(file)).filter(|p| p.is_file()).collect();
        found.sort();
        models.extend(found);
    }
    models
}

fn check_report(report: &SizingReport, budget: &Budget) {
    let cfg = report.config();
    cfg.validate().unwrap();
    if let Budget::MaxMacs(n) = budget {
        assert!(cfg.rows * cfg.cols <= *n);
    }
    if let Budget::Part(p) = budget {
        assert!(report.chosen.resources.fits(p), "{:?}", report.chosen.resources);
    }
    assert!(report.acc.acc_bits >= 32 && report.acc.bound < 1u128 << (report.acc.acc_bits - 1));
    let c = &report.chosen;
    assert!(c.total_cycles >= c.ideal_cycles(), "estimate below the physical bound");
    for alt in &report.alternatives {
        assert!(alt.total_cycles >= c.total_cycles);
        assert_ne!((alt.config.rows, alt.config.cols), (cfg.rows, cfg.cols));
    }
    let md = report.to_markdown();
    assert!(md.contains("## Per-layer cycles") && md.contains(&format!("{} x {}", cfg.rows, cfg.cols)));
}

/// Every CONV of the model gets a valid descriptor whose tiles match the chosen config's plan.
fn descriptors_for(report: &SizingReport, path: &Path) {
    let graph = load_model(path).unwrap();
    let cfg = report.config();
    for (i, l) in layers(&graph).unwrap().iter().enumerate() {
        let (Placement::Engine, Work::Conv { geometry: g, .. }) = (l.placement, &l.work) else { continue };
        let plan = plan_conv(g, cfg).unwrap();
        let mut d = LayerDescriptor {
            opcode: Some(Opcode::Conv),
            requant: if cfg.requant.fixed { RequantMode::Fixed } else { RequantMode::Float },
            in_signed: true,
            out_signed: true,
            weight_signed: true,
            layer_index: i as u16,
            batch: g.batch as u16,
            in_h: g.in_h as u16,
            in_w: g.in_w as u16,
            in_c: g.in_c as u16,
            groups: g.groups as u16,
            out_h: g.out_h() as u16,
            out_w: g.out_w() as u16,
            out_c: g.out_c as u16,
            kernel_h: g.kernel[0] as u8,
            kernel_w: g.kernel[1] as u8,
            stride_h: g.stride[0] as u8,
            stride_w: g.stride[1] as u8,
            dilation_h: g.dilation[0] as u8,
            dilation_w: g.dilation[1] as u8,
            pad_top: g.padding.top as u8,
            pad_left: g.padding.left as u8,
            pad_bottom: g.padding.bottom as u8,
            pad_right: g.padding.right as u8,
            act_min: -128,
            act_max: 127,
            out_ch_stride: g.out_c as u16,
            ..LayerDescriptor::default()
        };
        d.set_conv_tiles(&plan);
        let words = try_encode(&d).unwrap_or_else(|e| panic!("{}: {e}", l.name));
        let back = systole_arch::decode(&words).unwrap();
        check_against_config(&back, cfg).unwrap();
    }
}

#[test]
fn sizing_of_fixture_models() {
    let models: Vec<PathBuf> = own_models().into_iter().chain(shared_models()).collect();
    assert!(own_models().len() >= 3, "the repository's fixtures are missing");
    let out_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("sizing");
    std::fs::create_dir_all(&out_dir).unwrap();
    let budgets = [Budget::parse("xc7z020").unwrap(), Budget::MaxMacs(256)];
    let mut summary =
        String::from("| model | budget | R x C | PB | DMA | act buf | acc | cycles | util | alternatives |\n");
    summary += "|---|---|---|---|---|---|---|---|---|---|\n";
    for path in &models {
        let graph = match load_model(path) {
            Ok(g) => g,
            Err(e) => panic!("{}: {e}", path.display()),
        };
        for budget in &budgets {
            let report = size_model(&graph, budget, &SizingOptions::default())
                .unwrap_or_else(|e| panic!("{} under {}: {e}", path.display(), budget.label()));
            check_report(&report, budget);
            let tag = match budget {
                Budget::MaxMacs(n) => format!("{n}mac"),
                Budget::Part(p) => p.name.to_string(),
            };
            let md = report.to_markdown();
            std::fs::write(out_dir.join(format!("{}_{tag}.md", report.config().name)), &md).unwrap();
            let c = report.config();
            let alts: Vec<String> = report
                .alternatives
                .iter()
                .map(|a| format!("{}x{} {}", a.config.rows, a.config.cols, a.total_cycles))
                .collect();
            summary += &format!(
                "| {} | {tag} | {} x {} | {} | {} | {} | {} | {} | {:.1} % | {} |\n",
                graph.name,
                c.rows,
                c.cols,
                c.psum_depth,
                c.dma_data_bits,
                c.act_buffer_bytes,
                c.acc_bits,
                report.chosen.total_cycles,
                100.0 * report.chosen.utilisation(),
                alts.join(", ")
            );
            descriptors_for(&report, path);
        }
    }
    std::fs::write(out_dir.join("SUMMARY.md"), &summary).unwrap();
    println!("{summary}");
}

#[test]
fn tiny_part_fits_or_says_why() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/tflite/resnet_tiny/model.tflite");
    let graph = load_model(&path).unwrap();
    match size_model(&graph, &Budget::parse("ice40up5k").unwrap(), &SizingOptions::default()) {
        Ok(r) => {
            assert!(r.chosen.resources.dsp <= 8);
            println!("{}", r.to_markdown());
        }
        Err(e) => {
            let msg = e.to_string();
            assert!(msg.contains("no candidate fits ice40up5k"), "{msg}");
            println!("ice40up5k: {msg}");
        }
    }
}

/// An int4 model (`systole quantize --weight-bits 4` of digits) is sized with the 4-bit weight
/// path; the same model quantized to int8 gets the 8-bit path. Same budget, same shape: the
/// 4-bit engine's weight tiles are half the bytes, so its estimate is no slower.
#[test]
fn int4_models_get_the_4_bit_weight_path() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/quantize");
    let size = |dir: &str| {
        let graph = load_model(&root.join(dir).join("model.onnx")).unwrap();
        size_model(&graph, &Budget::parse("256").unwrap(), &SizingOptions::default()).unwrap()
    };
    let (int8, int4) = (size("digits"), size("digits_int4"));
    assert_eq!(int8.config().weight_bits, 8);
    assert_eq!(int4.config().weight_bits, 4);
    assert!(int4.config().features() & systole_arch::config::feature::WEIGHTS_INT4 != 0);
    assert_eq!((int4.config().rows, int4.config().cols), (int8.config().rows, int8.config().cols));
    assert!(
        int4.chosen.total_cycles <= int8.chosen.total_cycles,
        "{} vs {}",
        int4.chosen.total_cycles,
        int8.chosen.total_cycles
    );
}
