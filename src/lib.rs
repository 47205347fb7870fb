//! LLM4Sweat's core: everything the desktop app and the command line share.
//!
//! The library knows nothing of Tauri or of the command line; both are thin
//! adapters over it (see ARCHITECTURE.md). Modules:
//!
//! - [`store`]: the SQLite workspace (the only place with SQL).
//! - [`domain`]: domain packs (seed corpus, evaluation set, training pairs, rubric, prompts).
//! - [`dedup`]: near-duplicate texts (character-shingle MinHash, exact Jaccard).
//! - [`gguf`]: a defensive GGUF header reader.
//! - [`models`]: the model manifest, fetching, registering and checking files.
//! - [`inference`]: the [`inference::Backend`] trait, llama.cpp and OpenAI-compatible backends.
//! - [`generate`]: resumable batch generation.
//! - [`export`]: CSV / JSON Lines exports.
//! - [`files`]: reading user-named input files safely (regular files only, size caps).
//! - [`review`]: blind review studies, assignments and ratings.
//! - [`stats`]: the statistics of study results (descriptives and intervals, paired tests,
//!   agreement, Bradley–Terry).
//! - [`train`]: the built-in trainer (llama.cpp's training API in a supervised process).
//! - [`rounds`]: retraining rounds (dataset snapshot, training, lineage, exports).
//! - [`progress`]: progress reporting and cancellation for long jobs.
//! - [`logging`]: log targets that the adapters' subscribers filter.
//! - [`workspace`]: where the database and model files live.
//! - [`vocab`]: the closed vocabularies (one enum each), [`ids`]: typed row ids.

pub mod augment;
pub mod dedup;
pub mod domain;
pub mod export;
pub mod files;
pub mod generate;
pub mod gguf;
pub mod ids;
pub mod inference;
pub mod logging;
pub mod models;
pub mod packages;
mod process;
pub mod progress;
pub mod review;
pub mod rounds;
pub mod stats;
pub mod store;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod train;
pub mod vocab;
pub mod workspace;

pub use domain::DomainPack;
pub use inference::{Backend, GenerationOutput, GenerationRequest, SamplingParams};
pub use progress::{CancelToken, Progress, ProgressEvent};
pub use store::Store;
