#!/usr/bin/env bash
# Installs the system tools systole's flows need, or says exactly what to run.
# Used by `make demo` and `make test` so both work on a fresh Debian/Ubuntu machine.
set -euo pipefail

need_pkgs=()
command -v verilator >/dev/null 2>&1 || need_pkgs+=(verilator)
command -v yosys >/dev/null 2>&1 || need_pkgs+=(yosys)
command -v iverilog >/dev/null 2>&1 || need_pkgs+=(iverilog)
# tclsh: the syntax check of the Vivado block-design script (flows/tests/vivado_tcl.rs).
command -v tclsh >/dev/null 2>&1 || need_pkgs+=(tcl)

if ! command -v cargo >/dev/null 2>&1; then
  echo "error: cargo (the Rust toolchain) is not installed; install it with rustup (https://rustup.rs) and re-run." >&2
  exit 1
fi

if [ ${#need_pkgs[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing missing system tools: ${need_pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
  exit 0
fi

echo "error: missing system tools: ${need_pkgs[*]}" >&2
echo "       install them with:  sudo apt-get install -y ${need_pkgs[*]}" >&2
echo "       (systole runs them to lint, synthesize and simulate the generated Verilog)" >&2
exit 1
