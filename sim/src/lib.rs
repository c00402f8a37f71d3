//! systole-sim: the cycle-level model of the generated accelerator and the Verilator harness.
//!
//! Both implement `systole_host::Device`, so the same host driver runs the reference, the cycle
//! model and the RTL. Tracked in issue 4; this crate is the home of that work and currently
//! exports nothing.
