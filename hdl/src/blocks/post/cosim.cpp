// Co-simulation harness of the post-op unit (systole-hdl, blocks/post/cosim.rs builds it).
//
// The DUT is `blocks::post::PostTop` (PostUnit on a Dma). This file plays the sequencer's side of
// the unit: descriptor fields held from reset, one `start` pulse, then it waits for `done` or
// `error`. The DRAM is the DMA harness's slave (`dma_cosim.cpp` = blocks/dma/cosim.cpp, included
// without its `main`, as hdl/src/cosim/harness.cpp does): the line-by-line copy of
// `axi_timing::dram::DramModel`, byte strobes included (only strobed bytes are written).
//
// usage: sim CONFIG MEM_IN MEM_OUT EVENTS_OUT
// CONFIG: `key value` lines (DRAM timing, `start_edge`, `max_cycles`, `reset_cycles`) and
// `field NAME VALUE` lines (descriptor ports). Events: `START e`, `DONE e`, `ERROR e code`,
// `STALL n` (edges with `stall` high from start to done), `V e message`, `END e` / `TIMEOUT e`.
#define SYSTOLE_DRAM_ONLY
#include "dma_cosim.cpp"

#include <map>

namespace {

// The DMA harness's `Config` (DRAM, cycles) plus what drives the unit.
struct PostConfig {
    Config dram;
    uint64_t start_edge = 4;
    std::map<std::string, uint64_t> fields;
};

bool read_post_config(const char* path, PostConfig& pc) {
    Config& c = pc.dram;
    FILE* f = std::fopen(path, "r");
    if (!f) return false;
    char key[64];
    uint64_t v;
    while (std::fscanf(f, "%63s", key) == 1) {
        std::string k(key);
        if (k == "field") {
            char name[64];
            if (std::fscanf(f, "%63s %" SCNu64, name, &v) != 2) break;
            pc.fields[name] = v;
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
        else if (k == "start_edge") pc.start_edge = v;
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
    PostConfig post;
    if (!read_post_config(argv[1], post)) {
        std::fprintf(stderr, "bad config %s\n", argv[1]);
        return 2;
    }
    const Config& cfg = post.dram;
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
    if (!set_fields(dut, post.fields)) {
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
        dut.start = e == post.start_edge;
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
        if (e == post.start_edge) {
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
