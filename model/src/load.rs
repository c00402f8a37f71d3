//! Loading a model file of either supported format, detected from its content.

use crate::error::{ModelError, Result};
use crate::import::{onnx, tflite};
use crate::ir::Graph;
use std::path::Path;

/// Model file formats systole reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelFormat {
    Tflite,
    Onnx,
}

/// Detects the format from the bytes: TFLite flatbuffers carry the identifier `TFL3` at offset 4;
/// ONNX files are protobuf `ModelProto`s, which start with field 1 (`ir_version`, tag 0x08) in
/// every exporter we know, or are named `.onnx`.
pub fn detect_format(path: &Path, bytes: &[u8]) -> Result<ModelFormat> {
    if bytes.len() >= 8 && &bytes[4..8] == b"TFL3" {
        return Ok(ModelFormat::Tflite);
    }
    let named_onnx = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("onnx"));
    if named_onnx || bytes.first() == Some(&0x08) {
        return Ok(ModelFormat::Onnx);
    }
    let reason = if bytes.is_empty() {
        "the file is empty".to_string()
    } else if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("tflite")) {
        format!(
            "named .tflite but the flatbuffer identifier at offset 4 is {:?}, not \"TFL3\"",
            String::from_utf8_lossy(&bytes[4.min(bytes.len())..8.min(bytes.len())])
        )
    } else {
        "neither a TFLite flatbuffer (identifier TFL3) nor an ONNX protobuf".to_string()
    };
    Err(ModelError::UnknownFormat { path: path.display().to_string(), reason })
}

/// Model name used for generated artefacts: the file stem, or the parent folder when the file is
/// called `model.*` (the fixture layout `<name>/model.tflite`).
pub fn model_name(path: &Path) -> String {
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "model".into());
    if stem == "model" {
        if let Some(parent) = path.parent().and_then(|p| p.file_name()) {
            return parent.to_string_lossy().into_owned();
        }
    }
    stem
}

/// Reads, imports and validates a model file.
pub fn load_model(path: &Path) -> Result<Graph> {
    let bytes = std::fs::read(path).map_err(|source| ModelError::Io { path: path.display().to_string(), source })?;
    let name = model_name(path);
    match detect_format(path, &bytes)? {
        ModelFormat::Tflite => tflite::import_tflite(&bytes, &name),
        ModelFormat::Onnx => onnx::import_onnx(&bytes, &name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_by_magic_and_rejects_junk() {
        let mut tfl = vec![0u8; 16];
        tfl[4..8].copy_from_slice(b"TFL3");
        assert_eq!(detect_format(Path::new("a.bin"), &tfl).unwrap(), ModelFormat::Tflite);
        assert_eq!(detect_format(Path::new("a.onnx"), b"\x12junk").unwrap(), ModelFormat::Onnx);
        let err = detect_format(Path::new("a.tflite"), b"\0\0\0\0XXXX").unwrap_err();
        assert!(err.to_string().contains("TFL3"), "{err}");
        assert!(detect_format(Path::new("a.bin"), b"").is_err());
    }

    #[test]
    fn names_from_fixture_layout() {
        assert_eq!(model_name(Path::new("x/vww_96_int8/model.tflite")), "vww_96_int8");
        assert_eq!(model_name(Path::new("digits.onnx")), "digits");
    }
}
