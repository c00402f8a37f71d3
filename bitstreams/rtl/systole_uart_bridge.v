// UART-to-AXI4-Lite bridge and device-memory port: the host side of the board wrappers.
//
// Protocol (host -> board; every address and word little-endian, 4 bytes):
//   'W' (0x57) ADDR DATA  engine register write (AXI4-Lite)   reply: 1 byte BRESP
//   'R' (0x52) ADDR       engine register read  (AXI4-Lite)   reply: DATA (4 bytes), 1 byte RRESP
//   'w' (0x77) ADDR DATA  device-memory word write            reply: 1 byte 0x00
//   'r' (0x72) ADDR       device-memory word read             reply: DATA (4 bytes), 1 byte 0x00
//   any other byte                                             reply: 1 byte 0xEE (resynchronise)
// ADDR of a memory access is a byte address; bits [1:0] are ignored (32-bit words).

`default_nettype none

module systole_uart_bridge #(
    parameter integer AXIL_ADDR_BITS = 8
) (
    input  wire                      clk,
    input  wire                      rst,
    // UART bytes
    input  wire                      rx_valid,
    input  wire [7:0]                rx_data,
    output reg                       tx_valid,
    output reg  [7:0]                tx_data,
    input  wire                      tx_ready,
    // AXI4-Lite master (the engine's register file)
    output reg                       m_awvalid,
    input  wire                      m_awready,
    output reg  [AXIL_ADDR_BITS-1:0] m_awaddr,
    output reg                       m_wvalid,
    input  wire                      m_wready,
    output reg  [31:0]               m_wdata,
    output wire [3:0]                m_wstrb,
    input  wire                      m_bvalid,
    output reg                       m_bready,
    input  wire [1:0]                m_bresp,
    output reg                       m_arvalid,
    input  wire                      m_arready,
    output reg  [AXIL_ADDR_BITS-1:0] m_araddr,
    input  wire                      m_rvalid,
    output reg                       m_rready,
    input  wire [31:0]               m_rdata,
    input  wire [1:0]                m_rresp,
    // device-memory port (served by systole_axi_bram)
    output reg                       mem_req,
    output reg                       mem_we,
    output reg  [31:0]               mem_addr,
    output reg  [31:0]               mem_wdata,
    input  wire                      mem_ack,   // one cycle; mem_rdata valid with it
    input  wire [31:0]               mem_rdata
);
    localparam [2:0] S_CMD = 3'd0, S_ADDR = 3'd1, S_DATA = 3'd2, S_EXEC = 3'd3, S_WAIT = 3'd4, S_REPLY = 3'd5;

    reg [2:0]  state = S_CMD;
    reg [7:0]  cmd = 8'd0;
    reg [31:0] addr = 32'd0;
    reg [31:0] wdata = 32'd0;
    reg [39:0] reply = 40'd0;    // bytes sent LSB first
    reg [2:0]  count = 3'd0;     // bytes still to receive or send

    assign m_wstrb = 4'hf;

    wire is_write = (cmd == 8'h57) || (cmd == 8'h77);
    wire is_known = (cmd == 8'h57) || (cmd == 8'h52) || (cmd == 8'h77) || (cmd == 8'h72);

    always @(posedge clk) begin
        tx_valid <= 1'b0;
        if (rst) begin
            state     <= S_CMD;
            m_awvalid <= 1'b0;
            m_wvalid  <= 1'b0;
            m_bready  <= 1'b0;
            m_arvalid <= 1'b0;
            m_rready  <= 1'b0;
            mem_req   <= 1'b0;
            mem_we    <= 1'b0;
        end else begin
            case (state)
                S_CMD: if (rx_valid) begin
                    cmd   <= rx_data;
                    count <= 3'd4;
                    state <= S_ADDR;
                end
                S_ADDR: if (!is_known) begin
                    reply <= {32'd0, 8'hEE};
                    count <= 3'd1;
                    state <= S_REPLY;
                end else if (rx_valid) begin
                    addr  <= {rx_data, addr[31:8]};
                    count <= count - 3'd1;
                    if (count == 3'd1) begin
                        count <= 3'd4;
                        state <= is_write ? S_DATA : S_EXEC;
                    end
                end
                S_DATA: if (rx_valid) begin
                    wdata <= {rx_data, wdata[31:8]};
                    count <= count - 3'd1;
                    if (count == 3'd1) state <= S_EXEC;
                end
                S_EXEC: begin
                    case (cmd)
                        8'h57: begin
                            m_awvalid <= 1'b1;
                            m_awaddr  <= addr[AXIL_ADDR_BITS-1:0];
                            m_wvalid  <= 1'b1;
                            m_wdata   <= wdata;
                            m_bready  <= 1'b1;
                        end
                        8'h52: begin
                            m_arvalid <= 1'b1;
                            m_araddr  <= addr[AXIL_ADDR_BITS-1:0];
                            m_rready  <= 1'b1;
                        end
                        default: begin
                            mem_req   <= 1'b1;
                            mem_we    <= (cmd == 8'h77);
                            mem_addr  <= addr;
                            mem_wdata <= wdata;
                        end
                    endcase
                    state <= S_WAIT;
                end
                S_WAIT: begin
                    // Each AXI handshake completes on its own (AW and W may be accepted apart).
                    if (m_awvalid && m_awready) m_awvalid <= 1'b0;
                    if (m_wvalid && m_wready) m_wvalid <= 1'b0;
                    if (m_arvalid && m_arready) m_arvalid <= 1'b0;
                    if (m_bready && m_bvalid) begin
                        m_bready <= 1'b0;
                        reply    <= {32'd0, 6'd0, m_bresp};
                        count    <= 3'd1;
                        state    <= S_REPLY;
                    end
                    if (m_rready && m_rvalid) begin
                        m_rready <= 1'b0;
                        reply    <= {6'd0, m_rresp, m_rdata};
                        count    <= 3'd5;
                        state    <= S_REPLY;
                    end
                    if (mem_req && mem_ack) begin
                        mem_req <= 1'b0;
                        mem_we  <= 1'b0;
                        reply   <= mem_we ? 40'd0 : {8'd0, mem_rdata};
                        count   <= mem_we ? 3'd1 : 3'd5;
                        state   <= S_REPLY;
                    end
                end
                S_REPLY: if (tx_ready && !tx_valid) begin
                    tx_valid <= 1'b1;
                    tx_data  <= reply[7:0];
                    reply    <= {8'd0, reply[39:8]};
                    count    <= count - 3'd1;
                    if (count == 3'd1) state <= S_CMD;
                end
                default: state <= S_CMD;
            endcase
        end
    end
endmodule

`default_nettype wire
