//! The blind-review workflow through the core API on a real database.

use llm4sweat::DomainPack;
use llm4sweat::generate::params_hash;
use llm4sweat::inference::SamplingParams;
use llm4sweat::review::{self, StudySpec};
use llm4sweat::store::{ItemFilter, NewGeneration, NewRemoteModel, RatingRow, Store, Table};

use crate::util::Workspace;

const MODELS: [&str; 3] = [
    "secret-model-alpha",
    "secret-model-beta",
    "secret-model-gamma",
];

/// A workspace with three models that answered the first `n` items.
fn setup(ws: &Workspace, n: u64) -> (Store, DomainPack) {
    let pack = DomainPack::embedded_default().expect("pack");
    let mut store = Store::open(&ws.db()).expect("open");
    store.load_pack(&pack).expect("load");
    let params = SamplingParams::default();
    let hash = params_hash(&params, &pack.manifest.system_prompt);
    let items = store
        .items(&ItemFilter {
            limit: Some(n),
            ..Default::default()
        })
        .expect("items");
    for (k, name) in MODELS.iter().enumerate() {
        let id = store
            .register_remote_model(&NewRemoteModel {
                name: (*name).into(),
                role: "baseline".into(),
                endpoint_url: "http://127.0.0.1:9/v1".into(),
                remote_model: (*name).into(),
                api_key_env: None,
            })
            .expect("model");
        for item in &items {
            store
                .insert_generation(&NewGeneration {
                    item_id: item.id,
                    model_id: id,
                    params_hash: hash.clone(),
                    params: serde_json::to_value(&params).expect("json"),
                    seed: 42,
                    system_prompt: pack.manifest.system_prompt.clone(),
                    text: format!("Reply number {k} about {}", item.external_id),
                    prompt_tokens: 100 + id,
                    completion_tokens: 50 * id,
                    prompt_ms: 12.5 * id as f64,
                    generation_ms: 999.0 * id as f64,
                    finish_reason: "stop".into(),
                    template_hash: format!("template-{name}"),
                    n_parallel: 1,
                    engine: "openai-compatible".into(),
                })
                .expect("generation");
        }
    }
    (store, pack)
}

fn spec(pack: &DomainPack, models: &[&str], rater_ids: Vec<i64>, overlap: u32) -> StudySpec {
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
    for (models, expected) in [
        (&MODELS[..1], "2 to 4 models"),
        (&[][..], "2 to 4 models"),
        (
            &["secret-model-alpha", "secret-model-alpha"][..],
            "listed twice",
        ),
        (&["secret-model-alpha", "nonexistent"][..], "no model named"),
    ] {
        let err = review::create_study(&mut store, &spec(&pack, models, vec![], 1), rubric)
            .expect_err("refused");
        assert!(err.to_string().contains(expected), "{err}");
    }
    let mut s = spec(&pack, &MODELS[..2], vec![], 1);
    s.category = Some("astrology".into());
    let err = review::create_study(&mut store, &s, rubric).expect_err("no items");
    assert!(err.to_string().contains("no items"), "{err}");
    assert!(store.studies().expect("studies").is_empty());
}

#[test]
fn raters_see_blinded_answers_in_a_stable_per_rater_order() {
    let ws = Workspace::new();
    let (mut store, pack) = setup(&ws, 6);
    let r1 = store
        .insert_rater("Dr. Zoë Ávila", "dermatology")
        .expect("rater");
    let r2 = store.insert_rater("Dr. Lee", "psychology").expect("rater");
    review::create_study(
        &mut store,
        &spec(&pack, &MODELS, vec![r1.id, r2.id], 2),
        &pack.manifest.rubric,
    )
    .expect("study");
    let q1 = review::queue(&store, r1.id).expect("queue");
    let q2 = review::queue(&store, r2.id).expect("queue");
    assert_eq!((q1.len(), q2.len()), (6, 6));
    assert!(q1.iter().all(|q| q.ready && q.status == "pending"));

    let mut orders_differ = false;
    for (a1, a2) in q1.iter().zip(&q2) {
        let v1 = review::blinded_item(&store, r1.id, a1.assignment_id).expect("item");
        let again = review::blinded_item(&store, r1.id, a1.assignment_id).expect("item");
        assert_eq!(v1, again, "reopening must show the same order");
        let labels: Vec<_> = v1.answers.iter().map(|a| a.label.as_str()).collect();
        assert_eq!(labels, ["A", "B", "C"]);
        // Blinding: nothing in the payload identifies a model.
        let json = serde_json::to_string(&v1).expect("json");
        for leak in [
            "secret-model",
            "template-",
            "999",
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
        assert!(err.to_string().contains("no assignment"), "{err}");
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
    let r = store.insert_rater("Dr. Ito", "other").expect("rater");
    review::create_study(
        &mut store,
        &spec(&pack, &MODELS[..2], vec![r.id], 1),
        &pack.manifest.rubric,
    )
    .expect("study");
    let a = review::queue(&store, r.id).expect("queue")[0].assignment_id;

    // Before any rating, the export is a valid empty table: the header only.
    let mut empty = Vec::new();
    assert_eq!(
        review::export_ratings_csv(&store, 1, &mut empty).expect("export"),
        0
    );
    assert_eq!(
        String::from_utf8(empty).expect("utf-8").trim_end(),
        review::RATING_COLUMNS.join(",")
    );

    let err =
        review::save_rating(&mut store, r.id, a, "A", &full(6)).expect_err("6 is out of range");
    assert!(err.to_string().contains("between 1 and 5"), "{err}");
    let err = review::save_rating(&mut store, r.id, a, "Z", &full(3)).expect_err("no answer Z");
    assert!(err.to_string().contains("no answer"), "{err}");
    let huge = RatingRow {
        comment: Some("é".repeat(20_001)),
        ..full(3)
    };
    assert!(review::save_rating(&mut store, r.id, a, "A", &huge).is_err());

    review::save_rating(
        &mut store,
        r.id,
        a,
        "A",
        &RatingRow {
            accuracy: Some(4),
            ..Default::default()
        },
    )
    .expect("draft");
    let err = review::submit(&mut store, r.id, a).expect_err("incomplete");
    let msg = err.to_string();
    assert!(
        msg.contains("appropriateness of answer A")
            && msg.contains("accuracy of answer B")
            && msg.contains("preference"),
        "{msg}"
    );

    let with_comment = RatingRow {
        comment: Some("Good, but say \"see a doctor\"".into()),
        corrected_answer: Some("   ".into()),
        ..full(4)
    };
    review::save_rating(&mut store, r.id, a, "A", &with_comment).expect("save");
    review::save_rating(&mut store, r.id, a, "B", &full(2)).expect("save");
    review::save_preference(&mut store, r.id, a, "better:A").expect("pref");
    assert!(review::save_preference(&mut store, r.id, a, "better:Q").is_err());
    let view = review::blinded_item(&store, r.id, a).expect("view");
    assert_eq!(view.preference.as_deref(), Some("better:A"));
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
    assert!(err.to_string().contains("already submitted"), "{err}");
    let err = review::save_rating(&mut store, r.id, a, "A", &full(1)).expect_err("read-only");
    assert!(err.to_string().contains("already submitted"), "{err}");
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
    let n = review::export_ratings_csv(&store, 1, &mut csv).expect("export");
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
    let a = store.insert_rater("A", "dermatology").expect("rater");
    review::create_study(
        &mut store,
        &spec(&pack, &MODELS[..2], vec![a.id], 2),
        &pack.manifest.rubric,
    )
    .expect("study");
    let b = store.insert_rater("B", "psychology").expect("rater");
    assert_eq!(
        review::join_open_studies(&mut store, b.id).expect("join"),
        6
    );
    assert_eq!(
        review::join_open_studies(&mut store, b.id).expect("rejoin"),
        0,
        "joining twice adds nothing"
    );
    let c = store.insert_rater("C", "other").expect("rater");
    assert_eq!(
        review::join_open_studies(&mut store, c.id).expect("join"),
        0,
        "every item already has 2 raters"
    );
    let before = review::queue(&store, a.id).expect("queue");
    store.close_study(1).expect("close");
    assert!(
        review::queue(&store, a.id).expect("queue").is_empty(),
        "closed studies leave the queue"
    );
    assert!(store.close_study(1).is_err(), "closing twice is refused");
    // Reopening undoes the close: the same queue comes back.
    store.reopen_study(1).expect("reopen");
    assert_eq!(review::queue(&store, a.id).expect("queue"), before);
    assert!(
        store.reopen_study(1).is_err(),
        "an open study cannot be reopened"
    );
    assert!(
        store.insert_rater("A", "other").is_err(),
        "names are unique"
    );
}
