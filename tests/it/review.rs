//! The blind-review workflow through the core API on a real database.

use llm4sweat::DomainPack;
use llm4sweat::ids::{RaterId, StudyId};
use llm4sweat::inference::SamplingParams;
use llm4sweat::review::{self, ReviewError, StudySpec};
use llm4sweat::store::{Actor, RatingRow, Store, StoreError, Table};
use llm4sweat::testkit::{self, FakeModels};
use llm4sweat::vocab::{AnswerLabel, AssignmentStatus, ModelRole, Preference, Specialty};

use crate::util::Workspace;

const MODELS: [&str; 3] = [
    "secret-model-alpha",
    "secret-model-beta",
    "secret-model-gamma",
];

/// A workspace with three models that answered the first `n` items.
fn setup(ws: &Workspace, n: u64) -> (Store, DomainPack) {
    let pack = DomainPack::embedded_default().expect("pack");
    let models: Vec<(&str, ModelRole)> = MODELS.iter().map(|m| (*m, ModelRole::Baseline)).collect();
    let (store, _) = testkit::workspace_with_answers(
        &ws.db(),
        &pack,
        FakeModels::Remote,
        &models,
        Some(n),
        &|m, item| format!("Reply {} to item {item}", m.id.0 * 7),
    )
    .expect("fixture");
    (store, pack)
}

fn spec(pack: &DomainPack, models: &[&str], rater_ids: Vec<RaterId>, overlap: u32) -> StudySpec {
    StudySpec {
        name: "pilot".into(),
        category: None,
        limit: Some(6),
        item_ids: None,
        models: models.iter().map(|m| m.to_string()).collect(),
        rater_ids,
        overlap,
        seed: 2024,
        params: SamplingParams::default(),
        system_prompt: pack.manifest.system_prompt.clone(),
    }
}

fn full(score: i64) -> RatingRow {
    RatingRow {
        accuracy: Some(score),
        appropriateness: Some(score),
        empathy: Some(score),
        ..Default::default()
    }
}

#[test]
fn bad_studies_are_refused_and_nothing_is_written() {
    let ws = Workspace::new();
    let (mut store, pack) = setup(&ws, 6);
    let rubric = &pack.manifest.rubric;
    let two = &MODELS[..2];
    let with = |f: &dyn Fn(&mut StudySpec)| {
        let mut s = spec(&pack, two, vec![], 1);
        f(&mut s);
        s
    };
    type Expect = &'static dyn Fn(&ReviewError) -> bool;
    let cases: Vec<(StudySpec, Expect)> = vec![
        (spec(&pack, &MODELS[..1], vec![], 1), &|e| {
            matches!(e, ReviewError::ModelCount(1))
        }),
        (spec(&pack, &[], vec![], 1), &|e| {
            matches!(e, ReviewError::ModelCount(0))
        }),
        (
            spec(
                &pack,
                &["secret-model-alpha", "secret-model-alpha"],
                vec![],
                1,
            ),
            &|e| matches!(e, ReviewError::DuplicateModel(m) if m == "secret-model-alpha"),
        ),
        (
            spec(&pack, &["secret-model-alpha", "nonexistent"], vec![], 1),
            &|e| matches!(e, ReviewError::Store(StoreError::NotFound { entity: "model", key }) if key == "nonexistent"),
        ),
        (with(&|s| s.category = Some("astrology".into())), &|e| {
            matches!(e, ReviewError::NoItems)
        }),
        (with(&|s| s.name = "   ".into()), &|e| {
            matches!(
                e,
                ReviewError::BadName {
                    what: "study",
                    chars: 0
                }
            )
        }),
        (with(&|s| s.name = "x".repeat(121)), &|e| {
            matches!(e, ReviewError::BadName { chars: 121, .. })
        }),
        (with(&|s| s.overlap = 0), &|e| {
            matches!(e, ReviewError::ZeroOverlap)
        }),
        (with(&|s| s.limit = Some(0)), &|e| {
            matches!(e, ReviewError::ZeroLimit)
        }),
        (with(&|s| s.rater_ids = vec![RaterId(999)]), &|e| {
            matches!(
                e,
                ReviewError::Store(StoreError::NotFound {
                    entity: "rater",
                    ..
                })
            )
        }),
    ];
    for (s, expected) in cases {
        let err = review::create_study(&mut store, &s, rubric, &Actor::Cli).expect_err("refused");
        assert!(expected(&err), "unexpected refusal: {err:?}");
    }
    assert!(store.studies().expect("studies").is_empty());
}

#[test]
fn raters_see_blinded_answers_in_a_stable_per_rater_order() {
    let ws = Workspace::new();
    let (mut store, pack) = setup(&ws, 6);
    let r1 = review::create_rater(
        &mut store,
        "Dr. Zoë Ávila",
        Specialty::Dermatology,
        &Actor::Cli,
    )
    .expect("rater");
    let r2 = review::create_rater(&mut store, "Dr. Lee", Specialty::Psychology, &Actor::Cli)
        .expect("rater");
    review::create_study(
        &mut store,
        &spec(&pack, &MODELS, vec![r1.id, r2.id], 2),
        &pack.manifest.rubric,
        &Actor::Cli,
    )
    .expect("study");
    let q1 = review::queue(&store, r1.id).expect("queue");
    let q2 = review::queue(&store, r2.id).expect("queue");
    assert_eq!((q1.len(), q2.len()), (6, 6));
    assert!(
        q1.iter()
            .all(|q| q.ready && q.status == AssignmentStatus::Pending)
    );

    let mut orders_differ = false;
    for (a1, a2) in q1.iter().zip(&q2) {
        let v1 = review::blinded_item(&store, r1.id, a1.assignment_id).expect("item");
        let again = review::blinded_item(&store, r1.id, a1.assignment_id).expect("item");
        assert_eq!(v1, again, "reopening must show the same order");
        let labels: Vec<_> = v1.answers.iter().map(|a| a.label).collect();
        assert_eq!(labels, [AnswerLabel::A, AnswerLabel::B, AnswerLabel::C]);
        // Blinding: nothing in the payload identifies a model.
        let json = serde_json::to_string(&v1).expect("json");
        for leak in [
            "secret-model",
            "template-",
            "4321",
            "321",
            "generation",
            "model",
            "openai",
        ] {
            assert!(!json.contains(leak), "payload leaks {leak:?}: {json}");
        }
        let v2 = review::blinded_item(&store, r2.id, a2.assignment_id).expect("item");
        let t1: Vec<_> = v1.answers.iter().map(|a| &a.text).collect();
        let t2: Vec<_> = v2.answers.iter().map(|a| &a.text).collect();
        orders_differ |= t1 != t2;
        // A rater cannot open another rater's assignment.
        let err = review::blinded_item(&store, r2.id, a1.assignment_id).expect_err("not theirs");
        assert!(
            matches!(
                err,
                ReviewError::Store(StoreError::NotFound {
                    entity: "assignment",
                    ..
                })
            ),
            "{err:?}"
        );
    }
    assert!(
        orders_differ,
        "two raters should not see every item in the same order"
    );
}

#[test]
fn ratings_autosave_validate_and_submit_once() {
    let ws = Workspace::new();
    let (mut store, pack) = setup(&ws, 2);
    let r =
        review::create_rater(&mut store, "Dr. Ito", Specialty::Other, &Actor::Cli).expect("rater");
    review::create_study(
        &mut store,
        &spec(&pack, &MODELS[..2], vec![r.id], 1),
        &pack.manifest.rubric,
        &Actor::Cli,
    )
    .expect("study");
    let a = review::queue(&store, r.id).expect("queue")[0].assignment_id;

    // Before any rating, the export is a valid empty table: the header only.
    let mut empty = Vec::new();
    assert_eq!(
        review::export_ratings_csv(&store, StudyId(1), &mut empty).expect("export"),
        0
    );
    assert_eq!(
        String::from_utf8(empty).expect("utf-8").trim_end(),
        review::RATING_COLUMNS.join(",")
    );

    let err = review::save_rating(&mut store, r.id, a, AnswerLabel::A, &full(6))
        .expect_err("6 is out of range");
    assert!(
        matches!(err, ReviewError::ScoreOutOfRange { value: 6, .. }),
        "{err:?}"
    );
    let err = review::save_rating(&mut store, r.id, a, AnswerLabel::C, &full(3))
        .expect_err("no answer C in a two-model study");
    assert!(
        matches!(err, ReviewError::UnknownAnswer(AnswerLabel::C)),
        "{err:?}"
    );
    let huge = RatingRow {
        comment: Some("é".repeat(20_001)),
        ..full(3)
    };
    assert!(matches!(
        review::save_rating(&mut store, r.id, a, AnswerLabel::A, &huge),
        Err(ReviewError::TextTooLong {
            field: "comment",
            chars: 20_001
        })
    ));

    review::save_rating(
        &mut store,
        r.id,
        a,
        AnswerLabel::A,
        &RatingRow {
            accuracy: Some(4),
            ..Default::default()
        },
    )
    .expect("draft");
    let err = review::submit(&mut store, r.id, a).expect_err("incomplete");
    let ReviewError::Incomplete(missing) = err else {
        panic!("expected Incomplete, got {err:?}");
    };
    assert!(
        missing.contains(&"appropriateness of answer A".to_owned())
            && missing.contains(&"accuracy of answer B".to_owned())
            && missing.contains(&"the preference".to_owned()),
        "{missing:?}"
    );

    let with_comment = RatingRow {
        comment: Some("Good, but say \"see a doctor\"".into()),
        corrected_answer: Some("   ".into()),
        ..full(4)
    };
    review::save_rating(&mut store, r.id, a, AnswerLabel::A, &with_comment).expect("save");
    review::save_rating(&mut store, r.id, a, AnswerLabel::B, &full(2)).expect("save");
    review::save_preference(&mut store, r.id, a, Preference::BetterA).expect("pref");
    assert!(matches!(
        review::save_preference(&mut store, r.id, a, Preference::BetterD),
        Err(ReviewError::UnknownAnswer(AnswerLabel::D))
    ));
    let view = review::blinded_item(&store, r.id, a).expect("view");
    assert_eq!(view.preference, Some(Preference::BetterA));
    assert_eq!(
        view.answers[0].rating.comment.as_deref(),
        Some("Good, but say \"see a doctor\"")
    );
    assert_eq!(
        view.answers[0].rating.corrected_answer, None,
        "blank text is stored as nothing"
    );
    review::submit(&mut store, r.id, a).expect("submit");

    let audit = store.count(Table::AuditLog).expect("count");
    let err = review::submit(&mut store, r.id, a).expect_err("twice");
    assert!(
        matches!(err, ReviewError::AlreadySubmitted(x) if x == a),
        "{err:?}"
    );
    let err =
        review::save_rating(&mut store, r.id, a, AnswerLabel::A, &full(1)).expect_err("read-only");
    assert!(
        matches!(err, ReviewError::Store(StoreError::AlreadySubmitted(x)) if x == a),
        "{err:?}"
    );
    assert_eq!(
        review::blinded_item(&store, r.id, a).expect("view").answers[0]
            .rating
            .accuracy,
        Some(4)
    );
    assert_eq!(
        store.count(Table::AuditLog).expect("count"),
        audit,
        "refused writes leave no trace"
    );

    let mut csv = Vec::new();
    let n = review::export_ratings_csv(&store, StudyId(1), &mut csv).expect("export");
    assert_eq!(n, 2);
    let mut reader = csv::Reader::from_reader(csv.as_slice());
    assert_eq!(
        reader.headers().expect("header"),
        &csv::StringRecord::from(review::RATING_COLUMNS.to_vec()),
        "the empty-export header matches the serialized rows"
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("row")).collect();
    let text = String::from_utf8(csv).expect("utf-8");
    assert!(
        text.contains("secret-model-alpha") && text.contains("secret-model-beta"),
        "{text}"
    );
    assert_eq!(rows.len(), 2);
    drop(store);

    // The same study through the CLI: results (JSON and table) and the ratings export.
    let json: serde_json::Value =
        serde_json::from_str(&ws.ok(&["results", "--json"])).expect("results JSON");
    assert_eq!(json["submitted_items"], 1);
    let mut means: Vec<f64> = json["models"]
        .as_array()
        .expect("models")
        .iter()
        .map(|m| m["axes"][0]["mean"].as_f64().expect("mean"))
        .collect();
    means.sort_by(f64::total_cmp);
    assert_eq!(means, [2.0, 4.0]);
    let table = ws.ok(&["results", "--study", "pilot"]);
    assert!(
        table.contains("secret-model-alpha") && table.contains("1 submitted item from 1 rater "),
        "{table}"
    );
    let out = ws.run(&["results", "--study", "nope"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no study named \"nope\"") && stderr.contains("\"pilot\""),
        "{stderr}"
    );
    let file = ws.dir.path().join("ratings, pilot.csv");
    ws.ok(&["export", "ratings", "--out", file.to_str().expect("utf-8")]);
    let mut reader = csv::Reader::from_path(&file).expect("csv");
    assert_eq!(reader.records().count(), 2);
}

#[test]
fn overlap_caps_raters_per_item_and_late_raters_join_open_studies() {
    let ws = Workspace::new();
    let (mut store, pack) = setup(&ws, 6);
    let a =
        review::create_rater(&mut store, "A", Specialty::Dermatology, &Actor::Cli).expect("rater");
    review::create_study(
        &mut store,
        &spec(&pack, &MODELS[..2], vec![a.id], 2),
        &pack.manifest.rubric,
        &Actor::Cli,
    )
    .expect("study");
    let b =
        review::create_rater(&mut store, "B", Specialty::Psychology, &Actor::Cli).expect("rater");
    assert_eq!(
        review::queue(&store, b.id).expect("queue").len(),
        6,
        "a new rater joins the open studies that still need raters"
    );
    assert_eq!(
        review::join_open_studies(&mut store, b.id).expect("rejoin"),
        0,
        "joining twice adds nothing"
    );
    let c = review::create_rater(&mut store, "C", Specialty::Other, &Actor::Cli).expect("rater");
    assert_eq!(
        review::join_open_studies(&mut store, c.id).expect("join"),
        0,
        "every item already has 2 raters"
    );
    let before = review::queue(&store, a.id).expect("queue");
    store.close_study(StudyId(1), &Actor::Cli).expect("close");
    assert!(
        review::queue(&store, a.id).expect("queue").is_empty(),
        "closed studies leave the queue"
    );
    assert!(
        store.close_study(StudyId(1), &Actor::Cli).is_err(),
        "closing twice is refused"
    );
    // Reopening undoes the close: the same queue comes back.
    store.reopen_study(StudyId(1), &Actor::Cli).expect("reopen");
    assert_eq!(review::queue(&store, a.id).expect("queue"), before);
    assert!(
        store.reopen_study(StudyId(1), &Actor::Cli).is_err(),
        "an open study cannot be reopened"
    );
    assert!(
        review::create_rater(&mut store, "A", Specialty::Other, &Actor::Cli).is_err(),
        "names are unique"
    );
}
