//! The llama.cpp engine on the real SmolLM2-135M-Instruct GGUF.

use llm4sweat::augment::schema::{item_schema, parse_item, schema_name};
use llm4sweat::gguf;
use llm4sweat::inference::local::{EngineConfig, LocalEngine, PromptFormat};
use llm4sweat::inference::{
    Backend, ChatMessage, FinishReason, GenerationOutput, GenerationRequest, InferenceError,
    OutputFormat, Role, SamplingParams,
};
use llm4sweat::progress::CancelToken;
use llm4sweat::vocab::ItemKind;

use crate::util::{gemma, smollm2};

fn engine(n_parallel: u32) -> LocalEngine {
    let cfg = EngineConfig {
        threads: 2,
        n_parallel,
        n_ctx_per_seq: 1024,
        ..EngineConfig::default()
    };
    LocalEngine::load(&smollm2(), cfg).expect("load model")
}

fn request(question: &str, seed: u32, max_tokens: u32) -> GenerationRequest {
    GenerationRequest {
        messages: vec![
            ChatMessage::new(Role::System, "You are a careful dermatology assistant."),
            ChatMessage::new(Role::User, question),
        ],
        params: SamplingParams {
            temperature: 0.8,
            seed,
            max_tokens,
            ..SamplingParams::default()
        },
        format: None,
    }
}

#[test]
fn rendered_prompt_matches_the_models_chatml_template() {
    let e = engine(1);
    let header = gguf::read_header(&smollm2()).expect("header");
    let PromptFormat::ModelTemplate(template) = &e.model_info().prompt_format else {
        panic!(
            "SmolLM2 has a chat template, got {:?}",
            e.model_info().prompt_format
        );
    };
    assert_eq!(
        Some(template.as_str()),
        header.chat_template.as_deref(),
        "llama.cpp and our reader disagree"
    );
    assert!(
        template.contains("<|im_start|>"),
        "expected ChatML, got {template}"
    );
    let prompt = e
        .render_prompt(&[
            ChatMessage::new(Role::System, "Be brief."),
            ChatMessage::new(Role::User, "Why do my palms sweat?"),
        ])
        .expect("render");
    assert_eq!(
        prompt,
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nWhy do my palms sweat?<|im_end|>\n<|im_start|>assistant\n"
    );
}

#[test]
fn fixed_seed_gives_the_identical_answer_twice_and_streams_it() {
    let e = engine(1);
    let req = request("Is botox safe for sweaty armpits?", 7, 40);
    let mut streamed = String::new();
    let a = e
        .generate(&req, &mut |p| streamed.push_str(p), &CancelToken::new())
        .expect("first");
    let b = e
        .generate(&req, &mut |_| {}, &CancelToken::new())
        .expect("second");
    assert!(!a.text.trim().is_empty());
    assert_eq!(a.text, b.text, "same seed must reproduce the answer");
    assert_eq!(
        streamed, a.text,
        "streamed pieces must add up to the answer"
    );
    assert_eq!(a.prompt_tokens, b.prompt_tokens);
    // A freshly loaded engine reproduces it too.
    drop(e);
    let c = engine(1)
        .generate(&req, &mut |_| {}, &CancelToken::new())
        .expect("third");
    assert_eq!(a.text, c.text);
    // And another seed gives another answer.
    let other = request("Is botox safe for sweaty armpits?", 8, 40);
    let d = engine(1)
        .generate(&other, &mut |_| {}, &CancelToken::new())
        .expect("fourth");
    assert_ne!(
        a.text, d.text,
        "a different seed should change a sampled answer"
    );
}

#[test]
fn batched_decoding_answers_every_request_and_matches_single_runs() {
    let batched = engine(3);
    let reqs: Vec<_> = [
        "Night sweats and weight loss, should I worry?",
        "Do iontophoresis machines hurt?",
        "How do I tell my boss?",
        "Best socks for sweaty feet?",
    ]
    .iter()
    .enumerate()
    .map(|(i, q)| request(q, 100 + i as u32, 24))
    .collect();
    let mut outs = vec![None; reqs.len()];
    let mut order = Vec::new();
    batched.generate_batch(
        &reqs,
        &mut |_, _| {},
        &mut |i, r| {
            order.push(i);
            outs[i] = Some(r.expect("answer"));
        },
        &CancelToken::new(),
    );
    assert_eq!(order.len(), 4, "every request finishes exactly once");
    let single = engine(1);
    for (i, req) in reqs.iter().enumerate() {
        let alone = single
            .generate(req, &mut |_| {}, &CancelToken::new())
            .expect("single");
        let together = outs[i].as_ref().expect("output");
        assert!(together.completion_tokens > 0);
        assert_eq!(
            together.text, alone.text,
            "request {i} differs between batched and single decoding"
        );
    }
}

#[test]
fn cancellation_stops_early_and_keeps_the_partial_text() {
    let e = engine(1);
    let cancel = CancelToken::new();
    let mut pieces = 0;
    let out = e
        .generate(
            &request("Tell me everything about hyperhidrosis.", 1, 200),
            &mut |_| {
                pieces += 1;
                if pieces == 5 {
                    cancel.cancel();
                }
            },
            &cancel,
        )
        .expect("cancelled generation");
    assert_eq!(out.finish_reason, FinishReason::Cancelled);
    assert!(
        out.completion_tokens < 20,
        "kept going for {} tokens",
        out.completion_tokens
    );
}

#[test]
fn an_oversized_prompt_is_a_clear_error_and_the_engine_survives() {
    let e = engine(1);
    let huge = "sweat ".repeat(5000);
    let err = e
        .generate(&request(&huge, 1, 16), &mut |_| {}, &CancelToken::new())
        .expect_err("too long");
    assert!(matches!(err, InferenceError::PromptTooLong { .. }), "{err}");
    let ok = e
        .generate(&request("Hi", 1, 8), &mut |_| {}, &CancelToken::new())
        .expect("still works");
    assert!(ok.completion_tokens > 0);
}

/// A base model without a chat template answers through the documented plain
/// fallback, and its answer ends where it starts inventing the next question.
#[test]
fn a_model_without_a_template_uses_the_plain_fallback_and_stops_at_the_next_question() {
    let cfg = EngineConfig {
        threads: 2,
        n_parallel: 1,
        ..EngineConfig::default()
    };
    let e = LocalEngine::load(&gemma(), cfg).expect("load gemma");
    assert_eq!(e.model_info().prompt_format, PromptFormat::PlainFallback);
    assert_eq!(
        gguf::read_header(&gemma()).expect("header").chat_template,
        None
    );
    let prompt = e
        .render_prompt(&[
            ChatMessage::new(Role::System, "Be brief."),
            ChatMessage::new(Role::User, "Why do palms sweat?"),
        ])
        .expect("render");
    assert_eq!(
        prompt,
        "Be brief.\n\nQuestion: Why do palms sweat?\nAnswer:"
    );
    let mut req = request("What helps with sweaty hands?", 3, 160);
    req.params.temperature = 0.0;
    let mut streamed = String::new();
    let out = e
        .generate(&req, &mut |p| streamed.push_str(p), &CancelToken::new())
        .expect("answer");
    assert!(
        !out.text
            .contains(llm4sweat::inference::local::FALLBACK_STOP),
        "{:?}",
        out.text
    );
    // The stream never shows the invented next question, not even briefly:
    // the pieces add up to exactly the stored answer.
    assert_eq!(streamed, out.text);
    assert!(out.completion_tokens > 0);
    assert_eq!(
        out.finish_reason,
        FinishReason::Stop,
        "greedy Gemma goes on to a next question here: {:?}",
        out.text
    );
}

/// Seed facts offered to the constrained requests: `(id, statement)`.
const FACTS: [(&str, &str); 3] = [
    (
        "tx-ionto-01",
        "Tap-water iontophoresis passes a mild electric current through water to reduce sweating of the palms and soles; it is done several times a week at first.",
    ),
    (
        "tx-alcl-01",
        "Aluminium chloride antiperspirants applied at night to dry skin are a usual first treatment for underarm sweating; skin irritation is the most common side effect.",
    ),
    (
        "psy-01",
        "Hyperhidrosis often causes embarrassment and social anxiety, and many people avoid handshakes or hide their hands.",
    ),
];

/// An augmentation-style request for one question item, constrained by the
/// item schema of the offered facts.
fn item_request(seed: u32) -> GenerationRequest {
    let offered: Vec<String> = FACTS.iter().map(|(id, _)| (*id).to_owned()).collect();
    let facts: String = FACTS
        .iter()
        .map(|(id, statement)| format!("[{id}] {statement}\n"))
        .collect();
    GenerationRequest {
        messages: vec![
            ChatMessage::new(
                Role::System,
                "You write short synthetic patient questions with answers, as JSON.",
            ),
            ChatMessage::new(
                Role::User,
                format!(
                    "Facts:\n{facts}\nWrite ONE short question a patient with sweaty hands might ask, \
                     and a short answer (two sentences) using only these facts. Return a single JSON \
                     object and nothing else, with exactly these keys: \"question\" (string), \
                     \"answer\" (string), \"used_facts\" (array of the fact ids you used, such as \
                     \"tx-ionto-01\")."
                ),
            ),
        ],
        params: SamplingParams {
            temperature: 0.8,
            seed,
            max_tokens: 384,
            ..SamplingParams::default()
        },
        format: Some(OutputFormat::JsonSchema {
            name: schema_name(ItemKind::Question).into(),
            schema: item_schema(ItemKind::Question, &offered),
        }),
    }
}

/// Runs `requests` as one batch and returns every result, by index.
fn run_batch(
    e: &LocalEngine,
    requests: &[GenerationRequest],
) -> Vec<Result<GenerationOutput, InferenceError>> {
    let mut results: Vec<Option<Result<GenerationOutput, InferenceError>>> =
        vec![None; requests.len()];
    e.generate_batch(
        requests,
        &mut |_, _| {},
        &mut |i, r| {
            assert!(results[i].is_none(), "request {i} finished twice");
            results[i] = Some(r);
        },
        &CancelToken::new(),
    );
    results
        .into_iter()
        .enumerate()
        .map(|(i, r)| r.unwrap_or_else(|| panic!("request {i} never finished")))
        .collect()
}

/// With the item schema as a grammar, even the 135M model writes only
/// parseable items that cite offered facts: every answer that ends by itself
/// parses strictly, and most do end by themselves.
#[test]
fn a_json_schema_grammar_makes_every_finished_answer_a_valid_item() {
    let e = engine(3);
    let requests: Vec<_> = (1..=5).map(item_request).collect();
    let offered: Vec<&str> = FACTS.iter().map(|(id, _)| *id).collect();
    let mut stopped = 0;
    for (i, result) in run_batch(&e, &requests).into_iter().enumerate() {
        let out = result.unwrap_or_else(|err| panic!("request {i}: {err}"));
        assert!(out.completion_tokens > 0, "request {i}");
        // Shown when the test fails.
        eprintln!("request {i}: {:?}, {:?}", out.finish_reason, out.text);
        if out.finish_reason != FinishReason::Stop {
            assert_eq!(out.finish_reason, FinishReason::Length, "request {i}");
            continue;
        }
        stopped += 1;
        let item = parse_item(ItemKind::Question, &out.text)
            .unwrap_or_else(|err| panic!("request {i}: {err:?} in {:?}", out.text));
        assert!(!item.used_facts.is_empty(), "request {i}: {:?}", out.text);
        for id in &item.used_facts {
            assert!(
                offered.contains(&id.as_str()),
                "request {i} cites {id}, which was not offered: {:?}",
                out.text
            );
        }
    }
    assert!(
        stopped >= 4,
        "only {stopped} of 5 answers ended by themselves within 384 tokens"
    );
}

/// A schema llama.cpp cannot convert fails that request alone, with the
/// schema's name, in the same batch as a request that then answers, and the
/// engine answers the next constrained request too.
#[test]
fn an_invalid_schema_is_a_grammar_error_and_the_engine_keeps_working() {
    let e = engine(1);
    let mut bad = item_request(1);
    bad.format = Some(OutputFormat::JsonSchema {
        name: "broken_schema".into(),
        schema: serde_json::json!({"$ref": "#/definitions/nowhere"}),
    });
    let plain = request("Do sweaty palms run in families?", 2, 8);
    let results = run_batch(&e, &[bad.clone(), plain, bad]);
    for i in [0, 2] {
        match &results[i] {
            Err(err @ InferenceError::Grammar { schema, reason }) => {
                assert_eq!(schema, "broken_schema");
                assert!(reason.contains("grammar"), "{reason}");
                assert!(err.to_string().contains("broken_schema"), "{err}");
            }
            other => panic!("request {i}: expected a grammar error, got {other:?}"),
        }
    }
    let answered = results[1].as_ref().expect("the plain request answers");
    assert!(answered.completion_tokens > 0);
    let mut next = item_request(3);
    next.params.max_tokens = 24;
    let out = e
        .generate(&next, &mut |_| {}, &CancelToken::new())
        .expect("the engine still answers constrained requests");
    assert!(
        out.text.trim_start().starts_with('{'),
        "constrained output starts a JSON object: {:?}",
        out.text
    );
}
