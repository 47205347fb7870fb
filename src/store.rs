//! The SQLite store: the only module that speaks SQL.
//!
//! One database file holds a whole workspace. It is opened in WAL mode with
//! foreign keys on; numbered migrations embedded in the binary are applied in
//! one transaction and tracked with `PRAGMA user_version`. A database written
//! by a newer version of the program is refused rather than guessed at.

mod audit;
mod augment;
mod corpus;
mod generations;
mod leases;
mod models;
mod packages;
mod raters;
mod ratings;
mod rounds;
mod studies;

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior};

pub use audit::Actor;
pub use augment::{
    AttemptCost, AugmentRunRecord, CitedFact, GeneratorProfile, ItemRevision, NewAugmentRun,
    NewSyntheticItem, RejectionRecord, ReviewCounts, ReviewDecision, SyntheticItem,
};
pub use corpus::{ItemFilter, ItemRecord, LoadReport};
pub use generations::{ExportRow, GenerationRecord, NewGeneration};
pub use leases::{GenerationLeases, LEASE_TTL, LeaseClaim, LeaseHolder, LeaseRecord};
pub use models::{ModelRecord, NewLocalModel, NewRemoteModel};
pub use packages::{
    ImportAnswer, ImportAssignment, MergeSummary, PackageSource, RaterWork, SourceAssignment,
    StudyImport, StudyImportSummary, TravellingItem, TravellingPreference, TravellingRater,
    TravellingRating, TravellingStudy, TravellingSubmission,
};
pub use raters::RaterRecord;
pub use ratings::{PreferenceRow, RATING_EXPORT_SQL, RatingExportRow, RatingRow};
pub use rounds::{
    ApprovedSynthetic, EpochRow, NewRound, RatedAnswer, RaterScores, RoundExample, RoundRecord,
    StepRow,
};
pub use studies::{
    AssignmentRecord, ItemRaters, NewAssignment, NewStudyRow, QueueRow, RaterProgress, StudyAnswer,
    StudyRecord,
};

/// Migrations in order; index + 1 is the schema version they produce.
/// A shipped migration is never edited: add a new file instead.
const MIGRATIONS: &[(&str, &str)] = &[
    (
        "0001_initial",
        include_str!("store/migrations/0001_initial.sql"),
    ),
    (
        "0002_review_indexes",
        include_str!("store/migrations/0002_review_indexes.sql"),
    ),
    (
        "0003_model_load_failures",
        include_str!("store/migrations/0003_model_load_failures.sql"),
    ),
    (
        "0004_generation_leases",
        include_str!("store/migrations/0004_generation_leases.sql"),
    ),
    (
        "0005_round_datasets",
        include_str!("store/migrations/0005_round_datasets.sql"),
    ),
    (
        "0006_stable_ids",
        include_str!("store/migrations/0006_stable_ids.sql"),
    ),
    (
        "0007_augmentation",
        include_str!("store/migrations/0007_augmentation.sql"),
    ),
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Errors of the store, with the context needed to act on them.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed while doing `context`.
    #[error("database error while {context}: {source}")]
    Sqlite {
        /// What the store was doing.
        context: String,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
    },
    /// The database was written by a newer version of LLM4Sweat.
    #[error(
        "{path} uses schema version {found}, but this build of llm4sweat only knows up to version {supported}; \
         upgrade llm4sweat to open it (the file was not modified)"
    )]
    NewerSchema {
        /// The database file.
        path: PathBuf,
        /// The version found in the file.
        found: i64,
        /// The newest version this build knows.
        supported: i64,
    },
    /// The database directory could not be created.
    #[error("could not create {path}: {source}")]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A named thing does not exist.
    #[error("no {entity} named {key:?}")]
    NotFound {
        /// What kind of thing.
        entity: &'static str,
        /// The name or id looked up.
        key: String,
    },
    /// The request contradicts what is stored.
    #[error("{0}")]
    Conflict(String),
    /// The assignment's ratings were submitted and are final.
    #[error("these ratings were already submitted and can no longer change")]
    AlreadySubmitted(crate::ids::AssignmentId),
    /// The study is not open for ratings.
    #[error("the study is closed")]
    StudyNotOpen,
    /// A pack would rewrite items that answers, studies or assignments use.
    #[error(
        "the pack changes the text, kind or category of {} item(s) already answered or in a study ({}); \
         an item in use is never rewritten, so its answers and ratings keep their question: \
         give the changed items new ids (the old ones stay as they are); nothing was loaded",
        .0.len(),
        .0.join(", ")
    )]
    ItemsInUse(Vec<String>),
    /// A stored value does not decode into its type: the database was
    /// edited by hand or by another program. Nothing is guessed.
    #[error(transparent)]
    BadColumn(#[from] BadColumn),
    /// A value could not be encoded as JSON for storing.
    #[error("could not encode {context} as JSON: {source}")]
    Json {
        /// Where.
        context: String,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
}

/// A stored value that does not decode, with where it sits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the stored {column} of {table} row {row_id} does not decode ({message}); \
     the database was changed outside llm4sweat, and nothing was done with a guessed value"
)]
pub struct BadColumn {
    /// The table.
    pub table: &'static str,
    /// The row's id.
    pub row_id: i64,
    /// The column.
    pub column: &'static str,
    /// What is wrong with the value.
    pub message: String,
}

/// Adds context to rusqlite errors.
pub(crate) trait SqlContext<T> {
    fn ctx(self, context: &str) -> Result<T, StoreError>;
}

impl<T> SqlContext<T> for Result<T, rusqlite::Error> {
    fn ctx(self, context: &str) -> Result<T, StoreError> {
        self.map_err(|source| match source {
            rusqlite::Error::FromSqlConversionFailure(_, _, e) if e.is::<BadColumn>() => {
                match e.downcast::<BadColumn>() {
                    Ok(bad) => StoreError::BadColumn(*bad),
                    Err(e) => StoreError::Sqlite {
                        context: context.to_owned(),
                        source: rusqlite::Error::FromSqlConversionFailure(
                            0,
                            rusqlite::types::Type::Text,
                            e,
                        ),
                    },
                }
            }
            source => StoreError::Sqlite {
                context: context.to_owned(),
                source,
            },
        })
    }
}

/// Where a column being decoded sits, for [`BadColumn`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct At {
    pub table: &'static str,
    pub row_id: i64,
}

impl At {
    fn bad(self, idx: usize, column: &'static str, message: String) -> rusqlite::Error {
        rusqlite::Error::FromSqlConversionFailure(
            idx,
            rusqlite::types::Type::Text,
            Box::new(BadColumn {
                table: self.table,
                row_id: self.row_id,
                column,
                message,
            }),
        )
    }

    /// Reads a typed column (a vocabulary word, an id…); a value that does
    /// not convert is a [`BadColumn`].
    pub fn get<T: rusqlite::types::FromSql>(
        self,
        r: &rusqlite::Row<'_>,
        idx: usize,
        column: &'static str,
    ) -> rusqlite::Result<T> {
        r.get(idx).map_err(|e| match e {
            rusqlite::Error::FromSqlConversionFailure(_, _, source) => {
                self.bad(idx, column, source.to_string())
            }
            rusqlite::Error::InvalidColumnType(_, _, ty) => {
                self.bad(idx, column, format!("unexpected {ty} value"))
            }
            other => other,
        })
    }

    /// Reads a JSON column into its type; JSON that does not decode is a [`BadColumn`].
    pub fn json<T: serde::de::DeserializeOwned>(
        self,
        r: &rusqlite::Row<'_>,
        idx: usize,
        column: &'static str,
    ) -> rusqlite::Result<T> {
        let text: String = self.get(r, idx, column)?;
        serde_json::from_str(&text).map_err(|e| self.bad(idx, column, e.to_string()))
    }
}

/// Encodes a value for a JSON column.
pub(crate) fn to_json<T: serde::Serialize>(value: &T, context: &str) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|source| StoreError::Json {
        context: context.to_owned(),
        source,
    })
}

/// The current time in UTC, as stored (RFC 3339, milliseconds).
pub fn now_utc() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// An open workspace database.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl Store {
    /// Opens (creating if needed) the database at `path` and brings its schema
    /// up to date.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let conn = Connection::open(path).ctx(&format!("opening {}", path.display()))?;
        let mut store = Self {
            conn,
            path: path.to_path_buf(),
        };
        store.check_version()?;
        store.configure()?;
        store.migrate()?;
        Ok(store)
    }

    fn configure(&self) -> Result<(), StoreError> {
        self.conn
            .execute_batch(
                "PRAGMA journal_mode = WAL;
                 PRAGMA foreign_keys = ON;
                 PRAGMA synchronous = NORMAL;
                 PRAGMA busy_timeout = 5000;",
            )
            .ctx("configuring the connection")
    }

    fn user_version(&self) -> Result<i64, StoreError> {
        self.conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .ctx("reading the schema version")
    }

    /// Refuses a newer schema before touching the file (not even WAL mode).
    fn check_version(&self) -> Result<(), StoreError> {
        let found = self.user_version()?;
        if found > SCHEMA_VERSION {
            return Err(StoreError::NewerSchema {
                path: self.path.clone(),
                found,
                supported: SCHEMA_VERSION,
            });
        }
        Ok(())
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        if self.user_version()? >= SCHEMA_VERSION {
            return Ok(());
        }
        // Two processes may open an old file at once: the write lock comes
        // first and the version is read again under it, so only one migrates.
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx("starting the migration")?;
        let current: i64 = tx
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .ctx("reading the schema version")?;
        if current > SCHEMA_VERSION {
            return Err(StoreError::NewerSchema {
                path: self.path.clone(),
                found: current,
                supported: SCHEMA_VERSION,
            });
        }
        for (i, (name, sql)) in MIGRATIONS.iter().enumerate().skip(current as usize) {
            tx.execute_batch(sql)
                .ctx(&format!("applying migration {name}"))?;
            let version = i as i64 + 1;
            tx.pragma_update(None, "user_version", version)
                .ctx("recording the schema version")?;
        }
        tx.commit().ctx("committing the migration")
    }

    /// The schema version of the open database.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        self.user_version()
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` in one transaction: all of its writes land, or none. The
    /// transaction takes the write lock at once (`BEGIN IMMEDIATE`, waiting
    /// up to the busy timeout), so what `f` reads stays true until it
    /// commits, even with other processes writing the same file.
    pub(crate) fn write<T>(
        &mut self,
        context: &str,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx(context)?;
        let value = f(&tx)?;
        tx.commit().ctx(context)?;
        Ok(value)
    }

    /// The domain pack this workspace was created with, if initialised.
    pub fn workspace_pack(&self) -> Result<Option<WorkspacePack>, StoreError> {
        self.conn
            .query_row(
                "SELECT domain_pack, pack_version FROM workspace WHERE id = 1",
                [],
                |r| {
                    Ok(WorkspacePack {
                        id: r.get(0)?,
                        version: r.get(1)?,
                    })
                },
            )
            .optional()
            .ctx("reading the workspace")
    }

    /// Counts rows of a table, for summaries and tests.
    pub fn count(&self, table: Table) -> Result<i64, StoreError> {
        let sql = format!("SELECT COUNT(*) FROM {}", table.name());
        self.conn
            .query_row(&sql, [], |r| r.get(0))
            .ctx("counting rows")
    }

    /// Whether SQLite finds the file consistent (`PRAGMA integrity_check`).
    pub fn integrity_ok(&self) -> Result<bool, StoreError> {
        let res: String = self
            .conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .ctx("checking integrity")?;
        Ok(res == "ok")
    }

    /// Appends an entry to the audit log in its own transaction.
    pub fn audit(
        &mut self,
        actor: &Actor,
        action: &str,
        entity: &str,
        entity_id: Option<&str>,
        details: &serde_json::Value,
    ) -> Result<(), StoreError> {
        self.write("writing the audit log", |tx| {
            audit::append(tx, actor, action, entity, entity_id, details)
        })
    }
}

/// The domain pack a workspace was created with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkspacePack {
    /// The pack's id (`hyperhidrosis`).
    pub id: String,
    /// The version last loaded.
    pub version: i64,
}

/// Tables that [`Store::count`] can count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    /// Seed sources.
    SeedSources,
    /// Seed facts.
    SeedFacts,
    /// Items.
    Items,
    /// Models.
    Models,
    /// Generations.
    Generations,
    /// Leases of concurrent generation runs.
    GenerationLeases,
    /// The audit log.
    AuditLog,
    /// Studies.
    Studies,
    /// Raters.
    Raters,
    /// Assignments.
    Assignments,
    /// Ratings.
    Ratings,
    /// Preferences.
    Preferences,
    /// Imported packages and ratings files.
    PackageImports,
    /// Augmentation runs.
    AugmentRuns,
    /// Refused generator answers.
    AugmentRejections,
    /// Experts' edits of items.
    ItemRevisions,
}

impl Table {
    fn name(self) -> &'static str {
        match self {
            Table::SeedSources => "seed_sources",
            Table::SeedFacts => "seed_facts",
            Table::Items => "items",
            Table::Models => "models",
            Table::Generations => "generations",
            Table::GenerationLeases => "generation_leases",
            Table::Studies => "studies",
            Table::Raters => "raters",
            Table::Assignments => "assignments",
            Table::Ratings => "ratings",
            Table::Preferences => "preferences",
            Table::PackageImports => "package_imports",
            Table::AugmentRuns => "augment_runs",
            Table::AugmentRejections => "augment_rejections",
            Table::ItemRevisions => "item_revisions",
            Table::AuditLog => "audit_log",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_that_travel_get_random_uuids_old_and_new() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("ws.sqlite3");
        // A workspace at schema 5 with rows, then migrated: the old rows get
        // UUIDs; rows inserted later get them from the trigger.
        let conn = Connection::open(&path).expect("open");
        for (i, (_, sql)) in MIGRATIONS[..5].iter().enumerate() {
            conn.execute_batch(sql).expect("migration");
            conn.pragma_update(None, "user_version", i as i64 + 1)
                .expect("version");
        }
        conn.execute(
            "INSERT INTO raters (name, specialty, created_at) VALUES ('old', 'other', 'now')",
            [],
        )
        .expect("old rater");
        drop(conn);
        let mut store = Store::open(&path).expect("migrate");
        store
            .insert_rater("new", crate::vocab::Specialty::Dermatology, &Actor::Cli)
            .expect("new rater");
        let uuids: Vec<String> = store
            .conn
            .prepare("SELECT uuid FROM raters ORDER BY id")
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .expect("uuids");
        assert_eq!(uuids.len(), 2);
        assert_ne!(uuids[0], uuids[1]);
        for u in &uuids {
            let groups: Vec<usize> = u.split('-').map(str::len).collect();
            assert_eq!(groups, [8, 4, 4, 4, 12], "{u}");
            assert_eq!(&u[14..15], "4", "version 4: {u}");
            assert!("89ab".contains(&u[19..20]), "RFC 4122 variant: {u}");
            assert!(u.chars().all(|c| c == '-' || c.is_ascii_hexdigit()), "{u}");
        }
        // A given UUID is kept (rows imported from a package), and must be unique.
        store
            .conn
            .execute(
                "INSERT INTO raters (name, specialty, created_at, uuid) VALUES ('imported', 'other', 'now', ?1)",
                [&uuids[0]],
            )
            .expect_err("a UUID is unique");
    }

    #[test]
    fn migrations_apply_to_an_empty_file_and_are_idempotent() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("ws.sqlite3");
        let store = Store::open(&path).expect("open");
        assert_eq!(store.schema_version().expect("version"), SCHEMA_VERSION);
        drop(store);
        let store = Store::open(&path).expect("reopen");
        assert_eq!(store.schema_version().expect("version"), SCHEMA_VERSION);
        assert!(store.integrity_ok().expect("integrity"));
    }

    #[test]
    fn audit_log_is_append_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = Store::open(&dir.path().join("ws.sqlite3")).expect("open");
        store
            .audit(
                &Actor::Cli,
                "did",
                "thing",
                Some("1"),
                &serde_json::json!({}),
            )
            .expect("append");
        let err = store
            .conn
            .execute("DELETE FROM audit_log", [])
            .expect_err("delete must fail");
        assert!(err.to_string().contains("append-only"), "{err}");
        assert_eq!(store.count(Table::AuditLog).expect("count"), 1);
    }
}
