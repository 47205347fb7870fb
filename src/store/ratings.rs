//! Ratings and preferences: drafts, submission, and the unblinded export rows.

use rusqlite::{OptionalExtension, Transaction, params};
use serde::{Deserialize, Serialize};

use super::{Actor, At, SqlContext, Store, StoreError, audit, now_utc};
use crate::ids::{AssignmentId, GenerationId, StudyId};
use crate::vocab::{AssignmentStatus, HarmLevel, HarmLikelihood, Specialty, StudyStatus, Verdict};

/// One stored rating of one answer.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RatingRow {
    /// Accuracy 1–5.
    pub accuracy: Option<i64>,
    /// Appropriateness 1–5.
    pub appropriateness: Option<i64>,
    /// Empathy 1–5.
    pub empathy: Option<i64>,
    /// Possible harm.
    pub harm: Option<HarmLevel>,
    /// Likelihood of that harm.
    pub harm_likelihood: Option<HarmLikelihood>,
    /// Free-text comment.
    pub comment: Option<String>,
    /// The expert's corrected answer.
    pub corrected_answer: Option<String>,
}

impl RatingRow {
    /// The rating of an answer that has not been rated yet: every field empty.
    pub fn unrated() -> Self {
        Self::default()
    }
}

/// A stored preference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreferenceRow {
    /// Better, tie or both bad.
    pub verdict: Verdict,
    /// The preferred generation when `verdict` is `better`.
    pub preferred_generation_id: Option<GenerationId>,
}

/// One row of a study's ratings export (unblinded, for the coordinator).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RatingExportRow {
    /// Study name.
    pub study: String,
    /// Rater name.
    pub rater: String,
    /// Rater specialty.
    pub specialty: Specialty,
    /// Item external id.
    pub item: String,
    /// Item category.
    pub category: String,
    /// Model name (unblinded).
    pub model: String,
    /// Generation id.
    pub generation_id: GenerationId,
    /// Accuracy.
    pub accuracy: Option<i64>,
    /// Appropriateness.
    pub appropriateness: Option<i64>,
    /// Empathy.
    pub empathy: Option<i64>,
    /// Possible harm.
    pub harm: Option<HarmLevel>,
    /// Likelihood of harm.
    pub harm_likelihood: Option<HarmLikelihood>,
    /// Comment.
    pub comment: Option<String>,
    /// Corrected answer.
    pub corrected_answer: Option<String>,
    /// Preference verdict of the item.
    pub preference: Option<Verdict>,
    /// Whether this answer was the preferred one.
    pub preferred: bool,
    /// Assignment status.
    pub status: AssignmentStatus,
    /// When the rater submitted.
    pub submitted_at: Option<String>,
}

impl Store {
    /// The rating of one answer in one assignment, if any.
    pub fn rating(
        &self,
        assignment_id: AssignmentId,
        generation_id: GenerationId,
    ) -> Result<Option<RatingRow>, StoreError> {
        self.conn
            .query_row(
                "SELECT accuracy, appropriateness, empathy, harm, harm_likelihood, comment, corrected_answer, id
                 FROM ratings WHERE assignment_id = ?1 AND generation_id = ?2",
                params![assignment_id, generation_id],
                |r| {
                    let at = At {
                        table: "ratings",
                        row_id: r.get(7)?,
                    };
                    Ok(RatingRow {
                        accuracy: r.get(0)?,
                        appropriateness: r.get(1)?,
                        empathy: r.get(2)?,
                        harm: at.get(r, 3, "harm")?,
                        harm_likelihood: at.get(r, 4, "harm_likelihood")?,
                        comment: r.get(5)?,
                        corrected_answer: r.get(6)?,
                    })
                },
            )
            .optional()
            .ctx("reading a rating")
    }

    /// The preference of one assignment, if any.
    pub fn preference(
        &self,
        assignment_id: AssignmentId,
    ) -> Result<Option<PreferenceRow>, StoreError> {
        self.conn
            .query_row(
                "SELECT verdict, preferred_generation_id FROM preferences WHERE assignment_id = ?1",
                [assignment_id],
                |r| {
                    let at = At {
                        table: "preferences",
                        row_id: assignment_id.0,
                    };
                    Ok(PreferenceRow {
                        verdict: at.get(r, 0, "verdict")?,
                        preferred_generation_id: r.get(1)?,
                    })
                },
            )
            .optional()
            .ctx("reading a preference")
    }

    /// Saves (inserts or replaces) a draft rating and marks the assignment as a draft.
    pub fn upsert_rating(
        &mut self,
        assignment_id: AssignmentId,
        generation_id: GenerationId,
        r: &RatingRow,
    ) -> Result<(), StoreError> {
        self.write("saving a rating", |tx| {
            ensure_not_submitted(tx, assignment_id)?;
            let now = now_utc();
            tx.execute(
                "INSERT INTO ratings (assignment_id, generation_id, accuracy, appropriateness, empathy, harm,
                                      harm_likelihood, comment, corrected_answer, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)
                 ON CONFLICT(assignment_id, generation_id) DO UPDATE SET accuracy = excluded.accuracy,
                   appropriateness = excluded.appropriateness, empathy = excluded.empathy, harm = excluded.harm,
                   harm_likelihood = excluded.harm_likelihood, comment = excluded.comment,
                   corrected_answer = excluded.corrected_answer, updated_at = excluded.updated_at",
                params![
                    assignment_id,
                    generation_id,
                    r.accuracy,
                    r.appropriateness,
                    r.empathy,
                    r.harm,
                    r.harm_likelihood,
                    r.comment,
                    r.corrected_answer,
                    now
                ],
            )
            .ctx("saving a rating")?;
            tx.execute("UPDATE assignments SET status = 'draft' WHERE id = ?1 AND status = 'pending'", [assignment_id])
                .ctx("marking a draft")?;
            Ok(())
        })
    }

    /// Saves the preference of an assignment.
    pub fn upsert_preference(
        &mut self,
        assignment_id: AssignmentId,
        p: &PreferenceRow,
    ) -> Result<(), StoreError> {
        self.write("saving a preference", |tx| {
            ensure_not_submitted(tx, assignment_id)?;
            tx.execute(
                "INSERT INTO preferences (assignment_id, verdict, preferred_generation_id, updated_at)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(assignment_id) DO UPDATE SET verdict = excluded.verdict,
                   preferred_generation_id = excluded.preferred_generation_id, updated_at = excluded.updated_at",
                params![assignment_id, p.verdict, p.preferred_generation_id, now_utc()],
            )
            .ctx("saving a preference")?;
            tx.execute("UPDATE assignments SET status = 'draft' WHERE id = ?1 AND status = 'pending'", [assignment_id])
                .ctx("marking a draft")?;
            Ok(())
        })
    }

    /// Marks an assignment submitted (final).
    pub fn submit_assignment(
        &mut self,
        assignment_id: AssignmentId,
        actor: &Actor,
    ) -> Result<(), StoreError> {
        self.write("submitting ratings", |tx| {
            ensure_not_submitted(tx, assignment_id)?;
            tx.execute(
                "UPDATE assignments SET status = 'submitted', submitted_at = ?2 WHERE id = ?1",
                params![assignment_id, now_utc()],
            )
            .ctx("submitting ratings")?;
            audit::append(
                tx,
                actor,
                "submit",
                "assignment",
                Some(&assignment_id.to_string()),
                &serde_json::json!({}),
            )
        })
    }

    /// Every rating of a study, unblinded, for export.
    pub fn study_rating_rows(&self, study_id: StudyId) -> Result<Vec<RatingExportRow>, StoreError> {
        let mut rows = Vec::new();
        self.each_study_rating_row(study_id, |r| {
            rows.push(r);
            Ok::<_, StoreError>(())
        })?;
        Ok(rows)
    }

    /// Calls `f` with every rating of a study (unblinded, as
    /// [`Store::study_rating_rows`] lists them) as it is read, without
    /// holding them all; stops at `f`'s first error. Returns the rows read.
    pub fn each_study_rating_row<E: From<StoreError>>(
        &self,
        study_id: StudyId,
        mut f: impl FnMut(RatingExportRow) -> Result<(), E>,
    ) -> Result<u64, E> {
        let mut stmt = self
            .conn
            .prepare(RATING_EXPORT_SQL)
            .ctx("exporting ratings")?;
        let rows = stmt
            .query_map([study_id], |r| {
                let at = At {
                    table: "ratings",
                    row_id: r.get(18)?,
                };
                let generation_id: GenerationId = r.get(6)?;
                let preferred: Option<GenerationId> = r.get(15)?;
                Ok(RatingExportRow {
                    study: r.get(0)?,
                    rater: r.get(1)?,
                    specialty: at.get(r, 2, "raters.specialty")?,
                    item: r.get(3)?,
                    category: r.get(4)?,
                    model: r.get(5)?,
                    generation_id,
                    accuracy: r.get(7)?,
                    appropriateness: r.get(8)?,
                    empathy: r.get(9)?,
                    harm: at.get(r, 10, "harm")?,
                    harm_likelihood: at.get(r, 11, "harm_likelihood")?,
                    comment: r.get(12)?,
                    corrected_answer: r.get(13)?,
                    preference: at.get(r, 14, "preferences.verdict")?,
                    preferred: preferred == Some(generation_id),
                    status: at.get(r, 16, "assignments.status")?,
                    submitted_at: r.get(17)?,
                })
            })
            .ctx("exporting ratings")?;
        let mut n = 0;
        for row in rows {
            f(row.ctx("exporting ratings")?)?;
            n += 1;
        }
        Ok(n)
    }

    /// Benchmark fixture (not for the app): rates every answer of every
    /// assignment of `study_id` with scores derived from the row ids, gives
    /// each assignment a preference for one of its answers, and submits it,
    /// in one transaction. Returns the ratings written.
    #[cfg(feature = "testkit")]
    pub fn fill_study_ratings_for_bench(&mut self, study_id: StudyId) -> Result<u64, StoreError> {
        self.write("filling a benchmark study", |tx| {
            let now = now_utc();
            let n = tx
                .execute(
                    "INSERT INTO ratings (assignment_id, generation_id, accuracy, appropriateness, empathy,
                                          harm, comment, created_at, updated_at)
                     SELECT a.id, g.id, 1 + (a.id * 7 + g.model_id * 3) % 5, 1 + (a.id * 5 + g.model_id) % 5,
                            1 + (a.id * 3 + g.model_id * 2) % 5, 'none',
                            CASE WHEN a.id % 50 = 0 THEN 'Clear, but says \"see a doctor\", twice; ok' END, ?2, ?2
                     FROM assignments a
                     JOIN studies s ON s.id = a.study_id
                     JOIN study_models sm ON sm.study_id = a.study_id
                     JOIN generations g ON g.item_id = a.item_id AND g.model_id = sm.model_id
                                       AND g.params_hash = s.params_hash
                     WHERE a.study_id = ?1",
                    params![study_id, now],
                )
                .ctx("filling a benchmark study")?;
            tx.execute(
                "INSERT INTO preferences (assignment_id, verdict, preferred_generation_id, updated_at)
                 SELECT a.id, 'better',
                        (SELECT r.generation_id FROM ratings r WHERE r.assignment_id = a.id
                         ORDER BY (r.generation_id * 7 + a.id) % 3, r.generation_id LIMIT 1), ?2
                 FROM assignments a WHERE a.study_id = ?1",
                params![study_id, now],
            )
            .ctx("filling a benchmark study")?;
            tx.execute(
                "UPDATE assignments SET status = 'submitted', submitted_at = ?2 WHERE study_id = ?1",
                params![study_id, now],
            )
            .ctx("filling a benchmark study")?;
            Ok(n as u64)
        })
    }
}

/// The query behind [`Store::each_study_rating_row`] (`?1` the study id):
/// one row per rating, unblinded, in assignment and model-name order.
pub const RATING_EXPORT_SQL: &str =
    "SELECT s.name, rt.name, rt.specialty, i.external_id, i.category, m.name, g.id,
        r.accuracy, r.appropriateness, r.empathy, r.harm, r.harm_likelihood, r.comment,
        r.corrected_answer, p.verdict, p.preferred_generation_id, a.status, a.submitted_at, r.id
 FROM ratings r
 JOIN assignments a ON a.id = r.assignment_id
 JOIN studies s ON s.id = a.study_id
 JOIN raters rt ON rt.id = a.rater_id
 JOIN items i ON i.id = a.item_id
 JOIN generations g ON g.id = r.generation_id
 JOIN models m ON m.id = g.model_id
 LEFT JOIN preferences p ON p.assignment_id = a.id
 WHERE a.study_id = ?1 ORDER BY a.id, m.name";

fn ensure_not_submitted(
    tx: &Transaction<'_>,
    assignment_id: AssignmentId,
) -> Result<(), StoreError> {
    let status: Option<(AssignmentStatus, StudyStatus)> = tx
        .query_row(
            "SELECT a.status, s.status, s.id FROM assignments a JOIN studies s ON s.id = a.study_id WHERE a.id = ?1",
            [assignment_id],
            |r| {
                let assignment = At {
                    table: "assignments",
                    row_id: assignment_id.0,
                };
                let study = At {
                    table: "studies",
                    row_id: r.get(2)?,
                };
                Ok((assignment.get(r, 0, "status")?, study.get(r, 1, "status")?))
            },
        )
        .optional()
        .ctx("reading an assignment")?;
    match status {
        None => Err(StoreError::NotFound {
            entity: "assignment",
            key: assignment_id.to_string(),
        }),
        Some((AssignmentStatus::Submitted, _)) => Err(StoreError::AlreadySubmitted(assignment_id)),
        Some((_, StudyStatus::Open)) => Ok(()),
        Some((_, _)) => Err(StoreError::StudyNotOpen),
    }
}
