//! The slot walker of a channel-slice write (units.md "Writes of channel slices"; golden
//! [`super::model::SliceWrite`]): for one pixel block it walks the write command's beats byte slot
//! by byte slot, in address order, saying for each whether it is strobed and, if so, which
//! (pixel, channel) of the block it carries. The unit's requant lanes fetch the strobed bytes in
//! this order and a beat packer groups `B` slots per beat, so the whole block is one masked
//! contiguous write (one DRAM latency per burst, not per pixel).
//!
//! Protocol: `start` (one cycle, idle or not) latches `addr` (first written byte), `pixels` (>= 1),
//! `channels` (1..=`stride`) and `stride`; from the next cycle `cmd_addr` / `cmd_beats` hold the
//! command (beat-aligned address, beats) and `valid` is high until the last slot has been taken.
//! A slot is taken at an edge with `valid` and `take`. `beat_last` marks a beat's last slot,
//! `last` the command's last slot. The walk is counters only: `(pixel, channel)` advance by one
//! and wrap at `stride`, so no division is needed; the beat count is the only product.

use rust_hdl::prelude::*;

#[derive(LogicBlock)]
pub struct SliceWalker {
    pub clock: Signal<In, Clock>,
    pub reset: Signal<In, Bit>,
    pub start: Signal<In, Bit>,
    pub addr: Signal<In, Bits<32>>,
    pub pixels: Signal<In, Bits<16>>,
    pub channels: Signal<In, Bits<16>>,
    pub stride: Signal<In, Bits<16>>,
    pub take: Signal<In, Bit>,
    pub cmd_addr: Signal<Out, Bits<32>>,
    pub cmd_beats: Signal<Out, Bits<24>>,
    pub valid: Signal<Out, Bit>,
    pub strobe: Signal<Out, Bit>,
    pub pixel: Signal<Out, Bits<16>>,
    pub channel: Signal<Out, Bits<16>>,
    pub beat_last: Signal<Out, Bit>,
    pub last: Signal<Out, Bit>,
    phase: DFF<Bits<2>>,
    lead: DFF<Bits<8>>,
    slot: DFF<Bits<8>>,
    pix: DFF<Bits<16>>,
    pos: DFF<Bits<16>>,
    pix_last: DFF<Bits<16>>,
    ch_last: DFF<Bits<16>>,
    stride_last: DFF<Bits<16>>,
    base: DFF<Bits<32>>,
    beats: DFF<Bits<24>>,
    p_idle: Constant<Bits<2>>,
    p_lead: Constant<Bits<2>>,
    p_body: Constant<Bits<2>>,
    p_tail: Constant<Bits<2>>,
    /// `B - 1` in the slot counter's and the address's widths; `log2 B`.
    slot_max: Constant<Bits<8>>,
    lead_mask: Constant<Bits<32>>,
    align: Constant<Bits<32>>,
    log2_beat: Constant<Bits<32>>,
    k0_8: Constant<Bits<8>>,
    k1_8: Constant<Bits<8>>,
    k0_16: Constant<Bits<16>>,
    k1_16: Constant<Bits<16>>,
    k0_32: Constant<Bits<32>>,
    lead_in: Signal<Local, Bits<32>>,
    px_m1: Signal<Local, Bits<16>>,
    span_px: Signal<Local, Bits<32>>,
    ch_32: Signal<Local, Bits<32>>,
    end_excl: Signal<Local, Bits<32>>,
    beats_32: Signal<Local, Bits<32>>,
    at_beat_end: Signal<Local, Bit>,
    body_end: Signal<Local, Bit>,
    step: Signal<Local, Bit>,
}

impl SliceWalker {
    /// A walker for beats of `beat_bytes` bytes (a power of two in 1..=128).
    pub fn new(beat_bytes: usize) -> SliceWalker {
        assert!(beat_bytes.is_power_of_two() && beat_bytes <= 128, "beat of {beat_bytes} bytes");
        let b = beat_bytes as u64;
        SliceWalker {
            clock: Default::default(),
            reset: Default::default(),
            start: Default::default(),
            addr: Default::default(),
            pixels: Default::default(),
            channels: Default::default(),
            stride: Default::default(),
            take: Default::default(),
            cmd_addr: Default::default(),
            cmd_beats: Default::default(),
            valid: Default::default(),
            strobe: Default::default(),
            pixel: Default::default(),
            channel: Default::default(),
            beat_last: Default::default(),
            last: Default::default(),
            phase: Default::default(),
            lead: Default::default(),
            slot: Default::default(),
            pix: Default::default(),
            pos: Default::default(),
            pix_last: Default::default(),
            ch_last: Default::default(),
            stride_last: Default::default(),
            base: Default::default(),
            beats: Default::default(),
            p_idle: Constant::new(bits::<2>(0)),
            p_lead: Constant::new(bits::<2>(1)),
            p_body: Constant::new(bits::<2>(2)),
            p_tail: Constant::new(bits::<2>(3)),
            slot_max: Constant::new(bits::<8>(b - 1)),
            lead_mask: Constant::new(bits::<32>(b - 1)),
            align: Constant::new(bits::<32>(0xffff_ffff & !(b - 1))),
            log2_beat: Constant::new(bits::<32>(u64::from(b.trailing_zeros()))),
            k0_8: Constant::new(bits::<8>(0)),
            k1_8: Constant::new(bits::<8>(1)),
            k0_16: Constant::new(bits::<16>(0)),
            k1_16: Constant::new(bits::<16>(1)),
            k0_32: Constant::new(bits::<32>(0)),
            lead_in: Default::default(),
            px_m1: Default::default(),
            span_px: Default::default(),
            ch_32: Default::default(),
            end_excl: Default::default(),
            beats_32: Default::default(),
            at_beat_end: Default::default(),
            body_end: Default::default(),
            step: Default::default(),
        }
    }
}

impl SliceWalker {
    /// Lint waivers (pass to `emit::emit_with_waivers`; prefix `path::` when a sub-module).
    pub fn waivers() -> Vec<crate::emit::Waiver> {
        vec![crate::emit::Waiver {
            signal: "beats_32".into(),
            rule: "UNUSEDSIGNAL",
            reason: "a block's write is far below 2^24 beats; the command port is 24 bits",
        }]
    }
}

impl Logic for SliceWalker {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, phase, lead, slot, pix, pos, pix_last, ch_last, stride_last, base, beats);
        // The command: beats = ceil((lead + (pixels - 1) * stride + channels) / B).
        self.lead_in.next = self.addr.val() & self.lead_mask.val();
        self.px_m1.next = self.pixels.val() - self.k1_16.val();
        self.span_px.next = self.px_m1.val() * self.stride.val();
        self.ch_32.next = bit_cast::<32, 16>(self.channels.val());
        self.end_excl.next = (self.lead_in.val() + self.span_px.val()) + self.ch_32.val();
        self.beats_32.next = (self.end_excl.val() + self.lead_mask.val()) >> self.log2_beat.val();

        self.at_beat_end.next = self.slot.q.val() == self.slot_max.val();
        self.body_end.next = (self.pix.q.val() == self.pix_last.q.val()) & (self.pos.q.val() == self.ch_last.q.val());
        self.step.next = self.take.val() & (self.phase.q.val() != self.p_idle.val());

        if self.step.val() {
            self.slot.d.next = (self.slot.q.val() + self.k1_8.val()) & self.slot_max.val();
            if self.phase.q.val() == self.p_lead.val() {
                self.lead.d.next = self.lead.q.val() - self.k1_8.val();
                if self.lead.q.val() == self.k1_8.val() {
                    self.phase.d.next = self.p_body.val();
                }
            } else if self.phase.q.val() == self.p_body.val() {
                if self.body_end.val() {
                    if self.at_beat_end.val() {
                        self.phase.d.next = self.p_idle.val();
                    } else {
                        self.phase.d.next = self.p_tail.val();
                    }
                } else if self.pos.q.val() == self.stride_last.q.val() {
                    self.pos.d.next = self.k0_16.val();
                    self.pix.d.next = self.pix.q.val() + self.k1_16.val();
                } else {
                    self.pos.d.next = self.pos.q.val() + self.k1_16.val();
                }
            } else if self.at_beat_end.val() {
                self.phase.d.next = self.p_idle.val();
            }
        }
        if self.start.val() {
            self.base.d.next = self.addr.val() & self.align.val();
            self.beats.d.next = self.beats_32.val().get_bits::<24>(0);
            self.lead.d.next = self.lead_in.val().get_bits::<8>(0);
            self.slot.d.next = self.k0_8.val();
            self.pix.d.next = self.k0_16.val();
            self.pos.d.next = self.k0_16.val();
            self.pix_last.d.next = self.pixels.val() - self.k1_16.val();
            self.ch_last.d.next = self.channels.val() - self.k1_16.val();
            self.stride_last.d.next = self.stride.val() - self.k1_16.val();
            if self.lead_in.val() == self.k0_32.val() {
                self.phase.d.next = self.p_body.val();
            } else {
                self.phase.d.next = self.p_lead.val();
            }
        }
        if self.reset.val() {
            self.phase.d.next = self.p_idle.val();
        }

        self.cmd_addr.next = self.base.q.val();
        self.cmd_beats.next = self.beats.q.val();
        self.valid.next = self.phase.q.val() != self.p_idle.val();
        self.strobe.next = (self.phase.q.val() == self.p_body.val()) & (self.pos.q.val() <= self.ch_last.q.val());
        self.pixel.next = self.pix.q.val();
        self.channel.next = self.pos.q.val();
        self.beat_last.next = self.at_beat_end.val() & (self.phase.q.val() != self.p_idle.val());
        self.last.next = self.at_beat_end.val()
            & ((self.phase.q.val() == self.p_tail.val())
                | ((self.phase.q.val() == self.p_body.val()) & self.body_end.val()));
    }
}
