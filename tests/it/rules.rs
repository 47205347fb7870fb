//! One set of rules: the same bad input, fed to the CLI (through the binary)
//! and to the desktop's app layer, is refused with the same message by both,
//! and leaves the database as it was.

use llm4sweat::store::{Store, Table};
use llm4sweat::vocab::{ModelRole, Specialty};
use llm4sweat::workspace::WorkspacePaths;
use llm4sweat_desktop::app::{App, StudyInput};
use llm4sweat_desktop::error::{AppError, ErrorCode};

use crate::util::Workspace;

type AppCall = Box<dyn Fn(&App) -> Result<(), AppError>>;

/// One bad input: the CLI arguments, the same request to the app, and what
/// kind of refusal both must give.
struct Case {
    what: &'static str,
    cli: Vec<String>,
    app: AppCall,
    code: ErrorCode,
}

fn case(
    what: &'static str,
    cli: &[&str],
    code: ErrorCode,
    app: impl Fn(&App) -> Result<(), AppError> + 'static,
) -> Case {
    Case {
        what,
        cli: cli.iter().map(|s| (*s).to_owned()).collect(),
        app: Box::new(app),
        code,
    }
}

fn rater(name: String, specialty: Specialty) -> impl Fn(&App) -> Result<(), AppError> {
    move |app| app.create_rater(&name, specialty).map(drop)
}

fn remote(
    name: &'static str,
    url: &'static str,
    model: &'static str,
    key_env: Option<&'static str>,
) -> impl Fn(&App) -> Result<(), AppError> {
    move |app| {
        app.add_remote_model(name, url, model, key_env, ModelRole::Baseline)
            .map(drop)
    }
}

fn settings(
    name: &'static str,
    threads: u32,
    gpu_layers: u32,
    parallel: u32,
) -> impl Fn(&App) -> Result<(), AppError> {
    move |app| {
        app.set_model_settings(name, threads, gpu_layers, parallel)
            .map(drop)
    }
}

fn study(
    name: String,
    models: &'static [&'static str],
    overlap: u32,
    limit: Option<u32>,
) -> impl Fn(&App) -> Result<(), AppError> {
    move |app| {
        app.create_study(&StudyInput {
            name: name.clone(),
            category: None,
            limit,
            models: models.iter().map(|m| (*m).to_owned()).collect(),
            rater_ids: Vec::new(),
            overlap,
            seed: 7,
        })
        .map(drop)
    }
}

/// Counts of what a refusal must not change.
fn snapshot(ws: &Workspace) -> (i64, i64, i64, i64, String) {
    let store = Store::open(&ws.db()).expect("open");
    let settings: String = rusqlite::Connection::open(ws.db())
        .expect("raw open")
        .query_row(
            "SELECT group_concat(name || '=' || settings, ';') FROM models",
            [],
            |r| r.get::<_, Option<String>>(0),
        )
        .expect("settings")
        .unwrap_or_default();
    (
        store.raters().expect("raters").len() as i64,
        store.count(Table::Models).expect("models"),
        store.count(Table::AuditLog).expect("audit"),
        store.studies().expect("studies").len() as i64,
        settings,
    )
}

#[test]
fn the_cli_and_the_app_refuse_the_same_input_the_same_way() {
    let ws = Workspace::new();
    ws.ok(&["init"]);
    ws.ok(&["rater", "add", "Dr. Taken", "--specialty", "dermatology"]);
    ws.ok(&[
        "models",
        "add-remote",
        "endpoint",
        "--url",
        "http://127.0.0.1:9/v1",
        "--model",
        "m",
    ]);
    ws.ok(&[
        "models",
        "add-remote",
        "endpoint2",
        "--url",
        "http://127.0.0.1:9/v1",
        "--model",
        "m",
    ]);
    ws.ok(&[
        "study",
        "create",
        "Taken",
        "--model",
        "endpoint",
        "--model",
        "endpoint2",
    ]);
    let app = App::open(&WorkspacePaths {
        db: ws.db(),
        models_dir: ws.dir.path().join("models"),
    })
    .expect("app");
    let long = "x".repeat(121);
    let cases = vec![
        case(
            "blank rater name",
            &["rater", "add", "   ", "--specialty", "other"],
            ErrorCode::Invalid,
            rater("   ".into(), Specialty::Other),
        ),
        case(
            "rater name over 120 characters",
            &["rater", "add", &long, "--specialty", "other"],
            ErrorCode::Invalid,
            rater(long.clone(), Specialty::Other),
        ),
        case(
            "a rater name that is taken",
            &["rater", "add", "Dr. Taken", "--specialty", "psychology"],
            ErrorCode::Conflict,
            rater("Dr. Taken".into(), Specialty::Psychology),
        ),
        case(
            "endpoint URL of another scheme",
            &[
                "models",
                "add-remote",
                "r",
                "--url",
                "ftp://example.org/v1",
                "--model",
                "m",
            ],
            ErrorCode::Invalid,
            remote("r", "ftp://example.org/v1", "m", None),
        ),
        case(
            "endpoint URL with a key in it",
            &[
                "models",
                "add-remote",
                "r",
                "--url",
                "https://user:sk-live-123@api.example.org/v1",
                "--model",
                "m",
            ],
            ErrorCode::Invalid,
            remote(
                "r",
                "https://user:sk-live-123@api.example.org/v1",
                "m",
                None,
            ),
        ),
        case(
            "endpoint URL without a host",
            &[
                "models",
                "add-remote",
                "r",
                "--url",
                "http:///v1",
                "--model",
                "m",
            ],
            ErrorCode::Invalid,
            remote("r", "http:///v1", "m", None),
        ),
        case(
            "endpoint without a model name",
            &[
                "models",
                "add-remote",
                "r",
                "--url",
                "http://127.0.0.1:9/v1",
                "--model",
                " ",
            ],
            ErrorCode::Invalid,
            remote("r", "http://127.0.0.1:9/v1", " ", None),
        ),
        case(
            "blank model name",
            &[
                "models",
                "add-remote",
                " ",
                "--url",
                "http://127.0.0.1:9/v1",
                "--model",
                "m",
            ],
            ErrorCode::Invalid,
            remote(" ", "http://127.0.0.1:9/v1", "m", None),
        ),
        case(
            "API key variable that is no variable name",
            &[
                "models",
                "add-remote",
                "r",
                "--url",
                "http://127.0.0.1:9/v1",
                "--model",
                "m",
                "--api-key-env",
                "1BAD-NAME",
            ],
            ErrorCode::Invalid,
            remote("r", "http://127.0.0.1:9/v1", "m", Some("1BAD-NAME")),
        ),
        case(
            "zero parallel sequences",
            &[
                "models",
                "set",
                "endpoint",
                "--threads",
                "2",
                "--gpu-layers",
                "0",
                "--parallel",
                "0",
            ],
            ErrorCode::Invalid,
            settings("endpoint", 2, 0, 0),
        ),
        case(
            "17 parallel sequences",
            &[
                "models",
                "set",
                "endpoint",
                "--threads",
                "2",
                "--gpu-layers",
                "0",
                "--parallel",
                "17",
            ],
            ErrorCode::Invalid,
            settings("endpoint", 2, 0, 17),
        ),
        case(
            "5000 threads",
            &[
                "models",
                "set",
                "endpoint",
                "--threads",
                "5000",
                "--gpu-layers",
                "0",
                "--parallel",
                "2",
            ],
            ErrorCode::Invalid,
            settings("endpoint", 5000, 0, 2),
        ),
        case(
            "settings of a model that does not exist",
            &[
                "models",
                "set",
                "nope",
                "--threads",
                "2",
                "--gpu-layers",
                "0",
                "--parallel",
                "2",
            ],
            ErrorCode::NotFound,
            settings("nope", 2, 0, 2),
        ),
        case(
            "a study of one model",
            &["study", "create", "S", "--model", "endpoint"],
            ErrorCode::Invalid,
            study("S".into(), &["endpoint"], 2, None),
        ),
        case(
            "a study with a model twice",
            &[
                "study", "create", "S", "--model", "endpoint", "--model", "endpoint",
            ],
            ErrorCode::Invalid,
            study("S".into(), &["endpoint", "endpoint"], 2, None),
        ),
        case(
            "a study of a model that does not exist",
            &[
                "study", "create", "S", "--model", "endpoint", "--model", "nope",
            ],
            ErrorCode::NotFound,
            study("S".into(), &["endpoint", "nope"], 2, None),
        ),
        case(
            "a study with no rater per item",
            &[
                "study",
                "create",
                "S",
                "--model",
                "endpoint",
                "--model",
                "endpoint2",
                "--overlap",
                "0",
            ],
            ErrorCode::Invalid,
            study("S".into(), &["endpoint", "endpoint2"], 0, None),
        ),
        case(
            "a study of at most 0 items",
            &[
                "study",
                "create",
                "S",
                "--model",
                "endpoint",
                "--model",
                "endpoint2",
                "--limit",
                "0",
            ],
            ErrorCode::Invalid,
            study("S".into(), &["endpoint", "endpoint2"], 2, Some(0)),
        ),
        case(
            "a study name over 120 characters",
            &[
                "study",
                "create",
                &long,
                "--model",
                "endpoint",
                "--model",
                "endpoint2",
            ],
            ErrorCode::Invalid,
            study(long.clone(), &["endpoint", "endpoint2"], 2, None),
        ),
        case(
            "a study name that is taken",
            &[
                "study",
                "create",
                "Taken",
                "--model",
                "endpoint",
                "--model",
                "endpoint2",
            ],
            ErrorCode::Conflict,
            study("Taken".into(), &["endpoint", "endpoint2"], 2, None),
        ),
    ];
    for c in cases {
        let before = snapshot(&ws);
        let err = (c.app)(&app).expect_err(c.what);
        assert_eq!(err.code, c.code, "{}: {err:?}", c.what);
        let args: Vec<&str> = c.cli.iter().map(String::as_str).collect();
        let out = ws.run(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{}: the CLI accepted it", c.what);
        assert!(
            stderr.contains(&format!("error: {}", err.message)),
            "{}: the CLI said something else than the app.\napp: {}\ncli: {stderr}",
            c.what,
            err.message
        );
        assert_eq!(snapshot(&ws), before, "{}: something was written", c.what);
    }
    // Nothing ever stored, or repeated, the key that was in the refused URL.
    let db = std::fs::read(ws.db()).expect("read db");
    assert!(!db.windows(11).any(|w| w == b"sk-live-123"));
    let err = app
        .add_remote_model(
            "r",
            "https://user:sk-live-123@api.example.org/v1",
            "m",
            None,
            ModelRole::Baseline,
        )
        .expect_err("credentials");
    assert!(
        err.message.contains("\"https://***@api.example.org/v1\"")
            && !err.message.contains("sk-live"),
        "{}",
        err.message
    );

    // Accepted input lands the same way from both, and the audit log says who acted.
    ws.ok(&["rater", "add", " Dr. Cli ", "--specialty", "other"]);
    app.create_rater(" Dr. App ", Specialty::Other)
        .expect("app rater");
    let conn = rusqlite::Connection::open(ws.db()).expect("raw open");
    let mut stmt = conn
        .prepare("SELECT r.name, a.actor FROM audit_log a JOIN raters r ON CAST(a.entity_id AS INTEGER) = r.id WHERE a.action = 'create_rater' ORDER BY a.id")
        .expect("query");
    let rows: Vec<(String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("rows")
        .map(|r| r.expect("row"))
        .collect();
    assert_eq!(
        rows,
        [
            ("Dr. Taken".to_owned(), "cli".to_owned()),
            ("Dr. Cli".to_owned(), "cli".to_owned()),
            ("Dr. App".to_owned(), "coordinator".to_owned()),
        ]
    );
}
