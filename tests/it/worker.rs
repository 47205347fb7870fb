//! llama.cpp in a supervised engine process: an abort or a kill of the engine
//! becomes an error in this (parent) process, which lives on and answers the
//! next request with a fresh engine.

use std::path::{Path, PathBuf};

use llm4sweat::augment::schema::{item_schema, parse_item};
use llm4sweat::generate;
use llm4sweat::inference::local::EngineConfig;
use llm4sweat::inference::worker::{Launcher, WorkerEngine, set_launcher};
use llm4sweat::inference::{
    Backend, ChatMessage, FinishReason, GenerationRequest, InferenceError, OutputFormat, Role,
    SamplingParams,
};
use llm4sweat::progress::CancelToken;
use llm4sweat::store::Store;
use llm4sweat::vocab::ItemKind;

use crate::util::{Workspace, smollm2};

/// This test binary cannot serve engine processes: the CLI binary does.
fn use_cli_engine() {
    assert!(
        set_launcher(Launcher::program(env!("CARGO_BIN_EXE_llm4sweat"))),
        "another launcher was set first"
    );
}

fn config() -> EngineConfig {
    EngineConfig {
        threads: 2,
        n_parallel: 2,
        n_ctx_per_seq: 512,
        ..EngineConfig::default()
    }
}

fn request(max_tokens: u32) -> GenerationRequest {
    GenerationRequest {
        messages: vec![ChatMessage::new(
            Role::User,
            "Why do my hands sweat so much?",
        )],
        params: SamplingParams {
            max_tokens,
            ..SamplingParams::default()
        },
        format: None,
    }
}

/// A copy of the real model with the 32-bit integer value of `key` replaced:
/// a file whose header is sound but that llama.cpp asserts on.
fn patched_model(dir: &Path, key: &str, value: u32) -> PathBuf {
    let mut data = std::fs::read(smollm2()).expect("read model");
    let mut needle = (key.len() as u64).to_le_bytes().to_vec();
    needle.extend_from_slice(key.as_bytes());
    let at = data
        .windows(needle.len())
        .position(|w| w == needle.as_slice())
        .expect("key in the model");
    let ty = at + needle.len();
    assert_eq!(&data[ty..ty + 4], &4u32.to_le_bytes(), "{key} is a u32");
    data[ty + 4..ty + 8].copy_from_slice(&value.to_le_bytes());
    let path = dir.join(format!("{key}-{value}.gguf"));
    std::fs::write(&path, data).expect("write patched model");
    path
}

#[test]
fn an_engine_abort_is_an_error_and_the_next_request_gets_a_fresh_engine() {
    use_cli_engine();
    let ws = Workspace::new();
    let bad = patched_model(ws.dir.path(), "llama.block_count", 0);

    // llama.cpp aborts on this file; here it is an error naming the file,
    // the signal and llama.cpp's assertion.
    let err = WorkerEngine::load(&bad, config()).expect_err("llama.cpp aborts");
    let text = err.to_string();
    assert!(matches!(err, InferenceError::Load { .. }), "{err:?}");
    assert!(text.contains(&bad.display().to_string()), "{text}");
    assert!(text.contains("SIGABRT"), "{text}");
    assert!(text.contains("GGML_ASSERT"), "{text}");
    assert!(
        !text.contains("/root/"),
        "build paths are shortened: {text}"
    );

    // This process lives on, and the good model answers.
    let engine = WorkerEngine::load(&smollm2(), config()).expect("good model");
    let out = engine
        .generate(&request(8), &mut |_| {}, &CancelToken::new())
        .expect("answer");
    assert!(out.completion_tokens > 0);
    assert_ne!(engine.process_id(), Some(std::process::id()));
}

/// The files from the hostile-input trials, with the header check bypassed
/// (loaded straight into an engine process): each is an error here, never
/// the end of this process, and the good model still answers afterwards.
#[test]
fn every_crashing_file_is_an_error_with_the_header_check_bypassed() {
    use_cli_engine();
    let ws = Workspace::new();
    let tiny = ws.path("tiny.gguf");
    std::fs::write(&tiny, llm4sweat::testkit::tiny_llama_gguf()).expect("write");
    let sound = WorkerEngine::load(&tiny, config()).expect("the tiny model loads");
    drop(sound);
    let mut aborted = 0;
    for file in llm4sweat::testkit::crashing_ggufs() {
        let path = ws.path(&format!("{}.gguf", file.name.replace(' ', "-")));
        std::fs::write(&path, &file.bytes).expect("write");
        let err = WorkerEngine::load(&path, config()).expect_err(file.name);
        assert!(
            matches!(err, InferenceError::Load { .. }),
            "{}: {err:?}",
            file.name
        );
        let text = err.to_string();
        assert!(
            text.contains(&path.display().to_string()),
            "{}: {text}",
            file.name
        );
        if text.contains("SIGABRT") {
            aborted += 1;
        }
    }
    // All but the file without tensors abort llama.cpp (that one it refuses
    // cleanly).
    assert_eq!(aborted, 8, "llama.cpp aborts on the eight trial files");
    let engine = WorkerEngine::load(&smollm2(), config()).expect("good model");
    let out = engine
        .generate(&request(4), &mut |_| {}, &CancelToken::new())
        .expect("answer");
    assert!(out.completion_tokens > 0);
}

#[test]
fn a_killed_engine_ends_what_was_in_flight_and_is_restarted() {
    use_cli_engine();
    let engine = WorkerEngine::load(&smollm2(), config()).expect("load");
    let first = engine.process_id().expect("running");
    let requests = vec![request(400), request(400)];
    let mut results = Vec::new();
    let mut killed = false;
    engine.generate_batch(
        &requests,
        &mut |_, _| {
            if !killed {
                killed = true;
                let status = std::process::Command::new("kill")
                    .args(["-9", &first.to_string()])
                    .status()
                    .expect("kill");
                assert!(status.success());
            }
        },
        &mut |i, r| results.push((i, r)),
        &CancelToken::new(),
    );
    assert_eq!(results.len(), 2, "every request ends");
    for (_, r) in &results {
        let err = r.as_ref().expect_err("killed mid-answer");
        assert!(matches!(err, InferenceError::Crashed { .. }), "{err:?}");
        assert!(err.to_string().contains("SIGKILL"), "{err}");
    }
    assert_eq!(engine.process_id(), None, "the dead engine is forgotten");

    // The next request starts a fresh engine process.
    let out = engine
        .generate(&request(8), &mut |_| {}, &CancelToken::new())
        .expect("answer from a fresh engine");
    assert!(out.completion_tokens > 0);
    let second = engine.process_id().expect("running again");
    assert_ne!(second, first);

    // It stays warm: a second request uses the same process.
    engine
        .generate(&request(4), &mut |_| {}, &CancelToken::new())
        .expect("answer");
    assert_eq!(engine.process_id(), Some(second));
}

#[test]
fn cancel_reaches_the_engine_process() {
    use_cli_engine();
    let engine = WorkerEngine::load(&smollm2(), config()).expect("load");
    let cancel = CancelToken::new();
    let mut pieces = 0;
    let out = engine
        .generate(
            &request(450),
            &mut |_| {
                pieces += 1;
                cancel.cancel();
            },
            &cancel,
        )
        .expect("cancelled answer");
    assert_eq!(out.finish_reason, FinishReason::Cancelled);
    assert!(out.completion_tokens < 100, "{}", out.completion_tokens);
    assert!(pieces >= 1);
    // The engine is still usable afterwards.
    let again = engine
        .generate(&request(4), &mut |_| {}, &CancelToken::new())
        .expect("answer");
    assert_eq!(again.finish_reason, FinishReason::Length);
}

#[test]
fn dropping_the_engine_ends_its_process() {
    use_cli_engine();
    let engine = WorkerEngine::load(&smollm2(), config()).expect("load");
    let pid = engine.process_id().expect("running");
    assert!(Path::new(&format!("/proc/{pid}")).exists());
    drop(engine);
    // Reaped by the drop: no zombie, no process.
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "engine {pid} still there"
    );
}

#[test]
fn a_load_failure_is_remembered_with_the_model_until_it_loads() {
    use_cli_engine();
    let ws = Workspace::new().with_model();
    let mut store = Store::open(&ws.db()).expect("open");
    let model = store.models().expect("models").remove(0);
    assert_eq!(model.load_failure, None);

    let bad = patched_model(ws.dir.path(), "llama.block_count", 0);
    let failed = WorkerEngine::load(&bad, config()).map_err(generate::GenerateError::from);
    generate::note_load_result(&mut store, &model, &failed);
    let marked = store.model_by_name(&model.name).expect("model");
    let failure = marked.load_failure.clone().expect("marked");
    assert!(failure.reason.contains("SIGABRT"), "{}", failure.reason);
    // The CLI shows it.
    let listed = ws.ok(&["models", "list"]);
    assert!(listed.contains("LOAD FAILS"), "{listed}");
    assert!(listed.contains("GGML_ASSERT"), "{listed}");

    // A start clears the mark.
    let started = generate::open_backend(&marked, config());
    assert!(started.is_ok());
    generate::note_load_result(&mut store, &marked, &started);
    assert_eq!(
        store
            .model_by_name(&model.name)
            .expect("model")
            .load_failure,
        None
    );
}

/// The output format crosses the process boundary both ways: the engine
/// process gets the schema (its answer follows the grammar) and a schema it
/// cannot use comes back as a grammar error, not as a crash of the engine.
#[test]
fn a_json_schema_and_its_grammar_error_cross_the_process_boundary() {
    use_cli_engine();
    let engine = WorkerEngine::load(&smollm2(), config()).expect("load");
    let pid = engine.process_id().expect("running");
    let offered = vec!["f-1".to_owned(), "f-2".to_owned()];
    let mut good = request(200);
    good.messages = vec![ChatMessage::new(
        Role::User,
        "Write a question a patient with sweaty hands might ask and a short answer, as a JSON \
         object with the keys question, answer and used_facts (fact ids f-1 or f-2).",
    )];
    good.params.temperature = 0.0;
    good.format = Some(OutputFormat::JsonSchema {
        name: "synthetic_question".into(),
        schema: item_schema(ItemKind::Question, &offered),
    });
    let mut bad = good.clone();
    bad.format = Some(OutputFormat::JsonSchema {
        name: "broken_schema".into(),
        schema: serde_json::json!({"$ref": "#/definitions/nowhere"}),
    });
    let mut results = [None, None];
    engine.generate_batch(
        &[bad, good],
        &mut |_, _| {},
        &mut |i, r| results[i] = Some(r),
        &CancelToken::new(),
    );
    match &results[0] {
        Some(Err(InferenceError::Grammar { schema, .. })) => assert_eq!(schema, "broken_schema"),
        other => panic!("expected a grammar error, got {other:?}"),
    }
    let out = match &results[1] {
        Some(Ok(out)) => out,
        other => panic!("expected an answer, got {other:?}"),
    };
    assert_eq!(
        out.finish_reason,
        FinishReason::Stop,
        "greedy SmolLM2 closes the object here: {:?}",
        out.text
    );
    let item = parse_item(ItemKind::Question, &out.text)
        .unwrap_or_else(|e| panic!("{e:?} in {:?}", out.text));
    assert!(
        item.used_facts.iter().all(|id| offered.contains(id)),
        "{item:?}"
    );
    assert_eq!(engine.process_id(), Some(pid), "the engine did not restart");
}
