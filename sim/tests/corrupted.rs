//! Corrupted images never panic: every byte of the PROGRAM and PLAN sections is flipped in
//! turn (with the CRCs made consistent again, so only the meaning checks can catch it), and the
//! result is read, checked against the engine, described, and run when it passes.

mod common;

use byteorder::{ByteOrder, LittleEndian as LE};
use common::{full, DEVICE_BYTES};
use systole_host::image::{describe, Image, SectionKind};
use systole_host::{pack, PackOptions};
use systole_model::load::load_model;
use systole_model::npy;
use systole_sim::FunctionalModel;

fn reseal(b: &mut [u8], kind: SectionKind) {
    let n = LE::read_u32(&b[20..]) as usize;
    for i in 0..n {
        let e = 48 + 32 * i;
        if LE::read_u32(&b[e..]) == kind as u32 {
            let (off, size) = (LE::read_u64(&b[e + 8..]) as usize, LE::read_u64(&b[e + 16..]) as usize);
            let crc = crc32fast::hash(&b[off..off + size]);
            LE::write_u32(&mut b[e + 24..], crc);
        }
    }
    let header = LE::read_u32(&b[12..]) as usize;
    LE::write_u32(&mut b[32..], 0);
    let crc = crc32fast::hash(&b[..header]);
    LE::write_u32(&mut b[32..], crc);
}

fn section(b: &[u8], kind: SectionKind) -> (usize, usize) {
    let n = LE::read_u32(&b[20..]) as usize;
    (0..n)
        .map(|i| 48 + 32 * i)
        .find(|&e| LE::read_u32(&b[e..]) == kind as u32)
        .map(|e| (LE::read_u64(&b[e + 8..]) as usize, LE::read_u64(&b[e + 16..]) as usize))
        .expect("section")
}

#[test]
fn flipped_bytes_are_errors_or_still_run() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/tflite/mobilenet_tiny");
    let graph = load_model(&dir.join("model.tflite")).expect("model");
    let input = npy::read_value(&dir.join("input_000.npy")).expect("input");
    let cfg = full("c", 8, 8, 32);
    let bytes = pack(&graph, &cfg, PackOptions::default()).expect("pack").to_bytes();
    let (mut rejected, mut ran) = (0, 0);
    for kind in [SectionKind::Program, SectionKind::Plan] {
        let (off, size) = section(&bytes, kind);
        for pos in off..off + size {
            let mut b = bytes.clone();
            b[pos] ^= 0x5a;
            reseal(&mut b, kind);
            let Ok(image) = Image::from_bytes(&b) else {
                rejected += 1;
                continue;
            };
            let _ = describe(&image);
            let _ = image.conv_tensors();
            match FunctionalModel::new(image, &cfg, DEVICE_BYTES) {
                Ok(model) => {
                    let _ = model.run(std::slice::from_ref(&input));
                    ran += 1;
                }
                Err(_) => rejected += 1,
            }
        }
    }
    println!("{rejected} corrupted images rejected, {ran} passed the checks and ran");
    assert!(rejected > 0);
}
