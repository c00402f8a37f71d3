// ULX3S (ECP5 LFE5U-85F) board top around a generated systole engine (bitstreams/README.md).
//
//   FTDI UART (115200 8N1) -> systole_uart_bridge -> engine s_axil (registers)
//                                                 -> systole_axi_bram word port (device memory)
//   engine m_axi (DMA) -> systole_axi_bram (MEM_BYTES of on-chip block RAM at address 0)
//   LEDs: 0 heartbeat (the bitstream runs), 1 engine irq, 2 UART receive activity, 3 in reset.
//   BTN0 (PWR, active low) resets the engine and the bridge.
//
// The engine's module name and port widths come from `systole synth` as defines:
// ENGINE_TOP, AXI_DATA_BITS (m_axi data), AXIL_ADDR_BITS (s_axil address), MEM_BYTES;
// UART_CLKS_PER_BIT (25 MHz / 115200 = 217) is only overridden by the testbench, to run faster.

`default_nettype none

`ifndef ENGINE_TOP
`define ENGINE_TOP engine
`endif
`ifndef AXI_DATA_BITS
`define AXI_DATA_BITS 64
`endif
`ifndef AXIL_ADDR_BITS
`define AXIL_ADDR_BITS 8
`endif
`ifndef UART_CLKS_PER_BIT
`define UART_CLKS_PER_BIT 16'd217
`endif
`ifndef MEM_BYTES
`define MEM_BYTES 65536
`endif

module systole_ulx3s (
    input  wire       clk_25mhz,
    input  wire [0:0] btn,        // BTN0 = PWR button, 0 when pressed
    input  wire       ftdi_txd,   // the FTDI transmits, the FPGA receives
    output wire       ftdi_rxd,   // the FPGA transmits
    output wire [7:0] led
);
    localparam integer DW = `AXI_DATA_BITS;
    localparam integer AB = `AXIL_ADDR_BITS;
    wire clk = clk_25mhz;

    // Reset: held for 2^16 cycles after configuration and while BTN0 is pressed.
    reg [16:0] por = 17'd0;
    always @(posedge clk) begin
        if (!btn[0]) por <= 17'd0;
        else if (!por[16]) por <= por + 17'd1;
    end
    wire rst = !por[16];

    // UART
    wire       rx_valid;
    wire [7:0] rx_data;
    wire       tx_valid;
    wire [7:0] tx_data;
    wire       tx_ready;
    systole_uart_rx #(.CLKS_PER_BIT(`UART_CLKS_PER_BIT)) uart_rx (
        .clk(clk), .rst(rst), .rx(ftdi_txd), .valid(rx_valid), .data(rx_data));
    systole_uart_tx #(.CLKS_PER_BIT(`UART_CLKS_PER_BIT)) uart_tx (
        .clk(clk), .rst(rst), .valid(tx_valid), .data(tx_data), .ready(tx_ready), .tx(ftdi_rxd));

    // AXI4-Lite: bridge -> engine registers
    wire          awvalid, awready, wvalid, wready, bvalid, bready, arvalid, arready, rvalid, rready;
    wire [AB-1:0] awaddr, araddr;
    wire [31:0]   wdata, rdata;
    wire [3:0]    wstrb;
    wire [1:0]    bresp, rresp;
    // Word port: bridge -> device memory
    wire          mem_req, mem_we, mem_ack;
    wire [31:0]   mem_addr, mem_wdata, mem_rdata;

    systole_uart_bridge #(.AXIL_ADDR_BITS(AB)) bridge (
        .clk(clk), .rst(rst),
        .rx_valid(rx_valid), .rx_data(rx_data), .tx_valid(tx_valid), .tx_data(tx_data), .tx_ready(tx_ready),
        .m_awvalid(awvalid), .m_awready(awready), .m_awaddr(awaddr),
        .m_wvalid(wvalid), .m_wready(wready), .m_wdata(wdata), .m_wstrb(wstrb),
        .m_bvalid(bvalid), .m_bready(bready), .m_bresp(bresp),
        .m_arvalid(arvalid), .m_arready(arready), .m_araddr(araddr),
        .m_rvalid(rvalid), .m_rready(rready), .m_rdata(rdata), .m_rresp(rresp),
        .mem_req(mem_req), .mem_we(mem_we), .mem_addr(mem_addr), .mem_wdata(mem_wdata),
        .mem_ack(mem_ack), .mem_rdata(mem_rdata));

    // AXI4: engine DMA -> device memory
    wire          m_arvalid, m_arready, m_rvalid, m_rready, m_rlast;
    wire          m_awvalid, m_awready, m_wvalid, m_wready, m_wlast, m_bvalid, m_bready;
    wire [31:0]   m_araddr, m_awaddr;
    wire [7:0]    m_arlen, m_awlen;
    wire [2:0]    m_arsize, m_awsize;     // full-width beats only (docs/ENGINE.md)
    wire [1:0]    m_arburst, m_awburst;   // INCR only
    wire [DW-1:0] m_rdata, m_wdata;
    wire [DW/8-1:0] m_wstrb;
    wire [1:0]    m_rresp, m_bresp;
    wire          irq;

    `ENGINE_TOP engine (
        .clock(clk), .reset(rst),
        .s_axil_awvalid(awvalid), .s_axil_awready(awready), .s_axil_awaddr(awaddr),
        .s_axil_wvalid(wvalid), .s_axil_wready(wready), .s_axil_wdata(wdata), .s_axil_wstrb(wstrb),
        .s_axil_bvalid(bvalid), .s_axil_bready(bready), .s_axil_bresp(bresp),
        .s_axil_arvalid(arvalid), .s_axil_arready(arready), .s_axil_araddr(araddr),
        .s_axil_rvalid(rvalid), .s_axil_rready(rready), .s_axil_rdata(rdata), .s_axil_rresp(rresp),
        .m_axi_arvalid(m_arvalid), .m_axi_arready(m_arready), .m_axi_araddr(m_araddr), .m_axi_arlen(m_arlen),
        .m_axi_arsize(m_arsize), .m_axi_arburst(m_arburst),
        .m_axi_rvalid(m_rvalid), .m_axi_rready(m_rready), .m_axi_rdata(m_rdata), .m_axi_rresp(m_rresp),
        .m_axi_rlast(m_rlast),
        .m_axi_awvalid(m_awvalid), .m_axi_awready(m_awready), .m_axi_awaddr(m_awaddr), .m_axi_awlen(m_awlen),
        .m_axi_awsize(m_awsize), .m_axi_awburst(m_awburst),
        .m_axi_wvalid(m_wvalid), .m_axi_wready(m_wready), .m_axi_wdata(m_wdata), .m_axi_wstrb(m_wstrb),
        .m_axi_wlast(m_wlast),
        .m_axi_bvalid(m_bvalid), .m_axi_bready(m_bready), .m_axi_bresp(m_bresp),
        .irq(irq));

    systole_axi_bram #(.DATA_BITS(DW), .MEM_BYTES(`MEM_BYTES)) memory (
        .clk(clk), .rst(rst),
        .s_arvalid(m_arvalid), .s_arready(m_arready), .s_araddr(m_araddr), .s_arlen(m_arlen),
        .s_rvalid(m_rvalid), .s_rready(m_rready), .s_rdata(m_rdata), .s_rresp(m_rresp), .s_rlast(m_rlast),
        .s_awvalid(m_awvalid), .s_awready(m_awready), .s_awaddr(m_awaddr), .s_awlen(m_awlen),
        .s_wvalid(m_wvalid), .s_wready(m_wready), .s_wdata(m_wdata), .s_wstrb(m_wstrb), .s_wlast(m_wlast),
        .s_bvalid(m_bvalid), .s_bready(m_bready), .s_bresp(m_bresp),
        .mem_req(mem_req), .mem_we(mem_we), .mem_addr(mem_addr), .mem_wdata(mem_wdata),
        .mem_ack(mem_ack), .mem_rdata(mem_rdata));

    // LEDs
    reg [24:0] beat = 25'd0;
    reg        rx_seen = 1'b0;
    always @(posedge clk) begin
        beat <= beat + 25'd1;
        if (rx_valid) rx_seen <= !rx_seen;
    end
    // The burst size and type are fixed by the engine; they drive no logic here.
    wire unused = &{1'b0, m_arsize, m_awsize, m_arburst, m_awburst};
    assign led = {4'd0, rst, rx_seen, irq, beat[24] ^ unused};
endmodule

`default_nettype wire
