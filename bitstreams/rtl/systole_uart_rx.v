// 8N1 UART receiver for the board wrappers (bitstreams/README.md).
// CLKS_PER_BIT = clock frequency / baud rate (25 MHz / 115200 = 217 on the ULX3S).

`default_nettype none

module systole_uart_rx #(
    parameter [15:0] CLKS_PER_BIT = 16'd217
) (
    input  wire       clk,
    input  wire       rst,
    input  wire       rx,
    output reg        valid,   // one-cycle pulse: `data` holds a received byte
    output reg  [7:0] data
);
    localparam [15:0] HALF = {1'b0, CLKS_PER_BIT[15:1]};
    reg [1:0]  sync = 2'b11;   // two-FF synchroniser of the asynchronous input
    reg        busy = 1'b0;
    reg [3:0]  bitn = 4'd0;    // 0: start bit, 1..8: data bits, 9: stop bit
    reg [15:0] count = 16'd0;
    reg [7:0]  shift = 8'd0;

    always @(posedge clk) begin
        sync  <= {sync[0], rx};
        valid <= 1'b0;
        if (rst) begin
            busy  <= 1'b0;
            bitn  <= 4'd0;
            count <= 16'd0;
        end else if (!busy) begin
            if (!sync[1]) begin            // falling edge: a start bit; sample mid-bit from now on
                busy  <= 1'b1;
                bitn  <= 4'd0;
                count <= HALF;
            end
        end else if (count != 16'd0) begin
            count <= count - 16'd1;
        end else begin
            count <= CLKS_PER_BIT - 16'd1;
            if (bitn == 4'd0) begin
                if (sync[1]) busy <= 1'b0; // the start bit did not last: a glitch
                bitn <= 4'd1;
            end else if (bitn != 4'd9) begin
                shift <= {sync[1], shift[7:1]}; // LSB first
                bitn  <= bitn + 4'd1;
            end else begin
                busy <= 1'b0;
                if (sync[1]) begin         // a valid stop bit; a framing error drops the byte
                    valid <= 1'b1;
                    data  <= shift;
                end
            end
        end
    end
endmodule

`default_nettype wire
