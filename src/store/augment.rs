//! Augmentation runs, their refused answers, the synthetic items they store
//! and the experts' review of those items.
//!
//! Every accepted item and every rejection is written in one transaction
//! together with its run's counters, keyed by `(run, attempt)`: a run killed
//! at any point loses at most the answers in flight, and a rerun continues
//! after the last attempt stored.

use std::collections::BTreeMap;

use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

use super::{Actor, At, SqlContext, Store, StoreError, audit, now_utc, to_json};
use crate::ids::{AugmentRunId, ModelId};
use crate::vocab::{AugmentStatus, ItemKind, OutputMode, RejectReason, ReviewStatus};

/// A run to start.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAugmentRun {
    /// The generator model.
    pub generator_id: ModelId,
    /// Items wanted.
    pub requested: u64,
    /// Most answers asked for before the run gives up.
    pub max_attempts: u64,
    /// The run's seed.
    pub seed: u64,
    /// Its settings (params, templates, pack, prices), as stored.
    pub config: serde_json::Value,
}

/// A stored run.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AugmentRunRecord {
    /// Row id.
    pub id: AugmentRunId,
    /// The generator model's id.
    pub generator_id: ModelId,
    /// The generator model's name.
    pub generator: String,
    /// Items wanted.
    pub requested: u64,
    /// Attempt budget.
    pub max_attempts: u64,
    /// Seed.
    pub seed: u64,
    /// Settings.
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub config: serde_json::Value,
    /// State.
    pub status: AugmentStatus,
    /// Items accepted.
    pub accepted: u64,
    /// Answers refused.
    pub rejected: u64,
    /// Prompt tokens spent.
    pub prompt_tokens: u64,
    /// Completion tokens spent.
    pub completion_tokens: u64,
    /// Cost in US dollars at the generator's configured prices.
    pub cost_usd: f64,
    /// Seconds spent running, over every session of the run.
    pub elapsed_s: f64,
    /// When it started.
    pub created_at: String,
    /// When it ended, if it did.
    pub finished_at: Option<String>,
}

/// One synthetic item to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewSyntheticItem {
    /// Question or vignette.
    pub kind: ItemKind,
    /// Category.
    pub category: String,
    /// The vignette or question.
    pub text: String,
    /// The reference answer.
    pub answer: String,
    /// Strata values (the pack's axes and `intent`).
    pub strata: BTreeMap<String, String>,
    /// Cited seed facts.
    pub facts: Vec<String>,
    /// Generator, params, seed, template hash, offered facts…
    pub provenance: serde_json::Value,
}

/// What one answer cost.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct AttemptCost {
    /// Prompt tokens.
    pub prompt_tokens: u64,
    /// Completion tokens.
    pub completion_tokens: u64,
    /// US dollars.
    pub usd: f64,
}

/// A stored rejection.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RejectionRecord {
    /// The attempt.
    pub attempt: u64,
    /// Why.
    pub reason: RejectReason,
    /// Details.
    pub detail: String,
    /// The stratum asked for, as `axis=value` pairs.
    pub stratum: String,
    /// The start of the generator's answer.
    pub output: String,
}

/// A synthetic item as the review queue shows it.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyntheticItem {
    /// External id (`syn-…`).
    pub external_id: String,
    /// Question or vignette.
    pub kind: ItemKind,
    /// Category.
    pub category: String,
    /// The vignette or question.
    pub text: String,
    /// The reference answer.
    pub answer: String,
    /// Strata values.
    pub strata: BTreeMap<String, String>,
    /// The cited facts, with their statements.
    pub facts: Vec<CitedFact>,
    /// Review state.
    pub review_status: ReviewStatus,
    /// Who reviewed it.
    pub reviewed_by: Option<String>,
    /// Rejection reason or review note.
    pub review_note: Option<String>,
    /// The run that made it.
    pub run_id: Option<AugmentRunId>,
    /// Generator, params, seed, template hash…
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub provenance: serde_json::Value,
    /// Experts' edits, oldest first.
    pub revisions: Vec<ItemRevision>,
}

/// A seed fact cited by an item.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CitedFact {
    /// Fact id.
    pub id: String,
    /// Its topic.
    pub topic: String,
    /// Its statement.
    pub statement: String,
}

/// One expert edit of an item.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemRevision {
    /// Who edited.
    pub editor: String,
    /// The text before the edit.
    pub text_before: String,
    /// The answer before the edit.
    pub answer_before: Option<String>,
    /// The text after.
    pub text_after: String,
    /// The answer after.
    pub answer_after: Option<String>,
    /// When.
    pub created_at: String,
}

/// An expert's decision on a pending synthetic item.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum ReviewDecision {
    /// Approve as written.
    Approve,
    /// Approve with a corrected text and answer (the original is kept).
    Edit {
        /// The corrected vignette or question.
        text: String,
        /// The corrected answer.
        answer: String,
    },
    /// Reject, saying why.
    Reject {
        /// Why.
        reason: String,
    },
}

/// A generator's remembered server capabilities and prices.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GeneratorProfile {
    /// The structured-output mode its server accepts, once detected.
    pub output_mode: Option<OutputMode>,
    /// US dollars per million prompt tokens.
    pub usd_per_mtok_input: Option<f64>,
    /// US dollars per million completion tokens.
    pub usd_per_mtok_output: Option<f64>,
}

/// Counts of a review queue.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewCounts {
    /// Awaiting review.
    pub pending: u64,
    /// Approved.
    pub approved: u64,
    /// Rejected.
    pub rejected: u64,
}

const RUN_COLUMNS: &str = "r.id, r.generator_id, m.name, r.requested, r.max_attempts, r.seed, r.config, r.status, r.accepted, r.rejected, r.prompt_tokens, r.completion_tokens, r.cost_usd, r.elapsed_s, r.created_at, r.finished_at";

fn run_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AugmentRunRecord> {
    let id: i64 = r.get(0)?;
    let at = At {
        table: "augment_runs",
        row_id: id,
    };
    let u = |idx: usize| -> rusqlite::Result<u64> { Ok(r.get::<_, i64>(idx)?.max(0) as u64) };
    Ok(AugmentRunRecord {
        id: AugmentRunId(id),
        generator_id: ModelId(r.get(1)?),
        generator: r.get(2)?,
        requested: u(3)?,
        max_attempts: u(4)?,
        seed: r.get::<_, i64>(5)? as u64,
        config: at.json(r, 6, "config")?,
        status: at.get(r, 7, "status")?,
        accepted: u(8)?,
        rejected: u(9)?,
        prompt_tokens: u(10)?,
        completion_tokens: u(11)?,
        cost_usd: r.get(12)?,
        elapsed_s: r.get(13)?,
        created_at: r.get(14)?,
        finished_at: r.get(15)?,
    })
}

/// A run held by a process on another host (which cannot be asked whether
/// it lives) counts as running while it stored something this recently.
pub(crate) const HOLDER_SILENCE_S: i64 = 120;

/// Longest stored start of a refused answer, in characters.
const REJECTED_OUTPUT_CHARS: usize = 2_000;

fn stratum_text(strata: &BTreeMap<String, String>) -> String {
    strata
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ")
}

impl Store {
    /// Starts a run.
    pub fn create_augment_run(&mut self, run: &NewAugmentRun) -> Result<AugmentRunId, StoreError> {
        let config = to_json(&run.config, "encoding the run's settings")?;
        self.write("starting an augmentation run", |tx| {
            let now = now_utc();
            tx.execute(
                "INSERT INTO augment_runs (generator_id, requested, max_attempts, seed, config, created_at, updated_at, holder_host, holder_pid)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7, ?8)",
                params![
                    run.generator_id,
                    run.requested as i64,
                    run.max_attempts as i64,
                    run.seed as i64,
                    config,
                    now,
                    crate::process::host_name(),
                    i64::from(std::process::id())
                ],
            )
            .ctx("starting an augmentation run")?;
            let id = AugmentRunId(tx.last_insert_rowid());
            audit::append(
                tx,
                &Actor::Cli,
                "augment_run_started",
                "augment_run",
                Some(&id.to_string()),
                &serde_json::json!({ "requested": run.requested, "seed": run.seed }),
            )?;
            Ok(id)
        })
    }

    /// One run.
    pub fn augment_run(&self, id: AugmentRunId) -> Result<AugmentRunRecord, StoreError> {
        self.conn
            .query_row(
                &format!("SELECT {RUN_COLUMNS} FROM augment_runs r JOIN models m ON m.id = r.generator_id WHERE r.id = ?1"),
                [id],
                run_from_row,
            )
            .optional()
            .ctx("reading an augmentation run")?
            .ok_or_else(|| StoreError::NotFound {
                entity: "augmentation run",
                key: id.to_string(),
            })
    }

    /// Every run, newest first.
    pub fn augment_runs(&self) -> Result<Vec<AugmentRunRecord>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT {RUN_COLUMNS} FROM augment_runs r JOIN models m ON m.id = r.generator_id ORDER BY r.id DESC"
            ))
            .ctx("listing augmentation runs")?;
        let rows = stmt
            .query_map([], run_from_row)
            .ctx("listing augmentation runs")?;
        rows.collect::<Result<Vec<_>, _>>()
            .ctx("listing augmentation runs")
    }

    /// The newest run of `generator` that did not finish (running when its
    /// process died, or cancelled): what a rerun resumes.
    pub fn unfinished_augment_run(
        &self,
        generator: ModelId,
    ) -> Result<Option<AugmentRunRecord>, StoreError> {
        self.conn
            .query_row(
                &format!(
                    "SELECT {RUN_COLUMNS} FROM augment_runs r JOIN models m ON m.id = r.generator_id
                     WHERE r.generator_id = ?1 AND r.status IN ('running', 'cancelled')
                     ORDER BY r.id DESC LIMIT 1"
                ),
                [generator],
                run_from_row,
            )
            .optional()
            .ctx("looking for an unfinished augmentation run")
    }

    /// The next attempt number of a run: one past every attempt stored.
    pub fn next_augment_attempt(&self, run: AugmentRunId) -> Result<u64, StoreError> {
        let n: i64 = self
            .conn
            .query_row(
                "SELECT MAX(COALESCE((SELECT MAX(attempt) FROM augment_rejections WHERE run_id = ?1), -1),
                            COALESCE((SELECT MAX(augment_attempt) FROM items WHERE augment_run_id = ?1), -1))",
                [run],
                |r| r.get(0),
            )
            .ctx("reading a run's attempts")?;
        Ok((n + 1) as u64)
    }

    /// Stores an accepted item with its cited facts, pending review, and
    /// counts it and its cost in its run, in one transaction. Returns the
    /// item's external id, `syn-<run>-<attempt>`.
    pub fn store_synthetic_item(
        &mut self,
        run: AugmentRunId,
        attempt: u64,
        item: &NewSyntheticItem,
        cost: AttemptCost,
    ) -> Result<String, StoreError> {
        let strata = to_json(&item.strata, "encoding strata")?;
        let provenance = to_json(&item.provenance, "encoding provenance")?;
        let external_id = format!("syn-{run}-{attempt}");
        self.write("storing a synthetic item", |tx| {
            let now = now_utc();
            tx.execute(
                "INSERT INTO items (external_id, kind, category, text, strata, origin, split, review_status,
                                    reference_answer, provenance, created_at, augment_run_id, augment_attempt)
                 VALUES (?1, ?2, ?3, ?4, ?5, 'synthetic', 'pool', 'pending', ?6, ?7, ?8, ?9, ?10)",
                params![
                    external_id,
                    item.kind,
                    item.category,
                    item.text,
                    strata,
                    item.answer,
                    provenance,
                    now,
                    run,
                    attempt as i64
                ],
            )
            .ctx("storing a synthetic item")?;
            let item_id = tx.last_insert_rowid();
            for f in &item.facts {
                tx.execute(
                    "INSERT OR IGNORE INTO item_facts (item_id, fact_id) VALUES (?1, ?2)",
                    params![item_id, f],
                )
                .ctx("storing an item's facts")?;
            }
            count_attempt(tx, run, true, cost, &now)?;
            Ok(())
        })?;
        Ok(external_id)
    }

    /// Stores a refused answer with its reason and counts it in its run.
    #[allow(clippy::too_many_arguments)]
    pub fn store_augment_rejection(
        &mut self,
        run: AugmentRunId,
        attempt: u64,
        reason: RejectReason,
        detail: &str,
        strata: &BTreeMap<String, String>,
        output: &str,
        cost: AttemptCost,
    ) -> Result<(), StoreError> {
        let output: String = output.chars().take(REJECTED_OUTPUT_CHARS).collect();
        let stratum = stratum_text(strata);
        self.write("storing a rejection", |tx| {
            let now = now_utc();
            tx.execute(
                "INSERT INTO augment_rejections (run_id, attempt, reason, detail, stratum, output, prompt_tokens, completion_tokens, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    run,
                    attempt as i64,
                    reason,
                    detail,
                    stratum,
                    output,
                    cost.prompt_tokens as i64,
                    cost.completion_tokens as i64,
                    now
                ],
            )
            .ctx("storing a rejection")?;
            count_attempt(tx, run, false, cost, &now)
        })
    }

    /// Ends a session of a run with `status` and adds its running time.
    pub fn finish_augment_session(
        &mut self,
        run: AugmentRunId,
        status: AugmentStatus,
        elapsed_s: f64,
    ) -> Result<(), StoreError> {
        self.write("ending an augmentation run", |tx| {
            let now = now_utc();
            let finished = matches!(status, AugmentStatus::Completed | AugmentStatus::Exhausted)
                .then_some(now.clone());
            tx.execute(
                "UPDATE augment_runs SET status = ?2, elapsed_s = elapsed_s + ?3, updated_at = ?4, finished_at = ?5,
                        holder_host = NULL, holder_pid = NULL WHERE id = ?1",
                params![run, status, elapsed_s, now, finished],
            )
            .ctx("ending an augmentation run")?;
            audit::append(
                tx,
                &Actor::Cli,
                "augment_run_session_ended",
                "augment_run",
                Some(&run.to_string()),
                &serde_json::json!({ "status": status.as_str(), "elapsed_s": elapsed_s }),
            )
        })
    }

    /// Takes over a run for this process (a resumed session), unless
    /// another process still runs it: a live process on this host, or, on
    /// another host sharing the file, one that stored an answer in the last
    /// `HOLDER_SILENCE_S` (120) seconds.
    pub fn resume_augment_run(&mut self, run: AugmentRunId) -> Result<(), StoreError> {
        self.write("resuming an augmentation run", |tx| {
            let (host, pid, updated): (Option<String>, Option<i64>, String) = tx
                .query_row(
                    "SELECT holder_host, holder_pid, updated_at FROM augment_runs WHERE id = ?1",
                    [run],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .ctx("reading an augmentation run")?;
            let me = (crate::process::host_name(), i64::from(std::process::id()));
            if let (Some(host), Some(pid)) = (host, pid)
                && (host.as_str(), pid) != (me.0.as_str(), me.1)
            {
                let busy = if host == me.0 {
                    u32::try_from(pid).is_ok_and(crate::process::alive)
                } else {
                    chrono::DateTime::parse_from_rfc3339(&updated).is_ok_and(|t| {
                        (chrono::Utc::now() - t.with_timezone(&chrono::Utc)).num_seconds()
                            < HOLDER_SILENCE_S
                    })
                };
                if busy {
                    return Err(StoreError::Conflict(format!(
                        "augmentation run {run} is being run by process {pid} on {host}; \
                         wait for it to finish, or start another run with --new"
                    )));
                }
            }
            tx.execute(
                "UPDATE augment_runs SET status = 'running', updated_at = ?2, holder_host = ?3, holder_pid = ?4 WHERE id = ?1",
                params![run, now_utc(), me.0, me.1],
            )
            .ctx("resuming an augmentation run")?;
            Ok(())
        })
    }

    /// A run's rejections per reason.
    pub fn augment_rejection_counts(
        &self,
        run: AugmentRunId,
    ) -> Result<Vec<(RejectReason, u64)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, reason, COUNT(*) FROM augment_rejections WHERE run_id = ?1 GROUP BY reason ORDER BY COUNT(*) DESC, reason",
            )
            .ctx("counting rejections")?;
        let rows = stmt
            .query_map([run], |r| {
                let at = At {
                    table: "augment_rejections",
                    row_id: r.get(0)?,
                };
                Ok((at.get(r, 1, "reason")?, r.get::<_, i64>(2)? as u64))
            })
            .ctx("counting rejections")?;
        rows.collect::<Result<Vec<_>, _>>()
            .ctx("counting rejections")
    }

    /// A run's rejections, in attempt order, at most `limit`.
    pub fn augment_rejections(
        &self,
        run: AugmentRunId,
        limit: u64,
    ) -> Result<Vec<RejectionRecord>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, attempt, reason, detail, stratum, output FROM augment_rejections
                 WHERE run_id = ?1 ORDER BY attempt LIMIT ?2",
            )
            .ctx("reading rejections")?;
        let rows = stmt
            .query_map(params![run, limit.min(i64::MAX as u64) as i64], |r| {
                let at = At {
                    table: "augment_rejections",
                    row_id: r.get(0)?,
                };
                Ok(RejectionRecord {
                    attempt: r.get::<_, i64>(1)? as u64,
                    reason: at.get(r, 2, "reason")?,
                    detail: r.get(3)?,
                    stratum: r.get(4)?,
                    output: r.get(5)?,
                })
            })
            .ctx("reading rejections")?;
        rows.collect::<Result<Vec<_>, _>>()
            .ctx("reading rejections")
    }

    /// The quota cells of the synthetic items an expert has not rejected
    /// (of one run, or of all): their strata with `category` and `kind`
    /// added.
    pub fn synthetic_cells(
        &self,
        run: Option<AugmentRunId>,
    ) -> Result<Vec<BTreeMap<String, String>>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, strata, category, kind FROM items
                 WHERE origin = 'synthetic' AND review_status != 'rejected'
                   AND (?1 IS NULL OR augment_run_id = ?1) ORDER BY id",
            )
            .ctx("reading the synthetic pool")?;
        let rows = stmt
            .query_map([run], |r| {
                let at = At {
                    table: "items",
                    row_id: r.get(0)?,
                };
                let mut cell: BTreeMap<String, String> = at.json(r, 1, "strata")?;
                cell.insert("category".into(), r.get(2)?);
                cell.insert("kind".into(), r.get(3)?);
                Ok(cell)
            })
            .ctx("reading the synthetic pool")?;
        rows.collect::<Result<Vec<_>, _>>()
            .ctx("reading the synthetic pool")
    }

    /// `(external id, text)` of every item outside the evaluation set that
    /// an expert has not rejected: what a new item must not duplicate.
    pub fn pool_texts(&self) -> Result<Vec<(String, String)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT external_id, text FROM items WHERE split != 'eval' AND review_status != 'rejected' ORDER BY id",
            )
            .ctx("reading the pool")?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .ctx("reading the pool")?;
        rows.collect::<Result<Vec<_>, _>>().ctx("reading the pool")
    }

    /// The generator's remembered capabilities and prices.
    pub fn generator_profile(&self, model: ModelId) -> Result<GeneratorProfile, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT model_id, output_mode, usd_per_mtok_input, usd_per_mtok_output FROM generator_profiles WHERE model_id = ?1",
                [model],
                |r| {
                    let at = At {
                        table: "generator_profiles",
                        row_id: r.get(0)?,
                    };
                    Ok(GeneratorProfile {
                        output_mode: at.get(r, 1, "output_mode")?,
                        usd_per_mtok_input: r.get(2)?,
                        usd_per_mtok_output: r.get(3)?,
                    })
                },
            )
            .optional()
            .ctx("reading a generator's profile")?
            .unwrap_or_default())
    }

    /// Remembers the structured-output mode a generator's server accepts.
    pub fn set_generator_output_mode(
        &mut self,
        model: ModelId,
        mode: OutputMode,
    ) -> Result<(), StoreError> {
        self.write("remembering a generator's output mode", |tx| {
            tx.execute(
                "INSERT INTO generator_profiles (model_id, output_mode, updated_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT(model_id) DO UPDATE SET output_mode = excluded.output_mode, updated_at = excluded.updated_at",
                params![model, mode, now_utc()],
            )
            .ctx("remembering a generator's output mode")?;
            Ok(())
        })
    }

    /// Sets a generator's prices, in US dollars per million tokens.
    pub fn set_generator_prices(
        &mut self,
        model: ModelId,
        input: f64,
        output: f64,
    ) -> Result<(), StoreError> {
        if !(input.is_finite() && output.is_finite() && input >= 0.0 && output >= 0.0) {
            return Err(StoreError::Conflict(format!(
                "prices must be finite and not negative, got {input} and {output}"
            )));
        }
        self.write("setting a generator's prices", |tx| {
            tx.execute(
                "INSERT INTO generator_profiles (model_id, usd_per_mtok_input, usd_per_mtok_output, updated_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(model_id) DO UPDATE SET usd_per_mtok_input = excluded.usd_per_mtok_input,
                   usd_per_mtok_output = excluded.usd_per_mtok_output, updated_at = excluded.updated_at",
                params![model, input, output, now_utc()],
            )
            .ctx("setting a generator's prices")?;
            Ok(())
        })
    }

    /// Counts of synthetic items by review state.
    pub fn review_counts(&self) -> Result<ReviewCounts, StoreError> {
        let mut counts = ReviewCounts::default();
        let mut stmt = self
            .conn
            .prepare(
                "SELECT review_status, COUNT(*) FROM items WHERE origin = 'synthetic' GROUP BY review_status",
            )
            .ctx("counting synthetic items")?;
        let mut rows = stmt.query([]).ctx("counting synthetic items")?;
        while let Some(r) = rows.next().ctx("counting synthetic items")? {
            let status: String = r.get(0).ctx("counting synthetic items")?;
            let n = r.get::<_, i64>(1).ctx("counting synthetic items")? as u64;
            match status.as_str() {
                "pending" => counts.pending = n,
                "approved" => counts.approved = n,
                _ => counts.rejected = n,
            }
        }
        Ok(counts)
    }

    /// Synthetic items in `status`, oldest first, at most `limit`.
    pub fn synthetic_items(
        &self,
        status: ReviewStatus,
        limit: u64,
    ) -> Result<Vec<SyntheticItem>, StoreError> {
        let ids: Vec<String> = {
            let mut stmt = self
                .conn
                .prepare(
                    "SELECT external_id FROM items WHERE origin = 'synthetic' AND review_status = ?1 ORDER BY id LIMIT ?2",
                )
                .ctx("reading the review queue")?;
            let rows = stmt
                .query_map(params![status, limit.min(i64::MAX as u64) as i64], |r| {
                    r.get(0)
                })
                .ctx("reading the review queue")?;
            rows.collect::<Result<Vec<_>, _>>()
                .ctx("reading the review queue")?
        };
        ids.iter().map(|id| self.synthetic_item(id)).collect()
    }

    /// One synthetic item with its facts and edits.
    pub fn synthetic_item(&self, external_id: &str) -> Result<SyntheticItem, StoreError> {
        let (id, mut item) = self
            .conn
            .query_row(
                "SELECT id, external_id, kind, category, text, reference_answer, strata, review_status,
                        reviewed_by, review_note, augment_run_id, provenance
                 FROM items WHERE external_id = ?1 AND origin = 'synthetic'",
                [external_id],
                |r| {
                    let id: i64 = r.get(0)?;
                    let at = At {
                        table: "items",
                        row_id: id,
                    };
                    Ok((
                        id,
                        SyntheticItem {
                            external_id: r.get(1)?,
                            kind: at.get(r, 2, "kind")?,
                            category: r.get(3)?,
                            text: r.get(4)?,
                            answer: r.get::<_, Option<String>>(5)?.unwrap_or_default(),
                            strata: at.json(r, 6, "strata")?,
                            review_status: at.get(r, 7, "review_status")?,
                            reviewed_by: r.get(8)?,
                            review_note: r.get(9)?,
                            run_id: r.get::<_, Option<i64>>(10)?.map(AugmentRunId),
                            provenance: at.json(r, 11, "provenance")?,
                            facts: Vec::new(),
                            revisions: Vec::new(),
                        },
                    ))
                },
            )
            .optional()
            .ctx("reading a synthetic item")?
            .ok_or_else(|| StoreError::NotFound {
                entity: "synthetic item",
                key: external_id.to_owned(),
            })?;
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT f.id, f.topic, f.statement FROM item_facts i JOIN seed_facts f ON f.id = i.fact_id
                 WHERE i.item_id = ?1 ORDER BY f.id",
            )
            .ctx("reading an item's facts")?;
        item.facts = stmt
            .query_map([id], |r| {
                Ok(CitedFact {
                    id: r.get(0)?,
                    topic: r.get(1)?,
                    statement: r.get(2)?,
                })
            })
            .ctx("reading an item's facts")?
            .collect::<Result<Vec<_>, _>>()
            .ctx("reading an item's facts")?;
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT editor, text_before, answer_before, text_after, answer_after, created_at
                 FROM item_revisions WHERE item_id = ?1 ORDER BY id",
            )
            .ctx("reading an item's edits")?;
        item.revisions = stmt
            .query_map([id], |r| {
                Ok(ItemRevision {
                    editor: r.get(0)?,
                    text_before: r.get(1)?,
                    answer_before: r.get(2)?,
                    text_after: r.get(3)?,
                    answer_after: r.get(4)?,
                    created_at: r.get(5)?,
                })
            })
            .ctx("reading an item's edits")?
            .collect::<Result<Vec<_>, _>>()
            .ctx("reading an item's edits")?;
        Ok(item)
    }

    /// Records an expert's decision on a pending synthetic item: approval
    /// (the approver goes into the item's provenance), an edit (the text
    /// before it is kept in `item_revisions`, then the item is approved), or
    /// a rejection with its reason. Only pending items can be decided; the
    /// caller checks an edit's text (see `augment::review`).
    pub fn review_synthetic_item(
        &mut self,
        external_id: &str,
        decision: &ReviewDecision,
        expert: &str,
        actor: &Actor,
    ) -> Result<ReviewStatus, StoreError> {
        let expert = expert.trim();
        if expert.is_empty() {
            return Err(StoreError::Conflict(
                "say who reviews: an expert's name is required".into(),
            ));
        }
        self.write("reviewing a synthetic item", |tx| {
            let row: Option<(i64, String, Option<String>, String)> = tx
                .query_row(
                    "SELECT id, text, reference_answer, review_status FROM items WHERE external_id = ?1 AND origin = 'synthetic'",
                    [external_id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                )
                .optional()
                .ctx("reading a synthetic item")?;
            let Some((id, text, answer, status)) = row else {
                return Err(StoreError::NotFound {
                    entity: "synthetic item",
                    key: external_id.to_owned(),
                });
            };
            if status != "pending" {
                return Err(StoreError::Conflict(format!(
                    "{external_id} is already {status}; only pending items are reviewed"
                )));
            }
            let now = now_utc();
            let (new_status, note) = match decision {
                ReviewDecision::Approve => (ReviewStatus::Approved, None),
                ReviewDecision::Edit {
                    text: new_text,
                    answer: new_answer,
                } => {
                    tx.execute(
                        "INSERT INTO item_revisions (item_id, editor, text_before, answer_before, text_after, answer_after, created_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                        params![id, expert, text, answer, new_text, new_answer, now],
                    )
                    .ctx("keeping the original of an edited item")?;
                    tx.execute(
                        "UPDATE items SET text = ?2, reference_answer = ?3 WHERE id = ?1",
                        params![id, new_text, new_answer],
                    )
                    .ctx("editing a synthetic item")?;
                    (ReviewStatus::Approved, Some("edited".to_owned()))
                }
                ReviewDecision::Reject { reason } => {
                    if reason.trim().is_empty() {
                        return Err(StoreError::Conflict(
                            "a rejection needs a reason".into(),
                        ));
                    }
                    (ReviewStatus::Rejected, Some(reason.trim().to_owned()))
                }
            };
            tx.execute(
                "UPDATE items SET review_status = ?2, reviewed_by = ?3, reviewed_at = ?4, review_note = ?5,
                        provenance = json_set(provenance, '$.reviewed_by', ?3, '$.reviewed_at', ?4, '$.review', ?6)
                 WHERE id = ?1",
                params![id, new_status, expert, now, note, new_status.as_str()],
            )
            .ctx("reviewing a synthetic item")?;
            audit::append(
                tx,
                actor,
                match decision {
                    ReviewDecision::Approve => "synthetic_item_approved",
                    ReviewDecision::Edit { .. } => "synthetic_item_edited_and_approved",
                    ReviewDecision::Reject { .. } => "synthetic_item_rejected",
                },
                "item",
                Some(external_id),
                &serde_json::json!({ "expert": expert, "note": note }),
            )?;
            Ok(new_status)
        })
    }
}

/// Adds one attempt and its cost to a run's counters.
fn count_attempt(
    tx: &rusqlite::Transaction<'_>,
    run: AugmentRunId,
    accepted: bool,
    cost: AttemptCost,
    now: &str,
) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE augment_runs SET accepted = accepted + ?2, rejected = rejected + ?3,
                prompt_tokens = prompt_tokens + ?4, completion_tokens = completion_tokens + ?5,
                cost_usd = cost_usd + ?6, updated_at = ?7
         WHERE id = ?1",
        params![
            run,
            i64::from(accepted),
            i64::from(!accepted),
            cost.prompt_tokens as i64,
            cost.completion_tokens as i64,
            cost.usd,
            now
        ],
    )
    .ctx("counting an attempt")?;
    Ok(())
}
