//! Rater profiles.

use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

use super::{Actor, At, SqlContext, Store, StoreError, audit, now_utc};
use crate::ids::RaterId;
use crate::vocab::Specialty;

/// A rater profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RaterRecord {
    /// Row id.
    pub id: RaterId,
    /// Display name (unique).
    pub name: String,
    /// Specialty.
    pub specialty: Specialty,
}

fn rater_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RaterRecord> {
    let id: i64 = r.get(0)?;
    let at = At {
        table: "raters",
        row_id: id,
    };
    Ok(RaterRecord {
        id: RaterId(id),
        name: r.get(1)?,
        specialty: at.get(r, 2, "specialty")?,
    })
}

impl Store {
    /// Creates a rater profile (the caller has validated it: see
    /// `review::create_rater`).
    pub fn insert_rater(
        &mut self,
        name: &str,
        specialty: Specialty,
        actor: &Actor,
    ) -> Result<RaterRecord, StoreError> {
        self.write("creating a rater", |tx| {
            let exists = tx
                .query_row("SELECT 1 FROM raters WHERE name = ?1", [name], |_| Ok(()))
                .optional()
                .ctx("looking up a rater")?
                .is_some();
            if exists {
                return Err(StoreError::Conflict(format!(
                    "a rater named {name:?} already exists"
                )));
            }
            tx.execute(
                "INSERT INTO raters (name, specialty, created_at) VALUES (?1, ?2, ?3)",
                params![name, specialty, now_utc()],
            )
            .ctx("creating a rater")?;
            let id = RaterId(tx.last_insert_rowid());
            audit::append(
                tx,
                actor,
                "create_rater",
                "rater",
                Some(&id.to_string()),
                &serde_json::json!({ "specialty": specialty }),
            )?;
            Ok(RaterRecord {
                id,
                name: name.to_owned(),
                specialty,
            })
        })
    }

    /// Every rater, by name.
    pub fn raters(&self) -> Result<Vec<RaterRecord>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, name, specialty FROM raters ORDER BY name")
            .ctx("listing raters")?;
        let rows = stmt.query_map([], rater_from_row).ctx("listing raters")?;
        rows.collect::<Result<Vec<_>, _>>().ctx("listing raters")
    }

    /// The rater with this id.
    pub fn rater(&self, id: RaterId) -> Result<RaterRecord, StoreError> {
        self.conn
            .query_row(
                "SELECT id, name, specialty FROM raters WHERE id = ?1",
                [id],
                rater_from_row,
            )
            .optional()
            .ctx("looking up a rater")?
            .ok_or_else(|| StoreError::NotFound {
                entity: "rater",
                key: id.to_string(),
            })
    }
}
