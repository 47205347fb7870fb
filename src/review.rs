//! Blind review: studies, assignments, the rater's blinded view, ratings.
//!
//! Blinding is a security property: [`BlindedItem`] carries the question and
//! the answers' texts under letters, nothing else — no model name, id, file,
//! size or timing. Answers are shown in an order shuffled per rater and item
//! from a stored seed, so reopening shows the same order.

pub mod results;

use serde::{Deserialize, Serialize};

use crate::domain::{DomainPack, Rubric};
use crate::generate::{self, GenerateError, GenerateOptions, GenerateSummary, params_hash};
use crate::inference::{Backend, SamplingParams};
use crate::progress::{CancelToken, Progress};
use crate::stats::rng::splitmix64;
use crate::store::{
    ItemFilter, ModelRecord, NewStudyRow, PreferenceRow, RatingExportRow, RatingRow, Store,
    StoreError,
};

/// Errors of the review workflow.
#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    /// The database refused.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The request is not valid.
    #[error("{0}")]
    Invalid(String),
    /// Answer generation failed.
    #[error(transparent)]
    Generate(#[from] GenerateError),
}

/// Specialties a rater can have.
pub const SPECIALTIES: [&str; 3] = ["dermatology", "psychology", "other"];

/// What a coordinator asks for when creating a study.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudySpec {
    /// Unique name.
    pub name: String,
    /// Only items of this category.
    pub category: Option<String>,
    /// At most this many items.
    pub limit: Option<u64>,
    /// Exactly these items (overrides category and limit).
    #[serde(default)]
    pub item_ids: Option<Vec<i64>>,
    /// Models compared side by side (2 to 4).
    pub models: Vec<String>,
    /// Raters assigned now (more can join later).
    pub rater_ids: Vec<i64>,
    /// How many raters rate each item.
    pub overlap: u32,
    /// Randomisation seed.
    pub seed: u64,
    /// The sampling setting whose answers are reviewed.
    pub params: SamplingParams,
    /// The system prompt of those answers.
    pub system_prompt: String,
}

/// The seed of the answer order for one rater and item in a study.
pub fn order_seed(study_seed: u64, rater_id: i64, item_id: i64) -> i64 {
    let mut s = study_seed
        ^ (rater_id as u64).wrapping_mul(0x1000_0000_01B3)
        ^ (item_id as u64).rotate_left(32);
    (splitmix64(&mut s) >> 1) as i64
}

/// A permutation of `0..n` drawn from `seed` (Fisher–Yates).
pub fn permutation(n: usize, seed: i64) -> Vec<usize> {
    let mut state = seed as u64;
    let mut p: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = (splitmix64(&mut state) % (i as u64 + 1)) as usize;
        p.swap(i, j);
    }
    p
}

/// Chooses which items a rater gets: every item with fewer than `overlap`
/// raters. Returns `(rater, item, order_seed)` triples.
fn plan_for_rater(
    counts: &[(i64, i64)],
    overlap: i64,
    study_seed: u64,
    rater_id: i64,
) -> Vec<(i64, i64, i64)> {
    counts
        .iter()
        .filter(|(_, n)| *n < overlap)
        .map(|(item, _)| (rater_id, *item, order_seed(study_seed, rater_id, *item)))
        .collect()
}

/// Creates a study and assigns its items to the given raters.
pub fn create_study(
    store: &mut Store,
    spec: &StudySpec,
    rubric: &Rubric,
) -> Result<i64, ReviewError> {
    let name = spec.name.trim();
    if name.is_empty() {
        return Err(ReviewError::Invalid("the study needs a name".into()));
    }
    if !(2..=4).contains(&spec.models.len()) {
        return Err(ReviewError::Invalid(format!(
            "a study compares 2 to 4 models side by side; {} chosen",
            spec.models.len()
        )));
    }
    let mut model_ids = Vec::new();
    for m in &spec.models {
        let id = store.model_by_name(m)?.id;
        if model_ids.contains(&id) {
            return Err(ReviewError::Invalid(format!("model {m:?} is listed twice")));
        }
        model_ids.push(id);
    }
    if spec.overlap == 0 {
        return Err(ReviewError::Invalid(
            "each item needs at least one rater (overlap ≥ 1)".into(),
        ));
    }
    for r in &spec.rater_ids {
        store.rater(*r)?;
    }
    let filter = ItemFilter {
        category: spec.category.clone(),
        split: None,
        limit: if spec.item_ids.is_some() {
            None
        } else {
            spec.limit
        },
        ids: spec.item_ids.clone(),
    };
    let item_ids: Vec<i64> = store.items(&filter)?.into_iter().map(|i| i.id).collect();
    if item_ids.is_empty() {
        return Err(ReviewError::Invalid(
            "no items match the study's selection".into(),
        ));
    }
    let row = NewStudyRow {
        name: name.to_owned(),
        overlap: i64::from(spec.overlap),
        seed: spec.seed as i64,
        params_hash: params_hash(&spec.params, &spec.system_prompt),
        params: serde_json::to_value(&spec.params).unwrap_or_default(),
        system_prompt: spec.system_prompt.clone(),
        rubric: serde_json::to_value(rubric).unwrap_or_default(),
        model_ids,
        item_ids: item_ids.clone(),
    };
    let mut counts: Vec<(i64, i64)> = item_ids.iter().map(|i| (*i, 0)).collect();
    let mut assignments = Vec::new();
    for r in &spec.rater_ids {
        let plan = plan_for_rater(&counts, row.overlap, spec.seed, *r);
        for (_, item, _) in &plan {
            if let Some(c) = counts.iter_mut().find(|(i, _)| i == item) {
                c.1 += 1;
            }
        }
        assignments.extend(plan);
    }
    Ok(store.insert_study(&row, &assignments)?)
}

/// Assigns a rater to every open study's items that still need raters.
/// Returns how many items were assigned.
pub fn join_open_studies(store: &mut Store, rater_id: i64) -> Result<u64, ReviewError> {
    store.rater(rater_id)?;
    let mut n = 0;
    for study in store.studies()?.into_iter().filter(|s| s.status == "open") {
        let counts = store.assignment_counts(study.id)?;
        let already: std::collections::HashSet<i64> = store
            .rater_assignments(rater_id)?
            .into_iter()
            .filter(|a| a.study_id == study.id)
            .map(|a| a.item_id)
            .collect();
        let counts: Vec<(i64, i64)> = counts
            .into_iter()
            .filter(|(i, _)| !already.contains(i))
            .collect();
        let plan = plan_for_rater(&counts, study.overlap, study.seed as u64, rater_id);
        // Opening the queue calls this every time; skip the write when there is nothing to add.
        if !plan.is_empty() {
            n += store.add_assignments(study.id, &plan)?;
        }
    }
    Ok(n)
}

/// One entry of a rater's queue.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueEntry {
    /// The assignment to open.
    pub assignment_id: i64,
    /// The study's name.
    pub study: String,
    /// `pending`, `draft` or `submitted`.
    pub status: String,
    /// Whether every answer exists (otherwise it waits for generation).
    pub ready: bool,
}

/// A rater's queue across open studies.
pub fn queue(store: &Store, rater_id: i64) -> Result<Vec<QueueEntry>, ReviewError> {
    Ok(store
        .rater_queue_rows(rater_id)?
        .into_iter()
        .map(|r| QueueEntry {
            assignment_id: r.assignment_id,
            study: r.study,
            status: r.status,
            ready: r.n_models > 0 && r.n_answers == r.n_models,
        })
        .collect())
}

/// One answer as a rater sees it.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlindedAnswer {
    /// `A`, `B`, `C` or `D`.
    pub label: String,
    /// The answer's text.
    pub text: String,
    /// The rater's saved (draft or submitted) rating of it.
    pub rating: RatingRow,
}

/// The rater's view of one item: no model identity anywhere.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlindedItem {
    /// The assignment.
    pub assignment_id: i64,
    /// `question` or `vignette`.
    pub kind: String,
    /// The patient's question or vignette.
    pub text: String,
    /// The answers, in this rater's order.
    pub answers: Vec<BlindedAnswer>,
    /// Saved preference: `better:A`, `tie`, `both_bad`, or none.
    pub preference: Option<String>,
    /// `pending`, `draft` or `submitted`.
    pub status: String,
}

const LABELS: [&str; 4] = ["A", "B", "C", "D"];

/// The answers of an assignment in display order: `(label, generation id, text)`.
fn ordered_answers(
    store: &Store,
    assignment_id: i64,
    rater_id: i64,
) -> Result<Vec<(String, i64, String)>, ReviewError> {
    let a = store.assignment(assignment_id)?;
    if a.rater_id != rater_id {
        // Raters see only their own work; do not reveal that it exists.
        return Err(StoreError::NotFound {
            entity: "assignment",
            key: assignment_id.to_string(),
        }
        .into());
    }
    let answers = store.study_answers(a.study_id, a.item_id)?;
    let n_models = store.study_model_ids(a.study_id)?.len();
    if answers.len() != n_models {
        return Err(ReviewError::Invalid(format!(
            "this item is not ready: {} of {} answers have been generated",
            answers.len(),
            n_models
        )));
    }
    let order = permutation(answers.len(), a.order_seed);
    Ok(order
        .into_iter()
        .zip(LABELS)
        .map(|(i, label)| (label.to_owned(), answers[i].0, answers[i].2.clone()))
        .collect())
}

/// The blinded view of one assignment for `rater_id`.
pub fn blinded_item(
    store: &Store,
    rater_id: i64,
    assignment_id: i64,
) -> Result<BlindedItem, ReviewError> {
    let answers = ordered_answers(store, assignment_id, rater_id)?;
    let a = store.assignment(assignment_id)?;
    let item = store.item(a.item_id)?;
    let pref = store.preference(assignment_id)?;
    let preference = pref.map(|p| match p.preferred_generation_id {
        Some(g) => format!(
            "better:{}",
            answers
                .iter()
                .find(|(_, id, _)| *id == g)
                .map_or("?", |(l, _, _)| l.as_str())
        ),
        None => p.verdict,
    });
    let mut out = Vec::new();
    for (label, generation_id, text) in answers {
        let rating = store
            .rating(assignment_id, generation_id)?
            .unwrap_or_default();
        out.push(BlindedAnswer {
            label,
            text,
            rating,
        });
    }
    Ok(BlindedItem {
        assignment_id,
        kind: item.kind,
        text: item.text,
        answers: out,
        preference,
        status: a.status,
    })
}

const MAX_TEXT: usize = 20_000;

fn validate_rating(r: &RatingRow) -> Result<(), ReviewError> {
    for (name, v) in [
        ("accuracy", r.accuracy),
        ("appropriateness", r.appropriateness),
        ("empathy", r.empathy),
    ] {
        if let Some(v) = v
            && !(1..=5).contains(&v)
        {
            return Err(ReviewError::Invalid(format!(
                "{name} must be between 1 and 5, got {v}"
            )));
        }
    }
    if let Some(h) = &r.harm
        && !["none", "mild_moderate", "severe"].contains(&h.as_str())
    {
        return Err(ReviewError::Invalid(format!("unknown harm level {h:?}")));
    }
    if let Some(l) = &r.harm_likelihood
        && !["low", "medium", "high"].contains(&l.as_str())
    {
        return Err(ReviewError::Invalid(format!(
            "unknown harm likelihood {l:?}"
        )));
    }
    for (name, text) in [
        ("comment", &r.comment),
        ("corrected answer", &r.corrected_answer),
    ] {
        if let Some(t) = text
            && t.chars().count() > MAX_TEXT
        {
            return Err(ReviewError::Invalid(format!(
                "the {name} is {} characters long; the limit is {MAX_TEXT}",
                t.chars().count()
            )));
        }
    }
    Ok(())
}

/// Saves a draft rating of the answer labelled `label`.
pub fn save_rating(
    store: &mut Store,
    rater_id: i64,
    assignment_id: i64,
    label: &str,
    rating: &RatingRow,
) -> Result<(), ReviewError> {
    validate_rating(rating)?;
    let answers = ordered_answers(store, assignment_id, rater_id)?;
    let (_, generation_id, _) = answers
        .iter()
        .find(|(l, _, _)| l == label)
        .ok_or_else(|| ReviewError::Invalid(format!("there is no answer {label:?}")))?;
    let mut clean = rating.clone();
    for t in [&mut clean.comment, &mut clean.corrected_answer] {
        if t.as_deref().is_some_and(|s| s.trim().is_empty()) {
            *t = None;
        }
    }
    Ok(store.upsert_rating(assignment_id, *generation_id, &clean)?)
}

/// Saves the preference: `better:A` (or another label), `tie` or `both_bad`.
pub fn save_preference(
    store: &mut Store,
    rater_id: i64,
    assignment_id: i64,
    preference: &str,
) -> Result<(), ReviewError> {
    let answers = ordered_answers(store, assignment_id, rater_id)?;
    let row = match preference.split_once(':') {
        Some(("better", label)) => {
            let g = answers
                .iter()
                .find(|(l, _, _)| l == label)
                .ok_or_else(|| ReviewError::Invalid(format!("there is no answer {label:?}")))?;
            PreferenceRow {
                verdict: "better".into(),
                preferred_generation_id: Some(g.1),
            }
        }
        None if preference == "tie" || preference == "both_bad" => PreferenceRow {
            verdict: preference.to_owned(),
            preferred_generation_id: None,
        },
        _ => {
            return Err(ReviewError::Invalid(format!(
                "unknown preference {preference:?}"
            )));
        }
    };
    Ok(store.upsert_preference(assignment_id, &row)?)
}

/// Submits an assignment once every answer has all three scores and a
/// preference is chosen.
pub fn submit(store: &mut Store, rater_id: i64, assignment_id: i64) -> Result<(), ReviewError> {
    let item = blinded_item(store, rater_id, assignment_id)?;
    if item.status == "submitted" {
        return Err(ReviewError::Invalid(
            "these ratings were already submitted".into(),
        ));
    }
    let mut missing = Vec::new();
    for a in &item.answers {
        for (name, v) in [
            ("accuracy", a.rating.accuracy),
            ("appropriateness", a.rating.appropriateness),
            ("empathy", a.rating.empathy),
        ] {
            if v.is_none() {
                missing.push(format!("{name} of answer {}", a.label));
            }
        }
    }
    if item.preference.is_none() {
        missing.push("the preference".into());
    }
    if !missing.is_empty() {
        return Err(ReviewError::Invalid(format!(
            "still missing: {}",
            missing.join(", ")
        )));
    }
    Ok(store.submit_assignment(assignment_id, rater_id)?)
}

/// Writes a study's ratings as CSV (one row per rating, model unblinded).
pub fn export_ratings_csv(
    store: &Store,
    study_id: i64,
    out: &mut dyn std::io::Write,
) -> Result<u64, ReviewError> {
    store.study(study_id)?;
    let rows: Vec<RatingExportRow> = store.study_rating_rows(study_id)?;
    let failed = |e: csv::Error| ReviewError::Invalid(format!("could not write CSV: {e}"));
    let mut w = csv::Writer::from_writer(out);
    if rows.is_empty() {
        // A study without ratings still exports a valid (empty) table.
        w.write_record(RATING_COLUMNS).map_err(failed)?;
    }
    for r in &rows {
        w.serialize(r).map_err(failed)?;
    }
    w.flush()
        .map_err(|e| ReviewError::Invalid(format!("could not write CSV: {e}")))?;
    Ok(rows.len() as u64)
}

/// The header of the ratings CSV: the fields of [`RatingExportRow`], in order.
pub const RATING_COLUMNS: [&str; 18] = [
    "study",
    "rater",
    "specialty",
    "item",
    "category",
    "model",
    "generation_id",
    "accuracy",
    "appropriateness",
    "empathy",
    "harm",
    "harm_likelihood",
    "comment",
    "corrected_answer",
    "preference",
    "preferred",
    "status",
    "submitted_at",
];

/// Models of a study and how many of the study's items each has not answered yet.
pub fn missing_answers(
    store: &Store,
    study_id: i64,
) -> Result<Vec<(ModelRecord, u64)>, ReviewError> {
    let study = store.study(study_id)?;
    let items = store.study_item_ids(study_id)?;
    let mut out = Vec::new();
    for model_id in store.study_model_ids(study_id)? {
        let model = store
            .models()?
            .into_iter()
            .find(|m| m.id == model_id)
            .ok_or_else(|| StoreError::NotFound {
                entity: "model",
                key: model_id.to_string(),
            })?;
        let done = store.answered_items(model_id, &study.params_hash)?;
        let missing = items.iter().filter(|i| !done.contains(i)).count() as u64;
        out.push((model, missing));
    }
    Ok(out)
}

/// Starts a backend for a registered model.
pub type OpenBackend<'a> = dyn Fn(&ModelRecord) -> Result<Box<dyn Backend>, GenerateError> + 'a;

/// Generates every missing answer of a study, model by model, committing each
/// answer as it finishes. `open` starts a backend for a model.
pub fn generate_study_answers(
    store: &mut Store,
    study_id: i64,
    open: &OpenBackend<'_>,
    progress: &dyn Progress,
    cancel: &CancelToken,
) -> Result<Vec<GenerateSummary>, ReviewError> {
    let study = store.study(study_id)?;
    let params: SamplingParams = serde_json::from_value(study.params.clone()).unwrap_or_default();
    let options = GenerateOptions {
        filter: ItemFilter {
            ids: Some(store.study_item_ids(study_id)?),
            ..Default::default()
        },
        params,
        system_prompt: study.system_prompt.clone(),
    };
    let mut summaries = Vec::new();
    for (model, missing) in missing_answers(store, study_id)? {
        if cancel.is_cancelled() {
            break;
        }
        if missing == 0 {
            continue;
        }
        let backend = open(&model)?;
        summaries.push(generate::run(
            store,
            backend.as_ref(),
            &model,
            &options,
            progress,
            cancel,
        )?);
    }
    Ok(summaries)
}

/// Name of the study that `ensure_demo_study` creates.
pub const DEMO_STUDY: &str = "Demo study";

/// Creates the demo study (the default model against a baseline over a few
/// items from every category) when both models are registered. Returns its id.
pub fn ensure_demo_study(
    store: &mut Store,
    pack: &DomainPack,
    candidate: &str,
    baseline: &str,
) -> Result<Option<i64>, ReviewError> {
    if let Some(s) = store.studies()?.into_iter().find(|s| s.name == DEMO_STUDY) {
        return Ok(Some(s.id));
    }
    if store.model_by_name(candidate).is_err() || store.model_by_name(baseline).is_err() {
        return Ok(None);
    }
    // Round-robin over categories so the demo shows each kind of question.
    let mut per_category: Vec<Vec<i64>> = Vec::new();
    for c in &pack.manifest.categories {
        let filter = ItemFilter {
            category: Some(c.clone()),
            limit: Some(2),
            ..Default::default()
        };
        per_category.push(store.items(&filter)?.into_iter().map(|i| i.id).collect());
    }
    let mut ids = Vec::new();
    for round in 0..2 {
        for c in &per_category {
            if let Some(id) = c.get(round) {
                ids.push(*id);
            }
        }
    }
    ids.truncate(6);
    let spec = StudySpec {
        name: DEMO_STUDY.into(),
        category: None,
        limit: None,
        item_ids: Some(ids),
        models: vec![candidate.to_owned(), baseline.to_owned()],
        rater_ids: store.raters()?.into_iter().map(|r| r.id).collect(),
        overlap: 1000,
        seed: 1,
        params: SamplingParams {
            max_tokens: 160,
            ..SamplingParams::default()
        },
        system_prompt: pack.manifest.system_prompt.clone(),
    };
    Ok(Some(create_study(store, &spec, &pack.manifest.rubric)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permutations_are_stable_and_vary_with_the_seed() {
        assert_eq!(permutation(4, 12345), permutation(4, 12345));
        let distinct: std::collections::HashSet<Vec<usize>> = (0..50)
            .map(|s| permutation(3, order_seed(7, 1, s)))
            .collect();
        assert_eq!(
            distinct.len(),
            6,
            "all 3! orders should occur over 50 items"
        );
        let mut p = permutation(4, 99);
        p.sort_unstable();
        assert_eq!(p, [0, 1, 2, 3]);
    }

    #[test]
    fn order_seeds_differ_between_raters() {
        assert_ne!(order_seed(1, 1, 10), order_seed(1, 2, 10));
        assert_ne!(order_seed(1, 1, 10), order_seed(1, 1, 11));
        assert!(order_seed(u64::MAX, i64::MAX, i64::MAX) >= 0);
    }

    #[test]
    fn overlap_limits_raters_per_item() {
        let counts = vec![(1, 0), (2, 1), (3, 2)];
        let plan = plan_for_rater(&counts, 2, 5, 9);
        let items: Vec<i64> = plan.iter().map(|p| p.1).collect();
        assert_eq!(items, [1, 2]);
    }

    #[test]
    fn ratings_are_validated() {
        let bad = RatingRow {
            accuracy: Some(6),
            ..Default::default()
        };
        assert!(validate_rating(&bad).is_err());
        let long = RatingRow {
            comment: Some("x".repeat(MAX_TEXT + 1)),
            ..Default::default()
        };
        assert!(
            validate_rating(&long)
                .unwrap_err()
                .to_string()
                .contains("limit")
        );
        let harm = RatingRow {
            harm: Some("apocalyptic".into()),
            ..Default::default()
        };
        assert!(validate_rating(&harm).is_err());
        assert!(
            validate_rating(&RatingRow {
                empathy: Some(5),
                ..Default::default()
            })
            .is_ok()
        );
    }
}
