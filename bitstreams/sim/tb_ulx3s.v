// Testbench of the ULX3S board top with a real generated engine (iverilog; flows' board test).
// A host model speaks the bridge protocol over the UART pins: reads the engine's ID, writes and
// reads back a register and device-memory words, then runs a one-descriptor program (END) that
// the engine fetches by DMA from the block RAM, and checks STATUS.DONE and the perf record the
// engine writes back. Expected values are those of REGISTERS.md / DESCRIPTOR.md.
// Prints "PASS" or "FAIL: ..." and finishes.

`timescale 1ns / 1ps

module tb_ulx3s;
    localparam integer BIT = `UART_CLKS_PER_BIT; // 8 here (compiled with -DUART_CLKS_PER_BIT=8): 27x faster than the board

    reg        clk = 1'b0;
    reg        txd = 1'b1;                 // host -> board
    wire       rxd;                        // board -> host
    wire [7:0] led;
    reg  [0:0] btn = 1'b1;
    always #20 clk = ~clk;

    systole_ulx3s dut (.clk_25mhz(clk), .btn(btn), .ftdi_txd(txd), .ftdi_rxd(rxd), .led(led));

    integer errors = 0;

    task send_byte(input [7:0] b);
        integer i;
        begin
            txd = 1'b0;
            repeat (BIT) @(posedge clk);
            for (i = 0; i < 8; i = i + 1) begin
                txd = b[i];
                repeat (BIT) @(posedge clk);
            end
            txd = 1'b1;                     // the receiver samples mid stop bit and may answer at once
            repeat (BIT / 4) @(posedge clk);
        end
    endtask

    task recv_byte(output [7:0] b);
        integer i;
        begin
            @(negedge rxd);
            repeat (BIT / 2) @(posedge clk);
            for (i = 0; i < 8; i = i + 1) begin
                repeat (BIT) @(posedge clk);
                b[i] = rxd;
            end
            repeat (BIT) @(posedge clk);
            if (rxd !== 1'b1) begin
                $display("FAIL: no stop bit");
                errors = errors + 1;
            end
        end
    endtask

    task send_word(input [31:0] w);
        begin
            send_byte(w[7:0]); send_byte(w[15:8]); send_byte(w[23:16]); send_byte(w[31:24]);
        end
    endtask

    task recv_word(output [31:0] w);
        reg [7:0] b0, b1, b2, b3;
        begin
            recv_byte(b0); recv_byte(b1); recv_byte(b2); recv_byte(b3);
            w = {b3, b2, b1, b0};
        end
    endtask

    task expect_byte(input [7:0] want, input [8*24-1:0] what);
        reg [7:0] got;
        begin
            recv_byte(got);
            if (got !== want) begin
                $display("FAIL: %0s: got %02x, want %02x", what, got, want);
                errors = errors + 1;
            end
        end
    endtask

    // Command helpers: 'R'/'r' reads (value + status byte), 'W'/'w' writes (status byte).
    task read_cmd(input [7:0] cmd, input [31:0] addr, output [31:0] value);
        begin
            send_byte(cmd); send_word(addr);
            recv_word(value);
            expect_byte(8'h00, "read status");
        end
    endtask

    task write_cmd(input [7:0] cmd, input [31:0] addr, input [31:0] value);
        begin
            send_byte(cmd); send_word(addr); send_word(value);
            expect_byte(8'h00, "write status");
        end
    endtask

    task expect_read(input [7:0] cmd, input [31:0] addr, input [31:0] want, input [8*24-1:0] what);
        reg [31:0] got;
        begin
            read_cmd(cmd, addr, got);
            if (got !== want) begin
                $display("FAIL: %0s: got %08x, want %08x", what, got, want);
                errors = errors + 1;
            end
        end
    endtask

    localparam [31:0] MAGIC = 32'h4c445343;                  // DESCRIPTOR_MAGIC
    localparam [31:0] END_WORD1 = 32'h00000f01;              // OPCODE END (15) << 8 | VERSION 1
    localparam [31:0] PROGRAM = 32'h00000100;                // 64-byte aligned
    reg [31:0] value;
    integer i;
    integer polls;

    initial begin
        // Power-on reset of the board top: 2^16 cycles.
        repeat (70000) @(posedge clk);

        $display("reset released at %0t ns", $time);
        expect_read("R", 32'h000, 32'h53595354, "ID");
        $display("ID read at %0t ns", $time);
        write_cmd("W", 32'h020, 32'h00001240);               // PROGRAM_BASE_LO (RW)
        expect_read("R", 32'h020, 32'h00001240, "PROGRAM_BASE_LO");

        write_cmd("w", 32'h2000, 32'hdeadbeef);
        write_cmd("w", 32'h2004, 32'h01234567);
        expect_read("r", 32'h2000, 32'hdeadbeef, "memory word 0");
        expect_read("r", 32'h2004, 32'h01234567, "memory word 1");

        send_byte("x");                                      // not a command
        expect_byte(8'hee, "unknown command");

        // A program of one END descriptor: magic, opcode, zeros, checksum (words 0..59 sum to 0).
        for (i = 0; i < 64; i = i + 1) write_cmd("w", PROGRAM + 4 * i, 32'd0);
        write_cmd("w", PROGRAM, MAGIC);
        write_cmd("w", PROGRAM + 4, END_WORD1);
        write_cmd("w", PROGRAM + 4 * 59, 32'd0 - MAGIC - END_WORD1);
        write_cmd("W", 32'h020, PROGRAM);                    // PROGRAM_BASE_LO
        write_cmd("W", 32'h028, 32'd1);                      // PROGRAM_COUNT
        write_cmd("W", 32'h010, 32'd1);                      // CONTROL.START
        polls = 0;
        read_cmd("R", 32'h014, value);                       // STATUS
        while (value[0] && polls < 20) begin
            read_cmd("R", 32'h014, value);
            polls = polls + 1;
        end
        if (value[2:0] !== 3'b010) begin
            $display("FAIL: STATUS after the END program = %08x (want DONE only)", value);
            errors = errors + 1;
        end
        // The sequencer wrote the END descriptor's perf record (words 60, 61) into the block RAM.
        read_cmd("r", PROGRAM + 4 * 60, value);
        if (value === 32'd0 || value === 32'hxxxxxxxx) begin
            $display("FAIL: the END descriptor's PERF_CYCLES_LO was not written back (%08x)", value);
            errors = errors + 1;
        end
        if (led[1] !== 1'b0) begin
            $display("FAIL: irq raised with IRQ_ENABLE clear");
            errors = errors + 1;
        end
        if (errors == 0) $display("PASS");
        $finish;
    end

    initial begin
        #400000000;                                          // 400 ms of simulated time
        $display("FAIL: timeout");
        $finish;
    end
endmodule
