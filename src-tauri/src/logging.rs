//! The desktop app's log: one file a day in `logs/` beside the workspace
//! database, the last [`KEEP_FILES`] kept. `RUST_LOG` sets the levels
//! (default [`DEFAULT_DIRECTIVES`]).

use std::path::{Path, PathBuf};

use tracing_appender::non_blocking::WorkerGuard;
use tracing_appender::rolling::{Builder, Rotation};
use tracing_subscriber::filter::{EnvFilter, FilterExt, LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, fmt};

use llm4sweat::logging::{HTTP_MAX_LEVEL, HTTP_TARGETS};

/// How many daily log files are kept; older ones are deleted.
pub const KEEP_FILES: usize = 7;

/// The levels when `RUST_LOG` is unset: info, but only llama.cpp's warnings
/// (its info level lists every tensor of every model it loads).
pub const DEFAULT_DIRECTIVES: &str = "info,llama-cpp-2=warn";

/// The log folder for the workspace database `db`: `logs/` beside it.
pub fn log_dir(db: &Path) -> PathBuf {
    db.parent().unwrap_or_else(|| Path::new(".")).join("logs")
}

/// Starts logging to `dir/llm4sweat-desktop.YYYY-MM-DD.log`. Lines are
/// written by a background thread; the returned guard flushes them when
/// dropped, so it must live as long as the app.
pub fn init(dir: &Path) -> Result<WorkerGuard, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let appender = Builder::new()
        .rotation(Rotation::DAILY)
        .filename_prefix("llm4sweat-desktop")
        .filename_suffix("log")
        .max_log_files(KEEP_FILES)
        .build(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let spec = std::env::var("RUST_LOG")
        .ok()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_DIRECTIVES.to_owned());
    let levels = EnvFilter::builder().parse_lossy(spec);
    // The HTTP stack's detailed output can carry request headers (API keys).
    let http_cap = HTTP_TARGETS.iter().fold(
        Targets::new().with_default(LevelFilter::TRACE),
        |t, target| t.with_target(*target, HTTP_MAX_LEVEL),
    );
    let layer = fmt::layer()
        .with_writer(writer)
        .with_ansi(false)
        .with_filter(levels.and(http_cap));
    tracing_subscriber::registry()
        .with(layer)
        .try_init()
        .map_err(|e| e.to_string())?;
    Ok(guard)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    #[test]
    fn logs_go_beside_the_database() {
        assert_eq!(
            super::log_dir(Path::new("/data/llm4sweat/workspace.sqlite3")),
            Path::new("/data/llm4sweat/logs")
        );
    }

    #[test]
    fn default_directives_parse() {
        let parsed = tracing_subscriber::EnvFilter::builder().parse(super::DEFAULT_DIRECTIVES);
        assert!(parsed.is_ok(), "{parsed:?}");
    }
}
