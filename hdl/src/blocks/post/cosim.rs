//! Verilator co-simulation of [`super::PostTop`] (placeholder, filled below).
