//! Text generation: the [`Backend`] trait and the types every backend shares.
//!
//! Three backends implement it: [`local::LocalEngine`] runs a GGUF model through
//! llama.cpp on a thread that owns the llama.cpp context,
//! [`worker::WorkerEngine`] runs a `LocalEngine` in a supervised child process
//! (what the adapters use: a llama.cpp abort cannot take them down), and
//! [`remote::RemoteBackend`] speaks the OpenAI-compatible chat-completions API.

pub mod local;
pub mod remote;
pub mod worker;

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::progress::CancelToken;

/// Who wrote a chat message.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Instructions that frame the conversation.
    System,
    /// The patient (or whoever asks).
    User,
    /// The model.
    Assistant,
}

impl Role {
    /// The role name used by chat templates and by the OpenAI API.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

/// One message of a chat.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// Who wrote it.
    pub role: Role,
    /// What it says.
    pub content: String,
}

impl ChatMessage {
    /// A message from `role`.
    pub fn new(role: Role, content: impl Into<String>) -> Self {
        Self {
            role,
            content: content.into(),
        }
    }
}

/// Sampling parameters. Stored with every generation so that an answer can be
/// reproduced exactly (same build, same model file, same parallelism).
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SamplingParams {
    /// Softmax temperature; 0 means greedy decoding.
    pub temperature: f32,
    /// Nucleus sampling threshold (1.0 disables it).
    pub top_p: f32,
    /// Keep only the `top_k` most likely tokens (0 disables it).
    pub top_k: i32,
    /// Drop tokens less likely than `min_p` × the most likely one (0 disables it).
    pub min_p: f32,
    /// Penalty for repeating recent tokens (1.0 disables it).
    pub repeat_penalty: f32,
    /// How many recent tokens the repeat penalty looks at.
    pub repeat_last_n: i32,
    /// Upper bound on generated tokens.
    pub max_tokens: u32,
    /// Random seed of the sampler.
    pub seed: u32,
}

impl Default for SamplingParams {
    fn default() -> Self {
        Self {
            temperature: 0.7,
            top_p: 0.9,
            top_k: 40,
            min_p: 0.05,
            repeat_penalty: 1.1,
            repeat_last_n: 64,
            max_tokens: 256,
            seed: 42,
        }
    }
}

/// Engine settings saved with a registered model. Each field is either set
/// by the user or absent; absent fields take the engine's defaults
/// (`EngineConfig::default()` for llama.cpp) when the engine starts, so the
/// stored value says exactly what the user chose. Unknown fields are refused.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngineSettings {
    /// CPU threads (0 = one per core).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threads: Option<u32>,
    /// Layers offloaded to the GPU.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_layers: Option<u32>,
    /// Sequences decoded together (for an endpoint: requests in flight).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n_parallel: Option<u32>,
    /// Context window per sequence, in tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n_ctx_per_seq: Option<u32>,
    /// Largest batch handed to llama.cpp in one decode call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n_batch: Option<u32>,
}

/// One generation to run: a chat and how to sample its continuation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenerationRequest {
    /// The chat so far; the model answers the last user message.
    pub messages: Vec<ChatMessage>,
    /// How to sample.
    pub params: SamplingParams,
    /// Structured output the answer must take; `None`: free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<OutputFormat>,
}

/// Structured output asked of a backend. Whatever the backend does with it,
/// the caller still parses and validates the answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum OutputFormat {
    /// A JSON value matching `schema` (a JSON Schema). The remote backend
    /// sends it as `response_format: {"type": "json_schema", …}`; the local
    /// backend turns it into a GBNF grammar that constrains sampling.
    JsonSchema {
        /// A short name for the schema (`[A-Za-z0-9_-]`, as the API asks).
        name: String,
        /// The schema.
        schema: serde_json::Value,
    },
    /// Any JSON object: `response_format: {"type": "json_object"}` for a
    /// server without JSON-schema support. The local backend constrains
    /// nothing in this mode (it is always given the schema instead).
    JsonObject,
}

/// Why a generation stopped.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    /// The model ended its answer.
    Stop,
    /// `max_tokens` was reached.
    Length,
    /// The caller cancelled it.
    Cancelled,
}

impl FinishReason {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            FinishReason::Stop => "stop",
            FinishReason::Length => "length",
            FinishReason::Cancelled => "cancelled",
        }
    }
}

/// A finished generation.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenerationOutput {
    /// The answer.
    pub text: String,
    /// Tokens in the rendered prompt.
    pub prompt_tokens: u32,
    /// Tokens generated.
    pub completion_tokens: u32,
    /// Time spent processing the prompt (for a remote backend: time to first token).
    pub prompt_ms: f64,
    /// Time spent generating after the prompt.
    pub generation_ms: f64,
    /// Why it stopped.
    pub finish_reason: FinishReason,
    /// sha256 of the prompt template (chat template + rendering rule) that was used.
    pub template_hash: String,
}

/// What a backend is, for display and for lineage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackendInfo {
    /// `llama.cpp` or `openai-compatible`.
    pub kind: String,
    /// A description such as the model file or the endpoint URL.
    pub description: String,
}

/// Errors of text generation. Serializable: the engine process sends them to
/// its parent.
#[derive(Debug, Clone, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum InferenceError {
    /// llama.cpp could not load the model file.
    #[error("could not load model {path}: {reason}")]
    Load {
        /// The model file.
        path: String,
        /// What llama.cpp reported.
        reason: String,
    },
    /// The chat could not be turned into a prompt.
    #[error("could not render the chat template: {0}")]
    #[serde(with = "message_variant")]
    Template(String),
    /// The prompt does not fit the context window.
    #[error("the prompt has {prompt_tokens} tokens but the context holds {n_ctx}")]
    PromptTooLong {
        /// Tokens in the prompt.
        prompt_tokens: usize,
        /// Context size per sequence.
        n_ctx: usize,
    },
    /// llama.cpp failed while decoding.
    #[error("llama.cpp failed: {0}")]
    #[serde(with = "message_variant")]
    Engine(String),
    /// The local engine could not constrain the answer to the requested JSON
    /// schema: llama.cpp could not turn the schema into a grammar, or could
    /// not follow the grammar. Only this request fails; the engine lives on.
    #[error("could not constrain the answer to the JSON schema \"{schema}\": {reason}")]
    Grammar {
        /// The schema's name ([`OutputFormat::JsonSchema`]'s `name`).
        schema: String,
        /// What went wrong.
        reason: String,
    },
    /// The engine thread is gone (it panicked or was shut down).
    #[error("the inference engine stopped unexpectedly")]
    EngineGone,
    /// The engine process died (llama.cpp aborted or was killed) while
    /// working; the next request starts a fresh one.
    #[error("the engine process running {path} crashed: {reason}")]
    Crashed {
        /// The model file.
        path: String,
        /// How it ended and llama.cpp's last log line.
        reason: String,
    },
    /// The remote endpoint could not be reached or timed out.
    #[error("request to {url} failed: {reason}")]
    Transport {
        /// The endpoint.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// The remote endpoint answered with an HTTP error.
    #[error("{url} answered HTTP {status}: {body}")]
    Http {
        /// The endpoint.
        url: String,
        /// The HTTP status code.
        status: u16,
        /// The start of the response body.
        body: String,
    },
    /// The remote endpoint answered something that is not the expected protocol.
    #[error("{url} sent a malformed response: {reason}")]
    Protocol {
        /// The endpoint.
        url: String,
        /// What was wrong with it.
        reason: String,
    },
    /// No API key was found for a remote endpoint that needs one.
    #[error(
        "no API key: set {env_var} or store one in the OS keyring under service \"llm4sweat\", user \"{keyring_user}\""
    )]
    MissingApiKey {
        /// The environment variable that was checked.
        env_var: String,
        /// The keyring entry that was checked.
        keyring_user: String,
    },
}

/// The serde form of the variants that carry a bare message. serde cannot
/// write a string inside an internally tagged enum ("cannot serialize tagged
/// newtype variant"), so they travel as `{"kind": "engine", "message": "…"}`.
mod message_variant {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize)]
    struct MessageRef<'a> {
        message: &'a str,
    }

    #[derive(Deserialize)]
    struct Message {
        message: String,
    }

    pub fn serialize<S: Serializer>(message: &str, s: S) -> Result<S::Ok, S::Error> {
        MessageRef { message }.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        Ok(Message::deserialize(d)?.message)
    }
}

/// Receives streamed text: `(request index, piece)`.
pub type TokenSink<'a> = dyn FnMut(usize, &str) + 'a;

/// Receives each finished generation of a batch as soon as it finishes:
/// `(request index, result)`. Callers commit it right away.
pub type DoneSink<'a> = dyn FnMut(usize, Result<GenerationOutput, InferenceError>) + 'a;

/// Something that turns chats into answers.
pub trait Backend: Send + Sync {
    /// What this backend is.
    fn info(&self) -> BackendInfo;

    /// How many requests [`Backend::generate_batch`] processes at once.
    fn parallelism(&self) -> usize {
        1
    }

    /// Generates answers for several requests, calling `on_token` for every
    /// streamed piece and `on_done` once per request as soon as it finishes.
    /// Cancellation ends every unfinished request with
    /// [`FinishReason::Cancelled`].
    fn generate_batch(
        &self,
        requests: &[GenerationRequest],
        on_token: &mut TokenSink<'_>,
        on_done: &mut DoneSink<'_>,
        cancel: &CancelToken,
    );

    /// Peak resident memory, in MB, of the separate process that runs the
    /// model (an engine process), when there is one and it can be read.
    fn engine_peak_rss_mb(&self) -> Option<f64> {
        None
    }

    /// Generates one answer, streaming its pieces to `on_token`.
    fn generate(
        &self,
        request: &GenerationRequest,
        on_token: &mut dyn FnMut(&str),
        cancel: &CancelToken,
    ) -> Result<GenerationOutput, InferenceError> {
        let mut result = None;
        self.generate_batch(
            std::slice::from_ref(request),
            &mut |_, piece| on_token(piece),
            &mut |_, r| result = Some(r),
            cancel,
        );
        result.unwrap_or(Err(InferenceError::EngineGone))
    }
}

/// Lowercase hex sha256 of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grammar_error_survives_the_trip_to_the_parent_process() {
        let e = InferenceError::Grammar {
            schema: "synthetic_question".into(),
            reason: "llama.cpp refused it".into(),
        };
        let line = serde_json::to_string(&e).expect("serializes");
        assert!(line.contains("\"kind\":\"grammar\""), "{line}");
        let back: InferenceError = serde_json::from_str(&line).expect("deserializes");
        assert!(
            matches!(&back, InferenceError::Grammar { schema, .. } if schema == "synthetic_question"),
            "{back:?}"
        );
        assert!(back.to_string().contains("synthetic_question"), "{back}");
    }

    #[test]
    fn a_requests_output_format_travels_and_is_omitted_when_absent() {
        let mut request = GenerationRequest {
            messages: vec![ChatMessage::new(Role::User, "Q?")],
            params: SamplingParams::default(),
            format: None,
        };
        let line = serde_json::to_string(&request).expect("serializes");
        assert!(!line.contains("format"), "{line}");
        request.format = Some(OutputFormat::JsonSchema {
            name: "item".into(),
            schema: serde_json::json!({"type": "object", "properties": {"n": {"enum": ["a", 1.5]}}}),
        });
        let line = serde_json::to_string(&request).expect("serializes");
        let back: GenerationRequest = serde_json::from_str(&line).expect("deserializes");
        assert_eq!(back, request);
        request.format = Some(OutputFormat::JsonObject);
        let line = serde_json::to_string(&request).expect("serializes");
        let back: GenerationRequest = serde_json::from_str(&line).expect("deserializes");
        assert_eq!(back, request);
    }

    /// Regression: `Engine` and `Template` held a bare string, which serde
    /// refuses to write in an internally tagged enum, so such an error in the
    /// engine process broke its reply instead of reaching the parent.
    #[test]
    fn every_error_round_trips_through_json() {
        let errors = [
            InferenceError::Engine("decode failed".into()),
            InferenceError::Template("unsupported template".into()),
            InferenceError::EngineGone,
            InferenceError::PromptTooLong {
                prompt_tokens: 5,
                n_ctx: 4,
            },
        ];
        for e in errors {
            let line = serde_json::to_string(&e).unwrap_or_else(|err| panic!("{e:?}: {err}"));
            let back: InferenceError =
                serde_json::from_str(&line).unwrap_or_else(|err| panic!("{line}: {err}"));
            assert_eq!(back.to_string(), e.to_string(), "{line}");
        }
        assert_eq!(
            serde_json::to_value(InferenceError::Engine("boom".into())).ok(),
            Some(serde_json::json!({"kind": "engine", "message": "boom"}))
        );
    }
}
