//! Typed row ids for the ids that travel side by side through the review
//! workflow, so that passing a rater where an assignment belongs does not
//! compile. Each is the row's integer key; serde and TypeScript see a plain
//! number.

use std::fmt;

use rusqlite::types::{FromSql, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use serde::{Deserialize, Serialize};

macro_rules! row_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[cfg_attr(feature = "specta", derive(specta::Type))]
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl ToSql for $name {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                self.0.to_sql()
            }
        }

        impl FromSql for $name {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
                i64::column_result(value).map($name)
            }
        }
    };
}

row_id!(
    /// A rater profile.
    RaterId
);
row_id!(
    /// A study.
    StudyId
);
row_id!(
    /// One item assigned to one rater in one study.
    AssignmentId
);
row_id!(
    /// An item (a question or vignette).
    ItemId
);
row_id!(
    /// A registered model.
    ModelId
);
row_id!(
    /// A retraining round.
    RoundId
);
row_id!(
    /// One stored answer.
    GenerationId
);
row_id!(
    /// An augmentation run.
    AugmentRunId
);
