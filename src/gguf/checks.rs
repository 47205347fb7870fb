//! Checks for what llama.cpp asserts on: files that read as sound GGUF but
//! that would abort the whole process (a `GGML_ASSERT`, i.e. SIGABRT) when
//! llama.cpp loads them, refused with the metadata key at fault named.
//!
//! Each check mirrors an assert of the llama.cpp vendored by the pinned
//! `llama-cpp-sys-2` (0.1.161): `llama_model_base::load_hparams` in
//! `llama.cpp/src/llama-model.cpp` and `llama_vocab::impl::load` in
//! `llama.cpp/src/llama-vocab.cpp`. A few things llama.cpp refuses cleanly are
//! checked too, so that the message names the key: a missing architecture or
//! layer count, and a layer count that disagrees with the tensors. Nothing
//! llama.cpp accepts is refused (a model without tokenizer arrays, say).

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};

use super::{GgufErrorKind, GgufInfo, MetaValue, TensorInfo};

/// `LLAMA_MAX_LAYERS` in `llama.cpp/src/llama-hparams.h`.
pub(super) const LLAMA_MAX_LAYERS: u64 = 512;
/// `LLAMA_MAX_EXPERTS` in `llama.cpp/src/llama-hparams.h`.
const LLAMA_MAX_EXPERTS: u64 = 1024;
/// The names in `LLAMA_ROPE_SCALING_TYPES` (`llama.cpp/src/llama-model.cpp`).
const ROPE_SCALING_TYPES: [&str; 4] = ["none", "linear", "yarn", "longrope"];
/// The metadata key of the vocabulary's token strings.
pub(super) const TOKENS_KEY: &str = "tokenizer.ggml.tokens";
/// The most characters of a name or token quoted in a message.
const QUOTE_CHARS: usize = 40;

/// What the checks need from the arrays that the reader otherwise skips.
#[derive(Debug, Default)]
pub(super) struct ArrayFacts {
    /// The strings of the first `tokenizer.ggml.tokens`, if it is a string array.
    pub(super) tokens: Option<TokenSet>,
    /// The largest value (as llama.cpp reads it, a `u32`) of each per-layer
    /// `*.expert_used_count` array that llama.cpp could read.
    pub(super) expert_used_max: Vec<(String, u32)>,
}

/// The token strings seen so far, as llama.cpp keys them, and the first repeat.
#[derive(Debug, Default)]
pub(super) struct TokenSet {
    /// A 128-bit hash of each token, with its index. A false repeat needs a
    /// collision of two independent 64-bit SipHashes: it would only refuse a
    /// file, and it is far less likely than a disk error.
    seen: HashMap<u128, u64>,
    repeat: Option<Repeat>,
}

/// A token whose string an earlier token already has.
#[derive(Debug)]
struct Repeat {
    index: u64,
    first: u64,
    quoted: String,
}

impl TokenSet {
    /// An empty set with room for `n` tokens (the caller bounds `n`).
    pub(super) fn with_capacity(n: usize) -> Self {
        TokenSet {
            seen: HashMap::with_capacity(n),
            repeat: None,
        }
    }

    /// Notes token `index`. llama.cpp keys a token by its string up to the
    /// first NUL (it copies a C string), and an empty one as `[EMPTY_{index}]`.
    pub(super) fn add(&mut self, index: u64, bytes: &[u8]) {
        if self.repeat.is_some() {
            return;
        }
        let text = bytes.split(|&b| b == 0).next().unwrap_or_default();
        let empty_name;
        let text = if text.is_empty() {
            empty_name = format!("[EMPTY_{index}]");
            empty_name.as_bytes()
        } else {
            text
        };
        if let Some(&first) = self.seen.get(&hash128(text)) {
            self.repeat = Some(Repeat {
                index,
                first,
                quoted: quote(text),
            });
        } else {
            self.seen.insert(hash128(text), index);
        }
    }
}

/// Two SipHashes of `bytes`, salted differently.
fn hash128(bytes: &[u8]) -> u128 {
    let half = |salt: u8| {
        let mut h = DefaultHasher::new();
        salt.hash(&mut h);
        bytes.hash(&mut h);
        h.finish()
    };
    (u128::from(half(0)) << 64) | u128::from(half(1))
}

/// `bytes` in quotes, cut to [`QUOTE_CHARS`] characters, escaped.
fn quote(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut chars = text.chars();
    let head: String = chars.by_ref().take(QUOTE_CHARS).collect();
    let more = if chars.next().is_some() { "…" } else { "" };
    format!("\"{}{more}\"", head.escape_debug())
}

fn unloadable(key: &str, reason: impl Into<String>) -> GgufErrorKind {
    GgufErrorKind::Unloadable {
        key: key.to_string(),
        reason: reason.into(),
    }
}

/// Refuses a parsed header that llama.cpp would abort on.
pub(super) fn check_loadable(
    info: &GgufInfo,
    tensors: &[TensorInfo],
    facts: &ArrayFacts,
) -> Result<(), GgufErrorKind> {
    if info.tensor_count == 0 {
        return Err(unloadable(
            "tensor_count",
            "is 0: the file holds no weights, and llama.cpp needs a model's tensors",
        ));
    }
    let arch = architecture(info)?;
    let n_layer = block_count(info, arch)?;
    layers_match_tensors(arch, n_layer, tensors)?;
    experts(info, arch, n_layer, facts)?;
    rope_scaling(info, arch)?;
    distinct_tokens(info, facts)
}

/// `general.architecture`, which llama.cpp needs to find every other key.
fn architecture(info: &GgufInfo) -> Result<&str, GgufErrorKind> {
    let key = "general.architecture";
    match info.get(key) {
        Some(MetaValue::String(arch)) => Ok(arch),
        Some(v) => Err(unloadable(
            key,
            format!(
                "is {}: llama.cpp needs the model's architecture",
                describe(v)
            ),
        )),
        None => Err(unloadable(
            key,
            "is missing: llama.cpp needs the model's architecture",
        )),
    }
}

/// A value, for a message: an integer or a quoted string as it is, any
/// other type by name.
fn describe(v: &MetaValue) -> String {
    match v {
        MetaValue::String(s) => quote(s.as_bytes()),
        MetaValue::I8(n) => n.to_string(),
        MetaValue::I16(n) => n.to_string(),
        MetaValue::I32(n) => n.to_string(),
        MetaValue::I64(n) => n.to_string(),
        other => match other.as_u64() {
            Some(n) => n.to_string(),
            None => format!("a value of type {}", other.type_name()),
        },
    }
}

/// The count under `key`, `None` when absent; anything but a non-negative
/// integer is refused, saying that llama.cpp `needs` something else.
fn count(info: &GgufInfo, key: &str, needs: &str) -> Result<Option<u64>, GgufErrorKind> {
    match info.get(key) {
        None => Ok(None),
        Some(v) => v
            .as_u64()
            .map(Some)
            .ok_or_else(|| unloadable(key, format!("is {}: llama.cpp needs {needs}", describe(v)))),
    }
}

/// `{arch}.block_count`: required, between 1 and `LLAMA_MAX_LAYERS`
/// (`GGML_ASSERT(hparams.n_layer_all > 0 && hparams.n_layer_all <= LLAMA_MAX_LAYERS)`).
fn block_count(info: &GgufInfo, arch: &str) -> Result<u64, GgufErrorKind> {
    let key = format!("{arch}.block_count");
    let needs = format!("an integer between 1 and {LLAMA_MAX_LAYERS} (the number of layers)");
    match count(info, &key, &needs)? {
        None => Err(unloadable(
            &key,
            format!("is missing: llama.cpp needs {needs}"),
        )),
        Some(n) if (1..=LLAMA_MAX_LAYERS).contains(&n) => Ok(n),
        Some(n) => Err(unloadable(&key, format!("is {n}: llama.cpp needs {needs}"))),
    }
}

/// The layer of a `blk.N.…` tensor (`u64::MAX` when N is too large to read).
fn layer_of(name: &str) -> Option<u64> {
    let (digits, _) = name.strip_prefix("blk.")?.split_once('.')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(digits.parse().unwrap_or(u64::MAX))
}

/// The `blk.N.` tensors must be the layers `0..n_layer`: llama.cpp looks for
/// each layer's tensors and refuses leftovers.
fn layers_match_tensors(
    arch: &str,
    n_layer: u64,
    tensors: &[TensorInfo],
) -> Result<(), GgufErrorKind> {
    let key = format!("{arch}.block_count");
    let layers = tensors
        .iter()
        .filter_map(|t| layer_of(&t.name).map(|layer| (layer, t)));
    // Reversed, so that the first tensor of the top layer is the one named.
    let Some((top, t)) = layers.rev().max_by_key(|(layer, _)| *layer) else {
        return Ok(());
    };
    // `n_layer` is at least 1 (see `block_count`); `top` may be u64::MAX.
    if top != n_layer - 1 {
        return Err(unloadable(
            &key,
            format!(
                "is {n_layer} but the tensors go up to layer {top} (tensor {}): \
                 llama.cpp needs one layer per block",
                quote(t.name.as_bytes())
            ),
        ));
    }
    Ok(())
}

/// `{arch}.expert_used_count` as llama.cpp reads it: a count, or a per-layer
/// array whose largest value is what it checks (`n_expert_used_max`). An
/// array it cannot read (wrong type or length) it refuses cleanly: `None`.
fn experts_used(
    info: &GgufInfo,
    key: &str,
    facts: &ArrayFacts,
) -> Result<Option<u64>, GgufErrorKind> {
    if let Some(MetaValue::Array { .. }) = info.get(key) {
        let max = facts.expert_used_max.iter().find(|(k, _)| k == key);
        return Ok(max.map(|(_, max)| u64::from(*max)));
    }
    count(info, key, "a number of experts")
}

/// The asserts on experts in `load_hparams`: at most `LLAMA_MAX_EXPERTS`;
/// with experts, between 1 and all of them used per token, and sound expert
/// groups; without, none used and no groups. Also the `nextn` layers, which
/// may not outnumber the layers.
fn experts(
    info: &GgufInfo,
    arch: &str,
    n_layer: u64,
    facts: &ArrayFacts,
) -> Result<(), GgufErrorKind> {
    let nextn_key = format!("{arch}.nextn_predict_layers");
    if let Some(n) = count(info, &nextn_key, "a number of layers")?
        && n > n_layer
    {
        return Err(unloadable(
            &nextn_key,
            format!(
                "is {n} but {arch}.block_count is {n_layer}: llama.cpp needs at most that many"
            ),
        ));
    }

    let n_key = format!("{arch}.expert_count");
    let used_key = format!("{arch}.expert_used_count");
    let mut n_expert = count(info, &n_key, "a number of experts")?;
    let mut used = experts_used(info, &used_key, facts)?;
    // llama.cpp reads at most one expert as none for these two.
    if matches!(arch, "hunyuan-dense" | "hunyuan_vl") && n_expert.unwrap_or(0) <= 1 {
        n_expert = None;
        used = None;
    }
    let n = n_expert.unwrap_or(0);
    let n_shown = n_expert.map_or_else(|| "missing (no experts)".to_string(), |n| n.to_string());
    if n > LLAMA_MAX_EXPERTS {
        return Err(unloadable(
            &n_key,
            format!("is {n}: llama.cpp allows at most {LLAMA_MAX_EXPERTS} experts"),
        ));
    }
    match used {
        Some(u) if u > n => {
            return Err(unloadable(
                &used_key,
                format!(
                    "is {u} but {n_key} is {n_shown}: llama.cpp needs at most as many experts \
                     used per token as there are experts"
                ),
            ));
        }
        Some(0) | None if n > 0 => {
            let shown = if used.is_some() { "0" } else { "missing" };
            return Err(unloadable(
                &used_key,
                format!(
                    "is {shown} but {n_key} is {n}: llama.cpp needs at least one expert used \
                     per token"
                ),
            ));
        }
        _ => {}
    }
    expert_groups(info, arch, n)
}

/// `{arch}.expert_group_count` and `{arch}.expert_group_used_count`, as
/// `load_hparams` asserts them for a model with `n_expert` experts.
fn expert_groups(info: &GgufInfo, arch: &str, n_expert: u64) -> Result<(), GgufErrorKind> {
    let key = format!("{arch}.expert_group_count");
    let used_key = format!("{arch}.expert_group_used_count");
    let groups = count(info, &key, "a number of expert groups")?.unwrap_or(0);
    let used = count(info, &used_key, "a number of expert groups")?.unwrap_or(0);
    let needs = if n_expert == 0 {
        (groups != 0).then(|| "none without experts".to_string())
    } else if groups >= n_expert {
        Some(format!("fewer than the {n_expert} experts"))
    } else if groups > 1 && !n_expert.is_multiple_of(groups) {
        Some(format!("a divisor of the {n_expert} experts"))
    } else {
        None
    };
    if let Some(needs) = needs {
        return Err(unloadable(
            &key,
            format!("is {groups}: llama.cpp needs {needs}"),
        ));
    }
    if groups > 1 && !(1..groups).contains(&used) {
        return Err(unloadable(
            &used_key,
            format!(
                "is {used}: llama.cpp needs between 1 and {} of the {groups} expert groups",
                groups - 1
            ),
        ));
    }
    Ok(())
}

/// `{arch}.rope.scaling.type`, when present, must name a scaling llama.cpp
/// knows (`GGML_ASSERT(hparams.rope_scaling_type_train != LLAMA_ROPE_SCALING_TYPE_UNSPECIFIED)`).
fn rope_scaling(info: &GgufInfo, arch: &str) -> Result<(), GgufErrorKind> {
    let key = format!("{arch}.rope.scaling.type");
    match info.get(&key) {
        None => Ok(()),
        Some(MetaValue::String(s)) if ROPE_SCALING_TYPES.contains(&s.as_str()) => Ok(()),
        Some(v) => Err(unloadable(
            &key,
            format!(
                "is {}: llama.cpp knows only {}",
                describe(v),
                ROPE_SCALING_TYPES.join(", ")
            ),
        )),
    }
}

/// The token strings must be distinct
/// (`GGML_ASSERT(id_to_token.size() == token_to_id.size())`), unless the
/// model has no vocabulary, in which case llama.cpp never reads them.
fn distinct_tokens(info: &GgufInfo, facts: &ArrayFacts) -> Result<(), GgufErrorKind> {
    let model = info.get("tokenizer.ggml.model").and_then(MetaValue::as_str);
    if matches!(model, Some("no_vocab" | "none")) {
        return Ok(());
    }
    let Some(r) = facts.tokens.as_ref().and_then(|t| t.repeat.as_ref()) else {
        return Ok(());
    };
    Err(unloadable(
        TOKENS_KEY,
        format!(
            "has token {} equal to token {} ({}): llama.cpp needs every token to be distinct",
            r.index, r.first, r.quoted
        ),
    ))
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::super::writer::{Builder, crashing, tiny_llama};
    use super::super::{T_ARRAY, T_BOOL, T_I32, T_I64, T_STRING, T_U32, read_header_from};
    use super::*;

    fn read(b: &Builder) -> Result<GgufInfo, GgufErrorKind> {
        let bytes = b.build();
        read_header_from(Cursor::new(&bytes), bytes.len() as u64)
    }

    /// The message for a file that must be refused as unloadable, naming `key`.
    #[track_caller]
    fn refused(name: &str, b: &Builder, key: &str) -> String {
        match read(b) {
            Ok(_) => panic!("{name}: accepted"),
            Err(e @ GgufErrorKind::Unloadable { .. }) => {
                let text = e.to_string();
                assert!(text.contains(key), "{name}: {key} not named in {text:?}");
                text
            }
            Err(e) => panic!("{name}: wrong error {e:?}"),
        }
    }

    fn u32_array(items: &[u32]) -> Vec<u8> {
        let e: Vec<u8> = items.iter().flat_map(|v| v.to_le_bytes()).collect();
        Builder::array(T_U32, items.len() as u64, &e)
    }

    #[test]
    fn the_tiny_model_passes() {
        let info = read(&tiny_llama()).expect("sound");
        assert_eq!(info.architecture.as_deref(), Some("llama"));
        assert_eq!(info.tensor_count, 12);
    }

    #[test]
    fn files_llama_cpp_aborts_on_are_refused_naming_the_key() {
        let files = crashing();
        assert_eq!(files.len(), 9);
        for c in files {
            refused(c.name, &c.file, c.key);
        }
    }

    #[test]
    fn messages_say_what_llama_cpp_needs() {
        let blocks = "llama.block_count";
        let cases: Vec<(Builder, &str)> = vec![
            (
                tiny_llama().kv_u32(blocks, 0),
                "llama.block_count is 0: llama.cpp needs an integer between 1 and 512 (the number of layers)",
            ),
            (
                tiny_llama().set_raw(blocks, T_I32, &(-3i32).to_le_bytes()),
                "llama.block_count is -3: llama.cpp needs an integer between 1 and 512",
            ),
            (
                tiny_llama().kv_str(blocks, "12"),
                "llama.block_count is \"12\": llama.cpp needs an integer",
            ),
            (
                tiny_llama().kv_f32(blocks, 1.0),
                "llama.block_count is a value of type f32: llama.cpp needs an integer",
            ),
            (
                tiny_llama().remove(blocks),
                "llama.block_count is missing: llama.cpp needs an integer between 1 and 512",
            ),
            (
                tiny_llama().kv_u32(blocks, 2),
                "llama.block_count is 2 but the tensors go up to layer 0 (tensor \"blk.0.attn_norm.weight\")",
            ),
            (
                tiny_llama().tensor("blk.7.extra.weight", &[4], 0),
                "llama.block_count is 1 but the tensors go up to layer 7 (tensor \"blk.7.extra.weight\")",
            ),
            (
                tiny_llama().tensor("blk.99999999999999999999.x", &[4], 0),
                "llama.block_count is 1 but the tensors go up to layer 18446744073709551615",
            ),
            (
                tiny_llama().remove("general.architecture"),
                "general.architecture is missing: llama.cpp needs the model's architecture",
            ),
            (
                tiny_llama().kv_u32("general.architecture", 7),
                "general.architecture is 7: llama.cpp needs the model's architecture",
            ),
            (
                tiny_llama().without_tensors(),
                "tensor_count is 0: the file holds no weights",
            ),
            (
                tiny_llama().kv_u32("llama.expert_count", 1025),
                "llama.expert_count is 1025: llama.cpp allows at most 1024 experts",
            ),
            (
                tiny_llama().kv_u32("llama.expert_count", 1000),
                "llama.expert_used_count is missing but llama.expert_count is 1000: llama.cpp needs at least one expert used per token",
            ),
            (
                tiny_llama()
                    .kv_u32("llama.expert_count", 8)
                    .kv_u32("llama.expert_used_count", 0),
                "llama.expert_used_count is 0 but llama.expert_count is 8",
            ),
            (
                tiny_llama().kv_u32("llama.expert_used_count", 2),
                "llama.expert_used_count is 2 but llama.expert_count is missing (no experts): llama.cpp needs at most as many experts used per token as there are experts",
            ),
            (
                tiny_llama()
                    .kv_u32("llama.expert_count", 4)
                    .kv_u32("llama.expert_used_count", 5),
                "llama.expert_used_count is 5 but llama.expert_count is 4",
            ),
            (
                tiny_llama().kv_u32("llama.expert_count", 8).set_raw(
                    "llama.expert_used_count",
                    T_ARRAY,
                    &u32_array(&[9]),
                ),
                "llama.expert_used_count is 9 but llama.expert_count is 8",
            ),
            (
                // llama.cpp reads an i32 -1 as u32::MAX.
                tiny_llama().kv_u32("llama.expert_count", 8).set_raw(
                    "llama.expert_used_count",
                    T_ARRAY,
                    &Builder::array(T_I32, 1, &(-1i32).to_le_bytes()),
                ),
                "llama.expert_used_count is 4294967295 but llama.expert_count is 8",
            ),
            (
                tiny_llama().kv_u32("llama.expert_group_count", 2),
                "llama.expert_group_count is 2: llama.cpp needs none without experts",
            ),
            (
                tiny_llama()
                    .kv_u32("llama.expert_count", 8)
                    .kv_u32("llama.expert_used_count", 2)
                    .kv_u32("llama.expert_group_count", 3),
                "llama.expert_group_count is 3: llama.cpp needs a divisor of the 8 experts",
            ),
            (
                tiny_llama()
                    .kv_u32("llama.expert_count", 8)
                    .kv_u32("llama.expert_used_count", 2)
                    .kv_u32("llama.expert_group_count", 4)
                    .kv_u32("llama.expert_group_used_count", 4),
                "llama.expert_group_used_count is 4: llama.cpp needs between 1 and 3 of the 4 expert groups",
            ),
            (
                tiny_llama().kv_u32("llama.nextn_predict_layers", 2),
                "llama.nextn_predict_layers is 2 but llama.block_count is 1",
            ),
            (
                tiny_llama().kv_str("llama.rope.scaling.type", "bogus"),
                "llama.rope.scaling.type is \"bogus\": llama.cpp knows only none, linear, yarn, longrope",
            ),
            (
                tiny_llama().kv_u32("llama.rope.scaling.type", 1),
                "llama.rope.scaling.type is 1: llama.cpp knows only",
            ),
            (
                tiny_llama().kv_str_array(TOKENS_KEY, &["<unk>", "x", "<s>", "x"]),
                "tokenizer.ggml.tokens has token 3 equal to token 1 (\"x\"): llama.cpp needs every token to be distinct",
            ),
            (
                // llama.cpp keys a token up to its first NUL.
                tiny_llama().kv_str_array(TOKENS_KEY, &["a\0b", "a\0c"]),
                "has token 1 equal to token 0 (\"a\")",
            ),
            (
                // An empty token is keyed as "[EMPTY_i]".
                tiny_llama().kv_str_array(TOKENS_KEY, &["", "[EMPTY_0]"]),
                "has token 1 equal to token 0 (\"[EMPTY_0]\")",
            ),
        ];
        for (b, expected) in cases {
            let text = match read(&b) {
                Err(e @ GgufErrorKind::Unloadable { .. }) => e.to_string(),
                other => panic!("{expected}: {other:?}"),
            };
            assert!(text.contains(expected), "{text:?}\nexpected {expected:?}");
        }
    }

    #[test]
    fn a_long_repeated_token_is_quoted_short() {
        let long = "é".repeat(5000);
        let b = tiny_llama().kv_str_array(TOKENS_KEY, &[&long, "b", &long]);
        let text = refused("long token", &b, TOKENS_KEY);
        assert!(
            text.contains(&format!("(\"{}…\")", "é".repeat(40))),
            "{text}"
        );
        assert!(text.len() < 300, "{text}");
    }

    #[test]
    fn what_llama_cpp_accepts_passes() {
        let sound: Vec<(&str, Builder)> = vec![
            ("no tokenizer arrays", tiny_llama().remove(TOKENS_KEY)),
            (
                "repeated tokens without a vocabulary",
                tiny_llama()
                    .kv_str("tokenizer.ggml.model", "no_vocab")
                    .kv_str_array(TOKENS_KEY, &["a", "a"]),
            ),
            (
                "tokens that are not strings",
                tiny_llama().set_raw(TOKENS_KEY, T_ARRAY, &u32_array(&[1, 1])),
            ),
            (
                "a repeat in a second tokens entry",
                tiny_llama().kv_raw(
                    TOKENS_KEY.as_bytes(),
                    T_ARRAY,
                    &Builder::array(T_STRING, 2, b"\x01\0\0\0\0\0\0\0a\x01\0\0\0\0\0\0\0a"),
                ),
            ),
            (
                "block_count as an i64",
                tiny_llama().set_raw("llama.block_count", T_I64, &1i64.to_le_bytes()),
            ),
            (
                "a mixture of experts",
                tiny_llama()
                    .kv_u32("llama.expert_count", 1024)
                    .kv_u32("llama.expert_used_count", 8)
                    .kv_u32("llama.expert_group_count", 8)
                    .kv_u32("llama.expert_group_used_count", 4),
            ),
            (
                "experts used per layer",
                tiny_llama().kv_u32("llama.expert_count", 8).set_raw(
                    "llama.expert_used_count",
                    T_ARRAY,
                    &u32_array(&[2]),
                ),
            ),
            (
                "experts used per layer, as booleans",
                tiny_llama().kv_u32("llama.expert_count", 8).set_raw(
                    "llama.expert_used_count",
                    T_ARRAY,
                    &Builder::array(T_BOOL, 1, &[1]),
                ),
            ),
            (
                "one expert in a dense hunyuan",
                tiny_llama()
                    .kv_str("general.architecture", "hunyuan-dense")
                    .kv_u32("hunyuan-dense.block_count", 1)
                    .kv_u32("hunyuan-dense.expert_count", 1),
            ),
            (
                "yarn scaling",
                tiny_llama().kv_str("llama.rope.scaling.type", "yarn"),
            ),
            (
                "no layer tensors",
                Builder::new()
                    .kv_str("general.architecture", "wavtokenizer-dec")
                    .kv_u32("wavtokenizer-dec.block_count", 12)
                    .tensor("posnet.0.norm.weight", &[4], 0),
            ),
        ];
        for (name, b) in sound {
            if let Err(e) = read(&b) {
                panic!("{name}: refused: {e}");
            }
        }
    }

    #[test]
    fn layer_of_reads_only_block_tensors() {
        assert_eq!(layer_of("blk.0.attn_q.weight"), Some(0));
        assert_eq!(layer_of("blk.31.ffn_up.weight"), Some(31));
        assert_eq!(layer_of("blk..x"), None);
        assert_eq!(layer_of("blk.1a.x"), None);
        assert_eq!(layer_of("blk.3"), None);
        assert_eq!(layer_of("output.weight"), None);
        assert_eq!(layer_of("xblk.1.x"), None);
    }
}
