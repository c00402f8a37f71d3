// Co-simulation harness of the DMA engines (systole-hdl, blocks/dma/cosim.rs builds it).
//
// The DUT is `blocks::dma::Dma<W, S>`. This file plays everything around it, one rising edge per
// loop iteration:
// * the DRAM: an AXI4 slave that is a line-by-line copy of `axi_timing::dram::DramModel`
//   (latency, beat interval, injected stalls, SLVERR/DECERR ranges, protocol checks);
// * the read and write command sources, the read stream's consumer and the write stream's
//   producer, each stalling on the edges `axi_timing::stall::Stalls` says.
//
// usage: sim CONFIG COMMANDS MEM_IN STREAM_IN STRB_IN MEM_OUT RDATA_OUT EVENTS_OUT TRACE_OUT
// STRB_IN: the write stream's WSTRB per beat (8 bytes little endian each); empty = all ones.
// Events (text, one per line): `RA k e` / `WA k e` command k accepted at edge e; `RE k e err` read
// command k delivered its last beat at edge e; `WE k e err` write command k's last B handshake
// (its done pulse) at edge e; `V e message` protocol violation; `X message` harness error;
// `END e` or `TIMEOUT e`. The trace (if enabled) has one line per edge: master signals, `|`,
// slave signals, for replay through the Rust DRAM model.
#include "dut.h"
#include "verilated.h"

#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <string>
#include <vector>

namespace {

constexpr uint64_t PAGE_BYTES = 4096;
constexpr unsigned OKAY = 0, SLVERR = 2, DECERR = 3, INCR = 1;
enum Channel { AR = 0, AW = 1, W = 2, CONSUMER = 3, PRODUCER = 4, READ_COMMAND = 5, WRITE_COMMAND = 6, CHANNELS = 7 };

constexpr uint64_t GOLDEN = 0x9e3779b97f4a7c15ULL;

uint64_t mix(uint64_t x) {
    uint64_t z = x + GOLDEN;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

struct Stalls {
    uint64_t seed = 0;
    uint64_t percent[CHANNELS] = {};
    bool hit(int channel, uint64_t edge) const {
        uint64_t p = percent[channel];
        return p > 0 && mix(seed ^ (static_cast<uint64_t>(channel) << 56) ^ (edge * GOLDEN)) % 100 < p;
    }
};

struct Config {
    uint64_t read_latency = 1, write_latency = 1, interval = 1;
    uint64_t mem_bytes = 0, slverr_lo = 0, slverr_hi = 0;
    uint64_t max_cycles = 1000000, reset_cycles = 2, trace = 0;
    Stalls stalls;
};

// ---- Port access: Verilator makes ports up to 64 bits integers, wider ones VlWide<words>.
template <typename T>
void put(T& port, const uint8_t* bytes) {
    uint64_t v = 0;
    std::memcpy(&v, bytes, sizeof(uint64_t) < BEAT_BYTES ? sizeof(uint64_t) : BEAT_BYTES);
    port = static_cast<T>(v);
}
template <std::size_t N>
void put(VlWide<N>& port, const uint8_t* bytes) {
    for (std::size_t i = 0; i < N; ++i) {
        uint32_t w;
        std::memcpy(&w, bytes + 4 * i, 4);
        port[i] = w;
    }
}
template <typename T>
void get(const T& port, uint8_t* bytes) {
    uint64_t v = static_cast<uint64_t>(port);
    std::memcpy(bytes, &v, sizeof(uint64_t) < BEAT_BYTES ? sizeof(uint64_t) : BEAT_BYTES);
}
template <std::size_t N>
void get(const VlWide<N>& port, uint8_t* bytes) {
    for (std::size_t i = 0; i < N; ++i) {
        uint32_t w = port[i];
        std::memcpy(bytes + 4 * i, &w, 4);
    }
}

uint64_t fold(const std::vector<uint8_t>& data) {
    uint64_t acc = 0;
    for (std::size_t i = 0; i < data.size(); i += 8) {
        uint64_t w = 0;
        std::memcpy(&w, data.data() + i, data.size() - i < 8 ? data.size() - i : 8);
        acc ^= w;
    }
    return acc;
}

// ---- The DRAM: mirrors axi_timing::dram::DramModel statement by statement.
struct Addr {
    bool valid = false;
    uint64_t addr = 0;
    unsigned len = 0, size = 0, burst = 0;
    bool operator==(const Addr& o) const {
        return valid == o.valid && addr == o.addr && len == o.len && size == o.size && burst == o.burst;
    }
};

struct Master {
    Addr ar;
    bool rready = false;
    Addr aw;
    bool wvalid = false;
    std::vector<uint8_t> wdata;
    uint64_t wstrb = 0;
    bool wlast = false, bready = false;
};

struct Slave {
    bool arready = false, rvalid = false;
    std::vector<uint8_t> rdata;
    unsigned rresp = 0;
    bool rlast = false, awready = false, wready = false, bvalid = false;
    unsigned bresp = 0;
};

struct Burst {
    uint64_t addr, beats, taken, next_edge;
    unsigned resp;
};

struct Response {
    uint64_t edge;
    unsigned resp;
};

struct WPayload {
    std::vector<uint8_t> data;
    bool last;
    uint64_t strb;
    bool operator==(const WPayload& o) const { return data == o.data && last == o.last && strb == o.strb; }
};

class Dram {
  public:
    Dram(const Config& c, std::vector<uint8_t> mem, FILE* events) : cfg(c), mem(std::move(mem)), events(events) {}

    const std::vector<uint8_t>& memory() const { return mem; }
    // Backdoor access for the engine harness (hdl/src/cosim): host loads and reads device memory.
    std::vector<uint8_t>& memory_mut() { return mem; }
    bool idle() const { return reads.empty() && writes.empty() && responses.empty(); }

    Slave outputs() const {
        uint64_t e = edge;
        Slave s;
        s.arready = !cfg.stalls.hit(AR, e);
        s.awready = !cfg.stalls.hit(AW, e);
        if (!reads.empty() && e >= reads.front().next_edge) {
            const Burst& b = reads.front();
            s.rvalid = true;
            s.rresp = b.resp;
            s.rlast = b.taken + 1 == b.beats;
            s.rdata.assign(BEAT_BYTES, 0);
            if (b.resp == OKAY) std::memcpy(s.rdata.data(), &mem[b.addr + b.taken * BEAT_BYTES], BEAT_BYTES);
        }
        s.wready = !writes.empty() && e >= writes.front().next_edge && !cfg.stalls.hit(W, e);
        if (!responses.empty() && e >= responses.front().edge) {
            s.bvalid = true;
            s.bresp = responses.front().resp;
        }
        return s;
    }

    void clock(const Master& m) {
        Slave s = outputs();
        uint64_t e = edge;

        if (held_ar && !(m.ar.valid && held_ar_value == m.ar)) violation(e, "AR dropped VALID or changed its payload before READY");
        held_ar = m.ar.valid && !s.arready;
        held_ar_value = m.ar;
        if (m.ar.valid && s.arready) {
            check_addr(e, "AR", m.ar);
            if (!reads.empty()) violation(e, "AR burst issued while another is outstanding (one-outstanding rule)");
            uint64_t beats = uint64_t(m.ar.len) + 1;
            reads.push_back(Burst{m.ar.addr, beats, 0, e + cfg.read_latency, response(m.ar.addr, beats)});
        }
        if (s.rvalid && m.rready && !reads.empty()) {
            Burst& b = reads.front();
            b.taken += 1;
            b.next_edge = e + cfg.interval;
            if (b.taken == b.beats) reads.pop_front();
        }

        WPayload w{m.wdata, m.wlast, m.wstrb};
        if (held_w && !(m.wvalid && held_w_value == w)) violation(e, "W dropped VALID or changed its payload before READY");
        held_w = m.wvalid && !s.wready;
        held_w_value = w;
        if (m.wvalid && s.wready && !writes.empty()) {
            Burst& b = writes.front();
            bool last = b.taken + 1 == b.beats;
            if (m.wlast != last) {
                char msg[128];
                std::snprintf(msg, sizeof msg, "WLAST=%d on beat %" PRIu64 " of a %" PRIu64 "-beat burst", m.wlast ? 1 : 0,
                              b.taken, b.beats);
                violation(e, msg);
            }
            if (b.resp == OKAY) {
                for (unsigned i = 0; i < BEAT_BYTES; ++i) {
                    if ((m.wstrb >> i) & 1) mem[b.addr + b.taken * BEAT_BYTES + i] = m.wdata[i];
                }
            }
            b.taken += 1;
            b.next_edge = e + cfg.interval;
            if (last) {
                unsigned resp = b.resp;
                writes.pop_front();
                responses.push_back(Response{e + cfg.write_latency, resp});
            }
        }

        if (held_aw && !(m.aw.valid && held_aw_value == m.aw)) violation(e, "AW dropped VALID or changed its payload before READY");
        held_aw = m.aw.valid && !s.awready;
        held_aw_value = m.aw;
        if (m.aw.valid && s.awready) {
            check_addr(e, "AW", m.aw);
            if (!writes.empty() || !responses.empty()) violation(e, "AW burst issued while another is outstanding (one-outstanding rule)");
            uint64_t beats = uint64_t(m.aw.len) + 1;
            writes.push_back(Burst{m.aw.addr, beats, 0, e + 1, response(m.aw.addr, beats)});
        }
        if (s.bvalid && m.bready) responses.pop_front();

        edge += 1;
    }

  private:
    unsigned response(uint64_t addr, uint64_t beats) const {
        uint64_t end = addr + beats * BEAT_BYTES;
        if (end > cfg.mem_bytes) return DECERR;
        if (addr < cfg.slverr_hi && cfg.slverr_lo < end) return SLVERR;
        return OKAY;
    }

    void check_addr(uint64_t e, const char* channel, const Addr& a) {
        uint64_t beats = uint64_t(a.len) + 1;
        char msg[160];
        if (a.burst != INCR) {
            std::snprintf(msg, sizeof msg, "%s AxBURST %u is not INCR", channel, a.burst);
            violation(e, msg);
        }
        if (a.size != SIZE_LOG2) {
            std::snprintf(msg, sizeof msg, "%s AxSIZE %u is not the bus width's %u", channel, a.size, SIZE_LOG2);
            violation(e, msg);
        }
        if (a.addr % BEAT_BYTES != 0) {
            std::snprintf(msg, sizeof msg, "%s address 0x%" PRIx64 " is not beat aligned", channel, a.addr);
            violation(e, msg);
        }
        if (beats > 256) {
            std::snprintf(msg, sizeof msg, "%s burst of %" PRIu64 " beats is longer than 256", channel, beats);
            violation(e, msg);
        }
        if (a.addr % PAGE_BYTES + beats * BEAT_BYTES > PAGE_BYTES) {
            std::snprintf(msg, sizeof msg, "%s burst 0x%" PRIx64 " + %" PRIu64 " beats crosses a 4 KB boundary", channel,
                          a.addr, beats);
            violation(e, msg);
        }
    }

    void violation(uint64_t e, const char* message) { std::fprintf(events, "V %" PRIu64 " %s\n", e, message); }

    Config cfg;
    std::vector<uint8_t> mem;
    FILE* events;
    uint64_t edge = 1;
    std::deque<Burst> reads, writes;
    std::deque<Response> responses;
    bool held_ar = false, held_aw = false, held_w = false;
    Addr held_ar_value, held_aw_value;
    WPayload held_w_value;
};

// ---- Files.
bool read_file(const char* path, std::vector<uint8_t>& out) {
    FILE* f = std::fopen(path, "rb");
    if (!f) return false;
    uint8_t buf[65536];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.insert(out.end(), buf, buf + n);
    std::fclose(f);
    return true;
}

bool read_config(const char* path, Config& c) {
    FILE* f = std::fopen(path, "r");
    if (!f) return false;
    char key[64];
    uint64_t v;
    while (std::fscanf(f, "%63s %" SCNu64, key, &v) == 2) {
        std::string k(key);
        if (k == "read_latency") c.read_latency = v;
        else if (k == "write_latency") c.write_latency = v;
        else if (k == "interval") c.interval = v;
        else if (k == "mem_bytes") c.mem_bytes = v;
        else if (k == "slverr_lo") c.slverr_lo = v;
        else if (k == "slverr_hi") c.slverr_hi = v;
        else if (k == "max_cycles") c.max_cycles = v;
        else if (k == "reset_cycles") c.reset_cycles = v;
        else if (k == "trace") c.trace = v;
        else if (k == "seed") c.stalls.seed = v;
        else if (k.rfind("stall", 0) == 0 && k.size() == 6 && k[5] >= '0' && k[5] < '0' + CHANNELS) c.stalls.percent[k[5] - '0'] = v;
        else {
            std::fprintf(stderr, "unknown config key %s\n", key);
            std::fclose(f);
            return false;
        }
    }
    std::fclose(f);
    return true;
}

struct Command {
    uint64_t addr, beats;
};

}  // namespace

// The engine harness (hdl/src/cosim/harness.cpp) includes this file for its DRAM slave only.
#ifndef SYSTOLE_DRAM_ONLY
int main(int argc, char** argv) {
    if (argc != 10) {
        std::fprintf(stderr, "usage: sim CONFIG COMMANDS MEM_IN STREAM_IN STRB_IN MEM_OUT RDATA_OUT EVENTS_OUT TRACE_OUT\n");
        return 2;
    }
    Config cfg;
    if (!read_config(argv[1], cfg)) {
        std::fprintf(stderr, "bad config %s\n", argv[1]);
        return 2;
    }
    std::vector<Command> reads, writes;
    {
        FILE* f = std::fopen(argv[2], "r");
        if (!f) { std::perror(argv[2]); return 2; }
        char kind[4];
        uint64_t addr, beats;
        while (std::fscanf(f, "%3s %" SCNx64 " %" SCNu64, kind, &addr, &beats) == 3) {
            (kind[0] == 'R' ? reads : writes).push_back(Command{addr, beats});
        }
        std::fclose(f);
    }
    std::vector<uint8_t> mem, stream, strobes;
    if (!read_file(argv[3], mem) || !read_file(argv[4], stream) || !read_file(argv[5], strobes)) {
        std::fprintf(stderr, "cannot read the memory image or the write stream\n");
        return 2;
    }
    if (mem.size() != cfg.mem_bytes) {
        std::fprintf(stderr, "memory image has %zu bytes, config says %" PRIu64 "\n", mem.size(), cfg.mem_bytes);
        return 2;
    }
    FILE* rdata = std::fopen(argv[7], "wb");
    FILE* events = std::fopen(argv[8], "w");
    FILE* trace = std::fopen(argv[9], "w");
    if (!rdata || !events || !trace) { std::perror("open outputs"); return 2; }

    VerilatedContext ctx;
    Dut dut{&ctx};
    Dram dram(cfg, std::move(mem), events);

    const uint64_t stream_beats = stream.size() / BEAT_BYTES;
    std::size_t rd_next = 0, wr_next = 0;
    bool rd_offer = false, wr_offer = false, in_offer = false;
    uint64_t stream_pos = 0;
    struct Open { std::size_t cmd; uint64_t left; };
    std::deque<Open> rd_open;          // accepted nonzero reads, beats not yet delivered
    std::deque<std::size_t> wr_open;   // accepted writes, done not yet seen
    std::vector<uint8_t> beat(BEAT_BYTES);
    uint64_t quiet = 0;
    bool finished = false;

    dut.clock = 0;
    dut.eval();
    uint64_t e = 1;
    for (; e <= cfg.max_cycles; ++e) {
        const bool in_reset = e <= cfg.reset_cycles;
        dut.reset = in_reset;
        Slave s = dram.outputs();
        dut.m_axi_arready = s.arready;
        dut.m_axi_rvalid = s.rvalid;
        if (s.rvalid) put(dut.m_axi_rdata, s.rdata.data());
        dut.m_axi_rresp = s.rresp;
        dut.m_axi_rlast = s.rlast;
        dut.m_axi_awready = s.awready;
        dut.m_axi_wready = s.wready;
        dut.m_axi_bvalid = s.bvalid;
        dut.m_axi_bresp = s.bresp;

        // Sources offer when their stall pattern allows and then hold until taken (valid/ready).
        if (!in_reset && !rd_offer && rd_next < reads.size() && !cfg.stalls.hit(READ_COMMAND, e)) rd_offer = true;
        if (!in_reset && !wr_offer && wr_next < writes.size() && !cfg.stalls.hit(WRITE_COMMAND, e)) wr_offer = true;
        if (!in_reset && !in_offer && stream_pos < stream_beats && !cfg.stalls.hit(PRODUCER, e)) in_offer = true;
        dut.rd_cmd_valid = rd_offer;
        dut.rd_cmd_addr = rd_offer ? reads[rd_next].addr : 0;
        dut.rd_cmd_beats = rd_offer ? reads[rd_next].beats : 0;
        dut.wr_cmd_valid = wr_offer;
        dut.wr_cmd_addr = wr_offer ? writes[wr_next].addr : 0;
        dut.wr_cmd_beats = wr_offer ? writes[wr_next].beats : 0;
        dut.wr_in_valid = in_offer;
        if (in_offer) put(dut.wr_in_data, &stream[stream_pos * BEAT_BYTES]);
        uint64_t strb = STRB_ALL;
        if (in_offer && (stream_pos + 1) * 8 <= strobes.size()) std::memcpy(&strb, &strobes[stream_pos * 8], 8);
        dut.wr_in_strb = in_offer ? strb : 0;
        dut.rd_out_ready = !cfg.stalls.hit(CONSUMER, e);

        dut.clock = 0;
        dut.eval();

        Master m;
        m.ar = Addr{dut.m_axi_arvalid != 0, dut.m_axi_araddr, dut.m_axi_arlen, dut.m_axi_arsize, dut.m_axi_arburst};
        m.rready = dut.m_axi_rready;
        m.aw = Addr{dut.m_axi_awvalid != 0, dut.m_axi_awaddr, dut.m_axi_awlen, dut.m_axi_awsize, dut.m_axi_awburst};
        m.wvalid = dut.m_axi_wvalid;
        m.wdata.assign(BEAT_BYTES, 0);
        get(dut.m_axi_wdata, m.wdata.data());
        m.wlast = dut.m_axi_wlast;
        m.wstrb = static_cast<uint64_t>(dut.m_axi_wstrb);
        m.bready = dut.m_axi_bready;
        if (!m.ar.valid) m.ar = Addr{};
        if (!m.aw.valid) m.aw = Addr{};
        if (!m.wvalid) {
            m.wdata.assign(BEAT_BYTES, 0);
            m.wlast = false;
            m.wstrb = 0;
        }

        if (cfg.trace) {
            std::fprintf(trace,
                         "%" PRIu64 " %d %" PRIx64 " %x %x %x %d %d %" PRIx64 " %x %x %x %d %d %" PRIx64 " %d | %d %d %d %x %" PRIx64
                         " %d %d %d %x\n",
                         e, m.ar.valid, m.ar.addr, m.ar.len, m.ar.size, m.ar.burst, m.rready, m.aw.valid, m.aw.addr,
                         m.aw.len, m.aw.size, m.aw.burst, m.wvalid, m.wlast, m.wstrb, m.bready, s.arready, s.rvalid,
                         s.rlast, s.rresp, s.rvalid ? fold(s.rdata) : 0, s.awready, s.wready, s.bvalid, s.bresp);
        }

        // Handshakes at this edge, from the values just before it.
        const bool rd_accept = dut.rd_cmd_valid && dut.rd_cmd_ready;
        const bool wr_accept = dut.wr_cmd_valid && dut.wr_cmd_ready;
        const bool out_take = dut.rd_out_valid && dut.rd_out_ready;
        const bool in_take = in_offer && dut.wr_in_ready;
        const bool rd_error = dut.rd_error;
        const bool wr_error = dut.wr_error;
        const bool out_last = dut.rd_out_last;
        if (out_take) get(dut.rd_out_data, beat.data());
        // `done` is a registered pulse: visible now, it marks the previous edge.
        if (dut.wr_done && !in_reset) {
            if (wr_open.empty()) {
                std::fprintf(events, "X done pulse with no write command open at edge %" PRIu64 "\n", e - 1);
            } else {
                std::fprintf(events, "WE %zu %" PRIu64 " %d\n", wr_open.front(), e - 1, wr_error ? 1 : 0);
                wr_open.pop_front();
            }
        }

        dut.clock = 1;
        dut.eval();
        dram.clock(m);

        if (rd_accept) {
            std::fprintf(events, "RA %zu %" PRIu64 "\n", rd_next, e);
            if (reads[rd_next].beats > 0) rd_open.push_back(Open{rd_next, reads[rd_next].beats});
            rd_offer = false;
            rd_next += 1;
        }
        if (wr_accept) {
            std::fprintf(events, "WA %zu %" PRIu64 "\n", wr_next, e);
            wr_open.push_back(wr_next);
            wr_offer = false;
            wr_next += 1;
        }
        if (out_take) {
            std::fwrite(beat.data(), 1, BEAT_BYTES, rdata);
            if (rd_open.empty()) {
                std::fprintf(events, "X read beat with no read command open at edge %" PRIu64 "\n", e);
            } else {
                Open& o = rd_open.front();
                o.left -= 1;
                if (out_last != (o.left == 0)) {
                    std::fprintf(events, "X out_last=%d with %" PRIu64 " beats left of read %zu at edge %" PRIu64 "\n",
                                 out_last ? 1 : 0, o.left, o.cmd, e);
                }
                if (o.left == 0) {
                    std::fprintf(events, "RE %zu %" PRIu64 " %d\n", o.cmd, e, rd_error ? 1 : 0);
                    rd_open.pop_front();
                }
            }
        }
        if (in_take) {
            in_offer = false;
            stream_pos += 1;
        }

        // Done when every command completed and nothing moved for a while (stray traffic shows).
        const bool all_done = rd_next == reads.size() && wr_next == writes.size() && rd_open.empty() &&
                              wr_open.empty() && dram.idle() && !in_reset;
        quiet = all_done ? quiet + 1 : 0;
        if (quiet > 16) {
            finished = true;
            break;
        }
    }
    std::fprintf(events, finished ? "END %" PRIu64 "\n" : "TIMEOUT %" PRIu64 "\n", e);
    if (stream_pos != stream_beats) {
        std::fprintf(events, "X the engine took %" PRIu64 " of %" PRIu64 " stream beats\n", stream_pos, stream_beats);
    }
    dut.final();
    std::fclose(rdata);
    std::fclose(events);
    std::fclose(trace);
    FILE* out = std::fopen(argv[6], "wb");
    if (!out) { std::perror(argv[6]); return 2; }
    std::fwrite(dram.memory().data(), 1, dram.memory().size(), out);
    std::fclose(out);
    return 0;
}
#endif  // SYSTOLE_DRAM_ONLY
