//! Exports for R and pandas: tidy CSV and JSON Lines, one row per answer.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

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

/// Why an export failed. Every variant about a file names it.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Reading the database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Writing the output failed.
    #[error("could not write {}: {source}", path.display())]
    Write {
        /// The file being written (or `-` for standard output).
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The target exists and is not a regular file: replacing a symlink, a
    /// FIFO or a device with a regular file would surprise whoever made it.
    #[error(
        "{} is a {kind}, not a regular file; choose a file name, or - for standard output",
        path.display()
    )]
    NotRegular {
        /// The target.
        path: PathBuf,
        /// What it is.
        kind: &'static str,
    },
}

/// Where an export goes: standard output (`-`) or a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExportTarget {
    /// Standard output.
    Stdout,
    /// A file, written atomically (see [`write_file_atomically`]).
    File(PathBuf),
}

impl ExportTarget {
    /// `-` is standard output; anything else is a file path.
    pub fn from_arg(arg: &Path) -> Self {
        if arg.as_os_str() == "-" {
            ExportTarget::Stdout
        } else {
            ExportTarget::File(arg.to_path_buf())
        }
    }
}

/// Writes every stored generation to `out`; returns the number of rows.
pub fn export_generations(
    store: &Store,
    format: ExportFormat,
    out: &mut dyn Write,
) -> Result<u64, ExportError> {
    // The store's row callback can only fail with a StoreError; the first
    // write error is kept here and reported as what it is.
    let mut write_error: Option<std::io::Error> = None;
    let mut keep = |e: std::io::Error| {
        let message = e.to_string();
        write_error.get_or_insert(e);
        StoreError::Conflict(message)
    };
    let result = match format {
        ExportFormat::Csv => {
            let mut w = csv::Writer::from_writer(out);
            store
                .for_each_export_row(|row| w.serialize(&row).map_err(|e| keep(e.into())))
                .and_then(|n| {
                    // An empty export still gets its header, so it is a valid table.
                    if n == 0 {
                        w.write_record(EXPORT_COLUMNS).map_err(|e| keep(e.into()))?;
                    }
                    w.flush().map_err(&mut keep)?;
                    Ok(n)
                })
        }
        ExportFormat::Jsonl => store.for_each_export_row(|row| {
            serde_json::to_writer(&mut *out, &row).map_err(|e| keep(e.into()))?;
            out.write_all(b"\n").map_err(&mut keep)
        }),
    };
    match (result, write_error) {
        (Ok(n), None) => Ok(n),
        (_, Some(source)) => Err(ExportError::Write {
            path: PathBuf::from("-"),
            source,
        }),
        (Err(e), None) => Err(e.into()),
    }
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

/// Distinguishes the temporary files of writers in one process.
static WRITERS: AtomicU64 = AtomicU64::new(0);

/// The name stem shared by every temporary file of exports to `path`.
fn partial_prefix(path: &Path) -> String {
    format!(
        ".{}.",
        path.file_name()
            .map_or_else(|| "export".into(), |n| n.to_string_lossy().into_owned())
    )
}

fn target_dir(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// A temporary file beside `path` that belongs to this writer alone
/// (`.NAME.PID.N.partial`), so concurrent exports to one path never share it.
fn partial_path(path: &Path) -> PathBuf {
    let n = WRITERS.fetch_add(1, Ordering::Relaxed);
    target_dir(path).join(format!(
        "{}{}.{n}.partial",
        partial_prefix(path),
        std::process::id()
    ))
}

/// Removes the temporary files that killed exports to `path` left behind:
/// those of processes that no longer run, and any older than an hour
/// (including the single `.NAME.partial` of earlier versions).
fn remove_stale_partials(path: &Path) {
    let prefix = partial_prefix(path);
    let Ok(entries) = std::fs::read_dir(target_dir(path)) else {
        return;
    };
    let legacy = format!("{prefix}partial");
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let middle = name
            .strip_prefix(&prefix)
            .and_then(|rest| rest.strip_suffix(".partial"));
        if middle.is_none() && name != legacy {
            continue;
        }
        let pid = middle
            .and_then(|m| m.split('.').next())
            .and_then(|p| p.parse::<u32>().ok());
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age.as_secs() > 3600);
        let dead = pid.is_some_and(|p| p != std::process::id() && !crate::process::alive(p));
        if dead || old {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Refuses a target that exists and is not a regular file (checked without
/// following a symlink).
fn check_target(path: &Path) -> Result<(), ExportError> {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return Ok(());
    };
    match crate::files::kind_of(&meta.file_type()) {
        None => Ok(()),
        Some(kind) => Err(ExportError::NotRegular {
            path: path.to_path_buf(),
            kind,
        }),
    }
}

/// Writes a file the safe way: refuses an existing non-regular target,
/// clears temporary files that killed exports to the same path left behind,
/// lets `fill` write into a temporary file of this writer's own beside the
/// target, syncs it, then renames it over the target. Two writers to one
/// path each produce a complete file and the last rename wins; a failure
/// or a kill never leaves half a file under the final name. Every error
/// names the path.
pub fn write_file_atomically<T>(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> Result<T, ExportError>,
) -> Result<T, ExportError> {
    check_target(path)?;
    remove_stale_partials(path);
    let werr = |source| ExportError::Write {
        path: path.to_path_buf(),
        source,
    };
    let tmp = partial_path(path);
    let result = (|| {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(werr)?;
        let mut buf = std::io::BufWriter::new(file);
        let value = fill(&mut buf).map_err(|e| match e {
            // Errors from the writer are about this file.
            ExportError::Write { source, .. } => werr(source),
            other => other,
        })?;
        buf.flush().map_err(werr)?;
        buf.get_ref().sync_all().map_err(werr)?;
        check_target(path)?;
        std::fs::rename(&tmp, path).map_err(werr)?;
        Ok(value)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Replaces `path` with `bytes` (see [`write_file_atomically`]).
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), ExportError> {
    write_file_atomically(path, |out| {
        out.write_all(bytes).map_err(|source| ExportError::Write {
            path: path.to_path_buf(),
            source,
        })
    })
}

/// Exports to a file (see [`write_file_atomically`]), streaming the rows
/// rather than holding them in memory.
pub fn export_generations_to_file(
    store: &Store,
    format: ExportFormat,
    path: &Path,
) -> Result<u64, ExportError> {
    write_file_atomically(path, |out| export_generations(store, format, out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn partials(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .expect("dir")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".partial"))
            .collect();
        names.sort();
        names
    }

    /// Regression: every writer used one fixed temporary name, so two exports
    /// to one path interleaved into a file that matched neither.
    #[test]
    fn concurrent_writers_each_leave_a_complete_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("out.csv");
        let bodies: Vec<Vec<u8>> = (0..8u8)
            .map(|k| {
                let line = format!("writer {k},{}\n", "x".repeat(200));
                line.repeat(2_000).into_bytes()
            })
            .collect();
        std::thread::scope(|s| {
            for body in &bodies {
                let path = &path;
                s.spawn(move || {
                    write_file_atomically(path, |out| {
                        // Small chunks, so that the writers really overlap.
                        for chunk in body.chunks(512) {
                            out.write_all(chunk).map_err(|source| ExportError::Write {
                                path: path.clone(),
                                source,
                            })?;
                            std::thread::yield_now();
                        }
                        Ok(())
                    })
                    .expect("write");
                });
            }
        });
        let got = std::fs::read(&path).expect("read");
        assert!(bodies.contains(&got), "the file is a mix of writers");
        assert!(
            partials(dir.path()).is_empty(),
            "{:?}",
            partials(dir.path())
        );
    }

    #[test]
    fn non_regular_targets_are_refused_and_left_alone() {
        let dir = tempfile::tempdir().expect("tempdir");
        let real = dir.path().join("real.csv");
        std::fs::write(&real, b"keep me").expect("write");
        let link = dir.path().join("link.csv");
        std::os::unix::fs::symlink(&real, &link).expect("symlink");
        let fifo = dir.path().join("fifo.csv");
        crate::files::mkfifo(&fifo);
        let cases = [
            (link.clone(), "symbolic link"),
            (fifo.clone(), "FIFO"),
            (dir.path().to_path_buf(), "directory"),
            (PathBuf::from("/dev/null"), "device"),
        ];
        for (target, kind) in cases {
            let err = write_atomically(&target, b"new").expect_err("refused");
            match &err {
                ExportError::NotRegular { path, kind: k } => {
                    assert_eq!((path, *k), (&target, kind));
                }
                other => panic!("{}: {other:?}", target.display()),
            }
            assert!(err.to_string().contains(&target.display().to_string()));
        }
        assert_eq!(std::fs::read(&real).expect("read"), b"keep me");
        assert!(
            std::fs::symlink_metadata(&link)
                .expect("link")
                .file_type()
                .is_symlink()
        );
        assert!(partials(dir.path()).is_empty());
    }

    #[test]
    fn partials_of_killed_writers_are_cleaned_and_live_ones_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("out.csv");
        // A pid above the kernel's maximum never runs.
        let dead = dir.path().join(".out.csv.4194399.0.partial");
        let live = dir
            .path()
            .join(format!(".out.csv.{}.999.partial", std::process::id()));
        let other_file = dir.path().join(".other.csv.4194399.0.partial");
        for p in [&dead, &live, &other_file] {
            std::fs::write(p, b"half").expect("write");
        }
        write_atomically(&path, b"done").expect("write");
        assert_eq!(std::fs::read(&path).expect("read"), b"done");
        assert!(!dead.exists(), "a dead writer's partial is removed");
        assert!(live.exists(), "a running writer's partial is kept");
        assert!(other_file.exists(), "another target's partial is not ours");
    }

    #[test]
    fn write_errors_name_the_path() {
        let path = Path::new("/nonexistent-dir-llm4sweat/out.csv");
        let err = write_atomically(path, b"x").expect_err("no dir");
        assert!(
            err.to_string()
                .starts_with("could not write /nonexistent-dir-llm4sweat/out.csv: "),
            "{err}"
        );
    }
}
