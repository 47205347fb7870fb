//! The store on real SQLite files: migrations, refusal of newer schemas,
//! idempotent loading and transactional writes.

use llm4sweat::DomainPack;
use llm4sweat::inference::SamplingParams;
use llm4sweat::review::{self, ReviewError, StudySpec};
use llm4sweat::store::{Actor, BadColumn, SCHEMA_VERSION, Store, StoreError, Table};
use llm4sweat::testkit::{self, FakeModels};
use llm4sweat::vocab::ModelRole;

use crate::util::Workspace;

#[test]
fn migrations_run_on_an_empty_file() {
    let ws = Workspace::new();
    std::fs::write(ws.db(), b"").expect("empty file");
    let store = Store::open(&ws.db()).expect("open empty file");
    assert_eq!(store.schema_version().expect("version"), SCHEMA_VERSION);
    assert_eq!(store.count(Table::Items).expect("count"), 0);
}

#[test]
fn a_newer_schema_is_refused_and_left_untouched() {
    let ws = Workspace::new();
    drop(Store::open(&ws.db()).expect("create"));
    {
        let conn = rusqlite::Connection::open(ws.db()).expect("raw open");
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 7)
            .expect("bump");
    }
    let before = std::fs::read(ws.db()).expect("read");
    let err = Store::open(&ws.db()).expect_err("newer schema must be refused");
    assert!(
        matches!(err, StoreError::NewerSchema { found, .. } if found == SCHEMA_VERSION + 7),
        "{err}"
    );
    assert!(err.to_string().contains("upgrade llm4sweat"), "{err}");
    assert_eq!(
        before,
        std::fs::read(ws.db()).expect("read"),
        "the file must not change"
    );

    let out = ws.run(&["summary"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("schema version"), "{stderr}");
}

#[test]
fn a_file_that_is_not_sqlite_is_a_clear_error() {
    let ws = Workspace::new();
    std::fs::write(ws.db(), "name,score\nZoë,5\n".repeat(200)).expect("write");
    let out = ws.run(&["summary"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("not a database"), "{stderr}");
}

#[test]
fn loading_the_pack_twice_changes_nothing() {
    let ws = Workspace::new();
    let pack = DomainPack::embedded_default().expect("pack");
    let mut store = Store::open(&ws.db()).expect("open");
    let first = store.load_pack(&pack, &Actor::Cli).expect("load");
    assert_eq!(
        first.inserted as usize,
        pack.sources.len() + pack.facts.len() + pack.items.len()
    );
    let audit_before = store.count(Table::AuditLog).expect("count");
    let second = store.load_pack(&pack, &Actor::Cli).expect("reload");
    assert_eq!((second.inserted, second.updated), (0, 0));
    assert_eq!(
        store.count(Table::AuditLog).expect("count"),
        audit_before,
        "no-op loads are not audited"
    );
}

#[test]
fn a_pack_that_fails_midway_leaves_nothing_behind() {
    let ws = Workspace::new();
    let mut pack = DomainPack::embedded_default().expect("pack");
    // An item that references a fact the pack does not define passes our own
    // validation only if we bypass it; the foreign key then aborts the load.
    pack.items[10].reference_facts = vec!["no-such-fact".into()];
    let mut store = Store::open(&ws.db()).expect("open");
    let err = store
        .load_pack(&pack, &Actor::Cli)
        .expect_err("foreign key must fail");
    assert!(err.to_string().contains("FOREIGN KEY"), "{err}");
    assert_eq!(
        store.count(Table::Items).expect("count"),
        0,
        "the transaction must roll back"
    );
    assert_eq!(store.count(Table::SeedFacts).expect("count"), 0);
}

#[test]
fn a_workspace_keeps_its_domain_pack() {
    let ws = Workspace::new();
    let mut pack = DomainPack::embedded_default().expect("pack");
    let mut store = Store::open(&ws.db()).expect("open");
    store.load_pack(&pack, &Actor::Cli).expect("load");
    pack.manifest.id = "other-disease".into();
    let err = store.load_pack(&pack, &Actor::Cli).expect_err("other pack");
    assert!(err.to_string().contains("other-disease"), "{err}");
}

#[test]
fn a_version_1_database_is_upgraded_in_place_keeping_its_data() {
    let ws = Workspace::new();
    {
        let conn = rusqlite::Connection::open(ws.db()).expect("raw open");
        conn.execute_batch(include_str!("../../src/store/migrations/0001_initial.sql"))
            .expect("v1 schema");
        conn.execute(
            "INSERT INTO raters (name, specialty, created_at) VALUES ('Dr. Old', 'other', '2026-01-01T00:00:00Z')",
            [],
        )
        .expect("row");
        conn.pragma_update(None, "user_version", 1)
            .expect("version");
    }
    let store = Store::open(&ws.db()).expect("upgrade");
    assert_eq!(store.schema_version().expect("version"), SCHEMA_VERSION);
    const { assert!(SCHEMA_VERSION >= 2) };
    assert_eq!(store.raters().expect("raters")[0].name, "Dr. Old");
    let conn = rusqlite::Connection::open(ws.db()).expect("raw open");
    let n: i64 = conn
        .query_row("SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = 'assignments_study_item'", [], |r| r.get(0))
        .expect("query");
    assert_eq!(n, 1, "migration 0002 created its index");
}

/// Regression: a study whose stored sampling params do not decode used to be
/// answered with the *default* params under the study's params hash. Now the
/// store refuses, naming the table, the row and the column, and no backend is
/// ever opened.
#[test]
fn stored_json_that_does_not_decode_is_refused_never_defaulted() {
    let ws = Workspace::new();
    let pack = DomainPack::embedded_default().expect("pack");
    let (mut store, _) = testkit::workspace_with_answers(
        &ws.db(),
        &pack,
        FakeModels::Remote,
        &[
            ("m-one", ModelRole::Candidate),
            ("m-two", ModelRole::Baseline),
        ],
        Some(3),
        &|_, item| format!("answer to {item}"),
    )
    .expect("fixture");
    let study = review::create_study(
        &mut store,
        &StudySpec {
            name: "corrupt".into(),
            category: None,
            limit: Some(3),
            item_ids: None,
            models: vec!["m-one".into(), "m-two".into()],
            rater_ids: vec![],
            overlap: 1,
            seed: 1,
            // Different from the stored answers' params: answers are missing.
            params: SamplingParams {
                max_tokens: 99,
                ..SamplingParams::default()
            },
            system_prompt: pack.manifest.system_prompt.clone(),
        },
        &pack.manifest.rubric,
        &Actor::Cli,
    )
    .expect("study");
    drop(store);

    let cases = [
        (
            "UPDATE studies SET params = '{\"temperature\": \"hot\"}'",
            "studies",
            "params",
        ),
        ("UPDATE studies SET params = '{}'", "studies", "params"),
        (
            "UPDATE studies SET params = 'not json'",
            "studies",
            "params",
        ),
        (
            "UPDATE studies SET rubric = '{\"axes\": 3}'",
            "studies",
            "rubric",
        ),
    ];
    for (corrupt, table, column) in cases {
        let conn = rusqlite::Connection::open(ws.db()).expect("raw open");
        let (params, rubric): (String, String) = conn
            .query_row("SELECT params, rubric FROM studies", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .expect("read");
        conn.execute(corrupt, []).expect("corrupt");

        let mut store = Store::open(&ws.db()).expect("open");
        let opened = std::cell::Cell::new(0);
        let open = |_: &llm4sweat::store::ModelRecord| {
            opened.set(opened.get() + 1);
            Err(llm4sweat::generate::GenerateError::NoItems)
        };
        let err = review::generate_study_answers(
            &mut store,
            study,
            &open,
            &llm4sweat::progress::NoProgress,
            &llm4sweat::CancelToken::new(),
        )
        .expect_err("refused");
        match &err {
            ReviewError::Store(StoreError::BadColumn(BadColumn {
                table: t,
                row_id,
                column: c,
                ..
            })) => {
                assert_eq!((*t, *row_id, *c), (table, study.0, column), "{err}");
            }
            other => panic!("{corrupt}: expected BadColumn, got {other:?}"),
        }
        assert_eq!(opened.get(), 0, "no model may run on guessed params");
        assert_eq!(store.count(Table::Generations).expect("count"), 6);
        drop(store);

        // The CLI says the same, with the place to look.
        let out = ws.run(&["results", "--study", "corrupt"]);
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!("stored {column} of {table} row {}", study.0)),
            "{stderr}"
        );
        conn.execute(
            "UPDATE studies SET params = ?1, rubric = ?2",
            [params, rubric],
        )
        .expect("restore");
    }

    // A model's engine settings are typed too.
    let conn = rusqlite::Connection::open(ws.db()).expect("raw open");
    conn.execute(
        "UPDATE models SET settings = '{\"threads\": -2}' WHERE name = 'm-two'",
        [],
    )
    .expect("corrupt");
    let store = Store::open(&ws.db()).expect("open");
    let err = store.model_by_name("m-two").expect_err("bad settings");
    assert!(
        matches!(&err, StoreError::BadColumn(b) if b.table == "models" && b.column == "settings"),
        "{err:?}"
    );
}
