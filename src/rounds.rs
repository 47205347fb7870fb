//! Retraining rounds: a checked dataset snapshot → a fine-tuned model with
//! its lineage.
//!
//! [`new_round`] gathers the candidates ([`dataset::gather`]: the pack's
//! training pairs, approved synthetic items, expert-validated answers under a
//! [`SelectionRule`], expert-corrected answers; never an evaluation item),
//! deduplicates them, refuses a leak into the evaluation set, splits them by
//! category with the round's seed and stores the snapshot with its hash and
//! counts, in one transaction. [`train_round`] fine-tunes the round's base
//! model on it in a supervised process ([`crate::train`]), records the curve
//! as it goes, resumes after the last finished epoch, and registers the
//! result with its lineage only when the validation loss fell.

pub mod dataset;
pub mod export;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::domain::DomainPack;
use crate::generate::chat_for;
use crate::ids::{ModelId, RoundId};
use crate::inference::{ChatMessage, Role};
use crate::progress::CancelToken;
use crate::store::{Actor, EpochRow, ModelRecord, NewRound, RoundRecord, Store, StoreError};
use crate::train::{Resume, TrainError, TrainEvent, TrainJob, TrainOutcome, TrainParams};
use crate::vocab::{ExampleSplit, ModelKind, ModelRole, RoundStatus};

pub use dataset::{Candidate, DatasetSummary, Leak, SelectionRule};

/// How a round's dataset is built.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RoundConfig {
    /// Share of each category held out for validation (0 < f < 1).
    pub val_fraction: f64,
    /// Which rated answers count as expert-validated.
    pub selection: SelectionRule,
    /// Near-duplicate threshold (Jaccard of 5-character shingles).
    pub near_duplicate_jaccard: f64,
    /// The domain pack and its version.
    pub pack: String,
    /// The system prompt inference uses (the pack's), given to every model
    /// of the round's evaluation study.
    pub system_prompt: String,
    /// The system prompt training examples are rendered with, when it is not
    /// `system_prompt` (the pack's short training prompt). `None` for rounds
    /// whose examples carry `system_prompt` (rounds built before packs had
    /// a training prompt, or from a pack without one).
    #[serde(default)]
    pub training_system_prompt: Option<String>,
    /// The pack's cited sources, for the dataset card. `None` for rounds
    /// built before the sources were kept with the round.
    #[serde(default)]
    pub sources: Option<Vec<crate::domain::SeedSource>>,
}

impl RoundConfig {
    /// The system prompt the round's training examples are rendered with.
    pub fn training_prompt(&self) -> &str {
        self.training_system_prompt
            .as_deref()
            .unwrap_or(&self.system_prompt)
    }
}

/// The state of a round's training, stored with the round so that a killed
/// run can resume.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct TrainingState {
    /// Hyperparameters.
    pub params: TrainParams,
    /// The run's folder (F32 base, checkpoint).
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub work_dir: PathBuf,
    /// Validation loss before training.
    pub val_loss_before: Option<f64>,
    /// Epochs finished and saved.
    pub epochs_done: u32,
    /// The checkpoint after the last finished epoch.
    #[cfg_attr(feature = "specta", specta(type = Option<String>))]
    pub checkpoint: Option<PathBuf>,
    /// Training windows per epoch and validation windows.
    pub windows: Option<(u32, u32)>,
    /// How the last run ended.
    #[cfg_attr(feature = "specta", specta(skip))]
    #[serde(default)]
    pub outcome: Option<TrainOutcome>,
}

/// Why a round operation stopped.
#[derive(Debug, thiserror::Error)]
pub enum RoundError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Training examples that are near-duplicates of evaluation items.
    #[error("{}", leak_message(.0))]
    Leak(Vec<Leak>),
    /// A split came out empty.
    #[error(
        "the {split} split would be empty ({total} example(s) after deduplication); add training data or change the validation fraction"
    )]
    EmptySplit {
        /// `train` or `val`.
        split: &'static str,
        /// Examples left.
        total: usize,
    },
    /// Bad settings.
    #[error("{0}")]
    Config(String),
    /// The base model cannot be fine-tuned here.
    #[error("model {model} cannot be fine-tuned here: {reason}")]
    NotTrainable {
        /// The model.
        model: String,
        /// Why.
        reason: String,
    },
    /// The round is not in a state that allows this.
    #[error("round {number} is {status}: {what}")]
    State {
        /// The round.
        number: i64,
        /// Its status.
        status: RoundStatus,
        /// What cannot be done.
        what: String,
    },
    /// Training stopped.
    #[error("round {number}: {source}")]
    Train {
        /// The round.
        number: i64,
        /// Why.
        #[source]
        source: TrainError,
    },
    /// Registering the fine-tuned model failed.
    #[error("round {number}: the fine-tuned model could not be registered: {message}")]
    Register {
        /// The round.
        number: i64,
        /// Why.
        message: String,
    },
    /// Writing an export failed.
    #[error(transparent)]
    Export(#[from] crate::export::ExportError),
}

fn leak_message(leaks: &[Leak]) -> String {
    let mut s = format!(
        "refusing to build a training set that leaks the evaluation set: {} example(s) are near-duplicates of evaluation items",
        leaks.len()
    );
    for l in leaks.iter().take(10) {
        s.push_str(&format!(
            "\n  example {} ~ evaluation item {} (Jaccard {:.2})",
            l.example_id, l.eval_item, l.similarity
        ));
    }
    if leaks.len() > 10 {
        s.push_str(&format!("\n  … and {} more", leaks.len() - 10));
    }
    s
}

impl Default for RoundConfig {
    fn default() -> Self {
        Self {
            val_fraction: 0.1,
            selection: SelectionRule::default(),
            near_duplicate_jaccard: crate::dedup::NEAR_DUPLICATE_JACCARD,
            pack: String::new(),
            system_prompt: String::new(),
            training_system_prompt: None,
            sources: None,
        }
    }
}

/// Builds, checks and stores the next round's dataset. `base` is the model
/// it will fine-tune. Nothing is written when it fails (a leak, an empty
/// split).
pub fn new_round(
    store: &mut Store,
    pack: &DomainPack,
    base: &ModelRecord,
    mut config: RoundConfig,
    seed: u64,
    actor: &Actor,
) -> Result<RoundRecord, RoundError> {
    if !(config.val_fraction > 0.0 && config.val_fraction < 1.0) {
        return Err(RoundError::Config(format!(
            "the validation fraction must be between 0 and 1, not {}",
            config.val_fraction
        )));
    }
    trainable(base)?;
    config.pack = format!("{} v{}", pack.manifest.id, pack.manifest.version);
    config.system_prompt = pack.manifest.system_prompt.clone();
    config.training_system_prompt = pack.manifest.training_system_prompt.clone();
    config.sources = Some(pack.sources.clone());
    let (candidates, excluded_eval) = dataset::gather(store, pack, &config.selection)?;
    let eval: Vec<(String, String)> = store
        .items(&crate::store::ItemFilter {
            split: Some(crate::vocab::ItemSplit::Eval),
            ..Default::default()
        })?
        .into_iter()
        .map(|i| (i.external_id, i.text))
        .collect();
    let built = dataset::build(candidates, &eval, &config, seed, excluded_eval)?;
    let record = store.create_round(
        &NewRound {
            base_model_id: base.id,
            seed: seed as i64,
            config,
            dataset_hash: built.hash,
            summary: built.summary,
            examples: built.examples,
        },
        actor,
    )?;
    Ok(record)
}

/// The model a round fine-tunes.
fn base_model(store: &Store, round: &RoundRecord) -> Result<ModelRecord, RoundError> {
    let base_id = round
        .base_model_id
        .ok_or_else(|| RoundError::Config("the round has no base model".into()))?;
    store
        .models()?
        .into_iter()
        .find(|m| m.id == base_id)
        .ok_or_else(|| RoundError::Config(format!("the base model (id {base_id}) is gone")))
}

fn trainable(base: &ModelRecord) -> Result<(), RoundError> {
    let not = |reason: &str| {
        Err(RoundError::NotTrainable {
            model: base.name.clone(),
            reason: reason.to_owned(),
        })
    };
    if base.kind != ModelKind::Local {
        return not(
            "it is a remote endpoint; only local GGUF models train on this machine (use the external trainer recipe)",
        );
    }
    if base
        .chat_template
        .as_deref()
        .is_none_or(|t| t.trim().is_empty())
    {
        return not(
            "its GGUF has no chat template, and training examples are rendered with the model's own template",
        );
    }
    Ok(())
}

/// The conversations a round trains and validates on: the round's training
/// system prompt ([`RoundConfig::training_prompt`]), the question, the answer.
pub fn conversations(
    examples: &[crate::store::RoundExample],
    system_prompt: &str,
    split: ExampleSplit,
) -> Vec<Vec<ChatMessage>> {
    examples
        .iter()
        .filter(|e| e.split == split)
        .map(|e| {
            let mut chat = chat_for(&e.question, system_prompt);
            chat.push(ChatMessage::new(Role::Assistant, e.answer.clone()));
            chat
        })
        .collect()
}

/// What [`train_round`] reports.
#[derive(Debug, Clone, PartialEq)]
pub enum RoundProgress {
    /// An event of the trainer.
    Train(TrainEvent),
    /// The fine-tuned model is registered.
    Registered(Box<ModelRecord>),
}

/// Where a round's files go: `<dir>/round-N/`.
pub fn round_dir(rounds_dir: &Path, number: i64) -> PathBuf {
    rounds_dir.join(format!("round-{number}"))
}

/// The name a round's fine-tuned model is registered under.
pub fn model_name(base: &str, number: i64) -> String {
    format!("{base}-r{number}")
}

/// Trains round `number` (resuming after its last finished epoch when the
/// hyperparameters match), and registers the result as a candidate with its
/// lineage when the validation loss fell. `rounds_dir` holds the round's
/// files (work folder, fine-tuned GGUF).
pub fn train_round(
    store: &mut Store,
    number: i64,
    params: TrainParams,
    rounds_dir: &Path,
    cancel: &CancelToken,
    on_progress: &mut dyn FnMut(&RoundProgress),
    actor: &Actor,
) -> Result<ModelRecord, RoundError> {
    let round = store.round(number)?;
    if !matches!(
        round.status,
        RoundStatus::DatasetReady | RoundStatus::Training | RoundStatus::Failed
    ) {
        return Err(RoundError::State {
            number,
            status: round.status,
            what: "it is already trained".into(),
        });
    }
    let base = base_model(store, &round)?;
    trainable(&base)?;
    let examples = store.round_examples(round.id)?;
    let dir = round_dir(rounds_dir, number);
    let work_dir = dir.join("work");
    let name = model_name(&base.name, number);
    let output = dir.join(format!("{name}.gguf"));
    let previous = round.training.clone();
    let resume = previous.as_ref().and_then(|t| {
        let same = t.params == params && t.work_dir == work_dir;
        match (&t.checkpoint, t.val_loss_before) {
            (Some(c), Some(before))
                if same && t.epochs_done > 0 && t.epochs_done < params.epochs && c.is_file() =>
            {
                Some(Resume {
                    checkpoint: c.clone(),
                    epochs_done: t.epochs_done,
                    val_loss_before: before,
                })
            }
            _ => None,
        }
    });
    if resume.is_none() {
        store.clear_round_curve(round.id)?;
    }
    let mut state = TrainingState {
        params: params.clone(),
        work_dir: work_dir.clone(),
        val_loss_before: resume.as_ref().map(|r| r.val_loss_before),
        epochs_done: resume.as_ref().map_or(0, |r| r.epochs_done),
        checkpoint: resume.as_ref().map(|r| r.checkpoint.clone()),
        windows: previous.and_then(|p| p.windows),
        outcome: None,
    };
    store.set_round_state(round.id, RoundStatus::Training, Some(&state), None, actor)?;
    let job = TrainJob {
        base_model: PathBuf::from(base.path.clone().unwrap_or_default()),
        chat_template: base.chat_template.clone().unwrap_or_default(),
        work_dir,
        output: output.clone(),
        train: conversations(
            &examples,
            round.config.training_prompt(),
            ExampleSplit::Train,
        ),
        validation: conversations(&examples, round.config.training_prompt(), ExampleSplit::Val),
        params: TrainParams {
            seed: round.seed as u64,
            ..params
        },
        resume,
    };
    let mut store_error: Option<StoreError> = None;
    let result = crate::train::train(&job, cancel, &mut |event| {
        if let Err(e) = record_event(store, round.id, &mut state, event) {
            // The run cannot be recorded: stop it rather than lose its curve.
            cancel.cancel();
            store_error.get_or_insert(e);
        }
        on_progress(&RoundProgress::Train(event.clone()));
    });
    if let Some(e) = store_error {
        return Err(e.into());
    }
    let outcome = match result {
        Ok(o) => o,
        Err(e) => {
            // Resumable unless nothing was learned yet; the reason is kept.
            store.set_round_state(
                round.id,
                RoundStatus::DatasetReady,
                Some(&state),
                Some(&e.to_string()),
                actor,
            )?;
            return Err(RoundError::Train { number, source: e });
        }
    };
    state.outcome = Some(outcome.clone());
    let Some(path) = outcome.output.clone().filter(|_| outcome.improved) else {
        let why = format!(
            "the validation loss did not fall ({:.4} → {:.4}); the model was not registered",
            outcome.val_loss_before, outcome.val_loss_after
        );
        store.set_round_state(
            round.id,
            RoundStatus::Failed,
            Some(&state),
            Some(&why),
            actor,
        )?;
        return Err(RoundError::Train {
            number,
            source: TrainError::Llama(why),
        });
    };
    let registered = crate::models::register_file(
        store,
        &path,
        &name,
        ModelRole::Candidate,
        &crate::progress::NoProgress,
        actor,
    )
    .map_err(|e| RoundError::Register {
        number,
        message: e.to_string(),
    })?;
    store.finish_round(round.id, registered.id, base.id, Some(&state), actor)?;
    // The F32 copies are large and no longer needed.
    let _ = std::fs::remove_dir_all(&state.work_dir);
    let model = store.model_by_name(&name)?;
    on_progress(&RoundProgress::Registered(Box::new(model.clone())));
    Ok(model)
}

/// Registers a GGUF trained elsewhere (the external recipe's merged model)
/// as round `number`'s model, with the same lineage as a built-in run: the
/// round's base model as parent, the round, its dataset hash.
pub fn import_model(
    store: &mut Store,
    number: i64,
    path: &Path,
    actor: &Actor,
) -> Result<ModelRecord, RoundError> {
    let round = store.round(number)?;
    if round.output_model_id.is_some() {
        return Err(RoundError::State {
            number,
            status: round.status,
            what: "it already has a model".into(),
        });
    }
    let base = base_model(store, &round)?;
    let name = model_name(&base.name, number);
    let registered = crate::models::register_file(
        store,
        path,
        &name,
        ModelRole::Candidate,
        &crate::progress::NoProgress,
        actor,
    )
    .map_err(|e| RoundError::Register {
        number,
        message: e.to_string(),
    })?;
    store.finish_round(round.id, registered.id, base.id, None, actor)?;
    Ok(store.model_by_name(&name)?)
}

fn record_event(
    store: &mut Store,
    id: RoundId,
    state: &mut TrainingState,
    event: &TrainEvent,
) -> Result<(), StoreError> {
    match event {
        TrainEvent::Prepared {
            train_windows,
            val_windows,
            ..
        } => {
            state.windows = Some((*train_windows, *val_windows));
            store.set_round_training(id, state)?;
        }
        TrainEvent::Baseline { val_loss } => {
            state.val_loss_before = Some(*val_loss);
            store.set_round_training(id, state)?;
        }
        TrainEvent::Step {
            epoch, step, loss, ..
        } => store.record_round_step(id, *epoch, *step, *loss)?,
        TrainEvent::Epoch {
            epoch,
            train_loss,
            val_loss,
            checkpoint,
        } => {
            state.epochs_done = *epoch;
            state.checkpoint = Some(checkpoint.clone());
            store.record_round_epoch(
                id,
                &EpochRow {
                    epoch: i64::from(*epoch),
                    train_loss: *train_loss,
                    val_loss: *val_loss,
                    finished_at: crate::store::now_utc(),
                },
                state,
            )?;
        }
        TrainEvent::Started { .. } | TrainEvent::Converted { .. } | TrainEvent::Saving => {}
    }
    Ok(())
}

/// The blinded study that evaluates round `number`'s model: the model, the
/// round's base model (the previous round's model, or the stock model) and
/// the registered local baselines, up to four models, on every evaluation
/// item, with the round's system prompt and default sampling.
pub fn evaluation_spec(
    store: &Store,
    number: i64,
    name: Option<String>,
    rater_ids: Vec<crate::ids::RaterId>,
    overlap: u32,
    seed: u64,
) -> Result<crate::review::StudySpec, RoundError> {
    let round = store.round(number)?;
    let Some(model_id) = round.output_model_id else {
        return Err(RoundError::State {
            number,
            status: round.status,
            what: "it has no model yet; train it first".into(),
        });
    };
    let models = store.models()?;
    let name_of = |id: ModelId| models.iter().find(|m| m.id == id).map(|m| m.name.clone());
    let mut compared: Vec<String> = name_of(model_id).into_iter().collect();
    if let Some(base) = round.base_model_id.and_then(name_of) {
        compared.push(base);
    }
    for m in &models {
        if compared.len() == 4 {
            break;
        }
        if m.role == ModelRole::Baseline && !compared.contains(&m.name) {
            compared.push(m.name.clone());
        }
    }
    Ok(crate::review::StudySpec {
        name: name.unwrap_or_else(|| format!("Round {number} evaluation")),
        category: None,
        limit: None,
        item_ids: None,
        models: compared,
        rater_ids,
        overlap,
        seed,
        params: crate::inference::SamplingParams::default(),
        system_prompt: round.config.system_prompt.clone(),
    })
}

/// Opens the blinded study of `spec` for round `number` and marks the round
/// evaluated (its answers are generated next, as for any study).
pub fn open_evaluation(
    store: &mut Store,
    number: i64,
    spec: &crate::review::StudySpec,
    rubric: &crate::domain::Rubric,
    actor: &Actor,
) -> Result<crate::ids::StudyId, RoundError> {
    let round = store.round(number)?;
    let study = crate::review::create_study(store, spec, rubric, actor)
        .map_err(|e| RoundError::Config(e.to_string()))?;
    store.set_round_evaluated(round.id, study, actor)?;
    Ok(study)
}

/// The model a new round fine-tunes by default: the last trained round's
/// model (`None` before the first round is trained).
pub fn default_base(store: &Store) -> Result<Option<ModelId>, StoreError> {
    Ok(store.rounds()?.iter().rev().find_map(|r| r.output_model_id))
}
