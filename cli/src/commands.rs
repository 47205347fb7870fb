//! The commands, one module per group. Each takes its parsed arguments, calls
//! the core library, and prints through [`crate::print`].

pub mod bench;
pub mod chat;
pub mod export;
pub mod generate;
pub mod models;
pub mod rater;
pub mod results;
pub mod workspace;

/// Starts a model's backend; a missing file gets the CLI's hint on what to run
/// (the core's message names no command).
pub fn open_backend(
    record: &llm4sweat::store::ModelRecord,
    cfg: llm4sweat::inference::local::EngineConfig,
) -> anyhow::Result<Box<dyn llm4sweat::Backend>> {
    use llm4sweat::generate::{self, GenerateError};
    generate::open_backend(record, cfg).map_err(|e| match e {
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
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}
