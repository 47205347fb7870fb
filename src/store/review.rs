//! Raters, studies, assignments, ratings and preferences.

use rusqlite::{OptionalExtension, Transaction, params};
use serde::{Deserialize, Serialize};

use super::{SqlContext, Store, StoreError, audit, now_utc};

/// A rater profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RaterRecord {
    /// Row id.
    pub id: i64,
    /// Display name (unique).
    pub name: String,
    /// `dermatology`, `psychology` or `other`.
    pub specialty: String,
}

/// A study as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudyRecord {
    /// Row id.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// `open` or `closed`.
    pub status: String,
    /// Raters per item.
    pub overlap: i64,
    /// Randomisation seed.
    pub seed: i64,
    /// Identity of the sampling setting whose answers are reviewed.
    pub params_hash: String,
    /// Sampling params (JSON).
    pub params: serde_json::Value,
    /// System prompt the answers were generated with.
    pub system_prompt: String,
    /// Rubric (JSON).
    pub rubric: serde_json::Value,
    /// Creation time.
    pub created_at: String,
}

/// A study to insert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewStudyRow {
    /// Unique name.
    pub name: String,
    /// Raters per item.
    pub overlap: i64,
    /// Randomisation seed.
    pub seed: i64,
    /// Sampling setting identity.
    pub params_hash: String,
    /// Sampling params.
    pub params: serde_json::Value,
    /// System prompt.
    pub system_prompt: String,
    /// Rubric.
    pub rubric: serde_json::Value,
    /// Models compared.
    pub model_ids: Vec<i64>,
    /// Items reviewed.
    pub item_ids: Vec<i64>,
}

/// One assignment of an item to a rater.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssignmentRecord {
    /// Row id.
    pub id: i64,
    /// The study.
    pub study_id: i64,
    /// The rater.
    pub rater_id: i64,
    /// The item.
    pub item_id: i64,
    /// Seed of the answer order shown to this rater.
    pub order_seed: i64,
    /// `pending`, `draft` or `submitted`.
    pub status: String,
}

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
    /// `none`, `mild_moderate` or `severe`.
    pub harm: Option<String>,
    /// `low`, `medium` or `high`.
    pub harm_likelihood: Option<String>,
    /// Free-text comment.
    pub comment: Option<String>,
    /// The expert's corrected answer.
    pub corrected_answer: Option<String>,
}

/// A stored preference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreferenceRow {
    /// `better`, `tie` or `both_bad`.
    pub verdict: String,
    /// The preferred generation when `verdict` is `better`.
    pub preferred_generation_id: Option<i64>,
}

/// One row of a study's ratings export (unblinded, for the coordinator).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RatingExportRow {
    /// Study name.
    pub study: String,
    /// Rater name.
    pub rater: String,
    /// Rater specialty.
    pub specialty: String,
    /// Item external id.
    pub item: String,
    /// Item category.
    pub category: String,
    /// Model name (unblinded).
    pub model: String,
    /// Generation id.
    pub generation_id: i64,
    /// Accuracy.
    pub accuracy: Option<i64>,
    /// Appropriateness.
    pub appropriateness: Option<i64>,
    /// Empathy.
    pub empathy: Option<i64>,
    /// Possible harm.
    pub harm: Option<String>,
    /// Likelihood of harm.
    pub harm_likelihood: Option<String>,
    /// Comment.
    pub comment: Option<String>,
    /// Corrected answer.
    pub corrected_answer: Option<String>,
    /// Preference verdict of the item (`better`, `tie`, `both_bad`).
    pub preference: Option<String>,
    /// Whether this answer was the preferred one.
    pub preferred: bool,
    /// Assignment status.
    pub status: String,
    /// When the rater submitted.
    pub submitted_at: Option<String>,
}

fn study_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<StudyRecord> {
    let params: String = r.get(6)?;
    let rubric: String = r.get(8)?;
    Ok(StudyRecord {
        id: r.get(0)?,
        name: r.get(1)?,
        status: r.get(2)?,
        overlap: r.get(3)?,
        seed: r.get(4)?,
        params_hash: r.get(5)?,
        params: serde_json::from_str(&params).unwrap_or(serde_json::Value::Null),
        system_prompt: r.get(7)?,
        rubric: serde_json::from_str(&rubric).unwrap_or(serde_json::Value::Null),
        created_at: r.get(9)?,
    })
}

const STUDY_COLUMNS: &str =
    "id, name, status, overlap, seed, params_hash, params, system_prompt, rubric, created_at";

impl Store {
    /// Creates a rater profile.
    pub fn insert_rater(&mut self, name: &str, specialty: &str) -> Result<RaterRecord, StoreError> {
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
            let id = tx.last_insert_rowid();
            audit::append(
                tx,
                "app",
                "create_rater",
                "rater",
                Some(&id.to_string()),
                &serde_json::json!({ "specialty": specialty }),
            )?;
            Ok(RaterRecord {
                id,
                name: name.to_owned(),
                specialty: specialty.to_owned(),
            })
        })
    }

    /// Every rater, by name.
    pub fn raters(&self) -> Result<Vec<RaterRecord>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, name, specialty FROM raters ORDER BY name")
            .ctx("listing raters")?;
        let rows = stmt
            .query_map([], |r| {
                Ok(RaterRecord {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    specialty: r.get(2)?,
                })
            })
            .ctx("listing raters")?;
        rows.collect::<Result<Vec<_>, _>>().ctx("listing raters")
    }

    /// The rater with this id.
    pub fn rater(&self, id: i64) -> Result<RaterRecord, StoreError> {
        self.conn
            .query_row(
                "SELECT id, name, specialty FROM raters WHERE id = ?1",
                [id],
                |r| {
                    Ok(RaterRecord {
                        id: r.get(0)?,
                        name: r.get(1)?,
                        specialty: r.get(2)?,
                    })
                },
            )
            .optional()
            .ctx("looking up a rater")?
            .ok_or_else(|| StoreError::NotFound {
                entity: "rater",
                key: id.to_string(),
            })
    }

    /// Inserts a study with its models and items, and assigns the given
    /// `(rater, item, order_seed)` triples, all in one transaction.
    pub fn insert_study(
        &mut self,
        s: &NewStudyRow,
        assignments: &[(i64, i64, i64)],
    ) -> Result<i64, StoreError> {
        self.write("creating a study", |tx| {
            let taken = tx
                .query_row("SELECT 1 FROM studies WHERE name = ?1", [&s.name], |_| Ok(()))
                .optional()
                .ctx("looking up a study")?
                .is_some();
            if taken {
                return Err(StoreError::Conflict(format!("a study named {:?} already exists", s.name)));
            }
            tx.execute(
                "INSERT INTO studies (name, status, rubric, overlap, seed, params_hash, params, system_prompt, created_at)
                 VALUES (?1, 'open', ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    s.name,
                    s.rubric.to_string(),
                    s.overlap,
                    s.seed,
                    s.params_hash,
                    s.params.to_string(),
                    s.system_prompt,
                    now_utc()
                ],
            )
            .ctx("creating a study")?;
            let id = tx.last_insert_rowid();
            for m in &s.model_ids {
                tx.execute("INSERT INTO study_models (study_id, model_id) VALUES (?1, ?2)", params![id, m])
                    .ctx("adding a model to the study")?;
            }
            for i in &s.item_ids {
                tx.execute("INSERT INTO study_items (study_id, item_id) VALUES (?1, ?2)", params![id, i])
                    .ctx("adding an item to the study")?;
            }
            insert_assignments(tx, id, assignments)?;
            audit::append(
                tx,
                "app",
                "create_study",
                "study",
                Some(&id.to_string()),
                &serde_json::json!({ "name": s.name, "models": s.model_ids, "items": s.item_ids.len(), "overlap": s.overlap }),
            )?;
            Ok(id)
        })
    }

    /// Adds assignments to an existing study (a rater joining it).
    pub fn add_assignments(
        &mut self,
        study_id: i64,
        assignments: &[(i64, i64, i64)],
    ) -> Result<u64, StoreError> {
        self.write("assigning items", |tx| {
            insert_assignments(tx, study_id, assignments)
        })
    }

    /// All studies, newest first.
    pub fn studies(&self) -> Result<Vec<StudyRecord>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT {STUDY_COLUMNS} FROM studies ORDER BY id DESC"
            ))
            .ctx("listing studies")?;
        let rows = stmt.query_map([], study_from_row).ctx("listing studies")?;
        rows.collect::<Result<Vec<_>, _>>().ctx("listing studies")
    }

    /// The study with this id.
    pub fn study(&self, id: i64) -> Result<StudyRecord, StoreError> {
        self.conn
            .query_row(
                &format!("SELECT {STUDY_COLUMNS} FROM studies WHERE id = ?1"),
                [id],
                study_from_row,
            )
            .optional()
            .ctx("looking up a study")?
            .ok_or_else(|| StoreError::NotFound {
                entity: "study",
                key: id.to_string(),
            })
    }

    /// Model ids of a study, in id order.
    pub fn study_model_ids(&self, study_id: i64) -> Result<Vec<i64>, StoreError> {
        self.ids(
            "SELECT model_id FROM study_models WHERE study_id = ?1 ORDER BY model_id",
            study_id,
        )
    }

    /// Item ids of a study, in id order.
    pub fn study_item_ids(&self, study_id: i64) -> Result<Vec<i64>, StoreError> {
        self.ids(
            "SELECT item_id FROM study_items WHERE study_id = ?1 ORDER BY item_id",
            study_id,
        )
    }

    fn ids(&self, sql: &str, key: i64) -> Result<Vec<i64>, StoreError> {
        let mut stmt = self.conn.prepare_cached(sql).ctx("reading ids")?;
        let rows = stmt.query_map([key], |r| r.get(0)).ctx("reading ids")?;
        rows.collect::<Result<Vec<_>, _>>().ctx("reading ids")
    }

    /// Marks a study closed (no more ratings).
    pub fn close_study(&mut self, id: i64) -> Result<(), StoreError> {
        self.write("closing a study", |tx| {
            let n = tx
                .execute("UPDATE studies SET status = 'closed', closed_at = ?2 WHERE id = ?1 AND status = 'open'", params![id, now_utc()])
                .ctx("closing a study")?;
            if n == 0 {
                return Err(StoreError::Conflict(format!("study {id} is not open")));
            }
            audit::append(tx, "app", "close_study", "study", Some(&id.to_string()), &serde_json::json!({}))
        })
    }

    /// Number of raters assigned to each item of a study: `(item_id, count)`.
    pub fn assignment_counts(&self, study_id: i64) -> Result<Vec<(i64, i64)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT si.item_id, COUNT(a.id) FROM study_items si
                 LEFT JOIN assignments a ON a.study_id = si.study_id AND a.item_id = si.item_id
                 WHERE si.study_id = ?1 GROUP BY si.item_id ORDER BY si.item_id",
            )
            .ctx("counting assignments")?;
        let rows = stmt
            .query_map([study_id], |r| Ok((r.get(0)?, r.get(1)?)))
            .ctx("counting assignments")?;
        rows.collect::<Result<Vec<_>, _>>()
            .ctx("counting assignments")
    }

    /// A rater's assignments in open studies, in queue order.
    pub fn rater_assignments(&self, rater_id: i64) -> Result<Vec<AssignmentRecord>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT a.id, a.study_id, a.rater_id, a.item_id, a.order_seed, a.status FROM assignments a
                 JOIN studies s ON s.id = a.study_id
                 WHERE a.rater_id = ?1 AND s.status = 'open' ORDER BY a.study_id, a.id",
            )
            .ctx("reading the queue")?;
        let rows = stmt
            .query_map([rater_id], |r| {
                Ok(AssignmentRecord {
                    id: r.get(0)?,
                    study_id: r.get(1)?,
                    rater_id: r.get(2)?,
                    item_id: r.get(3)?,
                    order_seed: r.get(4)?,
                    status: r.get(5)?,
                })
            })
            .ctx("reading the queue")?;
        rows.collect::<Result<Vec<_>, _>>().ctx("reading the queue")
    }

    /// A rater's queue in one query: `(assignment id, study name, status,
    /// models in the study, answers already generated for the item)`.
    pub fn rater_queue_rows(
        &self,
        rater_id: i64,
    ) -> Result<Vec<(i64, String, String, i64, i64)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT a.id, s.name, a.status,
                        (SELECT COUNT(*) FROM study_models sm WHERE sm.study_id = a.study_id),
                        (SELECT COUNT(*) FROM study_models sm
                           JOIN generations g ON g.item_id = a.item_id AND g.model_id = sm.model_id
                                             AND g.params_hash = s.params_hash
                          WHERE sm.study_id = a.study_id)
                 FROM assignments a JOIN studies s ON s.id = a.study_id
                 WHERE a.rater_id = ?1 AND s.status = 'open' ORDER BY a.study_id, a.id",
            )
            .ctx("reading the queue")?;
        let rows = stmt
            .query_map([rater_id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .ctx("reading the queue")?;
        rows.collect::<Result<Vec<_>, _>>().ctx("reading the queue")
    }

    /// One assignment.
    pub fn assignment(&self, id: i64) -> Result<AssignmentRecord, StoreError> {
        self.conn
            .query_row(
                "SELECT id, study_id, rater_id, item_id, order_seed, status FROM assignments WHERE id = ?1",
                [id],
                |r| {
                    Ok(AssignmentRecord {
                        id: r.get(0)?,
                        study_id: r.get(1)?,
                        rater_id: r.get(2)?,
                        item_id: r.get(3)?,
                        order_seed: r.get(4)?,
                        status: r.get(5)?,
                    })
                },
            )
            .optional()
            .ctx("reading an assignment")?
            .ok_or_else(|| StoreError::NotFound { entity: "assignment", key: id.to_string() })
    }

    /// `(generation id, model id, text)` of the answers to `item_id` by the
    /// study's models with its sampling setting.
    pub fn study_answers(
        &self,
        study_id: i64,
        item_id: i64,
    ) -> Result<Vec<(i64, i64, String)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT g.id, g.model_id, g.text FROM generations g
                 JOIN study_models sm ON sm.model_id = g.model_id AND sm.study_id = ?1
                 JOIN studies s ON s.id = ?1
                 WHERE g.item_id = ?2 AND g.params_hash = s.params_hash ORDER BY g.model_id",
            )
            .ctx("reading answers")?;
        let rows = stmt
            .query_map(params![study_id, item_id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .ctx("reading answers")?;
        rows.collect::<Result<Vec<_>, _>>().ctx("reading answers")
    }

    /// The rating of one answer in one assignment, if any.
    pub fn rating(
        &self,
        assignment_id: i64,
        generation_id: i64,
    ) -> Result<Option<RatingRow>, StoreError> {
        self.conn
            .query_row(
                "SELECT accuracy, appropriateness, empathy, harm, harm_likelihood, comment, corrected_answer
                 FROM ratings WHERE assignment_id = ?1 AND generation_id = ?2",
                params![assignment_id, generation_id],
                |r| {
                    Ok(RatingRow {
                        accuracy: r.get(0)?,
                        appropriateness: r.get(1)?,
                        empathy: r.get(2)?,
                        harm: r.get(3)?,
                        harm_likelihood: r.get(4)?,
                        comment: r.get(5)?,
                        corrected_answer: r.get(6)?,
                    })
                },
            )
            .optional()
            .ctx("reading a rating")
    }

    /// The preference of one assignment, if any.
    pub fn preference(&self, assignment_id: i64) -> Result<Option<PreferenceRow>, StoreError> {
        self.conn
            .query_row(
                "SELECT verdict, preferred_generation_id FROM preferences WHERE assignment_id = ?1",
                [assignment_id],
                |r| {
                    Ok(PreferenceRow {
                        verdict: r.get(0)?,
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
        assignment_id: i64,
        generation_id: i64,
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
        assignment_id: i64,
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
        assignment_id: i64,
        rater_id: i64,
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
                &format!("rater:{rater_id}"),
                "submit",
                "assignment",
                Some(&assignment_id.to_string()),
                &serde_json::json!({}),
            )
        })
    }

    /// Every rating of a study, unblinded, for export.
    pub fn study_rating_rows(&self, study_id: i64) -> Result<Vec<RatingExportRow>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT s.name, rt.name, rt.specialty, i.external_id, i.category, m.name, g.id,
                        r.accuracy, r.appropriateness, r.empathy, r.harm, r.harm_likelihood, r.comment,
                        r.corrected_answer, p.verdict, p.preferred_generation_id, a.status, a.submitted_at
                 FROM ratings r
                 JOIN assignments a ON a.id = r.assignment_id
                 JOIN studies s ON s.id = a.study_id
                 JOIN raters rt ON rt.id = a.rater_id
                 JOIN items i ON i.id = a.item_id
                 JOIN generations g ON g.id = r.generation_id
                 JOIN models m ON m.id = g.model_id
                 LEFT JOIN preferences p ON p.assignment_id = a.id
                 WHERE a.study_id = ?1 ORDER BY a.id, m.name",
            )
            .ctx("exporting ratings")?;
        let rows = stmt
            .query_map([study_id], |r| {
                let generation_id: i64 = r.get(6)?;
                let preferred: Option<i64> = r.get(15)?;
                Ok(RatingExportRow {
                    study: r.get(0)?,
                    rater: r.get(1)?,
                    specialty: r.get(2)?,
                    item: r.get(3)?,
                    category: r.get(4)?,
                    model: r.get(5)?,
                    generation_id,
                    accuracy: r.get(7)?,
                    appropriateness: r.get(8)?,
                    empathy: r.get(9)?,
                    harm: r.get(10)?,
                    harm_likelihood: r.get(11)?,
                    comment: r.get(12)?,
                    corrected_answer: r.get(13)?,
                    preference: r.get(14)?,
                    preferred: preferred == Some(generation_id),
                    status: r.get(16)?,
                    submitted_at: r.get(17)?,
                })
            })
            .ctx("exporting ratings")?;
        rows.collect::<Result<Vec<_>, _>>().ctx("exporting ratings")
    }

    /// Per-rater progress of a study: `(rater name, submitted, total)`.
    pub fn study_progress(&self, study_id: i64) -> Result<Vec<(String, i64, i64)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT r.name, SUM(a.status = 'submitted'), COUNT(*) FROM assignments a
                 JOIN raters r ON r.id = a.rater_id WHERE a.study_id = ?1 GROUP BY r.id ORDER BY r.name",
            )
            .ctx("reading progress")?;
        let rows = stmt
            .query_map([study_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .ctx("reading progress")?;
        rows.collect::<Result<Vec<_>, _>>().ctx("reading progress")
    }
}

fn insert_assignments(
    tx: &Transaction<'_>,
    study_id: i64,
    assignments: &[(i64, i64, i64)],
) -> Result<u64, StoreError> {
    let mut n = 0;
    for (rater, item, seed) in assignments {
        n += tx
            .execute(
                "INSERT OR IGNORE INTO assignments (study_id, rater_id, item_id, order_seed) VALUES (?1, ?2, ?3, ?4)",
                params![study_id, rater, item, seed],
            )
            .ctx("assigning an item")? as u64;
    }
    Ok(n)
}

fn ensure_not_submitted(tx: &Transaction<'_>, assignment_id: i64) -> Result<(), StoreError> {
    let status: Option<(String, String)> = tx
        .query_row(
            "SELECT a.status, s.status FROM assignments a JOIN studies s ON s.id = a.study_id WHERE a.id = ?1",
            [assignment_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .ctx("reading an assignment")?;
    match status {
        None => Err(StoreError::NotFound {
            entity: "assignment",
            key: assignment_id.to_string(),
        }),
        Some((a, _)) if a == "submitted" => Err(StoreError::Conflict(
            "these ratings were already submitted and can no longer change".into(),
        )),
        Some((_, s)) if s != "open" => Err(StoreError::Conflict("the study is closed".into())),
        Some(_) => Ok(()),
    }
}
