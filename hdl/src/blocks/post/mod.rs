//! The post-op layer unit (ADD, AVG_POOL, MAX_POOL, GLOBAL_AVG_POOL) with the layer-unit
//! interface of the engine top, and its Verilator co-simulation.
//!
//! | module | job |
//! |---|---|
//! | [`rtl`] | `PostUnit<W, S, WA>`: record fetch, setup, input load, byte-serial compute, packed write |
//! | [`top`] | `PostTop`: the unit on a `blocks::dma::Dma`, as the engine top wires it (the co-simulated design) |
//! | [`cosim`] | C++ harness: DRAM slave with WSTRB, descriptor driver, start -> done cycles |

pub mod cosim;
pub mod rtl;
pub mod top;

pub use rtl::PostUnit;
pub use top::PostTop;
