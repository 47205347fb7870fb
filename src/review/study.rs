//! Setting a study up: models × items × raters × overlap, assignments, the
//! demo study, and generating the answers a study still lacks.

use serde::{Deserialize, Serialize};

use super::blinding::order_seed;
use super::{ReviewError, check_name};
use crate::domain::{DomainPack, Rubric};
use crate::generate::{self, GenerateError, GenerateOptions, GenerateSummary, params_hash};
use crate::ids::{ItemId, RaterId, StudyId};
use crate::inference::{Backend, SamplingParams};
use crate::progress::{CancelToken, Progress};
use crate::store::{
    Actor, ItemFilter, ItemRaters, ModelRecord, NewAssignment, NewStudyRow, RaterProgress, Store,
    StoreError, StudyRecord,
};
use crate::vocab::StudyStatus;

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
    pub item_ids: Option<Vec<ItemId>>,
    /// Models compared side by side (2 to 4).
    pub models: Vec<String>,
    /// Raters assigned now (more can join later).
    pub rater_ids: Vec<RaterId>,
    /// How many raters rate each item.
    pub overlap: u32,
    /// Randomisation seed.
    pub seed: u64,
    /// The sampling setting whose answers are reviewed.
    pub params: SamplingParams,
    /// The system prompt of those answers.
    pub system_prompt: String,
}

/// A model of a study and how many of the study's items it has not answered.
#[derive(Debug, Clone, PartialEq)]
pub struct MissingAnswers {
    /// The model.
    pub model: ModelRecord,
    /// Items it still has to answer.
    pub missing: u64,
}

/// Chooses which items a rater gets: every item with fewer than `overlap`
/// raters.
fn plan_for_rater(
    counts: &[ItemRaters],
    overlap: i64,
    study_seed: u64,
    rater_id: RaterId,
) -> Vec<NewAssignment> {
    counts
        .iter()
        .filter(|c| c.raters < overlap)
        .map(|c| NewAssignment {
            rater_id,
            item_id: c.item_id,
            order_seed: order_seed(study_seed, rater_id, c.item_id),
        })
        .collect()
}

/// Creates a study and assigns its items to the given raters.
pub fn create_study(
    store: &mut Store,
    spec: &StudySpec,
    rubric: &Rubric,
    actor: &Actor,
) -> Result<StudyId, ReviewError> {
    let name = check_name("study", &spec.name)?;
    if !(2..=4).contains(&spec.models.len()) {
        return Err(ReviewError::ModelCount(spec.models.len()));
    }
    let mut model_ids = Vec::new();
    for m in &spec.models {
        let id = store.model_by_name(m)?.id;
        if model_ids.contains(&id) {
            return Err(ReviewError::DuplicateModel(m.clone()));
        }
        model_ids.push(id);
    }
    if spec.overlap == 0 {
        return Err(ReviewError::ZeroOverlap);
    }
    if spec.limit == Some(0) {
        return Err(ReviewError::ZeroLimit);
    }
    for r in &spec.rater_ids {
        store.rater(*r)?;
    }
    let filter = ItemFilter {
        category: spec.category.clone(),
        // Only the evaluation set is reviewed, unless items are named:
        // synthetic items waiting in the pool are not study material.
        split: if spec.item_ids.is_some() {
            None
        } else {
            Some(crate::vocab::ItemSplit::Eval)
        },
        limit: if spec.item_ids.is_some() {
            None
        } else {
            spec.limit
        },
        ids: spec.item_ids.clone(),
    };
    let item_ids: Vec<ItemId> = store.items(&filter)?.into_iter().map(|i| i.id).collect();
    if item_ids.is_empty() {
        return Err(ReviewError::NoItems);
    }
    let row = NewStudyRow {
        name: name.to_owned(),
        overlap: i64::from(spec.overlap),
        seed: spec.seed as i64,
        params_hash: params_hash(&spec.params, &spec.system_prompt),
        params: spec.params.clone(),
        system_prompt: spec.system_prompt.clone(),
        rubric: rubric.clone(),
        model_ids,
        item_ids: item_ids.clone(),
    };
    let mut counts: Vec<ItemRaters> = item_ids
        .iter()
        .map(|&item_id| ItemRaters { item_id, raters: 0 })
        .collect();
    let mut assignments = Vec::new();
    for r in &spec.rater_ids {
        let plan = plan_for_rater(&counts, row.overlap, spec.seed, *r);
        for a in &plan {
            if let Some(c) = counts.iter_mut().find(|c| c.item_id == a.item_id) {
                c.raters += 1;
            }
        }
        assignments.extend(plan);
    }
    Ok(store.insert_study(&row, &assignments, actor)?)
}

/// Assigns a rater to every open study's items that still need raters.
/// Returns how many items were assigned.
pub fn join_open_studies(store: &mut Store, rater_id: RaterId) -> Result<u64, ReviewError> {
    store.rater(rater_id)?;
    let mut n = 0;
    for study in store
        .studies()?
        .into_iter()
        .filter(|s| s.status == StudyStatus::Open)
    {
        let counts = store.assignment_counts(study.id)?;
        let already: std::collections::HashSet<ItemId> = store
            .rater_assignments(rater_id)?
            .into_iter()
            .filter(|a| a.study_id == study.id)
            .map(|a| a.item_id)
            .collect();
        let counts: Vec<ItemRaters> = counts
            .into_iter()
            .filter(|c| !already.contains(&c.item_id))
            .collect();
        let plan = plan_for_rater(&counts, study.overlap, study.seed as u64, rater_id);
        // Opening the queue calls this every time; skip the write when there is nothing to add.
        if !plan.is_empty() {
            n += store.add_assignments(study.id, &plan)?;
        }
    }
    Ok(n)
}

/// Models of a study and how many of the study's items each has not answered yet.
pub fn missing_answers(
    store: &Store,
    study_id: StudyId,
) -> Result<Vec<MissingAnswers>, ReviewError> {
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
        out.push(MissingAnswers { model, missing });
    }
    Ok(out)
}

/// A study at a glance, for the coordinator (the CLI's `study show` and
/// `study list`, the app's Studies screen).
#[derive(Debug, Clone, PartialEq)]
pub struct StudyOverview {
    /// The study.
    pub study: StudyRecord,
    /// Its models, in the study's order.
    pub models: Vec<String>,
    /// Items in the study.
    pub items: u64,
    /// Answers still to generate, all models together.
    pub missing_answers: u64,
    /// Each rater's progress.
    pub progress: Vec<RaterProgress>,
}

/// The overview of `study`.
pub fn study_overview(store: &Store, study: &StudyRecord) -> Result<StudyOverview, ReviewError> {
    let missing = missing_answers(store, study.id)?;
    Ok(StudyOverview {
        study: study.clone(),
        models: missing.iter().map(|m| m.model.name.clone()).collect(),
        items: store.study_item_ids(study.id)?.len() as u64,
        missing_answers: missing.iter().map(|m| m.missing).sum(),
        progress: store.study_progress(study.id)?,
    })
}

/// Starts a backend for a registered model.
pub type OpenBackend<'a> = dyn Fn(&ModelRecord) -> Result<Box<dyn Backend>, GenerateError> + 'a;

/// Generates every missing answer of a study, model by model, committing each
/// answer as it finishes. `open` starts a backend for a model.
pub fn generate_study_answers(
    store: &mut Store,
    study_id: StudyId,
    open: &OpenBackend<'_>,
    progress: &dyn Progress,
    cancel: &CancelToken,
) -> Result<Vec<GenerateSummary>, ReviewError> {
    let study = store.study(study_id)?;
    // The study's stored params decode or the store refuses: answers are
    // never generated with guessed params under the study's params hash.
    let options = GenerateOptions {
        filter: ItemFilter {
            ids: Some(store.study_item_ids(study_id)?),
            ..Default::default()
        },
        params: study.params.clone(),
        system_prompt: study.system_prompt.clone(),
    };
    let mut summaries = Vec::new();
    for MissingAnswers { model, missing } in missing_answers(store, study_id)? {
        if cancel.is_cancelled() {
            break;
        }
        if missing == 0 {
            continue;
        }
        let opened = open(&model);
        generate::note_load_result(store, &model, &opened);
        let backend = opened?;
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
    actor: &Actor,
) -> Result<Option<StudyId>, ReviewError> {
    if let Some(s) = store.studies()?.into_iter().find(|s| s.name == DEMO_STUDY) {
        return Ok(Some(s.id));
    }
    if store.model_by_name(candidate).is_err() || store.model_by_name(baseline).is_err() {
        return Ok(None);
    }
    // Round-robin over categories so the demo shows each kind of question.
    let mut per_category: Vec<Vec<ItemId>> = Vec::new();
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
    Ok(Some(create_study(
        store,
        &spec,
        &pack.manifest.rubric,
        actor,
    )?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlap_limits_raters_per_item() {
        let counts: Vec<ItemRaters> = [(1, 0), (2, 1), (3, 2)]
            .into_iter()
            .map(|(i, raters)| ItemRaters {
                item_id: ItemId(i),
                raters,
            })
            .collect();
        let plan = plan_for_rater(&counts, 2, 5, RaterId(9));
        let items: Vec<ItemId> = plan.iter().map(|p| p.item_id).collect();
        assert_eq!(items, [ItemId(1), ItemId(2)]);
        assert!(plan.iter().all(|p| p.rater_id == RaterId(9)));
    }
}
