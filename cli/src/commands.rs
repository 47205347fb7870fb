//! The commands, one module per group. Each takes its parsed arguments, calls
//! the core library, and prints through [`crate::print`].

pub mod augment;
pub mod bench;
pub mod chat;
pub mod export;
pub mod generate;
pub mod models;
pub mod package;
pub mod rater;
pub mod results;
pub mod round;
pub mod study;
pub mod workspace;

/// Starts a model's backend (a load failure is remembered with the model); a missing file gets the CLI's hint on what to run
/// (the core's message names no command).
pub fn open_backend(
    store: &mut llm4sweat::store::Store,
    record: &llm4sweat::store::ModelRecord,
    cfg: llm4sweat::inference::local::EngineConfig,
) -> anyhow::Result<Box<dyn llm4sweat::Backend>> {
    open_backend_tuned(store, record, cfg, &Default::default())
}

/// [`open_backend`] with a remote backend's limits set by `tuning`.
pub fn open_backend_tuned(
    store: &mut llm4sweat::store::Store,
    record: &llm4sweat::store::ModelRecord,
    cfg: llm4sweat::inference::local::EngineConfig,
    tuning: &llm4sweat::generate::RemoteTuning,
) -> anyhow::Result<Box<dyn llm4sweat::Backend>> {
    use llm4sweat::generate::{self, GenerateError};
    generate::open_backend_noted_tuned(store, record, cfg, tuning).map_err(|e| match e {
        GenerateError::MissingFile { .. } => anyhow::anyhow!(
            "{e}\nhint: run `llm4sweat models fetch {}` or `llm4sweat models add PATH --name {}`",
            record.name,
            record.name
        ),
        other => anyhow::Error::from(other),
    })
}

/// Peak resident memory of this process in MB (Linux; None elsewhere).
pub fn peak_rss_mb() -> Option<f64> {
    llm4sweat::inference::worker::peak_rss_mb()
}
