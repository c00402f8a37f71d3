//! Every way an image can be wrong is a distinct, typed error naming what is at fault.

mod common;

use byteorder::{ByteOrder, LittleEndian as LE};
use common::{full, random_model};
use systole_host::image::{Image, ImageError, SectionKind};
use systole_host::schedule::Step;
use systole_host::{pack, PackOptions};
use systole_model::ir::Numerics;

fn image() -> (Image, Vec<u8>) {
    let graph = random_model(7, 3, Numerics::Tflite);
    let image = pack(&graph, &full("e", 8, 8, 16), PackOptions::default()).expect("pack");
    let bytes = image.to_bytes();
    (image, bytes)
}

fn cfg() -> systole_arch::ArchConfig {
    full("e", 8, 8, 16)
}

/// Byte offset of section table entry `i`.
fn entry(i: usize) -> usize {
    48 + 32 * i
}

fn header_bytes(b: &[u8]) -> usize {
    LE::read_u32(&b[12..]) as usize
}

/// Recomputes the header CRC after a deliberate header edit.
fn reseal(b: &mut [u8]) {
    let n = header_bytes(b);
    LE::write_u32(&mut b[32..], 0);
    let crc = crc32fast::hash(&b[..n]);
    LE::write_u32(&mut b[32..], crc);
}

fn section(b: &[u8], kind: SectionKind) -> (usize, usize, usize) {
    let n = LE::read_u32(&b[20..]) as usize;
    (0..n)
        .map(entry)
        .find(|&e| LE::read_u32(&b[e..]) == kind as u32)
        .map(|e| (e, LE::read_u64(&b[e + 8..]) as usize, LE::read_u64(&b[e + 16..]) as usize))
        .expect("section present")
}

fn err(b: &[u8]) -> ImageError {
    Image::from_bytes(b).expect_err("must not load")
}

#[test]
fn a_valid_image_loads() {
    let (image, bytes) = image();
    assert!(systole_host::image::is_image(&bytes));
    let back = Image::from_bytes(&bytes).unwrap();
    assert_eq!(back, image);
    back.check_device(&cfg(), 1 << 30).unwrap();
}

#[test]
fn truncated_files_say_what_is_cut() {
    let (_, bytes) = image();
    for (cut, what) in [(0, "header"), (20, "header"), (47, "header"), (60, "section table"), (bytes.len() - 1, "file")]
    {
        match err(&bytes[..cut]) {
            ImageError::Truncated { what: w, have, .. } => {
                assert_eq!((w, have), (what, cut as u64), "cut at {cut}");
            }
            e => panic!("cut at {cut}: {e}"),
        }
    }
    // Every prefix fails cleanly.
    for cut in 0..bytes.len() {
        assert!(Image::from_bytes(&bytes[..cut]).is_err());
    }
}

#[test]
fn bad_magic_and_unknown_version() {
    let (_, bytes) = image();
    let mut b = bytes.clone();
    b[1] = b'X';
    assert!(matches!(err(&b), ImageError::BadMagic { .. }));
    assert!(matches!(err(b"PK\x03\x04 not an image at all, a zip"), ImageError::BadMagic { .. }));
    let mut b = bytes.clone();
    LE::write_u32(&mut b[8..], 2);
    assert_eq!(err(&b), ImageError::UnknownVersion { found: 2 });
    assert!(err(&b).to_string().contains("version 2"));
}

#[test]
fn header_and_section_crcs() {
    let (_, bytes) = image();
    let mut b = bytes.clone();
    b[40] ^= 1; // a reserved header byte
    assert!(matches!(err(&b), ImageError::HeaderCrc { .. }));
    for kind in SectionKind::ALL {
        let (_, off, size) = section(&bytes, kind);
        if size == 0 {
            continue;
        }
        let mut b = bytes.clone();
        b[off + size / 2] ^= 0x40;
        match err(&b) {
            ImageError::CrcMismatch { section, .. } => assert_eq!(section, kind),
            e => panic!("{kind}: {e}"),
        }
    }
}

#[test]
fn trailing_data_and_bad_counts() {
    let (_, bytes) = image();
    let mut b = bytes.clone();
    b.push(0);
    assert!(matches!(err(&b), ImageError::TrailingData { .. }));
    let mut b = bytes.clone();
    LE::write_u32(&mut b[20..], 1000);
    assert!(matches!(err(&b), ImageError::BadHeader { field: "section count", .. }));
    let mut b = bytes.clone();
    LE::write_u32(&mut b[12..], 100);
    assert!(matches!(err(&b), ImageError::BadHeader { field: "header bytes", .. }));
}

#[test]
fn section_table_errors_name_the_sections() {
    let (_, bytes) = image();
    let (w_entry, w_off, _) = section(&bytes, SectionKind::Weights);
    let (p_entry, _, _) = section(&bytes, SectionKind::Params);

    // PARAMS moved onto WEIGHTS: overlap.
    let mut b = bytes.clone();
    LE::write_u64(&mut b[p_entry + 8..], w_off as u64);
    reseal(&mut b);
    assert_eq!(err(&b), ImageError::SectionOverlap { a: "WEIGHTS".into(), b: "PARAMS".into() });

    // A section over the header.
    let mut b = bytes.clone();
    LE::write_u64(&mut b[w_entry + 8..], 0);
    reseal(&mut b);
    assert!(matches!(err(&b), ImageError::SectionOverlap { .. }));

    // Past the end of the file.
    let mut b = bytes.clone();
    LE::write_u64(&mut b[w_entry + 16..], u64::MAX - 8);
    reseal(&mut b);
    assert!(matches!(err(&b), ImageError::SectionOutOfFile { section: SectionKind::Weights, .. }));

    // Unaligned.
    let mut b = bytes.clone();
    LE::write_u64(&mut b[w_entry + 8..], w_off as u64 + 1);
    reseal(&mut b);
    assert!(matches!(err(&b), ImageError::SectionUnaligned { section: SectionKind::Weights, .. }));

    // Unknown kind, duplicate kind.
    let mut b = bytes.clone();
    LE::write_u32(&mut b[w_entry..], 99);
    reseal(&mut b);
    assert!(matches!(err(&b), ImageError::UnknownSection { kind: 99, .. }));
    let mut b = bytes.clone();
    LE::write_u32(&mut b[p_entry..], SectionKind::Weights as u32);
    reseal(&mut b);
    assert_eq!(err(&b), ImageError::DuplicateSection(SectionKind::Weights));

    // METADATA dropped from the table (count 4): missing. The header shrinks by one entry.
    let mut b = bytes.clone();
    let (m_entry, _, _) = section(&bytes, SectionKind::Metadata);
    assert_eq!(m_entry, entry(4));
    LE::write_u32(&mut b[20..], 4);
    LE::write_u32(&mut b[12..], (48 + 32 * 4) as u32);
    b[m_entry..m_entry + 32].fill(0);
    reseal(&mut b);
    assert_eq!(err(&b), ImageError::MissingSection(SectionKind::Metadata));
}

#[test]
fn malformed_sections_are_named() {
    let (image, _) = image();
    // A PLAN whose program region disagrees with the PROGRAM section.
    let mut bad = image.clone();
    bad.plan.dram.program.bytes += 256;
    match err(&bad.to_bytes()) {
        ImageError::Malformed { section: SectionKind::Plan, reason } => assert!(reason.contains("PROGRAM"), "{reason}"),
        e => panic!("{e}"),
    }
    // METADATA with an arch.json that does not hash to the header's value.
    let mut bad = image.clone();
    bad.metadata.arch_json = full("e", 4, 4, 16).to_json();
    assert!(matches!(err(&bad.to_bytes()), ImageError::Malformed { section: SectionKind::Metadata, .. }));
    // A PLAN body cut short (CRC made consistent by the writer path: rebuild the file by hand).
    let bytes = image.to_bytes();
    let (pe, off, size) = section(&bytes, SectionKind::Plan);
    let mut b = bytes.clone();
    LE::write_u64(&mut b[pe + 16..], (size - 3) as u64);
    LE::write_u32(&mut b[pe + 24..], crc32fast::hash(&bytes[off..off + size - 3]));
    reseal(&mut b);
    match err(&b) {
        ImageError::Malformed { section: SectionKind::Plan, reason } => {
            assert!(reason.contains("ends inside"), "{reason}")
        }
        e => panic!("{e}"),
    }
}

#[test]
fn config_hash_must_match_the_bitstream() {
    let (image, _) = image();
    let other = full("e", 16, 8, 16);
    match image.check_device(&other, 1 << 30) {
        Err(ImageError::ConfigHashMismatch { image: i, bitstream }) => {
            assert_eq!((i, bitstream), (cfg().config_hash(), other.config_hash()));
        }
        r => panic!("{r:?}"),
    }
    // The name is not hardware: a renamed config is the same engine.
    image.check_device(&full("renamed", 8, 8, 16), 1 << 30).unwrap();
}

#[test]
fn device_memory_and_dram_plan_errors() {
    let (image, _) = image();
    // The last byte any region uses (the plan's size is rounded up to the alignment).
    let used = image.plan.dram.regions().iter().map(|(_, r)| r.end()).max().unwrap();
    let end = image.plan.dram.end();
    match image.check_device(&cfg(), used - 1) {
        Err(ImageError::ExceedsDeviceMemory { region, device_bytes, .. }) => {
            assert!(region.starts_with("buffer"), "{region}");
            assert_eq!(device_bytes, used - 1);
        }
        r => panic!("{r:?}"),
    }
    assert!(matches!(
        image.check_device(&cfg(), end - 1),
        Err(ImageError::ExceedsDeviceMemory { region, .. }) if region == "the DRAM plan"
    ));
    image.check_device(&cfg(), end).unwrap();

    // Two buffers at one address.
    let mut bad = image.clone();
    let first = bad.plan.dram.buffers[0].region.addr;
    bad.plan.dram.buffers[1].region.addr = first;
    let bad = Image::from_bytes(&bad.to_bytes()).unwrap();
    assert!(matches!(bad.check_device(&cfg(), 1 << 30), Err(ImageError::DramOverlap { .. })));

    // Weights over the program.
    let mut bad = image.clone();
    bad.plan.dram.weights.addr = bad.plan.dram.program.addr;
    assert!(matches!(bad.check_device(&cfg(), 1 << 30), Err(ImageError::DramOverlap { .. })));

    // A buffer outside the plan.
    let mut bad = image.clone();
    let n = bad.plan.dram.buffers.len();
    bad.plan.dram.buffers[n - 1].region.addr = end + 4096;
    assert!(matches!(bad.check_device(&cfg(), 1 << 30), Err(ImageError::OutsidePlan { .. })));
}

#[test]
fn descriptors_and_schedule_are_checked() {
    let (image, _) = image();
    // A corrupted descriptor word (the section CRC is rewritten by the writer, so only the
    // descriptor's own checks can catch it).
    let mut bad = image.clone();
    bad.program[4 * 10] ^= 0x01; // word 10: IN_ZP
    let bad = Image::from_bytes(&bad.to_bytes()).unwrap();
    match bad.check_device(&cfg(), 1 << 30) {
        Err(ImageError::Descriptor { index: 0, reason }) => assert!(reason.contains("checksum"), "{reason}"),
        r => panic!("{r:?}"),
    }
    // An engine run that does not end on END.
    let mut bad = image.clone();
    let Some(Step::Engine { count, .. }) = bad.plan.steps.iter_mut().find(|s| matches!(s, Step::Engine { .. })) else {
        panic!("no engine run")
    };
    *count -= 1;
    assert!(matches!(bad.check_device(&cfg(), 1 << 30), Err(ImageError::Schedule { .. })));
    // A descriptor whose output points into the weights.
    let mut bad = image.clone();
    let mut words: Vec<u32> = bad.program[..256].chunks(4).map(LE::read_u32).collect();
    words[18] = bad.plan.dram.weights.addr as u32;
    words[59] = 0;
    let sum = words[..59].iter().fold(0u32, |s, &w| s.wrapping_add(w));
    words[59] = 0u32.wrapping_sub(sum);
    for (i, w) in words.iter().enumerate() {
        LE::write_u32(&mut bad.program[4 * i..], *w);
    }
    match bad.check_device(&cfg(), 1 << 30) {
        Err(ImageError::Descriptor { index: 0, reason }) => assert!(reason.contains("OUTPUT_ADDR"), "{reason}"),
        r => panic!("{r:?}"),
    }
}
