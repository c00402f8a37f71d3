//! Hardware blocks, each a rust-hdl module with its pure Rust golden model beside it.

pub mod array;
pub mod conv;
pub mod delay;
pub mod dma;
pub mod im2col;
pub mod pe;
pub mod post;
pub mod regs;
pub mod requant;
pub mod seq;
pub mod top;
