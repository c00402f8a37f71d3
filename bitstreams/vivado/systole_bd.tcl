# Wraps a generated systole engine in a Vivado block design and builds a bitstream.
#
#   vivado -mode batch -source systole_bd.tcl -tclargs GEN_DIR PLATFORM [PART] [BOARD_PART]
#
# GEN_DIR   a `systole generate` output (arch.json, <name>.v)
# PLATFORM  zynq: Zynq-7000 PS; AXI-Lite from M_AXI_GP0 (registers at 0x43C00000), engine DMA
#                 to DDR through S_AXI_HP0, irq on IRQ_F2P[0]. Run with `systole run
#                 --device devmem:0x43C00000,udmabuf=...` (host/README.md).
#           xdma: PCIe card; XDMA's AXI-Lite master BAR (/dev/xdma0_user) to the registers, the
#                 engine DMA and XDMA's H2C/C2H to the card DDR (MIG from the board preset),
#                 irq on usr_irq_req[0]. Run with `systole run --device xdma:/dev/xdma0`.
# PART      default xc7z020clg400-1 (zynq) / xcku040-ffva1156-2-e (xdma, KCU105)
# BOARD_PART optional (e.g. tul.com.tw:pynq-z2:part0:1.0, xilinx.com:kcu105:part0:1.1): with it the
#           PS preset and the DDR pins come from the board files.
#
# The engine is synchronous to one clock (`clock`, 100 MHz here) with a synchronous active-high
# `reset`; its ports follow the AXI naming (s_axil_*, m_axi_*), so Vivado infers the two
# interfaces of the module reference. The script cannot run in systole's CI (no Vivado): the
# test suite checks it with tclsh only (tests/vivado_tcl.rs: syntax and the call sequence
# against recording stubs).

if {[llength $argv] < 2} {
    error "usage: vivado -mode batch -source systole_bd.tcl -tclargs GEN_DIR zynq|xdma \[PART\] \[BOARD_PART\]"
}
set gen_dir  [file normalize [lindex $argv 0]]
set platform [lindex $argv 1]
if {$platform ni {zynq xdma}} {
    error "PLATFORM must be zynq or xdma, not '$platform'"
}
set part [expr {[llength $argv] > 2 ? [lindex $argv 2] : ($platform eq "zynq" ? "xc7z020clg400-1" : "xcku040-ffva1156-2-e")}]
set board_part [expr {[llength $argv] > 3 ? [lindex $argv 3] : ""}]

# The top module is the model's name, recorded in arch.json as "name": "...".
set fh [open [file join $gen_dir arch.json] r]
set arch [read $fh]
close $fh
if {![regexp {"name"\s*:\s*"([A-Za-z0-9_]+)"} $arch -> top]} {
    error "$gen_dir/arch.json has no \"name\": is it a systole generate output?"
}

create_project -force systole_$platform [file join $gen_dir vivado_$platform] -part $part
if {$board_part ne ""} {
    set_property board_part $board_part [current_project]
}
add_files -norecurse [file join $gen_dir $top.v]
update_compile_order -fileset sources_1

create_bd_design system
set engine [create_bd_cell -type module -reference $top engine]
# Tell Vivado what the inferred interfaces are clocked and reset by.
set_property CONFIG.POLARITY ACTIVE_HIGH [get_bd_pins engine/reset]
set_property CONFIG.ASSOCIATED_BUSIF {s_axil:m_axi} [get_bd_pins engine/clock]
set_property CONFIG.ASSOCIATED_RESET {reset} [get_bd_pins engine/clock]

if {$platform eq "zynq"} {
    set ps [create_bd_cell -type ip -vlnv xilinx.com:ip:processing_system7:5.5 ps7]
    apply_bd_automation -rule xilinx.com:bd_rule:processing_system7 \
        -config [list make_external "FIXED_IO, DDR" apply_board_preset [expr {$board_part ne "" ? 1 : 0}]] $ps
    set_property -dict [list \
        CONFIG.PCW_USE_M_AXI_GP0 {1} \
        CONFIG.PCW_USE_S_AXI_HP0 {1} \
        CONFIG.PCW_S_AXI_HP0_DATA_WIDTH {64} \
        CONFIG.PCW_USE_FABRIC_INTERRUPT {1} \
        CONFIG.PCW_IRQ_F2P_INTR {1} \
        CONFIG.PCW_FPGA0_PERIPHERAL_FREQMHZ {100}] $ps
    # GP0 -> engine registers; engine DMA -> HP0 (DDR). The automation adds the interconnects,
    # the processor reset and the clock (FCLK_CLK0) for both.
    apply_bd_automation -rule xilinx.com:bd_rule:axi4 \
        -config {Master "/ps7/M_AXI_GP0" Clk "/ps7/FCLK_CLK0 (100 MHz)"} [get_bd_intf_pins engine/s_axil]
    apply_bd_automation -rule xilinx.com:bd_rule:axi4 \
        -config {Slave "/ps7/S_AXI_HP0" Clk "/ps7/FCLK_CLK0 (100 MHz)"} [get_bd_intf_pins engine/m_axi]
    connect_bd_net [get_bd_pins engine/irq] [get_bd_pins ps7/IRQ_F2P]
    assign_bd_address
    # The register window at GP0's usual base (the address `systole run --device devmem:` takes).
    set_property offset 0x43C00000 [get_bd_addr_segs {ps7/Data/SEG_engine_reg0}]
} else {
    set xdma [create_bd_cell -type ip -vlnv xilinx.com:ip:xdma:4.1 xdma]
    set_property -dict [list \
        CONFIG.mode_selection {Advanced} \
        CONFIG.pl_link_cap_max_link_width {X8} \
        CONFIG.axilite_master_en {true} \
        CONFIG.axilite_master_size {1} \
        CONFIG.xdma_num_usr_irq {1}] $xdma
    apply_bd_automation -rule xilinx.com:bd_rule:xdma -config {lane_width "X8" link_speed "8.0 GT/s (PCIe Gen3)" axi_clk "Maximum Data Width" axi_intf "AXI Memory Mapped" bar_size "Disable" bypass_size "Disable" c2h "1" h2c "1"} $xdma
    # Card DDR from the board preset (MIG); XDMA's H2C/C2H and the engine's DMA share it.
    set ddr [create_bd_cell -type ip -vlnv xilinx.com:ip:ddr4:2.2 ddr4]
    apply_bd_automation -rule xilinx.com:bd_rule:ddr4 -config {Board_Interface "ddr4_sdram" System_Clock "Auto"} $ddr
    apply_bd_automation -rule xilinx.com:bd_rule:axi4 \
        -config {Master "/xdma/M_AXI" Clk "Auto"} [get_bd_intf_pins ddr4/C0_DDR4_S_AXI]
    apply_bd_automation -rule xilinx.com:bd_rule:axi4 \
        -config {Master "/engine/m_axi" Clk "Auto"} [get_bd_intf_pins ddr4/C0_DDR4_S_AXI]
    # XDMA's AXI-Lite master BAR -> engine registers (/dev/xdma0_user).
    apply_bd_automation -rule xilinx.com:bd_rule:axi4 \
        -config {Master "/xdma/M_AXI_LITE" Clk "Auto"} [get_bd_intf_pins engine/s_axil]
    connect_bd_net [get_bd_pins engine/irq] [get_bd_pins xdma/usr_irq_req]
    assign_bd_address
}

validate_bd_design
save_bd_design
set wrapper [make_wrapper -files [get_files system.bd] -top]
add_files -norecurse $wrapper
set_property top system_wrapper [current_fileset]

launch_runs impl_1 -to_step write_bitstream -jobs 4
wait_on_run impl_1
if {[get_property PROGRESS [get_runs impl_1]] ne "100%"} {
    error "implementation failed: see [get_property DIRECTORY [get_runs impl_1]]"
}
puts "bitstream: [get_property DIRECTORY [get_runs impl_1]]/system_wrapper.bit"
