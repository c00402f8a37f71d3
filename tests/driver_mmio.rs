//! The driver over memory maps: regular files mapped as the register BAR and as device memory
//! through the real backends, a device thread implementing the register protocol on the
//! simulated engine (tests/fake_board), and `Driver::run` completing real fixture models bit
//! for bit against the reference executor; then every error path a board can show.

mod common;
mod fake_board;

use fake_board::{devmem_board, scratch, sized_file, write_text, FakeBoard, Fault, Layout};
use std::path::Path;
use std::time::{Duration, Instant};
use systole_arch::{ArchConfig, PostOps, RequantModes};
use systole_host::backend::{self, BoardSpec, DeviceSpec, MappedDevice, SysRoot};
use systole_host::driver::{Driver, DriverError, RunOptions, Wait};
use systole_host::{pack, Image, PackOptions};
use systole_model::exec::Executor;
use systole_model::ir::{Graph, TensorData, Value};
use systole_model::{load::load_model, npy};

const PHYS: u64 = 0x1_0000;
const MEM_BASE: u64 = 0x1000_0000;

fn cfg(name: &str, rows: u32, cols: u32) -> ArchConfig {
    ArchConfig {
        psum_depth: 64,
        param_buffer_channels: 2 * cols,
        requant: RequantModes { fixed: true, float: true },
        post_ops: PostOps { add: true, avg_pool: true, max_pool: true, global_avg_pool: true },
        ..ArchConfig::new(name, rows, cols)
    }
}

fn fixture(rel: &str) -> (Graph, Vec<Value>) {
    let dir = common::own_fixtures().join(rel);
    let file = ["model.tflite", "model.onnx"].iter().map(|f| dir.join(f)).find(|p| p.is_file()).expect("model");
    let graph = load_model(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let inputs = common::numbered(&dir, "input_")
        .iter()
        .map(|p| npy::read_value(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        .collect();
    (graph, inputs)
}

fn image_for(graph: &Graph, cfg: &ArchConfig, base: u64) -> Image {
    let image = pack(graph, cfg, PackOptions { dram_base: base }).expect("pack");
    Image::from_bytes(&image.to_bytes()).expect("read back")
}

/// Device memory for an image: its plan rounded up to whole pages.
fn mem_size(image: &Image) -> u64 {
    (image.plan.dram.end() - MEM_BASE).div_ceil(4096) * 4096
}

fn same(a: &Value, b: &Value) -> bool {
    a.shape == b.shape
        && match (&a.data, &b.data) {
            (TensorData::F32(x), TensorData::F32(y)) => x.iter().zip(y).all(|(p, q)| p.to_bits() == q.to_bits()),
            (x, y) => x == y,
        }
}

fn open_devmem(board: &FakeBoard, irq: bool) -> MappedDevice {
    let uio = if irq { board.irq_node.clone() } else { None };
    let spec = BoardSpec::DevMem { phys: PHYS, udmabuf: None, uio };
    backend::open(&spec, &SysRoot::under(&board.dir)).expect("open devmem backend")
}

fn opts(wait: Wait, ms: u64) -> RunOptions {
    RunOptions { timeout: Duration::from_millis(ms), wait, reset: false }
}

/// Runs every input; returns the still-open driver.
fn run_all(board: &FakeBoard, graph: &Graph, inputs: &[Value], image: &Image, wait: Wait) -> Driver<MappedDevice> {
    let dev = open_devmem(board, wait == Wait::Irq);
    let mut drv = Driver::open(dev, image.clone(), opts(wait, 10_000)).expect("driver open");
    let exec = Executor::new(graph).expect("reference");
    for (i, x) in inputs.iter().enumerate() {
        let want = exec.run(std::slice::from_ref(x)).expect("reference run");
        let report = drv.run(std::slice::from_ref(x)).unwrap_or_else(|e| panic!("{} input {i}: {e}", graph.name));
        assert_eq!(report.outputs.len(), want.len());
        for (g, w) in report.outputs.iter().zip(&want) {
            assert!(same(g, w), "{} input {i} ({wait:?}): output differs from the reference", graph.name);
        }
        let layers: Vec<_> = report.runs.iter().flat_map(|r| &r.layers).collect();
        assert!(!layers.is_empty() && layers.iter().all(|l| l.perf.cycles > 0), "perf records read back");
    }
    drv
}

#[test]
fn devmem_board_runs_fixture_models_bit_exactly_by_polling_and_by_interrupt() {
    let cfg = cfg("mmio16", 16, 16);
    for (k, rel) in ["tflite/resnet_tiny", "onnx/resnet_tiny_qdq"].iter().enumerate() {
        let (graph, inputs) = fixture(rel);
        let image = image_for(&graph, &cfg, MEM_BASE);
        let board = devmem_board(&format!("devmem{k}"), &cfg, PHYS, MEM_BASE, mem_size(&image), true);
        drop(run_all(&board, &graph, &inputs, &image, Wait::Poll));
        assert_eq!(board.irqs(), 0, "polling leaves IRQ_ENABLE off: no interrupt");
        let drv = run_all(&board, &graph, &inputs, &image, Wait::Irq);
        let runs = image.plan.steps.iter().filter(|s| matches!(s, systole_host::schedule::Step::Engine { .. })).count();
        assert_eq!(board.irqs() as usize, inputs.len() * runs, "one interrupt per engine run");
        // The device thread drains the node every 50 us.
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(board.enables() as usize, 1 + inputs.len() * runs, "UIO enable at open and after every interrupt");
        drop(drv);
    }
}

#[test]
fn pcie_uio_and_xdma_backends_run_a_model_over_fake_nodes() {
    let cfg = cfg("mmio8", 8, 8);
    let (graph, inputs) = fixture("tflite/resnet_tiny");
    let image = image_for(&graph, &cfg, MEM_BASE);
    let size = mem_size(&image);
    let page = systole_host::backend::mmio::page_size();
    let x = &inputs[..1];

    // pcie: sysfs device directory with enable, resource and the BAR files.
    let dir = scratch("pcie");
    let dev = dir.join("sys/bus/pci/devices/0000:03:00.0");
    write_text(&dev.join("enable"), "0\n");
    let bar2_end = 0xe000_0000u64 + size - 1;
    write_text(
        &dev.join("resource"),
        &format!(
            "0x00000000fb000000 0x00000000fb00ffff 0x0000000000040200\n0x0 0x0 0x0\n\
             0x00000000e0000000 {bar2_end:#018x} 0x000000000014220c\n"
        ),
    );
    sized_file(&dev.join("resource0"), 0x1_0000);
    sized_file(&dev.join("resource2"), size);
    let layout = Layout {
        regs_file: dev.join("resource0"),
        regs_offset: 0,
        mem_file: dev.join("resource2"),
        mem_offset: 0,
        mem_base: MEM_BASE,
        mem_size: size,
    };
    let board = FakeBoard::start(dir.clone(), &cfg, layout, false);
    let spec = DeviceSpec::parse(&format!("pcie:0000:03:00.0,mem_addr={MEM_BASE:#x}")).expect("spec");
    let DeviceSpec::Board(b) = spec else { panic!("board") };
    let d = backend::open(&b, &SysRoot::under(&dir)).expect("open pcie");
    assert_eq!(std::fs::read_to_string(dev.join("enable")).expect("enable").trim(), "1", "device enabled");
    check_one(d, &graph, x, &image);
    drop(board);

    // uio: registers in map 1, memory in map 2 (page 0 takes the interrupt enable writes a
    // regular file cannot route elsewhere).
    let dir = scratch("uio");
    let node = dir.join("dev/uio0");
    sized_file(&node, 2 * page + size);
    let maps = dir.join("sys/class/uio/uio0/maps");
    write_text(&maps.join("map1/addr"), "0xa0000000\n");
    write_text(&maps.join("map1/size"), "0x00010000\n");
    write_text(&maps.join("map1/offset"), "0x0\n");
    write_text(&maps.join("map2/addr"), &format!("{MEM_BASE:#x}\n"));
    write_text(&maps.join("map2/size"), &format!("{size:#x}\n"));
    let layout = Layout {
        regs_file: node.clone(),
        regs_offset: page,
        mem_file: node.clone(),
        mem_offset: 2 * page,
        mem_base: MEM_BASE,
        mem_size: size,
    };
    let board = FakeBoard::start(dir.clone(), &cfg, layout, false);
    let spec = format!("uio:{},regs=1,mem=2", node.display());
    let DeviceSpec::Board(b) = DeviceSpec::parse(&spec).expect("spec") else { panic!("board") };
    check_one(backend::open(&b, &SysRoot::under(&dir)).expect("open uio"), &graph, x, &image);
    drop(board);

    // xdma: the user BAR, and one file as card memory behind both DMA channels.
    let dir = scratch("xdma");
    let user = dir.join("dev/xdma0_user");
    sized_file(&user, 0x1_0000);
    let card = dir.join("dev/xdma0_h2c_0");
    sized_file(&card, MEM_BASE + size);
    std::os::unix::fs::symlink(&card, dir.join("dev/xdma0_c2h_0")).expect("symlink");
    let layout = Layout {
        regs_file: user,
        regs_offset: 0,
        mem_file: card,
        mem_offset: MEM_BASE,
        mem_base: MEM_BASE,
        mem_size: size,
    };
    let board = FakeBoard::start(dir.clone(), &cfg, layout, false);
    let spec = format!("xdma:{}", dir.join("dev/xdma0").display());
    let DeviceSpec::Board(b) = DeviceSpec::parse(&spec).expect("spec") else { panic!("board") };
    let d = backend::open(&b, &SysRoot::default()).expect("open xdma");
    assert!(systole_host::Device::memory_window(&d).is_none(), "DMA memory has no window");
    check_one(d, &graph, x, &image);
    drop(board);
}

fn check_one(dev: MappedDevice, graph: &Graph, x: &[Value], image: &Image) {
    let want = Executor::new(graph).expect("exec").run(x).expect("reference");
    let mut drv = Driver::open(dev, image.clone(), opts(Wait::Poll, 10_000)).expect("driver open");
    let got = drv.run(x).expect("run");
    assert!(got.outputs.iter().zip(&want).all(|(g, w)| same(g, w)), "{}: differs from the reference", graph.name);
}

#[test]
fn a_hung_engine_times_out_with_its_status_reads_busy_and_recovers_by_soft_reset() {
    let cfg = cfg("hang", 8, 8);
    let (graph, inputs) = fixture("tflite/resnet_tiny");
    let image = image_for(&graph, &cfg, MEM_BASE);
    let board = devmem_board("hang", &cfg, PHYS, MEM_BASE, mem_size(&image), false);
    board.set_fault(Fault::Hang);
    let mut drv = Driver::open(open_devmem(&board, false), image.clone(), opts(Wait::Poll, 200)).expect("open");
    let t = Instant::now();
    let err = drv.run(&inputs[..1]).expect_err("hung engine");
    let waited = t.elapsed();
    let DriverError::Timeout { status, .. } = &err else { panic!("{err}") };
    assert!(status.busy(), "{err}");
    let msg = err.to_string();
    assert!(msg.contains("did not finish within 200ms") && msg.contains("BUSY"), "{msg}");
    assert!(waited >= Duration::from_millis(200) && waited < Duration::from_secs(5), "waited {waited:?}");
    // Another process opening the device now finds it busy.
    let err = Driver::open(open_devmem(&board, false), image.clone(), RunOptions::default()).expect_err("busy");
    assert!(matches!(err, DriverError::Busy { .. }), "{err}");
    assert!(err.to_string().contains("SOFT_RESET"), "{err}");
    // Asked to, the driver aborts the hung run and the engine works again.
    board.set_fault(Fault::None);
    let reset = RunOptions { reset: true, ..opts(Wait::Poll, 2_000) };
    let mut drv = Driver::open(open_devmem(&board, false), image, reset).expect("open with reset");
    let want = Executor::new(&graph).expect("exec").run(&inputs[..1]).expect("reference");
    let got = drv.run(&inputs[..1]).expect("run after reset");
    assert!(same(&got.outputs[0], &want[0]), "runs bit-exactly after the reset");
}

#[test]
fn all_ones_reads_say_the_device_is_gone() {
    let cfg = cfg("gone", 8, 8);
    let (graph, inputs) = fixture("tflite/resnet_tiny");
    let image = image_for(&graph, &cfg, MEM_BASE);
    let board = devmem_board("gone", &cfg, PHYS, MEM_BASE, mem_size(&image), false);
    // Mid-run: the device disappears after open.
    let mut drv = Driver::open(open_devmem(&board, false), image.clone(), opts(Wait::Poll, 2_000)).expect("open");
    board.set_fault(Fault::Gone);
    std::thread::sleep(Duration::from_millis(20));
    let err = drv.run(&inputs[..1]).expect_err("gone");
    assert!(matches!(err, DriverError::DeviceGone { .. }), "{err}");
    assert!(err.to_string().contains("0xffffffff"), "{err}");
    // At open: ID reads all ones.
    let err = Driver::open(open_devmem(&board, false), image, RunOptions::default()).expect_err("gone");
    assert!(matches!(err, DriverError::DeviceGone { register: "ID" }), "{err}");
}

#[test]
fn an_interrupt_that_never_arrives_times_out_saying_the_run_finished() {
    let cfg = cfg("noirq", 8, 8);
    let (graph, inputs) = fixture("tflite/resnet_tiny");
    let image = image_for(&graph, &cfg, MEM_BASE);
    let board = devmem_board("noirq", &cfg, PHYS, MEM_BASE, mem_size(&image), true);
    board.set_fault(Fault::NoIrq);
    let mut drv = Driver::open(open_devmem(&board, true), image, opts(Wait::Irq, 300)).expect("open");
    let t = Instant::now();
    let err = drv.run(&inputs[..1]).expect_err("no interrupt");
    assert!(t.elapsed() >= Duration::from_millis(300), "waited the deadline: {:?} {err}", t.elapsed());
    let DriverError::Timeout { status, .. } = &err else { panic!("{err}") };
    assert!(status.done(), "{err}");
    assert!(err.to_string().contains("no interrupt arrived"), "{err}");
}

#[test]
fn a_bitstream_for_another_config_is_refused_before_anything_is_written() {
    let cfg_image = cfg("img", 8, 8);
    let cfg_board = cfg("board", 16, 8);
    let (graph, _) = fixture("tflite/resnet_tiny");
    let image = image_for(&graph, &cfg_image, MEM_BASE);
    let size = mem_size(&image);
    let board = devmem_board("hash", &cfg_board, PHYS, MEM_BASE, size, false);
    let err = Driver::open(open_devmem(&board, false), image, RunOptions::default()).expect_err("wrong bitstream");
    let DriverError::WrongBitstream { device, image: img, .. } = &err else { panic!("{err}") };
    assert_eq!((*device, *img), (cfg_board.config_hash(), cfg_image.config_hash()));
    let mem = std::fs::read(board.dir.join("dev/udmabuf0")).expect("memory file");
    assert!(mem.iter().all(|&b| b == 0), "nothing loaded onto a wrong bitstream");
}

#[test]
fn an_image_outside_the_dma_buffer_is_refused() {
    let cfg = cfg("window", 8, 8);
    let (graph, _) = fixture("tflite/resnet_tiny");
    let image = image_for(&graph, &cfg, MEM_BASE + 0x100_0000);
    let board = devmem_board("window", &cfg, PHYS, MEM_BASE, 0x1_0000, false);
    let err = Driver::open(open_devmem(&board, false), image, RunOptions::default()).expect_err("outside");
    assert!(matches!(err, DriverError::MemoryWindow { .. }), "{err}");
    assert!(err.to_string().contains("--dram-base"), "{err}");
}

#[test]
fn missing_nodes_and_permissions_say_what_to_fix() {
    let dir = scratch("perm");
    let root = SysRoot::under(&dir);
    let spec = BoardSpec::DevMem { phys: PHYS, udmabuf: None, uio: None };
    let e = backend::open(&spec, &root).expect_err("no /dev/mem").to_string();
    assert!(e.contains("dev/mem does not exist"), "{e}");
    let e = backend::open(&BoardSpec::Xdma { node: dir.join("dev/xdma0") }, &root).expect_err("no xdma").to_string();
    assert!(e.contains("XDMA driver"), "{e}");
    let pcie = BoardSpec::Pcie { bdf: "0000:03:00.0".into(), regs_bar: 0, mem_bar: 2, mem_addr: 0 };
    let e = backend::open(&pcie, &root).expect_err("no pci").to_string();
    assert!(e.contains("lspci -D"), "{e}");
    // Permission hints (the tests may run as root, so the hint text is checked directly).
    for (path, needle) in [
        ("/dev/mem", "CAP_SYS_RAWIO"),
        ("/dev/xdma0_user", "udev rule"),
        ("/dev/uio0", "SUBSYSTEM==\"uio\""),
        ("/dev/udmabuf0", "udmabuf"),
        ("/sys/bus/pci/devices/0000:03:00.0/resource0", "chmod"),
    ] {
        let h = backend::permission_hint(Path::new(path));
        assert!(h.contains(needle), "{path}: {h}");
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn malformed_sysfs_trees_are_reported_with_the_file() {
    let dir = scratch("sysfs");
    let dev = dir.join("sys/bus/pci/devices/0000:03:00.0");
    write_text(&dev.join("enable"), "1\n");
    write_text(&dev.join("resource"), "0x0000000000000000 0x00000000000000ff 0x0\nbroken line\n");
    let root = SysRoot::under(&dir);
    let pcie = BoardSpec::Pcie { bdf: "0000:03:00.0".into(), regs_bar: 0, mem_bar: 2, mem_addr: 0 };
    let e = backend::open(&pcie, &root).expect_err("bad resource").to_string();
    assert!(e.contains("resource") && e.contains("line 2"), "{e}");
    write_text(&dev.join("resource"), "0x00000000fb000000 0x00000000fb00007f 0x0\n0x0 0x0 0x0\n0x0 0x0 0x0\n");
    let e = backend::open(&pcie, &root).expect_err("small BAR").to_string();
    assert!(e.contains("smaller than the register window"), "{e}");
    write_text(&dev.join("resource"), "0x00000000fb000000 0x00000000fb00ffff 0x0\n0x0 0x0 0x0\n0x0 0x0 0x0\n");
    let e = backend::open(&pcie, &root).expect_err("no memory BAR").to_string();
    assert!(e.contains("BAR 2 is not implemented"), "{e}");

    let node = dir.join("dev/uio0");
    sized_file(&node, 0x10000);
    write_text(&dir.join("sys/class/uio/uio0/maps/map0/addr"), "0x40000000\n");
    write_text(&dir.join("sys/class/uio/uio0/maps/map0/size"), "0x10\n");
    let uio = BoardSpec::Uio { node: node.clone(), regs_map: 0, mem_map: 1, udmabuf: None };
    let e = backend::open(&uio, &root).expect_err("small map").to_string();
    assert!(e.contains("register window"), "{e}");
    write_text(&dir.join("sys/class/uio/uio0/maps/map0/size"), "lots\n");
    let e = backend::open(&uio, &root).expect_err("bad size").to_string();
    assert!(e.contains("'lots' is not a number"), "{e}");
    let _ = std::fs::remove_dir_all(dir);
}

/// `systole run --device devmem:...` in another process, on the same mapped files (shared maps
/// are coherent across processes), by polling and by interrupt; then a hung engine.
#[test]
fn the_cli_runs_on_the_fake_board_and_reports_a_hang() {
    let cfg = cfg("cli", 16, 16);
    let (graph, inputs) = fixture("tflite/resnet_tiny");
    let fixture_dir = common::own_fixtures().join("tflite/resnet_tiny");
    let image = image_for(&graph, &cfg, MEM_BASE);
    let board = devmem_board("cli", &cfg, PHYS, MEM_BASE, mem_size(&image), true);
    let image_path = board.dir.join("model.img");
    std::fs::write(&image_path, image.to_bytes()).expect("write image");
    let out = board.dir.join("y.npy");
    let input = fixture_dir.join("input_000.npy");
    let want = Executor::new(&graph).expect("exec").run(&inputs[..1]).expect("reference");
    let uio = board.irq_node.clone().expect("irq node");
    let run = |device: &str, extra: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_systole"))
            .env("SYSTOLE_SYSROOT", &board.dir)
            .args(["run", "--device", device, "--image"])
            .arg(&image_path)
            .arg("--input")
            .arg(&input)
            .arg("--output")
            .arg(&out)
            .args(extra)
            .output()
            .expect("run systole")
    };
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    for (device, extra) in
        [(format!("devmem:{PHYS:#x}"), vec![]), (format!("devmem:{PHYS:#x},uio={}", uio.display()), vec!["--irq"])]
    {
        let _ = std::fs::remove_file(&out);
        let o = run(&device, &extra);
        assert!(o.status.success(), "{device} {extra:?}: {}", text(&o.stderr));
        assert!(text(&o.stdout).contains("engine run 0:"), "{}", text(&o.stdout));
        let got = npy::read_value(&out).expect("output");
        assert!(same(&got, &want[0]), "{device}: differs from the reference");
    }
    board.set_fault(Fault::Hang);
    std::fs::write(&out, b"previous").expect("write");
    let o = run(&format!("devmem:{PHYS:#x}"), &["--timeout", "0.2"]);
    let err = text(&o.stderr);
    assert!(!o.status.success() && err.contains("last STATUS") && err.contains("BUSY"), "{err}");
    assert_eq!(std::fs::read(&out).expect("out"), b"previous", "a failed run leaves the output alone");
    // The engine still reads BUSY: refused, then aborted with --reset.
    board.set_fault(Fault::None);
    let o = run(&format!("devmem:{PHYS:#x}"), &[]);
    assert!(!o.status.success() && text(&o.stderr).contains("busy"), "{}", text(&o.stderr));
    let o = run(&format!("devmem:{PHYS:#x}"), &["--reset"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(same(&npy::read_value(&out).expect("output"), &want[0]), "after --reset");
}
