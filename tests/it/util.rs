//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The real SmolLM2-135M-Instruct GGUF, fetched by `scripts/fetch-test-models.sh`.
/// Missing is a test failure, not a skip: the project's scripts install it.
pub fn smollm2() -> PathBuf {
    let path = std::env::var_os("LLM4SWEAT_TEST_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME")
                .map(PathBuf::from)
                .unwrap_or_default();
            home.join(".cache/llm4sweat/models/SmolLM2-135M-Instruct.Q4_1.gguf")
        });
    assert!(
        path.is_file(),
        "test model missing at {}; run scripts/fetch-test-models.sh (or scripts/test.sh, which does)",
        path.display()
    );
    path
}

/// The real Gemma-3-270M base GGUF (no chat template), fetched by the same script.
pub fn gemma() -> PathBuf {
    let path = smollm2().with_file_name("gemma-3-270m-q4_k_m.gguf");
    assert!(
        path.is_file(),
        "test model missing at {}; run scripts/fetch-test-models.sh",
        path.display()
    );
    path
}

/// A fresh temporary workspace.
pub struct Workspace {
    pub dir: tempfile::TempDir,
}

impl Workspace {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    pub fn db(&self) -> PathBuf {
        self.dir.path().join("workspace.sqlite3")
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A `llm4sweat` command bound to this workspace, with no network-capable
    /// defaults leaking in from the environment.
    pub fn cmd(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_llm4sweat"));
        c.arg("--db").arg(self.db()).arg("--quiet");
        c.env("LLM4SWEAT_MODELS_DIR", self.dir.path().join("models"));
        c.env_remove("LLM4SWEAT_DB");
        // The caller's log settings would change what the CLI prints.
        c.env_remove("RUST_LOG");
        c
    }

    /// Runs the CLI with `args` and returns its output.
    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().expect("run llm4sweat")
    }

    /// Runs the CLI, asserting success, and returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "llm4sweat {args:?} failed:\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Rows of `table` in the workspace database (0 while it cannot be read).
    pub fn count(&self, table: llm4sweat::store::Table) -> i64 {
        llm4sweat::Store::open(&self.db())
            .and_then(|s| s.count(table))
            .unwrap_or(0)
    }

    /// Initialises the workspace and registers the real test model as `smol`.
    pub fn with_model(self) -> Self {
        self.ok(&["init"]);
        let model = smollm2();
        self.ok(&[
            "models",
            "add",
            model.to_str().expect("utf-8 path"),
            "--name",
            "smol",
            "--role",
            "candidate",
        ]);
        self
    }
}

/// Makes a FIFO at `path` (a file that would block whoever opens it).
pub fn mkfifo(path: &Path) {
    let made = Command::new("mkfifo").arg(path).status().expect("mkfifo");
    assert!(made.success(), "mkfifo {}", path.display());
}

/// Writes `bytes` to a new file under `dir`.
pub fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).expect("write");
    p
}

/// `generate` with SmolLM2 on `limit` items: `max_tokens` per answer, 2
/// sequences (a run claims 8 items at a time) and `threads` threads.
pub fn generate_args(
    limit: &'static str,
    max_tokens: &'static str,
    threads: &'static str,
) -> [&'static str; 11] {
    [
        "generate",
        "--model",
        "smol",
        "--limit",
        limit,
        "--max-tokens",
        max_tokens,
        "--parallel",
        "2",
        "--threads",
        threads,
    ]
}
