//! The engine process's side: read commands on standard input, run them on a
//! [`LocalEngine`], write replies on standard output.

use std::cell::RefCell;
use std::io::{BufRead, Write};
use std::process::ExitCode;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use super::{Command, REPLY_MARK, Reply, peak_rss_mb};
use crate::inference::local::LocalEngine;
use crate::progress::CancelToken;

/// A command for the serving loop, with the cancel token of a generation.
enum Job {
    Command(Command),
    Generate(Vec<crate::inference::GenerationRequest>, CancelToken),
    Train(Box<crate::train::TrainJob>, CancelToken),
}

/// Serves one engine process until its standard input closes. Adapters call
/// this first thing in `main` when the first argument is
/// [`super::WORKER_ARG`], and install no log subscriber of their own: this
/// one writes plain `LEVEL target: message` lines to standard error, which
/// the parent relays and quotes when the process dies. Standard output is the
/// reply channel: nothing else may write to it.
pub fn serve() -> ExitCode {
    // Fails only when a subscriber is already installed; that one logs then.
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .without_time()
        .with_max_level(tracing::Level::INFO)
        .try_init();
    let (jobs_tx, jobs) = mpsc::channel::<Job>();
    let current: Arc<Mutex<Option<CancelToken>>> = Arc::default();
    let reader_current = current.clone();
    // Commands are read on their own thread so that a `cancel` reaches the
    // generation in progress.
    let reader = std::thread::Builder::new()
        .name("engine-commands".into())
        .spawn(move || read_commands(&jobs_tx, &reader_current));
    if let Err(e) = reader {
        tracing::error!("could not start the command reader: {e}");
        return ExitCode::FAILURE;
    }
    let Some(engine) = load(&jobs) else {
        return ExitCode::SUCCESS;
    };
    for job in jobs {
        let written = match job {
            Job::Generate(requests, cancel) => generate(&engine, &requests, &cancel),
            Job::Command(Command::Render { messages }) => reply(&Reply::Rendered {
                result: engine.render_prompt(&messages),
            }),
            Job::Command(Command::Bench {
                n_prompt,
                n_gen,
                n_parallel,
            }) => reply(&Reply::Benched {
                result: engine.bench(n_prompt, n_gen, n_parallel),
                peak_rss_mb: peak_rss_mb(),
            }),
            Job::Command(other) => {
                tracing::warn!(?other, "ignoring an unexpected command");
                Ok(())
            }
            Job::Train(..) => {
                tracing::warn!("ignoring a train command sent to a serving engine");
                Ok(())
            }
        };
        if written.is_err() {
            // The parent is gone: nobody to answer.
            break;
        }
    }
    ExitCode::SUCCESS
}

/// Waits for the `load` command and loads the model; `None` when the parent
/// went away or the model could not be loaded (already reported).
fn load(jobs: &mpsc::Receiver<Job>) -> Option<LocalEngine> {
    let (path, config) = match jobs.recv().ok()? {
        Job::Command(Command::Load { path, config }) => (path, config),
        Job::Train(job, cancel) => {
            train(&job, &cancel);
            return None;
        }
        _ => {
            tracing::error!("the first command must be load");
            return None;
        }
    };
    match LocalEngine::load(&path, config) {
        Ok(engine) => {
            let info = engine.model_info().clone();
            reply(&Reply::Ready { info }).ok()?;
            Some(engine)
        }
        Err(error) => {
            let _ = reply(&Reply::LoadFailed { error });
            None
        }
    }
}

/// Trains, streaming progress; the process exits afterwards. A parent that
/// stopped listening cancels the run at the next step.
fn train(job: &crate::train::TrainJob, cancel: &CancelToken) {
    let result = crate::train::run::run(job, cancel, &mut |event| {
        if reply(&Reply::Training { event }).is_err() {
            cancel.cancel();
        }
    });
    if let Err(e) = &result {
        tracing::warn!("training stopped: {e}");
    }
    let _ = reply(&Reply::Trained { result });
}

/// Writes replies until one fails, then cancels the generation (the parent
/// no longer listens) and remembers the error.
struct Replies<'a> {
    cancel: &'a CancelToken,
    failed: Option<std::io::Error>,
}

impl Replies<'_> {
    fn send(&mut self, r: &Reply) {
        if self.failed.is_none()
            && let Err(e) = reply(r)
        {
            self.cancel.cancel();
            self.failed = Some(e);
        }
    }
}

fn generate(
    engine: &LocalEngine,
    requests: &[crate::inference::GenerationRequest],
    cancel: &CancelToken,
) -> std::io::Result<()> {
    use crate::inference::Backend;
    let replies = RefCell::new(Replies {
        cancel,
        failed: None,
    });
    engine.generate_batch(
        requests,
        &mut |index, piece| {
            replies.borrow_mut().send(&Reply::Token {
                index,
                piece: piece.to_owned(),
            });
        },
        &mut |index, result| replies.borrow_mut().send(&Reply::Done { index, result }),
        cancel,
    );
    let mut replies = replies.into_inner();
    replies.send(&Reply::BatchEnd);
    match replies.failed {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

fn read_commands(jobs: &mpsc::Sender<Job>, current: &Mutex<Option<CancelToken>>) {
    let stdin = std::io::stdin();
    for line in stdin.lock().lines() {
        let Ok(line) = line else { break };
        if line.trim().is_empty() {
            continue;
        }
        let command = match serde_json::from_str::<Command>(&line) {
            Ok(c) => c,
            Err(e) => {
                tracing::error!("ignoring a command that does not parse: {e}");
                continue;
            }
        };
        let job = match command {
            Command::Cancel => {
                if let Ok(c) = current.lock()
                    && let Some(token) = c.as_ref()
                {
                    token.cancel();
                }
                continue;
            }
            Command::Generate { requests } => {
                let token = CancelToken::new();
                if let Ok(mut c) = current.lock() {
                    *c = Some(token.clone());
                }
                Job::Generate(requests, token)
            }
            Command::Train { job } => {
                let token = CancelToken::new();
                if let Ok(mut c) = current.lock() {
                    *c = Some(token.clone());
                }
                Job::Train(job, token)
            }
            other => Job::Command(other),
        };
        if jobs.send(job).is_err() {
            break;
        }
    }
    // The parent closed our input: stop what is running; the loop then ends.
    if let Ok(c) = current.lock()
        && let Some(token) = c.as_ref()
    {
        token.cancel();
    }
}

/// Writes one reply line (after [`REPLY_MARK`]) in one write, and flushes it.
fn reply(r: &Reply) -> std::io::Result<()> {
    let mut line = String::from(REPLY_MARK);
    line.push_str(&serde_json::to_string(r)?);
    line.push('\n');
    let mut out = std::io::stdout().lock();
    out.write_all(line.as_bytes())?;
    out.flush()
}
