// Co-simulation harness of the post-op unit (systole-hdl, blocks/post/cosim.rs builds it).
//
// The DUT is `blocks::post::PostTop` (PostUnit on a Dma). This file plays the DRAM (a copy of
// blocks/dma/cosim.cpp's slave, which mirrors `axi_timing::dram::DramModel`, extended with byte
// strobes: only strobed bytes are written) and the sequencer's side of the unit: descriptor
// fields held from reset, one `start` pulse, then it waits for `done` or `error`.
//
// usage: sim CONFIG MEM_IN MEM_OUT EVENTS_OUT
// CONFIG: `key value` lines (DRAM timing, `start_edge`, `max_cycles`, `reset_cycles`) and
// `field NAME VALUE` lines (descriptor ports). Events: `START e`, `DONE e`, `ERROR e code`,
// `STALL n` (edges with `stall` high from start to done), `V e message`, `END e` / `TIMEOUT e`.
#include "dut.h"
#include "verilated.h"

#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
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
    uint64_t max_cycles = 1000000, reset_cycles = 2, trace = 0, start_edge = 4;
    Stalls stalls;
    std::map<std::string, uint64_t> fields;
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
            // Byte strobes: only the strobed bytes of the beat are written.
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
    while (std::fscanf(f, "%63s", key) == 1) {
        std::string k(key);
        if (k == "field") {
            char name[64];
            if (std::fscanf(f, "%63s %" SCNu64, name, &v) != 2) break;
            c.fields[name] = v;
            continue;
        }
        if (std::fscanf(f, "%" SCNu64, &v) != 1) break;
        if (k == "read_latency") c.read_latency = v;
        else if (k == "write_latency") c.write_latency = v;
        else if (k == "interval") c.interval = v;
        else if (k == "mem_bytes") c.mem_bytes = v;
        else if (k == "slverr_lo") c.slverr_lo = v;
        else if (k == "slverr_hi") c.slverr_hi = v;
        else if (k == "max_cycles") c.max_cycles = v;
        else if (k == "reset_cycles") c.reset_cycles = v;
        else if (k == "trace") c.trace = v;
        else if (k == "start_edge") c.start_edge = v;
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

}  // namespace

int main(int argc, char** argv) {
    if (argc != 5) {
        std::fprintf(stderr, "usage: sim CONFIG MEM_IN MEM_OUT EVENTS_OUT\n");
        return 2;
    }
    Config cfg;
    if (!read_config(argv[1], cfg)) {
        std::fprintf(stderr, "bad config %s\n", argv[1]);
        return 2;
    }
    std::vector<uint8_t> mem;
    if (!read_file(argv[2], mem) || mem.size() != cfg.mem_bytes) {
        std::fprintf(stderr, "memory image missing or not %" PRIu64 " bytes\n", cfg.mem_bytes);
        return 2;
    }
    FILE* events = std::fopen(argv[4], "w");
    if (!events) { std::perror(argv[4]); return 2; }

    VerilatedContext ctx;
    Dut dut{&ctx};
    Dram dram(cfg, std::move(mem), events);
    if (!set_fields(dut, cfg.fields)) {
        std::fprintf(stderr, "a descriptor field is missing from the config\n");
        return 2;
    }
    uint64_t stall = 0, quiet = 0;
    bool started = false, finished = false, ended = false;

    dut.clock = 0;
    dut.eval();
    uint64_t e = 1;
    for (; e <= cfg.max_cycles; ++e) {
        const bool in_reset = e <= cfg.reset_cycles;
        dut.reset = in_reset;
        dut.start = e == cfg.start_edge;
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
        m.bready = dut.m_axi_bready;
        if (!m.ar.valid) m.ar = Addr{};
        if (!m.aw.valid) m.aw = Addr{};
        m.wstrb = static_cast<uint64_t>(dut.m_axi_wstrb);
        if (!m.wvalid) {
            m.wdata.assign(BEAT_BYTES, 0);
            m.wlast = false;
            m.wstrb = 0;
        }
        if (e == cfg.start_edge) {
            started = true;
            std::fprintf(events, "START %" PRIu64 "\n", e);
        }
        if (started && !ended) {
            if (dut.stall) stall += 1;
            if (dut.done) {
                std::fprintf(events, "DONE %" PRIu64 "\n", e);
                ended = true;
            }
            if (dut.error) {
                std::fprintf(events, "ERROR %" PRIu64 " %u\n", e, static_cast<unsigned>(dut.error_code));
                ended = true;
            }
            if (ended) std::fprintf(events, "STALL %" PRIu64 "\n", stall);
        }

        dut.clock = 1;
        dut.eval();
        dram.clock(m);

        quiet = ended && dram.idle() ? quiet + 1 : 0;
        if (quiet > 16) {
            finished = true;
            break;
        }
    }
    std::fprintf(events, finished ? "END %" PRIu64 "\n" : "TIMEOUT %" PRIu64 "\n", e);
    dut.final();
    std::fclose(events);
    FILE* out = std::fopen(argv[3], "wb");
    if (!out) { std::perror(argv[3]); return 2; }
    std::fwrite(dram.memory().data(), 1, dram.memory().size(), out);
    std::fclose(out);
    return 0;
}
