//! Exports for R and pandas: tidy CSV and JSON Lines, one row per answer.

use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::store::{Store, StoreError};

/// Output format of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    /// RFC 4180 CSV with a header row (fields with commas, quotes or newlines are quoted).
    Csv,
    /// One JSON object per line.
    Jsonl,
}

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Reading the database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Writing the output failed.
    #[error("could not write {target}: {source}")]
    Write {
        /// Where.
        target: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// Writes every stored generation to `out`; returns the number of rows.
pub fn export_generations(
    store: &Store,
    format: ExportFormat,
    out: &mut dyn Write,
) -> Result<u64, ExportError> {
    let io = |e: std::io::Error| StoreError::Conflict(format!("write failed: {e}"));
    let n = match format {
        ExportFormat::Csv => {
            let mut w = csv::Writer::from_writer(out);
            let n = store.for_each_export_row(|row| {
                w.serialize(&row).map_err(|e| io(std::io::Error::other(e)))
            })?;
            w.flush().map_err(|e| ExportError::Write {
                target: "output".into(),
                source: e,
            })?;
            if n == 0 {
                // Still write the header so that an empty export is a valid table.
                w.write_record(EXPORT_COLUMNS)
                    .map_err(|e| ExportError::Write {
                        target: "output".into(),
                        source: std::io::Error::other(e),
                    })?;
                w.flush().map_err(|e| ExportError::Write {
                    target: "output".into(),
                    source: e,
                })?;
            }
            n
        }
        ExportFormat::Jsonl => store.for_each_export_row(|row| {
            serde_json::to_writer(&mut *out, &row).map_err(|e| io(std::io::Error::other(e)))?;
            out.write_all(b"\n").map_err(io)
        })?,
    };
    Ok(n)
}

/// Column names of the generations export, in order.
pub const EXPORT_COLUMNS: [&str; 21] = [
    "generation_id",
    "item",
    "item_kind",
    "category",
    "question",
    "model",
    "answer",
    "temperature",
    "top_p",
    "top_k",
    "min_p",
    "repeat_penalty",
    "max_tokens",
    "seed",
    "prompt_tokens",
    "completion_tokens",
    "prompt_ms",
    "generation_ms",
    "finish_reason",
    "template_hash",
    "created_at",
];

/// The temporary file beside `path` that an atomic write fills first.
fn partial_path(path: &Path) -> std::path::PathBuf {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    dir.join(format!(
        ".{}.partial",
        path.file_name()
            .map_or_else(|| "export".into(), |n| n.to_string_lossy().into_owned())
    ))
}

/// Replaces `path` with `bytes` atomically: written and synced beside it,
/// then renamed, so a failure never leaves half a file under the final name.
///
/// # Errors
///
/// The I/O error of the write or the rename; the temporary file is removed.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = partial_path(path);
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Exports to a file atomically (see [`write_atomically`]), streaming the
/// rows rather than holding them in memory.
pub fn export_generations_to_file(
    store: &Store,
    format: ExportFormat,
    path: &Path,
) -> Result<u64, ExportError> {
    let werr = |source| ExportError::Write {
        target: path.display().to_string(),
        source,
    };
    let tmp = partial_path(path);
    let result = (|| {
        let file = std::fs::File::create(&tmp).map_err(werr)?;
        let mut buf = std::io::BufWriter::new(file);
        let n = export_generations(store, format, &mut buf)?;
        buf.flush().map_err(werr)?;
        buf.get_ref().sync_all().map_err(werr)?;
        std::fs::rename(&tmp, path).map_err(werr)?;
        Ok(n)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
