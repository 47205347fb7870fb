//! llama.cpp in a supervised child process.
//!
//! llama.cpp aborts the whole process on some model files that look sound
//! (a `GGML_ASSERT` ends in `SIGABRT`), so the CLI and the desktop app never
//! load a model in their own process. [`WorkerEngine`] starts the program
//! again as an *engine process* (the adapter's `main` hands that process to
//! [`serve`] when it sees [`WORKER_ARG`]), which owns a [`LocalEngine`](super::local::LocalEngine) and
//! speaks JSON lines:
//!
//! - parent → child, on the child's standard input: one command per line
//!   (`load` first, then `generate`, `cancel`, `render`, `bench`);
//! - child → parent, on its standard output: one reply per line, after a
//!   record-separator mark so that stray output cannot corrupt it (`ready`
//!   or `load_failed`, then streamed `token`s, a `done` per request and a
//!   `batch_end`, or the answer to `render` / `bench`);
//! - the child's standard error carries its log (llama.cpp's included) as
//!   text lines; the parent re-emits them through `tracing` and keeps the
//!   last ones to explain a crash.
//!
//! When the child dies, whatever was in flight ends in
//! [`InferenceError::Crashed`] (or [`InferenceError::Load`] during loading)
//! naming the model file, the signal and llama.cpp's last log line; the
//! parent lives on and the next request starts a fresh child. The child
//! stays warm between requests and exits when its standard input closes (the
//! parent dropped the engine or died).

mod serve;

use std::collections::VecDeque;
use std::ffi::OsString;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command as Process, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::local::{BenchResult, EngineConfig, LoadedModelInfo};
use super::{
    Backend, BackendInfo, ChatMessage, DoneSink, GenerationOutput, GenerationRequest,
    InferenceError, TokenSink,
};
use crate::logging::LLAMA_CPP_TARGET;
use crate::progress::CancelToken;

pub use serve::serve;

/// The first argument that makes the program an engine process: adapters
/// check for it before anything else in `main` and then call [`serve`].
pub const WORKER_ARG: &str = "__llm4sweat-engine-process";

/// Starts every reply line (ASCII record separator): text that llama.cpp or a
/// library might print to standard output without a newline is then
/// recognised as not ours and cannot corrupt the reply that follows it.
pub(crate) const REPLY_MARK: char = '\u{1e}';

/// Log lines of the child kept to explain a crash.
const LOG_TAIL_LINES: usize = 40;
/// Longest log line kept (characters).
const LOG_LINE_MAX: usize = 400;
/// How often a waiting parent looks at the cancel token.
const CANCEL_POLL: Duration = Duration::from_millis(50);
/// How long a dropped engine's child gets to exit before it is killed.
const EXIT_GRACE: Duration = Duration::from_secs(3);

/// How to start an engine process: a program and its arguments (the last of
/// which is [`WORKER_ARG`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Launcher {
    /// The program to run.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<OsString>,
}

impl Launcher {
    /// This very program with [`WORKER_ARG`]: right for the CLI and the
    /// desktop app, whose `main` serves engine processes.
    pub fn current_exe() -> Result<Self, InferenceError> {
        let program = std::env::current_exe().map_err(|e| {
            InferenceError::Engine(format!("could not find this program's own file: {e}"))
        })?;
        Ok(Self::program(program))
    }

    /// Another program that serves engine processes (for example the CLI
    /// binary, from a test harness that cannot serve them itself).
    pub fn program(program: impl Into<PathBuf>) -> Self {
        Self {
            program: program.into(),
            args: vec![OsString::from(WORKER_ARG)],
        }
    }
}

static LAUNCHER: OnceLock<Launcher> = OnceLock::new();

/// Sets the program every [`WorkerEngine`] of this process starts, once,
/// before the first engine. Without it, engines start this very program
/// ([`Launcher::current_exe`]). Returns `false` when a different launcher was
/// already set (the first one stays).
pub fn set_launcher(launcher: Launcher) -> bool {
    LAUNCHER.get_or_init(|| launcher.clone()) == &launcher
}

fn launcher() -> Result<Launcher, InferenceError> {
    match LAUNCHER.get() {
        Some(l) => Ok(l.clone()),
        None => Launcher::current_exe(),
    }
}

/// What the parent asks of the engine process (one JSON line each).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub(crate) enum Command {
    /// Load the model; always the first command.
    Load {
        /// The GGUF file.
        path: PathBuf,
        /// How to run it.
        config: EngineConfig,
    },
    /// Answer these requests, streaming tokens.
    Generate {
        /// The requests, answered by index.
        requests: Vec<GenerationRequest>,
    },
    /// Stop the generation in progress (its unfinished requests end as cancelled).
    Cancel,
    /// Render a chat into the model's prompt.
    Render {
        /// The chat.
        messages: Vec<ChatMessage>,
    },
    /// Train a model (instead of `load`: the process then exits).
    Train {
        /// What to train.
        job: Box<crate::train::TrainJob>,
    },
    /// Measure throughput.
    Bench {
        /// Prompt tokens per sequence.
        n_prompt: u32,
        /// Generated tokens per sequence.
        n_gen: u32,
        /// Parallel sequences.
        n_parallel: u32,
    },
}

/// What the engine process answers (one JSON line each).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "ev", rename_all = "snake_case")]
pub(crate) enum Reply {
    /// The model is loaded.
    Ready {
        /// Facts llama.cpp reported about it.
        info: LoadedModelInfo,
    },
    /// llama.cpp refused the model (without crashing).
    LoadFailed {
        /// Why.
        error: InferenceError,
    },
    /// A streamed piece of request `index`'s answer.
    Token {
        /// The request.
        index: usize,
        /// The text.
        piece: String,
    },
    /// Request `index` finished.
    Done {
        /// The request.
        index: usize,
        /// Its answer or error.
        result: Result<GenerationOutput, InferenceError>,
    },
    /// Every request of the batch finished.
    BatchEnd,
    /// The rendered prompt.
    Rendered {
        /// The prompt or why it could not be rendered.
        result: Result<String, InferenceError>,
    },
    /// Training progress.
    Training {
        /// What happened.
        event: crate::train::TrainEvent,
    },
    /// Training ended.
    Trained {
        /// The outcome or why it stopped.
        result: Result<crate::train::TrainOutcome, crate::train::TrainError>,
    },
    /// Benchmark figures.
    Benched {
        /// The figures.
        result: Result<BenchResult, InferenceError>,
        /// The engine process's peak resident memory, in MB (Linux).
        peak_rss_mb: Option<f64>,
    },
}

/// Peak resident memory of this process in MB (Linux; `None` elsewhere).
pub fn peak_rss_mb() -> Option<f64> {
    vm_hwm_mb(&std::fs::read_to_string("/proc/self/status").ok()?)
}

/// The `VmHWM` line of a `/proc/PID/status` text, in MB.
fn vm_hwm_mb(status: &str) -> Option<f64> {
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// The last lines the child wrote to its standard error.
#[derive(Debug, Default)]
struct LogTail(VecDeque<String>);

impl LogTail {
    fn push(&mut self, line: String) {
        if self.0.len() == LOG_TAIL_LINES {
            self.0.pop_front();
        }
        self.0.push_back(line);
    }

    /// The line that best says why the child died: llama.cpp's assertion or
    /// error if there is one, else its last line.
    fn reason(&self) -> Option<String> {
        let telling = |l: &&String| {
            let lower = l.to_ascii_lowercase();
            lower.contains("ggml_assert")
                || lower.contains("ggml_abort")
                || lower.contains("error")
                || lower.contains("failed")
        };
        self.0
            .iter()
            .rev()
            .find(telling)
            .or_else(|| self.0.back())
            .cloned()
    }
}

/// One running engine process.
struct EngineProcess {
    child: Child,
    stdin: BufWriter<ChildStdin>,
    replies: mpsc::Receiver<Reply>,
    log: Arc<Mutex<LogTail>>,
    readers: Vec<JoinHandle<()>>,
}

impl EngineProcess {
    fn spawn(launcher: &Launcher) -> Result<Self, InferenceError> {
        let mut child = Process::new(&launcher.program)
            .args(&launcher.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| {
                InferenceError::Engine(format!(
                    "could not start the engine process {}: {e}",
                    launcher.program.display()
                ))
            })?;
        let pid = child.id();
        let (Some(stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(InferenceError::Engine(
                "the engine process has no pipes".into(),
            ));
        };
        let (tx, replies) = mpsc::channel();
        let log = Arc::new(Mutex::new(LogTail::default()));
        let mut readers = Vec::with_capacity(2);
        let out_reader = std::thread::Builder::new()
            .name("engine-stdout".into())
            .spawn(move || read_replies(stdout, &tx, pid));
        let tail = log.clone();
        let err_reader = std::thread::Builder::new()
            .name("engine-stderr".into())
            .spawn(move || read_log(stderr, &tail, pid));
        for r in [out_reader, err_reader] {
            match r {
                Ok(handle) => readers.push(handle),
                Err(e) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(InferenceError::Engine(format!(
                        "could not start a thread for the engine process: {e}"
                    )));
                }
            }
        }
        tracing::debug!(pid, "engine process started");
        Ok(Self {
            child,
            stdin: BufWriter::new(stdin),
            replies,
            log,
            readers,
        })
    }

    fn send(&mut self, command: &Command) -> std::io::Result<()> {
        serde_json::to_writer(&mut self.stdin, command)?;
        self.stdin.write_all(b"\n")?;
        self.stdin.flush()
    }

    /// Waits for the dead (or dying) child and says how it ended.
    fn post_mortem(mut self) -> String {
        drop(self.stdin);
        let status = wait_or_kill(&mut self.child, EXIT_GRACE);
        for r in self.readers.drain(..) {
            let _ = r.join();
        }
        let how = status.map_or_else(
            || "it did not exit and was killed".to_owned(),
            describe_exit,
        );
        let last = self
            .log
            .lock()
            .ok()
            .and_then(|l| l.reason())
            .unwrap_or_else(|| "it wrote no log".to_owned());
        format!("{how}; last log line: {last}")
    }

    /// Asks the child to exit (standard input closed) and reaps it.
    fn shut_down(mut self) {
        drop(self.stdin);
        let _ = wait_or_kill(&mut self.child, EXIT_GRACE);
        for r in self.readers.drain(..) {
            let _ = r.join();
        }
    }
}

/// Waits up to `grace` for the child, then kills it. Returns the exit status
/// when the child exited by itself.
fn wait_or_kill(child: &mut Child, grace: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + grace;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
}

/// "killed by signal 6 (SIGABRT)", "exited with status 3".
fn describe_exit(status: std::process::ExitStatus) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            let name = match signal {
                4 => " (SIGILL)",
                6 => " (SIGABRT)",
                7 => " (SIGBUS)",
                8 => " (SIGFPE)",
                9 => " (SIGKILL)",
                11 => " (SIGSEGV)",
                15 => " (SIGTERM)",
                _ => "",
            };
            return format!("the engine process was killed by signal {signal}{name}");
        }
    }
    match status.code() {
        Some(code) => format!("the engine process exited with status {code}"),
        None => "the engine process ended".to_owned(),
    }
}

/// Splits a line of the engine's standard output into stray text and the
/// reply after the last [`REPLY_MARK`], if any.
fn split_reply_line(line: &str) -> (&str, Option<&str>) {
    match line.rfind(REPLY_MARK) {
        Some(at) => (&line[..at], Some(&line[at + REPLY_MARK.len_utf8()..])),
        None => (line, None),
    }
}

fn read_replies(stdout: std::process::ChildStdout, tx: &mpsc::Sender<Reply>, pid: u32) {
    for line in BufReader::new(stdout).lines() {
        let Ok(line) = line else { break };
        let (stray, reply) = split_reply_line(&line);
        if !stray.trim().is_empty() {
            // Something else wrote to standard output: not ours to act on.
            tracing::debug!(pid, line = %truncate(stray), "engine process wrote a stray line");
        }
        let Some(reply) = reply else { continue };
        match serde_json::from_str::<Reply>(reply) {
            Ok(reply) => {
                if tx.send(reply).is_err() {
                    break;
                }
            }
            Err(e) => {
                tracing::warn!(pid, error = %e, "engine process sent a reply that does not parse")
            }
        }
    }
}

fn read_log(stderr: std::process::ChildStderr, tail: &Mutex<LogTail>, pid: u32) {
    let mut reader = BufReader::new(stderr);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match reader.read_until(b'\n', &mut buf) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let text = String::from_utf8_lossy(&buf);
        let line = text.trim_end();
        if line.trim().is_empty() {
            continue;
        }
        let line = truncate(line);
        relay_log_line(pid, &line);
        if let Ok(mut t) = tail.lock() {
            t.push(short_source_path(strip_log_prefix(&line)).to_owned());
        }
    }
}

/// Re-emits a line of the child's log at the level the child gave it:
/// llama.cpp's lines under [`LLAMA_CPP_TARGET`] (so the adapters' filters
/// treat them as before), the rest under `llm4sweat::engine_process`.
fn relay_log_line(pid: u32, line: &str) {
    let mut words = line.split_whitespace();
    let level = words.next().unwrap_or("");
    // After the level come span names, then the target; ours start with
    // `llm4sweat`, everything else the engine process logs is llama.cpp's.
    let llama = !words.take(3).any(|w| w.starts_with("llm4sweat"));
    macro_rules! relay {
        ($level:ident) => {
            if llama {
                tracing::$level!(target: LLAMA_CPP_TARGET, pid, "{line}")
            } else {
                tracing::$level!(target: "llm4sweat::engine_process", pid, "{line}")
            }
        };
    }
    match level {
        "ERROR" => relay!(error),
        "WARN" => relay!(warn),
        "INFO" => relay!(info),
        "DEBUG" | "TRACE" => relay!(debug),
        // Written straight to standard error (llama.cpp's assertions are);
        // the crash error quotes it anyway.
        _ => relay!(info),
    }
}

/// The message of a `LEVEL target: message` log line (other lines as they are).
fn strip_log_prefix(line: &str) -> &str {
    let trimmed = line.trim_start();
    let Some((level, rest)) = trimmed.split_once(' ') else {
        return trimmed;
    };
    if !matches!(level, "ERROR" | "WARN" | "INFO" | "DEBUG" | "TRACE") {
        return trimmed;
    }
    match rest.trim_start().split_once(": ") {
        Some((_target, message)) => message,
        None => rest.trim_start(),
    }
}

/// `llama-model.cpp:1330: GGML_ASSERT(…)` for `/long/build/path/llama-model.cpp:1330: …`:
/// an assertion's source file without the build machine's folders.
fn short_source_path(line: &str) -> &str {
    match line.split_once(':') {
        Some((file, _)) if file.contains('/') && !file.contains(' ') => {
            let cut = file.rfind('/').map_or(0, |i| i + 1);
            &line[cut..]
        }
        _ => line,
    }
}

fn truncate(line: &str) -> String {
    if line.chars().count() <= LOG_LINE_MAX {
        return line.to_owned();
    }
    let mut s: String = line.chars().take(LOG_LINE_MAX).collect();
    s.push('…');
    s
}

/// A handle to a llama.cpp model running in a supervised engine process.
///
/// Requests are served one at a time (a batch holds the process until it
/// ends). A crash ends what is in flight with an error and the next request
/// starts a fresh process, which loads the model again.
pub struct WorkerEngine {
    path: PathBuf,
    config: EngineConfig,
    launcher: Launcher,
    info: LoadedModelInfo,
    process: Mutex<Option<EngineProcess>>,
}

impl std::fmt::Debug for WorkerEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerEngine")
            .field("info", &self.info)
            .field("config", &self.config)
            .finish()
    }
}

impl WorkerEngine {
    /// Starts an engine process and loads `path` in it. A crash while loading
    /// is [`InferenceError::Load`] with the reason; this process lives on.
    /// Callers should still check the file with [`crate::gguf::read_header`]
    /// first: it refuses what is known to crash llama.cpp, with a clearer
    /// message.
    pub fn load(path: &Path, config: EngineConfig) -> Result<Self, InferenceError> {
        let launcher = launcher()?;
        let (process, info) = start(&launcher, path, &config)?;
        Ok(Self {
            path: path.to_path_buf(),
            config,
            launcher,
            info,
            process: Mutex::new(Some(process)),
        })
    }

    /// Facts about the loaded model.
    pub fn model_info(&self) -> &LoadedModelInfo {
        &self.info
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// The engine process's id, when one is running.
    pub fn process_id(&self) -> Option<u32> {
        self.process
            .lock()
            .ok()
            .and_then(|p| p.as_ref().map(|c| c.child.id()))
    }

    /// Runs `f` with a live engine process, starting one if the last one
    /// died. `f` returns `Err(reason)` when the process died under it; the
    /// process is then reaped and forgotten and the reason completed with
    /// how it ended.
    fn with_process<T>(
        &self,
        f: impl FnOnce(&mut EngineProcess) -> Result<T, ()>,
    ) -> Result<T, InferenceError> {
        let mut guard = self
            .process
            .lock()
            .map_err(|_| InferenceError::EngineGone)?;
        if guard.is_none() {
            tracing::info!(path = %self.path.display(), "starting a fresh engine process");
            let (process, _info) = start(&self.launcher, &self.path, &self.config)?;
            *guard = Some(process);
        }
        let Some(process) = guard.as_mut() else {
            return Err(InferenceError::EngineGone);
        };
        match f(process) {
            Ok(v) => Ok(v),
            Err(()) => {
                let dead = guard.take();
                let reason = dead.map_or_else(|| "it ended".to_owned(), EngineProcess::post_mortem);
                tracing::warn!(path = %self.path.display(), %reason, "the engine process died");
                Err(InferenceError::Crashed {
                    path: self.path.display().to_string(),
                    reason,
                })
            }
        }
    }

    /// The exact prompt text the model sees for `messages`.
    pub fn render_prompt(&self, messages: &[ChatMessage]) -> Result<String, InferenceError> {
        self.with_process(|p| {
            p.send(&Command::Render {
                messages: messages.to_vec(),
            })
            .map_err(|_| ())?;
            loop {
                match p.replies.recv() {
                    Ok(Reply::Rendered { result }) => return Ok(result),
                    Ok(other) => tracing::debug!(?other, "unexpected engine reply"),
                    Err(_) => return Err(()),
                }
            }
        })?
    }

    /// Measures throughput like [`super::local::LocalEngine::bench`]; also
    /// returns the engine process's peak resident memory in MB (Linux).
    pub fn bench(
        &self,
        n_prompt: u32,
        n_gen: u32,
        n_parallel: u32,
    ) -> Result<(BenchResult, Option<f64>), InferenceError> {
        self.with_process(|p| {
            p.send(&Command::Bench {
                n_prompt,
                n_gen,
                n_parallel,
            })
            .map_err(|_| ())?;
            loop {
                match p.replies.recv() {
                    Ok(Reply::Benched {
                        result,
                        peak_rss_mb,
                    }) => return Ok(result.map(|r| (r, peak_rss_mb))),
                    Ok(other) => tracing::debug!(?other, "unexpected engine reply"),
                    Err(_) => return Err(()),
                }
            }
        })?
    }
}

/// Trains `job` in a fresh engine process (see [`crate::train`]): events go
/// to `on_event` as they arrive; a cancel is passed on; a process that dies
/// ends the run in [`TrainError::Crashed`](crate::train::TrainError::Crashed)
/// with the signal and llama.cpp's last log line.
pub(crate) fn run_training(
    job: &crate::train::TrainJob,
    cancel: &CancelToken,
    on_event: &mut dyn FnMut(&crate::train::TrainEvent),
) -> Result<crate::train::TrainOutcome, crate::train::TrainError> {
    use crate::train::TrainError;
    let launcher = launcher().map_err(|e| TrainError::Crashed(e.to_string()))?;
    let mut process =
        EngineProcess::spawn(&launcher).map_err(|e| TrainError::Crashed(e.to_string()))?;
    let pid = process.child.id();
    tracing::info!(pid, "training process started");
    on_event(&crate::train::TrainEvent::Started { pid });
    if process
        .send(&Command::Train {
            job: Box::new(job.clone()),
        })
        .is_err()
    {
        return Err(TrainError::Crashed(process.post_mortem()));
    }
    let mut cancel_sent = false;
    loop {
        match process.replies.recv_timeout(CANCEL_POLL) {
            Ok(Reply::Training { event }) => on_event(&event),
            Ok(Reply::Trained { result }) => {
                process.shut_down();
                return result;
            }
            Ok(other) => tracing::debug!(?other, "unexpected training reply"),
            Err(RecvTimeoutError::Timeout) => {
                if cancel.is_cancelled() && !cancel_sent {
                    cancel_sent = true;
                    if process.send(&Command::Cancel).is_err() {
                        return Err(TrainError::Crashed(process.post_mortem()));
                    }
                }
            }
            Err(RecvTimeoutError::Disconnected) => {
                return Err(TrainError::Crashed(process.post_mortem()));
            }
        }
    }
}

/// Starts an engine process and loads the model in it.
fn start(
    launcher: &Launcher,
    path: &Path,
    config: &EngineConfig,
) -> Result<(EngineProcess, LoadedModelInfo), InferenceError> {
    let load_error = |reason: String| InferenceError::Load {
        path: path.display().to_string(),
        reason,
    };
    let mut process = EngineProcess::spawn(launcher)?;
    let command = Command::Load {
        path: path.to_path_buf(),
        config: config.clone(),
    };
    if process.send(&command).is_err() {
        return Err(load_error(process.post_mortem()));
    }
    loop {
        match process.replies.recv() {
            Ok(Reply::Ready { info }) => return Ok((process, info)),
            Ok(Reply::LoadFailed { error }) => {
                process.shut_down();
                return Err(error);
            }
            Ok(other) => tracing::debug!(?other, "unexpected engine reply while loading"),
            Err(_) => return Err(load_error(process.post_mortem())),
        }
    }
}

impl Drop for WorkerEngine {
    fn drop(&mut self) {
        if let Ok(mut p) = self.process.lock()
            && let Some(process) = p.take()
        {
            process.shut_down();
        }
    }
}

impl Backend for WorkerEngine {
    fn info(&self) -> BackendInfo {
        BackendInfo {
            kind: "llama.cpp".into(),
            description: self.path.display().to_string(),
        }
    }

    fn parallelism(&self) -> usize {
        self.config.n_parallel.max(1) as usize
    }

    fn engine_peak_rss_mb(&self) -> Option<f64> {
        let pid = self.process_id()?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        vm_hwm_mb(&status)
    }

    fn generate_batch(
        &self,
        requests: &[GenerationRequest],
        on_token: &mut TokenSink<'_>,
        on_done: &mut DoneSink<'_>,
        cancel: &CancelToken,
    ) {
        let mut finished = vec![false; requests.len()];
        let outcome = self.with_process(|p| {
            p.send(&Command::Generate {
                requests: requests.to_vec(),
            })
            .map_err(|_| ())?;
            let mut cancel_sent = false;
            loop {
                match p.replies.recv_timeout(CANCEL_POLL) {
                    Ok(Reply::Token { index, piece }) => on_token(index, &piece),
                    Ok(Reply::Done { index, result }) => {
                        if let Some(f) = finished.get_mut(index)
                            && !*f
                        {
                            *f = true;
                            on_done(index, result);
                        }
                    }
                    Ok(Reply::BatchEnd) => return Ok(()),
                    Ok(other) => tracing::debug!(?other, "unexpected engine reply"),
                    Err(RecvTimeoutError::Timeout) => {
                        if cancel.is_cancelled() && !cancel_sent {
                            cancel_sent = true;
                            p.send(&Command::Cancel).map_err(|_| ())?;
                        }
                    }
                    Err(RecvTimeoutError::Disconnected) => return Err(()),
                }
            }
        });
        let error = outcome.err().unwrap_or(InferenceError::EngineGone);
        // Whatever the engine did not answer ends in the error that ended it.
        for (i, done) in finished.iter().enumerate() {
            if !done {
                on_done(i, Err(error.clone()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_crash_reason_prefers_the_assertion_line() {
        let mut tail = LogTail::default();
        for l in [
            "llama_model_loader: loaded meta data",
            "/src/llama.cpp/src/llama-model.cpp:512: GGML_ASSERT(hparams.n_layer > 0) failed",
            "could not attach to process",
        ] {
            tail.push(l.to_owned());
        }
        let reason = tail.reason().unwrap_or_default();
        assert!(reason.contains("GGML_ASSERT"), "{reason}");
    }

    #[test]
    fn the_log_tail_is_bounded() {
        let mut tail = LogTail::default();
        for i in 0..LOG_TAIL_LINES * 3 {
            tail.push(format!("line {i}"));
        }
        assert_eq!(tail.0.len(), LOG_TAIL_LINES);
        assert_eq!(tail.reason().as_deref(), Some("line 119"));
    }

    #[test]
    fn log_prefixes_are_stripped() {
        assert_eq!(
            strip_log_prefix(" WARN llama-cpp-2: something odd"),
            "something odd"
        );
        assert_eq!(
            strip_log_prefix("GGML_ASSERT(x) failed"),
            "GGML_ASSERT(x) failed"
        );
        assert_eq!(
            truncate(&"x".repeat(1000)).chars().count(),
            LOG_LINE_MAX + 1
        );
    }

    #[test]
    fn stray_output_before_a_reply_is_set_apart() {
        let line = format!("llama says hi{REPLY_MARK}{{\"ev\":\"batch_end\"}}");
        let (stray, reply) = split_reply_line(&line);
        assert_eq!(stray, "llama says hi");
        let reply: Reply = serde_json::from_str(reply.unwrap_or_default()).expect("reply");
        assert!(matches!(reply, Reply::BatchEnd));
        assert_eq!(split_reply_line("no mark"), ("no mark", None));
    }

    #[test]
    fn commands_and_replies_are_one_json_line_each() {
        let c = Command::Bench {
            n_prompt: 1,
            n_gen: 2,
            n_parallel: 3,
        };
        let line = serde_json::to_string(&c).unwrap_or_default();
        assert!(!line.contains('\n'));
        assert!(line.contains("\"op\":\"bench\""), "{line}");
        let r = Reply::Done {
            index: 2,
            result: Err(InferenceError::PromptTooLong {
                prompt_tokens: 5,
                n_ctx: 4,
            }),
        };
        let line = serde_json::to_string(&r).unwrap_or_default();
        let back: Reply = serde_json::from_str(&line).expect("round trip");
        assert!(matches!(
            back,
            Reply::Done {
                index: 2,
                result: Err(InferenceError::PromptTooLong { .. })
            }
        ));
    }
}
