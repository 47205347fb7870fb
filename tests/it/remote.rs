//! The OpenAI-compatible backend against the scripted stub server.

use std::time::{Duration, Instant};

use llm4sweat::inference::remote::{RemoteBackend, RemoteConfig};
use llm4sweat::inference::{
    Backend, ChatMessage, FinishReason, GenerationOutput, GenerationRequest, InferenceError, Role,
    SamplingParams, sha256_hex,
};
use llm4sweat::progress::CancelToken;

use crate::stub_server::{Reply, StubServer};

/// A config for `server` with small timeouts and backoffs.
fn config(server: &StubServer, stream: bool) -> RemoteConfig {
    RemoteConfig {
        base_url: server.base_url(),
        model: "stub-model".to_string(),
        api_key_env: None,
        request_timeout_s: 10,
        idle_timeout_s: 1,
        max_retries: 2,
        initial_backoff_ms: 10,
        stream,
        concurrency: 1,
    }
}

fn backend(config: RemoteConfig) -> RemoteBackend {
    RemoteBackend::new(config).expect("the backend is created")
}

fn request() -> GenerationRequest {
    GenerationRequest {
        messages: vec![
            ChatMessage::new(Role::System, "You answer briefly."),
            ChatMessage::new(Role::User, "Does iontophoresis help palmar hyperhidrosis?"),
        ],
        params: SamplingParams {
            temperature: 0.25,
            top_p: 0.5,
            max_tokens: 64,
            seed: 7,
            ..SamplingParams::default()
        },
        format: None,
    }
}

/// Runs one generation, returning its result, the streamed pieces and how
/// long it took.
fn run(
    backend: &RemoteBackend,
    cancel: &CancelToken,
) -> (
    Result<GenerationOutput, InferenceError>,
    Vec<String>,
    Duration,
) {
    let started = Instant::now();
    let mut pieces = Vec::new();
    let result = backend.generate(&request(), &mut |p| pieces.push(p.to_string()), cancel);
    (result, pieces, started.elapsed())
}

fn completion(content: &str, finish: &str) -> String {
    serde_json::json!({
        "id": "cmpl-1",
        "object": "chat.completion",
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": content},
            "finish_reason": finish
        }],
        "usage": {"prompt_tokens": 11, "completion_tokens": 3, "total_tokens": 14}
    })
    .to_string()
}

fn delta(content: &str) -> String {
    serde_json::json!({"choices": [{"index": 0, "delta": {"content": content}, "finish_reason": null}]})
        .to_string()
}

fn finish(reason: &str) -> String {
    serde_json::json!({"choices": [{"index": 0, "delta": {}, "finish_reason": reason}]}).to_string()
}

/// A variable name no other test (or the environment) uses.
fn unique_env_var(tag: &str) -> String {
    format!("LLM4SWEAT_TEST_KEY_{tag}_{}", std::process::id())
}

#[test]
fn non_streamed_answer_is_parsed_and_request_is_well_formed() {
    let server = StubServer::start(vec![Reply::json(200, completion("Yes, often.", "stop"))]);
    let backend = backend(config(&server, false));
    let (result, pieces, _) = run(&backend, &CancelToken::new());

    let output = result.expect("a successful answer");
    assert_eq!(output.text, "Yes, often.");
    assert_eq!((output.prompt_tokens, output.completion_tokens), (11, 3));
    assert_eq!(output.finish_reason, FinishReason::Stop);
    assert_eq!(
        output.template_hash,
        sha256_hex(b"openai-chat-completions:stub-model")
    );
    assert_eq!(pieces, vec!["Yes, often."]);

    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let sent = &requests[0];
    assert_eq!(sent.method, "POST");
    assert_eq!(sent.path, "/v1/chat/completions");
    assert_eq!(sent.header("authorization"), None, "no key was configured");
    let body = sent.json();
    assert_eq!(body["model"], "stub-model");
    assert_eq!(body["messages"][0]["role"], "system");
    assert_eq!(body["messages"][1]["role"], "user");
    assert_eq!(
        body["messages"][1]["content"],
        "Does iontophoresis help palmar hyperhidrosis?"
    );
    assert_eq!(body["seed"], 7);
    assert_eq!(body["temperature"], 0.25);
    assert_eq!(body["top_p"], 0.5);
    assert_eq!(body["max_tokens"], 64);
    assert_eq!(body["stream"], false);
    assert!(body.get("stream_options").is_none());
    for local_only in ["top_k", "min_p", "repeat_penalty", "repeat_last_n"] {
        assert!(
            body.get(local_only).is_none(),
            "{local_only} must not be sent"
        );
    }
}

#[test]
fn api_key_from_env_is_sent_as_bearer_token() {
    let var = unique_env_var("BEARER");
    // SAFETY: the variable name is unique to this test; std serialises its
    // own environment accesses.
    unsafe { std::env::set_var(&var, "  sk-bearer-0123456789\n") };
    let server = StubServer::start(vec![Reply::json(200, completion("ok", "stop"))]);
    let mut config = config(&server, false);
    config.api_key_env = Some(var);
    let (result, _, _) = run(&backend(config), &CancelToken::new());

    assert!(result.is_ok(), "{result:?}");
    let requests = server.requests();
    assert_eq!(
        requests[0].header("authorization"),
        Some("Bearer sk-bearer-0123456789")
    );
}

#[test]
fn missing_api_key_is_reported() {
    let var = unique_env_var("MISSING");
    let server = StubServer::start(vec![]);
    let mut config = config(&server, false);
    config.api_key_env = Some(var.clone());
    match RemoteBackend::new(config) {
        Err(InferenceError::MissingApiKey { env_var, .. }) => assert_eq!(env_var, var),
        other => panic!("expected MissingApiKey, got {other:?}"),
    }
    assert_eq!(server.request_count(), 0);
}

#[test]
fn streamed_answer_arrives_in_order_with_usage() {
    let usage = r#"{"choices":[],"usage":{"prompt_tokens":21,"completion_tokens":4}}"#;
    let role = r#"{"choices":[{"index":0,"delta":{"role":"assistant"},"finish_reason":null}]}"#;
    let server = StubServer::start(vec![Reply::stream(&[
        ": keep-alive comment\n\n",
        "event: message\r\n",
        &format!("data: {role}\r\n\r\n"),
        &format!("data: {}\n\n", delta("Hel")),
        // Two events in one chunk, the second split across chunks.
        &format!("data: {}\n\ndata: {}", delta("lo"), &delta(" wor")[..10]),
        &format!("{}\n\n", &delta(" wor")[10..]),
        &format!("data: {}\n\n", delta("ld")),
        &format!("data: {}\n\n", finish("length")),
        &format!("data: {usage}\n\n"),
        "data: [DONE]\n\n",
    ])]);
    let (result, pieces, _) = run(&backend(config(&server, true)), &CancelToken::new());

    let output = result.expect("a streamed answer");
    assert_eq!(pieces, vec!["Hel", "lo", " wor", "ld"]);
    assert_eq!(output.text, "Hello world");
    assert_eq!((output.prompt_tokens, output.completion_tokens), (21, 4));
    assert_eq!(output.finish_reason, FinishReason::Length);
    assert!(output.prompt_ms >= 0.0 && output.generation_ms >= 0.0);

    let body = server.requests()[0].json();
    assert_eq!(body["stream"], true);
    assert_eq!(body["stream_options"]["include_usage"], true);
}

#[test]
fn stream_with_finish_reason_but_no_done_is_accepted_and_chunks_are_counted() {
    let server = StubServer::start(vec![Reply::sse(&[
        &delta("a"),
        &delta("b"),
        &delta("c"),
        &finish("stop"),
    ])]);
    let (result, pieces, _) = run(&backend(config(&server, true)), &CancelToken::new());

    let output = result.expect("a complete answer without [DONE]");
    assert_eq!(pieces, vec!["a", "b", "c"]);
    assert_eq!(output.text, "abc");
    assert_eq!(output.finish_reason, FinishReason::Stop);
    assert_eq!(
        (output.prompt_tokens, output.completion_tokens),
        (0, 3),
        "without usage, streamed chunks are counted"
    );
}

#[test]
fn json_answer_to_a_streamed_request_is_accepted() {
    let server = StubServer::start(vec![Reply::json(200, completion("whole", "stop"))]);
    let (result, pieces, _) = run(&backend(config(&server, true)), &CancelToken::new());
    let output = result.expect("a JSON answer");
    assert_eq!(output.text, "whole");
    assert_eq!(pieces, vec!["whole"]);
}

#[test]
fn rate_limited_request_is_retried_after_retry_after() {
    let server = StubServer::start(vec![
        Reply::json(429, r#"{"error":"slow down"}"#).header("Retry-After", "1"),
        Reply::json(200, completion("after the wait", "stop")),
    ]);
    let (result, _, elapsed) = run(&backend(config(&server, false)), &CancelToken::new());

    assert_eq!(result.expect("the retry succeeds").text, "after the wait");
    assert_eq!(server.request_count(), 2);
    assert!(
        elapsed >= Duration::from_millis(900),
        "Retry-After: 1 was not honoured ({elapsed:?})"
    );
}

#[test]
fn persistent_server_error_gives_http_error_after_all_retries() {
    let long_body = "x".repeat(2000);
    let server = StubServer::start(vec![
        Reply::text(500, long_body.clone()),
        Reply::text(503, long_body.clone()),
        Reply::text(500, long_body),
        Reply::json(200, completion("too late", "stop")),
    ]);
    let mut config = config(&server, true);
    config.max_retries = 2;
    let (result, pieces, elapsed) = run(&backend(config), &CancelToken::new());

    match result {
        Err(InferenceError::Http { status, body, .. }) => {
            assert_eq!(status, 500);
            assert_eq!(body.chars().count(), 500, "the body is cut to 500 chars");
        }
        other => panic!("expected an HTTP error, got {other:?}"),
    }
    assert!(pieces.is_empty());
    assert_eq!(server.request_count(), 3, "max_retries + 1 attempts");
    assert!(
        elapsed < Duration::from_secs(5),
        "backoff too slow: {elapsed:?}"
    );
}

#[test]
fn client_error_is_not_retried() {
    let server = StubServer::start(vec![
        Reply::json(400, r#"{"error":{"message":"unknown field top_k"}}"#),
        Reply::json(200, completion("should not be fetched", "stop")),
    ]);
    let (result, _, _) = run(&backend(config(&server, false)), &CancelToken::new());

    match result {
        Err(InferenceError::Http { status, body, .. }) => {
            assert_eq!(status, 400);
            assert!(body.contains("unknown field top_k"), "{body}");
        }
        other => panic!("expected HTTP 400, got {other:?}"),
    }
    assert_eq!(server.request_count(), 1);
}

#[test]
fn stream_that_stalls_after_headers_times_out() {
    let server = StubServer::start(vec![Reply::stall_after_headers(Duration::from_secs(20))]);
    let mut config = config(&server, true);
    config.request_timeout_s = 30;
    config.idle_timeout_s = 1;
    let (result, _, elapsed) = run(&backend(config), &CancelToken::new());

    match result {
        Err(InferenceError::Transport { reason, .. }) => {
            assert!(reason.contains("timed out"), "{reason}");
        }
        other => panic!("expected a transport timeout, got {other:?}"),
    }
    assert!(elapsed < Duration::from_secs(4), "took {elapsed:?}");
}

#[test]
fn slow_trickle_is_bounded_by_the_request_timeout() {
    // Each piece comes within the idle timeout, but the whole takes too long.
    let pieces: Vec<String> = (0..40)
        .map(|i| format!("data: {}\n\n", delta(&i.to_string())))
        .collect();
    let refs: Vec<&str> = pieces.iter().map(String::as_str).collect();
    let server = StubServer::start(vec![
        Reply::stream(&refs).delay_between_pieces(Duration::from_millis(100)),
    ]);
    let mut config = config(&server, true);
    config.request_timeout_s = 1;
    config.idle_timeout_s = 1;
    let (result, streamed, elapsed) = run(&backend(config), &CancelToken::new());

    match result {
        Err(InferenceError::Transport { reason, .. }) => {
            assert!(reason.contains("timed out"), "{reason}");
        }
        other => panic!("expected a transport timeout, got {other:?}"),
    }
    assert!(
        !streamed.is_empty(),
        "some pieces arrived before the deadline"
    );
    assert!(elapsed < Duration::from_secs(3), "took {elapsed:?}");
}

#[test]
fn silent_server_is_bounded_by_the_request_timeout() {
    let server = StubServer::start(vec![Reply::silent(Duration::from_secs(20))]);
    let mut config = config(&server, false);
    config.request_timeout_s = 1;
    let (result, _, elapsed) = run(&backend(config), &CancelToken::new());

    match result {
        Err(InferenceError::Transport { reason, .. }) => {
            assert!(reason.contains("timed out"), "{reason}");
        }
        other => panic!("expected a transport timeout, got {other:?}"),
    }
    assert!(elapsed < Duration::from_secs(4), "took {elapsed:?}");
}

#[test]
fn refused_connection_is_a_transport_error() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("address").port()
    };
    let config = RemoteConfig {
        base_url: format!("http://127.0.0.1:{port}/v1"),
        model: "m".to_string(),
        max_retries: 3,
        initial_backoff_ms: 10,
        ..RemoteConfig::default()
    };
    let (result, _, elapsed) = run(&backend(config), &CancelToken::new());
    assert!(
        matches!(result, Err(InferenceError::Transport { .. })),
        "{result:?}"
    );
    assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
}

#[test]
fn malformed_json_body_is_a_protocol_error() {
    let server = StubServer::start(vec![
        Reply::json(200, r#"{"choices": [ {"message": "#),
        Reply::json(200, r#"{"choices": []}"#),
    ]);
    let backend = backend(config(&server, false));
    for _ in 0..2 {
        let (result, _, _) = run(&backend, &CancelToken::new());
        assert!(
            matches!(result, Err(InferenceError::Protocol { .. })),
            "{result:?}"
        );
    }
    assert_eq!(server.request_count(), 2);
}

#[test]
fn malformed_stream_event_is_a_protocol_error() {
    let server = StubServer::start(vec![Reply::sse(&[
        &delta("fine"),
        r#"{"choices": [ {"delta": "#,
        &finish("stop"),
    ])]);
    let (result, pieces, _) = run(&backend(config(&server, true)), &CancelToken::new());
    assert!(
        matches!(result, Err(InferenceError::Protocol { .. })),
        "{result:?}"
    );
    assert_eq!(pieces, vec!["fine"]);
}

#[test]
fn truncated_stream_is_a_protocol_error() {
    for reply in [
        Reply::sse(&[&delta("half"), &delta(" an answ")]).close_mid_stream(),
        Reply::sse(&[&delta("half"), &delta(" an answ")]).until_close(),
    ] {
        let server = StubServer::start(vec![reply]);
        let (result, pieces, _) = run(&backend(config(&server, true)), &CancelToken::new());
        match result {
            Err(InferenceError::Protocol { reason, .. }) => assert!(
                reason.contains("stream ended before the answer was complete"),
                "{reason}"
            ),
            other => panic!("expected a protocol error, got {other:?}"),
        }
        assert_eq!(pieces, vec!["half", " an answ"]);
    }
}

#[test]
fn cancellation_mid_stream_keeps_the_partial_text() {
    let server = StubServer::start(vec![
        Reply::sse(&[
            &delta("Hel"),
            &delta("lo"),
            &delta(" there"),
            &finish("stop"),
        ])
        .delay_between_pieces(Duration::from_secs(3)),
    ]);
    let backend = backend(config(&server, true));
    let cancel = CancelToken::new();
    let started = Instant::now();
    let mut pieces = Vec::new();
    let result = backend.generate(
        &request(),
        &mut |p| {
            pieces.push(p.to_string());
            cancel.cancel();
        },
        &cancel,
    );

    let output = result.expect("a cancelled generation is not an error");
    assert_eq!(output.finish_reason, FinishReason::Cancelled);
    assert_eq!(output.text, "Hel");
    assert_eq!(pieces, vec!["Hel"]);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "cancellation waited for the server ({:?})",
        started.elapsed()
    );
}

#[test]
fn cancellation_while_the_server_is_silent_is_prompt() {
    let server = StubServer::start(vec![Reply::stall_after_headers(Duration::from_secs(20))]);
    let mut config = config(&server, true);
    config.idle_timeout_s = 20;
    let backend = backend(config);
    let cancel = CancelToken::new();
    let canceller = {
        let cancel = cancel.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            cancel.cancel();
        })
    };
    let (result, _, elapsed) = run(&backend, &cancel);
    canceller.join().expect("the canceller thread ends");

    let output = result.expect("a cancelled generation is not an error");
    assert_eq!(output.finish_reason, FinishReason::Cancelled);
    assert_eq!(output.text, "");
    assert!(elapsed < Duration::from_secs(2), "took {elapsed:?}");
}

#[test]
fn batch_runs_in_order_and_reports_each_request() {
    let server = StubServer::start(vec![
        Reply::sse(&[&delta("first"), &finish("stop"), "[DONE]"]),
        Reply::json(500, "{}"),
        Reply::sse(&[&delta("second"), &finish("stop"), "[DONE]"]),
    ]);
    let backend = backend(config(&server, true));
    assert_eq!(backend.parallelism(), 1);
    let mut tokens = Vec::new();
    let mut done = Vec::new();
    backend.generate_batch(
        &[request(), request()],
        &mut |i, p| tokens.push((i, p.to_string())),
        &mut |i, r| done.push((i, r.map(|o| o.text).map_err(|e| e.to_string()))),
        &CancelToken::new(),
    );
    assert_eq!(
        tokens,
        vec![(0, "first".to_string()), (1, "second".to_string())]
    );
    assert_eq!(
        done,
        vec![(0, Ok("first".to_string())), (1, Ok("second".to_string()))]
    );
    assert_eq!(server.request_count(), 3);
}

#[test]
fn cancelled_batch_ends_every_request_without_contacting_the_server() {
    let server = StubServer::start(vec![]);
    let backend = backend(config(&server, true));
    let cancel = CancelToken::new();
    cancel.cancel();
    let mut reasons = Vec::new();
    backend.generate_batch(
        &[request(), request()],
        &mut |_, _| {},
        &mut |i, r| reasons.push((i, r.map(|o| o.finish_reason).ok())),
        &cancel,
    );
    assert_eq!(
        reasons,
        vec![
            (0, Some(FinishReason::Cancelled)),
            (1, Some(FinishReason::Cancelled))
        ]
    );
    assert_eq!(server.request_count(), 0);
}

#[test]
fn api_key_never_leaks_into_debug_or_errors() {
    let key = "sk-secret-ABCDEF0123456789";
    let var = unique_env_var("LEAK");
    // SAFETY: the variable name is unique to this test; std serialises its
    // own environment accesses.
    unsafe { std::env::set_var(&var, key) };
    let server = StubServer::start(vec![
        Reply::json(401, r#"{"error":{"message":"invalid api key"}}"#),
        // A careless server that echoes the header it received.
        Reply::text(401, format!("rejected Authorization: Bearer {key}")),
    ]);
    let mut config = config(&server, false);
    config.api_key_env = Some(var.clone());
    let backend = backend(config);

    let debug = format!("{backend:?}");
    assert!(!debug.contains(key), "{debug}");
    assert!(debug.contains("redacted"), "{debug}");

    for _ in 0..2 {
        let (result, _, _) = run(&backend, &CancelToken::new());
        let error = result.expect_err("HTTP 401 is an error");
        assert!(
            matches!(error, InferenceError::Http { status: 401, .. }),
            "{error:?}"
        );
        assert!(!error.to_string().contains(key), "{error}");
        assert!(!format!("{error:?}").contains(key), "{error:?}");
    }
    let requests = server.requests();
    assert_eq!(requests.len(), 2, "401 is not retried");
    assert_eq!(
        requests[0].header("authorization"),
        Some(format!("Bearer {key}").as_str()),
        "the key was really sent"
    );
}

/// Every field of every tracing event, as `level message field=value ...`
/// lines; spans are not used by the client and are ignored.
#[derive(Clone, Default)]
struct LogCapture(std::sync::Arc<std::sync::Mutex<Vec<String>>>);

impl LogCapture {
    fn lines(&self) -> Vec<String> {
        self.0.lock().expect("log lock").clone()
    }
}

impl tracing::field::Visit for LogCapture {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        let mut lines = self.0.lock().expect("log lock");
        if let Some(line) = lines.last_mut() {
            line.push_str(&format!(" {}={value:?}", field.name()));
        }
    }
}

impl tracing::Subscriber for LogCapture {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        self.0
            .lock()
            .expect("log lock")
            .push(event.metadata().level().to_string());
        event.record(&mut self.clone());
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

/// Each attempt is logged (URL, model, attempt, status, elapsed time), retries
/// and the give-up as warnings, and no logged field holds the key, even when
/// the server echoes it.
#[test]
fn attempts_are_logged_without_the_api_key() {
    let key = "sk-secret-LOG0123456789";
    let var = unique_env_var("LOG");
    // SAFETY: the variable name is unique to this test; std serialises its
    // own environment accesses.
    unsafe { std::env::set_var(&var, key) };
    let echo = format!("rejected Authorization: Bearer {key}");
    let server = StubServer::start(vec![
        Reply::text(503, echo.clone()),
        Reply::text(500, echo.clone()),
        Reply::text(503, echo.clone()),
        Reply::text(401, echo),
    ]);
    let mut config = config(&server, true);
    config.api_key_env = Some(var);
    let backend = backend(config);

    let capture = LogCapture::default();
    tracing::subscriber::with_default(capture.clone(), || {
        let (result, _, _) = run(&backend, &CancelToken::new());
        assert!(matches!(
            result,
            Err(InferenceError::Http { status: 503, .. })
        ));
        let (result, _, _) = run(&backend, &CancelToken::new());
        assert!(matches!(
            result,
            Err(InferenceError::Http { status: 401, .. })
        ));
    });

    let lines = capture.lines();
    let text = lines.join("\n");
    assert!(!text.contains(key), "{text}");
    assert!(!text.to_lowercase().contains("bearer"), "{text}");
    assert!(!text.to_lowercase().contains("authorization"), "{text}");
    let attempts: Vec<&String> = lines
        .iter()
        .filter(|l| l.starts_with("DEBUG") && l.contains("remote request attempt"))
        .collect();
    assert_eq!(attempts.len(), 4, "{text}");
    for (line, (attempt, status)) in attempts
        .iter()
        .zip([(1, 503), (2, 500), (3, 503), (1, 401)])
    {
        assert!(line.contains(&format!(" attempt={attempt}")), "{line}");
        assert!(line.contains(&format!(" status={status}")), "{line}");
        assert!(line.contains(" model=stub-model"), "{line}");
        assert!(
            line.contains(&format!(" url={}/chat/completions", server.base_url())),
            "{line}"
        );
        assert!(line.contains(" elapsed_ms="), "{line}");
    }
    let warnings: Vec<&String> = lines.iter().filter(|l| l.starts_with("WARN")).collect();
    assert_eq!(warnings.len(), 3, "two retries and one give-up: {text}");
    assert!(
        warnings[..2].iter().all(|l| l.contains("retrying")),
        "{text}"
    );
    assert!(
        warnings[2].contains("giving up") && warnings[2].contains(" attempt=3"),
        "{text}"
    );
}

/// A batch keeps `concurrency` requests in flight at once, reports every
/// answer under its own index, and streams each answer's pieces in order.
#[test]
fn a_batch_sends_requests_concurrently() {
    let pieces = [
        delta("Hands "),
        delta("sweat."),
        finish("stop"),
        "[DONE]".to_string(),
    ];
    let refs: Vec<&str> = pieces.iter().map(String::as_str).collect();
    let replies = (0..6)
        .map(|_| Reply::sse(&refs).delay_between_pieces(Duration::from_millis(150)))
        .collect();
    let server = StubServer::start(replies);
    let backend = backend(RemoteConfig {
        concurrency: 3,
        ..config(&server, true)
    });
    let requests = vec![request(); 6];
    let mut streamed = vec![String::new(); 6];
    let mut done: Vec<Option<Result<String, String>>> = vec![None; 6];
    backend.generate_batch(
        &requests,
        &mut |i, p| streamed[i].push_str(p),
        &mut |i, r| done[i] = Some(r.map(|o| o.text).map_err(|e| e.to_string())),
        &CancelToken::new(),
    );
    for (i, (answer, stream)) in done.iter().zip(&streamed).enumerate() {
        assert_eq!(answer, &Some(Ok("Hands sweat.".to_string())), "answer {i}");
        assert_eq!(stream, "Hands sweat.", "stream {i}");
    }
    assert_eq!(server.request_count(), 6);
    assert_eq!(
        server.peak_concurrency(),
        3,
        "three requests in flight at once"
    );
}
