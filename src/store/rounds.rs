//! Retraining rounds: the dataset snapshot, the training curve, the state of
//! a run, and the rated answers a round's dataset draws on.

use std::collections::BTreeMap;

use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

use super::{Actor, At, SqlContext, Store, StoreError, audit, now_utc, to_json};
use crate::ids::{GenerationId, ItemId, ModelId, RaterId, RoundId};
use crate::rounds::{DatasetSummary, RoundConfig, TrainingState};
use crate::vocab::{ExampleSource, ExampleSplit, HarmLevel, ItemSplit, RoundStatus};

/// One example of a round's dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RoundExample {
    /// Stable id: the pack pair's id, `item:<external id>` or `answer:<generation id>`.
    pub example_id: String,
    /// Where it came from.
    pub source: ExampleSource,
    /// Item category.
    pub category: String,
    /// The patient's question.
    pub question: String,
    /// The answer trained on.
    pub answer: String,
    /// Seed facts it is grounded in.
    pub facts: Vec<String>,
    /// Stratum values.
    pub strata: BTreeMap<String, String>,
    /// Train or validation.
    pub split: ExampleSplit,
    /// Who and what produced it (pack version, generator, raters, approver…).
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub provenance: serde_json::Value,
}

/// A round to insert, with its dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRound {
    /// The model it fine-tunes.
    pub base_model_id: ModelId,
    /// Split and window-order seed.
    pub seed: i64,
    /// How its dataset was built.
    pub config: RoundConfig,
    /// sha256 of the dataset's canonical JSON.
    pub dataset_hash: String,
    /// Counts.
    pub summary: DatasetSummary,
    /// The examples.
    pub examples: Vec<RoundExample>,
}

/// A round as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RoundRecord {
    /// Row id.
    pub id: RoundId,
    /// 1, 2, 3…
    pub number: i64,
    /// Where it stands.
    pub status: RoundStatus,
    /// The model it fine-tunes.
    pub base_model_id: Option<ModelId>,
    /// The model it produced.
    pub output_model_id: Option<ModelId>,
    /// Split and window-order seed.
    pub seed: i64,
    /// How its dataset was built.
    pub config: RoundConfig,
    /// sha256 of the dataset.
    pub dataset_hash: Option<String>,
    /// Dataset counts.
    pub summary: Option<DatasetSummary>,
    /// The last training run's state.
    pub training: Option<TrainingState>,
    /// Why the last run failed.
    pub failure: Option<String>,
    /// Creation time.
    pub created_at: String,
    /// When it was trained (or failed).
    pub finished_at: Option<String>,
}

/// One epoch of a round's training curve.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct EpochRow {
    /// Epoch (1-based).
    pub epoch: i64,
    /// Mean training loss.
    pub train_loss: f64,
    /// Validation loss after it.
    pub val_loss: f64,
    /// When it finished.
    pub finished_at: String,
}

/// One optimizer step of a round's training curve.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct StepRow {
    /// Epoch (1-based).
    pub epoch: i64,
    /// Step within the epoch (1-based).
    pub step: i64,
    /// Training loss.
    pub loss: f64,
}

/// One submitted rating of a rated answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RaterScores {
    /// Who rated.
    pub rater_id: RaterId,
    /// Accuracy, appropriateness, empathy (absent when left blank).
    pub scores: [Option<i64>; 3],
    /// Harm the rater saw.
    pub harm: Option<HarmLevel>,
    /// The rater's rewrite of the answer.
    pub corrected_answer: Option<String>,
}

/// A model's answer with its submitted ratings, across studies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RatedAnswer {
    /// The answer.
    pub generation_id: GenerationId,
    /// The item answered.
    pub item_id: ItemId,
    /// Its external id.
    pub item_external_id: String,
    /// Its split: evaluation items never train.
    pub item_split: ItemSplit,
    /// Its category.
    pub category: String,
    /// Its text.
    pub question: String,
    /// Its strata.
    pub strata: BTreeMap<String, String>,
    /// The answer's text.
    pub answer: String,
    /// The model that wrote it.
    pub model: String,
    /// Submitted ratings of this answer.
    pub ratings: Vec<RaterScores>,
}

/// An approved synthetic item with its reference answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApprovedSynthetic {
    /// Item external id.
    pub external_id: String,
    /// Category.
    pub category: String,
    /// Question or vignette.
    pub question: String,
    /// Reference answer.
    pub answer: String,
    /// Cited facts.
    pub facts: Vec<String>,
    /// Strata.
    pub strata: BTreeMap<String, String>,
    /// Generator, template hash, approver…
    pub provenance: serde_json::Value,
}

const ROUND_COLUMNS: &str = "id, number, status, base_model_id, output_model_id, seed, config, dataset_hash, summary, training, failure, created_at, finished_at";

fn round_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RoundRecord> {
    let id: i64 = r.get(0)?;
    let at = At {
        table: "rounds",
        row_id: id,
    };
    let opt_json = |idx: usize, column: &'static str| -> rusqlite::Result<Option<String>> {
        at.get::<Option<String>>(r, idx, column)
    };
    let summary = match opt_json(8, "summary")? {
        Some(_) => Some(at.json(r, 8, "summary")?),
        None => None,
    };
    let training = match opt_json(9, "training")? {
        Some(_) => Some(at.json(r, 9, "training")?),
        None => None,
    };
    Ok(RoundRecord {
        id: RoundId(id),
        number: r.get(1)?,
        status: at.get(r, 2, "status")?,
        base_model_id: r.get(3)?,
        output_model_id: r.get(4)?,
        seed: r.get(5)?,
        config: at.json(r, 6, "config")?,
        dataset_hash: r.get(7)?,
        summary,
        training,
        failure: r.get(10)?,
        created_at: r.get(11)?,
        finished_at: r.get(12)?,
    })
}

impl Store {
    /// Creates the next round (number = last + 1) with its whole dataset, in
    /// one transaction.
    pub fn create_round(
        &mut self,
        new: &NewRound,
        actor: &Actor,
    ) -> Result<RoundRecord, StoreError> {
        let id = self.write("creating a round", |tx| {
            let number: i64 = tx
                .query_row("SELECT COALESCE(MAX(number), 0) + 1 FROM rounds", [], |r| r.get(0))
                .ctx("numbering the round")?;
            tx.execute(
                "INSERT INTO rounds (number, status, base_model_id, seed, config, dataset_hash, summary, created_at)
                 VALUES (?1, 'dataset_ready', ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    number,
                    new.base_model_id,
                    new.seed,
                    to_json(&new.config, "the round's config")?,
                    new.dataset_hash,
                    to_json(&new.summary, "the dataset summary")?,
                    now_utc()
                ],
            )
            .ctx("creating a round")?;
            let id = tx.last_insert_rowid();
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO round_examples (round_id, example_id, source, category, question, answer, facts, strata, split, provenance)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                )
                .ctx("storing the dataset")?;
            for e in &new.examples {
                insert
                    .execute(params![
                        id,
                        e.example_id,
                        e.source,
                        e.category,
                        e.question,
                        e.answer,
                        to_json(&e.facts, "an example's facts")?,
                        to_json(&e.strata, "an example's strata")?,
                        e.split,
                        to_json(&e.provenance, "an example's provenance")?,
                    ])
                    .ctx("storing the dataset")?;
            }
            audit::append(
                tx,
                actor,
                "create_round",
                "round",
                Some(&number.to_string()),
                &serde_json::json!({
                    "base_model_id": new.base_model_id,
                    "dataset_hash": new.dataset_hash,
                    "examples": new.examples.len(),
                }),
            )?;
            Ok(RoundId(id))
        })?;
        self.round_by_id(id)
    }

    /// The round with this id.
    pub fn round_by_id(&self, id: RoundId) -> Result<RoundRecord, StoreError> {
        self.conn
            .query_row(
                &format!("SELECT {ROUND_COLUMNS} FROM rounds WHERE id = ?1"),
                [id],
                round_from_row,
            )
            .optional()
            .ctx("reading a round")?
            .ok_or_else(|| StoreError::NotFound {
                entity: "round",
                key: id.to_string(),
            })
    }

    /// The round with this number.
    pub fn round(&self, number: i64) -> Result<RoundRecord, StoreError> {
        self.conn
            .query_row(
                &format!("SELECT {ROUND_COLUMNS} FROM rounds WHERE number = ?1"),
                [number],
                round_from_row,
            )
            .optional()
            .ctx("reading a round")?
            .ok_or_else(|| StoreError::NotFound {
                entity: "round",
                key: number.to_string(),
            })
    }

    /// Every round, by number.
    pub fn rounds(&self) -> Result<Vec<RoundRecord>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT {ROUND_COLUMNS} FROM rounds ORDER BY number"
            ))
            .ctx("listing rounds")?;
        let rows = stmt.query_map([], round_from_row).ctx("listing rounds")?;
        rows.collect::<Result<Vec<_>, _>>().ctx("listing rounds")
    }

    /// A round's examples, by split then example id.
    pub fn round_examples(&self, id: RoundId) -> Result<Vec<RoundExample>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, example_id, source, category, question, answer, facts, strata, split, provenance
                 FROM round_examples WHERE round_id = ?1 ORDER BY split, example_id",
            )
            .ctx("reading a round's dataset")?;
        let rows = stmt
            .query_map([id], |r| {
                let at = At {
                    table: "round_examples",
                    row_id: r.get(0)?,
                };
                Ok(RoundExample {
                    example_id: r.get(1)?,
                    source: at.get(r, 2, "source")?,
                    category: r.get(3)?,
                    question: r.get(4)?,
                    answer: r.get(5)?,
                    facts: at.json(r, 6, "facts")?,
                    strata: at.json(r, 7, "strata")?,
                    split: at.get(r, 8, "split")?,
                    provenance: at.json(r, 9, "provenance")?,
                })
            })
            .ctx("reading a round's dataset")?;
        rows.collect::<Result<Vec<_>, _>>()
            .ctx("reading a round's dataset")
    }

    /// Sets a round's status, training state and failure in one write.
    pub fn set_round_state(
        &mut self,
        id: RoundId,
        status: RoundStatus,
        training: Option<&TrainingState>,
        failure: Option<&str>,
        actor: &Actor,
    ) -> Result<(), StoreError> {
        let training = training
            .map(|t| to_json(t, "the training state"))
            .transpose()?;
        self.write("updating a round", |tx| {
            let finished = matches!(status, RoundStatus::Trained | RoundStatus::Failed);
            tx.execute(
                "UPDATE rounds SET status = ?2, training = COALESCE(?3, training), failure = ?4,
                        finished_at = CASE WHEN ?5 THEN ?6 ELSE finished_at END
                 WHERE id = ?1",
                params![id, status, training, failure, finished, now_utc()],
            )
            .ctx("updating a round")?;
            audit::append(
                tx,
                actor,
                "round_status",
                "round",
                Some(&id.to_string()),
                &serde_json::json!({ "status": status, "failure": failure }),
            )
        })
    }

    /// Saves a round's training state as the run goes (windows, the
    /// validation loss before training), so that the screen shows them at once.
    pub fn set_round_training(
        &mut self,
        id: RoundId,
        training: &TrainingState,
    ) -> Result<(), StoreError> {
        let training = to_json(training, "the training state")?;
        self.write("saving the training state", |tx| {
            tx.execute(
                "UPDATE rounds SET training = ?2 WHERE id = ?1",
                params![id, training],
            )
            .ctx("saving the training state")?;
            Ok(())
        })
    }

    /// Forgets a round's training curve (a run that starts over).
    pub fn clear_round_curve(&mut self, id: RoundId) -> Result<(), StoreError> {
        self.write("clearing a training curve", |tx| {
            tx.execute("DELETE FROM round_steps WHERE round_id = ?1", [id])
                .ctx("clearing a training curve")?;
            tx.execute("DELETE FROM round_epochs WHERE round_id = ?1", [id])
                .ctx("clearing a training curve")?;
            Ok(())
        })
    }

    /// Records one optimizer step (replacing a step of a resumed epoch).
    pub fn record_round_step(
        &mut self,
        id: RoundId,
        epoch: u32,
        step: u32,
        loss: f64,
    ) -> Result<(), StoreError> {
        self.write("recording a training step", |tx| {
            tx.execute(
                "INSERT OR REPLACE INTO round_steps (round_id, epoch, step, loss) VALUES (?1, ?2, ?3, ?4)",
                params![id, epoch, step, loss],
            )
            .ctx("recording a training step")?;
            Ok(())
        })
    }

    /// Records a finished epoch and the training state that lets a killed
    /// run resume after it, in one transaction.
    pub fn record_round_epoch(
        &mut self,
        id: RoundId,
        row: &EpochRow,
        training: &TrainingState,
    ) -> Result<(), StoreError> {
        let training = to_json(training, "the training state")?;
        self.write("recording an epoch", |tx| {
            tx.execute(
                "INSERT OR REPLACE INTO round_epochs (round_id, epoch, train_loss, val_loss, finished_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![id, row.epoch, row.train_loss, row.val_loss, row.finished_at],
            )
            .ctx("recording an epoch")?;
            tx.execute("UPDATE rounds SET training = ?2 WHERE id = ?1", params![id, training])
                .ctx("recording an epoch")?;
            Ok(())
        })
    }

    /// A round's epochs.
    pub fn round_epochs(&self, id: RoundId) -> Result<Vec<EpochRow>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT epoch, train_loss, val_loss, finished_at FROM round_epochs WHERE round_id = ?1 ORDER BY epoch",
            )
            .ctx("reading epochs")?;
        let rows = stmt
            .query_map([id], |r| {
                Ok(EpochRow {
                    epoch: r.get(0)?,
                    train_loss: r.get(1)?,
                    val_loss: r.get(2)?,
                    finished_at: r.get(3)?,
                })
            })
            .ctx("reading epochs")?;
        rows.collect::<Result<Vec<_>, _>>().ctx("reading epochs")
    }

    /// A round's steps.
    pub fn round_steps(&self, id: RoundId) -> Result<Vec<StepRow>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT epoch, step, loss FROM round_steps WHERE round_id = ?1 ORDER BY epoch, step")
            .ctx("reading steps")?;
        let rows = stmt
            .query_map([id], |r| {
                Ok(StepRow {
                    epoch: r.get(0)?,
                    step: r.get(1)?,
                    loss: r.get(2)?,
                })
            })
            .ctx("reading steps")?;
        rows.collect::<Result<Vec<_>, _>>().ctx("reading steps")
    }

    /// Marks a round trained with its registered model and links the model
    /// to the round and its parent, in one transaction.
    pub fn finish_round(
        &mut self,
        id: RoundId,
        model_id: ModelId,
        parent: ModelId,
        training: Option<&TrainingState>,
        actor: &Actor,
    ) -> Result<(), StoreError> {
        let training = training
            .map(|t| to_json(t, "the training state"))
            .transpose()?;
        self.write("finishing a round", |tx| {
            tx.execute(
                "UPDATE models SET parent_model_id = ?2, round_id = ?3, role = 'candidate' WHERE id = ?1",
                params![model_id, parent, id],
            )
            .ctx("linking the model to its round")?;
            tx.execute(
                "UPDATE rounds SET status = 'trained', output_model_id = ?2, training = COALESCE(?3, training), failure = NULL, finished_at = ?4
                 WHERE id = ?1",
                params![id, model_id, training, now_utc()],
            )
            .ctx("finishing a round")?;
            audit::append(
                tx,
                actor,
                "round_trained",
                "round",
                Some(&id.to_string()),
                &serde_json::json!({ "model_id": model_id, "parent_model_id": parent }),
            )
        })
    }

    /// Links the study that evaluates a round's model and marks the round
    /// evaluated, in one transaction.
    pub fn set_round_evaluated(
        &mut self,
        id: RoundId,
        study: crate::ids::StudyId,
        actor: &Actor,
    ) -> Result<(), StoreError> {
        self.write("linking a round to its study", |tx| {
            tx.execute(
                "UPDATE studies SET round_id = ?2 WHERE id = ?1",
                params![study, id],
            )
            .ctx("linking a round to its study")?;
            tx.execute("UPDATE rounds SET status = 'evaluated' WHERE id = ?1", [id])
                .ctx("linking a round to its study")?;
            audit::append(
                tx,
                actor,
                "round_evaluated",
                "round",
                Some(&id.to_string()),
                &serde_json::json!({ "study_id": study }),
            )
        })
    }

    /// The studies that evaluate a round (newest last).
    pub fn round_studies(&self, id: RoundId) -> Result<Vec<String>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT name FROM studies WHERE round_id = ?1 ORDER BY id")
            .ctx("reading a round's studies")?;
        let rows = stmt
            .query_map([id], |r| r.get(0))
            .ctx("reading a round's studies")?;
        rows.collect::<Result<Vec<_>, _>>()
            .ctx("reading a round's studies")
    }

    /// Every model answer with at least one submitted rating, with those
    /// ratings (any study).
    pub fn rated_answers(&self) -> Result<Vec<RatedAnswer>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT g.id, i.id, i.external_id, i.split, i.category, i.text, i.strata, g.text, m.name,
                        a.rater_id, r.accuracy, r.appropriateness, r.empathy, r.harm, r.corrected_answer
                 FROM ratings r
                 JOIN assignments a ON a.id = r.assignment_id AND a.status = 'submitted'
                 JOIN generations g ON g.id = r.generation_id
                 JOIN items i ON i.id = g.item_id
                 JOIN models m ON m.id = g.model_id
                 ORDER BY g.id, a.rater_id",
            )
            .ctx("reading rated answers")?;
        let rows = stmt
            .query_map([], |r| {
                let gid: i64 = r.get(0)?;
                let at = At {
                    table: "generations",
                    row_id: gid,
                };
                Ok((
                    RatedAnswer {
                        generation_id: GenerationId(gid),
                        item_id: r.get(1)?,
                        item_external_id: r.get(2)?,
                        item_split: at.get(r, 3, "split")?,
                        category: r.get(4)?,
                        question: r.get(5)?,
                        strata: at.json(r, 6, "strata")?,
                        answer: r.get(7)?,
                        model: r.get(8)?,
                        ratings: Vec::new(),
                    },
                    RaterScores {
                        rater_id: r.get(9)?,
                        scores: [r.get(10)?, r.get(11)?, r.get(12)?],
                        harm: at.get(r, 13, "harm")?,
                        corrected_answer: r.get(14)?,
                    },
                ))
            })
            .ctx("reading rated answers")?;
        let mut out: Vec<RatedAnswer> = Vec::new();
        for row in rows {
            let (answer, scores) = row.ctx("reading rated answers")?;
            match out.last_mut() {
                Some(last) if last.generation_id == answer.generation_id => {
                    last.ratings.push(scores)
                }
                _ => out.push(RatedAnswer {
                    ratings: vec![scores],
                    ..answer
                }),
            }
        }
        Ok(out)
    }

    /// Approved synthetic items that carry a reference answer, outside the
    /// evaluation split.
    pub fn approved_synthetic(&self) -> Result<Vec<ApprovedSynthetic>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT i.id, i.external_id, i.category, i.text, i.reference_answer, i.strata, i.provenance,
                        (SELECT json_group_array(fact_id) FROM item_facts f WHERE f.item_id = i.id)
                 FROM items i
                 WHERE i.origin = 'synthetic' AND i.review_status = 'approved' AND i.split != 'eval'
                   AND i.reference_answer IS NOT NULL
                 ORDER BY i.id",
            )
            .ctx("reading approved synthetic items")?;
        let rows = stmt
            .query_map([], |r| {
                let at = At {
                    table: "items",
                    row_id: r.get(0)?,
                };
                Ok(ApprovedSynthetic {
                    external_id: r.get(1)?,
                    category: r.get(2)?,
                    question: r.get(3)?,
                    answer: r.get(4)?,
                    strata: at.json(r, 5, "strata")?,
                    provenance: at.json(r, 6, "provenance")?,
                    facts: at.json(r, 7, "facts")?,
                })
            })
            .ctx("reading approved synthetic items")?;
        rows.collect::<Result<Vec<_>, _>>()
            .ctx("reading approved synthetic items")
    }
}
