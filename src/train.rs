//! The built-in trainer: fine-tunes a GGUF model on a round's dataset with
//! llama.cpp's own training API, in a supervised engine process.
//!
//! The parent ([`train`]) starts the program again as an engine process
//! (llama.cpp can abort, and training needs gigabytes the desktop app should
//! not keep), sends it a [`TrainJob`] and follows its [`TrainEvent`]s. The
//! engine process (`train::run`) does, in order:
//!
//! 1. converts the base GGUF to all-F32 weights (only F32 tensors train; a
//!    quantized model would silently stay frozen), once per work folder;
//! 2. renders every example with the model's own chat template, with the
//!    system prompt inference uses, tokenizes it, and packs the tokens back to
//!    back into windows of the context size ([`windows`]);
//! 3. measures the validation loss, then per epoch trains on the training
//!    windows in a seeded order, one optimizer step per window (cancel is
//!    checked between steps), measures the validation loss again and saves a
//!    checkpoint (resume starts after the last finished epoch);
//! 4. if the validation loss fell, re-quantizes the checkpoint and restores
//!    what llama.cpp's saver drops (chat template, context length, `general.*`)
//!    from the base GGUF, under a temporary name renamed into place at the end.
//!
//! Every `unsafe` call is in `train/ffi.rs`.

mod ffi;
pub(crate) mod run;
pub mod windows;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::inference::ChatMessage;
use crate::progress::CancelToken;

/// The quantization of a fine-tuned model's file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum OutputType {
    /// llama.cpp's Q4_K_M mix (the default: small and close to F16 quality).
    Q4KM,
    /// 8-bit.
    Q8_0,
    /// 16-bit floats.
    F16,
}

impl OutputType {
    /// The name llama.cpp's tools use.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Q4KM => "Q4_K_M",
            Self::Q8_0 => "Q8_0",
            Self::F16 => "F16",
        }
    }
}

/// Hyperparameters of a training run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct TrainParams {
    /// Passes over the training windows.
    pub epochs: u32,
    /// AdamW learning rate (constant; no weight decay).
    pub learning_rate: f32,
    /// Tokens per training window, which is also the batch and micro-batch
    /// (a multiple of 256: llama.cpp pads contexts to that).
    pub context: u32,
    /// CPU threads.
    pub threads: u32,
    /// Orders the windows of each epoch.
    pub seed: u64,
    /// The fine-tuned file's quantization.
    pub output_type: OutputType,
}

impl Default for TrainParams {
    fn default() -> Self {
        Self {
            epochs: 2,
            learning_rate: 1e-5,
            context: 256,
            threads: 0,
            seed: 0,
            output_type: OutputType::Q4KM,
        }
    }
}

/// Where a resumed run picks up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resume {
    /// The F32 checkpoint saved after the last finished epoch.
    pub checkpoint: PathBuf,
    /// Epochs finished (the checkpoint's).
    pub epochs_done: u32,
    /// The validation loss measured before the first epoch.
    pub val_loss_before: f64,
}

/// Everything the engine process needs to train.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainJob {
    /// The base model's GGUF (any type llama.cpp can dequantize).
    pub base_model: PathBuf,
    /// The base model's chat template: examples are rendered with it (a saved
    /// checkpoint no longer carries it).
    pub chat_template: String,
    /// The run's folder: the F32 copy of the base and the checkpoint.
    pub work_dir: PathBuf,
    /// Final path of the fine-tuned GGUF (written under a temporary name first).
    pub output: PathBuf,
    /// Training conversations (system, user, assistant).
    pub train: Vec<Vec<ChatMessage>>,
    /// Validation conversations.
    pub validation: Vec<Vec<ChatMessage>>,
    /// Hyperparameters.
    pub params: TrainParams,
    /// Continue after a checkpoint instead of starting over.
    pub resume: Option<Resume>,
}

/// What the trainer reports as it goes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum TrainEvent {
    /// The training process started.
    Started {
        /// Its process id.
        pid: u32,
    },
    /// The base model was converted to F32 (or an earlier copy was found).
    Converted {
        /// The F32 file.
        path: PathBuf,
    },
    /// The examples are rendered and packed.
    Prepared {
        /// Training windows per epoch.
        train_windows: u32,
        /// Validation windows.
        val_windows: u32,
        /// Tokens per window.
        context: u32,
    },
    /// The validation loss before training.
    Baseline {
        /// Mean loss per token.
        val_loss: f64,
    },
    /// One optimizer step.
    Step {
        /// Epoch (1-based).
        epoch: u32,
        /// Step within the epoch (1-based).
        step: u32,
        /// Steps per epoch.
        steps: u32,
        /// The step's training loss.
        loss: f64,
        /// Training tokens per second over this epoch so far.
        tokens_per_s: f64,
    },
    /// An epoch finished and its checkpoint is saved.
    Epoch {
        /// Epoch (1-based).
        epoch: u32,
        /// Mean training loss of its steps.
        train_loss: f64,
        /// Validation loss after it.
        val_loss: f64,
        /// The F32 checkpoint.
        checkpoint: PathBuf,
    },
    /// The fine-tuned model is being quantized and written.
    Saving,
}

/// How a finished run ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainOutcome {
    /// Validation loss before training.
    pub val_loss_before: f64,
    /// Validation loss after the last epoch.
    pub val_loss_after: f64,
    /// Whether the validation loss fell; only then is a model written.
    pub improved: bool,
    /// The fine-tuned GGUF (at the job's `output`) when it improved.
    pub output: Option<PathBuf>,
    /// Keys restored from the base model's metadata.
    pub restored_keys: Vec<String>,
    /// llama.cpp's build and CPU features.
    pub llama_system: String,
    /// Training tokens per second of this run's optimizer steps (validation
    /// and checkpoints excluded).
    pub tokens_per_s: f64,
    /// Peak resident memory of the engine process, MB (Linux).
    pub peak_rss_mb: Option<f64>,
}

/// Why a run stopped.
#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TrainError {
    /// llama.cpp refused something (without crashing).
    #[error("{0}")]
    Llama(String),
    /// The chat template could not render an example.
    #[error("the chat template could not render a training example: {0}")]
    Template(String),
    /// A file could not be read or written.
    #[error("{path}: {message}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A split has no window to train or validate on.
    #[error(
        "the {split} split is empty after packing ({tokens} tokens for windows of {context}); add examples or lower the context"
    )]
    EmptySplit {
        /// `train` or `validation`.
        split: String,
        /// Tokens the split has.
        tokens: usize,
        /// Tokens per window.
        context: u32,
    },
    /// Bad hyperparameters.
    #[error("{0}")]
    Params(String),
    /// The user cancelled; the last checkpoint stays for a resume.
    #[error("training was cancelled after {epochs_done} finished epoch(s)")]
    Cancelled {
        /// Epochs finished and saved.
        epochs_done: u32,
    },
    /// The engine process died (killed, or llama.cpp aborted).
    #[error("the training process died: {0}")]
    Crashed(String),
}

/// Trains in a supervised engine process, reporting each event to
/// `on_event` (on the caller's thread) as it arrives. `cancel` stops the run
/// between two steps.
pub fn train(
    job: &TrainJob,
    cancel: &CancelToken,
    on_event: &mut dyn FnMut(&TrainEvent),
) -> Result<TrainOutcome, TrainError> {
    validate(job)?;
    crate::inference::worker::run_training(job, cancel, on_event)
}

fn validate(job: &TrainJob) -> Result<(), TrainError> {
    let p = &job.params;
    if p.epochs == 0 || p.epochs > 100 {
        return Err(TrainError::Params(format!(
            "epochs must be 1–100, not {}",
            p.epochs
        )));
    }
    if !(p.learning_rate.is_finite() && p.learning_rate > 0.0 && p.learning_rate < 1.0) {
        return Err(TrainError::Params(format!(
            "the learning rate must be between 0 and 1, not {}",
            p.learning_rate
        )));
    }
    // llama.cpp pads a context to a multiple of 256 tokens; training needs
    // context = micro-batch exactly, so only multiples of 256 are allowed.
    if !(256..=8192).contains(&p.context) || !p.context.is_multiple_of(256) {
        return Err(TrainError::Params(format!(
            "the training context must be a multiple of 256 tokens from 256 to 8192, not {}",
            p.context
        )));
    }
    if job.train.is_empty() {
        return Err(TrainError::EmptySplit {
            split: "train".into(),
            tokens: 0,
            context: p.context,
        });
    }
    if job.validation.is_empty() {
        return Err(TrainError::EmptySplit {
            split: "validation".into(),
            tokens: 0,
            context: p.context,
        });
    }
    if job.chat_template.trim().is_empty() {
        return Err(TrainError::Template(
            "the base model has no chat template; examples are rendered with it, so it cannot be fine-tuned for chat here"
                .into(),
        ));
    }
    Ok(())
}
