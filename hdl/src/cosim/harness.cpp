// Persistent co-simulation of the whole engine top (systole-hdl, cosim/mod.rs builds and drives it).
//
// The DUT is `blocks::top::EngineTop`. Around it: the AXI4 DRAM slave of the DMA harness
// (`dma_cosim.cpp`, included without its `main`: one DRAM model, the line-by-line
// copy of `axi_timing::dram::DramModel`, with fixed latency / interval and no injected stalls) and
// an AXI4-Lite master. Commands arrive on stdin, one per line; each gets one reply line on stdout:
//   W addr data     -> OK resp           AXI4-Lite write (addr, data hex); runs until B
//   R addr          -> OK data resp      AXI4-Lite read; runs until R
//   MW addr hex     -> OK                backdoor write of device memory (no cycles)
//   MR addr len     -> OK hex            backdoor read (len decimal)
//   RUN n           -> OK irq cycles     up to n cycles, stopping early once `irq` is high
//   CYC             -> OK cycle          edges since the harness started
//   VIOL            -> OK count [first]  AXI rule violations the DRAM slave saw so far
//   QUIT            -> OK
// Errors reply `ERR message`. usage: sim MEM_BYTES READ_LATENCY WRITE_LATENCY INTERVAL [VCD]
#define SYSTOLE_DRAM_ONLY
#include "dma_cosim.cpp"

#if VM_TRACE
#include "verilated_vcd_c.h"
#endif

#include <iostream>
#include <sstream>

namespace {

struct Lite {
    bool awvalid = false, wvalid = false, bready = false, arvalid = false, rready = false;
    uint32_t awaddr = 0, wdata = 0, araddr = 0;
};

class Engine {
  public:
    Engine(const Config& cfg, FILE* viol, const char* vcd) : dram(cfg, std::vector<uint8_t>(cfg.mem_bytes, 0), viol) {
        dut.clock = 0;
        dut.reset = 1;
        dut.eval();
#if VM_TRACE
        if (vcd) {
            Verilated::traceEverOn(true);
            tfp = new VerilatedVcdC;
            dut.trace(tfp, 99);
            tfp->open(vcd);
        }
#else
        (void)vcd;
#endif
        for (int i = 0; i < 4; ++i) step();
        dut.reset = 0;
    }
    ~Engine() {
#if VM_TRACE
        if (tfp) {
            tfp->close();
            delete tfp;
        }
#endif
        dut.final();
    }

    uint64_t cycle = 0;
    bool irq() const { return dut.irq != 0; }
    std::vector<uint8_t>& memory() { return dram.memory_mut(); }

    // One rising edge; returns the AXI4-Lite handshakes that happened at it.
    struct Events {
        bool aw = false, w = false, b = false, ar = false, r = false;
        uint32_t rdata = 0;
        unsigned bresp = 0, rresp = 0;
    };
    Events step() {
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
        dut.s_axil_awvalid = lite.awvalid;
        dut.s_axil_awaddr = lite.awaddr;
        dut.s_axil_wvalid = lite.wvalid;
        dut.s_axil_wdata = lite.wdata;
        dut.s_axil_wstrb = 0xf;
        dut.s_axil_bready = lite.bready;
        dut.s_axil_arvalid = lite.arvalid;
        dut.s_axil_araddr = lite.araddr;
        dut.s_axil_rready = lite.rready;
        dut.clock = 0;
        dut.eval();
#if VM_TRACE
        if (tfp) tfp->dump(2 * cycle);
#endif

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

        Events ev;
        ev.aw = lite.awvalid && dut.s_axil_awready;
        ev.w = lite.wvalid && dut.s_axil_wready;
        ev.b = lite.bready && dut.s_axil_bvalid;
        ev.bresp = dut.s_axil_bresp;
        ev.ar = lite.arvalid && dut.s_axil_arready;
        ev.r = lite.rready && dut.s_axil_rvalid;
        ev.rdata = dut.s_axil_rdata;
        ev.rresp = dut.s_axil_rresp;

        dut.clock = 1;
        dut.eval();
#if VM_TRACE
        if (tfp) tfp->dump(2 * cycle + 1);
#endif
        dram.clock(m);
        cycle += 1;
        if (ev.aw) lite.awvalid = false;
        if (ev.w) lite.wvalid = false;
        if (ev.ar) lite.arvalid = false;
        return ev;
    }

    // AXI4-Lite write: AW and W offered together, B taken as soon as it comes.
    bool write(uint32_t addr, uint32_t data, unsigned& resp, uint64_t limit) {
        lite.awvalid = lite.wvalid = lite.bready = true;
        lite.awaddr = addr;
        lite.wdata = data;
        for (uint64_t i = 0; i < limit; ++i) {
            Events ev = step();
            if (ev.b) {
                lite.bready = false;
                resp = ev.bresp;
                return true;
            }
        }
        lite = Lite{};
        return false;
    }

    bool read(uint32_t addr, uint32_t& data, unsigned& resp, uint64_t limit) {
        lite.arvalid = lite.rready = true;
        lite.araddr = addr;
        for (uint64_t i = 0; i < limit; ++i) {
            Events ev = step();
            if (ev.r) {
                lite.rready = false;
                data = ev.rdata;
                resp = ev.rresp;
                return true;
            }
        }
        lite = Lite{};
        return false;
    }

  private:
    Dut dut;
    Dram dram;
    Lite lite;
#if VM_TRACE
    VerilatedVcdC* tfp = nullptr;
#endif
};

constexpr uint64_t HANDSHAKE_LIMIT = 1000;

}  // namespace

int main(int argc, char** argv) {
    if (argc < 5) {
        std::fprintf(stderr, "usage: sim MEM_BYTES READ_LATENCY WRITE_LATENCY INTERVAL [VCD]\n");
        return 2;
    }
    Config cfg;
    cfg.mem_bytes = std::strtoull(argv[1], nullptr, 0);
    cfg.read_latency = std::strtoull(argv[2], nullptr, 0);
    cfg.write_latency = std::strtoull(argv[3], nullptr, 0);
    cfg.interval = std::strtoull(argv[4], nullptr, 0);
    char* viol_text = nullptr;
    std::size_t viol_size = 0;
    FILE* viol = open_memstream(&viol_text, &viol_size);
    if (!viol) {
        std::perror("open_memstream");
        return 2;
    }
    Engine engine(cfg, viol, argc > 5 ? argv[5] : nullptr);

    std::string line;
    while (std::getline(std::cin, line)) {
        std::istringstream in(line);
        std::string cmd;
        in >> cmd;
        std::ostringstream out;
        if (cmd == "W") {
            uint32_t addr = 0, data = 0;
            unsigned resp = 0;
            in >> std::hex >> addr >> data;
            if (engine.write(addr, data, resp, HANDSHAKE_LIMIT)) out << "OK " << resp;
            else out << "ERR no write response within " << HANDSHAKE_LIMIT << " cycles";
        } else if (cmd == "R") {
            uint32_t addr = 0, data = 0;
            unsigned resp = 0;
            in >> std::hex >> addr;
            if (engine.read(addr, data, resp, HANDSHAKE_LIMIT)) out << "OK " << std::hex << data << std::dec << " " << resp;
            else out << "ERR no read response within " << HANDSHAKE_LIMIT << " cycles";
        } else if (cmd == "MW" || cmd == "MR") {
            uint64_t addr = 0, len = 0;
            std::string hex;
            in >> std::hex >> addr;
            if (cmd == "MW") in >> hex;
            else in >> std::dec >> len;
            if (cmd == "MW") len = hex.size() / 2;
            std::vector<uint8_t>& mem = engine.memory();
            if (addr > mem.size() || len > mem.size() - addr) {
                out << "ERR memory access outside " << mem.size() << " bytes";
            } else if (cmd == "MW") {
                for (uint64_t i = 0; i < len; ++i) mem[addr + i] = static_cast<uint8_t>(std::stoul(hex.substr(2 * i, 2), nullptr, 16));
                out << "OK";
            } else {
                static const char* digits = "0123456789abcdef";
                std::string text(2 * len, '0');
                for (uint64_t i = 0; i < len; ++i) {
                    text[2 * i] = digits[mem[addr + i] >> 4];
                    text[2 * i + 1] = digits[mem[addr + i] & 15];
                }
                out << "OK " << text;
            }
        } else if (cmd == "RUN") {
            uint64_t n = 0, ran = 0;
            in >> std::dec >> n;
            while (ran < n && !engine.irq()) {
                engine.step();
                ran += 1;
            }
            out << "OK " << (engine.irq() ? 1 : 0) << " " << ran;
        } else if (cmd == "CYC") {
            out << "OK " << engine.cycle;
        } else if (cmd == "VIOL") {
            std::fflush(viol);
            std::string text(viol_text ? viol_text : "", viol_size);
            std::size_t count = 0;
            for (char c : text) count += c == '\n';
            std::string first = text.substr(0, text.find('\n'));
            out << "OK " << count << " " << first;
        } else if (cmd == "QUIT") {
            std::cout << "OK" << std::endl;
            break;
        } else {
            out << "ERR unknown command " << cmd;
        }
        std::cout << out.str() << std::endl;
    }
    std::fclose(viol);
    std::free(viol_text);
    return 0;
}
