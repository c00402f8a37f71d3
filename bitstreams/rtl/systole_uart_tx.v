// 8N1 UART transmitter for the board wrappers (bitstreams/README.md).
// CLKS_PER_BIT = clock frequency / baud rate (25 MHz / 115200 = 217 on the ULX3S).

`default_nettype none

module systole_uart_tx #(
    parameter [15:0] CLKS_PER_BIT = 16'd217
) (
    input  wire       clk,
    input  wire       rst,
    input  wire       valid,   // send `data` when `ready`
    input  wire [7:0] data,
    output wire       ready,
    output reg        tx = 1'b1
);
    reg [9:0]  shift = 10'h3ff; // stop bit, data (LSB first), start bit
    reg [3:0]  left  = 4'd0;    // bits still to start + 1 (the last step ends the stop bit)
    reg [15:0] count = 16'd0;

    assign ready = (left == 4'd0);

    always @(posedge clk) begin
        if (rst) begin
            tx    <= 1'b1;
            left  <= 4'd0;
            count <= 16'd0;
            shift <= 10'h3ff;
        end else if (left == 4'd0) begin
            if (valid) begin
                shift <= {1'b1, data, 1'b0};
                left  <= 4'd11;
                count <= 16'd0;
            end
        end else if (count != 16'd0) begin
            count <= count - 16'd1;
        end else begin
            tx    <= shift[0];
            shift <= {1'b1, shift[9:1]};
            left  <= left - 4'd1;
            count <= CLKS_PER_BIT - 16'd1;
        end
    end
endmodule

`default_nettype wire
