//! The GGUF header reader on the real model (missing is a failure: the
//! project's scripts fetch it).

use std::fs::File;
use std::io::{self, Read};

use llm4sweat::gguf::{GgufErrorKind, read_header};

use crate::util::{gemma, smollm2};

#[test]
fn reads_the_real_model_header() {
    let model = smollm2();
    let path = model.as_path();
    let start = std::time::Instant::now();
    let info = read_header(path).expect("real model");
    let elapsed = start.elapsed();
    assert_eq!(info.architecture.as_deref(), Some("llama"));
    assert_eq!(info.context_length, Some(8192));
    assert_eq!(info.quantization, "Q4_1");
    assert!(
        (134_000_000..135_000_000).contains(&info.parameter_count),
        "{}",
        info.parameter_count
    );
    assert!(
        info.chat_template
            .as_deref()
            .is_some_and(|t| t.contains("<|im_start|>"))
    );
    assert!(elapsed.as_secs() < 5, "took {elapsed:?}");

    let dir = tempfile::tempdir().expect("tempdir");
    for len in [info.file_size / 2, 1000] {
        let cut = dir.path().join(format!("cut-{len}.gguf"));
        let mut out = File::create(&cut).expect("create");
        io::copy(&mut File::open(path).expect("open").take(len), &mut out).expect("copy");
        drop(out);
        let err = read_header(&cut).expect_err("truncated");
        assert!(
            matches!(err.kind, GgufErrorKind::Truncated { .. }),
            "{len}: {err}"
        );
    }
}

/// The header checks for what llama.cpp asserts on pass both real models
/// (their layer counts match their `blk.N` tensors, their tokens are distinct).
#[test]
fn the_real_models_pass_the_header_checks() {
    for path in [smollm2(), gemma()] {
        let info = read_header(&path).unwrap_or_else(|e| panic!("{e}"));
        let arch = info.architecture.clone().expect("architecture");
        let layers = info
            .get(&format!("{arch}.block_count"))
            .and_then(|v| v.as_u64());
        assert!(
            layers.is_some_and(|n| n > 1),
            "{}: {layers:?}",
            path.display()
        );
    }
}
