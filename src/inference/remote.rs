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
//! from every error message (in case the server echoes it).

use std::fmt;
use std::io::Read;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::thread;
use std::time::{Duration, Instant};

use reqwest::blocking::{Client, Request};
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue, RETRY_AFTER};
use reqwest::{StatusCode, Url};
use serde::{Deserialize, Serialize};

use crate::inference::{
    Backend, BackendInfo, DoneSink, FinishReason, GenerationOutput, GenerationRequest,
    InferenceError, TokenSink, sha256_hex,
};
use crate::progress::CancelToken;

/// Keyring service under which API keys are stored.
const KEYRING_SERVICE: &str = "llm4sweat";
/// Upper bound of one wait between retries, whatever `Retry-After` says.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// How much of an error body goes into [`InferenceError::Http`].
const ERROR_BODY_CHARS: usize = 500;
/// How much of an error body is read at most.
const ERROR_BODY_BYTES: usize = 64 * 1024;
/// Largest non-streamed answer accepted.
const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;
/// Longest server-sent-event line accepted.
const MAX_LINE_BYTES: usize = 4 * 1024 * 1024;
/// How often a waiting thread looks at the cancel token.
const POLL: Duration = Duration::from_millis(50);
/// Extra time given to reqwest's own deadline so that ours always fires first.
const HELPER_GRACE: Duration = Duration::from_secs(5);
/// Pieces of body buffered between the helper thread and the caller.
const CHANNEL_DEPTH: usize = 64;
/// Size of one read from the response body.
const READ_CHUNK: usize = 16 * 1024;

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

    /// Runs one request with retries; every error is scrubbed of the key.
    fn generate_one(
        &self,
        request: &GenerationRequest,
        on_token: &mut dyn FnMut(&str),
        cancel: &CancelToken,
    ) -> Result<GenerationOutput, InferenceError> {
        self.generate_unscrubbed(request, on_token, cancel)
            .map_err(|e| self.scrub(e))
    }

    fn generate_unscrubbed(
        &self,
        request: &GenerationRequest,
        on_token: &mut dyn FnMut(&str),
        cancel: &CancelToken,
    ) -> Result<GenerationOutput, InferenceError> {
        if cancel.is_cancelled() {
            return Ok(self.cancelled(String::new(), 0, None, None));
        }
        let body = self.request_body(request)?;
        let mut retry = 0u32;
        loop {
            match self.attempt(&body, on_token, cancel)? {
                Attempt::Done(output) => return Ok(output),
                Attempt::Retryable {
                    status,
                    body: error_body,
                    retry_after,
                } => {
                    if retry >= self.config.max_retries {
                        return Err(InferenceError::Http {
                            url: self.endpoint.clone(),
                            status,
                            body: error_body,
                        });
                    }
                    let wait = retry_after
                        .unwrap_or_else(|| backoff(self.config.initial_backoff_ms, retry))
                        .min(MAX_BACKOFF);
                    retry += 1;
                    if !sleep_unless_cancelled(wait, cancel) {
                        return Ok(self.cancelled(String::new(), 0, None, None));
                    }
                }
            }
        }
    }

    /// The JSON body of a request.
    fn request_body(&self, request: &GenerationRequest) -> Result<Vec<u8>, InferenceError> {
        let params = &request.params;
        let body = ChatBody {
            model: &self.config.model,
            messages: request
                .messages
                .iter()
                .map(|m| WireMessage {
                    role: m.role.as_str(),
                    content: &m.content,
                })
                .collect(),
            temperature: params.temperature,
            top_p: params.top_p,
            max_tokens: params.max_tokens,
            seed: params.seed,
            stream: self.config.stream,
            stream_options: self.config.stream.then_some(StreamOptions {
                include_usage: true,
            }),
        };
        serde_json::to_vec(&body).map_err(|e| InferenceError::Protocol {
            url: self.endpoint.clone(),
            reason: format!("could not encode the request: {e}"),
        })
    }

    /// One HTTP exchange.
    fn attempt(
        &self,
        body: &[u8],
        on_token: &mut dyn FnMut(&str),
        cancel: &CancelToken,
    ) -> Result<Attempt, InferenceError> {
        let started = Instant::now();
        let deadline = started + self.request_timeout;
        let accept = if self.config.stream {
            "text/event-stream"
        } else {
            "application/json"
        };
        let http_request = self
            .client
            .post(&self.endpoint)
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, accept)
            .timeout(self.request_timeout + HELPER_GRACE)
            .body(body.to_vec())
            .build()
            .map_err(|e| {
                self.transport(format!(
                    "could not build the request: {}",
                    describe(&e.without_url())
                ))
            })?;
        let rx = self.spawn_exchange(http_request)?;

        let head = match wait_event(&rx, deadline, cancel) {
            Waited::Cancelled => {
                return Ok(Attempt::Done(self.cancelled(String::new(), 0, None, None)));
            }
            Waited::TimedOut => {
                return Err(self.transport(format!(
                    "timed out: no answer within {} s",
                    self.request_timeout.as_secs()
                )));
            }
            Waited::Gone => return Err(self.transport("the request thread stopped".to_string())),
            Waited::Event(Event::Failed(reason)) => return Err(self.transport(reason)),
            Waited::Event(Event::Head(head)) => head,
            Waited::Event(Event::Data(_) | Event::End) => {
                return Err(self.transport("the request thread misbehaved".to_string()));
            }
        };

        let mut body = BodyReader {
            rx,
            deadline,
            request_timeout: self.request_timeout,
            idle: self.idle_timeout,
            last_activity: Instant::now(),
        };

        if !head.status.is_success() {
            let (bytes, cancelled) = body.collect_error_body(cancel);
            if cancelled {
                return Ok(Attempt::Done(self.cancelled(String::new(), 0, None, None)));
            }
            let text: String = String::from_utf8_lossy(&bytes)
                .chars()
                .take(ERROR_BODY_CHARS)
                .collect();
            let status = head.status.as_u16();
            if is_retryable(head.status) {
                return Ok(Attempt::Retryable {
                    status,
                    body: text,
                    retry_after: head.retry_after,
                });
            }
            return Err(InferenceError::Http {
                url: self.endpoint.clone(),
                status,
                body: text,
            });
        }

        if self.config.stream && !head.is_json {
            self.read_stream(body, started, on_token, cancel)
        } else {
            self.read_json(body, started, on_token, cancel)
        }
    }

    /// Starts the helper thread that performs `request` and forwards what it
    /// receives.
    fn spawn_exchange(&self, request: Request) -> Result<Receiver<Event>, InferenceError> {
        let (tx, rx) = mpsc::sync_channel(CHANNEL_DEPTH);
        let client = self.client.clone();
        thread::Builder::new()
            .name("llm4sweat-remote".to_string())
            .spawn(move || exchange(&client, request, &tx))
            .map_err(|e| self.transport(format!("could not start the request thread: {e}")))?;
        Ok(rx)
    }

    /// Reads a non-streamed JSON answer.
    fn read_json(
        &self,
        mut body: BodyReader,
        started: Instant,
        on_token: &mut dyn FnMut(&str),
        cancel: &CancelToken,
    ) -> Result<Attempt, InferenceError> {
        let mut bytes = Vec::new();
        let mut first_byte = None;
        loop {
            match body.next(cancel) {
                Next::Data(data) => {
                    first_byte.get_or_insert_with(Instant::now);
                    bytes.extend_from_slice(&data);
                    if bytes.len() > MAX_BODY_BYTES {
                        return Err(self.protocol(format!(
                            "the answer is larger than {} MiB",
                            MAX_BODY_BYTES / (1024 * 1024)
                        )));
                    }
                }
                Next::End => break,
                Next::Cancelled => {
                    return Ok(Attempt::Done(self.cancelled(
                        String::new(),
                        0,
                        Some(started),
                        first_byte,
                    )));
                }
                Next::TimedOut(reason) => return Err(self.transport(reason)),
                Next::Failed(reason) => {
                    return Err(self.transport(format!(
                        "the connection broke while reading the answer: {reason}"
                    )));
                }
            }
        }
        let answer: ChatResponse = serde_json::from_slice(&bytes)
            .map_err(|e| self.protocol(format!("the answer is not the expected JSON ({e})")))?;
        let Some(choice) = answer.choices.into_iter().next() else {
            return Err(self.protocol("the answer has no choices".to_string()));
        };
        let text = choice.message.and_then(|m| m.content).unwrap_or_default();
        if !text.is_empty() {
            on_token(&text);
        }
        let usage = answer.usage.unwrap_or_default();
        Ok(Attempt::Done(self.output(
            text,
            usage.prompt_tokens,
            usage.completion_tokens,
            started,
            first_byte,
            finish_reason(choice.finish_reason.as_deref()),
        )))
    }

    /// Reads a server-sent-event stream.
    fn read_stream(
        &self,
        mut body: BodyReader,
        started: Instant,
        on_token: &mut dyn FnMut(&str),
        cancel: &CancelToken,
    ) -> Result<Attempt, InferenceError> {
        let mut sse = SseState::default();
        let ended_early = loop {
            match body.next(cancel) {
                Next::Data(data) => {
                    sse.feed(&data, on_token, cancel)
                        .map_err(|r| self.protocol(r))?;
                    if cancel.is_cancelled() {
                        break None;
                    }
                    if sse.done {
                        break Some(None);
                    }
                }
                Next::End => break Some(None),
                Next::Failed(reason) => break Some(Some(reason)),
                Next::Cancelled => break None,
                Next::TimedOut(reason) => return Err(self.transport(reason)),
            }
        };
        let Some(failure) = ended_early else {
            return Ok(Attempt::Done(self.cancelled(
                sse.text,
                sse.pieces,
                Some(started),
                sse.first_content,
            )));
        };
        if !sse.done {
            sse.flush(on_token).map_err(|r| self.protocol(r))?;
        }
        if !sse.done && sse.finish.is_none() {
            let mut reason = "stream ended before the answer was complete".to_string();
            if let Some(failure) = failure {
                reason.push_str(&format!(" ({failure})"));
            }
            return Err(self.protocol(reason));
        }
        let (prompt_tokens, completion_tokens) = match sse.usage {
            Some(u) => (u.prompt_tokens, u.completion_tokens),
            None => (0, sse.pieces),
        };
        Ok(Attempt::Done(self.output(
            sse.text,
            prompt_tokens,
            completion_tokens,
            started,
            sse.first_content,
            finish_reason(sse.finish.as_deref()),
        )))
    }

    fn output(
        &self,
        text: String,
        prompt_tokens: u32,
        completion_tokens: u32,
        started: Instant,
        first_content: Option<Instant>,
        finish_reason: FinishReason,
    ) -> GenerationOutput {
        let end = Instant::now();
        let first = first_content.unwrap_or(end);
        GenerationOutput {
            text,
            prompt_tokens,
            completion_tokens,
            prompt_ms: millis(first.saturating_duration_since(started)),
            generation_ms: millis(end.saturating_duration_since(first)),
            finish_reason,
            template_hash: self.template_hash.clone(),
        }
    }

    fn cancelled(
        &self,
        text: String,
        completion_tokens: u32,
        started: Option<Instant>,
        first_content: Option<Instant>,
    ) -> GenerationOutput {
        let started = started.unwrap_or_else(Instant::now);
        self.output(
            text,
            0,
            completion_tokens,
            started,
            first_content,
            FinishReason::Cancelled,
        )
    }

    fn transport(&self, reason: String) -> InferenceError {
        InferenceError::Transport {
            url: self.endpoint.clone(),
            reason,
        }
    }

    fn protocol(&self, reason: String) -> InferenceError {
        InferenceError::Protocol {
            url: self.endpoint.clone(),
            reason,
        }
    }

    /// Removes the API key from an error, in case the server echoed it.
    fn scrub(&self, error: InferenceError) -> InferenceError {
        let Some(key) = self.api_key.as_deref().filter(|k| !k.is_empty()) else {
            return error;
        };
        let clean = |s: String| s.replace(key, "<redacted>");
        match error {
            InferenceError::Transport { url, reason } => InferenceError::Transport {
                url: clean(url),
                reason: clean(reason),
            },
            InferenceError::Http { url, status, body } => InferenceError::Http {
                url: clean(url),
                status,
                body: clean(body),
            },
            InferenceError::Protocol { url, reason } => InferenceError::Protocol {
                url: clean(url),
                reason: clean(reason),
            },
            other => other,
        }
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

/// The outcome of one HTTP exchange.
enum Attempt {
    Done(GenerationOutput),
    Retryable {
        status: u16,
        body: String,
        retry_after: Option<Duration>,
    },
}

/// What the helper thread passes on.
enum Event {
    Head(Head),
    Data(Vec<u8>),
    End,
    Failed(String),
}

struct Head {
    status: StatusCode,
    retry_after: Option<Duration>,
    is_json: bool,
}

/// Body of the helper thread: sends the request and forwards the answer until
/// it ends, fails, or the caller stops listening.
fn exchange(client: &Client, request: Request, tx: &SyncSender<Event>) {
    let mut response = match client.execute(request) {
        Ok(response) => response,
        Err(e) => {
            let _ = tx.send(Event::Failed(describe(&e.without_url())));
            return;
        }
    };
    let headers = response.headers();
    let head = Head {
        status: response.status(),
        retry_after: headers
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after),
        is_json: headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.trim_start()
                    .to_ascii_lowercase()
                    .starts_with("application/json")
            }),
    };
    if tx.send(Event::Head(head)).is_err() {
        return;
    }
    let mut buf = vec![0u8; READ_CHUNK];
    loop {
        match response.read(&mut buf) {
            Ok(0) => {
                let _ = tx.send(Event::End);
                return;
            }
            Ok(n) => {
                if tx.send(Event::Data(buf[..n].to_vec())).is_err() {
                    return;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                let _ = tx.send(Event::Failed(describe(&e)));
                return;
            }
        }
    }
}

enum Waited {
    Event(Event),
    Cancelled,
    TimedOut,
    Gone,
}

/// Waits for the next event until `deadline`, watching `cancel`.
fn wait_event(rx: &Receiver<Event>, deadline: Instant, cancel: &CancelToken) -> Waited {
    loop {
        if cancel.is_cancelled() {
            return Waited::Cancelled;
        }
        let now = Instant::now();
        if now >= deadline {
            return Waited::TimedOut;
        }
        match rx.recv_timeout((deadline - now).min(POLL)) {
            Ok(event) => return Waited::Event(event),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return Waited::Gone,
        }
    }
}

/// The response body as it arrives, under the whole-request deadline and the
/// idle timeout.
struct BodyReader {
    rx: Receiver<Event>,
    deadline: Instant,
    request_timeout: Duration,
    idle: Duration,
    last_activity: Instant,
}

enum Next {
    Data(Vec<u8>),
    End,
    Cancelled,
    TimedOut(String),
    Failed(String),
}

impl BodyReader {
    fn next(&mut self, cancel: &CancelToken) -> Next {
        let idle_deadline = self.last_activity + self.idle;
        let deadline = self.deadline.min(idle_deadline);
        match wait_event(&self.rx, deadline, cancel) {
            Waited::Event(Event::Data(data)) => {
                self.last_activity = Instant::now();
                Next::Data(data)
            }
            Waited::Event(Event::End) => Next::End,
            Waited::Event(Event::Failed(reason)) => Next::Failed(reason),
            Waited::Event(Event::Head(_)) | Waited::Gone => {
                Next::Failed("the request thread stopped".to_string())
            }
            Waited::Cancelled => Next::Cancelled,
            Waited::TimedOut if deadline == idle_deadline => Next::TimedOut(format!(
                "timed out: the server sent nothing for {} s",
                self.idle.as_secs()
            )),
            Waited::TimedOut => Next::TimedOut(format!(
                "timed out: the request took longer than {} s",
                self.request_timeout.as_secs()
            )),
        }
    }

    /// Reads (the start of) an error body; a broken or slow body just ends it.
    /// Returns the bytes and whether the caller cancelled.
    fn collect_error_body(&mut self, cancel: &CancelToken) -> (Vec<u8>, bool) {
        let mut bytes = Vec::new();
        loop {
            match self.next(cancel) {
                Next::Data(data) => {
                    bytes.extend_from_slice(&data);
                    if bytes.len() >= ERROR_BODY_BYTES {
                        return (bytes, false);
                    }
                }
                Next::Cancelled => return (bytes, true),
                Next::End | Next::TimedOut(_) | Next::Failed(_) => return (bytes, false),
            }
        }
    }
}

/// The state of a server-sent-event stream being parsed.
#[derive(Default)]
struct SseState {
    /// Bytes of the current, unfinished line.
    line: Vec<u8>,
    text: String,
    pieces: u32,
    usage: Option<Usage>,
    finish: Option<String>,
    done: bool,
    first_content: Option<Instant>,
}

impl SseState {
    /// Parses the complete lines in `data`; stops early at `[DONE]` or when
    /// `cancel` fires, so that nothing is emitted after a cancellation.
    fn feed(
        &mut self,
        data: &[u8],
        on_token: &mut dyn FnMut(&str),
        cancel: &CancelToken,
    ) -> Result<(), String> {
        for &byte in data {
            if self.done || cancel.is_cancelled() {
                break;
            }
            if byte == b'\n' {
                let line = std::mem::take(&mut self.line);
                self.handle_line(&line, on_token)?;
            } else {
                if self.line.len() >= MAX_LINE_BYTES {
                    return Err(format!(
                        "a stream line is longer than {} MiB",
                        MAX_LINE_BYTES / (1024 * 1024)
                    ));
                }
                self.line.push(byte);
            }
        }
        Ok(())
    }

    /// Parses a last line that had no newline, at the end of the stream.
    fn flush(&mut self, on_token: &mut dyn FnMut(&str)) -> Result<(), String> {
        let line = std::mem::take(&mut self.line);
        if line.is_empty() {
            Ok(())
        } else {
            self.handle_line(&line, on_token)
        }
    }

    fn handle_line(&mut self, raw: &[u8], on_token: &mut dyn FnMut(&str)) -> Result<(), String> {
        let line =
            std::str::from_utf8(raw).map_err(|_| "a stream line is not valid UTF-8".to_string())?;
        let line = line.strip_suffix('\r').unwrap_or(line);
        // Blank lines end events, `:` starts a comment; `event:`, `id:` and
        // `retry:` carry nothing this client needs.
        let Some(data) = line.strip_prefix("data:") else {
            return Ok(());
        };
        let data = data.strip_prefix(' ').unwrap_or(data);
        if data.trim() == "[DONE]" {
            self.done = true;
            return Ok(());
        }
        let chunk: StreamChunk = serde_json::from_str(data)
            .map_err(|e| format!("a stream event is not the expected JSON ({e})"))?;
        if let Some(error) = chunk.error {
            let message: String = error.to_string().chars().take(ERROR_BODY_CHARS).collect();
            return Err(format!(
                "the server reported an error in the stream: {message}"
            ));
        }
        if let Some(usage) = chunk.usage {
            self.usage = Some(usage);
        }
        if let Some(choice) = chunk.choices.into_iter().next() {
            if let Some(content) = choice.delta.and_then(|d| d.content)
                && !content.is_empty()
            {
                self.first_content.get_or_insert_with(Instant::now);
                self.text.push_str(&content);
                self.pieces = self.pieces.saturating_add(1);
                on_token(&content);
            }
            if let Some(reason) = choice.finish_reason {
                self.finish = Some(reason);
            }
        }
        Ok(())
    }
}

#[derive(Serialize)]
struct ChatBody<'a> {
    model: &'a str,
    messages: Vec<WireMessage<'a>>,
    temperature: f32,
    top_p: f32,
    max_tokens: u32,
    seed: u32,
    stream: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream_options: Option<StreamOptions>,
}

#[derive(Serialize)]
struct WireMessage<'a> {
    role: &'static str,
    content: &'a str,
}

#[derive(Serialize)]
struct StreamOptions {
    include_usage: bool,
}

#[derive(Deserialize)]
struct ChatResponse {
    choices: Vec<ResponseChoice>,
    #[serde(default)]
    usage: Option<Usage>,
}

#[derive(Deserialize)]
struct ResponseChoice {
    #[serde(default)]
    message: Option<ResponseMessage>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct ResponseMessage {
    #[serde(default)]
    content: Option<String>,
}

#[derive(Deserialize, Default, Clone, Copy)]
struct Usage {
    #[serde(default, deserialize_with = "count")]
    prompt_tokens: u32,
    #[serde(default, deserialize_with = "count")]
    completion_tokens: u32,
}

#[derive(Deserialize)]
struct StreamChunk {
    #[serde(default)]
    choices: Vec<ChunkChoice>,
    #[serde(default)]
    usage: Option<Usage>,
    #[serde(default)]
    error: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct ChunkChoice {
    #[serde(default)]
    delta: Option<Delta>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct Delta {
    #[serde(default)]
    content: Option<String>,
}

/// A token count, saturated to `u32`; `null` counts as 0.
fn count<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let n: Option<u64> = Option::deserialize(d)?;
    Ok(n.map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX)))
}

fn finish_reason(reason: Option<&str>) -> FinishReason {
    match reason {
        Some("length") => FinishReason::Length,
        _ => FinishReason::Stop,
    }
}

fn is_retryable(status: StatusCode) -> bool {
    matches!(status.as_u16(), 429 | 500 | 502 | 503 | 504)
}

/// `Retry-After` in (possibly fractional) seconds, capped at 30 s. HTTP dates
/// are ignored: the exponential backoff applies then.
fn parse_retry_after(value: &str) -> Option<Duration> {
    let seconds: f64 = value.trim().parse().ok()?;
    (seconds.is_finite() && seconds >= 0.0)
        .then(|| Duration::from_secs_f64(seconds.min(MAX_BACKOFF.as_secs_f64())))
}

/// `initial_ms × 2^retry`, capped at 30 s.
fn backoff(initial_ms: u64, retry: u32) -> Duration {
    let factor = 1u64.checked_shl(retry).unwrap_or(u64::MAX);
    Duration::from_millis(initial_ms.saturating_mul(factor)).min(MAX_BACKOFF)
}

/// Sleeps for `wait` unless `cancel` fires first; returns false if it did.
fn sleep_unless_cancelled(wait: Duration, cancel: &CancelToken) -> bool {
    let end = Instant::now() + wait;
    loop {
        if cancel.is_cancelled() {
            return false;
        }
        let now = Instant::now();
        if now >= end {
            return true;
        }
        thread::sleep((end - now).min(POLL));
    }
}

fn is_loopback(url: &Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// An error and its causes on one line (reqwest's own text names the URL,
/// which the caller's error already carries).
fn describe(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    if (text.contains("timed out") || text.contains("Timeout")) && !text.starts_with("timed out") {
        text = format!("timed out: {text}");
    }
    text
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(stream: &str) -> (SseState, Vec<String>, Result<(), String>) {
        let mut sse = SseState::default();
        let mut pieces = Vec::new();
        let cancel = CancelToken::new();
        let result = sse.feed(
            stream.as_bytes(),
            &mut |p| pieces.push(p.to_string()),
            &cancel,
        );
        (sse, pieces, result)
    }

    #[test]
    fn sse_parser_handles_comments_events_crlf_and_done() {
        let stream = ": ping\r\nevent: message\r\ndata: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\r\n\r\n\
                      data:{\"choices\":[{\"delta\":{\"content\":\"b\"},\"finish_reason\":\"length\"}]}\n\n\
                      data: {\"choices\":[],\"usage\":{\"prompt_tokens\":4,\"completion_tokens\":2}}\n\n\
                      data: [DONE]\n\ndata: {\"choices\":[{\"delta\":{\"content\":\"after\"}}]}\n\n";
        let (sse, pieces, result) = parse(stream);
        assert_eq!(result, Ok(()));
        assert_eq!(pieces, vec!["a", "b"]);
        assert!(sse.done);
        assert_eq!(sse.finish.as_deref(), Some("length"));
        let usage = sse.usage.expect("usage was streamed");
        assert_eq!((usage.prompt_tokens, usage.completion_tokens), (4, 2));
    }

    #[test]
    fn sse_parser_joins_lines_split_across_reads() {
        let mut sse = SseState::default();
        let mut pieces = Vec::new();
        let cancel = CancelToken::new();
        let line = "data: {\"choices\":[{\"delta\":{\"content\":\"é\"}}]}\n".as_bytes();
        for byte in line.chunks(1) {
            let fed = sse.feed(byte, &mut |p| pieces.push(p.to_string()), &cancel);
            assert_eq!(fed, Ok(()));
        }
        assert_eq!(pieces, vec!["é"]);
    }

    #[test]
    fn sse_parser_rejects_bad_json_and_stream_errors() {
        assert!(parse("data: {nope\n").2.is_err());
        let (_, _, result) = parse("data: {\"error\":{\"message\":\"overloaded\"}}\n");
        assert!(result.is_err_and(|e| e.contains("overloaded")));
    }

    #[test]
    fn sse_parser_stops_after_cancellation() {
        let mut sse = SseState::default();
        let cancel = CancelToken::new();
        let mut pieces = Vec::new();
        let stream = "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\
                      data: {\"choices\":[{\"delta\":{\"content\":\"b\"}}]}\n";
        let fed = sse.feed(
            stream.as_bytes(),
            &mut |p| {
                pieces.push(p.to_string());
                cancel.cancel();
            },
            &cancel,
        );
        assert_eq!(fed, Ok(()));
        assert_eq!(pieces, vec!["a"]);
        assert_eq!(sse.text, "a");
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(backoff(500, 0), Duration::from_millis(500));
        assert_eq!(backoff(500, 3), Duration::from_millis(4000));
        assert_eq!(backoff(500, 10), MAX_BACKOFF);
        assert_eq!(backoff(u64::MAX, 200), MAX_BACKOFF);
    }

    #[test]
    fn retry_after_is_parsed_and_capped() {
        assert_eq!(parse_retry_after(" 2 "), Some(Duration::from_secs(2)));
        assert_eq!(parse_retry_after("0.5"), Some(Duration::from_millis(500)));
        assert_eq!(parse_retry_after("3600"), Some(MAX_BACKOFF));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(parse_retry_after("-1"), None);
    }

    #[test]
    fn finish_reasons_map() {
        assert_eq!(finish_reason(Some("length")), FinishReason::Length);
        assert_eq!(finish_reason(Some("stop")), FinishReason::Stop);
        assert_eq!(finish_reason(None), FinishReason::Stop);
    }

    #[test]
    fn usage_counts_saturate_and_accept_null() {
        let usage: Usage =
            serde_json::from_str(r#"{"prompt_tokens":null,"completion_tokens":99999999999}"#)
                .expect("usage parses");
        assert_eq!(
            (usage.prompt_tokens, usage.completion_tokens),
            (0, u32::MAX)
        );
    }

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
