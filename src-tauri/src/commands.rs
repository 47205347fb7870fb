//! Thin async Tauri commands: each moves its work onto a blocking thread and
//! calls [`App`]. Nothing here touches SQLite or llama.cpp directly.

use std::sync::Arc;

use llm4sweat::domain::Rubric;
use llm4sweat::generate::GenerateSummary;
use llm4sweat::ids::{AssignmentId, RaterId, StudyId};
use llm4sweat::inference::{ChatMessage, GenerationOutput, SamplingParams};
use llm4sweat::progress::{Progress, ProgressEvent};
use llm4sweat::review::results::StudyResults;
use llm4sweat::review::{BlindedItem, QueueEntry};
use llm4sweat::store::{RatingRow, ReviewDecision};
use llm4sweat::vocab::{AnswerLabel, ModelRole, Preference, ReviewStatus, Specialty};
use serde::Serialize;
use tauri::State;
use tauri::ipc::Channel;

use crate::app::{
    App, AugmentOverview, ChatDefaults, ModelView, RaterView, ReviewOutcome, RoundInput, RoundView,
    StudyInput, StudyView, SyntheticQueue, TrainInput, WorkspaceStatus,
};
use crate::error::AppError;

type AppState<'a> = State<'a, Arc<App>>;

/// A streamed chat piece.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChatEvent {
    /// More text of the answer.
    Token {
        /// The text.
        text: String,
    },
}

/// Progress of a long job, forwarded to the UI over a channel.
struct ChannelProgress(Channel<ProgressEvent>);

impl Progress for ChannelProgress {
    fn report(&self, event: ProgressEvent) {
        // A closed window is not an error for the job.
        let _ = self.0.send(event);
    }
}

async fn blocking<T: Send + 'static>(
    app: &Arc<App>,
    f: impl FnOnce(&App) -> Result<T, AppError> + Send + 'static,
) -> Result<T, AppError> {
    let app = app.clone();
    tauri::async_runtime::spawn_blocking(move || f(&app))
        .await
        .map_err(|e| {
            AppError::new(
                crate::error::ErrorCode::Internal,
                format!("the task failed: {e}"),
            )
        })?
}

/// What the first screen shows.
#[tauri::command]
#[specta::specta]
pub async fn workspace_status(app: AppState<'_>) -> Result<WorkspaceStatus, AppError> {
    let status = blocking(&app, App::workspace_status).await;
    crate::trace_interactive();
    status
}

/// Every rater profile.
#[tauri::command]
#[specta::specta]
pub async fn list_raters(app: AppState<'_>) -> Result<Vec<RaterView>, AppError> {
    blocking(&app, App::list_raters).await
}

/// Creates a rater profile and assigns it to open studies.
#[tauri::command]
#[specta::specta]
pub async fn create_rater(
    app: AppState<'_>,
    name: String,
    specialty: Specialty,
) -> Result<RaterView, AppError> {
    blocking(&app, move |a| a.create_rater(&name, specialty)).await
}

/// A rater's queue.
#[tauri::command]
#[specta::specta]
pub async fn rater_queue(
    app: AppState<'_>,
    rater_id: RaterId,
) -> Result<Vec<QueueEntry>, AppError> {
    blocking(&app, move |a| a.rater_queue(rater_id)).await
}

/// The blinded view of one item.
#[tauri::command]
#[specta::specta]
pub async fn open_item(
    app: AppState<'_>,
    rater_id: RaterId,
    assignment_id: AssignmentId,
) -> Result<BlindedItem, AppError> {
    blocking(&app, move |a| a.open_item(rater_id, assignment_id)).await
}

/// Autosaves a rating draft.
#[tauri::command]
#[specta::specta]
pub async fn save_rating(
    app: AppState<'_>,
    rater_id: RaterId,
    assignment_id: AssignmentId,
    label: AnswerLabel,
    rating: RatingRow,
) -> Result<(), AppError> {
    blocking(&app, move |a| {
        a.save_rating(rater_id, assignment_id, label, &rating)
    })
    .await
}

/// Autosaves the preference (`better:A`, `tie`, `both_bad`).
#[tauri::command]
#[specta::specta]
pub async fn save_preference(
    app: AppState<'_>,
    rater_id: RaterId,
    assignment_id: AssignmentId,
    preference: Preference,
) -> Result<(), AppError> {
    blocking(&app, move |a| {
        a.save_preference(rater_id, assignment_id, preference)
    })
    .await
}

/// Submits an item's ratings (final).
#[tauri::command]
#[specta::specta]
pub async fn submit_item(
    app: AppState<'_>,
    rater_id: RaterId,
    assignment_id: AssignmentId,
) -> Result<(), AppError> {
    blocking(&app, move |a| a.submit_item(rater_id, assignment_id)).await
}

/// The rubric with its anchors.
#[tauri::command]
#[specta::specta]
pub async fn rubric(app: AppState<'_>) -> Result<Rubric, AppError> {
    Ok(app.rubric())
}

/// Registered models.
#[tauri::command]
#[specta::specta]
pub async fn list_models(app: AppState<'_>) -> Result<Vec<ModelView>, AppError> {
    blocking(&app, App::list_models).await
}

/// Registers a GGUF file (only its header is read).
#[tauri::command]
#[specta::specta]
pub async fn add_model_file(
    app: AppState<'_>,
    path: String,
    name: Option<String>,
    role: ModelRole,
) -> Result<ModelView, AppError> {
    blocking(&app, move |a| {
        a.add_model_file(&path, name.as_deref(), role)
    })
    .await
}

/// Registers an OpenAI-compatible endpoint (the key stays in the environment).
#[tauri::command]
#[specta::specta]
pub async fn add_remote_model(
    app: AppState<'_>,
    name: String,
    url: String,
    model: String,
    api_key_env: Option<String>,
    role: ModelRole,
) -> Result<ModelView, AppError> {
    blocking(&app, move |a| {
        a.add_remote_model(&name, &url, &model, api_key_env.as_deref(), role)
    })
    .await
}

/// Saves threads, GPU layers and parallel sequences for a model.
#[tauri::command]
#[specta::specta]
pub async fn set_model_settings(
    app: AppState<'_>,
    name: String,
    threads: u32,
    gpu_layers: u32,
    n_parallel: u32,
) -> Result<ModelView, AppError> {
    blocking(&app, move |a| {
        a.set_model_settings(&name, threads, gpu_layers, n_parallel)
    })
    .await
}

/// Downloads a manifest model with progress; resolves when it is registered.
#[tauri::command]
#[specta::specta]
pub async fn fetch_model(
    app: AppState<'_>,
    job_id: String,
    name: String,
    on_event: Channel<ProgressEvent>,
) -> Result<ModelView, AppError> {
    blocking(&app, move |a| {
        a.fetch_model(&job_id, &name, &ChannelProgress(on_event))
    })
    .await
}

/// Every study.
#[tauri::command]
#[specta::specta]
pub async fn list_studies(app: AppState<'_>) -> Result<Vec<StudyView>, AppError> {
    blocking(&app, App::list_studies).await
}

/// Creates a study.
#[tauri::command]
#[specta::specta]
pub async fn create_study(app: AppState<'_>, input: StudyInput) -> Result<StudyView, AppError> {
    blocking(&app, move |a| a.create_study(&input)).await
}

/// Generates a study's missing answers with progress; cancellable by job id.
#[tauri::command]
#[specta::specta]
pub async fn generate_study_answers(
    app: AppState<'_>,
    job_id: String,
    study_id: StudyId,
    on_event: Channel<ProgressEvent>,
) -> Result<Vec<GenerateSummary>, AppError> {
    blocking(&app, move |a| {
        a.generate_study_answers(&job_id, study_id, &ChannelProgress(on_event))
    })
    .await
}

/// Every retraining round.
#[tauri::command]
#[specta::specta]
pub async fn list_rounds(app: AppState<'_>) -> Result<Vec<RoundView>, AppError> {
    blocking(&app, |a| a.list_rounds()).await
}

/// Synthetic items in one review state (oldest first, at most `limit`)
/// with the counts of every state.
#[tauri::command]
#[specta::specta]
pub async fn synthetic_queue(
    app: AppState<'_>,
    status: ReviewStatus,
    limit: u32,
) -> Result<SyntheticQueue, AppError> {
    blocking(&app, move |a| a.synthetic_queue(status, limit)).await
}

/// An expert's decision on a pending synthetic item (final: there is no undo).
#[tauri::command]
#[specta::specta]
pub async fn review_synthetic(
    app: AppState<'_>,
    external_id: String,
    decision: ReviewDecision,
    expert: String,
) -> Result<ReviewOutcome, AppError> {
    blocking(&app, move |a| {
        a.review_synthetic(&external_id, &decision, &expert)
    })
    .await
}

/// Augmentation runs with their rejections, review counts and pool balance.
#[tauri::command]
#[specta::specta]
pub async fn augment_overview(app: AppState<'_>) -> Result<AugmentOverview, AppError> {
    blocking(&app, |a| a.augment_overview()).await
}

/// Builds and checks the next round's dataset.
#[tauri::command]
#[specta::specta]
pub async fn new_round(app: AppState<'_>, input: RoundInput) -> Result<RoundView, AppError> {
    blocking(&app, move |a| a.new_round(input)).await
}

/// Trains a round with progress; cancellable by job id.
#[tauri::command]
#[specta::specta]
pub async fn train_round(
    app: AppState<'_>,
    job_id: String,
    number: i64,
    input: TrainInput,
    on_event: Channel<ProgressEvent>,
) -> Result<RoundView, AppError> {
    blocking(&app, move |a| {
        a.train_round(&job_id, number, input, &ChannelProgress(on_event))
    })
    .await
}

/// Opens the blinded study that evaluates a round's model.
#[tauri::command]
#[specta::specta]
pub async fn evaluate_round(app: AppState<'_>, number: i64) -> Result<StudyView, AppError> {
    blocking(&app, move |a| a.evaluate_round(number)).await
}

/// Closes a study.
#[tauri::command]
#[specta::specta]
pub async fn close_study(app: AppState<'_>, study_id: StudyId) -> Result<StudyView, AppError> {
    blocking(&app, move |a| a.close_study(study_id)).await
}

/// Reopens a closed study.
#[tauri::command]
#[specta::specta]
pub async fn reopen_study(app: AppState<'_>, study_id: StudyId) -> Result<StudyView, AppError> {
    blocking(&app, move |a| a.reopen_study(study_id)).await
}

/// A study's results per model (means with 95 % intervals, safety flags, preferences).
#[tauri::command]
#[specta::specta]
pub async fn study_results(app: AppState<'_>, study_id: StudyId) -> Result<StudyResults, AppError> {
    blocking(&app, move |a| a.study_results(study_id)).await
}

/// Exports a study's ratings to CSV; returns the rows written.
#[tauri::command]
#[specta::specta]
pub async fn export_study_ratings(
    app: AppState<'_>,
    study_id: StudyId,
    path: String,
) -> Result<i64, AppError> {
    blocking(&app, move |a| a.export_study_ratings(study_id, &path)).await
}

/// A study's full report: descriptives, paired tests against the baseline,
/// preferences and agreement, overall and per category and specialty.
#[tauri::command]
#[specta::specta]
pub async fn study_report(
    app: AppState<'_>,
    study_id: StudyId,
    baseline: Option<String>,
) -> Result<llm4sweat::review::report::Report, AppError> {
    blocking(&app, move |a| a.study_report(study_id, baseline)).await
}

/// Writes a study's full report as one self-contained HTML file; returns the
/// ratings it covers.
#[tauri::command]
#[specta::specta]
pub async fn export_study_report(
    app: AppState<'_>,
    study_id: StudyId,
    baseline: Option<String>,
    path: String,
) -> Result<i64, AppError> {
    blocking(&app, move |a| {
        a.export_study_report(study_id, baseline, &path)
    })
    .await
}

/// Writes each chart of one part of a study's report into a folder as SVG
/// or PNG.
#[tauri::command]
#[specta::specta]
pub async fn export_report_charts(
    app: AppState<'_>,
    study_id: StudyId,
    baseline: Option<String>,
    group: String,
    format: llm4sweat::review::report::ChartFormat,
    dir: String,
) -> Result<llm4sweat::review::report::ChartsWritten, AppError> {
    blocking(&app, move |a| {
        a.export_report_charts(study_id, baseline, &group, format, &dir)
    })
    .await
}

/// Writes the offline package of every rater of a study into a folder.
#[tauri::command]
#[specta::specta]
pub async fn export_study_packages(
    app: AppState<'_>,
    study_id: StudyId,
    dir: String,
) -> Result<Vec<String>, AppError> {
    blocking(&app, move |a| a.export_study_packages(study_id, &dir)).await
}

/// Opens a study package in this (the rater's) workspace.
#[tauri::command]
#[specta::specta]
pub async fn import_study_package(
    app: AppState<'_>,
    path: String,
) -> Result<llm4sweat::store::StudyImportSummary, AppError> {
    blocking(&app, move |a| a.import_study_package(&path)).await
}

/// Writes a rater's ratings in one study as a ratings file.
#[tauri::command]
#[specta::specta]
pub async fn return_ratings(
    app: AppState<'_>,
    rater_id: RaterId,
    study: String,
    path: String,
) -> Result<i64, AppError> {
    blocking(&app, move |a| a.return_ratings(rater_id, &study, &path)).await
}

/// Merges returned ratings files into this workspace, each on its own.
#[tauri::command]
#[specta::specta]
pub async fn merge_ratings_files(
    app: AppState<'_>,
    paths: Vec<String>,
) -> Result<Vec<crate::app::MergeOutcome>, AppError> {
    blocking(&app, move |a| a.merge_ratings_files(&paths)).await
}

/// System prompt and sampling defaults for the chat screen.
#[tauri::command]
#[specta::specta]
pub async fn chat_defaults(app: AppState<'_>) -> Result<ChatDefaults, AppError> {
    Ok(app.chat_defaults())
}

/// One chat turn with streamed tokens; cancellable by job id.
#[tauri::command]
#[specta::specta]
pub async fn chat(
    app: AppState<'_>,
    job_id: String,
    model: String,
    messages: Vec<ChatMessage>,
    params: SamplingParams,
    on_event: Channel<ChatEvent>,
) -> Result<GenerationOutput, AppError> {
    blocking(&app, move |a| {
        a.chat(&job_id, &model, messages, params, &mut |piece| {
            let _ = on_event.send(ChatEvent::Token {
                text: piece.to_owned(),
            });
        })
    })
    .await
}

/// Cancels a running job; false when none has that id.
#[tauri::command]
#[specta::specta]
pub async fn cancel_job(app: AppState<'_>, job_id: String) -> Result<bool, AppError> {
    Ok(app.cancel_job(&job_id))
}
