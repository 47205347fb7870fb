//! The append-only audit log (triggers in the schema refuse updates and deletes).

use rusqlite::{Transaction, params};

use super::{SqlContext, StoreError, now_utc};

/// Who made a change, as the audit log records it. The caller says who it
/// acts for; the store never invents an actor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// The command line.
    Cli,
    /// The study coordinator, in the desktop app.
    Coordinator,
    /// A rater, by profile name.
    Rater(String),
}

impl Actor {
    /// The text stored in `audit_log.actor`: `cli`, `coordinator` or `rater:NAME`.
    pub fn as_audit(&self) -> String {
        match self {
            Actor::Cli => "cli".to_owned(),
            Actor::Coordinator => "coordinator".to_owned(),
            Actor::Rater(name) => format!("rater:{name}"),
        }
    }
}

/// Appends one entry inside the caller's transaction, so the entry lands
/// exactly when the change it describes does.
pub(crate) fn append(
    tx: &Transaction<'_>,
    actor: &Actor,
    action: &str,
    entity: &str,
    entity_id: Option<&str>,
    details: &serde_json::Value,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO audit_log (at, actor, action, entity, entity_id, details) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .and_then(|mut s| {
        s.execute(params![
            now_utc(),
            actor.as_audit(),
            action,
            entity,
            entity_id,
            details.to_string()
        ])
    })
    .ctx("writing the audit log")?;
    Ok(())
}
