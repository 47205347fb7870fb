//! Local inference through llama.cpp.
//!
//! llama.cpp's context is not `Send`, so one dedicated worker thread owns the
//! model and its context; [`LocalEngine`] is a cheap handle that sends jobs to
//! it over a channel and relays streamed pieces back to the caller's thread.
//! The worker decodes several requests at once in one llama.cpp batch
//! (continuous batching: a finished sequence's slot is refilled right away).

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::Instant;

use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::{LlamaChatMessage, LlamaChatTemplate, LlamaModel};
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::LlamaToken;
use llama_cpp_2::token::data::LlamaTokenData;
use llama_cpp_2::token::data_array::LlamaTokenDataArray;
use serde::{Deserialize, Serialize};

use super::{
    Backend, BackendInfo, ChatMessage, DoneSink, FinishReason, GenerationOutput, GenerationRequest,
    InferenceError, OutputFormat, Role, TokenSink, sha256_hex,
};
use crate::progress::CancelToken;

/// How the local engine loads and runs a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EngineConfig {
    /// CPU threads for decoding; 0 means one per available core.
    pub threads: u32,
    /// Layers offloaded to the GPU (ignored by a CPU-only build).
    pub gpu_layers: u32,
    /// Context window of each sequence, in tokens.
    pub n_ctx_per_seq: u32,
    /// How many sequences are decoded together in one batch.
    pub n_parallel: u32,
    /// Largest number of tokens handed to llama.cpp in one decode call.
    pub n_batch: u32,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            threads: 0,
            gpu_layers: 0,
            n_ctx_per_seq: 1024,
            n_parallel: 4,
            n_batch: 512,
        }
    }
}

impl EngineConfig {
    /// The thread count actually used.
    pub fn effective_threads(&self) -> u32 {
        if self.threads > 0 {
            self.threads
        } else {
            std::thread::available_parallelism().map_or(2, |n| n.get() as u32)
        }
    }
}

/// The chat template a model answers with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum PromptFormat {
    /// The model's own template, from `tokenizer.chat_template`.
    ModelTemplate(String),
    /// The documented fallback for models without a template (base models):
    /// the system prompt, a blank line, then `Question: …` and `Answer:`;
    /// the answer ends at the first `\nQuestion:` the model writes.
    PlainFallback,
}

impl PromptFormat {
    /// sha256 of what decides how a chat becomes a prompt.
    pub fn hash(&self) -> String {
        match self {
            PromptFormat::ModelTemplate(t) => sha256_hex(format!("chat-template:{t}").as_bytes()),
            PromptFormat::PlainFallback => sha256_hex(PLAIN_FALLBACK_ID.as_bytes()),
        }
    }
}

const PLAIN_FALLBACK_ID: &str = "llm4sweat-plain-fallback-v1";

/// Where an answer rendered with the plain fallback ends: the model starting
/// the next question of the pattern.
pub const FALLBACK_STOP: &str = "\nQuestion:";

/// Renders a chat the fallback way, for models without a chat template.
pub fn render_plain_fallback(messages: &[ChatMessage]) -> String {
    let mut out = String::new();
    for m in messages {
        match m.role {
            Role::System => {
                out.push_str(m.content.trim());
                out.push_str("\n\n");
            }
            Role::User => {
                out.push_str("Question: ");
                out.push_str(m.content.trim());
                out.push('\n');
            }
            Role::Assistant => {
                out.push_str("Answer: ");
                out.push_str(m.content.trim());
                out.push_str("\n\n");
            }
        }
    }
    out.push_str("Answer:");
    out
}

/// Throughput figures of one benchmark run (same definitions as llama-bench and
/// llama-batched-bench).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchResult {
    /// Parallel sequences.
    pub n_parallel: u32,
    /// Prompt tokens per sequence.
    pub n_prompt: u32,
    /// Generated tokens per sequence.
    pub n_gen: u32,
    /// Prompt tokens processed per second (all sequences).
    pub prompt_tps: f64,
    /// Tokens generated per second (all sequences).
    pub gen_tps: f64,
}

enum Job {
    Generate {
        requests: Vec<GenerationRequest>,
        events: mpsc::Sender<Event>,
        cancel: CancelToken,
    },
    Render {
        messages: Vec<ChatMessage>,
        reply: mpsc::Sender<Result<String, InferenceError>>,
    },
    Bench {
        n_prompt: u32,
        n_gen: u32,
        n_parallel: u32,
        reply: mpsc::Sender<Result<BenchResult, InferenceError>>,
    },
}

enum Event {
    Token(usize, String),
    Done(usize, Result<GenerationOutput, InferenceError>),
}

/// Facts about the loaded model, read from llama.cpp once it is loaded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadedModelInfo {
    /// The model file.
    pub path: PathBuf,
    /// Parameters, as llama.cpp counts them.
    pub n_params: u64,
    /// Training context length.
    pub n_ctx_train: u32,
    /// How chats are turned into prompts.
    pub prompt_format: PromptFormat,
}

/// A handle to a llama.cpp model running on its own thread.
pub struct LocalEngine {
    jobs: Mutex<Option<mpsc::Sender<Job>>>,
    worker: Mutex<Option<JoinHandle<()>>>,
    info: LoadedModelInfo,
    config: EngineConfig,
}

impl std::fmt::Debug for LocalEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalEngine")
            .field("info", &self.info)
            .field("config", &self.config)
            .finish()
    }
}

/// llama.cpp's backend may be initialised once per process.
pub(crate) fn backend() -> Result<&'static LlamaBackend, InferenceError> {
    static BACKEND: OnceLock<Result<LlamaBackend, String>> = OnceLock::new();
    BACKEND
        .get_or_init(|| {
            // llama.cpp's own log goes to `tracing` (target `llama-cpp-2`), so
            // the adapter's subscriber decides what is shown; nothing is
            // written when no subscriber listens.
            llama_cpp_2::send_logs_to_tracing(llama_cpp_2::LogOptions::default());
            LlamaBackend::init().map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| InferenceError::Engine(format!("could not start llama.cpp: {e}")))
}

impl LocalEngine {
    /// Loads `path` (memory-mapped) on a new worker thread. Callers should
    /// check the file with [`crate::gguf::read_header`] first: llama.cpp
    /// itself may abort the process on some malformed files.
    pub fn load(path: &Path, config: EngineConfig) -> Result<Self, InferenceError> {
        let (ready_tx, ready_rx) = mpsc::channel();
        let (job_tx, job_rx) = mpsc::channel::<Job>();
        let worker_path = path.to_path_buf();
        let worker_config = config.clone();
        let handle = std::thread::Builder::new()
            .name("llama-worker".into())
            .spawn(move || worker_main(worker_path, worker_config, ready_tx, job_rx))
            .map_err(|e| {
                InferenceError::Engine(format!("could not start the worker thread: {e}"))
            })?;
        let info = match ready_rx.recv() {
            Ok(Ok(info)) => info,
            Ok(Err(e)) => {
                let _ = handle.join();
                return Err(e);
            }
            Err(_) => {
                let _ = handle.join();
                return Err(InferenceError::EngineGone);
            }
        };
        Ok(Self {
            jobs: Mutex::new(Some(job_tx)),
            worker: Mutex::new(Some(handle)),
            info,
            config,
        })
    }

    /// Facts about the loaded model.
    pub fn model_info(&self) -> &LoadedModelInfo {
        &self.info
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    fn send(&self, job: Job) -> Result<(), InferenceError> {
        let guard = self.jobs.lock().map_err(|_| InferenceError::EngineGone)?;
        guard
            .as_ref()
            .ok_or(InferenceError::EngineGone)?
            .send(job)
            .map_err(|_| InferenceError::EngineGone)
    }

    /// The exact prompt text the model sees for `messages`.
    pub fn render_prompt(&self, messages: &[ChatMessage]) -> Result<String, InferenceError> {
        let (tx, rx) = mpsc::channel();
        self.send(Job::Render {
            messages: messages.to_vec(),
            reply: tx,
        })?;
        rx.recv().map_err(|_| InferenceError::EngineGone)?
    }

    /// Measures prompt processing and generation throughput with `n_parallel`
    /// sequences of `n_prompt` prompt tokens and `n_gen` generated tokens each.
    pub fn bench(
        &self,
        n_prompt: u32,
        n_gen: u32,
        n_parallel: u32,
    ) -> Result<BenchResult, InferenceError> {
        let (tx, rx) = mpsc::channel();
        self.send(Job::Bench {
            n_prompt,
            n_gen,
            n_parallel,
            reply: tx,
        })?;
        rx.recv().map_err(|_| InferenceError::EngineGone)?
    }
}

impl Drop for LocalEngine {
    fn drop(&mut self) {
        if let Ok(mut jobs) = self.jobs.lock() {
            jobs.take();
        }
        if let Ok(mut worker) = self.worker.lock()
            && let Some(handle) = worker.take()
        {
            let _ = handle.join();
        }
    }
}

impl Backend for LocalEngine {
    fn info(&self) -> BackendInfo {
        BackendInfo {
            kind: "llama.cpp".into(),
            description: self.info.path.display().to_string(),
        }
    }

    fn parallelism(&self) -> usize {
        self.config.n_parallel.max(1) as usize
    }

    fn generate_batch(
        &self,
        requests: &[GenerationRequest],
        on_token: &mut TokenSink<'_>,
        on_done: &mut DoneSink<'_>,
        cancel: &CancelToken,
    ) {
        let (tx, rx) = mpsc::channel();
        let job = Job::Generate {
            requests: requests.to_vec(),
            events: tx,
            cancel: cancel.clone(),
        };
        let mut finished = vec![false; requests.len()];
        if self.send(job).is_ok() {
            for event in rx {
                match event {
                    Event::Token(i, piece) => on_token(i, &piece),
                    Event::Done(i, result) => {
                        if let Some(f) = finished.get_mut(i) {
                            *f = true;
                        }
                        on_done(i, result);
                    }
                }
            }
        }
        // Whatever the worker did not answer (it died) ends in an error.
        for (i, done) in finished.iter().enumerate() {
            if !done {
                on_done(i, Err(InferenceError::EngineGone));
            }
        }
    }
}

fn worker_main(
    path: PathBuf,
    config: EngineConfig,
    ready: mpsc::Sender<Result<LoadedModelInfo, InferenceError>>,
    jobs: mpsc::Receiver<Job>,
) {
    let backend = match backend() {
        Ok(b) => b,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    tracing::info!(path = %path.display(), gpu_layers = config.gpu_layers, "loading model");
    let params = LlamaModelParams::default().with_n_gpu_layers(config.gpu_layers);
    let model = match LlamaModel::load_from_file(backend, &path, &params) {
        Ok(m) => m,
        Err(e) => {
            tracing::info!(path = %path.display(), error = %e, "llama.cpp could not load the model");
            let _ = ready.send(Err(InferenceError::Load {
                path: path.display().to_string(),
                reason: e.to_string(),
            }));
            return;
        }
    };
    let prompt_format = match model.chat_template(None) {
        Ok(t) => match t.to_string() {
            Ok(s) => PromptFormat::ModelTemplate(s),
            Err(_) => PromptFormat::PlainFallback,
        },
        Err(_) => PromptFormat::PlainFallback,
    };
    let info = LoadedModelInfo {
        path: path.clone(),
        n_params: model.n_params(),
        n_ctx_train: model.n_ctx_train(),
        prompt_format,
    };
    let n_parallel = config.n_parallel.max(1);
    let threads = config.effective_threads() as i32;
    let n_ctx = config.n_ctx_per_seq.max(64) * n_parallel;
    let ctx_params = LlamaContextParams::default()
        .with_n_ctx(NonZeroU32::new(n_ctx))
        .with_n_batch(config.n_batch.max(32))
        .with_n_ubatch(config.n_batch.max(32))
        .with_n_seq_max(n_parallel)
        .with_n_threads(threads)
        .with_n_threads_batch(threads);
    let mut ctx = match model.new_context(backend, ctx_params) {
        Ok(c) => c,
        Err(e) => {
            tracing::info!(path = %path.display(), n_ctx, error = %e, "llama.cpp could not create a context");
            let _ = ready.send(Err(InferenceError::Engine(format!(
                "could not create a context: {e}"
            ))));
            return;
        }
    };
    tracing::info!(
        path = %path.display(),
        n_params = info.n_params,
        n_ctx,
        n_parallel,
        threads,
        n_batch = config.n_batch.max(32),
        chat_template = matches!(info.prompt_format, PromptFormat::ModelTemplate(_)),
        "model loaded"
    );
    let worker = Worker {
        model: &model,
        info: info.clone(),
        config,
        n_parallel,
        grammars: RefCell::new(GrammarCache::default()),
    };
    if ready.send(Ok(info)).is_err() {
        return;
    }
    for job in jobs {
        match job {
            Job::Render { messages, reply } => {
                let _ = reply.send(worker.render(&messages));
            }
            Job::Generate {
                requests,
                events,
                cancel,
            } => {
                worker.run(&mut ctx, &requests, &events, &cancel, false);
            }
            Job::Bench {
                n_prompt,
                n_gen,
                n_parallel,
                reply,
            } => {
                let _ = reply.send(worker.bench(&mut ctx, n_prompt, n_gen, n_parallel));
            }
        }
    }
}

struct Worker<'m> {
    model: &'m LlamaModel,
    info: LoadedModelInfo,
    config: EngineConfig,
    n_parallel: u32,
    grammars: RefCell<GrammarCache>,
}

/// How many converted schemas the engine remembers. The requests of one
/// augmentation batch share a few schemas (they differ only in the offered
/// fact ids), so a small cache converts each once; it stays small because
/// every batch brings new fact ids.
const GRAMMAR_CACHE_SIZE: usize = 64;

/// GBNF grammars converted from JSON schemas, by the schema's JSON text,
/// failures included (a batch of one bad schema is refused once, not per
/// request). The oldest schema is forgotten first.
#[derive(Default)]
struct GrammarCache {
    by_schema: HashMap<String, Result<Rc<str>, String>>,
    order: VecDeque<String>,
}

impl GrammarCache {
    /// The grammar for `schema` (JSON text), converted on first use.
    fn gbnf(&mut self, schema: &str) -> Result<Rc<str>, String> {
        if let Some(hit) = self.by_schema.get(schema) {
            return hit.clone();
        }
        let converted = llama_cpp_2::json_schema_to_grammar(schema)
            .map(Rc::from)
            .map_err(|e| {
                format!(
                    "llama.cpp could not convert it to a grammar ({e}); the schema is invalid \
                     or uses what llama.cpp's converter does not support (an unresolved $ref, \
                     an unsupported regex pattern)"
                )
            });
        if self.order.len() >= GRAMMAR_CACHE_SIZE
            && let Some(oldest) = self.order.pop_front()
        {
            self.by_schema.remove(&oldest);
        }
        self.order.push_back(schema.to_owned());
        self.by_schema.insert(schema.to_owned(), converted.clone());
        converted
    }
}

/// A sequence's sampler: the chain of the request's sampling parameters and,
/// when it asked for a JSON schema, the grammar that constrains it.
///
/// The grammar is kept beside the chain, not in it, as llama.cpp's own
/// `common_sampler` does: the chain samples as usual, and only when the grammar
/// rejects the token is the step redone with the grammar applied to the whole
/// vocabulary before the chain. Inside a JSON string nearly every token is
/// allowed, so most steps check one token instead of the whole vocabulary.
struct SequenceSampler {
    chain: LlamaSampler,
    grammar: Option<Grammar>,
}

/// A grammar sampler and the schema it came from (for error messages).
struct Grammar {
    sampler: LlamaSampler,
    schema: String,
}

impl SequenceSampler {
    /// Samples the token at logits `idx` and accepts it into the chain (and
    /// the grammar). A grammar that cannot accept the token is an error for
    /// this sequence only.
    fn sample(&mut self, ctx: &LlamaContext<'_>, idx: i32) -> Result<LlamaToken, InferenceError> {
        let Some(grammar) = self.grammar.as_mut() else {
            // llama_sampler_sample applies the chain and accepts the token.
            return Ok(self.chain.sample(ctx, idx));
        };
        let error = |schema: &str, reason: &str| InferenceError::Grammar {
            schema: schema.to_owned(),
            reason: reason.to_owned(),
        };
        let mut candidates = ctx.token_data_array_ith(idx);
        candidates.apply_sampler(&mut self.chain);
        let mut token = candidates
            .selected_token()
            .ok_or_else(|| error(&grammar.schema, "the sampler chose no token"))?;
        let mut single =
            LlamaTokenDataArray::new(vec![LlamaTokenData::new(token, 1.0, 0.0)], false);
        single.apply_sampler(&mut grammar.sampler);
        if single.data[0].logit() == f32::NEG_INFINITY {
            let mut candidates = ctx.token_data_array_ith(idx);
            candidates.apply_sampler(&mut grammar.sampler);
            candidates.apply_sampler(&mut self.chain);
            token = candidates.selected_token().ok_or_else(|| {
                error(&grammar.schema, "the grammar allows no token at this point")
            })?;
        }
        grammar.sampler.try_accept(token).map_err(|e| {
            error(
                &grammar.schema,
                &format!("the grammar could not accept token {} ({e})", token.0),
            )
        })?;
        self.chain.accept(token);
        Ok(token)
    }
}

/// One sequence being decoded.
struct Slot {
    request: usize,
    seq_id: i32,
    /// Prompt tokens not yet sent to llama.cpp.
    pending: Vec<LlamaToken>,
    n_prompt: usize,
    /// Next position in the sequence.
    pos: i32,
    /// The token to feed next during generation.
    next: Option<LlamaToken>,
    /// Index of this slot's logits in the last batch.
    logits_index: Option<i32>,
    sampler: SequenceSampler,
    decoder: encoding_utf8::Decoder,
    text: String,
    /// Bytes of `text` already streamed as tokens.
    streamed: usize,
    n_generated: u32,
    max_tokens: u32,
    started: Instant,
    first_token_at: Option<Instant>,
}

/// A tiny incremental UTF-8 decoder: tokens can split multi-byte characters.
mod encoding_utf8 {
    #[derive(Default)]
    pub struct Decoder {
        pending: Vec<u8>,
    }

    impl Decoder {
        /// Appends bytes and returns the longest valid UTF-8 prefix decoded so far.
        pub fn push(&mut self, bytes: &[u8]) -> String {
            self.pending.extend_from_slice(bytes);
            match std::str::from_utf8(&self.pending) {
                Ok(s) => {
                    let out = s.to_owned();
                    self.pending.clear();
                    out
                }
                Err(e) => {
                    let valid = e.valid_up_to();
                    // An invalid (not merely incomplete) sequence is replaced so it
                    // cannot block the stream forever.
                    if e.error_len().is_some() || self.pending.len() - valid > 3 {
                        let out = String::from_utf8_lossy(&self.pending).into_owned();
                        self.pending.clear();
                        return out;
                    }
                    let out = String::from_utf8_lossy(&self.pending[..valid]).into_owned();
                    self.pending.drain(..valid);
                    out
                }
            }
        }

        /// Whatever is left at the end of the stream.
        pub fn finish(&mut self) -> String {
            let out = String::from_utf8_lossy(&self.pending).into_owned();
            self.pending.clear();
            out
        }
    }
}

impl<'m> Worker<'m> {
    fn render(&self, messages: &[ChatMessage]) -> Result<String, InferenceError> {
        match &self.info.prompt_format {
            PromptFormat::PlainFallback => Ok(render_plain_fallback(messages)),
            PromptFormat::ModelTemplate(t) => {
                let tmpl = LlamaChatTemplate::new(t)
                    .map_err(|e| InferenceError::Template(e.to_string()))?;
                let chat = messages
                    .iter()
                    .map(|m| LlamaChatMessage::new(m.role.as_str().to_owned(), m.content.clone()))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| InferenceError::Template(e.to_string()))?;
                self.model.apply_chat_template(&tmpl, &chat, true).map_err(|e| {
                    InferenceError::Template(format!(
                        "llama.cpp does not support this model's chat template ({e}); \
                         the model cannot be used for chat until it is re-registered with a supported template"
                    ))
                })
            }
        }
    }

    /// The sampler of `request`: its sampling chain and, for
    /// [`OutputFormat::JsonSchema`], the grammar of the schema.
    /// [`OutputFormat::JsonObject`] constrains nothing here (callers always
    /// give the local engine the schema).
    fn sampler(&self, request: &GenerationRequest) -> Result<SequenceSampler, InferenceError> {
        let grammar = match &request.format {
            Some(OutputFormat::JsonSchema { name, schema }) => {
                let refused = |reason: String| InferenceError::Grammar {
                    schema: name.clone(),
                    reason,
                };
                let gbnf = self
                    .grammars
                    .borrow_mut()
                    .gbnf(&schema.to_string())
                    .map_err(refused)?;
                let sampler = LlamaSampler::grammar(self.model, &gbnf, "root").map_err(|e| {
                    refused(format!(
                        "llama.cpp could not load the grammar converted from it ({e})"
                    ))
                })?;
                Some(Grammar {
                    sampler,
                    schema: name.clone(),
                })
            }
            Some(OutputFormat::JsonObject) | None => None,
        };
        Ok(SequenceSampler {
            chain: self.chain(&request.params),
            grammar,
        })
    }

    fn chain(&self, p: &super::SamplingParams) -> LlamaSampler {
        let mut chain = Vec::new();
        if p.repeat_penalty != 1.0 {
            chain.push(LlamaSampler::penalties(
                self.model.n_vocab(),
                p.repeat_last_n,
                p.repeat_penalty,
                0.0,
                0.0,
            ));
        }
        if p.temperature <= 0.0 {
            chain.push(LlamaSampler::greedy());
        } else {
            if p.top_k > 0 {
                chain.push(LlamaSampler::top_k(p.top_k));
            }
            if p.top_p < 1.0 {
                chain.push(LlamaSampler::top_p(p.top_p, 1));
            }
            if p.min_p > 0.0 {
                chain.push(LlamaSampler::min_p(p.min_p, 1));
            }
            chain.push(LlamaSampler::temp(p.temperature));
            chain.push(LlamaSampler::dist(p.seed));
        }
        LlamaSampler::chain_simple(chain)
    }

    /// Decodes `requests` with continuous batching, reporting through `events`.
    /// With `ignore_eog` (benchmarks) every sequence runs to `max_tokens`.
    fn run(
        &self,
        ctx: &mut LlamaContext<'_>,
        requests: &[GenerationRequest],
        events: &mpsc::Sender<Event>,
        cancel: &CancelToken,
        ignore_eog: bool,
    ) {
        let prepared: Vec<Option<Vec<LlamaToken>>> = requests
            .iter()
            .enumerate()
            .map(|(i, r)| match self.tokenize_request(r) {
                Ok(t) => Some(t),
                Err(e) => {
                    let _ = events.send(Event::Done(i, Err(e)));
                    None
                }
            })
            .collect();
        let run = self.decode_loop(ctx, requests, prepared, cancel, ignore_eog, &mut |e| {
            let _ = events.send(e);
        });
        if let Err((e, unfinished)) = run {
            for i in unfinished {
                let _ = events.send(Event::Done(i, Err(InferenceError::Engine(e.clone()))));
            }
        }
    }

    fn tokenize_request(&self, r: &GenerationRequest) -> Result<Vec<LlamaToken>, InferenceError> {
        let prompt = self.render(&r.messages)?;
        let tokens = self.model.vocab().tokenize(prompt.as_bytes(), true, true);
        let n_ctx = self.config.n_ctx_per_seq as usize;
        if tokens.is_empty() || tokens.len() + r.params.max_tokens as usize > n_ctx {
            return Err(InferenceError::PromptTooLong {
                prompt_tokens: tokens.len() + r.params.max_tokens as usize,
                n_ctx,
            });
        }
        Ok(tokens)
    }

    /// The continuous-batching loop. On a llama.cpp failure it returns the
    /// error and the requests left unanswered.
    #[allow(clippy::too_many_arguments)]
    fn decode_loop(
        &self,
        ctx: &mut LlamaContext<'_>,
        requests: &[GenerationRequest],
        mut prepared: Vec<Option<Vec<LlamaToken>>>,
        cancel: &CancelToken,
        ignore_eog: bool,
        emit: &mut dyn FnMut(Event),
    ) -> Result<(), (String, Vec<usize>)> {
        ctx.clear_kv_cache();
        let vocab = self.model.vocab();
        let n_batch = self.config.n_batch.max(32) as usize;
        let mut batch = LlamaBatch::new(n_batch, self.n_parallel as i32);
        let mut queue: std::collections::VecDeque<usize> = (0..requests.len())
            .filter(|&i| prepared[i].is_some())
            .collect();
        let mut slots: Vec<Option<Slot>> = (0..self.n_parallel).map(|_| None).collect();
        let template_hash = self.info.prompt_format.hash();
        let plain_fallback = self.info.prompt_format == PromptFormat::PlainFallback;

        loop {
            if cancel.is_cancelled() {
                for slot in slots.iter_mut().filter_map(Option::take) {
                    let request = slot.request;
                    let out = finish(slot, FinishReason::Cancelled, &template_hash, emit);
                    emit(Event::Done(request, Ok(out)));
                }
                for i in queue.drain(..) {
                    emit(Event::Done(
                        i,
                        Ok(GenerationOutput {
                            text: String::new(),
                            prompt_tokens: 0,
                            completion_tokens: 0,
                            prompt_ms: 0.0,
                            generation_ms: 0.0,
                            finish_reason: FinishReason::Cancelled,
                            template_hash: template_hash.clone(),
                        }),
                    ));
                }
                return Ok(());
            }
            // Refill free slots. A request whose grammar cannot be built ends
            // here with its error, and the next one takes the slot.
            for (seq, slot) in slots.iter_mut().enumerate() {
                while slot.is_none()
                    && let Some(i) = queue.pop_front()
                {
                    let sampler = match self.sampler(&requests[i]) {
                        Ok(s) => s,
                        Err(e) => {
                            emit(Event::Done(i, Err(e)));
                            continue;
                        }
                    };
                    let tokens = prepared[i].take().unwrap_or_default();
                    let _ = ctx.clear_kv_cache_seq(Some(seq as u32), None, None);
                    let params = &requests[i].params;
                    *slot = Some(Slot {
                        request: i,
                        seq_id: seq as i32,
                        n_prompt: tokens.len(),
                        pending: tokens,
                        pos: 0,
                        next: None,
                        logits_index: None,
                        sampler,
                        decoder: Default::default(),
                        text: String::new(),
                        streamed: 0,
                        n_generated: 0,
                        max_tokens: params.max_tokens,
                        started: Instant::now(),
                        first_token_at: None,
                    });
                }
            }
            if slots.iter().all(Option::is_none) {
                return Ok(());
            }
            // Build one batch: every generating slot contributes one token, then
            // prompt tokens fill what room is left.
            batch.clear();
            let mut room = n_batch;
            for slot in slots.iter_mut().flatten() {
                slot.logits_index = None;
                if let Some(tok) = slot.next.take() {
                    let idx = batch.n_tokens();
                    if batch.add(tok, slot.pos, &[slot.seq_id], true).is_err() {
                        return Err(("batch overflow".into(), unfinished(&slots, &queue)));
                    }
                    slot.pos += 1;
                    slot.logits_index = Some(idx);
                    room -= 1;
                }
            }
            let mut overflow = false;
            for slot in slots.iter_mut().flatten() {
                if slot.pending.is_empty() || room == 0 {
                    continue;
                }
                let take = slot.pending.len().min(room);
                let last_chunk = take == slot.pending.len();
                for (k, tok) in slot.pending.drain(..take).enumerate() {
                    let want_logits = last_chunk && k + 1 == take;
                    let idx = batch.n_tokens();
                    overflow |= batch
                        .add(tok, slot.pos, &[slot.seq_id], want_logits)
                        .is_err();
                    slot.pos += 1;
                    if want_logits {
                        slot.logits_index = Some(idx);
                    }
                }
                room -= take;
            }
            if overflow {
                return Err(("batch overflow".into(), unfinished(&slots, &queue)));
            }
            if let Err(e) = ctx.decode(&mut batch) {
                return Err((e.to_string(), unfinished(&slots, &queue)));
            }
            // Sample where logits are ready.
            for entry in slots.iter_mut() {
                let Some(slot) = entry.as_mut() else { continue };
                let Some(idx) = slot.logits_index else {
                    continue;
                };
                let token = match slot.sampler.sample(ctx, idx) {
                    Ok(t) => t,
                    Err(e) => {
                        let _ = ctx.clear_kv_cache_seq(Some(slot.seq_id as u32), None, None);
                        let request = slot.request;
                        *entry = None;
                        emit(Event::Done(request, Err(e)));
                        continue;
                    }
                };
                let now = Instant::now();
                slot.first_token_at.get_or_insert(now);
                let end = !ignore_eog && vocab.is_eog(token);
                let mut stop_sequence = false;
                if !end {
                    slot.n_generated += 1;
                    let bytes = vocab.token_to_piece(token, false, None);
                    let piece = slot.decoder.push(&bytes);
                    slot.next = Some(token);
                    if !piece.is_empty() {
                        slot.text.push_str(&piece);
                        // A base model answering through the plain fallback goes on to
                        // invent the next question; its answer ends where that starts.
                        // Text that may be the start of that marker is held back from
                        // the stream until the next token settles it.
                        let mut upto = slot.text.len();
                        if !ignore_eog && plain_fallback {
                            if let Some(at) = slot.text[slot.streamed..].find(FALLBACK_STOP) {
                                slot.text.truncate(slot.streamed + at);
                                stop_sequence = true;
                                upto = slot.text.len();
                            } else {
                                upto = streamable_len(&slot.text, FALLBACK_STOP);
                            }
                        }
                        stream_to(slot, upto, emit);
                    }
                }
                let reason = if end || stop_sequence {
                    Some(FinishReason::Stop)
                } else if slot.n_generated >= slot.max_tokens {
                    Some(FinishReason::Length)
                } else {
                    None
                };
                if let Some(reason) = reason
                    && let Some(slot) = entry.take()
                {
                    let _ = ctx.clear_kv_cache_seq(Some(slot.seq_id as u32), None, None);
                    let request = slot.request;
                    let out = finish(slot, reason, &template_hash, emit);
                    emit(Event::Done(request, Ok(out)));
                }
            }
        }
    }

    fn bench(
        &self,
        ctx: &mut LlamaContext<'_>,
        n_prompt: u32,
        n_gen: u32,
        n_parallel: u32,
    ) -> Result<BenchResult, InferenceError> {
        if n_parallel == 0 || n_parallel > self.n_parallel {
            return Err(InferenceError::Engine(format!(
                "the engine was loaded for at most {} parallel sequences",
                self.n_parallel
            )));
        }
        if (n_prompt + n_gen) as usize > self.config.n_ctx_per_seq as usize {
            return Err(InferenceError::PromptTooLong {
                prompt_tokens: (n_prompt + n_gen) as usize,
                n_ctx: self.config.n_ctx_per_seq as usize,
            });
        }
        // Prompt processing, as llama-bench measures it: one sequence, the whole
        // prompt in batches of n_batch, no sampling.
        let n_vocab = self.model.n_vocab().max(2);
        let tokens: Vec<LlamaToken> = (0..n_prompt)
            .map(|i| LlamaToken((i as i32 * 7919 + 13) % n_vocab))
            .collect();
        // Warm-up, like llama-bench's.
        self.decode_prompt(ctx, &tokens[..tokens.len().min(16)])?;
        let start = Instant::now();
        self.decode_prompt(ctx, &tokens)?;
        let pp_s = start.elapsed().as_secs_f64();

        // Generation: n_parallel sequences through the real generation loop.
        let request = |i: u32| GenerationRequest {
            messages: vec![ChatMessage::new(
                Role::User,
                format!("Tell me about sweating, part {i}."),
            )],
            params: super::SamplingParams {
                max_tokens: n_gen,
                seed: i,
                ..Default::default()
            },
            format: None,
        };
        let requests: Vec<_> = (0..n_parallel).map(request).collect();
        let prepared: Vec<_> = requests
            .iter()
            .map(|r| self.tokenize_request(r).ok())
            .collect();
        let prompt_total: usize = prepared.iter().flatten().map(Vec::len).sum();
        let mut outputs = Vec::new();
        let start = Instant::now();
        let mut first_all: Option<Instant> = None;
        let mut generated = 0u32;
        self.decode_loop(
            ctx,
            &requests,
            prepared,
            &CancelToken::new(),
            true,
            &mut |e| match e {
                Event::Token(..) => {
                    first_all.get_or_insert_with(Instant::now);
                }
                Event::Done(_, r) => outputs.push(r),
            },
        )
        .map_err(|(e, _)| InferenceError::Engine(e))?;
        let total_s = start.elapsed().as_secs_f64();
        let mut gen_ms_max: f64 = 0.0;
        let mut pp_ms_max: f64 = 0.0;
        for out in outputs {
            let out = out?;
            generated += out.completion_tokens;
            gen_ms_max = gen_ms_max.max(out.generation_ms);
            pp_ms_max = pp_ms_max.max(out.prompt_ms);
        }
        let gen_s = if gen_ms_max > 0.0 {
            gen_ms_max / 1000.0
        } else {
            total_s
        };
        let _ = prompt_total;
        Ok(BenchResult {
            n_parallel,
            n_prompt,
            n_gen,
            prompt_tps: f64::from(n_prompt) / pp_s,
            gen_tps: f64::from(generated) / gen_s,
        })
    }

    fn decode_prompt(
        &self,
        ctx: &mut LlamaContext<'_>,
        tokens: &[LlamaToken],
    ) -> Result<(), InferenceError> {
        ctx.clear_kv_cache();
        let n_batch = self.config.n_batch.max(32) as usize;
        let mut batch = LlamaBatch::new(n_batch, 1);
        for (c, chunk) in tokens.chunks(n_batch).enumerate() {
            batch.clear();
            for (k, tok) in chunk.iter().enumerate() {
                let pos = (c * n_batch + k) as i32;
                let last = c * n_batch + k + 1 == tokens.len();
                batch
                    .add(*tok, pos, &[0], last)
                    .map_err(|e| InferenceError::Engine(e.to_string()))?;
            }
            ctx.decode(&mut batch)
                .map_err(|e| InferenceError::Engine(e.to_string()))?;
        }
        ctx.synchronize();
        ctx.clear_kv_cache();
        Ok(())
    }
}

fn unfinished(slots: &[Option<Slot>], queue: &std::collections::VecDeque<usize>) -> Vec<usize> {
    slots
        .iter()
        .flatten()
        .map(|s| s.request)
        .chain(queue.iter().copied())
        .collect()
}

/// Streams `slot.text[slot.streamed..upto]` as one token event.
fn stream_to(slot: &mut Slot, upto: usize, emit: &mut dyn FnMut(Event)) {
    if upto > slot.streamed {
        emit(Event::Token(
            slot.request,
            slot.text[slot.streamed..upto].to_owned(),
        ));
        slot.streamed = upto;
    }
}

/// How much of `text` may be streamed now: all of it but a tail that could be
/// the beginning of `stop` (whether it is, only the next tokens tell).
fn streamable_len(text: &str, stop: &str) -> usize {
    (1..stop.len())
        .rev()
        .find(|&k| stop.is_char_boundary(k) && text.ends_with(&stop[..k]))
        .map_or(text.len(), |k| text.len() - k)
}

/// Ends a sequence: streams whatever was held back (the decoder's tail, a
/// partial stop marker that never completed) and builds its output.
fn finish(
    mut slot: Slot,
    reason: FinishReason,
    template_hash: &str,
    emit: &mut dyn FnMut(Event),
) -> GenerationOutput {
    let tail = slot.decoder.finish();
    slot.text.push_str(&tail);
    let end = slot.text.len();
    stream_to(&mut slot, end, emit);
    let now = Instant::now();
    let first = slot.first_token_at.unwrap_or(now);
    GenerationOutput {
        text: slot.text,
        prompt_tokens: slot.n_prompt as u32,
        completion_tokens: slot.n_generated,
        prompt_ms: first.duration_since(slot.started).as_secs_f64() * 1000.0,
        generation_ms: now.duration_since(first).as_secs_f64() * 1000.0,
        finish_reason: reason,
        template_hash: template_hash.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_holds_back_only_a_possible_stop_marker() {
        assert_eq!(streamable_len("Drink water.", FALLBACK_STOP), 12);
        assert_eq!(streamable_len("Drink water.\n", FALLBACK_STOP), 12);
        assert_eq!(streamable_len("Drink water.\nQuest", FALLBACK_STOP), 12);
        // Not a prefix of the marker: nothing held.
        assert_eq!(streamable_len("Drink water.\nQx", FALLBACK_STOP), 15);
        assert_eq!(streamable_len("", FALLBACK_STOP), 0);
        assert_eq!(streamable_len("Zoë\n", FALLBACK_STOP), "Zoë".len());
    }

    #[test]
    fn utf8_decoder_joins_split_characters() {
        let mut d = encoding_utf8::Decoder::default();
        let bytes = "Zoë".as_bytes();
        assert_eq!(d.push(&bytes[..3]), "Zo");
        assert_eq!(d.push(&bytes[3..]), "ë");
        assert_eq!(d.finish(), "");
    }

    #[test]
    fn plain_fallback_ends_with_answer_cue() {
        let msgs = vec![
            ChatMessage::new(Role::System, "Be kind."),
            ChatMessage::new(Role::User, "Why?"),
        ];
        assert_eq!(
            render_plain_fallback(&msgs),
            "Be kind.\n\nQuestion: Why?\nAnswer:"
        );
    }

    #[test]
    fn prompt_format_hash_depends_on_template() {
        let a = PromptFormat::ModelTemplate("a".into()).hash();
        let b = PromptFormat::ModelTemplate("b".into()).hash();
        assert_ne!(a, b);
        assert_ne!(a, PromptFormat::PlainFallback.hash());
    }
}
