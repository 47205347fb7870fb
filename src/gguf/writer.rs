//! A small GGUF writer, for the test suites only: the reader's unit tests
//! build hostile files with it, and `testkit` builds a tiny model that
//! llama.cpp loads, and copies of it that llama.cpp would abort on.

use super::{DEFAULT_ALIGNMENT, MAGIC, T_ARRAY, T_F32, T_I32, T_STRING, T_U32, ggml_type};

/// Appends a GGUF string: its 8-byte length, then its bytes.
pub(crate) fn put_str(buf: &mut Vec<u8>, s: &[u8]) {
    buf.extend_from_slice(&(s.len() as u64).to_le_bytes());
    buf.extend_from_slice(s);
}

/// One metadata entry: key, value type and the value's bytes.
#[derive(Clone)]
struct Entry {
    key: Vec<u8>,
    ty: u32,
    payload: Vec<u8>,
}

/// Bytes of a GGUF file, built piece by piece.
#[derive(Clone)]
pub(crate) struct Builder {
    pub(crate) magic: [u8; 4],
    pub(crate) version: u32,
    /// Overrides the number of tensors written in the header.
    pub(crate) tensor_count: Option<u64>,
    /// Overrides the number of metadata entries written in the header.
    pub(crate) kv_count: Option<u64>,
    entries: Vec<Entry>,
    /// Raw bytes written after the entries (a malformed entry, say).
    pub(crate) raw_kvs: Vec<u8>,
    tensors: Vec<u8>,
    n_tensors: u64,
    alignment: u64,
    /// Where the next tensor added with `tensor` goes, relative to the data.
    next_offset: u64,
    /// End of the last tensor's data, relative to the data.
    data_end: u64,
    /// Bytes of tensor data to leave off the end.
    pub(crate) cut_data: u64,
}

// Each suite uses the part of the writer it needs.
#[cfg_attr(not(test), allow(dead_code))]
impl Builder {
    pub(crate) fn new() -> Self {
        Builder {
            magic: MAGIC,
            version: 3,
            tensor_count: None,
            kv_count: None,
            entries: Vec::new(),
            raw_kvs: Vec::new(),
            tensors: Vec::new(),
            n_tensors: 0,
            alignment: DEFAULT_ALIGNMENT,
            next_offset: 0,
            data_end: 0,
            cut_data: 0,
        }
    }

    pub(crate) fn version(mut self, v: u32) -> Self {
        self.version = v;
        self
    }

    /// A metadata entry with a raw type tag and payload, added at the end.
    pub(crate) fn kv_raw(mut self, key: &[u8], ty: u32, payload: &[u8]) -> Self {
        self.entries.push(Entry {
            key: key.to_vec(),
            ty,
            payload: payload.to_vec(),
        });
        self
    }

    /// Gives `key` a new raw value in place, or adds it at the end.
    pub(crate) fn set_raw(mut self, key: &str, ty: u32, payload: &[u8]) -> Self {
        match self.entries.iter_mut().find(|e| e.key == key.as_bytes()) {
            Some(e) => {
                e.ty = ty;
                e.payload = payload.to_vec();
                self
            }
            None => self.kv_raw(key.as_bytes(), ty, payload),
        }
    }

    /// Drops the metadata entry `key`.
    pub(crate) fn remove(mut self, key: &str) -> Self {
        self.entries.retain(|e| e.key != key.as_bytes());
        self
    }

    pub(crate) fn kv_str(self, key: &str, value: &str) -> Self {
        let mut p = Vec::new();
        put_str(&mut p, value.as_bytes());
        self.set_raw(key, T_STRING, &p)
    }

    pub(crate) fn kv_u32(self, key: &str, value: u32) -> Self {
        self.set_raw(key, T_U32, &value.to_le_bytes())
    }

    pub(crate) fn kv_f32(self, key: &str, value: f32) -> Self {
        self.set_raw(key, T_F32, &value.to_le_bytes())
    }

    pub(crate) fn kv_alignment(mut self, value: u32) -> Self {
        if value.is_power_of_two() {
            self.alignment = u64::from(value);
        }
        self.kv_u32("general.alignment", value)
    }

    /// Payload of an array: element type, length, then the raw elements.
    pub(crate) fn array(ty: u32, len: u64, elements: &[u8]) -> Vec<u8> {
        let mut p = ty.to_le_bytes().to_vec();
        p.extend_from_slice(&len.to_le_bytes());
        p.extend_from_slice(elements);
        p
    }

    pub(crate) fn kv_str_array(self, key: &str, items: &[&str]) -> Self {
        let mut e = Vec::new();
        for s in items {
            put_str(&mut e, s.as_bytes());
        }
        let p = Self::array(T_STRING, items.len() as u64, &e);
        self.set_raw(key, T_ARRAY, &p)
    }

    pub(crate) fn kv_i32_array(self, key: &str, items: &[i32]) -> Self {
        let e: Vec<u8> = items.iter().flat_map(|v| v.to_le_bytes()).collect();
        let p = Self::array(T_I32, items.len() as u64, &e);
        self.set_raw(key, T_ARRAY, &p)
    }

    pub(crate) fn kv_f32_array(self, key: &str, items: &[f32]) -> Self {
        let e: Vec<u8> = items.iter().flat_map(|v| v.to_le_bytes()).collect();
        let p = Self::array(T_F32, items.len() as u64, &e);
        self.set_raw(key, T_ARRAY, &p)
    }

    /// A tensor info with everything given.
    pub(crate) fn tensor_raw(
        mut self,
        name: &[u8],
        n_dims: u32,
        dims: &[u64],
        ty: u32,
        offset: u64,
    ) -> Self {
        put_str(&mut self.tensors, name);
        self.tensors.extend_from_slice(&n_dims.to_le_bytes());
        for d in dims {
            self.tensors.extend_from_slice(&d.to_le_bytes());
        }
        self.tensors.extend_from_slice(&ty.to_le_bytes());
        self.tensors.extend_from_slice(&offset.to_le_bytes());
        self.n_tensors += 1;
        self
    }

    /// A well-formed tensor placed after the previous one.
    pub(crate) fn tensor(mut self, name: &str, dims: &[u64], ty: u32) -> Self {
        let t = ggml_type(ty).expect("known type");
        let elements: u64 = dims.iter().product();
        let bytes = elements / t.block_size * t.type_size;
        let offset = self.next_offset;
        self.data_end = offset + bytes;
        self.next_offset = self.data_end.next_multiple_of(self.alignment);
        self.tensor_raw(name.as_bytes(), dims.len() as u32, dims, ty, offset)
    }

    /// The same metadata, with no tensors.
    pub(crate) fn without_tensors(mut self) -> Self {
        self.tensors.clear();
        self.n_tensors = 0;
        self.next_offset = 0;
        self.data_end = 0;
        self
    }

    /// Everything up to the end of the tensor infos.
    pub(crate) fn header(&self) -> Vec<u8> {
        let n_kvs = self.entries.len() as u64;
        let mut b = self.magic.to_vec();
        b.extend_from_slice(&self.version.to_le_bytes());
        b.extend_from_slice(&self.tensor_count.unwrap_or(self.n_tensors).to_le_bytes());
        b.extend_from_slice(&self.kv_count.unwrap_or(n_kvs).to_le_bytes());
        for e in &self.entries {
            put_str(&mut b, &e.key);
            b.extend_from_slice(&e.ty.to_le_bytes());
            b.extend_from_slice(&e.payload);
        }
        b.extend_from_slice(&self.raw_kvs);
        b.extend_from_slice(&self.tensors);
        b
    }

    /// The whole file: header, padding and zeroed tensor data.
    pub(crate) fn build(&self) -> Vec<u8> {
        let mut b = self.header();
        if self.n_tensors > 0 {
            let data_offset = (b.len() as u64).next_multiple_of(self.alignment);
            let end = data_offset + self.data_end - self.cut_data;
            b.resize(end as usize, 0);
        }
        b
    }
}

/// Width of the tiny model's embeddings.
const TINY_EMBD: u64 = 32;
/// Width of the tiny model's feed-forward layer.
const TINY_FF: u64 = 64;
/// The tiny model's vocabulary: SentencePiece-style, with the byte token
/// llama.cpp looks up for a newline.
const TINY_TOKENS: [&str; 8] = ["<unk>", "<s>", "</s>", "<0x0A>", "a", "b", "c", "ab"];
/// `llama_token_type` of each token: unknown, control ×2, byte, normal ×4.
const TINY_TOKEN_TYPES: [i32; 8] = [2, 3, 3, 6, 1, 1, 1, 1];

/// A tiny `llama` model that llama.cpp loads: one layer of zeroed F32
/// weights (32 wide, two heads), eight tokens, about 43 KB. Tests patch its
/// metadata with [`Builder::set_raw`] and friends.
pub(crate) fn tiny_llama() -> Builder {
    const F32: u32 = 0;
    let (e, f, v) = (TINY_EMBD, TINY_FF, TINY_TOKENS.len() as u64);
    let b = Builder::new()
        .kv_str("general.architecture", "llama")
        .kv_str("general.name", "Tiny Llama")
        .kv_u32("general.file_type", 0)
        .kv_u32("llama.context_length", 64)
        .kv_u32("llama.embedding_length", e as u32)
        .kv_u32("llama.block_count", 1)
        .kv_u32("llama.feed_forward_length", f as u32)
        .kv_u32("llama.attention.head_count", 2)
        .kv_u32("llama.attention.head_count_kv", 2)
        .kv_f32("llama.attention.layer_norm_rms_epsilon", 1e-5)
        .kv_str("tokenizer.ggml.model", "llama")
        .kv_str_array("tokenizer.ggml.tokens", &TINY_TOKENS)
        .kv_f32_array("tokenizer.ggml.scores", &[0.0; 8])
        .kv_i32_array("tokenizer.ggml.token_type", &TINY_TOKEN_TYPES)
        .kv_u32("tokenizer.ggml.bos_token_id", 1)
        .kv_u32("tokenizer.ggml.eos_token_id", 2)
        .tensor("token_embd.weight", &[e, v], F32)
        .tensor("output_norm.weight", &[e], F32)
        .tensor("output.weight", &[e, v], F32);
    [
        ("attn_norm", vec![e]),
        ("attn_q", vec![e, e]),
        ("attn_k", vec![e, e]),
        ("attn_v", vec![e, e]),
        ("attn_output", vec![e, e]),
        ("ffn_norm", vec![e]),
        ("ffn_gate", vec![e, f]),
        ("ffn_down", vec![f, e]),
        ("ffn_up", vec![e, f]),
    ]
    .into_iter()
    .fold(b, |b, (name, dims)| {
        b.tensor(&format!("blk.0.{name}.weight"), &dims, F32)
    })
}

/// A file that reads as GGUF but that llama.cpp (the version vendored by the
/// pinned `llama-cpp-sys-2`) aborts on with a `GGML_ASSERT`: its name, the
/// metadata key at fault (or `tensor_count`) and the file.
pub(crate) struct Crashing {
    pub(crate) name: &'static str,
    pub(crate) key: &'static str,
    pub(crate) file: Builder,
}

/// The files llama.cpp aborts on, each [`tiny_llama`] with one change
/// (checked by loading each with llama.cpp directly, in a child process:
/// SIGABRT from a `GGML_ASSERT`), and last its metadata without tensors: a
/// tensorless file crashed in earlier trials; this one llama.cpp refuses
/// cleanly, and the reader refuses it before.
pub(crate) fn crashing() -> Vec<Crashing> {
    let blocks = "llama.block_count";
    let mut out: Vec<Crashing> = [
        ("block_count 0", 0),
        ("block_count 513", 513),
        ("block_count 2^20", 1 << 20),
        ("block_count 2^32-1", u32::MAX),
    ]
    .into_iter()
    .map(|(name, n)| Crashing {
        name,
        key: blocks,
        file: tiny_llama().kv_u32(blocks, n),
    })
    .collect();
    out.push(Crashing {
        name: "expert_count 1000",
        key: "llama.expert_count",
        file: tiny_llama().kv_u32("llama.expert_count", 1000),
    });
    out.push(Crashing {
        name: "expert_used_count without experts",
        key: "llama.expert_used_count",
        file: tiny_llama().kv_u32("llama.expert_used_count", 2),
    });
    out.push(Crashing {
        name: "unknown rope scaling type",
        key: "llama.rope.scaling.type",
        file: tiny_llama().kv_str("llama.rope.scaling.type", "bogus"),
    });
    let mut tokens = TINY_TOKENS;
    tokens[6] = "a";
    out.push(Crashing {
        name: "duplicated token",
        key: "tokenizer.ggml.tokens",
        file: tiny_llama().kv_str_array("tokenizer.ggml.tokens", &tokens),
    });
    out.push(Crashing {
        name: "no tensors",
        key: "tensor_count",
        file: tiny_llama().without_tensors(),
    });
    out
}
