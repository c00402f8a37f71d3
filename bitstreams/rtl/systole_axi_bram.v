// On-chip device memory for the board wrappers: an AXI4 slave (the engine's DMA master) and a
// 32-bit word port (the UART bridge), sharing one single-port block RAM.
//
// * One burst at a time, INCR bursts, OKAY responses; a read beat every three cycles, a write beat every cycle.
// * Addresses wrap modulo MEM_BYTES (pack images with --dram-base 0 and at most MEM_BYTES).
// * The word port is served only between bursts (the host touches memory while the engine is idle).

`default_nettype none

module systole_axi_bram #(
    parameter integer DATA_BITS = 64,
    parameter integer MEM_BYTES = 65536
) (
    input  wire                   clk,
    input  wire                   rst,
    // AXI4 slave (read and write channels of the engine's m_axi port)
    input  wire                   s_arvalid,
    output reg                    s_arready,
    // Addresses wrap modulo MEM_BYTES and beats are full width: the bits above the memory and
    // below the word are unused by design.
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire [31:0]            s_araddr,
    input  wire [7:0]             s_arlen,
    output reg                    s_rvalid,
    input  wire                   s_rready,
    output reg  [DATA_BITS-1:0]   s_rdata,
    output wire [1:0]             s_rresp,
    output reg                    s_rlast,
    input  wire                   s_awvalid,
    output reg                    s_awready,
    input  wire [31:0]            s_awaddr,
    input  wire [7:0]             s_awlen,
    input  wire                   s_wvalid,
    output reg                    s_wready,
    input  wire [DATA_BITS-1:0]   s_wdata,
    input  wire [DATA_BITS/8-1:0] s_wstrb,
    input  wire                   s_wlast,
    output reg                    s_bvalid,
    input  wire                   s_bready,
    output wire [1:0]             s_bresp,
    // 32-bit word port
    input  wire                   mem_req,
    input  wire                   mem_we,
    input  wire [31:0]            mem_addr,
    /* verilator lint_on UNUSEDSIGNAL */
    input  wire [31:0]            mem_wdata,
    output reg                    mem_ack,
    output reg  [31:0]            mem_rdata
);
    localparam integer BYTES = DATA_BITS / 8;
    localparam integer WORDS = MEM_BYTES / BYTES;
    localparam integer AW = $clog2(WORDS);
    localparam integer LANE_BITS = $clog2(BYTES);     // byte offset bits of a memory word
    localparam integer LANES32 = DATA_BITS / 32;       // 32-bit lanes of a memory word (at most 32)
    localparam [4:0] LANE_MASK = LANES32[4:0] - 5'd1;

    localparam [2:0] S_IDLE = 3'd0, S_RADDR = 3'd1, S_RDATA = 3'd2, S_WRITE = 3'd3, S_BRESP = 3'd4,
                     S_HOST = 3'd5, S_HOSTR = 3'd6;

    reg [DATA_BITS-1:0] mem [0:WORDS-1];

    reg [2:0]           state = S_IDLE;
    reg [AW-1:0]        word = {AW{1'b0}};     // current burst address (memory words)
    reg [7:0]           left = 8'd0;           // beats after the current one
    // The single RAM port: address, byte write enables, write data, registered read data.
    reg [AW-1:0]        ram_addr;
    reg [BYTES-1:0]     ram_we;
    reg [DATA_BITS-1:0] ram_wdata;
    reg [DATA_BITS-1:0] ram_q;
    reg [31:0]          host_lane_sel;         // which 32-bit lane the word port addresses (one-hot)

    assign s_rresp = 2'b00;
    assign s_bresp = 2'b00;

    integer i;
    always @(posedge clk) begin
        for (i = 0; i < BYTES; i = i + 1)
            if (ram_we[i]) mem[ram_addr][8*i +: 8] <= ram_wdata[8*i +: 8];
        ram_q <= mem[ram_addr];
    end

    // The RAM port is driven combinationally from the state (one access per cycle).
    integer l;
    always @(*) begin
        ram_addr  = word;
        ram_we    = {BYTES{1'b0}};
        ram_wdata = s_wdata;
        if (state == S_WRITE && s_wvalid) ram_we = s_wstrb;
        if (state == S_HOST) begin
            ram_addr = mem_addr[LANE_BITS +: AW];
            for (l = 0; l < LANES32; l = l + 1) begin
                ram_wdata[32*l +: 32] = mem_wdata;
                if (mem_we && host_lane_sel[l]) ram_we[4*l +: 4] = 4'hf;
            end
        end
    end

    integer k;
    always @(posedge clk) begin
        s_arready <= 1'b0;
        s_awready <= 1'b0;
        mem_ack   <= 1'b0;
        if (rst) begin
            state    <= S_IDLE;
            s_rvalid <= 1'b0;
            s_wready <= 1'b0;
            s_bvalid <= 1'b0;
        end else begin
            case (state)
                S_IDLE: begin
                    host_lane_sel <= 32'd1 << (mem_addr[6:2] & LANE_MASK);
                    if (s_arvalid && !s_arready) begin
                        s_arready <= 1'b1;
                        word      <= s_araddr[LANE_BITS +: AW];
                        left      <= s_arlen;
                        state     <= S_RADDR;
                    end else if (s_awvalid && !s_awready) begin
                        s_awready <= 1'b1;
                        word      <= s_awaddr[LANE_BITS +: AW];
                        left      <= s_awlen;
                        s_wready  <= 1'b1;
                        state     <= S_WRITE;
                    end else if (mem_req && !mem_ack) begin
                        state <= S_HOST;
                    end
                end
                S_RADDR: state <= S_RDATA;           // the RAM reads `word` in this cycle (a beat takes 3 cycles)
                S_RDATA: begin
                    if (!s_rvalid) begin
                        s_rvalid <= 1'b1;
                        s_rdata  <= ram_q;
                        s_rlast  <= (left == 8'd0);
                    end else if (s_rready) begin
                        s_rvalid <= 1'b0;
                        if (s_rlast) begin
                            state <= S_IDLE;
                        end else begin
                            word  <= word + 1'b1;
                            left  <= left - 8'd1;
                            state <= S_RADDR;
                        end
                    end
                end
                S_WRITE: if (s_wvalid) begin          // the RAM writes this beat in this cycle
                    word <= word + 1'b1;
                    if (s_wlast || left == 8'd0) begin
                        s_wready <= 1'b0;
                        s_bvalid <= 1'b1;
                        state    <= S_BRESP;
                    end else begin
                        left <= left - 8'd1;
                    end
                end
                S_BRESP: if (s_bready) begin
                    s_bvalid <= 1'b0;
                    state    <= S_IDLE;
                end
                S_HOST: state <= S_HOSTR;            // the RAM reads or writes the word here
                S_HOSTR: begin
                    for (k = 0; k < LANES32; k = k + 1)
                        if (host_lane_sel[k]) mem_rdata <= ram_q[32*k +: 32];
                    mem_ack <= 1'b1;
                    state   <= S_IDLE;
                end
                default: state <= S_IDLE;
            endcase
        end
    end
endmodule

`default_nettype wire
