//! Where a workspace lives: its database file and the shared models folder.

use std::path::PathBuf;

/// Environment variable that overrides the database path.
pub const DB_ENV: &str = "LLM4SWEAT_DB";
/// Environment variable that overrides the models folder.
pub const MODELS_DIR_ENV: &str = "LLM4SWEAT_MODELS_DIR";

/// The files of a workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkspacePaths {
    /// The SQLite database.
    pub db: PathBuf,
    /// Where model files are downloaded (shared by workspaces).
    pub models_dir: PathBuf,
}

fn data_dir() -> PathBuf {
    directories::ProjectDirs::from("org", "llm4sweat", "llm4sweat")
        .map(|d| d.data_dir().to_path_buf())
        .unwrap_or_else(|| PathBuf::from(".llm4sweat"))
}

impl WorkspacePaths {
    /// Resolves the paths: an explicit `db` wins, then `LLM4SWEAT_DB`, then
    /// the platform's data directory (e.g. `~/.local/share/llm4sweat`).
    pub fn resolve(db: Option<PathBuf>) -> Self {
        let db = db
            .or_else(|| {
                std::env::var_os(DB_ENV)
                    .filter(|v| !v.is_empty())
                    .map(PathBuf::from)
            })
            .unwrap_or_else(|| data_dir().join("workspace.sqlite3"));
        let models_dir = std::env::var_os(MODELS_DIR_ENV)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| data_dir().join("models"));
        Self { db, models_dir }
    }
}
