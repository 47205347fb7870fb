//! Hostile input files, through the CLI as a user would give them: each is
//! refused quickly with a message that names the file and the problem, never
//! its content, and nothing is written.

use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::util::{Workspace, mkfifo, write_file};

const PACK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/hyperhidrosis");
const FILES: [&str; 4] = [
    "pack.toml",
    "sources.json",
    "seed_facts.json",
    "eval_items.json",
];

/// A copy of the shipped pack in `dir/name`, with `change` applied.
fn pack_copy(dir: &Path, name: &str, change: impl FnOnce(&Path)) -> PathBuf {
    let out = dir.join(name);
    std::fs::create_dir_all(&out).expect("mkdir");
    for f in FILES {
        std::fs::copy(Path::new(PACK).join(f), out.join(f)).expect("copy");
    }
    change(&out);
    out
}

fn replace_in(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).expect("read");
    assert!(text.contains(from), "{from:?} not in {}", path.display());
    std::fs::write(path, text.replacen(from, to, 1)).expect("write");
}

/// Runs the CLI with a deadline: a hang is a failure, not a stuck suite.
/// Returns the exit status and standard error.
fn run_within(ws: &Workspace, args: &[&str], limit: Duration) -> (ExitStatus, String) {
    let mut child = ws
        .cmd()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            let out = child.wait_with_output().expect("output");
            return (status, String::from_utf8_lossy(&out.stderr).into_owned());
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("llm4sweat {args:?} hung for {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn hostile_pack_files_are_refused_without_echoing_them() {
    let ws = Workspace::new();
    ws.ok(&["init"]);
    let before = std::fs::read(ws.db()).expect("db");
    let dir = ws.dir.path();
    let secret = dir.join("secret.txt");
    std::fs::write(&secret, "root:x:0:0:TOP-SECRET-LINE:/root:/bin/bash\n").expect("secret");
    let long = "é".repeat(8_001);
    let cases: Vec<(PathBuf, &str)> = vec![
        (
            pack_copy(dir, "fifo", |p| {
                std::fs::remove_file(p.join("pack.toml")).expect("rm");
                mkfifo(&p.join("pack.toml"));
            }),
            "pack.toml: it is a FIFO, not a regular file",
        ),
        (
            pack_copy(dir, "zero", |p| {
                std::fs::remove_file(p.join("seed_facts.json")).expect("rm");
                std::os::unix::fs::symlink("/dev/zero", p.join("seed_facts.json")).expect("ln");
            }),
            "seed_facts.json: it is a device, not a regular file",
        ),
        (
            pack_copy(dir, "secret", |p| {
                std::fs::remove_file(p.join("pack.toml")).expect("rm");
                std::os::unix::fs::symlink(&secret, p.join("pack.toml")).expect("ln");
            }),
            "pack.toml: line 1, column",
        ),
        (
            pack_copy(dir, "huge", |p| {
                let f = std::fs::File::create(p.join("eval_items.json")).expect("create");
                f.set_len(17 * 1024 * 1024).expect("grow");
            }),
            "eval_items.json: it is larger than the 16 MiB allowed",
        ),
        (
            pack_copy(dir, "long", |p| {
                replace_in(
                    &p.join("seed_facts.json"),
                    "\"statement\": \"",
                    &format!("\"statement\": \"{long}"),
                );
            }),
            "characters long; the limit is 8000",
        ),
        (
            pack_copy(dir, "nul", |p| {
                replace_in(
                    &p.join("seed_facts.json"),
                    "\"statement\": \"",
                    "\"statement\": \"\\u0000",
                );
            }),
            "the statement contains a NUL character",
        ),
        (
            pack_copy(dir, "blank-id", |p| {
                replace_in(
                    &p.join("eval_items.json"),
                    "\"id\": \"",
                    "\"id\": \"   \", \"old\": \"",
                );
            }),
            "the id is empty",
        ),
        (
            pack_copy(dir, "negative", |p| {
                replace_in(&p.join("pack.toml"), "version = 2", "version = -3");
            }),
            "the pack version must be 1 or more, got -3",
        ),
    ];
    for (pack, expected) in cases {
        let (status, stderr) = run_within(
            &ws,
            &["init", "--pack", pack.to_str().expect("utf-8")],
            Duration::from_secs(20),
        );
        assert!(!status.success(), "{}: accepted", pack.display());
        assert!(stderr.contains(expected), "{}: {stderr}", pack.display());
        assert!(!stderr.contains("TOP-SECRET"), "content echoed: {stderr}");
    }
    assert_eq!(
        std::fs::read(ws.db()).expect("db"),
        before,
        "nothing written"
    );

    // A model file that is a FIFO is refused at once instead of hanging.
    let fifo = dir.join("model.gguf");
    mkfifo(&fifo);
    let (status, stderr) = run_within(
        &ws,
        &[
            "models",
            "add",
            fifo.to_str().expect("utf-8"),
            "--name",
            "m",
        ],
        Duration::from_secs(20),
    );
    assert!(!status.success());
    assert!(
        stderr.contains("it is a FIFO, not a regular file"),
        "{stderr}"
    );
}

/// Regression (issue 11): llama.cpp aborted the whole process (SIGABRT from a
/// `GGML_ASSERT`) on GGUF files whose header reads fine, e.g. a layer count
/// of 0 or a repeated token. `models add` reads the header only, and now
/// refuses each with exit code 1 and the key named; nothing is registered.
#[test]
fn gguf_files_llama_cpp_aborts_on_are_refused_naming_the_key() {
    let ws = Workspace::new();
    ws.ok(&["init"]);
    let empty_list = ws.ok(&["models", "list"]);
    let files = llm4sweat::testkit::crashing_ggufs();
    assert_eq!(files.len(), 9);
    for (i, file) in files.iter().enumerate() {
        let path = write_file(ws.dir.path(), &format!("crash-{i}.gguf"), &file.bytes);
        let (status, stderr) = run_within(
            &ws,
            &[
                "models",
                "add",
                path.to_str().expect("utf-8"),
                "--name",
                &format!("crash-{i}"),
            ],
            Duration::from_secs(20),
        );
        assert_eq!(
            status.code(),
            Some(1),
            "{}: {status:?}: {stderr}",
            file.name
        );
        assert!(stderr.contains(file.key), "{}: {stderr}", file.name);
        assert!(
            stderr.contains(&format!("crash-{i}.gguf")),
            "{}: {stderr}",
            file.name
        );
    }
    assert_eq!(ws.ok(&["models", "list"]), empty_list, "nothing registered");

    // The sound original is accepted.
    let tiny = write_file(
        ws.dir.path(),
        "tiny.gguf",
        &llm4sweat::testkit::tiny_llama_gguf(),
    );
    ws.ok(&[
        "models",
        "add",
        tiny.to_str().expect("utf-8"),
        "--name",
        "tiny",
    ]);
    assert!(ws.ok(&["models", "list"]).contains("tiny"));
}

#[test]
fn a_pack_version_never_goes_backwards() {
    let ws = Workspace::new();
    let dir = ws.dir.path();
    let v3 = pack_copy(dir, "v3", |p| {
        replace_in(&p.join("pack.toml"), "version = 2", "version = 3")
    });
    ws.ok(&["init", "--pack", v3.to_str().expect("utf-8")]);
    let v1 = pack_copy(dir, "v1", |_| {});
    let out = ws.run(&["init", "--pack", v1.to_str().expect("utf-8")]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("holds version 3") && stderr.contains("never goes backwards"),
        "{stderr}"
    );
}

/// Regression: a pack reload with the same version and a changed item text
/// rewrote the item in place, so stored answers (and ratings) sat under a
/// question they never answered. An item in use is now never rewritten; an
/// unused one may change, and the reload lists and audits what changed.
#[test]
fn a_pack_reload_never_moves_an_answer_to_another_question() {
    let ws = Workspace::new();
    let dir = ws.dir.path();
    let v1 = pack_copy(dir, "v1", |_| {});
    ws.ok(&["init", "--pack", v1.to_str().expect("utf-8")]);
    {
        let mut store = llm4sweat::Store::open(&ws.db()).expect("open");
        let models = llm4sweat::testkit::register_fake_models(
            &mut store,
            llm4sweat::testkit::FakeModels::Remote,
            &[("m", llm4sweat::vocab::ModelRole::Baseline)],
        )
        .expect("model");
        let first = store
            .items(&llm4sweat::store::ItemFilter {
                limit: Some(1),
                ..Default::default()
            })
            .expect("items");
        llm4sweat::testkit::store_answers(
            &mut store,
            &models,
            &[first[0].id],
            &llm4sweat::SamplingParams::default(),
            "s",
            &|_, _| "an answer to the first question".into(),
        )
        .expect("answer");
    }
    let question = |ws: &Workspace, id: &str| -> String {
        rusqlite::Connection::open(ws.db())
            .expect("raw")
            .query_row("SELECT text FROM items WHERE external_id = ?1", [id], |r| {
                r.get(0)
            })
            .expect("text")
    };
    let answered_text = question(&ws, "eval-001");
    let eval_002 = question(&ws, "eval-002");

    // eval-001 has an answer: changing it is refused, naming only it (eval-002
    // changes too but is unused), and nothing changes.
    let answered = pack_copy(dir, "answered", |p| {
        replace_in(
            &p.join("eval_items.json"),
            &answered_text,
            "A different question entirely?",
        );
        replace_in(
            &p.join("eval_items.json"),
            &eval_002,
            "A reworded second question?",
        );
    });
    let out = ws.run(&["init", "--pack", answered.to_str().expect("utf-8")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("1 item(s) already answered or in a study (eval-001)"),
        "{stderr}"
    );
    assert_eq!(question(&ws, "eval-001"), answered_text);
    assert_eq!(
        question(&ws, "eval-002"),
        eval_002,
        "the refused load changed nothing"
    );

    // An unused item may change; the reload says which, and the audit log keeps the diff.
    let unused = pack_copy(dir, "unused", |p| {
        replace_in(
            &p.join("eval_items.json"),
            &eval_002,
            "A reworded second question?",
        );
    });
    let stdout = ws.ok(&["init", "--pack", unused.to_str().expect("utf-8")]);
    assert!(stdout.contains("changed items: eval-002"), "{stdout}");
    let details: String = rusqlite::Connection::open(ws.db())
        .expect("raw")
        .query_row(
            "SELECT details FROM audit_log WHERE action = 'load_pack' ORDER BY id DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .expect("audit");
    let details: serde_json::Value = serde_json::from_str(&details).expect("json");
    assert_eq!(details["changed_items"], serde_json::json!(["eval-002"]));
    assert_eq!(question(&ws, "eval-001"), answered_text);
}
