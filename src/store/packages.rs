//! Rows that travel between workspaces: what a study package holds for one
//! rater (read on the coordinator's machine, written on the rater's), the
//! ratings a rater returns (read on the rater's machine), and their merge
//! into the coordinator's workspace. Rows are matched by their UUIDs
//! (migration 0006), never by integer keys. Every write is one transaction.

use std::collections::HashMap;

use rusqlite::{OptionalExtension, Transaction, params};
use serde::{Deserialize, Serialize};

use super::{Actor, At, SqlContext, Store, StoreError, audit, now_utc};
use crate::domain::Rubric;
use crate::ids::{RaterId, StudyId};
use crate::vocab::{AssignmentStatus, HarmLevel, HarmLikelihood, ItemKind, Specialty, Verdict};

/// A study as it travels: no model, no sampling setting, no system prompt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TravellingStudy {
    /// Its UUID.
    pub uuid: String,
    /// Its name.
    pub name: String,
    /// The rubric raters score with.
    pub rubric: Rubric,
    /// The study's seed.
    pub seed: i64,
    /// Raters per item.
    pub overlap: i64,
}

/// A rater as it travels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TravellingRater {
    /// Their UUID.
    pub uuid: String,
    /// Display name.
    pub name: String,
    /// Specialty.
    pub specialty: Specialty,
}

/// An item (question or vignette) as it travels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TravellingItem {
    /// Its UUID.
    pub uuid: String,
    /// Question or vignette.
    pub kind: ItemKind,
    /// Category id.
    pub category: String,
    /// What the patient asks.
    pub text: String,
}

/// One assignment's status as it travels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TravellingSubmission {
    /// The assignment's UUID.
    pub assignment: String,
    /// Pending, draft or submitted.
    pub status: AssignmentStatus,
    /// When it was submitted.
    pub submitted_at: Option<String>,
}

/// One rating as it travels: the answer by its UUID, never by model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TravellingRating {
    /// The rating's UUID (made where it was first saved).
    pub uuid: String,
    /// The assignment's UUID.
    pub assignment: String,
    /// The rated answer's UUID.
    pub answer: String,
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
    /// When it was last changed (RFC 3339, UTC, milliseconds).
    pub updated_at: String,
}

impl TravellingRating {
    /// The rating's values (not its identity or time), for comparing two
    /// versions and ordering them when their times are equal.
    pub fn values_key(&self) -> String {
        serde_json::json!([
            self.accuracy,
            self.appropriateness,
            self.empathy,
            self.harm,
            self.harm_likelihood,
            self.comment,
            self.corrected_answer
        ])
        .to_string()
    }
}

/// One side-by-side preference as it travels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TravellingPreference {
    /// The preference's UUID.
    pub uuid: String,
    /// The assignment's UUID.
    pub assignment: String,
    /// Better, tie or both bad.
    pub verdict: Verdict,
    /// The preferred answer's UUID (only with `better`).
    pub preferred_answer: Option<String>,
    /// When it was last changed.
    pub updated_at: String,
}

impl TravellingPreference {
    /// The preference's values, as [`TravellingRating::values_key`].
    pub fn values_key(&self) -> String {
        serde_json::json!([self.verdict, self.preferred_answer]).to_string()
    }
}

/// One rater's work in one study: every rating, preference and assignment
/// status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RaterWork {
    /// Each assignment's status.
    pub submissions: Vec<TravellingSubmission>,
    /// Every rating.
    pub ratings: Vec<TravellingRating>,
    /// Every preference.
    pub preferences: Vec<TravellingPreference>,
}

/// An assignment on the coordinator's side, before its answers are put in
/// the rater's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceAssignment {
    /// Row id.
    pub id: crate::ids::AssignmentId,
    /// UUID.
    pub uuid: String,
    /// The item's UUID.
    pub item: String,
    /// Seed of the rater's answer order.
    pub order_seed: i64,
    /// Status.
    pub status: AssignmentStatus,
    /// When it was submitted.
    pub submitted_at: Option<String>,
}

/// What a study package for one rater is made from.
#[derive(Debug, Clone, PartialEq)]
pub struct PackageSource {
    /// The study.
    pub study: TravellingStudy,
    /// The rater.
    pub rater: TravellingRater,
    /// The items the rater is assigned, in assignment order.
    pub items: Vec<TravellingItem>,
    /// The rater's assignments.
    pub assignments: Vec<SourceAssignment>,
    /// UUID of each of the study's answers, by generation id.
    pub answer_uuids: HashMap<i64, String>,
    /// The rater's work so far.
    pub work: RaterWork,
}

/// One answer to import on the rater's side, in the rater's display order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportAnswer {
    /// Its UUID.
    pub uuid: String,
    /// Its text.
    pub text: String,
    /// The placeholder model ("answer slot") it is stored under: chosen so
    /// that the rater's stored answer order shows it under the same letter
    /// as in the package.
    pub slot: usize,
}

/// One assignment to import on the rater's side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportAssignment {
    /// Its UUID.
    pub uuid: String,
    /// The item's UUID.
    pub item: String,
    /// Seed of the answer order.
    pub order_seed: i64,
    /// Status.
    pub status: AssignmentStatus,
    /// When it was submitted.
    pub submitted_at: Option<String>,
    /// Its answers.
    pub answers: Vec<ImportAnswer>,
}

/// A study package, ready to write into the rater's workspace.
#[derive(Debug, Clone, PartialEq)]
pub struct StudyImport {
    /// sha256 of the package's content.
    pub sha256: String,
    /// The study.
    pub study: TravellingStudy,
    /// The rater.
    pub rater: TravellingRater,
    /// Its items.
    pub items: Vec<TravellingItem>,
    /// Its assignments.
    pub assignments: Vec<ImportAssignment>,
    /// Answer slots (the most answers of any item).
    pub slots: usize,
    /// The rater's work so far.
    pub work: RaterWork,
    /// The sampling setting's hash and JSON every imported answer and the
    /// study are stored with (the default setting; the real one stays with
    /// the coordinator).
    pub params_hash: String,
    /// See `params_hash`.
    pub params_json: String,
}

/// What importing a study package did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct StudyImportSummary {
    /// The study's name.
    pub study: String,
    /// The rater's name.
    pub rater: String,
    /// The rater's id in this workspace.
    pub rater_id: i64,
    /// Assignments added.
    pub assignments_added: u32,
    /// Assignments already here (kept as they are: the rater's own work
    /// is never overwritten by a package).
    pub assignments_kept: u32,
    /// The same file was imported before; nothing was written.
    pub already_imported: bool,
}

/// What merging one returned ratings file did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct MergeSummary {
    /// The study's name.
    pub study: String,
    /// The rater's name.
    pub rater: String,
    /// Ratings and preferences new to this workspace.
    pub added: u32,
    /// Ones that replaced an older version (the old one is in the audit log).
    pub updated: u32,
    /// Ones identical to what is here.
    pub unchanged: u32,
    /// Ones older than the version here (kept; reported in `disagreements`).
    pub older: u32,
    /// Assignments whose status moved forward (draft → submitted, …).
    pub status_changes: u32,
    /// Each rating or preference where the file and this workspace held
    /// different values, and which one was kept.
    pub disagreements: Vec<String>,
    /// The same file was merged before; nothing was written.
    pub already_imported: bool,
}

fn status_rank(s: AssignmentStatus) -> u8 {
    match s {
        AssignmentStatus::Pending => 0,
        AssignmentStatus::Draft => 1,
        AssignmentStatus::Submitted => 2,
    }
}

fn study_by_uuid(
    tx: &Transaction<'_>,
    uuid: &str,
) -> Result<Option<(StudyId, String)>, StoreError> {
    tx.query_row(
        "SELECT id, name FROM studies WHERE uuid = ?1",
        [uuid],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()
    .ctx("looking up a study by its UUID")
}

fn rater_by_uuid(
    tx: &Transaction<'_>,
    uuid: &str,
) -> Result<Option<(RaterId, String)>, StoreError> {
    tx.query_row("SELECT id, name FROM raters WHERE uuid = ?1", [uuid], |r| {
        Ok((r.get(0)?, r.get(1)?))
    })
    .optional()
    .ctx("looking up a rater by their UUID")
}

fn already_imported(tx: &Transaction<'_>, sha256: &str) -> Result<bool, StoreError> {
    Ok(tx
        .query_row(
            "SELECT 1 FROM package_imports WHERE sha256 = ?1",
            [sha256],
            |_| Ok(()),
        )
        .optional()
        .ctx("looking up earlier imports")?
        .is_some())
}

fn record_import(
    tx: &Transaction<'_>,
    sha256: &str,
    kind: &str,
    study: &str,
    rater: &str,
    summary: &impl Serialize,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO package_imports (sha256, kind, study_uuid, rater_uuid, summary, imported_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            sha256,
            kind,
            study,
            rater,
            super::to_json(summary, "the import summary")?,
            now_utc()
        ],
    )
    .ctx("recording the import")?;
    Ok(())
}

impl Store {
    /// Everything a study package for `rater_id` in `study_id` is made of.
    pub fn package_source(
        &self,
        study_id: StudyId,
        rater_id: RaterId,
    ) -> Result<PackageSource, StoreError> {
        let ctx = "reading a study for its package";
        let (uuid, name, rubric, seed, overlap): (String, String, String, i64, i64) = self
            .conn
            .query_row(
                "SELECT uuid, name, rubric, seed, overlap FROM studies WHERE id = ?1",
                [study_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .optional()
            .ctx(ctx)?
            .ok_or_else(|| StoreError::NotFound {
                entity: "study",
                key: study_id.to_string(),
            })?;
        let rubric: Rubric = serde_json::from_str(&rubric).map_err(|e| {
            StoreError::from(super::BadColumn {
                table: "studies",
                column: "rubric",
                row_id: study_id.0,
                message: e.to_string(),
            })
        })?;
        let rater = self
            .conn
            .query_row(
                "SELECT uuid, name, specialty, id FROM raters WHERE id = ?1",
                [rater_id],
                |r| {
                    let at = At {
                        table: "raters",
                        row_id: r.get(3)?,
                    };
                    Ok(TravellingRater {
                        uuid: r.get(0)?,
                        name: r.get(1)?,
                        specialty: at.get(r, 2, "specialty")?,
                    })
                },
            )
            .optional()
            .ctx(ctx)?
            .ok_or_else(|| StoreError::NotFound {
                entity: "rater",
                key: rater_id.to_string(),
            })?;
        let mut stmt = self
            .conn
            .prepare(
                "SELECT a.id, a.uuid, i.uuid, a.order_seed, a.status, a.submitted_at, i.kind, i.category, i.text, i.id
                 FROM assignments a JOIN items i ON i.id = a.item_id
                 WHERE a.study_id = ?1 AND a.rater_id = ?2 ORDER BY a.id",
            )
            .ctx(ctx)?;
        let rows = stmt
            .query_map(params![study_id, rater_id], |r| {
                let at = At {
                    table: "assignments",
                    row_id: r.get(0)?,
                };
                let item_at = At {
                    table: "items",
                    row_id: r.get(9)?,
                };
                Ok((
                    SourceAssignment {
                        id: r.get(0)?,
                        uuid: r.get(1)?,
                        item: r.get(2)?,
                        order_seed: r.get(3)?,
                        status: at.get(r, 4, "status")?,
                        submitted_at: r.get(5)?,
                    },
                    TravellingItem {
                        uuid: r.get(2)?,
                        kind: item_at.get(r, 6, "kind")?,
                        category: r.get(7)?,
                        text: r.get(8)?,
                    },
                ))
            })
            .ctx(ctx)?;
        let mut assignments = Vec::new();
        let mut items = Vec::new();
        for row in rows {
            let (a, i) = row.ctx(ctx)?;
            assignments.push(a);
            items.push(i);
        }
        let mut stmt = self
            .conn
            .prepare(
                "SELECT g.id, g.uuid FROM generations g
                 JOIN studies s ON s.id = ?1
                 JOIN study_models sm ON sm.study_id = s.id AND sm.model_id = g.model_id
                 JOIN study_items si ON si.study_id = s.id AND si.item_id = g.item_id
                 WHERE g.params_hash = s.params_hash",
            )
            .ctx(ctx)?;
        let answer_uuids = stmt
            .query_map([study_id], |r| Ok((r.get(0)?, r.get(1)?)))
            .ctx(ctx)?
            .collect::<Result<HashMap<i64, String>, _>>()
            .ctx(ctx)?;
        Ok(PackageSource {
            study: TravellingStudy {
                uuid,
                name,
                rubric,
                seed,
                overlap,
            },
            rater,
            items,
            assignments,
            answer_uuids,
            work: self.rater_work(study_id, rater_id)?,
        })
    }

    /// The raters with at least one assignment in `study_id`, by id.
    pub fn study_rater_ids(&self, study_id: StudyId) -> Result<Vec<RaterId>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT DISTINCT rater_id FROM assignments WHERE study_id = ?1 ORDER BY rater_id",
            )
            .ctx("listing a study's raters")?;
        let rows = stmt
            .query_map([study_id], |r| r.get(0))
            .ctx("listing a study's raters")?;
        rows.collect::<Result<Vec<_>, _>>()
            .ctx("listing a study's raters")
    }

    /// The study and rater with these UUIDs, if this workspace has them.
    pub fn study_and_rater_by_uuid(
        &self,
        study: &str,
        rater: &str,
    ) -> Result<(Option<StudyId>, Option<RaterId>), StoreError> {
        let s = self
            .conn
            .query_row("SELECT id FROM studies WHERE uuid = ?1", [study], |r| {
                r.get(0)
            })
            .optional()
            .ctx("looking up a study by its UUID")?;
        let r = self
            .conn
            .query_row("SELECT id FROM raters WHERE uuid = ?1", [rater], |r| {
                r.get(0)
            })
            .optional()
            .ctx("looking up a rater by their UUID")?;
        Ok((s, r))
    }

    /// A study's and a rater's UUIDs.
    pub fn study_and_rater_uuids(
        &self,
        study: StudyId,
        rater: RaterId,
    ) -> Result<(String, String), StoreError> {
        let s = self
            .conn
            .query_row("SELECT uuid FROM studies WHERE id = ?1", [study], |r| {
                r.get(0)
            })
            .optional()
            .ctx("reading a study's UUID")?
            .ok_or_else(|| StoreError::NotFound {
                entity: "study",
                key: study.to_string(),
            })?;
        let r = self
            .conn
            .query_row("SELECT uuid FROM raters WHERE id = ?1", [rater], |r| {
                r.get(0)
            })
            .optional()
            .ctx("reading a rater's UUID")?
            .ok_or_else(|| StoreError::NotFound {
                entity: "rater",
                key: rater.to_string(),
            })?;
        Ok((s, r))
    }

    /// Every rating, preference and assignment status of `rater_id` in
    /// `study_id`, by UUID.
    pub fn rater_work(
        &self,
        study_id: StudyId,
        rater_id: RaterId,
    ) -> Result<RaterWork, StoreError> {
        let ctx = "reading a rater's work";
        let mut stmt = self
            .conn
            .prepare(
                "SELECT a.uuid, a.status, a.submitted_at, a.id FROM assignments a
                 WHERE a.study_id = ?1 AND a.rater_id = ?2 ORDER BY a.id",
            )
            .ctx(ctx)?;
        let submissions = stmt
            .query_map(params![study_id, rater_id], |r| {
                let at = At {
                    table: "assignments",
                    row_id: r.get(3)?,
                };
                Ok(TravellingSubmission {
                    assignment: r.get(0)?,
                    status: at.get(r, 1, "status")?,
                    submitted_at: r.get(2)?,
                })
            })
            .ctx(ctx)?
            .collect::<Result<Vec<_>, _>>()
            .ctx(ctx)?;
        let mut stmt = self
            .conn
            .prepare(
                "SELECT r.uuid, a.uuid, g.uuid, r.accuracy, r.appropriateness, r.empathy, r.harm,
                        r.harm_likelihood, r.comment, r.corrected_answer, r.updated_at, r.id
                 FROM ratings r JOIN assignments a ON a.id = r.assignment_id
                 JOIN generations g ON g.id = r.generation_id
                 WHERE a.study_id = ?1 AND a.rater_id = ?2 ORDER BY a.id, g.uuid",
            )
            .ctx(ctx)?;
        let ratings = stmt
            .query_map(params![study_id, rater_id], |r| {
                let at = At {
                    table: "ratings",
                    row_id: r.get(11)?,
                };
                Ok(TravellingRating {
                    uuid: r.get(0)?,
                    assignment: r.get(1)?,
                    answer: r.get(2)?,
                    accuracy: r.get(3)?,
                    appropriateness: r.get(4)?,
                    empathy: r.get(5)?,
                    harm: at.get(r, 6, "harm")?,
                    harm_likelihood: at.get(r, 7, "harm_likelihood")?,
                    comment: r.get(8)?,
                    corrected_answer: r.get(9)?,
                    updated_at: r.get(10)?,
                })
            })
            .ctx(ctx)?
            .collect::<Result<Vec<_>, _>>()
            .ctx(ctx)?;
        let mut stmt = self
            .conn
            .prepare(
                "SELECT p.uuid, a.uuid, p.verdict, g.uuid, p.updated_at, a.id
                 FROM preferences p JOIN assignments a ON a.id = p.assignment_id
                 LEFT JOIN generations g ON g.id = p.preferred_generation_id
                 WHERE a.study_id = ?1 AND a.rater_id = ?2 ORDER BY a.id",
            )
            .ctx(ctx)?;
        let preferences = stmt
            .query_map(params![study_id, rater_id], |r| {
                let at = At {
                    table: "preferences",
                    row_id: r.get(5)?,
                };
                Ok(TravellingPreference {
                    uuid: r.get(0)?,
                    assignment: r.get(1)?,
                    verdict: at.get(r, 2, "verdict")?,
                    preferred_answer: r.get(3)?,
                    updated_at: r.get(4)?,
                })
            })
            .ctx(ctx)?
            .collect::<Result<Vec<_>, _>>()
            .ctx(ctx)?;
        Ok(RaterWork {
            submissions,
            ratings,
            preferences,
        })
    }

    /// Writes a study package into this (the rater's) workspace, in one
    /// transaction: the study, the rater, the items, one placeholder model
    /// per answer slot (`package STUDY-UUID answer slot K`, no identity),
    /// the answers, the assignments and the rater's earlier work. Rows
    /// already here (same UUID) are kept as they are; a study or rater name
    /// taken by another UUID is refused. The same file twice writes nothing.
    pub fn import_study_package(
        &mut self,
        p: &StudyImport,
        actor: &Actor,
    ) -> Result<StudyImportSummary, StoreError> {
        self.write("importing a study package", |tx| {
            let mut summary = StudyImportSummary {
                study: p.study.name.clone(),
                rater: p.rater.name.clone(),
                ..Default::default()
            };
            if already_imported(tx, &p.sha256)? {
                summary.already_imported = true;
                if let Some((id, _)) = rater_by_uuid(tx, &p.rater.uuid)? {
                    summary.rater_id = id.0;
                }
                return Ok(summary);
            }
            let now = now_utc();
            let study_id = match study_by_uuid(tx, &p.study.uuid)? {
                Some((id, _)) => {
                    let slot_prefix = format!("package {} answer slot ", p.study.uuid);
                    let real_models: i64 = tx
                        .query_row(
                            "SELECT COUNT(*) FROM study_models sm JOIN models m ON m.id = sm.model_id
                             WHERE sm.study_id = ?1 AND substr(m.name, 1, length(?2)) <> ?2",
                            params![id, slot_prefix],
                            |r| r.get(0),
                        )
                        .ctx("looking up the study's models")?;
                    if real_models > 0 {
                        return Err(StoreError::Conflict(format!(
                            "this workspace holds the coordinator's own copy of study {:?}; open the package in the rater's workspace",
                            p.study.name
                        )));
                    }
                    id
                }
                None => {
                    let taken: Option<String> = tx
                        .query_row("SELECT uuid FROM studies WHERE name = ?1", [&p.study.name], |r| r.get(0))
                        .optional()
                        .ctx("looking up a study")?;
                    if taken.is_some() {
                        return Err(StoreError::Conflict(format!(
                            "this workspace already has another study named {:?}; rename it before importing this package",
                            p.study.name
                        )));
                    }
                    tx.execute(
                        "INSERT INTO studies (name, status, rubric, overlap, seed, params_hash, params, system_prompt, created_at, uuid)
                         VALUES (?1, 'open', ?2, ?3, ?4, ?5, ?6, '', ?7, ?8)",
                        params![
                            p.study.name,
                            super::to_json(&p.study.rubric, "the study's rubric")?,
                            p.study.overlap,
                            p.study.seed,
                            p.params_hash,
                            p.params_json,
                            now,
                            p.study.uuid
                        ],
                    )
                    .ctx("creating the study")?;
                    StudyId(tx.last_insert_rowid())
                }
            };
            let rater_id = match rater_by_uuid(tx, &p.rater.uuid)? {
                Some((id, _)) => id,
                None => {
                    let taken = tx
                        .query_row("SELECT 1 FROM raters WHERE name = ?1", [&p.rater.name], |_| Ok(()))
                        .optional()
                        .ctx("looking up a rater")?
                        .is_some();
                    if taken {
                        return Err(StoreError::Conflict(format!(
                            "this workspace already has another rater named {:?}; a package opens in a workspace without a rater of that name",
                            p.rater.name
                        )));
                    }
                    tx.execute(
                        "INSERT INTO raters (name, specialty, created_at, uuid) VALUES (?1, ?2, ?3, ?4)",
                        params![p.rater.name, p.rater.specialty, now, p.rater.uuid],
                    )
                    .ctx("creating the rater")?;
                    RaterId(tx.last_insert_rowid())
                }
            };
            summary.rater_id = rater_id.0;
            let mut slots = Vec::with_capacity(p.slots);
            for k in 1..=p.slots {
                let name = format!("package {} answer slot {k}", p.study.uuid);
                let id: Option<i64> = tx
                    .query_row("SELECT id FROM models WHERE name = ?1", [&name], |r| r.get(0))
                    .optional()
                    .ctx("looking up an answer slot")?;
                let id = match id {
                    Some(id) => id,
                    None => {
                        tx.execute(
                            "INSERT INTO models (name, kind, role, endpoint_url, remote_model, created_at)
                             VALUES (?1, 'remote', 'baseline', 'package:blinded', 'blinded', ?2)",
                            params![name, now],
                        )
                        .ctx("creating an answer slot")?;
                        tx.last_insert_rowid()
                    }
                };
                tx.execute(
                    "INSERT OR IGNORE INTO study_models (study_id, model_id) VALUES (?1, ?2)",
                    params![study_id, id],
                )
                .ctx("adding an answer slot to the study")?;
                slots.push(id);
            }
            let mut item_ids: HashMap<&str, i64> = HashMap::new();
            for item in &p.items {
                let id: Option<i64> = tx
                    .query_row("SELECT id FROM items WHERE uuid = ?1", [&item.uuid], |r| r.get(0))
                    .optional()
                    .ctx("looking up an item")?;
                let id = match id {
                    Some(id) => id,
                    None => {
                        tx.execute(
                            "INSERT INTO items (external_id, kind, category, text, origin, split, review_status, provenance, created_at, uuid)
                             VALUES (?1, ?2, ?3, ?4, 'seed', 'eval', 'approved', ?5, ?6, ?7)",
                            params![
                                format!("pkg-{}", item.uuid),
                                item.kind,
                                item.category,
                                item.text,
                                serde_json::json!({ "package_study": p.study.uuid }).to_string(),
                                now,
                                item.uuid
                            ],
                        )
                        .ctx("adding an item")?;
                        tx.last_insert_rowid()
                    }
                };
                tx.execute(
                    "INSERT OR IGNORE INTO study_items (study_id, item_id) VALUES (?1, ?2)",
                    params![study_id, id],
                )
                .ctx("adding an item to the study")?;
                item_ids.insert(&item.uuid, id);
            }
            let mut new_assignments: Vec<&str> = Vec::new();
            for a in &p.assignments {
                let item_id = *item_ids.get(a.item.as_str()).ok_or_else(|| {
                    StoreError::Conflict(format!("assignment {} names an item the package does not hold", a.uuid))
                })?;
                for answer in &a.answers {
                    let model = *slots.get(answer.slot).ok_or_else(|| {
                        StoreError::Conflict(format!("answer {} has no slot", answer.uuid))
                    })?;
                    tx.execute(
                        "INSERT OR IGNORE INTO generations (item_id, model_id, params_hash, params, seed, system_prompt, text,
                             prompt_tokens, completion_tokens, prompt_ms, generation_ms, finish_reason, template_hash, engine, created_at, uuid)
                         VALUES (?1, ?2, ?3, ?4, 0, '', ?5, 0, 0, 0, 0, 'stop', '', 'package', ?6, ?7)",
                        params![item_id, model, p.params_hash, p.params_json, answer.text, now, answer.uuid],
                    )
                    .ctx("adding an answer")?;
                }
                let exists = tx
                    .query_row("SELECT 1 FROM assignments WHERE uuid = ?1", [&a.uuid], |_| Ok(()))
                    .optional()
                    .ctx("looking up an assignment")?
                    .is_some();
                if exists {
                    summary.assignments_kept += 1;
                    continue;
                }
                tx.execute(
                    "INSERT INTO assignments (study_id, rater_id, item_id, order_seed, status, submitted_at, uuid)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![study_id, rater_id, item_id, a.order_seed, a.status, a.submitted_at, a.uuid],
                )
                .ctx("adding an assignment")?;
                summary.assignments_added += 1;
                new_assignments.push(&a.uuid);
            }
            // The rater's earlier work, for the assignments new here.
            let work = RaterWork {
                submissions: Vec::new(),
                ratings: p
                    .work
                    .ratings
                    .iter()
                    .filter(|r| new_assignments.contains(&r.assignment.as_str()))
                    .cloned()
                    .collect(),
                preferences: p
                    .work
                    .preferences
                    .iter()
                    .filter(|r| new_assignments.contains(&r.assignment.as_str()))
                    .cloned()
                    .collect(),
            };
            merge_work(tx, study_id, rater_id, &work, &mut MergeSummary::default(), actor)?;
            record_import(tx, &p.sha256, "study", &p.study.uuid, &p.rater.uuid, &summary)?;
            audit::append(
                tx,
                actor,
                "package_imported",
                "study",
                Some(&study_id.to_string()),
                &serde_json::json!({ "sha256": p.sha256, "rater": p.rater.uuid, "assignments_added": summary.assignments_added }),
            )?;
            Ok(summary)
        })
    }

    /// Merges one rater's returned work into this (the coordinator's)
    /// workspace, in one transaction. Every assignment and answer must be
    /// that rater's in that study, or nothing is written. For each rating
    /// and preference the later `updated_at` wins (on equal times, the
    /// greater [`TravellingRating::values_key`], so the result does not
    /// depend on the order files are merged in); a replaced version goes to
    /// the audit log. Statuses only move forward. The same file twice writes
    /// nothing.
    pub fn merge_rater_work(
        &mut self,
        sha256: &str,
        study_uuid: &str,
        rater_uuid: &str,
        work: &RaterWork,
        actor: &Actor,
    ) -> Result<MergeSummary, StoreError> {
        self.write("merging returned ratings", |tx| {
            let Some((study_id, study_name)) = study_by_uuid(tx, study_uuid)? else {
                let names: Vec<String> = tx
                    .prepare("SELECT name FROM studies ORDER BY id")
                    .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
                    .ctx("listing studies")?;
                return Err(StoreError::Conflict(format!(
                    "this ratings file is for a study this workspace does not have (study {study_uuid}); its studies: {}",
                    if names.is_empty() { "none".to_owned() } else { names.join(", ") }
                )));
            };
            let Some((rater_id, rater_name)) = rater_by_uuid(tx, rater_uuid)? else {
                return Err(StoreError::Conflict(format!(
                    "this ratings file is from a rater this workspace does not know (rater {rater_uuid})"
                )));
            };
            let mut summary = MergeSummary {
                study: study_name,
                rater: rater_name,
                ..Default::default()
            };
            if already_imported(tx, sha256)? {
                summary.already_imported = true;
                return Ok(summary);
            }
            merge_work(tx, study_id, rater_id, work, &mut summary, actor)?;
            record_import(tx, sha256, "ratings", study_uuid, rater_uuid, &summary)?;
            audit::append(
                tx,
                actor,
                "ratings_merged",
                "study",
                Some(&study_id.to_string()),
                &serde_json::json!({ "sha256": sha256, "rater": rater_uuid, "added": summary.added,
                                     "updated": summary.updated, "older": summary.older }),
            )?;
            Ok(summary)
        })
    }
}

/// `query_row` through the connection's statement cache (merges run the
/// same few statements thousands of times).
fn cached_row<T, P: rusqlite::Params>(
    tx: &Transaction<'_>,
    sql: &str,
    params: P,
    f: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    tx.prepare_cached(sql)?.query_row(params, f)
}

/// `execute` through the statement cache.
fn cached_exec<P: rusqlite::Params>(
    tx: &Transaction<'_>,
    sql: &str,
    params: P,
) -> rusqlite::Result<usize> {
    tx.prepare_cached(sql)?.execute(params)
}

/// The assignment with `uuid`, checked to be `rater_id`'s in `study_id`:
/// (row id, item id, status).
fn own_assignment(
    tx: &Transaction<'_>,
    study_id: StudyId,
    rater_id: RaterId,
    uuid: &str,
) -> Result<(i64, i64, AssignmentStatus), StoreError> {
    let row: Option<(i64, i64, i64, i64, String)> = cached_row(
        tx,
        "SELECT id, study_id, rater_id, item_id, status FROM assignments WHERE uuid = ?1",
        [uuid],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
    )
    .optional()
    .ctx("looking up an assignment")?;
    match row {
        Some((id, s, r, item, status)) if s == study_id.0 && r == rater_id.0 => {
            let status = status.parse().map_err(|_| {
                StoreError::from(super::BadColumn {
                    table: "assignments",
                    column: "status",
                    row_id: id,
                    message: format!("unknown status {status:?}"),
                })
            })?;
            Ok((id, item, status))
        }
        Some(_) => Err(StoreError::Conflict(format!(
            "assignment {uuid} belongs to another rater or study; the file does not match this study"
        ))),
        None => Err(StoreError::Conflict(format!(
            "assignment {uuid} is not in this study"
        ))),
    }
}

/// The study's answers by UUID: (generation id, item id).
struct StudyAnswers(HashMap<String, (i64, i64)>);

impl StudyAnswers {
    fn load(tx: &Transaction<'_>, study_id: StudyId) -> Result<Self, StoreError> {
        let mut stmt = tx
            .prepare_cached(
                "SELECT g.uuid, g.id, g.item_id FROM generations g
                 JOIN studies s ON s.id = ?1
                 JOIN study_models sm ON sm.study_id = s.id AND sm.model_id = g.model_id
                 JOIN study_items si ON si.study_id = s.id AND si.item_id = g.item_id
                 WHERE g.params_hash = s.params_hash",
            )
            .ctx("reading the study's answers")?;
        let map = stmt
            .query_map([study_id], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?))))
            .ctx("reading the study's answers")?
            .collect::<Result<HashMap<String, (i64, i64)>, _>>()
            .ctx("reading the study's answers")?;
        Ok(Self(map))
    }

    /// The answer with `uuid`, checked to be one of the study's answers to
    /// `item_id`.
    fn get(&self, item_id: i64, uuid: &str) -> Result<i64, StoreError> {
        match self.0.get(uuid) {
            Some(&(id, item)) if item == item_id => Ok(id),
            _ => Err(StoreError::Conflict(format!(
                "answer {uuid} is not one of this study's answers to that item"
            ))),
        }
    }
}

/// [`own_assignment`] remembered per UUID: (row id, item id).
struct OwnAssignments {
    study_id: StudyId,
    rater_id: RaterId,
    seen: HashMap<String, (i64, i64)>,
}

impl OwnAssignments {
    fn get(&mut self, tx: &Transaction<'_>, uuid: &str) -> Result<(i64, i64), StoreError> {
        if let Some(&v) = self.seen.get(uuid) {
            return Ok(v);
        }
        let (id, item, _) = own_assignment(tx, self.study_id, self.rater_id, uuid)?;
        self.seen.insert(uuid.to_owned(), (id, item));
        Ok((id, item))
    }
}

/// A rating or preference as it travels: what the merge rule compares.
trait Versioned: Serialize {
    fn uuid(&self) -> &str;
    fn updated_at(&self) -> &str;
    fn values_key(&self) -> String;
}

impl Versioned for TravellingRating {
    fn uuid(&self) -> &str {
        &self.uuid
    }
    fn updated_at(&self) -> &str {
        &self.updated_at
    }
    fn values_key(&self) -> String {
        TravellingRating::values_key(self)
    }
}

impl Versioned for TravellingPreference {
    fn uuid(&self) -> &str {
        &self.uuid
    }
    fn updated_at(&self) -> &str {
        &self.updated_at
    }
    fn values_key(&self) -> String {
        TravellingPreference::values_key(self)
    }
}

/// The merge rule for one `kind` (`rating`, `preference`): whether the
/// file's version `incoming` is written over `here` (none, or the version in
/// this workspace). New: yes. Same values: no. Otherwise the later
/// `updated_at` wins, on equal times the greater values; a replaced version
/// goes to the audit log (`KIND_replaced_by_merge`) and every disagreement is
/// reported in `summary`, described as `what`.
fn take_incoming<T: Versioned>(
    tx: &Transaction<'_>,
    actor: &Actor,
    summary: &mut MergeSummary,
    here: Option<&T>,
    incoming: &T,
    kind: &str,
    what: &str,
) -> Result<bool, StoreError> {
    let Some(h) = here else {
        summary.added += 1;
        return Ok(true);
    };
    let (theirs, ours) = (incoming.values_key(), h.values_key());
    if theirs == ours {
        summary.unchanged += 1;
        return Ok(false);
    }
    let newer = (incoming.updated_at(), theirs) > (h.updated_at(), ours);
    if newer {
        summary.updated += 1;
        summary.disagreements.push(format!(
            "{what}: the file's version ({}) replaced the one here ({})",
            incoming.updated_at(),
            h.updated_at()
        ));
        audit::append(
            tx,
            actor,
            &format!("{kind}_replaced_by_merge"),
            kind,
            Some(h.uuid()),
            &serde_json::json!({ "old": h, "new": incoming }),
        )?;
    } else {
        summary.older += 1;
        summary.disagreements.push(format!(
            "{what}: the version here ({}) is kept over the file's ({})",
            h.updated_at(),
            incoming.updated_at()
        ));
    }
    Ok(newer)
}

/// Merges `work` (see [`Store::merge_rater_work`]) inside `tx`.
fn merge_work(
    tx: &Transaction<'_>,
    study_id: StudyId,
    rater_id: RaterId,
    work: &RaterWork,
    summary: &mut MergeSummary,
    actor: &Actor,
) -> Result<(), StoreError> {
    let mut assignments = OwnAssignments {
        study_id,
        rater_id,
        seen: HashMap::new(),
    };
    let answers = StudyAnswers::load(tx, study_id)?;
    let mut touched = std::collections::BTreeSet::new();
    for r in &work.ratings {
        let (assignment, item) = assignments.get(tx, &r.assignment)?;
        let generation = answers.get(item, &r.answer)?;
        let here: Option<TravellingRating> = cached_row(tx,
                "SELECT uuid, accuracy, appropriateness, empathy, harm, harm_likelihood, comment, corrected_answer, updated_at, id
                 FROM ratings WHERE assignment_id = ?1 AND generation_id = ?2",
                params![assignment, generation],
                |row| {
                    let at = At {
                        table: "ratings",
                        row_id: row.get(9)?,
                    };
                    Ok(TravellingRating {
                        uuid: row.get(0)?,
                        assignment: r.assignment.clone(),
                        answer: r.answer.clone(),
                        accuracy: row.get(1)?,
                        appropriateness: row.get(2)?,
                        empathy: row.get(3)?,
                        harm: at.get(row, 4, "harm")?,
                        harm_likelihood: at.get(row, 5, "harm_likelihood")?,
                        comment: row.get(6)?,
                        corrected_answer: row.get(7)?,
                        updated_at: row.get(8)?,
                    })
                },
            )
            .optional()
            .ctx("reading a rating")?;
        let what = format!(
            "rating of answer {} in assignment {}",
            r.answer, r.assignment
        );
        let write = take_incoming(tx, actor, summary, here.as_ref(), r, "rating", &what)?;
        if write {
            cached_exec(tx,
                "INSERT INTO ratings (assignment_id, generation_id, accuracy, appropriateness, empathy, harm,
                                      harm_likelihood, comment, corrected_answer, created_at, updated_at, uuid)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10, ?11)
                 ON CONFLICT(assignment_id, generation_id) DO UPDATE SET accuracy = excluded.accuracy,
                   appropriateness = excluded.appropriateness, empathy = excluded.empathy, harm = excluded.harm,
                   harm_likelihood = excluded.harm_likelihood, comment = excluded.comment,
                   corrected_answer = excluded.corrected_answer, updated_at = excluded.updated_at",
                params![
                    assignment,
                    generation,
                    r.accuracy,
                    r.appropriateness,
                    r.empathy,
                    r.harm,
                    r.harm_likelihood,
                    r.comment,
                    r.corrected_answer,
                    r.updated_at,
                    if here.is_none() { Some(r.uuid.as_str()) } else { None }
                ],
            )
            .ctx("merging a rating")?;
            touched.insert(assignment);
        }
    }
    for p in &work.preferences {
        let (assignment, item) = assignments.get(tx, &p.assignment)?;
        let preferred = match &p.preferred_answer {
            Some(u) => Some(answers.get(item, u)?),
            None => None,
        };
        if (p.verdict == Verdict::Better) != preferred.is_some() {
            return Err(StoreError::Conflict(format!(
                "the preference of assignment {} names a preferred answer only if and only if its verdict is \"better\"",
                p.assignment
            )));
        }
        let here: Option<TravellingPreference> = cached_row(tx,
                "SELECT p.uuid, p.verdict, g.uuid, p.updated_at FROM preferences p
                 LEFT JOIN generations g ON g.id = p.preferred_generation_id WHERE p.assignment_id = ?1",
                [assignment],
                |row| {
                    let at = At {
                        table: "preferences",
                        row_id: assignment,
                    };
                    Ok(TravellingPreference {
                        uuid: row.get(0)?,
                        assignment: p.assignment.clone(),
                        verdict: at.get(row, 1, "verdict")?,
                        preferred_answer: row.get(2)?,
                        updated_at: row.get(3)?,
                    })
                },
            )
            .optional()
            .ctx("reading a preference")?;
        let what = format!("preference in assignment {}", p.assignment);
        let write = take_incoming(tx, actor, summary, here.as_ref(), p, "preference", &what)?;
        if write {
            cached_exec(tx,
                "INSERT INTO preferences (assignment_id, verdict, preferred_generation_id, updated_at, uuid)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT(assignment_id) DO UPDATE SET verdict = excluded.verdict,
                   preferred_generation_id = excluded.preferred_generation_id, updated_at = excluded.updated_at",
                params![
                    assignment,
                    p.verdict,
                    preferred,
                    p.updated_at,
                    if here.is_none() { Some(p.uuid.as_str()) } else { None }
                ],
            )
            .ctx("merging a preference")?;
            touched.insert(assignment);
        }
    }
    for assignment in touched {
        cached_exec(
            tx,
            "UPDATE assignments SET status = 'draft' WHERE id = ?1 AND status = 'pending'",
            [assignment],
        )
        .ctx("marking a draft")?;
    }
    for s in &work.submissions {
        let (assignment, _) = assignments.get(tx, &s.assignment)?;
        let status: AssignmentStatus = cached_row(
            tx,
            "SELECT status FROM assignments WHERE id = ?1",
            [assignment],
            |r| {
                let at = At {
                    table: "assignments",
                    row_id: assignment,
                };
                at.get(r, 0, "status")
            },
        )
        .ctx("reading an assignment")?;
        if status_rank(s.status) > status_rank(status) {
            cached_exec(
                tx,
                "UPDATE assignments SET status = ?2, submitted_at = ?3 WHERE id = ?1",
                params![assignment, s.status, s.submitted_at],
            )
            .ctx("moving an assignment forward")?;
            summary.status_changes += 1;
            if s.status == AssignmentStatus::Submitted {
                audit::append(
                    tx,
                    actor,
                    "submit",
                    "assignment",
                    Some(&assignment.to_string()),
                    &serde_json::json!({ "merged": true }),
                )?;
            }
        }
    }
    Ok(())
}
