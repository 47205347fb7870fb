//! A client for OpenAI-compatible chat-completions endpoints.
//!
//! [`RemoteBackend`] runs the baselines served by vLLM, llama.cpp's server,
//! Ollama and the paid frontier APIs. It posts to `{base_url}/chat/completions`
//! and reads either a server-sent-event stream (`stream: true`, the default) or
//! one JSON answer.
//!
//! Only the standard sampling fields are sent (`temperature`, `top_p`,
//! `max_tokens`, `seed`): strict APIs answer HTTP 400 to unknown fields, so
//! `top_k`, `min_p`, `repeat_penalty` and `repeat_last_n` of
//! [`SamplingParams`](crate::inference::SamplingParams) only affect the local
//! backend.
//!
//! # Timeouts
//!
//! reqwest's blocking client offers no idle (read) timeout of its own: its
//! `timeout` bounds each blocking wait (the wait for the response headers, then
//! each `read` of the body) and, when set on a request, also the whole exchange
//! as one deadline. So the exchange runs on a helper thread that passes what it
//! receives through a channel, and the calling thread enforces the limits:
//!
//! - the whole attempt (connect, headers, body) must finish within
//!   [`RemoteConfig::request_timeout_s`];
//! - once the headers have arrived, the server may stay silent for at most
//!   [`RemoteConfig::idle_timeout_s`] between two pieces of the body;
//! - the [`CancelToken`] is checked between pieces and every 50 ms while
//!   waiting, so cancelling never waits on the network.
//!
//! The helper thread carries reqwest's own deadline (the request timeout plus a
//! few seconds), so it ends by itself even when the server never answers.
//!
//! # Secrets
//!
//! The API key is read from an environment variable or the OS keyring (see
//! [`resolve_api_key`]), kept only in memory, sent as a sensitive
//! `Authorization: Bearer` header, redacted from `Debug` output, and scrubbed
//! from every error message (in case the server echoes it). Log events
//! (`tracing`: one `debug` per attempt, a `warn` per retry and on giving up)
//! carry the endpoint without credentials, the model name, the attempt number,
//! the status and timings — never a header, the key or a response body.

mod client;
mod sse;
mod wire;

use std::fmt;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use reqwest::Url;
use reqwest::blocking::Client;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use serde::{Deserialize, Serialize};

use crate::inference::{
    Backend, BackendInfo, DoneSink, GenerationOutput, GenerationRequest, InferenceError, TokenSink,
    sha256_hex,
};
use crate::progress::CancelToken;
use client::{HELPER_GRACE, describe, is_loopback};

/// Keyring service under which API keys are stored.
const KEYRING_SERVICE: &str = "llm4sweat";
/// How much of an error body goes into [`InferenceError::Http`].
const ERROR_BODY_CHARS: usize = 500;

/// Where and how to reach an OpenAI-compatible chat-completions endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RemoteConfig {
    /// The API root, for example `http://127.0.0.1:8080/v1`; requests go to
    /// `{base_url}/chat/completions`.
    pub base_url: String,
    /// The `model` field of every request.
    pub model: String,
    /// The environment variable that holds the API key (the OS keyring is the
    /// fallback, see [`resolve_api_key`]); `None` sends no key.
    pub api_key_env: Option<String>,
    /// Upper bound of one whole attempt (connect, headers and body), in seconds.
    pub request_timeout_s: u64,
    /// Longest silence allowed between two pieces of the response body once
    /// the headers have arrived, in seconds.
    pub idle_timeout_s: u64,
    /// Retries after HTTP 429, 500, 502, 503 or 504.
    pub max_retries: u32,
    /// First wait between retries, in milliseconds; doubled after each retry
    /// and capped at 30 s. A `Retry-After` header (in seconds) takes precedence.
    pub initial_backoff_ms: u64,
    /// Whether to ask for a server-sent-event stream.
    pub stream: bool,
    /// How many requests of one batch are in flight at once (at least 1).
    /// Servers such as vLLM and llama.cpp's batch concurrent requests, so a
    /// batch finishes several times sooner than one request after another.
    pub concurrency: u32,
}

impl Default for RemoteConfig {
    fn default() -> Self {
        Self {
            base_url: "http://127.0.0.1:8080/v1".to_string(),
            model: String::new(),
            api_key_env: None,
            request_timeout_s: 300,
            idle_timeout_s: 30,
            max_retries: 4,
            initial_backoff_ms: 500,
            stream: true,
            concurrency: 4,
        }
    }
}

/// Looks up the API key named by `env_var`: the environment variable first,
/// then the OS keyring entry of service `llm4sweat` and user `env_var`.
/// Surrounding whitespace is trimmed and an empty value counts as absent.
///
/// # Errors
///
/// [`InferenceError::MissingApiKey`] when neither holds a key (keyring
/// failures are treated as "no key" and never reveal anything).
pub fn resolve_api_key(env_var: &str) -> Result<String, InferenceError> {
    if let Ok(value) = std::env::var(env_var) {
        let value = value.trim();
        if !value.is_empty() {
            return Ok(value.to_string());
        }
    }
    if let Ok(entry) = keyring::Entry::new(KEYRING_SERVICE, env_var)
        && let Ok(value) = entry.get_password()
    {
        let value = value.trim();
        if !value.is_empty() {
            return Ok(value.to_string());
        }
    }
    Err(InferenceError::MissingApiKey {
        env_var: env_var.to_string(),
        keyring_user: env_var.to_string(),
    })
}

/// A [`Backend`] that speaks the OpenAI chat-completions API over HTTP.
///
/// Requests of a batch run one after the other.
pub struct RemoteBackend {
    config: RemoteConfig,
    endpoint: String,
    api_key: Option<String>,
    client: Client,
    request_timeout: Duration,
    idle_timeout: Duration,
    template_hash: String,
}

impl fmt::Debug for RemoteBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteBackend")
            .field("config", &self.config)
            .field("endpoint", &self.endpoint)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

impl RemoteBackend {
    /// Prepares a client for `config`, resolving its API key now.
    ///
    /// # Errors
    ///
    /// [`InferenceError::MissingApiKey`] when `api_key_env` is set but no key is
    /// found; [`InferenceError::Transport`] when the URL is invalid, the key
    /// cannot be sent as an HTTP header, or the HTTP client cannot be built.
    pub fn new(config: RemoteConfig) -> Result<Self, InferenceError> {
        let endpoint = format!("{}/chat/completions", config.base_url.trim_end_matches('/'));
        let transport = |reason: String| InferenceError::Transport {
            url: endpoint.clone(),
            reason,
        };
        let url = Url::parse(&endpoint).map_err(|e| transport(format!("invalid URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(transport(format!(
                "unsupported URL scheme {:?} (use http or https)",
                url.scheme()
            )));
        }

        let api_key = match &config.api_key_env {
            Some(var) => Some(resolve_api_key(var)?),
            None => None,
        };
        let mut headers = HeaderMap::new();
        if let (Some(key), Some(var)) = (&api_key, &config.api_key_env) {
            let mut value = HeaderValue::from_str(&format!("Bearer {key}")).map_err(|_| {
                transport(format!(
                    "the API key from {var} contains characters that cannot go in an HTTP header"
                ))
            })?;
            value.set_sensitive(true);
            headers.insert(AUTHORIZATION, value);
        }

        let request_timeout = Duration::from_secs(config.request_timeout_s.max(1));
        let idle_timeout = Duration::from_secs(config.idle_timeout_s.max(1));
        let mut builder = Client::builder()
            .default_headers(headers)
            .user_agent(concat!("llm4sweat/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(request_timeout.min(Duration::from_secs(30)))
            .timeout(request_timeout + HELPER_GRACE);
        if is_loopback(&url) {
            // No proxy can reach this machine's loopback interface.
            builder = builder.no_proxy();
        }
        let client = builder
            .build()
            .map_err(|e| transport(format!("could not build the HTTP client: {}", describe(&e))))?;

        let template_hash =
            sha256_hex(format!("openai-chat-completions:{}", config.model).as_bytes());
        Ok(Self {
            config,
            endpoint,
            api_key,
            client,
            request_timeout,
            idle_timeout,
            template_hash,
        })
    }
}

impl Backend for RemoteBackend {
    fn info(&self) -> BackendInfo {
        BackendInfo {
            kind: "openai-compatible".to_string(),
            description: format!("{} at {}", self.config.model, self.config.base_url),
        }
    }

    fn parallelism(&self) -> usize {
        self.config.concurrency.max(1) as usize
    }

    fn generate_batch(
        &self,
        requests: &[GenerationRequest],
        on_token: &mut TokenSink<'_>,
        on_done: &mut DoneSink<'_>,
        cancel: &CancelToken,
    ) {
        let workers = (self.config.concurrency.max(1) as usize).min(requests.len());
        if workers <= 1 {
            for (index, request) in requests.iter().enumerate() {
                let result =
                    self.generate_one(request, &mut |piece| on_token(index, piece), cancel);
                on_done(index, result);
            }
            return;
        }
        // Worker threads take the next request from a shared counter and pass
        // what they receive back here, so the sinks run on the caller's thread
        // (they need not be Send) and each answer is reported as it finishes.
        let next = std::sync::atomic::AtomicUsize::new(0);
        let (tx, rx) = mpsc::channel::<BatchEvent>();
        thread::scope(|scope| {
            for _ in 0..workers {
                let tx = tx.clone();
                let next = &next;
                scope.spawn(move || {
                    loop {
                        let index = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        let Some(request) = requests.get(index) else {
                            break;
                        };
                        let result = self.generate_one(
                            request,
                            &mut |piece| {
                                let _ = tx.send(BatchEvent::Token(index, piece.to_owned()));
                            },
                            cancel,
                        );
                        if tx.send(BatchEvent::Done(index, result)).is_err() {
                            break;
                        }
                    }
                });
            }
            drop(tx);
            for event in rx {
                match event {
                    BatchEvent::Token(index, piece) => on_token(index, &piece),
                    BatchEvent::Done(index, result) => on_done(index, result),
                }
            }
        });
    }
}

/// What a batch worker passes to the calling thread.
enum BatchEvent {
    Token(usize, String),
    Done(usize, Result<GenerationOutput, InferenceError>),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_config_matches_the_documented_values() {
        let c = RemoteConfig::default();
        assert_eq!(
            (
                c.request_timeout_s,
                c.idle_timeout_s,
                c.max_retries,
                c.initial_backoff_ms,
                c.stream
            ),
            (300, 30, 4, 500, true)
        );
        assert_eq!(c.api_key_env, None);
    }

    #[test]
    fn new_rejects_a_bad_url() {
        let config = RemoteConfig {
            base_url: "ftp://example.invalid/v1".to_string(),
            ..RemoteConfig::default()
        };
        assert!(matches!(
            RemoteBackend::new(config),
            Err(InferenceError::Transport { .. })
        ));
    }
}
