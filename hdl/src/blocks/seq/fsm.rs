//! The sequencer FSM (contract and cycle counts: `systole_arch::timing::seq`).
//!
//! States: `IDLE` -> (START) `FETCH` (read command for 256 B) -> `RECV` (beats: checksum adder,
//! reserved-bit check, the first 1024 bits shifted into `desc`, the last beat kept for the perf
//! rewrite) -> `CHECK` (one cycle: error code by priority, END, or the unit's `start` pulse) ->
//! `RUN` (the unit owns the DMA; `stall` counted) -> `PERF` (write the perf record, wait for the
//! DMA's `done`) -> `FETCH` of the next descriptor, or an error (PROGRAM_OVERRUN, DMA error).
//! `DRAIN` (SOFT_RESET, or a unit's error): units held in reset, read beats sunk, a write in
//! flight completed (the perf record's own beats, else zero beats with WSTRB 0), then `IDLE`.

use super::consts::{ones_below, wide, SeqGeometry, DESC_BITS};
use rust_hdl::prelude::*;
use systole_arch::descriptor::{field, Opcode, DESCRIPTOR_BYTES, DESCRIPTOR_MAGIC, DESCRIPTOR_VERSION};
use systole_arch::regfile::layout::IRQ_BITS;
use systole_arch::regmap::{self, ErrorCode, DRAM_ALIGN};
use systole_arch::timing::seq::{EngineUnits, ADDRESS_FIELDS, PERF_BYTES};
use systole_arch::RequantModes;

// State codes are the indices of `k_st`: 0 IDLE, 1 FETCH, 2 RECV, 3 CHECK, 4 RUN, 5 PERF, 6 DRAIN.

/// Offset of word 1's fields and of the address block in `desc` (one-iteration loops bind them).
const OFF_VERSION: usize = field::VERSION.word * 32 + field::VERSION.lsb as usize;
const OFF_OPCODE: usize = field::OPCODE.word * 32 + field::OPCODE.lsb as usize;
const OFF_REQUANT: usize = field::REQUANT.word * 32 + field::REQUANT.lsb as usize;
/// The ten address words are contiguous (checked in `address_block_is_contiguous`).
const OFF_ADDR: usize = field::INPUT_ADDR_LO.word * 32;
const ADDR_BLOCK_BITS: usize = 320;

#[derive(LogicBlock)]
pub struct Sequencer<const W: usize, const S: usize> {
    pub clock: Signal<In, Clock>,
    /// Synchronous, active high (with the whole design).
    pub reset: Signal<In, Bit>,
    /// From the register file: one-cycle pulses and the program registers.
    pub start: Signal<In, Bit>,
    pub soft_reset: Signal<In, Bit>,
    pub program_base: Signal<In, Bits<64>>,
    pub program_count: Signal<In, Bits<16>>,
    /// To the register file.
    pub status: Signal<Out, Bits<32>>,
    pub layers_done: Signal<Out, Bits<32>>,
    pub total_cycles: Signal<Out, Bits<64>>,
    pub busy_cycles: Signal<Out, Bits<64>>,
    pub dma_stall_cycles: Signal<Out, Bits<64>>,
    pub irq_set: Signal<Out, Bits<IRQ_BITS>>,
    /// Descriptor words 0..31 of the running layer, stable from `start` to `done`
    /// (`DescFields` splits it into one signal per field).
    pub desc: Signal<Out, Bits<DESC_BITS>>,
    /// One-cycle start pulses of the CONV unit and the post-op unit.
    pub conv_start: Signal<Out, Bit>,
    pub post_start: Signal<Out, Bit>,
    /// From the running unit (the top ORs the units: only one runs).
    pub unit_done: Signal<In, Bit>,
    pub unit_error: Signal<In, Bit>,
    pub unit_error_code: Signal<In, Bits<8>>,
    pub unit_stall: Signal<In, Bit>,
    /// Units reset (abort) while draining.
    pub unit_reset: Signal<Out, Bit>,
    /// The DMA arbiter's select: the running unit owns the port.
    pub unit_owns_dma: Signal<Out, Bit>,
    pub dma_rd_busy: Signal<In, Bit>,
    pub dma_wr_busy: Signal<In, Bit>,
    /// The sequencer's own DMA client (through the arbiter).
    pub rd_cmd_valid: Signal<Out, Bit>,
    pub rd_cmd_ready: Signal<In, Bit>,
    pub rd_cmd_addr: Signal<Out, Bits<32>>,
    pub rd_cmd_beats: Signal<Out, Bits<24>>,
    pub rd_valid: Signal<In, Bit>,
    pub rd_ready: Signal<Out, Bit>,
    pub rd_data: Signal<In, Bits<W>>,
    pub rd_last: Signal<In, Bit>,
    pub rd_error: Signal<In, Bit>,
    pub wr_cmd_valid: Signal<Out, Bit>,
    pub wr_cmd_ready: Signal<In, Bit>,
    pub wr_cmd_addr: Signal<Out, Bits<32>>,
    pub wr_cmd_beats: Signal<Out, Bits<24>>,
    pub wr_valid: Signal<Out, Bit>,
    pub wr_ready: Signal<In, Bit>,
    pub wr_data: Signal<Out, Bits<W>>,
    pub wr_strb: Signal<Out, Bits<S>>,
    pub wr_done: Signal<In, Bit>,
    pub wr_error: Signal<In, Bit>,

    state: DFF<Bits<3>>,
    busy: DFF<Bit>,
    done_f: DFF<Bit>,
    err_f: DFF<Bit>,
    code: DFF<Bits<8>>,
    layer: DFF<Bits<16>>,
    count: DFF<Bits<16>>,
    daddr: DFF<Bits<32>>,
    ldone: DFF<Bits<32>>,
    total: DFF<Bits<64>>,
    busyc: DFF<Bits<64>>,
    stallc: DFF<Bits<64>>,
    lcyc: DFF<Bits<64>>,
    lstall: DFF<Bits<64>>,
    desc_r: DFF<Bits<DESC_BITS>>,
    csum: DFF<Bits<32>>,
    resv: DFF<Bit>,
    beat: DFF<Bits<6>>,
    last_beat: DFF<Bits<W>>,
    conv_q: DFF<Bit>,
    post_q: DFF<Bit>,
    pcmd: DFF<Bit>,
    pleft: DFF<Bits<2>>,
    pshift: DFF<Bits<9>>,
    irq_done_q: DFF<Bit>,
    irq_err_q: DFF<Bit>,
    pend_err: DFF<Bit>,
    pend_code: DFF<Bits<8>>,

    // Constants.
    k_st: Vec<Constant<Bits<3>>>,
    k_beat: Vec<Constant<Bits<6>>>,
    k_res: Vec<Constant<Bits<W>>>,
    k_sum: Vec<Constant<Bits<W>>>,
    k_zero_w: Constant<Bits<W>>,
    k_strb_all: Constant<Bits<S>>,
    k_strb_none: Constant<Bits<S>>,
    k_kept_beats: Constant<Bits<6>>,
    k_desc_beats: Constant<Bits<24>>,
    k_w_1024: Constant<Bits<11>>,
    k_top_1024: Constant<Bits<11>>,
    k_top_512: Constant<Bits<10>>,
    k_w_9: Constant<Bits<9>>,
    k_pbase: Constant<Bits<9>>,
    k_perf_beats: Constant<Bits<2>>,
    k_perf_beats_24: Constant<Bits<24>>,
    /// Words per beat (a loop bound; not hardware).
    _wpb: usize,
    k_perf_off: Constant<Bits<32>>,
    k_step: Constant<Bits<32>>,
    k_keep_512: Constant<Bits<512>>,
    k_addr_mask: Constant<Bits<ADDR_BLOCK_BITS>>,
    k_zero_addr: Constant<Bits<ADDR_BLOCK_BITS>>,
    k_sh_cyc: Constant<Bits<10>>,
    k_sh_stall: Constant<Bits<10>>,
    k_magic: Constant<Bits<32>>,
    k_version: Constant<Bits<8>>,
    k_op_conv: Constant<Bits<8>>,
    k_op_add: Constant<Bits<8>>,
    k_op_avg: Constant<Bits<8>>,
    k_op_max: Constant<Bits<8>>,
    k_op_gap: Constant<Bits<8>>,
    k_op_end: Constant<Bits<8>>,
    k_rq_fixed: Constant<Bits<2>>,
    k_rq_float: Constant<Bits<2>>,
    k_rq_bad: Constant<Bits<2>>,
    has_conv: Constant<Bit>,
    has_add: Constant<Bit>,
    has_avg: Constant<Bit>,
    has_max: Constant<Bit>,
    has_gap: Constant<Bit>,
    has_fixed: Constant<Bit>,
    has_float: Constant<Bit>,
    e_magic: Constant<Bits<8>>,
    e_version: Constant<Bits<8>>,
    e_checksum: Constant<Bits<8>>,
    e_opcode: Constant<Bits<8>>,
    e_unsupported: Constant<Bits<8>>,
    e_alignment: Constant<Bits<8>>,
    e_dma: Constant<Bits<8>>,
    e_overrun: Constant<Bits<8>>,
    e_reserved: Constant<Bits<8>>,
    k0_8: Constant<Bits<8>>,
    k0_2: Constant<Bits<2>>,
    k1_2: Constant<Bits<2>>,
    k0_6: Constant<Bits<6>>,
    k1_6: Constant<Bits<6>>,
    k0_16: Constant<Bits<16>>,
    k1_16: Constant<Bits<16>>,
    k0_32: Constant<Bits<32>>,
    k1_32: Constant<Bits<32>>,
    k0_64: Constant<Bits<64>>,
    k1_64: Constant<Bits<64>>,
    k_page_top: Constant<Bits<24>>,
    k_align_mask: Constant<Bits<64>>,
    k_st_busy: Constant<Bits<32>>,
    k_st_done: Constant<Bits<32>>,
    k_st_err: Constant<Bits<32>>,
    k_irq_none: Constant<Bits<IRQ_BITS>>,
    k_irq_done: Constant<Bits<IRQ_BITS>>,
    k_irq_err: Constant<Bits<IRQ_BITS>>,
    k_sh_code: Constant<Bits<32>>,
    k_sh_layer: Constant<Bits<32>>,

    // Combinational.
    is_idle: Signal<Local, Bit>,
    is_fetch: Signal<Local, Bit>,
    is_recv: Signal<Local, Bit>,
    is_check: Signal<Local, Bit>,
    is_run: Signal<Local, Bit>,
    is_perf: Signal<Local, Bit>,
    is_drain: Signal<Local, Bit>,
    take: Signal<Local, Bit>,
    res_beat: Signal<Local, Bits<W>>,
    sum_beat: Signal<Local, Bits<W>>,
    masked: Signal<Local, Bits<W>>,
    psum: Vec<Signal<Local, Bits<32>>>,
    beat_ext: Signal<Local, Bits<DESC_BITS>>,
    magic: Signal<Local, Bits<32>>,
    version: Signal<Local, Bits<8>>,
    opcode: Signal<Local, Bits<8>>,
    requant: Signal<Local, Bits<2>>,
    addr_block: Signal<Local, Bits<ADDR_BLOCK_BITS>>,
    op_valid: Signal<Local, Bit>,
    is_end: Signal<Local, Bit>,
    is_conv: Signal<Local, Bit>,
    unsupported: Signal<Local, Bit>,
    chk_code: Signal<Local, Bits<8>>,
    p_cyc: Signal<Local, Bits<512>>,
    p_stall: Signal<Local, Bits<512>>,
    p_orig: Signal<Local, Bits<512>>,
    p_img: Signal<Local, Bits<512>>,
    perf_data: Signal<Local, Bits<W>>,
    layer_next: Signal<Local, Bits<16>>,
    st_flags: Signal<Local, Bits<32>>,
    st_code: Signal<Local, Bits<32>>,
    st_layer: Signal<Local, Bits<32>>,
    base_bad: Signal<Local, Bit>,
}

/// Signals of the sequencer's module whose assignments Verilator must isolate: rust-hdl puts all
/// of a module's logic in one `always @(*)`, so the DMA-facing outputs (functions of the state
/// only) would otherwise sit in a combinational loop with the DMA's ready / valid outputs that the
/// same block reads (UNOPTFLAT), though no such path exists bit by bit.
pub const ISOLATE: &[&str] = &[
    "rd_cmd_valid",
    "rd_cmd_addr",
    "rd_cmd_beats",
    "rd_ready",
    "wr_cmd_valid",
    "wr_cmd_addr",
    "wr_cmd_beats",
    "wr_valid",
    "wr_data",
    "wr_strb",
    "unit_owns_dma",
    "unit_reset",
    "conv_start",
    "post_start",
    "is_idle",
    "is_fetch",
    "is_recv",
    "is_check",
    "is_run",
    "is_perf",
    "is_drain",
    "perf_data",
    "p_img",
    "p_orig",
    "p_cyc",
    "p_stall",
];

fn k<const N: usize>(v: u64) -> Constant<Bits<N>> {
    Constant::new(bits::<N>(v))
}

fn flag(v: bool) -> Constant<Bit> {
    Constant::new(v)
}

impl<const W: usize, const S: usize> Sequencer<W, S> {
    /// A sequencer for `W`-bit DMA beats; `requant` and `units` say which layers it accepts.
    pub fn new(requant: RequantModes, units: &EngineUnits) -> Self {
        assert_eq!(S * 8, W, "WSTRB has one bit per data byte");
        assert!([64, 128, 256, 512].contains(&W), "DMA width {W} is not 64..512");
        let g = SeqGeometry::new(W);
        let words_w = W / 32;
        let perf_bits = (PERF_BYTES as usize * 8).max(W);
        // Address block: bits 5..0 of each LO word (alignment) and every HI bit (below 4 GB).
        let addr_mask: Vec<u32> = ADDRESS_FIELDS.iter().flat_map(|_| [(DRAM_ALIGN - 1) as u32, u32::MAX]).collect();
        Self {
            clock: Default::default(),
            reset: Default::default(),
            start: Default::default(),
            soft_reset: Default::default(),
            program_base: Default::default(),
            program_count: Default::default(),
            status: Default::default(),
            layers_done: Default::default(),
            total_cycles: Default::default(),
            busy_cycles: Default::default(),
            dma_stall_cycles: Default::default(),
            irq_set: Default::default(),
            desc: Default::default(),
            conv_start: Default::default(),
            post_start: Default::default(),
            unit_done: Default::default(),
            unit_error: Default::default(),
            unit_error_code: Default::default(),
            unit_stall: Default::default(),
            unit_reset: Default::default(),
            unit_owns_dma: Default::default(),
            dma_rd_busy: Default::default(),
            dma_wr_busy: Default::default(),
            rd_cmd_valid: Default::default(),
            rd_cmd_ready: Default::default(),
            rd_cmd_addr: Default::default(),
            rd_cmd_beats: Default::default(),
            rd_valid: Default::default(),
            rd_ready: Default::default(),
            rd_data: Default::default(),
            rd_last: Default::default(),
            rd_error: Default::default(),
            wr_cmd_valid: Default::default(),
            wr_cmd_ready: Default::default(),
            wr_cmd_addr: Default::default(),
            wr_cmd_beats: Default::default(),
            wr_valid: Default::default(),
            wr_ready: Default::default(),
            wr_data: Default::default(),
            wr_strb: Default::default(),
            wr_done: Default::default(),
            wr_error: Default::default(),
            state: Default::default(),
            busy: Default::default(),
            done_f: Default::default(),
            err_f: Default::default(),
            code: Default::default(),
            layer: Default::default(),
            count: Default::default(),
            daddr: Default::default(),
            ldone: Default::default(),
            total: Default::default(),
            busyc: Default::default(),
            stallc: Default::default(),
            lcyc: Default::default(),
            lstall: Default::default(),
            desc_r: Default::default(),
            csum: Default::default(),
            resv: Default::default(),
            beat: Default::default(),
            last_beat: Default::default(),
            conv_q: Default::default(),
            post_q: Default::default(),
            pcmd: Default::default(),
            pleft: Default::default(),
            pshift: Default::default(),
            irq_done_q: Default::default(),
            irq_err_q: Default::default(),
            pend_err: Default::default(),
            pend_code: Default::default(),
            k_st: (0..7).map(k::<3>).collect(),
            k_beat: (0..g.beats as u64).map(k::<6>).collect(),
            k_res: (0..g.beats).map(|b| Constant::new(wide::<W>(&g.reserved_words(b, units.zero_skip)))).collect(),
            k_sum: (0..g.beats).map(|b| Constant::new(wide::<W>(&g.checksum_words(b)))).collect(),
            k_zero_w: Constant::new(Bits::default()),
            k_strb_all: Constant::new(Bits::<S>::mask()),
            k_strb_none: Constant::new(Bits::default()),
            k_kept_beats: k(g.kept_beats as u64),
            k_desc_beats: k(g.beats as u64),
            k_w_1024: k(W as u64),
            k_top_1024: k((DESC_BITS - W) as u64),
            k_top_512: k((512 - W) as u64),
            // W = 512 writes one beat: the wrapped step is never used.
            k_w_9: k((W % 512) as u64),
            k_pbase: k((512 - perf_bits) as u64),
            k_perf_beats: k(g.perf_beats as u64),
            k_perf_beats_24: k(g.perf_beats as u64),
            _wpb: words_w,
            k_perf_off: k(DESCRIPTOR_BYTES as u64 - (perf_bits / 8) as u64),
            k_step: k(DESCRIPTOR_BYTES as u64),
            k_keep_512: Constant::new(wide::<512>(&ones_below(512 - PERF_BYTES as usize * 8, 16))),
            k_addr_mask: Constant::new(wide::<ADDR_BLOCK_BITS>(&addr_mask)),
            k_zero_addr: Constant::new(Bits::default()),
            k_sh_cyc: k(512 - 128),
            k_sh_stall: k(512 - 64),
            k_magic: k(u64::from(DESCRIPTOR_MAGIC)),
            k_version: k(u64::from(DESCRIPTOR_VERSION)),
            k_op_conv: k(Opcode::Conv as u64),
            k_op_add: k(Opcode::Add as u64),
            k_op_avg: k(Opcode::AvgPool as u64),
            k_op_max: k(Opcode::MaxPool as u64),
            k_op_gap: k(Opcode::GlobalAvgPool as u64),
            k_op_end: k(Opcode::End as u64),
            k_rq_fixed: k(1),
            k_rq_float: k(2),
            k_rq_bad: k(3),
            has_conv: flag(units.conv),
            has_add: flag(units.post.add),
            has_avg: flag(units.post.avg_pool),
            has_max: flag(units.post.max_pool),
            has_gap: flag(units.post.global_avg_pool),
            has_fixed: flag(requant.fixed),
            has_float: flag(requant.float),
            e_magic: k(ErrorCode::BadMagic as u64),
            e_version: k(ErrorCode::BadVersion as u64),
            e_checksum: k(ErrorCode::BadChecksum as u64),
            e_opcode: k(ErrorCode::BadOpcode as u64),
            e_unsupported: k(ErrorCode::Unsupported as u64),
            e_alignment: k(ErrorCode::BadAlignment as u64),
            e_dma: k(ErrorCode::DmaError as u64),
            e_overrun: k(ErrorCode::ProgramOverrun as u64),
            e_reserved: k(ErrorCode::ReservedBits as u64),
            k0_8: k(0),
            k0_2: k(0),
            k1_2: k(1),
            k0_6: k(0),
            k1_6: k(1),
            k0_16: k(0),
            k1_16: k(1),
            k0_32: k(0),
            k1_32: k(1),
            k0_64: k(0),
            k1_64: k(1),
            k_page_top: k(0xff_ffff),
            k_align_mask: k(!(0xffff_ffffu64) | (DRAM_ALIGN - 1)),
            k_st_busy: k(u64::from(regmap::STATUS_BUSY.mask())),
            k_st_done: k(u64::from(regmap::STATUS_DONE.mask())),
            k_st_err: k(u64::from(regmap::STATUS_ERROR.mask())),
            k_irq_none: k(0),
            k_irq_done: k(u64::from(regmap::IRQ_DONE.mask())),
            k_irq_err: k(u64::from(regmap::IRQ_ERROR.mask())),
            k_sh_code: k(u64::from(regmap::STATUS_ERROR_CODE.lsb)),
            k_sh_layer: k(u64::from(regmap::STATUS_LAYER.lsb)),
            is_idle: Default::default(),
            is_fetch: Default::default(),
            is_recv: Default::default(),
            is_check: Default::default(),
            is_run: Default::default(),
            is_perf: Default::default(),
            is_drain: Default::default(),
            take: Default::default(),
            res_beat: Default::default(),
            sum_beat: Default::default(),
            masked: Default::default(),
            psum: (0..=words_w).map(|_| Default::default()).collect(),
            beat_ext: Default::default(),
            magic: Default::default(),
            version: Default::default(),
            opcode: Default::default(),
            requant: Default::default(),
            addr_block: Default::default(),
            op_valid: Default::default(),
            is_end: Default::default(),
            is_conv: Default::default(),
            unsupported: Default::default(),
            chk_code: Default::default(),
            p_cyc: Default::default(),
            p_stall: Default::default(),
            p_orig: Default::default(),
            p_img: Default::default(),
            perf_data: Default::default(),
            layer_next: Default::default(),
            st_flags: Default::default(),
            st_code: Default::default(),
            st_layer: Default::default(),
            base_bad: Default::default(),
        }
    }
}

impl<const W: usize, const S: usize> Logic for Sequencer<W, S> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clock, state, busy, done_f, err_f, code, layer, count, daddr, ldone, total, busyc, stallc, lcyc,
            lstall, desc_r, csum, resv, beat, last_beat, conv_q, post_q, pcmd, pleft, pshift, irq_done_q, irq_err_q,
            pend_err, pend_code
        );
        self.is_idle.next = self.state.q.val() == self.k_st[0].val();
        self.is_fetch.next = self.state.q.val() == self.k_st[1].val();
        self.is_recv.next = self.state.q.val() == self.k_st[2].val();
        self.is_check.next = self.state.q.val() == self.k_st[3].val();
        self.is_run.next = self.state.q.val() == self.k_st[4].val();
        self.is_perf.next = self.state.q.val() == self.k_st[5].val();
        self.is_drain.next = self.state.q.val() == self.k_st[6].val();

        // ---- Beat checks: this beat's reserved and checksum masks, word sum by a chain.
        self.take.next = self.rd_valid.val() & self.is_recv.val();
        self.res_beat.next = self.k_zero_w.val();
        self.sum_beat.next = self.k_zero_w.val();
        for b in 0..(self.k_beat.len()) {
            if self.beat.q.val() == self.k_beat[b].val() {
                self.res_beat.next = self.k_res[b].val();
                self.sum_beat.next = self.k_sum[b].val();
            }
        }
        self.masked.next = self.rd_data.val() & self.sum_beat.val();
        self.psum[0].next = self.csum.q.val();
        for j in 0..(self._wpb) {
            self.psum[j + 1].next = self.psum[j].val() + self.masked.val().get_bits::<32>(j * 32);
        }
        self.beat_ext.next = bit_cast::<DESC_BITS, W>(self.rd_data.val());

        // ---- Fields the checks read (offsets bound by one-iteration loops).
        self.magic.next = self.desc_r.q.val().get_bits::<32>(0);
        for o in (OFF_VERSION)..(OFF_VERSION + 1) {
            self.version.next = self.desc_r.q.val().get_bits::<8>(o);
        }
        for o in (OFF_OPCODE)..(OFF_OPCODE + 1) {
            self.opcode.next = self.desc_r.q.val().get_bits::<8>(o);
        }
        for o in (OFF_REQUANT)..(OFF_REQUANT + 1) {
            self.requant.next = self.desc_r.q.val().get_bits::<2>(o);
        }
        for o in (OFF_ADDR)..(OFF_ADDR + 1) {
            self.addr_block.next = self.desc_r.q.val().get_bits::<ADDR_BLOCK_BITS>(o);
        }
        self.is_end.next = self.opcode.val() == self.k_op_end.val();
        self.is_conv.next = self.opcode.val() == self.k_op_conv.val();
        self.op_valid.next = self.is_end.val()
            | self.is_conv.val()
            | (self.opcode.val() == self.k_op_add.val())
            | (self.opcode.val() == self.k_op_avg.val())
            | (self.opcode.val() == self.k_op_max.val())
            | (self.opcode.val() == self.k_op_gap.val());
        self.unsupported.next = ((self.requant.val() == self.k_rq_fixed.val()) & !self.has_fixed.val())
            | ((self.requant.val() == self.k_rq_float.val()) & !self.has_float.val())
            | (self.requant.val() == self.k_rq_bad.val())
            | (self.is_conv.val() & !self.has_conv.val())
            | ((self.opcode.val() == self.k_op_add.val()) & !self.has_add.val())
            | ((self.opcode.val() == self.k_op_avg.val()) & !self.has_avg.val())
            | ((self.opcode.val() == self.k_op_max.val()) & !self.has_max.val())
            | ((self.opcode.val() == self.k_op_gap.val()) & !self.has_gap.val());
        // Priority: the last assignment wins (DMA error, magic, version, opcode, reserved,
        // alignment, checksum, unsupported).
        self.chk_code.next = self.k0_8.val();
        if self.unsupported.val() {
            self.chk_code.next = self.e_unsupported.val();
        }
        if self.csum.q.val() != self.k0_32.val() {
            self.chk_code.next = self.e_checksum.val();
        }
        if !self.is_end.val() & ((self.addr_block.val() & self.k_addr_mask.val()) != self.k_zero_addr.val()) {
            self.chk_code.next = self.e_alignment.val();
        }
        if self.resv.q.val() {
            self.chk_code.next = self.e_reserved.val();
        }
        if !self.op_valid.val() {
            self.chk_code.next = self.e_opcode.val();
        }
        if self.version.val() != self.k_version.val() {
            self.chk_code.next = self.e_version.val();
        }
        if self.magic.val() != self.k_magic.val() {
            self.chk_code.next = self.e_magic.val();
        }
        if self.rd_error.val() {
            self.chk_code.next = self.e_dma.val();
        }

        // ---- Perf record beats: {stall, cycles} over the fetched last beat (whose other words
        // are the reserved zeros and the checksum), shifted to the beat being written.
        self.p_cyc.next = bit_cast::<512, 64>(self.lcyc.q.val());
        self.p_stall.next = bit_cast::<512, 64>(self.lstall.q.val());
        self.p_orig.next = bit_cast::<512, W>(self.last_beat.q.val());
        self.p_img.next = (self.p_stall.val() << self.k_sh_stall.val())
            | (self.p_cyc.val() << self.k_sh_cyc.val())
            | ((self.p_orig.val() << self.k_top_512.val()) & self.k_keep_512.val());
        self.perf_data.next = self.p_img.val().get_bits::<W>(self.pshift.q.val().index());
        self.layer_next.next = self.layer.q.val() + self.k1_16.val();
        self.base_bad.next = (self.program_base.val() & self.k_align_mask.val()) != self.k0_64.val();

        // ---- DMA client outputs.
        self.rd_cmd_valid.next = self.is_fetch.val();
        self.rd_cmd_addr.next = self.daddr.q.val();
        self.rd_cmd_beats.next = self.k_desc_beats.val();
        self.rd_ready.next = self.is_recv.val() | self.is_drain.val();
        self.wr_cmd_valid.next = self.pcmd.q.val() & self.is_perf.val();
        self.wr_cmd_addr.next = self.daddr.q.val() + self.k_perf_off.val();
        self.wr_cmd_beats.next = self.k_perf_beats_24.val();
        self.wr_valid.next = (self.pleft.q.val() != self.k0_2.val()) | self.is_drain.val();
        self.wr_data.next = self.k_zero_w.val();
        self.wr_strb.next = self.k_strb_none.val();
        if self.pleft.q.val() != self.k0_2.val() {
            self.wr_data.next = self.perf_data.val();
            self.wr_strb.next = self.k_strb_all.val();
        }

        // ---- Counters.
        self.total.d.next = self.total.q.val() + self.k1_64.val();
        if self.busy.q.val() & !self.is_drain.val() {
            self.busyc.d.next = self.busyc.q.val() + self.k1_64.val();
        }
        if self.is_fetch.val() | self.is_recv.val() | self.is_check.val() | self.is_run.val() {
            self.lcyc.d.next = self.lcyc.q.val() + self.k1_64.val();
        }
        if self.is_run.val() & self.unit_stall.val() {
            self.lstall.d.next = self.lstall.q.val() + self.k1_64.val();
            self.stallc.d.next = self.stallc.q.val() + self.k1_64.val();
        }
        self.conv_q.d.next = false;
        self.post_q.d.next = false;
        self.irq_done_q.d.next = false;
        self.irq_err_q.d.next = false;

        // ---- Perf write handshakes (also while draining: a started perf write completes).
        if self.pcmd.q.val() & self.is_perf.val() & self.wr_cmd_ready.val() {
            self.pcmd.d.next = false;
        }
        if (self.pleft.q.val() != self.k0_2.val()) & self.wr_ready.val() {
            self.pleft.d.next = self.pleft.q.val() - self.k1_2.val();
            self.pshift.d.next = self.pshift.q.val() + self.k_w_9.val();
        }

        // ---- The FSM.
        if self.is_idle.val() {
            if self.start.val() {
                self.done_f.d.next = false;
                self.err_f.d.next = false;
                self.code.d.next = self.k0_8.val();
                self.layer.d.next = self.k0_16.val();
                self.ldone.d.next = self.k0_32.val();
                self.busyc.d.next = self.k0_64.val();
                self.stallc.d.next = self.k0_64.val();
                self.count.d.next = self.program_count.val();
                self.daddr.d.next = self.program_base.val().get_bits::<32>(0);
                self.lcyc.d.next = self.k0_64.val();
                self.lstall.d.next = self.k0_64.val();
                if self.base_bad.val() {
                    self.err_f.d.next = true;
                    self.code.d.next = self.e_alignment.val();
                    self.irq_err_q.d.next = true;
                } else if self.program_count.val() == self.k0_16.val() {
                    self.err_f.d.next = true;
                    self.code.d.next = self.e_overrun.val();
                    self.irq_err_q.d.next = true;
                } else {
                    self.busy.d.next = true;
                    self.state.d.next = self.k_st[1].val();
                }
            }
        } else if self.is_fetch.val() {
            if self.rd_cmd_ready.val() {
                self.state.d.next = self.k_st[2].val();
                self.beat.d.next = self.k0_6.val();
                self.csum.d.next = self.k0_32.val();
                self.resv.d.next = false;
            }
        } else if self.is_recv.val() {
            if self.take.val() {
                self.beat.d.next = self.beat.q.val() + self.k1_6.val();
                for n in (self._wpb)..(self._wpb + 1) {
                    self.csum.d.next = self.psum[n].val();
                }
                if (self.rd_data.val() & self.res_beat.val()) != self.k_zero_w.val() {
                    self.resv.d.next = true;
                }
                if self.beat.q.val() < self.k_kept_beats.val() {
                    self.desc_r.d.next =
                        (self.desc_r.q.val() >> self.k_w_1024.val()) | (self.beat_ext.val() << self.k_top_1024.val());
                }
                self.last_beat.d.next = self.rd_data.val();
                if self.rd_last.val() {
                    self.state.d.next = self.k_st[3].val();
                }
            }
        } else if self.is_check.val() {
            if self.chk_code.val() != self.k0_8.val() {
                self.err_f.d.next = true;
                self.code.d.next = self.chk_code.val();
                self.busy.d.next = false;
                self.irq_err_q.d.next = true;
                self.state.d.next = self.k_st[0].val();
            } else if self.is_end.val() {
                self.done_f.d.next = true;
                self.busy.d.next = false;
                self.irq_done_q.d.next = true;
                self.state.d.next = self.k_st[0].val();
            } else {
                self.conv_q.d.next = self.is_conv.val();
                self.post_q.d.next = !self.is_conv.val();
                self.state.d.next = self.k_st[4].val();
            }
        } else if self.is_run.val() {
            if self.unit_error.val() {
                self.pend_err.d.next = true;
                self.pend_code.d.next = self.unit_error_code.val();
                self.state.d.next = self.k_st[6].val();
            } else if self.unit_done.val() {
                self.pcmd.d.next = true;
                self.pleft.d.next = self.k_perf_beats.val();
                self.pshift.d.next = self.k_pbase.val();
                self.state.d.next = self.k_st[5].val();
            }
        } else if self.is_perf.val() {
            if self.wr_done.val() {
                if self.wr_error.val() {
                    self.err_f.d.next = true;
                    self.code.d.next = self.e_dma.val();
                    self.busy.d.next = false;
                    self.irq_err_q.d.next = true;
                    self.state.d.next = self.k_st[0].val();
                } else {
                    self.ldone.d.next = self.ldone.q.val() + self.k1_32.val();
                    self.layer.d.next = self.layer_next.val();
                    if self.layer_next.val() == self.count.q.val() {
                        self.err_f.d.next = true;
                        self.code.d.next = self.e_overrun.val();
                        self.busy.d.next = false;
                        self.irq_err_q.d.next = true;
                        self.state.d.next = self.k_st[0].val();
                    } else if self.daddr.q.val().get_bits::<24>(8) == self.k_page_top.val() {
                        // The next descriptor would be above 4 GB.
                        self.err_f.d.next = true;
                        self.code.d.next = self.e_alignment.val();
                        self.busy.d.next = false;
                        self.irq_err_q.d.next = true;
                        self.state.d.next = self.k_st[0].val();
                    } else {
                        self.daddr.d.next = self.daddr.q.val() + self.k_step.val();
                        self.lcyc.d.next = self.k0_64.val();
                        self.lstall.d.next = self.k0_64.val();
                        self.state.d.next = self.k_st[1].val();
                    }
                }
            }
        } else if self.is_drain.val()
            & !self.dma_rd_busy.val()
            & !self.dma_wr_busy.val()
            & (self.pleft.q.val() == self.k0_2.val())
        {
            self.busy.d.next = false;
            self.state.d.next = self.k_st[0].val();
            if self.pend_err.q.val() {
                self.err_f.d.next = true;
                self.code.d.next = self.pend_code.q.val();
                self.irq_err_q.d.next = true;
                self.pend_err.d.next = false;
            }
        }

        // SOFT_RESET: abort whatever runs, clear flags and counters, drain the DMA.
        if self.soft_reset.val() {
            self.state.d.next = self.k_st[6].val();
            self.busy.d.next = true;
            self.done_f.d.next = false;
            self.err_f.d.next = false;
            self.code.d.next = self.k0_8.val();
            self.layer.d.next = self.k0_16.val();
            self.ldone.d.next = self.k0_32.val();
            self.total.d.next = self.k0_64.val();
            self.busyc.d.next = self.k0_64.val();
            self.stallc.d.next = self.k0_64.val();
            self.pcmd.d.next = false;
            self.pend_err.d.next = false;
            self.conv_q.d.next = false;
            self.post_q.d.next = false;
            self.irq_done_q.d.next = false;
            self.irq_err_q.d.next = false;
        }
        if self.reset.val() {
            self.state.d.next = self.k_st[0].val();
            self.busy.d.next = false;
            self.done_f.d.next = false;
            self.err_f.d.next = false;
            self.code.d.next = self.k0_8.val();
            self.layer.d.next = self.k0_16.val();
            self.ldone.d.next = self.k0_32.val();
            self.total.d.next = self.k0_64.val();
            self.busyc.d.next = self.k0_64.val();
            self.stallc.d.next = self.k0_64.val();
            self.pcmd.d.next = false;
            self.pleft.d.next = self.k0_2.val();
            self.pend_err.d.next = false;
            self.conv_q.d.next = false;
            self.post_q.d.next = false;
            self.irq_done_q.d.next = false;
            self.irq_err_q.d.next = false;
        }

        // ---- Outputs.
        self.st_code.next = bit_cast::<32, 8>(self.code.q.val());
        self.st_layer.next = bit_cast::<32, 16>(self.layer.q.val());
        self.st_flags.next = self.k0_32.val();
        if self.busy.q.val() {
            self.st_flags.next = self.k_st_busy.val();
        }
        if self.done_f.q.val() {
            self.st_flags.next = self.st_flags.val() | self.k_st_done.val();
        }
        if self.err_f.q.val() {
            self.st_flags.next = self.st_flags.val() | self.k_st_err.val();
        }
        self.status.next = self.st_flags.val()
            | (self.st_code.val() << self.k_sh_code.val())
            | (self.st_layer.val() << self.k_sh_layer.val());
        self.layers_done.next = self.ldone.q.val();
        self.total_cycles.next = self.total.q.val();
        self.busy_cycles.next = self.busyc.q.val();
        self.dma_stall_cycles.next = self.stallc.q.val();
        self.irq_set.next = self.k_irq_none.val();
        if self.irq_done_q.q.val() {
            self.irq_set.next = self.k_irq_done.val();
        }
        if self.irq_err_q.q.val() {
            self.irq_set.next = self.irq_set.val() | self.k_irq_err.val();
        }
        self.desc.next = self.desc_r.q.val();
        self.conv_start.next = self.conv_q.q.val();
        self.post_start.next = self.post_q.q.val();
        self.unit_reset.next = self.is_drain.val();
        self.unit_owns_dma.next = self.is_run.val();
    }
}
