use super::*;
use crate::regmap::DRAM_ALIGN;
use proptest::prelude::*;
use std::collections::HashSet;

/// A valid 3x3 stride-2 CONV with its tile fields from the plan of a 16x16 engine.
fn conv() -> LayerDescriptor {
    let mut d = LayerDescriptor {
        opcode: Some(Opcode::Conv),
        requant: RequantMode::Fixed,
        in_signed: true,
        out_signed: true,
        weight_signed: true,
        layer_index: 3,
        batch: 1,
        in_h: 32,
        in_w: 32,
        in_c: 16,
        groups: 1,
        out_h: 16,
        out_w: 16,
        out_c: 32,
        kernel_h: 3,
        kernel_w: 3,
        stride_h: 2,
        stride_w: 2,
        dilation_h: 1,
        dilation_w: 1,
        pad_top: 0,
        pad_left: 0,
        pad_bottom: 1,
        pad_right: 1,
        in_zp: -128,
        out_zp: -5,
        act_min: -5,
        act_max: 127,
        out_ch_stride: 64,
        out_ch_offset: 32,
        input_addr: 0x1000_0000,
        output_addr: 0x1_2000_0040,
        weight_addr: 0x3000_0000,
        param_addr: 0x3100_0000,
        ..LayerDescriptor::default()
    };
    let plan = plan_conv(&d.conv_geometry(), &ArchConfig::new("t", 16, 16)).unwrap();
    d.set_conv_tiles(&plan);
    d
}

#[test]
fn field_table_is_consistent() {
    let mut used = [0u32; DESCRIPTOR_WORDS];
    let mut names = HashSet::new();
    for f in DESCRIPTOR_FIELDS.iter().chain([&field::CHECKSUM]).chain(PERF_FIELDS.iter()) {
        assert!(f.width >= 1 && f.lsb + f.width <= 32, "{} exceeds its word", f.name);
        assert_eq!(used[f.word] & f.mask(), 0, "{} overlaps", f.name);
        assert!(names.insert(f.name), "{} twice", f.name);
        used[f.word] |= f.mask();
    }
    assert!(DESCRIPTOR_FIELDS.iter().all(|f| f.word < CHECKSUM_WORD));
    assert!(DESCRIPTOR_FIELDS.windows(2).all(|w| (w[0].word, w[0].lsb) < (w[1].word, w[1].lsb)), "not in order");
}

#[test]
fn conv_round_trips_and_matches_its_plan() {
    let d = conv();
    let words = try_encode(&d).unwrap();
    assert_eq!(words[0], DESCRIPTOR_MAGIC);
    assert_eq!(words[..=CHECKSUM_WORD].iter().fold(0u32, |s, &w| s.wrapping_add(w)), 0);
    assert_eq!(decode(&words).unwrap(), d);
    let mut cfg = ArchConfig::new("t", 16, 16);
    check_against_config(&d, &cfg).unwrap();
    cfg.psum_depth = 64;
    let e = check_against_config(&d, &cfg).unwrap_err();
    assert!(e.to_string().contains("PIXEL_BLOCKS = 1"), "{e}");
    cfg.requant = crate::config::RequantModes { fixed: false, float: true };
    assert!(matches!(check_against_config(&d, &cfg), Err(DescriptorError::Unsupported { .. })));
    let add = LayerDescriptor { opcode: Some(Opcode::Add), ..LayerDescriptor::default() };
    let e = check_against_config(&add, &ArchConfig::new("t", 4, 4)).unwrap_err();
    assert!(e.to_string().contains("add unit"), "{e}");
}

#[test]
fn end_descriptor_carries_only_the_index() {
    let end = LayerDescriptor::end(7);
    assert_eq!(decode(&encode(&end)).unwrap(), end);
    let stray = LayerDescriptor { in_h: 3, ..end };
    let e = stray.validate().unwrap_err();
    assert!(e.to_string().contains("IN_H"), "{e}");
}

#[test]
fn corrupted_words_give_clear_errors() {
    let good = encode(&conv());
    let corrupt = |f: &dyn Fn(&mut [u32; DESCRIPTOR_WORDS])| {
        let mut w = good;
        f(&mut w);
        decode(&w).unwrap_err()
    };
    assert_eq!(decode(&good[..10]).unwrap_err(), DescriptorError::Length { found: 10 });
    assert!(matches!(corrupt(&|w| w[0] = 0), DescriptorError::BadMagic { found: 0 }));
    assert!(matches!(corrupt(&|w| w[1] += 1), DescriptorError::BadVersion { found: 2 }));
    assert!(matches!(corrupt(&|w| w[1] = (w[1] & !0xff00) | (9 << 8)), DescriptorError::BadOpcode { found: 9 }));
    assert_eq!(corrupt(&|w| w[40] = 0x10), DescriptorError::Reserved { word: 40, bits: 0x10 });
    assert_eq!(corrupt(&|w| w[1] |= 1 << 31), DescriptorError::Reserved { word: 1, bits: 1 << 31 });
    let field_of = |e: DescriptorError| match e {
        DescriptorError::Field { field, .. } => field,
        other => panic!("expected a field error, got {other}"),
    };
    assert_eq!(field_of(corrupt(&|w| w[1] |= 3 << 16)), "REQUANT");
    assert_eq!(field_of(corrupt(&|w| w[7] &= !0x00ff_0000)), "STRIDE_H");
    let e = corrupt(&|w| w[5] += 1);
    assert!(e.to_string().contains("OUT_H") && e.to_string().contains("geometry gives 16"), "{e}");
    assert_eq!(field_of(corrupt(&|w| w[14] |= 4)), "INPUT_ADDR_LO");
    assert_eq!(field_of(corrupt(&|w| w[10] = 200)), "IN_ZP");
    assert_eq!(field_of(corrupt(&|w| w[16] = 64)), "INPUT2_ADDR_LO");
    assert_eq!(field_of(corrupt(&|w| w[13] = 16)), "OUT_CH_STRIDE");
    // An in-range change is only caught by the checksum.
    assert!(matches!(corrupt(&|w| w[2] ^= 1), DescriptorError::Checksum { .. }));
    let msg = corrupt(&|w| w[7] &= !0x00ff_0000).to_string();
    assert!(msg.starts_with("CONV descriptor: field STRIDE_H (word 7) = 0"), "{msg}");
}

#[test]
fn perf_record_and_channel_params() {
    let mut w = encode(&conv());
    w[PERF_WORD] = 5;
    w[PERF_WORD + 1] = 1;
    w[PERF_WORD + 2] = 7;
    assert_eq!(decode(&w).unwrap(), conv(), "the engine-written words are not checked");
    assert_eq!(LayerPerf::from_words(&w).unwrap(), LayerPerf { cycles: (1 << 32) + 5, dma_stall_cycles: 7 });
    let p = ChannelParams { bias: -7, multiplier_or_scale: 0x4000_0000, shift: -3, weight_zp: -128 };
    assert_eq!(ChannelParams::from_words(p.to_words()), p);
}

fn zp(signed: bool) -> impl Strategy<Value = i16> {
    if signed {
        (-128i16..=127).boxed()
    } else {
        (0i16..=255).boxed()
    }
}

fn aligned() -> impl Strategy<Value = u64> {
    any::<u64>().prop_map(|a| a & !(DRAM_ALIGN - 1))
}

/// Valid descriptors of every opcode, with field values over their whole ranges.
fn descriptor() -> impl Strategy<Value = LayerDescriptor> {
    let flags = (any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>());
    let shape = (1u16..=u16::MAX, 1u16..=300, 1u16..=300, 1u16..=64, 1u16..=8);
    let window = (1u8..=7, 1u8..=7, 1u8..=4, 1u8..=4, 1u8..=3, 1u8..=3, [0u8..=3, 0u8..=3, 0u8..=3, 0u8..=3]);
    let addrs = [aligned(), aligned(), aligned(), aligned(), aligned()];
    let tiles = (1u16..=u16::MAX, 1u16..=255, 1u16..=256, 1u32..=u32::MAX, 0u32..=1000);
    let misc = (any::<u16>(), 0u16..=100, 0usize..6, any::<u8>(), any::<u8>());
    (flags, shape, window, addrs, tiles, misc)
        .prop_flat_map(|(flags, shape, window, addrs, tiles, misc)| {
            (Just((flags, shape, window, addrs, tiles, misc)), zp(flags.0), zp(flags.1), zp(flags.2), zp(flags.3))
        })
        .prop_map(|((flags, shape, window, addrs, tiles, misc), in_zp, in2_zp, out_zp, w_zp)| {
            let opcode = Opcode::ALL[misc.2];
            let (batch, in_h, in_w, cg, groups) = shape;
            let (kh, kw, sh, sw, dh, dw, pads) = window;
            let mut d = LayerDescriptor {
                opcode: Some(opcode),
                in_signed: flags.0,
                out_signed: flags.2,
                layer_index: misc.0,
                batch,
                in_h,
                in_w,
                in_c: cg * groups,
                out_c: cg * groups,
                in_zp,
                out_zp,
                input_addr: addrs[0],
                output_addr: addrs[2],
                ..LayerDescriptor::default()
            };
            let (qlo, qhi) = if flags.2 { (-128i16, 127i16) } else { (0, 255) };
            let (a, b) = (qlo + (misc.3 as i16 % (qhi - qlo + 1)), qlo + (misc.4 as i16 % (qhi - qlo + 1)));
            (d.act_min, d.act_max) = (a.min(b), a.max(b));
            d.out_ch_offset = misc.1;
            d.out_ch_stride = (d.out_c as u32 + misc.1 as u32).min(u16::MAX as u32) as u16;
            d.out_ch_offset = d.out_ch_stride - d.out_c;
            let set_window = |d: &mut LayerDescriptor, dil: bool| {
                (d.kernel_h, d.kernel_w, d.stride_h, d.stride_w) = (kh, kw, sh, sw);
                if dil {
                    (d.dilation_h, d.dilation_w) = (dh, dw);
                }
                [d.pad_top, d.pad_left, d.pad_bottom, d.pad_right] = pads;
                let (dh, dw) = if dil { (dh as usize, dw as usize) } else { (1, 1) };
                // Grow the input until the window fits.
                let need_h = (dh * (kh as usize - 1) + 1).saturating_sub(pads[0] as usize + pads[2] as usize);
                let need_w = (dw * (kw as usize - 1) + 1).saturating_sub(pads[1] as usize + pads[3] as usize);
                d.in_h = d.in_h.max(need_h as u16);
                d.in_w = d.in_w.max(need_w as u16);
                let g = d.conv_geometry();
                let dil_h = if dil { dh } else { 1 };
                let dil_w = if dil { dw } else { 1 };
                d.out_h = window_output(g.in_h, kh as usize, sh as usize, dil_h, g.padding.top, g.padding.bottom)
                    .unwrap() as u16;
                d.out_w = window_output(g.in_w, kw as usize, sw as usize, dil_w, g.padding.left, g.padding.right)
                    .unwrap() as u16;
            };
            match opcode {
                Opcode::Conv => {
                    set_window(&mut d, true);
                    d.requant = if flags.4 { RequantMode::Fixed } else { RequantMode::Float };
                    d.groups = groups;
                    d.weight_signed = flags.3;
                    d.weight_zp_per_channel = flags.5;
                    d.weight_zp = if flags.5 { 0 } else { w_zp };
                    d.weight_addr = addrs[3];
                    d.param_addr = addrs[4];
                    (d.o_tiles, d.kt_nc, d.pixel_blocks) = (tiles.0, tiles.2, tiles.3);
                    d.kt_nx = tiles.1.min(kw as u16);
                    d.k_tiles_total = tiles.0 as u32 + tiles.4;
                }
                Opcode::Add => {
                    d.requant = if flags.4 { RequantMode::Fixed } else { RequantMode::Float };
                    (d.out_h, d.out_w) = (d.in_h, d.in_w);
                    d.in2_signed = flags.1;
                    d.in2_zp = in2_zp;
                    d.input2_addr = addrs[1];
                    d.param_addr = addrs[4];
                }
                Opcode::AvgPool | Opcode::MaxPool => {
                    set_window(&mut d, false);
                    if opcode == Opcode::AvgPool {
                        d.count_include_pad = flags.5;
                        d.requant = if flags.4 { RequantMode::Float } else { RequantMode::None };
                        d.param_addr = if flags.4 { addrs[4] } else { 0 };
                    }
                }
                Opcode::GlobalAvgPool => {
                    (d.out_h, d.out_w) = (1, 1);
                    d.requant = if flags.4 { RequantMode::Fixed } else { RequantMode::None };
                    d.param_addr = if flags.4 { addrs[4] } else { 0 };
                }
                Opcode::End => d = LayerDescriptor::end(misc.0),
            }
            d
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn valid_descriptors_round_trip(d in descriptor()) {
        d.validate().map_err(|e| TestCaseError::fail(format!("generator made an invalid descriptor: {e}\n{d:?}")))?;
        let words = encode(&d);
        prop_assert_eq!(decode(&words), Ok(d));
    }

    /// The checksum catches any single flipped bit that the field checks let through.
    #[test]
    fn every_single_bit_flip_is_rejected(d in descriptor(), word in 0usize..=CHECKSUM_WORD, bit in 0u32..32) {
        let mut words = encode(&d);
        words[word] ^= 1 << bit;
        prop_assert!(decode(&words).is_err());
    }

    #[test]
    fn arbitrary_words_never_panic(words in prop::collection::vec(any::<u32>(), DESCRIPTOR_WORDS)) {
        let _ = decode(&words);
    }
}

#[test]
fn windowed_layers_must_fit_the_activation_buffer() {
    let post_ops = crate::PostOps { add: true, avg_pool: true, max_pool: true, global_avg_pool: true };
    let cfg = ArchConfig { act_buffer_bytes: 64, post_ops, ..ArchConfig::new("t", 8, 8) };
    let mut d = LayerDescriptor {
        opcode: Some(Opcode::MaxPool),
        batch: 1,
        in_h: 4,
        in_w: 4,
        in_c: 4,
        ..LayerDescriptor::default()
    };
    assert_eq!(buffered_input_bytes(&d), Some(64));
    assert!(!matches!(check_against_config(&d, &cfg), Err(DescriptorError::InputTooLarge { .. })));
    d.in_c = 5;
    assert_eq!(
        check_against_config(&d, &cfg),
        Err(DescriptorError::InputTooLarge { opcode: "MAX_POOL", bytes: 80, buffer: 64 })
    );
    // The post-op unit also buffers its output span, holes of a channel slice included.
    d.in_c = 4;
    d.opcode = Some(Opcode::Add);
    (d.out_h, d.out_w, d.out_c, d.out_ch_stride) = (4, 4, 4, 8);
    assert_eq!(buffered_input_bytes(&d), Some(128));
    d.opcode = Some(Opcode::End);
    assert_eq!(buffered_input_bytes(&d), None);
}

/// Zero-tile skipping: the fields round-trip, K_TILES_STORED is bounded by O_TILES and
/// K_TILES_TOTAL, both are 0 without ZERO_SKIP, an engine without the feature refuses the layer
/// (the descriptor check: Unsupported; its sequencer: reserved bits), and one whose mask is
/// shorter than an o-tile's k-tiles refuses it too.
#[test]
fn zero_skip_fields() {
    use crate::timing::seq::{sequencer_check, EngineUnits};
    // Below 4 GB: the sequencer's address check passes.
    let dense = LayerDescriptor { output_addr: 0x2000_0040, ..conv() };
    let (o, total) = (dense.o_tiles as u32, dense.k_tiles_total);
    let d = LayerDescriptor { zero_skip: true, k_tiles_stored: total - 3, ..dense.clone() };
    let words = try_encode(&d).unwrap();
    assert_eq!(decode(&words).unwrap(), d);
    assert_eq!(d.stored_tiles(), total - 3);
    assert_eq!(d.mask_addr(&ArchConfig::new("t", 16, 16)), d.weight_addr + (total as u64 - 3) * 256);
    for stored in [o - 1, total + 1] {
        let bad = LayerDescriptor { k_tiles_stored: stored, ..d.clone() };
        assert!(bad.validate().unwrap_err().to_string().contains("K_TILES_STORED"));
    }
    let stray = LayerDescriptor { k_tiles_stored: 5, ..dense.clone() };
    assert!(stray.validate().unwrap_err().to_string().contains("must be 0"));
    let plain = ArchConfig::new("t", 16, 16);
    assert!(matches!(check_against_config(&d, &plain), Err(DescriptorError::Unsupported { .. })));
    let skipping = ArchConfig { zero_skip_tiles: 64, ..plain.clone() };
    check_against_config(&d, &skipping).unwrap();
    // 3x3 x 16 channels on 16 rows: 9 k-tiles per o-tile.
    let short = ArchConfig { zero_skip_tiles: 8, ..plain.clone() };
    assert!(check_against_config(&d, &short).unwrap_err().to_string().contains("mask holds 8"));
    let mut words = words.to_vec();
    words[PERF_WORD..].fill(0);
    let units = EngineUnits::of(&plain);
    assert_eq!(sequencer_check(&words, plain.requant, &units), Err(crate::regmap::ErrorCode::ReservedBits));
    assert_eq!(sequencer_check(&words, plain.requant, &EngineUnits::of(&skipping)), Ok(Opcode::Conv));
    // Without the feature the covered bits are those of the engines before it.
    assert_eq!(covered_bits_for(false)[28], 0);
    assert_eq!(covered_bits_for(false)[1] & (1 << 30), 0);
}
