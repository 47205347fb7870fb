//! Blind review: studies, assignments, the rater's blinded view, ratings.
//!
//! Blinding is a security property: [`BlindedItem`] carries the question and
//! the answers' texts under letters, nothing else — no model name, id, file,
//! size or timing. Answers are shown in an order shuffled per rater and item
//! from a stored seed, so reopening shows the same order.
//!
//! - `study`: setting a study up, assigning raters, generating its answers.
//! - `blinding`: answer order, the rater's queue and blinded item.
//! - `rating`: saving and submitting ratings, the ratings export.
//! - `raters`: rater profiles.
//! - [`results`]: the coordinator's (unblinded) results.
//! - [`report`]: the publishable report (JSON, text tables, HTML).
//! - [`exports`]: the ratings as wide CSV and JSON, and the codebooks.

pub(crate) mod blinding;
pub mod exports;
mod raters;
mod rating;
pub mod report;
pub mod results;
mod study;

pub use blinding::{
    BlindedAnswer, BlindedItem, QueueEntry, blinded_item, order_seed, permutation, queue,
};
pub use raters::create_rater;
pub use rating::{RATING_COLUMNS, export_ratings_csv, save_preference, save_rating, submit};
pub use study::{
    DEMO_STUDY, MissingAnswers, OpenBackend, StudyOverview, StudySpec, create_study,
    ensure_demo_study, generate_study_answers, join_open_studies, missing_answers, study_overview,
};

use crate::generate::GenerateError;
use crate::ids::AssignmentId;
use crate::store::StoreError;
use crate::vocab::{AnswerLabel, Axis};

/// The longest rater name, study name, in characters.
pub const MAX_NAME: usize = 120;
/// The longest comment or corrected answer, in characters.
pub const MAX_TEXT: usize = 20_000;

/// Errors of the review workflow: one variant per refusal, so that callers
/// and tests match on what happened rather than on message text.
#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    /// The database refused.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Answer generation failed.
    #[error(transparent)]
    Generate(#[from] GenerateError),
    /// A name (of a rater, a study) is empty or too long.
    #[error("a {what} name needs 1 to {MAX_NAME} characters (got {chars})")]
    BadName {
        /// What is being named.
        what: &'static str,
        /// Its length after trimming.
        chars: usize,
    },
    /// A study compares 2 to 4 models.
    #[error("a study compares 2 to 4 models side by side; {0} chosen")]
    ModelCount(usize),
    /// A model is listed twice in a study.
    #[error("model {0:?} is listed twice")]
    DuplicateModel(String),
    /// Each item needs at least one rater.
    #[error("each item needs at least one rater (overlap ≥ 1)")]
    ZeroOverlap,
    /// An item limit of zero selects nothing.
    #[error("the item limit must be at least 1")]
    ZeroLimit,
    /// The study's selection matches no item.
    #[error("no items match the study's selection")]
    NoItems,
    /// Not every answer of the item has been generated yet.
    #[error("this item is not ready: {generated} of {expected} answers have been generated")]
    NotReady {
        /// Answers present.
        generated: usize,
        /// Answers the study needs.
        expected: usize,
    },
    /// The item has no answer under this letter.
    #[error("there is no answer {0}")]
    UnknownAnswer(AnswerLabel),
    /// A score outside the rubric's scale.
    #[error("{axis} must be between 1 and 5, got {value}")]
    ScoreOutOfRange {
        /// The axis.
        axis: Axis,
        /// The score given.
        value: i64,
    },
    /// A free text over the limit.
    #[error("the {field} is {chars} characters long; the limit is {MAX_TEXT}")]
    TextTooLong {
        /// Which text.
        field: &'static str,
        /// Its length.
        chars: usize,
    },
    /// The ratings were submitted already.
    #[error("these ratings were already submitted")]
    AlreadySubmitted(AssignmentId),
    /// Submitting needs every score and the preference.
    #[error("still missing: {}", .0.join(", "))]
    Incomplete(Vec<String>),
    /// The report has no such breakdown.
    #[error("the report has no group {group:?}; groups: {known}")]
    UnknownGroup {
        /// The group asked for.
        group: String,
        /// The groups it has.
        known: String,
    },
    /// A chart cannot be drawn for this part of the report.
    #[error("there is no {chart} chart for {group}: {why}")]
    NoChart {
        /// The chart.
        chart: &'static str,
        /// The part of the report.
        group: String,
        /// Why not.
        why: String,
    },
    /// Rasterizing a chart failed.
    #[error("could not draw the chart as PNG: {0}")]
    Render(String),
    /// Writing an export failed.
    #[error("could not write the {what}: {source}")]
    Io {
        /// What was being written.
        what: &'static str,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// Checks a name: trimmed, 1 to [`MAX_NAME`] characters. Returns it trimmed.
pub(crate) fn check_name<'a>(what: &'static str, name: &'a str) -> Result<&'a str, ReviewError> {
    let name = name.trim();
    let chars = name.chars().count();
    if chars == 0 || chars > MAX_NAME {
        return Err(ReviewError::BadName { what, chars });
    }
    Ok(name)
}
