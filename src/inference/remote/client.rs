//! The HTTP exchange behind [`RemoteBackend`]: one request with retries and
//! backoff, run on a helper thread under the request and idle timeouts, and
//! the reading of a streamed or a plain JSON answer.

use std::io::Read;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::thread;
use std::time::{Duration, Instant};

use reqwest::blocking::{Client, Request};
use reqwest::header::{ACCEPT, CONTENT_TYPE, RETRY_AFTER};
use reqwest::{StatusCode, Url};

use super::sse::SseState;
use super::wire::{ChatBody, ChatResponse, StreamOptions, WireMessage, finish_reason};
use super::{ERROR_BODY_CHARS, RemoteBackend};
use crate::inference::{FinishReason, GenerationOutput, GenerationRequest, InferenceError};
use crate::progress::CancelToken;

/// Upper bound of one wait between retries, whatever `Retry-After` says.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// How much of an error body is read at most.
const ERROR_BODY_BYTES: usize = 64 * 1024;
/// Largest non-streamed answer accepted.
const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;
/// How often a waiting thread looks at the cancel token.
const POLL: Duration = Duration::from_millis(50);
/// Extra time given to reqwest's own deadline so that ours always fires first.
pub(super) const HELPER_GRACE: Duration = Duration::from_secs(5);
/// Pieces of body buffered between the helper thread and the caller.
const CHANNEL_DEPTH: usize = 64;
/// Size of one read from the response body.
const READ_CHUNK: usize = 16 * 1024;

impl RemoteBackend {
    /// Runs one request with retries; every error is scrubbed of the key.
    pub(super) fn generate_one(
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
        let log = AttemptLog::new(&self.endpoint, &self.config.model);
        let mut retry = 0u32;
        loop {
            let number = retry + 1;
            let started = Instant::now();
            let mut status = None;
            let outcome = self.attempt(&body, &mut status, on_token, cancel);
            log.finished(number, status, started.elapsed());
            match outcome? {
                Attempt::Done(output) => return Ok(output),
                Attempt::Retryable {
                    status,
                    body: error_body,
                    retry_after,
                } => {
                    if retry >= self.config.max_retries {
                        log.giving_up(number, status);
                        return Err(InferenceError::Http {
                            url: self.endpoint.clone(),
                            status,
                            body: error_body,
                        });
                    }
                    let wait = retry_after
                        .unwrap_or_else(|| backoff(self.config.initial_backoff_ms, retry))
                        .min(MAX_BACKOFF);
                    log.retrying(number, status, wait);
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
            response_format: request.format.as_ref().map(super::wire::response_format),
        };
        serde_json::to_vec(&body).map_err(|e| InferenceError::Protocol {
            url: self.endpoint.clone(),
            reason: format!("could not encode the request: {e}"),
        })
    }

    /// One HTTP exchange; `status` receives the response status once the
    /// headers have arrived.
    fn attempt(
        &self,
        body: &[u8],
        status: &mut Option<u16>,
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
            Waited::Event(Event::Head(head)) => {
                *status = Some(head.status.as_u16());
                head
            }
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

/// What the log says about the attempts of one request.
///
/// Built from the endpoint and the model name only: it takes no headers, no
/// request and no key, so no log event can carry the API key (which travels
/// only in the client's default `Authorization` header). A user name, password
/// or query string in the endpoint is dropped too, in case one holds a secret.
#[derive(Debug)]
struct AttemptLog {
    url: String,
    model: String,
}

impl AttemptLog {
    fn new(endpoint: &str, model: &str) -> Self {
        let url = match Url::parse(endpoint) {
            Ok(mut url) => {
                // Both fail only for URLs that cannot have credentials.
                let _ = url.set_username("");
                let _ = url.set_password(None);
                url.set_query(None);
                url.set_fragment(None);
                url.to_string()
            }
            Err(_) => "<invalid URL>".to_string(),
        };
        Self {
            url,
            model: model.to_owned(),
        }
    }

    /// Attempt `attempt` (1 for the first) ended after `elapsed`, with the
    /// response `status` if headers arrived.
    fn finished(&self, attempt: u32, status: Option<u16>, elapsed: Duration) {
        tracing::debug!(
            url = %self.url,
            model = %self.model,
            attempt,
            status,
            elapsed_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
            "remote request attempt"
        );
    }

    /// Attempt `attempt` got a retryable `status`; the next one follows `wait`.
    fn retrying(&self, attempt: u32, status: u16, wait: Duration) {
        tracing::warn!(
            url = %self.url,
            model = %self.model,
            attempt,
            status,
            wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
            "remote request failed; retrying"
        );
    }

    /// Attempt `attempt`, the last one allowed, got a retryable `status`.
    fn giving_up(&self, attempt: u32, status: u16) {
        tracing::warn!(
            url = %self.url,
            model = %self.model,
            attempt,
            status,
            "remote request failed; no retries left, giving up"
        );
    }
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

pub(super) fn is_loopback(url: &Url) -> bool {
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
pub(super) fn describe(error: &(dyn std::error::Error + 'static)) -> String {
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

    #[test]
    fn attempt_log_drops_credentials_from_the_url() {
        let log = AttemptLog::new(
            "https://user:sk-secret@api.example/v1/chat/completions?key=sk-secret#sk-secret",
            "gpt-x",
        );
        assert_eq!(log.url, "https://api.example/v1/chat/completions");
        assert_eq!(log.model, "gpt-x");
        assert!(!format!("{log:?}").contains("sk-secret"), "{log:?}");
        let plain = AttemptLog::new("http://127.0.0.1:8080/v1/chat/completions", "m");
        assert_eq!(plain.url, "http://127.0.0.1:8080/v1/chat/completions");
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
}
