//! Registered models: local GGUF files and remote endpoints.

use rusqlite::{OptionalExtension, Row, params};
use serde::{Deserialize, Serialize};

use super::{Actor, At, SqlContext, Store, StoreError, audit, now_utc, to_json};
use crate::ids::ModelId;
use crate::inference::EngineSettings;
use crate::vocab::{ModelKind, ModelRole};

/// A registered model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelRecord {
    /// Row id.
    pub id: ModelId,
    /// Unique name.
    pub name: String,
    /// Local file or remote endpoint.
    pub kind: ModelKind,
    /// Role in studies.
    pub role: ModelRole,
    /// GGUF file (local models).
    pub path: Option<String>,
    /// sha256 of the file when it was registered.
    pub sha256: Option<String>,
    /// File size in bytes.
    pub size_bytes: Option<i64>,
    /// `general.architecture`.
    pub architecture: Option<String>,
    /// Parameter count.
    pub parameter_count: Option<i64>,
    /// Quantization name (Q4_1, Q4_K_M…).
    pub quantization: Option<String>,
    /// Training context length.
    pub context_length: Option<i64>,
    /// The chat template from the file's metadata.
    pub chat_template: Option<String>,
    /// Endpoint base URL (remote models).
    pub endpoint_url: Option<String>,
    /// The model name the endpoint expects.
    pub remote_model: Option<String>,
    /// Environment variable holding the API key (never the key itself).
    pub api_key_env: Option<String>,
    /// The model it was fine-tuned from.
    pub parent_model_id: Option<ModelId>,
    /// The round that produced it.
    pub round_id: Option<i64>,
    /// Engine settings the user saved (threads, GPU layers…).
    pub settings: EngineSettings,
    /// Modification time (seconds) of the file when its hash was last verified.
    pub verified_mtime: Option<i64>,
    /// When it was registered.
    pub created_at: String,
    /// Why its engine last failed to start, until it starts again or the
    /// model is registered anew.
    pub load_failure: Option<LoadFailure>,
}

/// A model whose engine could not start: llama.cpp refused the file or the
/// engine process crashed while loading it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadFailure {
    /// The error, as shown to the user.
    pub reason: String,
    /// When (UTC, RFC 3339).
    pub at: String,
}

/// A local GGUF model to register.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewLocalModel {
    /// Unique name.
    pub name: String,
    /// Role in studies.
    pub role: ModelRole,
    /// The file.
    pub path: String,
    /// Its sha256.
    pub sha256: String,
    /// Its size.
    pub size_bytes: i64,
    /// `general.architecture`.
    pub architecture: Option<String>,
    /// Parameters.
    pub parameter_count: Option<i64>,
    /// Quantization.
    pub quantization: Option<String>,
    /// Training context length.
    pub context_length: Option<i64>,
    /// Chat template.
    pub chat_template: Option<String>,
    /// The file's mtime when hashed.
    pub verified_mtime: Option<i64>,
}

/// A remote OpenAI-compatible endpoint to register.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewRemoteModel {
    /// Unique name.
    pub name: String,
    /// Role in studies.
    pub role: ModelRole,
    /// Base URL, e.g. `http://127.0.0.1:8080/v1`.
    pub endpoint_url: String,
    /// Model name sent to the endpoint.
    pub remote_model: String,
    /// Environment variable (or keyring entry name) holding the key.
    pub api_key_env: Option<String>,
}

const COLUMNS: &str = "id, name, kind, role, path, sha256, size_bytes, architecture, parameter_count, quantization,
    context_length, chat_template, endpoint_url, remote_model, api_key_env, parent_model_id, round_id, settings,
    verified_mtime, created_at, load_error, load_error_at";

fn from_row(r: &Row<'_>) -> rusqlite::Result<ModelRecord> {
    let id: i64 = r.get(0)?;
    let at = At {
        table: "models",
        row_id: id,
    };
    Ok(ModelRecord {
        id: ModelId(id),
        name: r.get(1)?,
        kind: at.get(r, 2, "kind")?,
        role: at.get(r, 3, "role")?,
        path: r.get(4)?,
        sha256: r.get(5)?,
        size_bytes: r.get(6)?,
        architecture: r.get(7)?,
        parameter_count: r.get(8)?,
        quantization: r.get(9)?,
        context_length: r.get(10)?,
        chat_template: r.get(11)?,
        endpoint_url: r.get(12)?,
        remote_model: r.get(13)?,
        api_key_env: r.get(14)?,
        parent_model_id: r.get(15)?,
        round_id: r.get(16)?,
        settings: at.json(r, 17, "settings")?,
        verified_mtime: r.get(18)?,
        created_at: r.get(19)?,
        load_failure: match (
            r.get::<_, Option<String>>(20)?,
            r.get::<_, Option<String>>(21)?,
        ) {
            (Some(reason), Some(at)) => Some(LoadFailure { reason, at }),
            _ => None,
        },
    })
}

impl Store {
    /// Registers a local model, or updates the one with the same name.
    /// Returns its id.
    pub fn register_local_model(
        &mut self,
        m: &NewLocalModel,
        actor: &Actor,
    ) -> Result<ModelId, StoreError> {
        self.write("registering a model", |tx| {
            tx.execute(
                "INSERT INTO models (name, kind, role, path, sha256, size_bytes, architecture, parameter_count,
                                     quantization, context_length, chat_template, verified_mtime, created_at)
                 VALUES (?1, 'local', ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
                 ON CONFLICT(name) DO UPDATE SET kind = 'local', role = excluded.role, path = excluded.path,
                   sha256 = excluded.sha256, size_bytes = excluded.size_bytes, architecture = excluded.architecture,
                   parameter_count = excluded.parameter_count, quantization = excluded.quantization,
                   context_length = excluded.context_length, chat_template = excluded.chat_template,
                   verified_mtime = excluded.verified_mtime, load_error = NULL, load_error_at = NULL",
                params![
                    m.name,
                    m.role,
                    m.path,
                    m.sha256,
                    m.size_bytes,
                    m.architecture,
                    m.parameter_count,
                    m.quantization,
                    m.context_length,
                    m.chat_template,
                    m.verified_mtime,
                    now_utc()
                ],
            )
            .ctx("registering a model")?;
            let id: ModelId =
                tx.query_row("SELECT id FROM models WHERE name = ?1", [&m.name], |r| r.get(0)).ctx("reading the model id")?;
            audit::append(
                tx,
                actor,
                "register_model",
                "model",
                Some(&id.to_string()),
                &serde_json::json!({ "name": m.name, "path": m.path, "sha256": m.sha256 }),
            )?;
            Ok(id)
        })
    }

    /// Registers a remote endpoint, or updates the one with the same name.
    pub fn register_remote_model(
        &mut self,
        m: &NewRemoteModel,
        actor: &Actor,
    ) -> Result<ModelId, StoreError> {
        self.write("registering a remote model", |tx| {
            tx.execute(
                "INSERT INTO models (name, kind, role, endpoint_url, remote_model, api_key_env, created_at)
                 VALUES (?1, 'remote', ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT(name) DO UPDATE SET kind = 'remote', role = excluded.role, path = NULL,
                   endpoint_url = excluded.endpoint_url, remote_model = excluded.remote_model,
                   api_key_env = excluded.api_key_env",
                params![m.name, m.role, m.endpoint_url, m.remote_model, m.api_key_env, now_utc()],
            )
            .ctx("registering a remote model")?;
            let id: ModelId =
                tx.query_row("SELECT id FROM models WHERE name = ?1", [&m.name], |r| r.get(0)).ctx("reading the model id")?;
            audit::append(
                tx,
                actor,
                "register_model",
                "model",
                Some(&id.to_string()),
                &serde_json::json!({ "name": m.name, "endpoint_url": m.endpoint_url }),
            )?;
            Ok(id)
        })
    }

    /// Records why a model's engine failed to start (`Some`), or that it
    /// started (`None`, clearing an earlier failure).
    pub fn set_model_load_failure(
        &mut self,
        id: ModelId,
        reason: Option<&str>,
    ) -> Result<(), StoreError> {
        self.write("recording whether a model loads", |tx| {
            tx.execute(
                "UPDATE models SET load_error = ?2, load_error_at = CASE WHEN ?2 IS NULL THEN NULL ELSE ?3 END
                 WHERE id = ?1",
                params![id, reason, now_utc()],
            )
            .ctx("recording whether a model loads")?;
            Ok(())
        })
    }

    /// Records that the file's hash was verified at this mtime.
    pub fn set_model_verified(
        &mut self,
        id: ModelId,
        mtime: Option<i64>,
    ) -> Result<(), StoreError> {
        self.write("recording verification", |tx| {
            tx.execute(
                "UPDATE models SET verified_mtime = ?2 WHERE id = ?1",
                params![id, mtime],
            )
            .ctx("recording verification")?;
            Ok(())
        })
    }

    /// Saves engine settings (threads, GPU layers) for a model (validated
    /// by `models::set_engine_settings`).
    pub fn set_model_settings(
        &mut self,
        id: ModelId,
        settings: &EngineSettings,
        actor: &Actor,
    ) -> Result<(), StoreError> {
        let json = to_json(settings, "the engine settings")?;
        let details = serde_json::to_value(settings).map_err(|source| StoreError::Json {
            context: "the engine settings".into(),
            source,
        })?;
        self.write("saving model settings", |tx| {
            let n = tx
                .execute(
                    "UPDATE models SET settings = ?2 WHERE id = ?1",
                    params![id, json],
                )
                .ctx("saving model settings")?;
            if n == 0 {
                return Err(StoreError::NotFound {
                    entity: "model",
                    key: id.to_string(),
                });
            }
            audit::append(
                tx,
                actor,
                "model_settings",
                "model",
                Some(&id.to_string()),
                &details,
            )
        })
    }

    /// The model named `name`.
    pub fn model_by_name(&self, name: &str) -> Result<ModelRecord, StoreError> {
        self.conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM models WHERE name = ?1"),
                [name],
                from_row,
            )
            .optional()
            .ctx("looking up a model")?
            .ok_or_else(|| StoreError::NotFound {
                entity: "model",
                key: name.to_owned(),
            })
    }

    /// Every registered model, by name.
    pub fn models(&self) -> Result<Vec<ModelRecord>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(&format!("SELECT {COLUMNS} FROM models ORDER BY name"))
            .ctx("listing models")?;
        let rows = stmt.query_map([], from_row).ctx("listing models")?;
        rows.collect::<Result<Vec<_>, _>>().ctx("listing models")
    }
}
