//! The `llm4sweat` command line, end to end, on real files and the real model.

use std::process::Stdio;
use std::time::{Duration, Instant};

use llm4sweat::inference::SamplingParams;
use llm4sweat::store::{Actor, ItemFilter, NewGeneration, NewRemoteModel, Store, Table};
use llm4sweat::vocab::ModelRole;

use crate::stub_server::{Reply, StubServer};
use crate::util::{Workspace, smollm2, write_file};

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn help_is_readable_and_unknown_commands_fail() {
    let ws = Workspace::new();
    let help = ws.ok(&["--help"]);
    for word in ["init", "models", "generate", "export", "bench"] {
        assert!(help.contains(word), "--help lacks {word}: {help}");
    }
    let out = ws.run(&["frobnicate"]);
    assert!(!out.status.success());
}

#[test]
fn init_twice_changes_nothing() {
    let ws = Workspace::new();
    let first = ws.ok(&["init"]);
    assert!(first.contains("0 updated, 0 unchanged"), "{first}");
    let second = ws.ok(&["init"]);
    assert!(second.contains("0 inserted, 0 updated"), "{second}");
}

/// Bad model files: each is refused with a clear message, the process exits
/// with an error (no crash, no signal), and nothing is registered.
#[test]
fn bad_gguf_files_are_refused_cleanly() {
    let ws = Workspace::new();
    ws.ok(&["init"]);
    let real = std::fs::read(smollm2()).expect("read model");
    let dir = ws.dir.path();
    let mut absurd = b"GGUF".to_vec();
    absurd.extend_from_slice(&3u32.to_le_bytes());
    absurd.extend_from_slice(&4_000_000_000u64.to_le_bytes()); // tensors
    absurd.extend_from_slice(&1u64.to_le_bytes()); // metadata entries
    let mut long_string = b"GGUF".to_vec();
    long_string.extend_from_slice(&3u32.to_le_bytes());
    long_string.extend_from_slice(&0u64.to_le_bytes());
    long_string.extend_from_slice(&1u64.to_le_bytes());
    long_string.extend_from_slice(&(1u64 << 40).to_le_bytes()); // key length: 1 TiB
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "notes.gguf",
            b"just some text, not a model\n".to_vec(),
            "not a GGUF file",
        ),
        ("empty.gguf", Vec::new(), "empty"),
        ("half.gguf", real[..real.len() / 2].to_vec(), "truncated"),
        ("head.gguf", real[..1000].to_vec(), "truncated"),
        ("absurd.gguf", absurd, "implausible"),
        ("longstring.gguf", long_string, "truncated"),
    ];
    for (name, bytes, expected) in cases {
        let path = write_file(dir, name, &bytes);
        let out = ws.run(&["models", "add", path.to_str().expect("utf-8")]);
        let stderr = stderr_of(&out);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{name}: expected a clean failure, got {:?}: {stderr}",
            out.status
        );
        assert!(
            stderr.to_lowercase().contains(&expected.to_lowercase()),
            "{name}: expected {expected:?} in {stderr}"
        );
        assert!(
            stderr.contains(name),
            "{name}: the message should name the file: {stderr}"
        );
    }
    let store = Store::open(&ws.db()).expect("open");
    assert_eq!(store.count(Table::Models).expect("count"), 0);
}

#[test]
fn models_add_reads_the_header_and_list_checks_integrity() {
    let ws = Workspace::new().with_model();
    let list = ws.ok(&["models", "list"]);
    let line = list
        .lines()
        .find(|l| l.starts_with("smol "))
        .expect("smol listed");
    assert!(
        line.contains("Q4_1") && line.contains("134.5M") && line.contains("intact"),
        "{line}"
    );
    // A registered file that changes on disk is reported, not trusted.
    let copy = ws.path("copy.gguf");
    std::fs::copy(smollm2(), &copy).expect("copy");
    ws.ok(&[
        "models",
        "add",
        copy.to_str().expect("utf-8"),
        "--name",
        "copy",
    ]);
    let mut bytes = std::fs::read(&copy).expect("read");
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&copy, &bytes).expect("corrupt");
    let list = ws.ok(&["models", "list"]);
    let line = list
        .lines()
        .find(|l| l.starts_with("copy "))
        .expect("copy listed");
    assert!(line.contains("MODIFIED"), "{line}");
    std::fs::remove_file(&copy).expect("remove");
    let list = ws.ok(&["models", "list"]);
    assert!(
        list.lines()
            .any(|l| l.starts_with("copy ") && l.contains("MISSING")),
        "{list}"
    );
    // Generating with a missing file is a clear error, and the database is intact.
    let out = ws.run(&["generate", "--model", "copy", "--limit", "1"]);
    assert!(!out.status.success());
    assert!(stderr_of(&out).contains("missing"), "{}", stderr_of(&out));
    assert!(
        Store::open(&ws.db())
            .expect("open")
            .integrity_ok()
            .expect("check")
    );
}

fn generation_count(ws: &Workspace) -> i64 {
    Store::open(&ws.db())
        .and_then(|s| s.count(Table::Generations))
        .unwrap_or(0)
}

/// `generate` with SmolLM2 on `limit` items, 2 sequences and 2 threads.
fn generate_args(limit: &'static str, max_tokens: &'static str) -> [&'static str; 11] {
    crate::util::generate_args(limit, max_tokens, "2")
}

/// Starts `llm4sweat ARGS` (stderr piped) and returns once `n` answers are
/// stored, failing if that takes over 300 s (a stall, not a speed limit: the suite shares two cores) or the run ends first.
fn spawn_until_stored(ws: &Workspace, args: &[&str], n: i64) -> std::process::Child {
    let mut child = ws
        .cmd()
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(300);
    while generation_count(ws) < n {
        assert!(
            Instant::now() < deadline,
            "no {n} answers stored within 300 s"
        );
        assert!(
            child.try_wait().expect("wait").is_none(),
            "finished before it could be interrupted"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

/// kill -9 in the middle of a run loses at most the answers in flight; a
/// rerun skips what is stored and finishes the rest.
#[test]
fn generation_resumes_after_the_process_is_killed() {
    let ws = Workspace::new().with_model();
    let args = generate_args("6", "48");
    let mut child = spawn_until_stored(&ws, &args, 2);
    child.kill().expect("kill -9");
    child.wait().expect("reap");
    let stored = generation_count(&ws);
    // The killed run's leases stay behind; its process is gone, so the
    // rerun takes them over at once instead of waiting for them to expire.
    assert!(
        ws.count(Table::GenerationLeases) > 0,
        "a killed run releases nothing"
    );
    assert!(
        (2..6).contains(&stored),
        "{stored} answers stored at kill time"
    );
    assert!(
        Store::open(&ws.db())
            .expect("open")
            .integrity_ok()
            .expect("integrity")
    );

    let out = ws.ok(&args);
    assert!(out.contains(&format!("{stored} already answered")), "{out}");
    assert!(
        out.contains(&format!("{} answered now", 6 - stored)),
        "{out}"
    );
    assert!(out.contains("0 left to another run"), "{out}");
    assert_eq!(generation_count(&ws), 6);
    assert_eq!(ws.count(Table::GenerationLeases), 0, "released at the end");
    // A third run has nothing left to do.
    let out = ws.ok(&args);
    assert!(out.contains("6 already answered, 0 answered now"), "{out}");
}

/// Ctrl-C (SIGINT) stops a run gracefully: the process says how to resume and
/// exits non-zero soon after, with every finished answer stored.
#[cfg(unix)]
#[test]
fn ctrl_c_stops_generation_gracefully() {
    let ws = Workspace::new().with_model();
    let child = spawn_until_stored(&ws, &generate_args("8", "64"), 1);
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill -INT");
    assert!(status.success());
    let sent = Instant::now();
    let out = child.wait_with_output().expect("wait");
    let stderr = stderr_of(&out);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        sent.elapsed() < Duration::from_secs(30),
        "took {:?} to stop",
        sent.elapsed()
    );
    assert!(stderr.contains("stopping"), "{stderr}");
    assert!(
        stderr.contains("rerun the same command to resume"),
        "{stderr}"
    );
    // Resuming from here is what the kill -9 test above checks.
    let stored = generation_count(&ws);
    assert!((1..8).contains(&stored), "{stored} answers stored");
    assert_eq!(
        ws.count(Table::GenerationLeases),
        0,
        "a cancelled run releases its leases"
    );
}

/// CSV and JSON Lines survive commas, quotes, newlines and non-ASCII text.
#[test]
fn export_round_trips_through_the_csv_crate() {
    let ws = Workspace::new();
    ws.ok(&["init"]);
    let tricky = [
        "plain answer",
        "He said \"try iontophoresis\", then left",
        "line one\nline two, with comma\r\nline three",
        "Zoë's café — naïve “quotes” 汗 😅",
        "",
    ];
    {
        let mut store = Store::open(&ws.db()).expect("open");
        let model_id = store
            .register_remote_model(
                &NewRemoteModel {
                    name: "baseline, \"quoted\"".into(),
                    role: ModelRole::Baseline,
                    endpoint_url: "http://127.0.0.1:9/v1".into(),
                    remote_model: "m".into(),
                    api_key_env: None,
                },
                &Actor::Cli,
            )
            .expect("model");
        let items = store
            .items(&ItemFilter {
                limit: Some(tricky.len() as u64),
                ..Default::default()
            })
            .expect("items");
        for (item, text) in items.iter().zip(tricky) {
            let inserted = store
                .insert_generation(&NewGeneration {
                    item_id: item.id,
                    model_id,
                    params_hash: "h".into(),
                    params: SamplingParams::default(),
                    seed: 42,
                    system_prompt: "s".into(),
                    text: text.into(),
                    prompt_tokens: 10,
                    completion_tokens: 20,
                    prompt_ms: 1.5,
                    generation_ms: 200.25,
                    finish_reason: "stop".into(),
                    template_hash: "t".into(),
                    n_parallel: 1,
                    engine: "test".into(),
                })
                .expect("insert");
            assert!(inserted);
        }
    }
    let csv_path = ws.path("out.csv");
    ws.ok(&[
        "export",
        "generations",
        "--format",
        "csv",
        "--out",
        csv_path.to_str().expect("utf-8"),
    ]);
    let mut reader = csv::Reader::from_path(&csv_path).expect("csv");
    let headers = reader.headers().expect("headers").clone();
    assert_eq!(
        headers.iter().collect::<Vec<_>>(),
        llm4sweat::export::EXPORT_COLUMNS
    );
    let answer_col = headers
        .iter()
        .position(|h| h == "answer")
        .expect("answer column");
    let model_col = headers
        .iter()
        .position(|h| h == "model")
        .expect("model column");
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("record")).collect();
    assert_eq!(rows.len(), tricky.len());
    for (row, text) in rows.iter().zip(tricky) {
        assert_eq!(&row[answer_col], text);
        assert_eq!(&row[model_col], "baseline, \"quoted\"");
    }

    let jsonl = ws.ok(&["export", "generations", "--format", "jsonl"]);
    let parsed: Vec<serde_json::Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(parsed.len(), tricky.len());
    for (v, text) in parsed.iter().zip(tricky) {
        assert_eq!(v["answer"], *text);
        assert_eq!(v["seed"], 42);
        assert_eq!(v["max_tokens"], 256);
    }
    // An unwritable destination fails cleanly and leaves no partial file.
    let out = ws.run(&["export", "generations", "--out", "/nonexistent-dir/x.csv"]);
    assert!(!out.status.success());
    assert!(
        stderr_of(&out).contains("/nonexistent-dir"),
        "{}",
        stderr_of(&out)
    );
}

/// An API key never reaches the log. A remote generation run at the most
/// detailed level (`RUST_LOG=trace`, `-vv`) logs the run and the endpoint, so
/// logging really happened, yet the key appears neither on standard error
/// nor on standard output, although it was sent to the server. At the
/// default level nothing is logged at all.
#[test]
fn api_key_never_reaches_the_log() {
    let key = "sk-log-canary-7f3a9c0e5b1d4e2a";
    let var = format!("LLM4SWEAT_TEST_LOG_KEY_{}", std::process::id());
    let answer = serde_json::json!({
        "id": "cmpl-1",
        "object": "chat.completion",
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": "Try aluminium chloride first."},
            "finish_reason": "stop"
        }],
        "usage": {"prompt_tokens": 11, "completion_tokens": 5, "total_tokens": 16}
    });
    let server = StubServer::start(vec![
        Reply::json(200, answer.to_string()),
        Reply::json(200, answer.to_string()),
    ]);
    let ws = Workspace::new();
    ws.ok(&["init"]);
    let url = server.base_url();
    ws.ok(&[
        "models",
        "add-remote",
        "stub",
        "--url",
        &url,
        "--model",
        "stub-model",
        "--api-key-env",
        &var,
    ]);

    // At the default level the output is what it was before logging existed.
    let quiet = ws
        .cmd()
        .env(&var, key)
        .args(["generate", "--model", "stub", "--limit", "1"])
        .output()
        .expect("run llm4sweat");
    assert!(quiet.status.success(), "{}", stderr_of(&quiet));
    assert_eq!(stderr_of(&quiet), "", "no log lines by default");

    let out = ws
        .cmd()
        .env(&var, key)
        .env("RUST_LOG", "trace")
        .args(["-vv", "generate", "--model", "stub", "--limit", "2"])
        .output()
        .expect("run llm4sweat");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = stderr_of(&out);
    assert!(out.status.success(), "stdout: {stdout}\nstderr: {stderr}");
    assert!(stdout.contains("1 answered now"), "{stdout}");

    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(
        requests[1].header("authorization"),
        Some(format!("Bearer {key}").as_str()),
        "the key was really sent"
    );
    let host = url
        .trim_start_matches("http://")
        .split('/')
        .next()
        .expect("host:port");
    for expected in [
        "opening remote endpoint",
        host,
        "generation run started",
        "generation run finished",
    ] {
        assert!(
            stderr.contains(expected),
            "the log lacks {expected:?}:\n{stderr}"
        );
    }
    for (name, text) in [("stderr", &stderr), ("stdout", &stdout.to_string())] {
        assert!(!text.contains(key), "{name} shows the key:\n{text}");
        assert!(
            !text.contains("7f3a9c0e5b1d"),
            "{name} shows part of the key:\n{text}"
        );
    }
}

/// Regression: two exports to one `--out` at once produced a file that
/// matched neither (one fixed temporary name); a symlink or FIFO target was
/// replaced by a regular file without a word.
#[test]
fn concurrent_exports_are_each_complete_and_odd_targets_are_refused() {
    let ws = Workspace::new();
    let pack = llm4sweat::DomainPack::embedded_default().expect("pack");
    drop(
        llm4sweat::testkit::workspace_with_answers(
            &ws.db(),
            &pack,
            llm4sweat::testkit::FakeModels::Remote,
            &[
                ("m-one", ModelRole::Baseline),
                ("m-two", ModelRole::Baseline),
            ],
            None,
            &|m, item| format!("answer {} to {item}, {}", m.id, "long text ".repeat(40)),
        )
        .expect("fixture"),
    );
    let reference = ws.ok(&["export", "generations", "--format", "csv"]);
    assert_eq!(reference.lines().count(), 1 + 2 * 76);
    assert_eq!(
        ws.ok(&["export", "generations", "--format", "csv", "--out", "-"]),
        reference,
        "`--out -` is standard output"
    );

    let out = ws.path("same.csv");
    let out_arg = out.to_str().expect("utf-8").to_owned();
    for trial in 0..4 {
        let children: Vec<_> = (0..3)
            .map(|_| {
                ws.cmd()
                    .args([
                        "export",
                        "generations",
                        "--format",
                        "csv",
                        "--out",
                        &out_arg,
                    ])
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .expect("spawn")
            })
            .collect();
        for child in children {
            let done = child.wait_with_output().expect("wait");
            assert!(
                done.status.success(),
                "trial {trial}: {}",
                String::from_utf8_lossy(&done.stderr)
            );
        }
        assert_eq!(
            std::fs::read_to_string(&out).expect("read"),
            reference,
            "trial {trial}: the file must be one whole export"
        );
    }
    let leftovers: Vec<_> = std::fs::read_dir(ws.dir.path())
        .expect("dir")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".partial"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // A symlink and a FIFO are refused, named, and left as they were.
    let link = ws.path("link.csv");
    std::os::unix::fs::symlink(&out, &link).expect("symlink");
    let fifo = ws.path("fifo.csv");
    crate::util::mkfifo(&fifo);
    for (target, kind) in [(&link, "symbolic link"), (&fifo, "FIFO")] {
        let t = target.to_str().expect("utf-8");
        for args in [
            vec!["export", "generations", "--out", t],
            vec!["export", "ratings", "--out", t],
        ] {
            let run = ws.run(&args);
            let stderr = String::from_utf8_lossy(&run.stderr);
            if args[1] == "ratings" {
                // No study yet: refused before the target is looked at.
                assert!(!run.status.success(), "{stderr}");
                continue;
            }
            assert!(!run.status.success(), "{args:?}");
            assert!(
                stderr.contains(&format!("{t} is a {kind}, not a regular file")),
                "{stderr}"
            );
        }
    }
    assert!(
        std::fs::symlink_metadata(&link)
            .expect("link")
            .file_type()
            .is_symlink()
    );
    let err = ws.run(&["export", "generations", "--out", "/nonexistent-dir-x/a.csv"]);
    assert!(
        String::from_utf8_lossy(&err.stderr).contains("could not write /nonexistent-dir-x/a.csv"),
        "{}",
        String::from_utf8_lossy(&err.stderr)
    );
}
