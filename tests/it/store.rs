//! The store on real SQLite files: migrations, refusal of newer schemas,
//! idempotent loading and transactional writes.

use llm4sweat::DomainPack;
use llm4sweat::store::{SCHEMA_VERSION, Store, StoreError, Table};

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
    let first = store.load_pack(&pack).expect("load");
    assert_eq!(
        first.inserted as usize,
        pack.sources.len() + pack.facts.len() + pack.items.len()
    );
    let audit_before = store.count(Table::AuditLog).expect("count");
    let second = store.load_pack(&pack).expect("reload");
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
    let err = store.load_pack(&pack).expect_err("foreign key must fail");
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
    store.load_pack(&pack).expect("load");
    pack.manifest.id = "other-disease".into();
    let err = store.load_pack(&pack).expect_err("other pack");
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
