//! Diagnostics on standard error through `tracing`: `-v`/`-vv` and `RUST_LOG`.
//!
//! By default only warnings of our own crates show, so the output is what it
//! was before logging existed; llama.cpp's log appears from `-v` on.

use std::io::IsTerminal;

use tracing_subscriber::filter::{EnvFilter, FilterExt, LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, fmt};

use llm4sweat::logging::{HTTP_MAX_LEVEL, HTTP_TARGETS, LLAMA_CPP_TARGET};

/// The filter for `verbose` (the number of `-v`) when `RUST_LOG` is unset.
fn default_directives(verbose: u8) -> String {
    // (our crates, llama.cpp, everything else)
    let (ours, llama, others) = match verbose {
        0 => ("warn", "off", "error"),
        1 => ("info", "warn", "warn"),
        2 => ("debug", "info", "info"),
        _ => ("trace", "debug", "debug"),
    };
    format!("{others},llm4sweat={ours},llm4sweat_cli={ours},{LLAMA_CPP_TARGET}={llama}")
}

/// Installs the subscriber. `RUST_LOG`, when set, replaces the levels that
/// `verbose` picks. Whatever either asks for, the HTTP stack never logs below
/// [`HTTP_MAX_LEVEL`]: its detailed output can carry request headers.
pub fn init(verbose: u8) {
    let spec = std::env::var("RUST_LOG")
        .ok()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| default_directives(verbose));
    let levels = EnvFilter::builder().parse_lossy(spec);
    let http_cap = HTTP_TARGETS.iter().fold(
        Targets::new().with_default(LevelFilter::TRACE),
        |t, target| t.with_target(*target, HTTP_MAX_LEVEL),
    );
    let layer = fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_filter(levels.and(http_cap));
    // Fails only if a subscriber is already set, and then that one logs.
    let _ = tracing_subscriber::registry().with(layer).try_init();
}

#[cfg(test)]
mod tests {
    use super::default_directives;

    /// Every verbosity gives a filter that parses without a dropped directive.
    #[test]
    fn default_directives_parse() {
        for verbose in 0..4 {
            let spec = default_directives(verbose);
            let parsed = tracing_subscriber::EnvFilter::builder().parse(&spec);
            assert!(parsed.is_ok(), "{spec}: {parsed:?}");
        }
    }
}
