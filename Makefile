# systole: the two entry points are `make demo` and `make test` (see README.md).
# Both install missing system tools first (tools/ensure-deps.sh).

CARGO ?= cargo
# Third-party fixtures live beside the checkout; override with SYSTOLE_FIXTURES=/path.
SYSTOLE_FIXTURES ?= $(abspath $(CURDIR)/../shared/fixtures)
export SYSTOLE_FIXTURES
BUILD := build
# cargo puts the binary under $(CARGO_TARGET_DIR) when that is set.
SYSTOLE := $(or $(CARGO_TARGET_DIR),target)/release/systole
DEMO_MODEL ?= fixtures/tflite/resnet_tiny

.PHONY: all deps build demo test lint clippy fmt docs fixtures bench rtl-all verilog synth bitstream clean

all: build

deps:
	@tools/ensure-deps.sh

build: deps
	$(CARGO) build --release --locked

# The main job on a bundled example: import, layer table, bit-exact reference run checked
# against the tflite-micro golden committed with the model; then the engine generated for it
# (Verilog linted, report) and the model simulated on that engine through the host driver.
demo: build
	@mkdir -p $(BUILD)/demo
	$(SYSTOLE) inspect $(DEMO_MODEL)/model.tflite
	$(SYSTOLE) reference $(DEMO_MODEL)/model.tflite --input $(DEMO_MODEL)/input_000.npy \
	    --output $(BUILD)/demo/output_000.npy --dump-dir $(BUILD)/demo/tensors
	$(SYSTOLE) compare $(BUILD)/demo/output_000.npy $(DEMO_MODEL)/output_000.npy
	$(SYSTOLE) generate $(DEMO_MODEL)/model.tflite --out $(BUILD)/demo/engine
	$(SYSTOLE) simulate $(DEMO_MODEL)/model.tflite --input $(DEMO_MODEL)/input_000.npy \
	    --output $(BUILD)/demo/sim_output_000.npy --report $(BUILD)/demo/simulate.json
	$(SYSTOLE) compare $(BUILD)/demo/sim_output_000.npy $(DEMO_MODEL)/output_000.npy
	@echo "demo: reference outputs and every intermediate tensor in $(BUILD)/demo/, the generated engine"
	@echo "      (Verilog, arch.json, C header, register map, report.md) in $(BUILD)/demo/engine/,"
	@echo "      the cycle model's per-layer report in $(BUILD)/demo/simulate.json"

test: deps
	@if [ -d "$(SYSTOLE_FIXTURES)" ]; then echo "fixtures: $(SYSTOLE_FIXTURES)"; \
	 else echo "!!! SKIP WARNING: third-party fixtures not found at $(SYSTOLE_FIXTURES); only the repository's own fixtures will be tested !!!"; fi
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings
	CARGO="$(CARGO)" tools/run-tests.sh

clippy: fmt
	$(CARGO) clippy --workspace --all-targets -- -D warnings

# Open FPGA flows (docs/SYNTHESIS.md, bitstreams/README.md) on the engine generated for
# $(DEMO_MODEL) with at most $(MACS) MACs (16 = 4x4: seconds to minutes; MACS=256 = 16x16).
# nextpnr-ecp5 / ecppack come from PATH or are pip-installed (yowasp) into $(SYSTOLE_FPGA_VENV).
MACS ?= 16
TARGET ?= xc7z020
BOARD ?= ulx3s-85f
ENGINE := $(BUILD)/engine-$(MACS)
SYSTOLE_FPGA_VENV ?= $(CURDIR)/.venv-fpga
export SYSTOLE_FPGA_VENV

# The generated engine: Verilog (linted with verilator -Wall when installed), arch.json, header, report.
verilog: build
	$(SYSTOLE) generate $(DEMO_MODEL)/model.tflite --out $(ENGINE) --budget-macs $(MACS)

# Verilog lint: the engine and the board wrapper around it, zero warnings (verilator -Wall).
lint: verilog
	tools/lint-verilog.sh $(ENGINE)

# Resources (and Fmax for ECP5) of the engine: `make synth TARGET=ecp5-85k MACS=256`.
synth: verilog
	$(SYSTOLE) synth $(ENGINE) --target $(TARGET) --report $(ENGINE)/synth-$(TARGET).json

# A real ECP5 bitstream of the engine in its board wrapper (UART bridge + block-RAM memory).
bitstream: verilog
	$(SYSTOLE) synth $(ENGINE) --target ecp5-85k --board $(BOARD) --report $(ENGINE)/bitstream-$(BOARD).json

fmt:
	$(CARGO) fmt --all

# docs/CLI.md: every subcommand's --help rendered by clap (tests/cli_reference.rs checks it).
docs:
	$(CARGO) run --release --locked --quiet -- cli-reference --out docs/CLI.md

# Simulation speed and per-layer cycles / utilisation of the cycle model on ResNet-8 at 8x8,
# 16x16, 32x32, then the cycle model and the Verilator RTL side by side on the same images
# (a measurement, not a test; see BENCHMARKS.md). `make bench BENCH_ARGS=16` picks the cycle
# bench's sizes, `RTL_BENCH_ARGS="tiny4 resnet8-16"` the RTL bench's cases.
bench: deps
	$(CARGO) bench -p systole-sim --bench cycle --locked -- $(BENCH_ARGS)
	$(CARGO) bench -p systole-hdl --bench rtl --locked -- $(RTL_BENCH_ARGS)

# Every fixture model and CMSIS-NN case on the cycle model and the Verilator RTL, including the
# larger models and the default 256-MAC engine (`make test` runs the small ones at 4 x 4).
rtl-all: deps
	$(CARGO) test -p systole-hdl --test models --locked -- --include-ignored --nocapture

# Regenerates the repository's own fixture models and goldens (needs PyPI; not part of `make test`).
fixtures:
	python3 -m venv .venv-fixtures
	.venv-fixtures/bin/pip install -q -r tools/fixtures/requirements.txt
	.venv-fixtures/bin/python tools/fixtures/make_fixtures.py

clean:
	$(CARGO) clean
	rm -rf $(BUILD)
