//! Every `unsafe` call of the trainer, behind a small safe API.
//!
//! `llama-cpp-2` wraps no training call and hands out no raw model or context
//! pointer, so training talks to `llama-cpp-sys-2` directly. The invariants
//! this module keeps:
//!
//! - **Ownership.** [`TrainModel`] owns one `llama_model *` (freed once, in
//!   `Drop`); [`Trainer`] owns one `llama_context *`, one optimizer-parameter
//!   box and one step dataset, and borrows its model mutably for its whole
//!   life (the optimizer writes the weights), so the model outlives the context
//!   and nothing else touches the weights meanwhile. `GgufFile` owns one
//!   `gguf_context *`.
//! - **Pointers handed to C stay valid for the call.** Paths and strings are
//!   `CString`s that live across the call; the learning rate the optimizer
//!   callback reads is boxed and lives as long as the context that calls it.
//! - **Buffers are sized before C writes into them.** Token and template
//!   buffers are grown to the size llama.cpp asks for and the call repeated;
//!   dataset tensors are written only within `n_ctx` tokens, the size they were
//!   created with, and only token ids below the vocabulary size (llama.cpp
//!   asserts on larger labels).
//! - **One thread.** None of these types is `Send`; they live on the thread of
//!   the engine process that trains.
//! - **Errors, not aborts, where llama.cpp offers them.** Null returns and
//!   status codes become [`TrainError`]s. What llama.cpp still aborts on kills
//!   only the engine process, which the parent reports.

use std::ffi::{CStr, CString, c_char, c_void};
use std::marker::PhantomData;
use std::path::Path;
use std::ptr::NonNull;

use llama_cpp_sys_2 as sys;

use super::TrainError;
use crate::inference::{ChatMessage, Role};

/// A file type for [`quantize`].
#[derive(Debug, Clone, Copy)]
pub(crate) enum FileType {
    /// Every tensor F32: the only weights llama.cpp trains.
    AllF32,
    /// llama.cpp's `Q4_K_M` mix.
    Q4KM,
    /// 8-bit.
    Q8_0,
    /// 16-bit floats.
    F16,
}

impl FileType {
    fn ftype(self) -> sys::llama_ftype {
        match self {
            Self::AllF32 => sys::LLAMA_FTYPE_ALL_F32,
            Self::Q4KM => sys::LLAMA_FTYPE_MOSTLY_Q4_K_M,
            Self::Q8_0 => sys::LLAMA_FTYPE_MOSTLY_Q8_0,
            Self::F16 => sys::LLAMA_FTYPE_MOSTLY_F16,
        }
    }
}

fn c_path(path: &Path) -> Result<CString, TrainError> {
    CString::new(path.as_os_str().as_encoded_bytes()).map_err(|_| TrainError::Io {
        path: path.to_path_buf(),
        message: "the path contains a NUL byte".into(),
    })
}

/// Rewrites `input` as `output` in `file_type` with llama.cpp's quantizer
/// (dequantizing first where needed). llama.cpp reports failure by status.
pub(crate) fn quantize(
    input: &Path,
    output: &Path,
    file_type: FileType,
    threads: u32,
) -> Result<(), TrainError> {
    let (inp, out) = (c_path(input)?, c_path(output)?);
    // SAFETY: returns a plain struct by value.
    let mut params = unsafe { sys::llama_model_quantize_default_params() };
    params.nthread = i32::try_from(threads).unwrap_or(i32::MAX);
    params.ftype = file_type.ftype();
    params.allow_requantize = true;
    // SAFETY: both paths are NUL-terminated and live across the call; `params`
    // is a valid struct whose pointer fields are the defaults' (null).
    let status = unsafe { sys::llama_model_quantize(inp.as_ptr(), out.as_ptr(), &params) };
    if status == 0 {
        Ok(())
    } else {
        Err(TrainError::Llama(format!(
            "llama.cpp could not write {} as {file_type:?} (status {status})",
            output.display()
        )))
    }
}

/// A model loaded with writable weights, for training.
pub(crate) struct TrainModel {
    ptr: NonNull<sys::llama_model>,
    /// Not `Send`: stays on the training thread.
    _not_send: PhantomData<*mut ()>,
}

impl TrainModel {
    /// Loads `path` without memory-mapping (the optimizer writes the
    /// weights), on the CPU.
    pub(crate) fn load(path: &Path) -> Result<Self, TrainError> {
        let c = c_path(path)?;
        // SAFETY: returns a plain struct by value.
        let mut params = unsafe { sys::llama_model_default_params() };
        params.load_mode = sys::LLAMA_LOAD_MODE_NONE;
        params.n_gpu_layers = 0;
        // SAFETY: `c` is NUL-terminated and outlives the call.
        let ptr = unsafe { sys::llama_model_load_from_file(c.as_ptr(), params) };
        NonNull::new(ptr)
            .map(|ptr| Self {
                ptr,
                _not_send: PhantomData,
            })
            .ok_or_else(|| {
                TrainError::Llama(format!("llama.cpp could not load {}", path.display()))
            })
    }

    /// Size of the vocabulary.
    fn n_vocab(&self) -> i32 {
        // SAFETY: the model pointer is valid (owned); the vocabulary belongs to it.
        unsafe { sys::llama_vocab_n_tokens(sys::llama_model_get_vocab(self.ptr.as_ptr())) }
    }

    /// Renders a whole conversation (no open assistant turn) with `template`,
    /// as llama.cpp renders prompts at inference.
    pub(crate) fn render(
        &self,
        template: &str,
        messages: &[ChatMessage],
    ) -> Result<String, TrainError> {
        let bad = |what: &str| TrainError::Template(format!("{what} contains a NUL byte"));
        let tmpl = CString::new(template).map_err(|_| bad("the chat template"))?;
        let roles = messages
            .iter()
            .map(|m| {
                CString::new(match m.role {
                    Role::System => "system",
                    Role::User => "user",
                    Role::Assistant => "assistant",
                })
                .map_err(|_| bad("a role"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let contents = messages
            .iter()
            .map(|m| CString::new(m.content.as_str()).map_err(|_| bad("a message")))
            .collect::<Result<Vec<_>, _>>()?;
        let chat: Vec<sys::llama_chat_message> = roles
            .iter()
            .zip(&contents)
            .map(|(role, content)| sys::llama_chat_message {
                role: role.as_ptr(),
                content: content.as_ptr(),
            })
            .collect();
        let mut len: usize = contents.iter().map(|c| c.as_bytes().len()).sum::<usize>() * 2 + 256;
        for _ in 0..2 {
            let mut buf = vec![0u8; len];
            let cap = i32::try_from(len).map_err(|_| bad("a conversation too long;"))?;
            // SAFETY: `tmpl`, every role and content string live across the call
            // (owned by the vectors above); `buf` has `cap` writable bytes.
            let n = unsafe {
                sys::llama_chat_apply_template(
                    tmpl.as_ptr(),
                    chat.as_ptr(),
                    chat.len(),
                    false,
                    buf.as_mut_ptr().cast::<c_char>(),
                    cap,
                )
            };
            let Ok(n) = usize::try_from(n) else {
                return Err(TrainError::Template(
                    "llama.cpp does not support the model's chat template".into(),
                ));
            };
            if n <= len {
                buf.truncate(n);
                return String::from_utf8(buf)
                    .map_err(|_| TrainError::Template("the rendered chat is not UTF-8".into()));
            }
            len = n;
        }
        Err(TrainError::Template(
            "llama.cpp kept asking for a larger buffer".into(),
        ))
    }

    /// Tokenizes `text` as inference does: special tokens added and parsed.
    pub(crate) fn tokenize(&self, text: &str) -> Result<Vec<i32>, TrainError> {
        let n_text = i32::try_from(text.len())
            .map_err(|_| TrainError::Template("a training example is too long".into()))?;
        // SAFETY: the model pointer is valid (owned).
        let vocab = unsafe { sys::llama_model_get_vocab(self.ptr.as_ptr()) };
        let mut cap = text.len() + 16;
        for _ in 0..2 {
            let mut tokens = vec![0i32; cap];
            let n_cap = i32::try_from(cap)
                .map_err(|_| TrainError::Template("a training example is too long".into()))?;
            // SAFETY: `text` is valid for `n_text` bytes (no NUL needed, the
            // length is given); `tokens` has `n_cap` writable slots.
            let n = unsafe {
                sys::llama_tokenize(
                    vocab,
                    text.as_ptr().cast::<c_char>(),
                    n_text,
                    tokens.as_mut_ptr(),
                    n_cap,
                    true,
                    true,
                )
            };
            if n >= 0 {
                tokens.truncate(n as usize);
                let n_vocab = self.n_vocab();
                if tokens.iter().any(|&t| t < 0 || t >= n_vocab) {
                    return Err(TrainError::Llama(
                        "the tokenizer gave a token outside the vocabulary".into(),
                    ));
                }
                return Ok(tokens);
            }
            cap = n.unsigned_abs() as usize;
        }
        Err(TrainError::Llama(
            "llama.cpp kept asking for a larger token buffer".into(),
        ))
    }
}

impl Drop for TrainModel {
    fn drop(&mut self) {
        // SAFETY: owned pointer, freed once; any `Trainer` borrowing it is gone.
        unsafe { sys::llama_model_free(self.ptr.as_ptr()) }
    }
}

/// The optimizer's settings, read by llama.cpp before every optimizer step.
#[repr(C)]
struct OptSettings {
    learning_rate: f32,
}

/// Called by llama.cpp before each optimizer step, with the `OptSettings`
/// box of the [`Trainer`] that owns the context.
unsafe extern "C" fn optimizer_params(userdata: *mut c_void) -> sys::ggml_opt_optimizer_params {
    // SAFETY: returns a plain struct by value; userdata is unused by it.
    let mut p = unsafe { sys::ggml_opt_get_default_optimizer_params(std::ptr::null_mut()) };
    // SAFETY: `userdata` is the `OptSettings` box the `Trainer` keeps alive
    // for as long as its context (the only caller) lives.
    let settings = unsafe { &*userdata.cast::<OptSettings>() };
    p.adamw.alpha = settings.learning_rate;
    p.adamw.wd = 0.0;
    p.sgd.alpha = settings.learning_rate;
    p.sgd.wd = 0.0;
    p
}

/// An owned `ggml_opt_dataset` of `ndata` windows of `n_ctx` token ids
/// (inputs) and as many next-token ids (labels).
struct Dataset {
    ptr: sys::ggml_opt_dataset_t,
    n_ctx: usize,
    ndata: usize,
}

impl Dataset {
    fn new(n_ctx: usize, ndata: usize) -> Result<Self, TrainError> {
        let (ne, nd) = (
            i64::try_from(n_ctx).map_err(|_| TrainError::Llama("context too large".into()))?,
            i64::try_from(ndata).map_err(|_| TrainError::Llama("too many windows".into()))?,
        );
        // SAFETY: plain values; llama.cpp allocates host memory for both tensors.
        let ptr = unsafe {
            sys::ggml_opt_dataset_init(sys::GGML_TYPE_I32, sys::GGML_TYPE_I32, ne, ne, nd, 1)
        };
        if ptr.is_null() {
            return Err(TrainError::Llama(
                "llama.cpp could not allocate a dataset".into(),
            ));
        }
        Ok(Self { ptr, n_ctx, ndata })
    }

    /// Writes window `i`: `tokens` has `n_ctx + 1` ids; the inputs are the
    /// first `n_ctx`, the labels the last `n_ctx`.
    fn set(&mut self, i: usize, tokens: &[i32]) {
        assert!(i < self.ndata && tokens.len() == self.n_ctx + 1);
        // SAFETY: both tensors are host I32 tensors of `n_ctx × ndata`
        // elements (created above); we write `n_ctx` elements at window `i`.
        unsafe {
            let data = (*sys::ggml_opt_dataset_data(self.ptr)).data.cast::<i32>();
            let labels = (*sys::ggml_opt_dataset_labels(self.ptr)).data.cast::<i32>();
            std::ptr::copy_nonoverlapping(tokens.as_ptr(), data.add(i * self.n_ctx), self.n_ctx);
            std::ptr::copy_nonoverlapping(
                tokens.as_ptr().add(1),
                labels.add(i * self.n_ctx),
                self.n_ctx,
            );
        }
    }
}

impl Drop for Dataset {
    fn drop(&mut self) {
        // SAFETY: owned, freed once.
        unsafe { sys::ggml_opt_dataset_free(self.ptr) }
    }
}

/// One decode of a single token in `ctx`, then an empty memory: what makes
/// llama.cpp hand the context's thread count to its CPU backend.
fn warm_up(ctx: NonNull<sys::llama_context>, model: &TrainModel) -> Result<(), TrainError> {
    // SAFETY: the model pointer is valid (owned); the vocabulary belongs to it.
    let vocab = unsafe { sys::llama_model_get_vocab(model.ptr.as_ptr()) };
    // SAFETY: `vocab` is valid for the model's life.
    let (bos, eos) = unsafe { (sys::llama_vocab_bos(vocab), sys::llama_vocab_eos(vocab)) };
    let mut token = [if bos >= 0 {
        bos
    } else if eos >= 0 {
        eos
    } else {
        0
    }];
    // SAFETY: `token` outlives the decode (the batch only points at it); the
    // context is valid and its batch size (n_ctx ≥ 256) holds one token.
    let rc = unsafe {
        let batch = sys::llama_batch_get_one(token.as_mut_ptr(), 1);
        let rc = sys::llama_decode(ctx.as_ptr(), batch);
        sys::llama_synchronize(ctx.as_ptr());
        sys::llama_memory_clear(sys::llama_get_memory(ctx.as_ptr()), true);
        rc
    };
    if rc != 0 {
        return Err(TrainError::Llama(format!(
            "llama.cpp could not run the warm-up decode (status {rc})"
        )));
    }
    Ok(())
}

/// An owned `ggml_opt_result` (the loss of the batches it saw).
struct OptResult(sys::ggml_opt_result_t);

impl OptResult {
    fn new() -> Self {
        // SAFETY: allocates a fresh result.
        Self(unsafe { sys::ggml_opt_result_init() })
    }

    fn reset(&mut self) {
        // SAFETY: owned, valid.
        unsafe { sys::ggml_opt_result_reset(self.0) }
    }

    /// Mean loss per token over what it saw.
    fn loss(&self) -> f64 {
        let (mut loss, mut unc) = (0.0f64, 0.0f64);
        // SAFETY: owned, valid; both out-pointers are valid locals.
        unsafe { sys::ggml_opt_result_loss(self.0, &mut loss, &mut unc) };
        loss
    }
}

impl Drop for OptResult {
    fn drop(&mut self) {
        // SAFETY: owned, freed once.
        unsafe { sys::ggml_opt_result_free(self.0) }
    }
}

/// A llama.cpp context set up for training `model`: context = batch =
/// micro-batch (so that the K and V projections get gradients), F32 K/V
/// cache, AdamW with a constant learning rate and no weight decay.
pub(crate) struct Trainer<'m> {
    ctx: NonNull<sys::llama_context>,
    model: *mut sys::llama_model,
    n_ctx: usize,
    step_data: Dataset,
    train_result: OptResult,
    eval_result: OptResult,
    // Read by `optimizer_params` through the context; dropped after it.
    _settings: Box<OptSettings>,
    _model: PhantomData<&'m mut TrainModel>,
}

impl<'m> Trainer<'m> {
    pub(crate) fn new(
        model: &'m mut TrainModel,
        n_ctx: u32,
        threads: u32,
        learning_rate: f32,
    ) -> Result<Self, TrainError> {
        // SAFETY: returns a plain struct by value.
        let mut params = unsafe { sys::llama_context_default_params() };
        params.n_ctx = n_ctx;
        params.n_batch = n_ctx;
        params.n_ubatch = n_ctx;
        params.n_seq_max = 1;
        let threads = i32::try_from(threads.max(1)).unwrap_or(1);
        params.n_threads = threads;
        params.n_threads_batch = threads;
        // OUT_PROD has no F16 backward pass: the cache must be F32.
        params.type_k = sys::GGML_TYPE_F32;
        params.type_v = sys::GGML_TYPE_F32;
        params.flash_attn_type = sys::LLAMA_FLASH_ATTN_TYPE_DISABLED;
        // SAFETY: the model pointer is valid and outlives the context
        // (borrowed for 'm).
        let ctx = unsafe { sys::llama_init_from_model(model.ptr.as_ptr(), params) };
        let ctx = NonNull::new(ctx).ok_or_else(|| {
            TrainError::Llama("llama.cpp could not create a training context".into())
        })?;
        // SAFETY: valid context.
        let actual = unsafe { sys::llama_n_ctx(ctx.as_ptr()) };
        if actual != n_ctx {
            // SAFETY: created above, freed once.
            unsafe { sys::llama_free(ctx.as_ptr()) };
            return Err(TrainError::Params(format!(
                "llama.cpp made the context {actual} tokens instead of {n_ctx}; the training context must be a multiple of 256"
            )));
        }
        // llama.cpp gives the CPU backend its thread count only when it
        // decodes; training never decodes, so the backend would keep ggml's
        // default of 4 threads (on a 2-core machine: 4 threads fighting for
        // 2 cores, about 8 % slower). llama-finetune sets it through the
        // warm-up decode of `common_init_from_params`; do the same: decode
        // BOS (or EOS, or token 0) once, then forget it.
        if let Err(e) = warm_up(ctx, model) {
            // SAFETY: created above, freed once.
            unsafe { sys::llama_free(ctx.as_ptr()) };
            return Err(e);
        }
        let mut settings = Box::new(OptSettings { learning_rate });
        let opt = sys::llama_opt_params {
            n_ctx_train: 0,
            param_filter: Some(sys::llama_opt_param_filter_all),
            param_filter_ud: std::ptr::null_mut(),
            get_opt_pars: Some(optimizer_params),
            get_opt_pars_ud: std::ptr::from_mut::<OptSettings>(&mut *settings).cast::<c_void>(),
            optimizer_type: sys::GGML_OPT_OPTIMIZER_TYPE_ADAMW,
        };
        // SAFETY: context and model are valid; this is the context's first and
        // only `llama_opt_init`; the settings box outlives the context (field
        // order: it is dropped after `ctx` is freed in `Drop`).
        unsafe { sys::llama_opt_init(ctx.as_ptr(), model.ptr.as_ptr(), opt) };
        let n = n_ctx as usize;
        Ok(Self {
            ctx,
            model: model.ptr.as_ptr(),
            n_ctx: n,
            step_data: Dataset::new(n, 1)?,
            train_result: OptResult::new(),
            eval_result: OptResult::new(),
            _settings: settings,
            _model: PhantomData,
        })
    }

    /// One optimizer step on one window of `n_ctx + 1` tokens; its loss.
    pub(crate) fn step(&mut self, window: &[i32]) -> f64 {
        self.step_data.set(0, window);
        self.train_result.reset();
        self.eval_result.reset();
        // SAFETY: context, dataset and results are valid and owned; the
        // dataset's windows are `n_ctx` long, the context's size; the whole
        // dataset (1 window) is trained on.
        unsafe {
            sys::llama_opt_epoch(
                self.ctx.as_ptr(),
                self.step_data.ptr,
                self.train_result.0,
                self.eval_result.0,
                1,
                None,
                None,
            );
        }
        self.train_result.loss()
    }

    /// Mean loss per token over `windows` (each `n_ctx + 1` tokens), without
    /// training.
    pub(crate) fn evaluate(&mut self, windows: &[Vec<i32>]) -> Result<f64, TrainError> {
        let mut data = Dataset::new(self.n_ctx, windows.len())?;
        for (i, w) in windows.iter().enumerate() {
            data.set(i, w);
        }
        self.train_result.reset();
        self.eval_result.reset();
        // SAFETY: as in `step`; idata_split 0 evaluates every window.
        unsafe {
            sys::llama_opt_epoch(
                self.ctx.as_ptr(),
                data.ptr,
                self.train_result.0,
                self.eval_result.0,
                0,
                None,
                None,
            );
        }
        Ok(self.eval_result.loss())
    }

    /// Saves the model as trained so far (F32, with llama.cpp's own subset
    /// of the metadata).
    pub(crate) fn save(&self, path: &Path) -> Result<(), TrainError> {
        let c = c_path(path)?;
        // SAFETY: the model is valid; `c` outlives the call.
        unsafe { sys::llama_model_save_to_file(self.model, c.as_ptr()) };
        if path.is_file() {
            Ok(())
        } else {
            Err(TrainError::Io {
                path: path.to_path_buf(),
                message: "llama.cpp did not write the model".into(),
            })
        }
    }
}

impl Drop for Trainer<'_> {
    fn drop(&mut self) {
        // SAFETY: owned context, freed once, before its settings box and
        // before the borrowed model.
        unsafe { sys::llama_free(self.ctx.as_ptr()) }
    }
}

/// llama.cpp's build and CPU features, for a model's lineage.
pub(crate) fn system_info() -> String {
    // SAFETY: returns a static NUL-terminated string.
    unsafe { CStr::from_ptr(sys::llama_print_system_info()) }
        .to_string_lossy()
        .trim()
        .to_owned()
}

/// A GGUF file's metadata, read with llama.cpp's own reader (no tensor data).
struct GgufFile {
    ptr: NonNull<sys::gguf_context>,
}

impl GgufFile {
    fn open(path: &Path) -> Result<Self, TrainError> {
        let c = c_path(path)?;
        let params = sys::gguf_init_params {
            no_alloc: true,
            ctx: std::ptr::null_mut(),
        };
        // SAFETY: `c` outlives the call; no ggml context is requested.
        let ptr = unsafe { sys::gguf_init_from_file(c.as_ptr(), params) };
        NonNull::new(ptr).map(|ptr| Self { ptr }).ok_or_else(|| {
            TrainError::Llama(format!("llama.cpp could not read {}", path.display()))
        })
    }

    fn keys(&self) -> Vec<(i64, String)> {
        // SAFETY: valid context; key ids are below `gguf_get_n_kv`; keys are
        // NUL-terminated strings owned by the context.
        unsafe {
            (0..sys::gguf_get_n_kv(self.ptr.as_ptr()))
                .map(|i| {
                    let k = CStr::from_ptr(sys::gguf_get_key(self.ptr.as_ptr(), i));
                    (i, k.to_string_lossy().into_owned())
                })
                .collect()
        }
    }

    fn find(&self, key: &str) -> Option<i64> {
        let c = CString::new(key).ok()?;
        // SAFETY: valid context, NUL-terminated key.
        let id = unsafe { sys::gguf_find_key(self.ptr.as_ptr(), c.as_ptr()) };
        (id >= 0).then_some(id)
    }

    fn get_str(&self, key: &str) -> Option<String> {
        let id = self.find(key)?;
        // SAFETY: valid context and key id; the value is checked to be a string.
        unsafe {
            (sys::gguf_get_kv_type(self.ptr.as_ptr(), id) == sys::GGUF_TYPE_STRING).then(|| {
                CStr::from_ptr(sys::gguf_get_val_str(self.ptr.as_ptr(), id))
                    .to_string_lossy()
                    .into_owned()
            })
        }
    }

    /// Copies key `id` of `from` into this file's metadata (replacing a key
    /// of the same name). Returns false for a type it does not copy.
    fn copy_key(&mut self, from: &GgufFile, id: i64, key: &str) -> bool {
        let Ok(k) = CString::new(key) else {
            return false;
        };
        let (dst, src) = (self.ptr.as_ptr(), from.ptr.as_ptr());
        // SAFETY: both contexts are valid; `id` is a key id of `src`; each
        // getter is called only for its own type (checked by the match); the
        // setters copy what they are given; string pointers are owned by `src`
        // and outlive the calls.
        unsafe {
            match sys::gguf_get_kv_type(src, id) {
                sys::GGUF_TYPE_STRING => {
                    sys::gguf_set_val_str(dst, k.as_ptr(), sys::gguf_get_val_str(src, id));
                }
                sys::GGUF_TYPE_UINT32 => {
                    sys::gguf_set_val_u32(dst, k.as_ptr(), sys::gguf_get_val_u32(src, id))
                }
                sys::GGUF_TYPE_INT32 => {
                    sys::gguf_set_val_i32(dst, k.as_ptr(), sys::gguf_get_val_i32(src, id))
                }
                sys::GGUF_TYPE_UINT64 => {
                    sys::gguf_set_val_u64(dst, k.as_ptr(), sys::gguf_get_val_u64(src, id))
                }
                sys::GGUF_TYPE_INT64 => {
                    sys::gguf_set_val_i64(dst, k.as_ptr(), sys::gguf_get_val_i64(src, id))
                }
                sys::GGUF_TYPE_FLOAT32 => {
                    sys::gguf_set_val_f32(dst, k.as_ptr(), sys::gguf_get_val_f32(src, id))
                }
                sys::GGUF_TYPE_FLOAT64 => {
                    sys::gguf_set_val_f64(dst, k.as_ptr(), sys::gguf_get_val_f64(src, id))
                }
                sys::GGUF_TYPE_BOOL => {
                    sys::gguf_set_val_bool(dst, k.as_ptr(), sys::gguf_get_val_bool(src, id))
                }
                sys::GGUF_TYPE_UINT8 => {
                    sys::gguf_set_val_u8(dst, k.as_ptr(), sys::gguf_get_val_u8(src, id))
                }
                sys::GGUF_TYPE_INT8 => {
                    sys::gguf_set_val_i8(dst, k.as_ptr(), sys::gguf_get_val_i8(src, id))
                }
                sys::GGUF_TYPE_UINT16 => {
                    sys::gguf_set_val_u16(dst, k.as_ptr(), sys::gguf_get_val_u16(src, id))
                }
                sys::GGUF_TYPE_INT16 => {
                    sys::gguf_set_val_i16(dst, k.as_ptr(), sys::gguf_get_val_i16(src, id))
                }
                sys::GGUF_TYPE_ARRAY => {
                    let n = sys::gguf_get_arr_n(src, id);
                    let ty = sys::gguf_get_arr_type(src, id);
                    if ty == sys::GGUF_TYPE_STRING {
                        let mut items: Vec<*const c_char> =
                            (0..n).map(|i| sys::gguf_get_arr_str(src, id, i)).collect();
                        sys::gguf_set_arr_str(dst, k.as_ptr(), items.as_mut_ptr(), n);
                    } else if ty == sys::GGUF_TYPE_ARRAY {
                        return false;
                    } else {
                        sys::gguf_set_arr_data(
                            dst,
                            k.as_ptr(),
                            ty,
                            sys::gguf_get_arr_data(src, id),
                            n,
                        );
                    }
                }
                _ => return false,
            }
        }
        true
    }
}

impl Drop for GgufFile {
    fn drop(&mut self) {
        // SAFETY: owned, freed once.
        unsafe { sys::gguf_free(self.ptr.as_ptr()) }
    }
}

/// Which of the base model's keys the trained file gets back: everything
/// llama.cpp's saver drops or rewrites that describes the model rather than
/// its tensors.
fn restored_key(key: &str, arch: &str) -> bool {
    const OWN: [&str; 3] = [
        "general.file_type",
        "general.quantization_version",
        "general.alignment",
    ];
    (key.starts_with("general.") && !OWN.contains(&key))
        || key == "tokenizer.chat_template"
        || key.starts_with("tokenizer.chat_template.")
        || key == format!("{arch}.context_length")
}

/// Writes `output`: the tensors of `trained` with its metadata, plus the keys
/// of `base` that llama.cpp's saver drops (the chat template, the real context
/// length, the `general.*` keys). Returns the keys restored.
pub(crate) fn restore_metadata(
    base: &Path,
    trained: &Path,
    output: &Path,
) -> Result<Vec<String>, TrainError> {
    let base_file = GgufFile::open(base)?;
    let mut file = GgufFile::open(trained)?;
    let arch = file.get_str("general.architecture").unwrap_or_default();
    // SAFETY: valid context.
    let data_offset = unsafe { sys::gguf_get_data_offset(file.ptr.as_ptr()) };
    let mut restored = Vec::new();
    for (id, key) in base_file.keys() {
        if restored_key(&key, &arch) && file.copy_key(&base_file, id, &key) {
            restored.push(key);
        }
    }
    let c = c_path(output)?;
    // SAFETY: valid context; `c` outlives the call. Only the metadata (padded
    // to the alignment) is written; the tensor data follows below.
    let written = unsafe { sys::gguf_write_to_file(file.ptr.as_ptr(), c.as_ptr(), true) };
    let io = |e: std::io::Error| TrainError::Io {
        path: output.to_path_buf(),
        message: e.to_string(),
    };
    if !written {
        return Err(TrainError::Io {
            path: output.to_path_buf(),
            message: "llama.cpp could not write the metadata".into(),
        });
    }
    // Tensor offsets are relative to the data section, so the data of the
    // trained file is appended unchanged.
    let mut src = std::fs::File::open(trained).map_err(io)?;
    std::io::Seek::seek(&mut src, std::io::SeekFrom::Start(data_offset as u64)).map_err(io)?;
    let mut dst = std::fs::OpenOptions::new()
        .append(true)
        .open(output)
        .map_err(io)?;
    std::io::copy(&mut src, &mut dst).map_err(io)?;
    dst.sync_all().map_err(io)?;
    Ok(restored)
}
