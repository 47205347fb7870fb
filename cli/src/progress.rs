//! Progress for the terminal: an indicatif bar behind the core's `Progress`
//! trait, and the Ctrl-C cancel token.

use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressStyle};

use llm4sweat::progress::{CancelToken, Progress, ProgressEvent};

/// A progress bar for the terminal.
pub struct Bar {
    bar: Mutex<Option<ProgressBar>>,
    quiet: bool,
    bytes: bool,
}

impl Bar {
    /// A bar counting items, or bytes when `bytes`; with `quiet`, nothing is shown.
    pub fn new(quiet: bool, bytes: bool) -> Self {
        Self {
            bar: Mutex::new(None),
            quiet,
            bytes,
        }
    }
}

impl Progress for Bar {
    fn report(&self, event: ProgressEvent) {
        if self.quiet {
            return;
        }
        let Ok(mut slot) = self.bar.lock() else {
            return;
        };
        match event {
            ProgressEvent::Started { label, total } => {
                let bar = ProgressBar::new(total.unwrap_or(0));
                let template = if self.bytes {
                    "{msg:32} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}"
                } else {
                    "{prefix} [{bar:30}] {pos}/{len} ETA {eta} {msg}"
                };
                if let Ok(style) = ProgressStyle::with_template(template) {
                    bar.set_style(style.progress_chars("=> "));
                }
                if self.bytes {
                    bar.set_message(label);
                } else {
                    bar.set_prefix(label);
                }
                *slot = Some(bar);
            }
            ProgressEvent::Advanced { done, message, .. } => {
                if let Some(bar) = slot.as_ref() {
                    bar.set_position(done);
                    if let Some(m) = message
                        && !self.bytes
                    {
                        bar.set_message(m);
                    }
                }
            }
            ProgressEvent::Note { message } => match slot.as_ref() {
                Some(bar) => bar.println(message),
                None => eprintln!("{message}"),
            },
            ProgressEvent::Finished { .. } => {
                if let Some(bar) = slot.take() {
                    bar.finish_and_clear();
                }
            }
        }
    }
}

/// The process-wide token that Ctrl-C cancels. The first Ctrl-C asks the job
/// to stop gracefully: answers in flight end as cancelled and are not stored,
/// everything finished is already committed. A second Ctrl-C exits at once,
/// which loses nothing either (every answer is its own transaction).
pub fn cancel_on_ctrl_c() -> CancelToken {
    static TOKEN: std::sync::OnceLock<CancelToken> = std::sync::OnceLock::new();
    TOKEN
        .get_or_init(|| {
            let token = CancelToken::new();
            let handler_token = token.clone();
            let installed = ctrlc::set_handler(move || {
                if handler_token.is_cancelled() {
                    eprintln!("\ninterrupted again: exiting now (stored answers are kept)");
                    std::process::exit(130);
                }
                eprintln!("\nstopping… (press Ctrl-C again to quit at once)");
                handler_token.cancel();
            });
            if let Err(e) = installed {
                eprintln!("warning: Ctrl-C will end the process abruptly ({e})");
            }
            token
        })
        .clone()
}
