//! Text generated from the one definition: the C header a driver compiles against, and the
//! Markdown register map and descriptor layout.

pub mod c_header;
pub mod markdown;

pub use c_header::{c_header, header_file_name};
pub use markdown::{descriptor_markdown, registers_markdown};
