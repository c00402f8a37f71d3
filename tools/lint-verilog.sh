#!/usr/bin/env bash
# `make lint`: verilator --lint-only -Wall (zero warnings) on a generated engine and on the board
# wrapper of bitstreams/ around it, with the defines `systole synth --board` derives the same way
# (top name from arch.json, port widths from the engine's own declarations).
set -euo pipefail
dir=${1:?usage: tools/lint-verilog.sh GENERATED_DIR}
here=$(cd "$(dirname "$0")/.." && pwd)
top=$(sed -n 's/^ *"name": *"\([A-Za-z0-9_]*\)".*/\1/p' "$dir/arch.json")
[ -n "$top" ] || { echo "error: $dir/arch.json has no name" >&2; exit 1; }
width() { # width of input port $1 of the top, from `input wire [N:0] name;`
  local hi
  hi=$(sed -n "s/^ *input wire *\[\([0-9]*\):0\] $1;.*/\1/p" "$dir/$top.v" | head -1)
  [ -n "$hi" ] || { echo "error: no input $1 in $dir/$top.v" >&2; exit 1; }
  echo $((hi + 1))
}
verilator --lint-only -Wall --top-module "$top" "$dir/$top.v"
verilator --lint-only -Wall --top-module systole_ulx3s -DENGINE_TOP="$top" \
  -DAXI_DATA_BITS="$(width m_axi_rdata)" -DAXIL_ADDR_BITS="$(width s_axil_awaddr)" \
  "$here"/bitstreams/ulx3s/systole_ulx3s.v "$here"/bitstreams/rtl/*.v "$dir/$top.v"
echo "lint: $dir/$top.v and the bitstreams/ wrapper are clean under verilator --lint-only -Wall"
