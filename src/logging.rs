//! What a log subscriber needs to know about the core's diagnostics.
//!
//! The core only emits `tracing` events (and forwards llama.cpp's own log);
//! each adapter installs the subscriber that decides what is shown and where:
//! the CLI writes to standard error, the desktop app to a rotating file.

/// The `tracing` target under which llama.cpp's and ggml's own log arrives
/// (set by `llama-cpp-2`; a `module` field names the llama.cpp part).
pub const LLAMA_CPP_TARGET: &str = "llama-cpp-2";

/// Targets of the HTTP stack under the remote client. Below `info` they log
/// connections and, at `trace`, can dump raw request bytes, headers and API
/// keys included, so subscribers cap them at [`HTTP_MAX_LEVEL`] whatever
/// `RUST_LOG` asks for.
pub const HTTP_TARGETS: &[&str] = &[
    "hyper",
    "hyper_util",
    "hyper_rustls",
    "reqwest",
    "h2",
    "rustls",
    "tokio_rustls",
];

/// The most detailed level [`HTTP_TARGETS`] may log at.
pub const HTTP_MAX_LEVEL: tracing::Level = tracing::Level::INFO;
