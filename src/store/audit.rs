//! The append-only audit log (triggers in the schema refuse updates and deletes).

use rusqlite::{Transaction, params};

use super::{SqlContext, StoreError, now_utc};

/// Appends one entry inside the caller's transaction, so the entry lands
/// exactly when the change it describes does.
pub(crate) fn append(
    tx: &Transaction<'_>,
    actor: &str,
    action: &str,
    entity: &str,
    entity_id: Option<&str>,
    details: &serde_json::Value,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO audit_log (at, actor, action, entity, entity_id, details) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![now_utc(), actor, action, entity, entity_id, details.to_string()],
    )
    .ctx("writing the audit log")?;
    Ok(())
}
