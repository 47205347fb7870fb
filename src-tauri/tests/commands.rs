//! The command layer on a temporary database: what the UI receives, blinding
//! of the rater's payloads (checked on the serialized JSON the IPC sends), and
//! bad input.

use std::collections::BTreeSet;

use llm4sweat::DomainPack;
use llm4sweat::generate::params_hash;
use llm4sweat::ids::StudyId;
use llm4sweat::models::FileState;
use llm4sweat::store::{Actor, RatingRow, Store, Table};
use llm4sweat::testkit::{self, FakeModels};
use llm4sweat::vocab::{AnswerLabel, ModelRole, Preference, Specialty, StudyStatus};
use llm4sweat::workspace::WorkspacePaths;
use llm4sweat_desktop::app::{App, StudyInput};
use llm4sweat_desktop::error::ErrorCode;

struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn paths(&self) -> WorkspacePaths {
        WorkspacePaths {
            db: self.dir.path().join("ws.sqlite3"),
            models_dir: self.dir.path().join("models"),
        }
    }
}

const NAMES: [&str; 2] = ["smollm2-135m-instruct", "gemma-3-270m"];

/// A workspace where the demo's two models are registered (files are fake but
/// registered as such) and answered every demo item, like after `llm4sweat demo`.
fn fixture_with_answers() -> (Fixture, App) {
    let fx = Fixture {
        dir: tempfile::tempdir().expect("tempdir"),
    };
    let pack = DomainPack::embedded_default().expect("pack");
    {
        let mut store = Store::open(&fx.paths().db).expect("open");
        store.load_pack(&pack, &Actor::Cli).expect("load");
        testkit::register_fake_models(
            &mut store,
            FakeModels::LocalIn(fx.dir.path()),
            &[
                (NAMES[0], ModelRole::Candidate),
                (NAMES[1], ModelRole::Baseline),
            ],
        )
        .expect("models");
    }
    // Opening the app creates the demo study; then answer its items.
    let app = App::open(&fx.paths()).expect("app");
    let status = app.workspace_status().expect("status");
    let demo = status
        .demo_study_id
        .expect("demo study exists once both models are registered");
    {
        let mut store = Store::open(&fx.paths().db).expect("open");
        let study = store.study(demo).expect("study");
        assert_eq!(
            study.params_hash,
            params_hash(&study.params, &study.system_prompt)
        );
        let models: Vec<_> = store
            .models()
            .expect("models")
            .into_iter()
            .filter(|m| NAMES.contains(&m.name.as_str()))
            .collect();
        let items = store.study_item_ids(demo).expect("items");
        testkit::store_answers(
            &mut store,
            &models,
            &items,
            &study.params,
            &study.system_prompt,
            &|m, item| format!("Reply {}-{item}: see a dermatologist if it persists.", m.id),
        )
        .expect("answers");
    }
    (fx, app)
}

fn keys(v: &serde_json::Value, out: &mut BTreeSet<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, v) in m {
                out.insert(k.clone());
                keys(v, out);
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|v| keys(v, out)),
        _ => {}
    }
}

#[test]
fn first_run_shows_the_manifest_and_no_demo_without_models() {
    let fx = Fixture {
        dir: tempfile::tempdir().expect("tempdir"),
    };
    let app = App::open(&fx.paths()).expect("app");
    let s = app.workspace_status().expect("status");
    assert_eq!(s.items, 76);
    assert!(s.models.is_empty());
    assert_eq!(s.demo_study_id, None);
    let names: Vec<_> = s
        .manifest
        .iter()
        .map(|m| (m.name.as_str(), m.fetched, m.is_default))
        .collect();
    assert_eq!(
        names,
        [
            ("smollm2-135m-instruct", false, true),
            ("gemma-3-270m", false, false)
        ]
    );
}

/// Blinding is a security property: the rater's payloads, as serialized for
/// IPC, contain only whitelisted fields and nothing that identifies a model.
#[test]
fn rater_payloads_are_blind() {
    let (fx, app) = fixture_with_answers();
    let rater = app
        .create_rater("Dr. Zoë Ávila", Specialty::Dermatology)
        .expect("rater");
    let queue = app.rater_queue(rater.id).expect("queue");
    assert_eq!(queue.len(), 6);
    let queue_json = serde_json::to_value(&queue).expect("json");
    let mut seen = BTreeSet::new();
    keys(&queue_json, &mut seen);
    assert_eq!(
        seen,
        ["assignment_id", "ready", "status", "study"]
            .map(String::from)
            .into()
    );

    let store = Store::open(&fx.paths().db).expect("open");
    let models = store.models().expect("models");
    let mut forbidden: Vec<String> = Vec::new();
    for m in &models {
        forbidden.push(m.name.clone());
        forbidden.push(m.path.clone().unwrap_or_default());
        forbidden.push(m.parameter_count.unwrap_or_default().to_string());
        forbidden.push(m.sha256.clone().unwrap_or_default());
    }
    forbidden
        .extend(["gguf", "template-hash", "1234.5", "4321.5", "Q4_1", "llama"].map(String::from));

    for entry in &queue {
        let item = app.open_item(rater.id, entry.assignment_id).expect("item");
        let json = serde_json::to_value(&item).expect("json");
        let mut seen = BTreeSet::new();
        keys(&json, &mut seen);
        let allowed: BTreeSet<String> = [
            "assignment_id",
            "kind",
            "text",
            "answers",
            "preference",
            "status",
            "label",
            "rating",
            "accuracy",
            "appropriateness",
            "empathy",
            "harm",
            "harm_likelihood",
            "comment",
            "corrected_answer",
        ]
        .map(String::from)
        .into();
        assert!(
            seen.is_subset(&allowed),
            "unexpected fields in the rater payload: {:?}",
            seen.difference(&allowed).collect::<Vec<_>>()
        );
        let text = json.to_string();
        for f in &forbidden {
            assert!(
                !text.contains(f.as_str()),
                "rater payload leaks {f:?}: {text}"
            );
        }
        let labels: Vec<_> = item.answers.iter().map(|a| a.label).collect();
        assert_eq!(labels, [AnswerLabel::A, AnswerLabel::B]);
    }
}

#[test]
fn a_rating_round_trip_and_bad_input_leave_the_database_intact() {
    let (fx, app) = fixture_with_answers();
    let rater = app
        .create_rater("Dr. Lee", Specialty::Psychology)
        .expect("rater");
    assert_eq!(
        app.create_rater("Dr. Lee", Specialty::Psychology)
            .expect_err("duplicate")
            .code,
        ErrorCode::Conflict
    );
    assert_eq!(
        app.create_rater("  ", Specialty::Psychology)
            .expect_err("blank")
            .code,
        ErrorCode::Invalid
    );
    let a = app.rater_queue(rater.id).expect("queue")[0].assignment_id;

    let full = |s| RatingRow {
        accuracy: Some(s),
        appropriateness: Some(s),
        empathy: Some(s),
        ..Default::default()
    };
    // An empty comment is fine (stored as nothing); a huge one is refused.
    app.save_rating(
        rater.id,
        a,
        AnswerLabel::A,
        &RatingRow {
            comment: Some(String::new()),
            ..full(4)
        },
    )
    .expect("empty comment");
    let huge = RatingRow {
        comment: Some("x".repeat(50_000)),
        ..full(4)
    };
    let err = app
        .save_rating(rater.id, a, AnswerLabel::A, &huge)
        .expect_err("huge comment");
    assert_eq!(err.code, ErrorCode::Invalid);
    assert!(err.message.contains("limit"), "{}", err.message);
    app.save_rating(rater.id, a, AnswerLabel::B, &full(2))
        .expect("B");
    let err = app.submit_item(rater.id, a).expect_err("no preference yet");
    assert!(err.message.contains("preference"), "{}", err.message);
    app.save_preference(rater.id, a, Preference::Tie)
        .expect("pref");
    app.submit_item(rater.id, a).expect("submit");
    let err = app.submit_item(rater.id, a).expect_err("twice");
    assert_eq!(err.code, ErrorCode::Conflict);
    assert!(err.message.contains("already submitted"), "{}", err.message);
    let err = app
        .save_rating(rater.id, a, AnswerLabel::A, &full(1))
        .expect_err("after submit");
    assert_eq!(err.code, ErrorCode::Conflict);

    // Another rater cannot read it.
    let other = app.create_rater("Dr. Ng", Specialty::Other).expect("rater");
    assert_eq!(
        app.open_item(other.id, a).expect_err("not theirs").code,
        ErrorCode::NotFound
    );

    // Export: the coordinator sees the models.
    let out = fx.dir.path().join("ratings.csv");
    let n = app
        .export_study_ratings(StudyId(1), out.to_str().expect("utf-8"))
        .expect("export");
    assert_eq!(n, 2);
    let csv = std::fs::read_to_string(&out).expect("read");
    assert!(
        csv.contains("smollm2-135m-instruct") && csv.contains("Dr. Lee"),
        "{csv}"
    );
    let err = app
        .export_study_ratings(StudyId(1), "/nonexistent-dir/ratings.csv")
        .expect_err("bad path");
    assert_eq!(err.code, ErrorCode::Io);

    // Results: one submitted item; the two models got 4s and 2s, in some blinded order.
    let res = app.study_results(StudyId(1)).expect("results");
    assert_eq!((res.submitted_items, res.raters), (1, 1));
    let mut means: Vec<f64> = res
        .models
        .iter()
        .map(|m| m.axes[0].mean.expect("rated"))
        .collect();
    means.sort_by(f64::total_cmp);
    assert_eq!(means, [2.0, 4.0]);
    assert!(res.models.iter().all(|m| m.preference.ties == 1));
    assert_eq!(
        app.study_results(StudyId(999))
            .expect_err("no such study")
            .code,
        ErrorCode::NotFound
    );

    let store = Store::open(&fx.paths().db).expect("open");
    assert!(store.integrity_ok().expect("integrity"));
    assert_eq!(store.count(Table::Generations).expect("count"), 12);
}

#[test]
fn studies_and_generation_errors_are_clear() {
    let (fx, app) = fixture_with_answers();
    let input = |models: Vec<&str>| StudyInput {
        name: "pilot".into(),
        category: Some("treatment".into()),
        limit: Some(3),
        models: models.into_iter().map(String::from).collect(),
        rater_ids: vec![],
        overlap: 2,
        seed: 7,
    };
    let err = app.create_study(&input(vec![])).expect_err("no models");
    assert_eq!(err.code, ErrorCode::Invalid);
    assert!(err.message.contains("2 to 4 models"), "{}", err.message);
    let study = app.create_study(&input(NAMES.to_vec())).expect("study");
    assert_eq!((study.items, study.missing_answers), (3, 6));
    assert_eq!(
        app.create_study(&input(NAMES.to_vec()))
            .expect_err("same name")
            .code,
        ErrorCode::Conflict
    );
    // Closing is undoable: reopen brings it back; each only applies once.
    assert_eq!(
        app.close_study(study.id).expect("close").status,
        StudyStatus::Closed
    );
    assert_eq!(
        app.close_study(study.id).expect_err("closed twice").code,
        ErrorCode::Conflict
    );
    assert_eq!(
        app.reopen_study(study.id).expect("reopen").status,
        StudyStatus::Open
    );
    assert_eq!(
        app.reopen_study(study.id).expect_err("already open").code,
        ErrorCode::Conflict
    );

    // The model files are not real GGUFs: generation fails with a clear error.
    let err = app
        .generate_study_answers("job-1", study.id, &llm4sweat::progress::NoProgress)
        .expect_err("fake model file");
    assert_eq!(err.code, ErrorCode::Model);
    assert!(err.message.contains("GGUF"), "{}", err.message);
    // A missing file says so.
    std::fs::remove_file(fx.dir.path().join("smollm2-135m-instruct.gguf")).expect("remove");
    let err = app
        .generate_study_answers("job-2", study.id, &llm4sweat::progress::NoProgress)
        .expect_err("missing");
    assert!(err.message.contains("missing"), "{}", err.message);
    assert!(!app.cancel_job("job-2"), "finished jobs are forgotten");
    let models = app.list_models().expect("models");
    assert_eq!(
        models.iter().find(|m| m.name == NAMES[0]).map(|m| m.state),
        Some(FileState::Missing)
    );
    let store = Store::open(&fx.paths().db).expect("open");
    assert_eq!(
        store.count(Table::Generations).expect("count"),
        12,
        "nothing half-written"
    );
}
