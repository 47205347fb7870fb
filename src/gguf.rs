//! Reading the header of a GGUF model file.
//!
//! [`read_header`] reads only the header of a GGUF file (versions 2 and 3,
//! little-endian): the metadata key/value pairs and the tensor descriptions.
//! It never reads the tensor data, so it takes milliseconds even on a
//! multi-gigabyte model.
//!
//! The reader treats its input as hostile: every length is checked against
//! the bytes left in the file before anything is allocated, counts and sizes
//! are bounded, arithmetic is checked, and nothing panics. A file that was cut
//! short (an interrupted download, say) is reported as
//! [`GgufErrorKind::Truncated`], whether it was cut inside the header or in the
//! middle of the weights: the extent of every tensor is computed from the ggml
//! block sizes and compared with the size of the file.
//!
//! A header that reads fine is then checked for what llama.cpp asserts on
//! (see `gguf/checks.rs`): llama.cpp aborts the whole process on some sound-looking
//! files (a layer count of 0, an unknown rope scaling, a repeated token…), so
//! they are refused here as [`GgufErrorKind::Unloadable`], naming the key.

mod checks;
#[cfg(any(test, feature = "testkit"))]
pub(crate) mod writer;

use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// The four bytes every GGUF file starts with.
const MAGIC: [u8; 4] = *b"GGUF";
/// The most tensors a header may declare before it is thought implausible.
const MAX_TENSORS: u64 = 1_000_000;
/// The most metadata entries a header may declare before it is thought implausible.
const MAX_METADATA: u64 = 1_000_000;
/// The longest string (key or value) accepted, in bytes.
const MAX_STRING_LEN: u64 = 64 * 1024 * 1024;
/// How deeply arrays may nest: an array of arrays is allowed, no deeper.
const MAX_ARRAY_DEPTH: u32 = 2;
/// `GGML_MAX_DIMS`: the most dimensions a tensor may have.
const MAX_DIMS: u32 = 4;
/// The alignment of the tensor data when `general.alignment` is absent.
const DEFAULT_ALIGNMENT: u64 = 32;
/// Size of the buffer used to read the header.
const BUF_SIZE: usize = 64 * 1024;
/// The most token strings read for the check that they are distinct: 16
/// times the largest vocabulary in use (Gemma 3's 262 144 tokens).
const MAX_TOKENS: u64 = 1 << 22;

/// GGUF metadata value types, as numbered in `gguf.h`.
const T_U8: u32 = 0;
const T_I8: u32 = 1;
const T_U16: u32 = 2;
const T_I16: u32 = 3;
const T_U32: u32 = 4;
const T_I32: u32 = 5;
const T_F32: u32 = 6;
const T_BOOL: u32 = 7;
const T_STRING: u32 = 8;
const T_ARRAY: u32 = 9;
const T_U64: u32 = 10;
const T_I64: u32 = 11;
const T_F64: u32 = 12;

/// What [`read_header`] learns from a GGUF file's header.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GgufInfo {
    /// GGUF format version (2 or 3).
    pub version: u32,
    /// Number of tensors the file describes.
    pub tensor_count: u64,
    /// Number of metadata key/value pairs.
    pub metadata_count: u64,
    /// `general.architecture`, e.g. `"llama"`.
    pub architecture: Option<String>,
    /// `general.name`.
    pub name: Option<String>,
    /// `general.size_label`, e.g. `"135M"`.
    pub size_label: Option<String>,
    /// `general.license`.
    pub license: Option<String>,
    /// Number of parameters: the sum over all tensors of the product of their dimensions.
    pub parameter_count: u64,
    /// `{architecture}.context_length`: the context the model was trained for.
    pub context_length: Option<u64>,
    /// `general.file_type`: llama.cpp's `llama_ftype` number.
    pub file_type: Option<u32>,
    /// Name of the quantization, e.g. `"Q4_K_M"`, `"Q8_0"` or `"F16"`.
    ///
    /// Taken from `general.file_type` (llama.cpp's `llama_ftype` numbering).
    /// When that is absent or unknown, it is the name of the ggml tensor type
    /// holding the most elements, and `"unknown"` when there are no tensors.
    pub quantization: String,
    /// `tokenizer.chat_template`: the Jinja chat template, if any.
    pub chat_template: Option<String>,
    /// Alignment of the tensor data: `general.alignment`, or 32.
    pub alignment: u64,
    /// Offset in the file where the tensor data starts (a multiple of `alignment`).
    pub data_offset: u64,
    /// Size of the file in bytes.
    pub file_size: u64,
    /// Every metadata pair in file order; arrays are summarised by type and length.
    pub metadata: Vec<(String, MetaValue)>,
}

impl GgufInfo {
    /// The value of the first metadata pair with this key.
    pub fn get(&self, key: &str) -> Option<&MetaValue> {
        self.metadata.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
}

/// A metadata value. Arrays are not kept, only summarised.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum MetaValue {
    /// An unsigned 8-bit integer.
    U8(u8),
    /// A signed 8-bit integer.
    I8(i8),
    /// An unsigned 16-bit integer.
    U16(u16),
    /// A signed 16-bit integer.
    I16(i16),
    /// An unsigned 32-bit integer.
    U32(u32),
    /// A signed 32-bit integer.
    I32(i32),
    /// A 32-bit float.
    F32(f32),
    /// A boolean.
    Bool(bool),
    /// A UTF-8 string.
    String(String),
    /// An unsigned 64-bit integer.
    U64(u64),
    /// A signed 64-bit integer.
    I64(i64),
    /// A 64-bit float.
    F64(f64),
    /// An array, summarised: its element type and length.
    Array {
        /// Type of the elements: `"u8"`, `"i32"`, `"f32"`, `"string"`, `"array"`, …
        element_type: String,
        /// Number of elements.
        len: u64,
    },
}

impl MetaValue {
    /// The value as a non-negative integer, if it is an integer that is not negative.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            MetaValue::U8(v) => Some(u64::from(v)),
            MetaValue::U16(v) => Some(u64::from(v)),
            MetaValue::U32(v) => Some(u64::from(v)),
            MetaValue::U64(v) => Some(v),
            MetaValue::I8(v) => u64::try_from(v).ok(),
            MetaValue::I16(v) => u64::try_from(v).ok(),
            MetaValue::I32(v) => u64::try_from(v).ok(),
            MetaValue::I64(v) => u64::try_from(v).ok(),
            _ => None,
        }
    }

    /// The value as a string slice, if it is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            MetaValue::String(s) => Some(s),
            _ => None,
        }
    }

    /// Name of the value's GGUF type: `"u8"`, `"string"`, `"array"`, …
    pub fn type_name(&self) -> &'static str {
        match self {
            MetaValue::U8(_) => "u8",
            MetaValue::I8(_) => "i8",
            MetaValue::U16(_) => "u16",
            MetaValue::I16(_) => "i16",
            MetaValue::U32(_) => "u32",
            MetaValue::I32(_) => "i32",
            MetaValue::F32(_) => "f32",
            MetaValue::Bool(_) => "bool",
            MetaValue::String(_) => "string",
            MetaValue::U64(_) => "u64",
            MetaValue::I64(_) => "i64",
            MetaValue::F64(_) => "f64",
            MetaValue::Array { .. } => "array",
        }
    }
}

/// A GGUF header could not be read from a file.
#[derive(Debug, thiserror::Error)]
#[error("{}: {kind}", path.display())]
pub struct GgufError {
    /// The file that was read.
    pub path: PathBuf,
    /// What went wrong.
    #[source]
    pub kind: GgufErrorKind,
}

/// What went wrong reading a GGUF header.
#[derive(Debug, thiserror::Error)]
pub enum GgufErrorKind {
    /// The file could not be opened or read.
    #[error("could not read the file: {0}")]
    Io(#[from] io::Error),
    /// The path is not a regular file (a FIFO, a device, a directory…).
    #[error("it is a {0}, not a regular file")]
    NotRegular(&'static str),
    /// The file is shorter than the four-byte magic number.
    #[error("not a GGUF file (it is {})", describe_small(*file_size))]
    TooSmall {
        /// Size of the file in bytes.
        file_size: u64,
    },
    /// The file does not start with `GGUF`.
    #[error(
        "not a GGUF file (starts with \"{}\", expected \"GGUF\"){}",
        magic.escape_ascii(),
        magic_hint(magic)
    )]
    NotGguf {
        /// The first four bytes of the file.
        magic: [u8; 4],
    },
    /// A GGUF version other than 2 or 3.
    #[error("{}", describe_version(*.0))]
    UnsupportedVersion(u32),
    /// The file ends before something it declares.
    #[error("the file is truncated: {what} needs {needed} bytes but the file has {file_size}")]
    Truncated {
        /// The file size that would be needed.
        needed: u64,
        /// The actual file size.
        file_size: u64,
        /// What was being read.
        what: String,
    },
    /// A count, length or size that no real model has.
    #[error("implausible header: {value} {what}")]
    Absurd {
        /// What the value is, worded to follow the number.
        what: String,
        /// The value found.
        value: u64,
    },
    /// A string that is not valid UTF-8.
    #[error("invalid UTF-8 in the string at offset {offset}")]
    BadString {
        /// Offset of the string (of its length prefix) in the file.
        offset: u64,
    },
    /// A metadata value type that GGUF does not define.
    #[error("unknown metadata value type {0}")]
    UnknownValueType(u32),
    /// A tensor of a ggml type this reader does not know.
    #[error("tensor '{tensor}' has unknown ggml type {ggml_type}")]
    UnknownTensorType {
        /// Name of the tensor.
        tensor: String,
        /// The type number found.
        ggml_type: u32,
    },
    /// A metadata value that the reader needs has the wrong type or value.
    #[error("invalid metadata '{key}': {reason}")]
    BadMetadata {
        /// The metadata key.
        key: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A sound header that llama.cpp would abort on (or refuse) when loading
    /// the model, e.g. `llama.block_count is 0: llama.cpp needs …`.
    #[error("{key} {reason}")]
    Unloadable {
        /// The metadata key at fault (`tensor_count` for a file without tensors).
        key: String,
        /// What is wrong with it and what llama.cpp needs, after the key.
        reason: String,
    },
}

fn describe_small(file_size: u64) -> String {
    match file_size {
        0 => "empty".to_string(),
        1 => "only 1 byte long".to_string(),
        n => format!("only {n} bytes long"),
    }
}

fn magic_hint(magic: &[u8; 4]) -> &'static str {
    match magic {
        b"lmgg" | b"fmgg" | b"tjgg" | b"ggml" | b"ggmf" | b"ggjt" => {
            "; it looks like a model in the old GGML format, which must be converted to GGUF"
        }
        _ => "",
    }
}

fn describe_version(version: u32) -> String {
    let swapped = version.swap_bytes();
    if swapped == 2 || swapped == 3 {
        format!(
            "unsupported GGUF version {version}: this looks like a big-endian GGUF file \
             (version {swapped}), only little-endian files are supported"
        )
    } else if version == 1 {
        "unsupported GGUF version 1 (an early draft of the format): only versions 2 and 3 are \
         supported; convert the model again with a recent llama.cpp"
            .to_string()
    } else {
        format!("unsupported GGUF version {version}: only versions 2 and 3 are supported")
    }
}

/// Name of a GGUF metadata value type.
fn value_type_name(ty: u32) -> Option<&'static str> {
    Some(match ty {
        T_U8 => "u8",
        T_I8 => "i8",
        T_U16 => "u16",
        T_I16 => "i16",
        T_U32 => "u32",
        T_I32 => "i32",
        T_F32 => "f32",
        T_BOOL => "bool",
        T_STRING => "string",
        T_ARRAY => "array",
        T_U64 => "u64",
        T_I64 => "i64",
        T_F64 => "f64",
        _ => return None,
    })
}

/// Size in bytes of a fixed-size metadata value type (not strings or arrays).
fn scalar_size(ty: u32) -> Option<u64> {
    Some(match ty {
        T_U8 | T_I8 | T_BOOL => 1,
        T_U16 | T_I16 => 2,
        T_U32 | T_I32 | T_F32 => 4,
        T_U64 | T_I64 | T_F64 => 8,
        _ => return None,
    })
}

/// A ggml tensor type: its name, elements per block and bytes per block.
#[derive(Debug, Clone, Copy)]
struct GgmlType {
    name: &'static str,
    block_size: u64,
    type_size: u64,
}

/// The ggml tensor types, by number, with the block sizes and block byte sizes
/// of `type_traits` in llama.cpp's `ggml.c` (checked against the structures in
/// `ggml-common.h`). Numbers missing here were removed from ggml.
fn ggml_type(id: u32) -> Option<GgmlType> {
    let (name, block_size, type_size) = match id {
        0 => ("F32", 1, 4),
        1 => ("F16", 1, 2),
        2 => ("Q4_0", 32, 18),
        3 => ("Q4_1", 32, 20),
        6 => ("Q5_0", 32, 22),
        7 => ("Q5_1", 32, 24),
        8 => ("Q8_0", 32, 34),
        9 => ("Q8_1", 32, 36),
        10 => ("Q2_K", 256, 84),
        11 => ("Q3_K", 256, 110),
        12 => ("Q4_K", 256, 144),
        13 => ("Q5_K", 256, 176),
        14 => ("Q6_K", 256, 210),
        15 => ("Q8_K", 256, 292),
        16 => ("IQ2_XXS", 256, 66),
        17 => ("IQ2_XS", 256, 74),
        18 => ("IQ3_XXS", 256, 98),
        19 => ("IQ1_S", 256, 50),
        20 => ("IQ4_NL", 32, 18),
        21 => ("IQ3_S", 256, 110),
        22 => ("IQ2_S", 256, 82),
        23 => ("IQ4_XS", 256, 136),
        24 => ("I8", 1, 1),
        25 => ("I16", 1, 2),
        26 => ("I32", 1, 4),
        27 => ("I64", 1, 8),
        28 => ("F64", 1, 8),
        29 => ("IQ1_M", 256, 56),
        30 => ("BF16", 1, 2),
        34 => ("TQ1_0", 256, 54),
        35 => ("TQ2_0", 256, 66),
        39 => ("MXFP4", 32, 17),
        40 => ("NVFP4", 64, 36),
        41 => ("Q1_0", 128, 18),
        42 => ("Q2_0", 64, 18),
        _ => return None,
    };
    Some(GgmlType {
        name,
        block_size,
        type_size,
    })
}

/// Name of a llama.cpp `llama_ftype` (the value of `general.file_type`).
fn file_type_name(ftype: u32) -> Option<&'static str> {
    Some(match ftype {
        0 => "F32",
        1 => "F16",
        2 => "Q4_0",
        3 => "Q4_1",
        4 => "Q4_1_SOME_F16",
        7 => "Q8_0",
        8 => "Q5_0",
        9 => "Q5_1",
        10 => "Q2_K",
        11 => "Q3_K_S",
        12 => "Q3_K_M",
        13 => "Q3_K_L",
        14 => "Q4_K_S",
        15 => "Q4_K_M",
        16 => "Q5_K_S",
        17 => "Q5_K_M",
        18 => "Q6_K",
        19 => "IQ2_XXS",
        20 => "IQ2_XS",
        21 => "Q2_K_S",
        22 => "IQ3_XS",
        23 => "IQ3_XXS",
        24 => "IQ1_S",
        25 => "IQ4_NL",
        26 => "IQ3_S",
        27 => "IQ3_M",
        28 => "IQ2_S",
        29 => "IQ2_M",
        30 => "IQ4_XS",
        31 => "IQ1_M",
        32 => "BF16",
        36 => "TQ1_0",
        37 => "TQ2_0",
        38 => "MXFP4_MOE",
        39 => "NVFP4",
        40 => "Q1_0",
        41 => "Q2_0",
        _ => return None,
    })
}

/// Reads the header of the GGUF file at `path`.
///
/// Only the header is read (metadata and tensor descriptions); the tensor
/// data is not, but its extent is checked against the size of the file.
pub fn read_header(path: &Path) -> Result<GgufInfo, GgufError> {
    let wrap = |kind: GgufErrorKind| GgufError {
        path: path.to_path_buf(),
        kind,
    };
    // A FIFO would block the open and a device read forever: only regular
    // files (a symlink is followed to one) are opened.
    match crate::files::non_regular_kind(path) {
        Ok(None) => {}
        Ok(Some(kind)) => return Err(wrap(GgufErrorKind::NotRegular(kind))),
        Err(e) => return Err(wrap(GgufErrorKind::Io(e))),
    }
    let file = File::open(path).map_err(|e| wrap(GgufErrorKind::Io(e)))?;
    let meta = file.metadata().map_err(|e| wrap(GgufErrorKind::Io(e)))?;
    read_header_from(file, meta.len()).map_err(wrap)
}

/// Reads a GGUF header from `reader`, a stream of `file_size` bytes.
///
/// The reader is first rewound to its start. It is buffered internally, so a
/// bare [`File`] is fine. `file_size` bounds every length in the header and
/// the tensor data's extent; if the stream turns out to be shorter, that is
/// reported as [`GgufErrorKind::Truncated`] too. A header that reads fine but
/// that llama.cpp would abort on is [`GgufErrorKind::Unloadable`].
pub fn read_header_from<R: Read + Seek>(
    reader: R,
    file_size: u64,
) -> Result<GgufInfo, GgufErrorKind> {
    let header = parse_header(reader, file_size)?;
    checks::check_loadable(&header.info, &header.tensors, &header.facts)?;
    Ok(header.info)
}

/// A header as read, before the checks for what llama.cpp asserts on.
struct Header {
    info: GgufInfo,
    tensors: Vec<TensorInfo>,
    facts: checks::ArrayFacts,
}

/// Reads a GGUF header (see [`read_header_from`]) without checking it
/// against llama.cpp's asserts.
fn parse_header<R: Read + Seek>(reader: R, file_size: u64) -> Result<Header, GgufErrorKind> {
    let mut r = Reader {
        inner: BufReader::with_capacity(BUF_SIZE, reader),
        pos: 0,
        file_size,
        what: String::from("the GGUF header"),
        facts: checks::ArrayFacts::default(),
    };
    r.inner.seek(SeekFrom::Start(0))?;

    if file_size < 4 {
        return Err(GgufErrorKind::TooSmall { file_size });
    }
    let magic = r.bytes::<4>()?;
    if magic != MAGIC {
        return Err(GgufErrorKind::NotGguf { magic });
    }
    let version = r.u32()?;
    if version != 2 && version != 3 {
        return Err(GgufErrorKind::UnsupportedVersion(version));
    }
    let tensor_count = r.u64()?;
    if tensor_count > MAX_TENSORS {
        return Err(absurd("tensors", tensor_count));
    }
    let metadata_count = r.u64()?;
    if metadata_count > MAX_METADATA {
        return Err(absurd("metadata entries", metadata_count));
    }

    // Each entry takes at least 13 bytes, so the file size bounds the capacity.
    let cap = metadata_count.min(r.remaining() / 13);
    let mut metadata = Vec::with_capacity(usize::try_from(cap).unwrap_or(0));
    for i in 0..metadata_count {
        r.what = format!("metadata entry {i}");
        let key = r.string()?;
        r.what = format!("metadata entry {i} ('{key}')");
        let ty = r.u32()?;
        let value = r.value(ty, &key)?;
        metadata.push((key, value));
    }

    let find = |key: &str| metadata.iter().find(|(k, _)| k == key).map(|(_, v)| v);
    let alignment = match find("general.alignment") {
        None => DEFAULT_ALIGNMENT,
        Some(v) => {
            let a = v.as_u64().ok_or_else(|| GgufErrorKind::BadMetadata {
                key: "general.alignment".to_string(),
                reason: format!("expected a positive integer, found {v:?}"),
            })?;
            if !a.is_power_of_two() {
                return Err(absurd("as general.alignment (must be a power of two)", a));
            }
            a
        }
    };

    let cap = tensor_count.min(r.remaining() / 24);
    let mut tensors = Vec::with_capacity(usize::try_from(cap).unwrap_or(0));
    let mut parameter_count: u64 = 0;
    for i in 0..tensor_count {
        r.what = format!("tensor info {i}");
        let t = r.tensor_info(alignment)?;
        parameter_count = parameter_count
            .checked_add(t.elements)
            .ok_or_else(|| absurd("parameters in total (overflow)", u64::MAX))?;
        tensors.push(t);
    }

    let data_offset = r
        .pos
        .checked_next_multiple_of(alignment)
        .ok_or_else(|| absurd("as the start of the tensor data (overflow)", r.pos))?;

    // The tensor that reaches furthest must end within the file.
    let furthest = tensors
        .iter()
        .map(|t| {
            let end = data_offset.saturating_add(t.offset).saturating_add(t.bytes);
            (end, t)
        })
        .max_by_key(|(end, _)| *end);
    if let Some((end, t)) = furthest.filter(|(end, _)| *end > file_size) {
        return Err(GgufErrorKind::Truncated {
            needed: end,
            file_size,
            what: format!("the data of tensor '{}'", t.name),
        });
    }

    let string = |key: &str| find(key).and_then(MetaValue::as_str).map(str::to_string);
    let architecture = string("general.architecture");
    let context_length = architecture
        .as_ref()
        .and_then(|arch| find(&format!("{arch}.context_length")))
        .and_then(MetaValue::as_u64);
    let file_type = find("general.file_type")
        .and_then(MetaValue::as_u64)
        .and_then(|v| u32::try_from(v).ok());
    let quantization = match file_type.and_then(file_type_name) {
        Some(name) => name.to_string(),
        None => dominant_type(&tensors),
    };

    let info = GgufInfo {
        version,
        tensor_count,
        metadata_count,
        name: string("general.name"),
        size_label: string("general.size_label"),
        license: string("general.license"),
        chat_template: string("tokenizer.chat_template"),
        architecture,
        parameter_count,
        context_length,
        file_type,
        quantization,
        alignment,
        data_offset,
        file_size,
        metadata,
    };
    Ok(Header {
        info,
        tensors,
        facts: r.facts,
    })
}

fn absurd(what: impl Into<String>, value: u64) -> GgufErrorKind {
    GgufErrorKind::Absurd {
        what: what.into(),
        value,
    }
}

/// Name of the ggml type holding the most elements, `"unknown"` without tensors.
fn dominant_type(tensors: &[TensorInfo]) -> String {
    let mut totals: Vec<(u32, u128)> = Vec::new();
    for t in tensors {
        match totals.iter_mut().find(|(ty, _)| *ty == t.ggml_type) {
            Some((_, n)) => *n += u128::from(t.elements),
            None => totals.push((t.ggml_type, u128::from(t.elements))),
        }
    }
    // Ties go to the lowest type number, so that the answer is deterministic.
    totals
        .iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
        .and_then(|(ty, _)| ggml_type(*ty))
        .map_or_else(|| "unknown".to_string(), |t| t.name.to_string())
}

/// What the header says about one tensor.
#[derive(Debug)]
struct TensorInfo {
    name: String,
    ggml_type: u32,
    elements: u64,
    bytes: u64,
    offset: u64,
}

/// A bounds-checked little-endian reader that knows where it is in the file.
struct Reader<R> {
    inner: BufReader<R>,
    /// Offset of the next byte to read.
    pos: u64,
    file_size: u64,
    /// What is being read, for [`GgufErrorKind::Truncated`].
    what: String,
    /// What the checks need from arrays that are otherwise skipped.
    facts: checks::ArrayFacts,
}

impl<R: Read + Seek> Reader<R> {
    fn remaining(&self) -> u64 {
        self.file_size.saturating_sub(self.pos)
    }

    fn truncated(&self, n: u64) -> GgufErrorKind {
        GgufErrorKind::Truncated {
            needed: self.pos.saturating_add(n),
            file_size: self.file_size,
            what: self.what.clone(),
        }
    }

    /// Fails unless `n` more bytes are in the file.
    fn ensure(&self, n: u64) -> Result<(), GgufErrorKind> {
        if n > self.remaining() {
            Err(self.truncated(n))
        } else {
            Ok(())
        }
    }

    /// Maps a read error; an early end of file means the file is truncated
    /// (it is shorter than `file_size` said).
    fn read_error(&self, e: io::Error, n: u64) -> GgufErrorKind {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            self.truncated(n)
        } else {
            GgufErrorKind::Io(e)
        }
    }

    fn bytes<const N: usize>(&mut self) -> Result<[u8; N], GgufErrorKind> {
        let n = N as u64;
        self.ensure(n)?;
        let mut buf = [0u8; N];
        if let Err(e) = self.inner.read_exact(&mut buf) {
            return Err(self.read_error(e, n));
        }
        self.pos += n;
        Ok(buf)
    }

    fn u32(&mut self) -> Result<u32, GgufErrorKind> {
        self.bytes().map(u32::from_le_bytes)
    }

    fn u64(&mut self) -> Result<u64, GgufErrorKind> {
        self.bytes().map(u64::from_le_bytes)
    }

    /// Skips `n` bytes, which must be in the file.
    fn skip(&mut self, n: u64) -> Result<(), GgufErrorKind> {
        self.ensure(n)?;
        let offset = i64::try_from(n).map_err(|_| self.truncated(n))?;
        self.inner.seek_relative(offset)?;
        self.pos += n;
        Ok(())
    }

    /// Reads a string's length and checks it, before anything is allocated.
    fn string_len(&mut self) -> Result<u64, GgufErrorKind> {
        let len = self.u64()?;
        self.ensure(len)?;
        if len > MAX_STRING_LEN {
            return Err(absurd(
                format!(
                    "bytes in a string at offset {} (the limit is {MAX_STRING_LEN})",
                    self.pos - 8
                ),
                len,
            ));
        }
        Ok(len)
    }

    fn string(&mut self) -> Result<String, GgufErrorKind> {
        let offset = self.pos;
        let len = self.string_len()?;
        // `len` is at most MAX_STRING_LEN and within the file: safe to allocate.
        let mut buf = vec![0u8; usize::try_from(len).map_err(|_| self.truncated(len))?];
        if let Err(e) = self.inner.read_exact(&mut buf) {
            return Err(self.read_error(e, len));
        }
        self.pos += len;
        String::from_utf8(buf).map_err(|_| GgufErrorKind::BadString { offset })
    }

    fn skip_string(&mut self) -> Result<(), GgufErrorKind> {
        let len = self.string_len()?;
        self.skip(len)
    }

    fn value(&mut self, ty: u32, key: &str) -> Result<MetaValue, GgufErrorKind> {
        Ok(match ty {
            T_U8 => MetaValue::U8(u8::from_le_bytes(self.bytes()?)),
            T_I8 => MetaValue::I8(i8::from_le_bytes(self.bytes()?)),
            T_U16 => MetaValue::U16(u16::from_le_bytes(self.bytes()?)),
            T_I16 => MetaValue::I16(i16::from_le_bytes(self.bytes()?)),
            T_U32 => MetaValue::U32(self.u32()?),
            T_I32 => MetaValue::I32(i32::from_le_bytes(self.bytes()?)),
            T_F32 => MetaValue::F32(f32::from_le_bytes(self.bytes()?)),
            T_BOOL => MetaValue::Bool(self.bytes::<1>()?[0] != 0),
            T_STRING => MetaValue::String(self.string()?),
            T_U64 => MetaValue::U64(self.u64()?),
            T_I64 => MetaValue::I64(i64::from_le_bytes(self.bytes()?)),
            T_F64 => MetaValue::F64(f64::from_le_bytes(self.bytes()?)),
            T_ARRAY => self.array(key)?,
            other => return Err(GgufErrorKind::UnknownValueType(other)),
        })
    }

    /// Reads an array that is the value of `key` (after its type tag): its
    /// elements are skipped, except those the checks need (the token strings,
    /// a per-layer count of experts used), which are noted in `facts`.
    fn array(&mut self, key: &str) -> Result<MetaValue, GgufErrorKind> {
        let ty = self.u32()?;
        let name = value_type_name(ty).ok_or(GgufErrorKind::UnknownValueType(ty))?;
        let len = self.u64()?;
        let per_layer = matches!(ty, T_U32 | T_I32 | T_BOOL) && len <= checks::LLAMA_MAX_LAYERS;
        if key == checks::TOKENS_KEY && ty == T_STRING && self.facts.tokens.is_none() {
            self.scan_tokens(len)?;
        } else if key.ends_with(".expert_used_count") && per_layer {
            let max = self.max_u32(ty, len)?;
            self.facts.expert_used_max.push((key.to_string(), max));
        } else {
            self.skip_elements(ty, len, 1, key)?;
        }
        Ok(MetaValue::Array {
            element_type: name.to_string(),
            len,
        })
    }

    /// Reads the `len` token strings, noting the first repeated one.
    fn scan_tokens(&mut self, len: u64) -> Result<(), GgufErrorKind> {
        if len > MAX_TOKENS {
            return Err(absurd(
                format!(
                    "strings in '{}' (the limit is {MAX_TOKENS})",
                    checks::TOKENS_KEY
                ),
                len,
            ));
        }
        // Every string takes at least its 8-byte length.
        self.ensure(len.saturating_mul(8))?;
        let mut tokens = checks::TokenSet::with_capacity(len as usize);
        let mut buf = Vec::new();
        for i in 0..len {
            let n = self.string_len()?;
            // `n` is at most MAX_STRING_LEN and within the file.
            buf.resize(n as usize, 0);
            if let Err(e) = self.inner.read_exact(&mut buf) {
                return Err(self.read_error(e, n));
            }
            self.pos += n;
            tokens.add(i, &buf);
        }
        self.facts.tokens = Some(tokens);
        Ok(())
    }

    /// Reads `len` elements of type `ty` (u32, i32 or bool) and returns the
    /// largest as llama.cpp reads them into a `u32` (an i32's bits as they are).
    fn max_u32(&mut self, ty: u32, len: u64) -> Result<u32, GgufErrorKind> {
        let mut max = 0;
        for _ in 0..len {
            let v = if ty == T_BOOL {
                u32::from(self.bytes::<1>()?[0] != 0)
            } else {
                self.u32()?
            };
            max = max.max(v);
        }
        Ok(max)
    }

    /// Skips an array's contents (after its type tag), which sits at nesting
    /// level `depth` (1 for an array that is a metadata value).
    fn skip_array(&mut self, depth: u32, key: &str) -> Result<(), GgufErrorKind> {
        if depth > MAX_ARRAY_DEPTH {
            return Err(absurd(
                format!("levels of nested arrays in '{key}' (the limit is {MAX_ARRAY_DEPTH})"),
                u64::from(depth),
            ));
        }
        let ty = self.u32()?;
        value_type_name(ty).ok_or(GgufErrorKind::UnknownValueType(ty))?;
        let len = self.u64()?;
        self.skip_elements(ty, len, depth, key)
    }

    /// Skips `len` elements of type `ty` of an array at nesting level `depth`.
    fn skip_elements(
        &mut self,
        ty: u32,
        len: u64,
        depth: u32,
        key: &str,
    ) -> Result<(), GgufErrorKind> {
        if let Some(size) = scalar_size(ty) {
            self.skip(len.saturating_mul(size))?;
        } else if ty == T_STRING {
            // Every string takes at least its 8-byte length.
            self.ensure(len.saturating_mul(8))?;
            for _ in 0..len {
                self.skip_string()?;
            }
        } else {
            // Every array takes at least its 4-byte type and 8-byte length.
            self.ensure(len.saturating_mul(12))?;
            for _ in 0..len {
                self.skip_array(depth + 1, key)?;
            }
        }
        Ok(())
    }

    fn tensor_info(&mut self, alignment: u64) -> Result<TensorInfo, GgufErrorKind> {
        let name = self.string()?;
        self.what = format!("{} ('{name}')", self.what);
        let n_dims = self.u32()?;
        if n_dims > MAX_DIMS {
            return Err(absurd(
                format!("dimensions in tensor '{name}' (the limit is {MAX_DIMS})"),
                u64::from(n_dims),
            ));
        }
        let mut dims = [1u64; MAX_DIMS as usize];
        for d in dims.iter_mut().take(n_dims as usize) {
            *d = self.u64()?;
        }
        // ggml counts elements in an i64.
        let limit = i64::MAX as u64;
        let mut elements: u64 = 1;
        for &d in &dims {
            if d > limit {
                return Err(absurd(
                    format!("elements in one dimension of tensor '{name}'"),
                    d,
                ));
            }
            elements = elements
                .checked_mul(d)
                .filter(|&e| e <= limit)
                .ok_or_else(|| {
                    absurd(
                        format!("as a dimension of tensor '{name}' (too many elements: overflow)"),
                        d,
                    )
                })?;
        }
        let type_id = self.u32()?;
        let t = ggml_type(type_id).ok_or_else(|| GgufErrorKind::UnknownTensorType {
            tensor: name.clone(),
            ggml_type: type_id,
        })?;
        if dims[0] % t.block_size != 0 {
            return Err(absurd(
                format!(
                    "elements in a row of tensor '{name}' (not a multiple of the {} block size {})",
                    t.name, t.block_size
                ),
                dims[0],
            ));
        }
        let bytes = (elements / t.block_size)
            .checked_mul(t.type_size)
            .ok_or_else(|| {
                absurd(
                    format!("elements in tensor '{name}' (too many bytes: overflow)"),
                    elements,
                )
            })?;
        let offset = self.u64()?;
        if offset % alignment != 0 {
            return Err(absurd(
                format!(
                    "as the data offset of tensor '{name}' (not a multiple of the alignment {alignment})"
                ),
                offset,
            ));
        }
        Ok(TensorInfo {
            name,
            ggml_type: type_id,
            elements,
            bytes,
            offset,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::writer::{Builder, put_str};
    use super::*;
    use std::io::Cursor;

    /// The reader alone, without the checks for what llama.cpp asserts on
    /// (they have their own tests, in `checks`): most files here have no
    /// architecture or no tensors.
    fn parse(bytes: &[u8]) -> Result<GgufInfo, GgufErrorKind> {
        parse_header(Cursor::new(bytes), bytes.len() as u64).map(|h| h.info)
    }

    const CHATML: &str = "{% for message in messages %}<|im_start|>{{ message['role'] }}\n\
                          {{ message['content'] }}<|im_end|>\n{% endfor %}";

    /// A small but complete llama-like model.
    fn model() -> Builder {
        Builder::new()
            .kv_str("general.architecture", "llama")
            .kv_str("general.name", "Tiny Test")
            .kv_str("general.size_label", "7K")
            .kv_str("general.license", "apache-2.0")
            .kv_u32("general.file_type", 3)
            .kv_u32("llama.context_length", 8192)
            .kv_u32("llama.block_count", 1)
            .kv_str_array("tokenizer.ggml.tokens", &["<s>", "</s>", "a", "b", "ab"])
            .kv_i32_array("tokenizer.ggml.token_type", &[3, 3, 1, 1, 1])
            .kv_str("tokenizer.chat_template", CHATML)
            .tensor("token_embd.weight", &[64, 100], 3)
            .tensor("blk.0.attn_norm.weight", &[64], 0)
            .tensor("output.weight", &[64, 10], 8)
    }

    // ---- happy paths ----

    #[test]
    fn reads_a_complete_model() {
        for version in [2, 3] {
            let bytes = model().version(version).build();
            let info = parse(&bytes).expect("valid model");
            assert_eq!(info.version, version);
            assert_eq!(info.tensor_count, 3);
            assert_eq!(info.metadata_count, 10);
            assert_eq!(info.architecture.as_deref(), Some("llama"));
            assert_eq!(info.name.as_deref(), Some("Tiny Test"));
            assert_eq!(info.size_label.as_deref(), Some("7K"));
            assert_eq!(info.license.as_deref(), Some("apache-2.0"));
            assert_eq!(info.context_length, Some(8192));
            assert_eq!(info.file_type, Some(3));
            assert_eq!(info.quantization, "Q4_1");
            assert_eq!(info.parameter_count, 64 * 100 + 64 + 64 * 10);
            assert_eq!(info.chat_template.as_deref(), Some(CHATML));
            assert_eq!(info.alignment, 32);
            assert_eq!(info.data_offset % 32, 0);
            let header_len = model().header().len() as u64;
            assert_eq!(info.data_offset, header_len.next_multiple_of(32));
            assert_eq!(info.file_size, bytes.len() as u64);
            let keys: Vec<&str> = info.metadata.iter().map(|(k, _)| k.as_str()).collect();
            assert_eq!(
                keys,
                [
                    "general.architecture",
                    "general.name",
                    "general.size_label",
                    "general.license",
                    "general.file_type",
                    "llama.context_length",
                    "llama.block_count",
                    "tokenizer.ggml.tokens",
                    "tokenizer.ggml.token_type",
                    "tokenizer.chat_template",
                ]
            );
            assert_eq!(
                info.get("tokenizer.ggml.tokens"),
                Some(&MetaValue::Array {
                    element_type: "string".into(),
                    len: 5
                })
            );
            assert_eq!(
                info.get("tokenizer.ggml.token_type"),
                Some(&MetaValue::Array {
                    element_type: "i32".into(),
                    len: 5
                })
            );
            assert_eq!(info.get("general.file_type"), Some(&MetaValue::U32(3)));
        }
    }

    #[test]
    fn reads_every_scalar_type() {
        let bytes = Builder::new()
            .kv_raw(b"u8", T_U8, &[200])
            .kv_raw(b"i8", T_I8, &(-5i8).to_le_bytes())
            .kv_raw(b"u16", T_U16, &60000u16.to_le_bytes())
            .kv_raw(b"i16", T_I16, &(-300i16).to_le_bytes())
            .kv_raw(b"u32", T_U32, &4_000_000_000u32.to_le_bytes())
            .kv_raw(b"i32", T_I32, &(-70000i32).to_le_bytes())
            .kv_raw(b"f32", T_F32, &1.5f32.to_le_bytes())
            .kv_raw(b"bool", T_BOOL, &[1])
            .kv_raw(b"u64", T_U64, &(1u64 << 40).to_le_bytes())
            .kv_raw(b"i64", T_I64, &(-1i64 << 40).to_le_bytes())
            .kv_raw(b"f64", T_F64, &2.25f64.to_le_bytes())
            .kv_str("s", "héllo")
            .build();
        let info = parse(&bytes).expect("valid");
        let values: Vec<MetaValue> = info.metadata.into_iter().map(|(_, v)| v).collect();
        assert_eq!(
            values,
            [
                MetaValue::U8(200),
                MetaValue::I8(-5),
                MetaValue::U16(60000),
                MetaValue::I16(-300),
                MetaValue::U32(4_000_000_000),
                MetaValue::I32(-70000),
                MetaValue::F32(1.5),
                MetaValue::Bool(true),
                MetaValue::U64(1 << 40),
                MetaValue::I64(-1 << 40),
                MetaValue::F64(2.25),
                MetaValue::String("héllo".into()),
            ]
        );
        assert_eq!(info.quantization, "unknown");
        assert_eq!(info.parameter_count, 0);
    }

    #[test]
    fn quantization_falls_back_to_the_dominant_tensor_type() {
        // More F32 tensors, but more Q8_0 elements: Q8_0 wins.
        let b = Builder::new()
            .tensor("a", &[32], 0)
            .tensor("b", &[32], 0)
            .tensor("c", &[32], 0)
            .tensor("big", &[64, 64], 8);
        let info = parse(&b.build()).expect("valid");
        assert_eq!(info.file_type, None);
        assert_eq!(info.quantization, "Q8_0");

        // An unknown file type also falls back.
        let b = Builder::new()
            .kv_u32("general.file_type", 999)
            .tensor("t", &[256, 4], 12);
        let info = parse(&b.build()).expect("valid");
        assert_eq!(info.file_type, Some(999));
        assert_eq!(info.quantization, "Q4_K");

        for (ftype, name) in [
            (0, "F32"),
            (1, "F16"),
            (7, "Q8_0"),
            (15, "Q4_K_M"),
            (32, "BF16"),
        ] {
            let info =
                parse(&Builder::new().kv_u32("general.file_type", ftype).build()).expect("valid");
            assert_eq!(info.quantization, name);
        }
    }

    #[test]
    fn honours_general_alignment() {
        let b = Builder::new()
            .kv_alignment(64)
            .tensor("a", &[10], 0)
            .tensor("b", &[10], 0);
        let info = parse(&b.build()).expect("valid");
        assert_eq!(info.alignment, 64);
        assert_eq!(info.data_offset % 64, 0);
        assert!(info.data_offset >= b.header().len() as u64);
    }

    #[test]
    fn nested_arrays_up_to_the_limit_are_fine() {
        // An array of two arrays of u8.
        let mut inner = Builder::array(T_U8, 3, &[1, 2, 3]);
        inner.extend(Builder::array(T_U8, 1, &[4]));
        let p = Builder::array(T_ARRAY, 2, &inner);
        let info = parse(&Builder::new().kv_raw(b"nested", T_ARRAY, &p).build()).expect("valid");
        assert_eq!(
            info.get("nested"),
            Some(&MetaValue::Array {
                element_type: "array".into(),
                len: 2
            })
        );
    }

    #[test]
    fn info_round_trips_through_serde() {
        let info = parse(&model().build()).expect("valid");
        let json = serde_json::to_string(&info).expect("serialise");
        let back: GgufInfo = serde_json::from_str(&json).expect("deserialise");
        assert_eq!(back, info);
    }

    // ---- hostile input ----

    type Check = fn(&GgufErrorKind) -> bool;

    fn hostile_cases() -> Vec<(&'static str, Vec<u8>, Check)> {
        let empty_v3 = Builder::new();
        let mut cases: Vec<(&'static str, Vec<u8>, Check)> = vec![
            (
                "text file",
                b"Hello, this is a text file.\n".to_vec(),
                |e| matches!(e, GgufErrorKind::NotGguf { magic } if magic == b"Hell"),
            ),
            (
                "png",
                b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec(),
                |e| matches!(e, GgufErrorKind::NotGguf { magic } if magic == b"\x89PNG"),
            ),
            ("empty file", Vec::new(), |e| {
                matches!(e, GgufErrorKind::TooSmall { file_size: 0 })
            }),
            ("3-byte file", b"GGU".to_vec(), |e| {
                matches!(e, GgufErrorKind::TooSmall { file_size: 3 })
            }),
            ("magic only", b"GGUF".to_vec(), |e| {
                matches!(
                    e,
                    GgufErrorKind::Truncated {
                        needed: 8,
                        file_size: 4,
                        ..
                    }
                )
            }),
            ("version 1", empty_v3.clone().version(1).build(), |e| {
                matches!(e, GgufErrorKind::UnsupportedVersion(1))
            }),
            ("version 4", empty_v3.clone().version(4).build(), |e| {
                matches!(e, GgufErrorKind::UnsupportedVersion(4))
            }),
            (
                "version u32::MAX",
                empty_v3.clone().version(u32::MAX).build(),
                |e| matches!(e, GgufErrorKind::UnsupportedVersion(u32::MAX)),
            ),
            (
                "big-endian",
                empty_v3.clone().version(3u32.swap_bytes()).build(),
                |e| matches!(e, GgufErrorKind::UnsupportedVersion(v) if *v == 3u32.swap_bytes()),
            ),
        ];

        let mut b = Builder::new();
        b.tensor_count = Some(3_000_000_000);
        cases.push(("3e9 tensors", b.build(), |e| {
            matches!(
                e,
                GgufErrorKind::Absurd {
                    value: 3_000_000_000,
                    ..
                }
            )
        }));
        let mut b = Builder::new();
        b.tensor_count = Some(MAX_TENSORS + 1);
        cases.push(("1e6+1 tensors", b.build(), |e| {
            matches!(e, GgufErrorKind::Absurd { .. })
        }));
        let mut b = Builder::new();
        b.kv_count = Some(MAX_METADATA + 1);
        cases.push(("1e6+1 kvs", b.build(), |e| {
            matches!(e, GgufErrorKind::Absurd { .. })
        }));
        let mut b = Builder::new();
        b.kv_count = Some(u64::MAX);
        cases.push(("u64::MAX kvs", b.build(), |e| {
            matches!(e, GgufErrorKind::Absurd { .. })
        }));
        let mut b = Builder::new().kv_u32("a", 1);
        b.kv_count = Some(2);
        cases.push(("more kvs declared than present", b.build(), |e| {
            matches!(e, GgufErrorKind::Truncated { .. })
        }));

        // Strings longer than the file.
        let mut key = Vec::new();
        key.extend_from_slice(&(1u64 << 62).to_le_bytes());
        let mut b = Builder::new();
        b.raw_kvs = key;
        b.kv_count = Some(1);
        cases.push(("key length 2^62", b.build(), |e| {
            matches!(e, GgufErrorKind::Truncated { .. })
        }));
        let mut p = Vec::new();
        p.extend_from_slice(&u64::MAX.to_le_bytes());
        p.extend_from_slice(b"short");
        cases.push((
            "value length u64::MAX",
            Builder::new().kv_raw(b"k", T_STRING, &p).build(),
            |e| matches!(e, GgufErrorKind::Truncated { .. }),
        ));
        let mut p = Vec::new();
        p.extend_from_slice(&6u64.to_le_bytes());
        p.extend_from_slice(b"short");
        cases.push((
            "value length one past the end",
            Builder::new().kv_raw(b"k", T_STRING, &p).build(),
            |e| matches!(e, GgufErrorKind::Truncated { .. }),
        ));

        // Arrays longer than the file.
        cases.push((
            "u32 array of 2^40 elements",
            Builder::new()
                .kv_raw(b"a", T_ARRAY, &Builder::array(T_U32, 1 << 40, &[0; 16]))
                .build(),
            |e| matches!(e, GgufErrorKind::Truncated { .. }),
        ));
        cases.push((
            "u64 array of u64::MAX elements (size overflows)",
            Builder::new()
                .kv_raw(b"a", T_ARRAY, &Builder::array(T_U64, u64::MAX, &[0; 16]))
                .build(),
            |e| {
                matches!(
                    e,
                    GgufErrorKind::Truncated {
                        needed: u64::MAX,
                        ..
                    }
                )
            },
        ));
        cases.push((
            "string array of 2^40 elements",
            Builder::new()
                .kv_raw(b"a", T_ARRAY, &Builder::array(T_STRING, 1 << 40, &[0; 16]))
                .build(),
            |e| matches!(e, GgufErrorKind::Truncated { .. }),
        ));
        let mut elements = Vec::new();
        put_str(&mut elements, b"fine");
        elements.extend_from_slice(&1_000_000u64.to_le_bytes());
        elements.extend_from_slice(b"not a million bytes");
        cases.push((
            "string array with an overlong element",
            Builder::new()
                .kv_raw(b"a", T_ARRAY, &Builder::array(T_STRING, 2, &elements))
                .build(),
            |e| matches!(e, GgufErrorKind::Truncated { .. }),
        ));
        cases.push((
            "array of 2^40 arrays",
            Builder::new()
                .kv_raw(b"a", T_ARRAY, &Builder::array(T_ARRAY, 1 << 40, &[0; 16]))
                .build(),
            |e| matches!(e, GgufErrorKind::Truncated { .. }),
        ));

        // Arrays nested too deeply: array of arrays of arrays.
        let innermost = Builder::array(T_U8, 1, &[7]);
        let middle = Builder::array(T_ARRAY, 1, &innermost);
        let outer = Builder::array(T_ARRAY, 1, &middle);
        cases.push((
            "arrays nested 3 deep",
            Builder::new().kv_raw(b"a", T_ARRAY, &outer).build(),
            |e| matches!(e, GgufErrorKind::Absurd { value: 3, .. }),
        ));

        // Unknown types and bad strings.
        cases.push((
            "value type 13",
            Builder::new().kv_raw(b"k", 13, &[0; 8]).build(),
            |e| matches!(e, GgufErrorKind::UnknownValueType(13)),
        ));
        cases.push((
            "array element type 99",
            Builder::new()
                .kv_raw(b"k", T_ARRAY, &Builder::array(99, 0, &[]))
                .build(),
            |e| matches!(e, GgufErrorKind::UnknownValueType(99)),
        ));
        cases.push((
            "invalid UTF-8 key",
            Builder::new().kv_raw(b"k\xff", T_U8, &[0]).build(),
            |e| matches!(e, GgufErrorKind::BadString { offset: 24 }),
        ));
        let mut p = Vec::new();
        put_str(&mut p, b"\xc3\x28");
        cases.push((
            "invalid UTF-8 value",
            Builder::new().kv_raw(b"k", T_STRING, &p).build(),
            |e| matches!(e, GgufErrorKind::BadString { offset: 37 }),
        ));

        // Alignment.
        cases.push(
            ("alignment 0", Builder::new().kv_alignment(0).build(), |e| {
                matches!(e, GgufErrorKind::Absurd { value: 0, .. })
            }),
        );
        cases.push((
            "alignment 48",
            Builder::new().kv_alignment(48).build(),
            |e| matches!(e, GgufErrorKind::Absurd { value: 48, .. }),
        ));
        cases.push((
            "alignment as a string",
            Builder::new().kv_str("general.alignment", "32").build(),
            |e| matches!(e, GgufErrorKind::BadMetadata { .. }),
        ));

        // Tensor infos.
        cases.push((
            "tensor with 5 dimensions",
            Builder::new()
                .tensor_raw(b"t", 5, &[1, 1, 1, 1, 1], 0, 0)
                .build(),
            |e| matches!(e, GgufErrorKind::Absurd { value: 5, .. }),
        ));
        cases.push((
            "tensor with u32::MAX dimensions",
            Builder::new().tensor_raw(b"t", u32::MAX, &[], 0, 0).build(),
            |e| matches!(e, GgufErrorKind::Absurd { .. }),
        ));
        cases.push((
            "dimension product overflows",
            Builder::new()
                .tensor_raw(b"t", 3, &[1 << 32, 1 << 32, 1 << 32], 0, 0)
                .build(),
            |e| matches!(e, GgufErrorKind::Absurd { .. }),
        ));
        cases.push((
            "dimension beyond i64",
            Builder::new()
                .tensor_raw(b"t", 1, &[u64::MAX], 0, 0)
                .build(),
            |e| {
                matches!(
                    e,
                    GgufErrorKind::Absurd {
                        value: u64::MAX,
                        ..
                    }
                )
            },
        ));
        for ty in [4u32, 5, 31, 36, 43, 1000] {
            let bytes = Builder::new().tensor_raw(b"weird", 1, &[32], ty, 0).build();
            cases.push(("unknown tensor type", bytes, |e| {
                matches!(e, GgufErrorKind::UnknownTensorType { tensor, .. } if tensor == "weird")
            }));
        }
        cases.push((
            "row not a multiple of the block size",
            Builder::new().tensor_raw(b"t", 2, &[33, 2], 2, 0).build(),
            |e| matches!(e, GgufErrorKind::Absurd { value: 33, .. }),
        ));
        cases.push((
            "misaligned tensor offset",
            Builder::new()
                .tensor_raw(b"t", 1, &[4], 0, 0)
                .tensor_raw(b"u", 1, &[4], 0, 17)
                .build(),
            |e| matches!(e, GgufErrorKind::Absurd { value: 17, .. }),
        ));
        cases.push((
            "tensor offset far beyond the file",
            Builder::new().tensor_raw(b"t", 1, &[4], 0, 1 << 50).build(),
            |e| matches!(e, GgufErrorKind::Truncated { what, .. } if what.contains("'t'")),
        ));
        cases.push((
            "tensor offset near u64::MAX",
            Builder::new()
                .tensor_raw(b"t", 1, &[4], 0, u64::MAX - 31)
                .build(),
            |e| {
                matches!(
                    e,
                    GgufErrorKind::Truncated {
                        needed: u64::MAX,
                        ..
                    }
                )
            },
        ));
        cases.push((
            "huge tensor",
            Builder::new()
                .tensor_raw(b"t", 2, &[1 << 31, 1 << 20], 0, 0)
                .build(),
            |e| matches!(e, GgufErrorKind::Truncated { .. }),
        ));
        let mut b = model();
        b.cut_data = 1;
        cases.push(("tensor data one byte short", b.build(), |e| {
            matches!(e, GgufErrorKind::Truncated { what, .. } if what == "the data of tensor 'output.weight'")
        }));
        let mut b = model();
        b.tensor_count = Some(4);
        cases.push(("more tensors declared than present", b.build(), |e| {
            matches!(e, GgufErrorKind::Truncated { .. })
        }));
        cases
    }

    #[test]
    fn rejects_hostile_input() {
        for (name, bytes, check) in hostile_cases() {
            match parse(&bytes) {
                Ok(info) => panic!("{name}: accepted: {info:?}"),
                Err(e) => {
                    assert!(check(&e), "{name}: wrong error: {e:?} ({e})");
                    assert!(!e.to_string().is_empty());
                }
            }
        }
    }

    #[test]
    fn string_over_64_mib_is_absurd() {
        // The stream claims to be big enough, so the length passes the
        // truncation check, and the limit is what stops it.
        let mut p = Vec::new();
        p.extend_from_slice(&(MAX_STRING_LEN + 1).to_le_bytes());
        let bytes = Builder::new().kv_raw(b"k", T_STRING, &p).build();
        let err = read_header_from(Cursor::new(&bytes), 1 << 30).expect_err("absurd");
        assert!(
            matches!(err, GgufErrorKind::Absurd { value, .. } if value == MAX_STRING_LEN + 1),
            "{err:?}"
        );
        // The same inside an array of strings.
        let mut e = Vec::new();
        e.extend_from_slice(&(MAX_STRING_LEN + 1).to_le_bytes());
        let p = Builder::array(T_STRING, 1, &e);
        let bytes = Builder::new().kv_raw(b"k", T_ARRAY, &p).build();
        let err = read_header_from(Cursor::new(&bytes), 1 << 30).expect_err("absurd");
        assert!(matches!(err, GgufErrorKind::Absurd { .. }), "{err:?}");
    }

    #[test]
    fn stream_shorter_than_its_claimed_size_is_truncated() {
        let bytes = model().build();
        let half = &bytes[..100];
        let err = read_header_from(Cursor::new(half), bytes.len() as u64).expect_err("truncated");
        assert!(matches!(err, GgufErrorKind::Truncated { .. }), "{err:?}");
    }

    #[test]
    fn cut_anywhere_is_truncated() {
        let bytes = model().build();
        for len in 0..bytes.len() {
            match parse(&bytes[..len]) {
                Err(GgufErrorKind::Truncated {
                    needed, file_size, ..
                }) => {
                    assert!(len >= 4, "cut at {len}");
                    assert_eq!(file_size, len as u64);
                    assert!(needed > file_size, "cut at {len}: needed {needed}");
                }
                Err(GgufErrorKind::TooSmall { .. }) => assert!(len < 4),
                other => panic!("cut at {len}: {other:?}"),
            }
        }
        assert!(parse(&bytes).is_ok());
    }

    #[test]
    fn corrupted_bytes_never_panic() {
        let original = model().build();
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..20_000 {
            let mut bytes = original.clone();
            for _ in 0..1 + next() % 4 {
                let i = (next() % bytes.len() as u64) as usize;
                bytes[i] = match next() % 3 {
                    0 => 0xff,
                    1 => 0,
                    _ => next() as u8,
                };
            }
            // The checks too: nothing they read may panic either.
            let _ = read_header_from(Cursor::new(&bytes), bytes.len() as u64);
        }
    }

    #[test]
    fn error_messages_are_clear() {
        let e = parse(b"\x89PNG\r\n\x1a\n").expect_err("png");
        assert_eq!(
            e.to_string(),
            "not a GGUF file (starts with \"\\x89PNG\", expected \"GGUF\")"
        );
        let e = parse(b"").expect_err("empty");
        assert_eq!(e.to_string(), "not a GGUF file (it is empty)");
        let e = parse(b"ab").expect_err("small");
        assert_eq!(e.to_string(), "not a GGUF file (it is only 2 bytes long)");
        let mut b = Builder::new();
        b.tensor_count = Some(3_000_000_000);
        let e = parse(&b.build()).expect_err("absurd");
        assert_eq!(e.to_string(), "implausible header: 3000000000 tensors");
        let e = parse(&Builder::new().version(1).build()).expect_err("v1");
        assert!(
            e.to_string().starts_with("unsupported GGUF version 1"),
            "{e}"
        );
        let e = parse(&Builder::new().version(3u32.swap_bytes()).build()).expect_err("be");
        assert!(e.to_string().contains("big-endian"), "{e}");
        let mut b = model();
        b.cut_data = 10;
        let bytes = b.build();
        let e = parse(&bytes).expect_err("cut");
        assert_eq!(
            e.to_string(),
            format!(
                "the file is truncated: the data of tensor 'output.weight' needs {} bytes but the file has {}",
                bytes.len() + 10,
                bytes.len()
            )
        );
        let e = parse(&model().build()[..60]).expect_err("cut header");
        assert_eq!(
            e.to_string(),
            "the file is truncated: metadata entry 0 ('general.architecture') needs 64 bytes but the file has 60"
        );
    }

    #[test]
    fn read_header_reports_the_path() {
        let dir = tempfile::tempdir().expect("tempdir");
        let good = dir.path().join("good.gguf");
        std::fs::write(&good, model().build()).expect("write");
        let info = read_header(&good).expect("valid");
        assert_eq!(info.architecture.as_deref(), Some("llama"));

        let bad = dir.path().join("notes.txt");
        std::fs::write(&bad, "just some notes").expect("write");
        let err = read_header(&bad).expect_err("not gguf");
        assert_eq!(err.path, bad);
        assert!(matches!(err.kind, GgufErrorKind::NotGguf { .. }));
        assert!(
            err.to_string()
                .starts_with(&format!("{}: not a GGUF file", bad.display())),
            "{err}"
        );
        assert!(std::error::Error::source(&err).is_some());

        let missing = dir.path().join("missing.gguf");
        let err = read_header(&missing).expect_err("missing");
        assert!(matches!(err.kind, GgufErrorKind::Io(_)));
        assert!(err.to_string().contains("could not read the file"), "{err}");

        let err = read_header(dir.path()).expect_err("directory");
        assert!(
            matches!(err.kind, GgufErrorKind::NotRegular("directory")),
            "{err}"
        );
        // A device would be read forever; it is refused before it is opened.
        let err = read_header(Path::new("/dev/zero")).expect_err("device");
        assert!(
            matches!(err.kind, GgufErrorKind::NotRegular("device")),
            "{err}"
        );
    }
}
