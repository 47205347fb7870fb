//! `llm4sweat study …`: a whole study run headless, on the real model.

use llm4sweat::store::Store;
use llm4sweat::vocab::StudyStatus;

use crate::util::{Workspace, smollm2};

#[test]
fn a_study_is_created_generated_listed_closed_and_reopened_from_the_cli() {
    let ws = Workspace::new().with_model();
    let copy = ws.path("copy.gguf");
    std::fs::copy(smollm2(), &copy).expect("copy model");
    ws.ok(&[
        "models",
        "add",
        copy.to_str().expect("utf-8"),
        "--name",
        "smol2",
    ]);
    ws.ok(&["rater", "add", "Ana", "--specialty", "dermatology"]);
    ws.ok(&["rater", "add", "Bo", "--specialty", "psychology"]);

    let created = ws.ok(&[
        "study",
        "create",
        "Pilot",
        "--model",
        "smol",
        "--model",
        "smol2",
        "--rater",
        "Ana",
        "--rater",
        "Bo",
        "--limit",
        "2",
        "--overlap",
        "2",
        "--study-seed",
        "1234",
        "--max-tokens",
        "8",
    ]);
    assert!(created.contains("2 items"), "{created}");
    assert!(created.contains("seed 1234"), "{created}");
    assert!(created.contains("4 answers to generate"), "{created}");

    let list = ws.ok(&["study", "list"]);
    let row = list
        .lines()
        .find(|l| l.starts_with("Pilot"))
        .expect("a row");
    let cols: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(&cols[1..6], ["open", "2", "4", "2", "0/4"], "{list}");

    let generated = ws.ok(&["study", "generate", "Pilot", "--threads", "2"]);
    assert!(
        generated.contains("smol: 2 answers generated, 0 failed"),
        "{generated}"
    );
    assert!(
        generated.contains("smol2: 2 answers generated, 0 failed"),
        "{generated}"
    );
    let again = ws.ok(&["study", "generate", "Pilot"]);
    assert!(again.contains("every answer is there"), "{again}");

    // What the CLI shows is what the store holds.
    let store = Store::open(&ws.db()).expect("open");
    let study = store.studies().expect("studies").remove(0);
    assert_eq!(study.seed, 1234);
    assert_eq!(study.params.max_tokens, 8);
    let progress = store.study_progress(study.id).expect("progress");
    assert_eq!(progress.iter().map(|p| p.total).sum::<i64>(), 4);
    let show = ws.ok(&["study", "show"]);
    assert!(show.contains("study \"Pilot\" (open)"), "{show}");
    assert!(show.contains("2 (0 answers still to generate)"), "{show}");
    assert!(show.contains("max 8 tokens"), "{show}");

    ws.ok(&["study", "close", "Pilot"]);
    let twice = ws.run(&["study", "close", "Pilot"]);
    assert!(!twice.status.success());
    assert!(
        String::from_utf8_lossy(&twice.stderr).contains("already closed"),
        "{}",
        String::from_utf8_lossy(&twice.stderr)
    );
    assert_eq!(
        Store::open(&ws.db())
            .expect("open")
            .study(study.id)
            .expect("study")
            .status,
        StudyStatus::Closed
    );
    ws.ok(&["study", "reopen", "Pilot"]);
    assert_eq!(
        Store::open(&ws.db())
            .expect("open")
            .study(study.id)
            .expect("study")
            .status,
        StudyStatus::Open
    );
    let missing = ws.run(&["study", "show", "Nope"]);
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no study named \"Nope\""));
}
