//! The llama.cpp engine on the real SmolLM2-135M-Instruct GGUF.

use llm4sweat::gguf;
use llm4sweat::inference::local::{EngineConfig, LocalEngine, PromptFormat};
use llm4sweat::inference::{
    Backend, ChatMessage, FinishReason, GenerationRequest, InferenceError, Role, SamplingParams,
};
use llm4sweat::progress::CancelToken;

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
