//! The command layer on a temporary database: what the UI receives, blinding
//! of the rater's payloads (checked on the serialized JSON the IPC sends), and
//! bad input.

use std::collections::BTreeSet;

use llm4sweat::DomainPack;
use llm4sweat::generate::params_hash;
use llm4sweat::ids::StudyId;
use llm4sweat::models::FileState;
use llm4sweat::store::{Actor, ItemFilter, RatingRow, ReviewDecision, Store, Table};
use llm4sweat::testkit::{self, FakeModels};
use llm4sweat::vocab::{
    AnswerLabel, ItemSplit, ModelRole, Preference, ReviewStatus, Specialty, StudyStatus,
};
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

/// A workspace with six synthetic items pending review, from one run of a
/// (fake, remote) generator that also refused two answers.
fn fixture_with_synthetic_items() -> (Fixture, App, Vec<String>) {
    let fx = Fixture {
        dir: tempfile::tempdir().expect("tempdir"),
    };
    let pack = DomainPack::embedded_default().expect("pack");
    let ids = {
        let mut store = Store::open(&fx.paths().db).expect("open");
        store.load_pack(&pack, &Actor::Cli).expect("load");
        let generator = testkit::register_fake_models(
            &mut store,
            FakeModels::Remote,
            &[("writer-7b", ModelRole::Generator)],
        )
        .expect("generator")
        .remove(0);
        testkit::seed_synthetic_items(&mut store, &pack, &generator, 6)
            .expect("synthetic items")
            .1
    };
    let app = App::open(&fx.paths()).expect("app");
    (fx, app, ids)
}

/// The expert's queue: each decision is checked by the core (an edit that
/// copies an evaluation item or breaks the length bounds is refused with
/// the reason and changes nothing), an edit keeps the original with its
/// editor, a rejection needs a reason, decisions are final, and the counts
/// and the overview follow.
#[test]
fn the_synthetic_queue_approves_edits_and_rejects_with_clear_errors() {
    let (fx, app, ids) = fixture_with_synthetic_items();
    let queue = app
        .synthetic_queue(ReviewStatus::Pending, 100)
        .expect("queue");
    assert_eq!(
        queue
            .items
            .iter()
            .map(|i| &i.external_id)
            .collect::<Vec<_>>(),
        ids.iter().collect::<Vec<_>>(),
        "oldest first"
    );
    assert_eq!(
        (
            queue.counts.pending,
            queue.counts.approved,
            queue.counts.rejected
        ),
        (6, 0, 0)
    );
    let first = &queue.items[0];
    assert!(
        !first.facts.is_empty(),
        "the cited facts come with the item"
    );
    assert!(
        first
            .facts
            .iter()
            .all(|f| !f.statement.is_empty() && !f.topic.is_empty())
    );
    assert!(first.strata.contains_key("intent"), "{:?}", first.strata);
    // The bindings type `provenance` as a string; IPC sends the object.
    let json = serde_json::to_value(first).expect("json");
    assert!(json["provenance"].is_object(), "{}", json["provenance"]);
    assert_eq!(
        app.synthetic_queue(ReviewStatus::Pending, 2)
            .expect("queue")
            .items
            .len(),
        2
    );

    let expert = app
        .create_rater("Dr. Expert", Specialty::Dermatology)
        .expect("rater")
        .name;
    let approved = app
        .review_synthetic(&ids[0], &ReviewDecision::Approve, &expert)
        .expect("approve");
    assert_eq!(approved.status, ReviewStatus::Approved);
    assert_eq!((approved.counts.pending, approved.counts.approved), (5, 1));

    // Edits the core refuses, with what to fix.
    let store = Store::open(&fx.paths().db).expect("open");
    let eval_text = store
        .items(&ItemFilter {
            split: Some(ItemSplit::Eval),
            ..Default::default()
        })
        .expect("eval items")
        .into_iter()
        .map(|i| i.text)
        .find(|t| t.chars().count() >= 60)
        .expect("an evaluation item");
    let answer = "Strong antiperspirants help many people; see a doctor if they do not help after a few weeks.";
    let original = store.synthetic_item(&ids[1]).expect("item");
    let cases = [
        (eval_text.as_str(), answer, "evaluation item"),
        ("Too short.", answer, "characters"),
        (original.text.as_str(), "Short.", "answer has"),
    ];
    for (text, answer, says) in cases {
        let err = app
            .review_synthetic(
                &ids[1],
                &ReviewDecision::Edit {
                    text: text.into(),
                    answer: answer.into(),
                },
                &expert,
            )
            .expect_err(says);
        assert_eq!(err.code, ErrorCode::Invalid, "{}", err.message);
        assert!(err.message.contains(says), "{}", err.message);
    }
    assert_eq!(store.synthetic_item(&ids[1]).expect("item"), original);

    let text =
        "I sweat so much under my arms that my shirts are soaked by noon. What can I do about it?";
    let edited = app
        .review_synthetic(
            &ids[1],
            &ReviewDecision::Edit {
                text: text.into(),
                answer: answer.into(),
            },
            "Dr. Typed Name",
        )
        .expect("edit");
    assert_eq!(edited.status, ReviewStatus::Approved);
    let after = store.synthetic_item(&ids[1]).expect("item");
    assert_eq!((after.text.as_str(), after.answer.as_str()), (text, answer));
    assert_eq!(after.revisions.len(), 1);
    assert_eq!(after.revisions[0].editor, "Dr. Typed Name");
    assert_eq!(after.revisions[0].text_before, original.text);
    assert_eq!(
        after.revisions[0].answer_before.as_deref(),
        Some(original.answer.as_str())
    );

    // Rejections need a reason; decisions are final; someone must decide.
    let reject = |reason: &str| ReviewDecision::Reject {
        reason: reason.into(),
    };
    let err = app
        .review_synthetic(&ids[2], &reject("  "), &expert)
        .expect_err("no reason");
    assert_eq!(err.code, ErrorCode::Conflict);
    assert!(err.message.contains("reason"), "{}", err.message);
    let rejected = app
        .review_synthetic(&ids[2], &reject("contradicts fact trt-02"), &expert)
        .expect("reject");
    assert_eq!(rejected.status, ReviewStatus::Rejected);
    assert_eq!(
        (
            rejected.counts.pending,
            rejected.counts.approved,
            rejected.counts.rejected
        ),
        (3, 2, 1)
    );
    let err = app
        .review_synthetic(&ids[0], &ReviewDecision::Approve, &expert)
        .expect_err("already approved");
    assert_eq!(err.code, ErrorCode::Conflict);
    assert!(err.message.contains("already approved"), "{}", err.message);
    let err = app
        .review_synthetic(&ids[3], &ReviewDecision::Approve, " ")
        .expect_err("no expert");
    assert!(err.message.contains("expert"), "{}", err.message);
    let err = app
        .review_synthetic("syn-99-0", &ReviewDecision::Approve, &expert)
        .expect_err("unknown");
    assert_eq!(err.code, ErrorCode::NotFound);
    let done = app
        .synthetic_queue(ReviewStatus::Rejected, 10)
        .expect("rejected");
    assert_eq!(done.items.len(), 1);
    assert_eq!(
        done.items[0].review_note.as_deref(),
        Some("contradicts fact trt-02")
    );

    // The overview: the run with its costs and rejections, and the balance
    // of the items not rejected (five) on every axis.
    let overview = app.augment_overview().expect("overview");
    assert_eq!(overview.counts, rejected.counts);
    let [run] = overview.runs.as_slice() else {
        panic!("one run: {:?}", overview.runs)
    };
    assert_eq!(run.generator, "writer-7b");
    assert_eq!((run.requested, run.accepted, run.rejected), (6, 6, 2));
    assert_eq!(run.prompt_tokens, 8 * 900);
    assert_eq!(
        run.rejections.iter().map(|r| r.count).sum::<u64>(),
        2,
        "{:?}",
        run.rejections
    );
    assert!(overview.balance.len() >= 4, "{:?}", overview.balance);
    for axis in &overview.balance {
        assert_eq!(
            axis.counts.iter().map(|(_, n)| n).sum::<u64>(),
            5,
            "{axis:?}"
        );
    }
}
