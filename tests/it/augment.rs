//! Augmentation end to end through the CLI, against a loopback server that
//! speaks the OpenAI chat-completions protocol and answers each request
//! from what it asks (the offered fact ids, the item kind): good items, and
//! every bad case a generator can produce.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use llm4sweat::Store;
use llm4sweat::inference::sha256_hex;
use llm4sweat::store::Table;
use llm4sweat::testkit::generator::{offered_ids, salad};
use llm4sweat::vocab::ReviewStatus;

use crate::stub_server::{RecordedRequest, Reply, StubServer};
use crate::util::Workspace;

/// What the server was asked: the fact ids offered in the prompt, and
/// whether it wants a vignette.
struct Ask {
    offered: Vec<String>,
    vignette: bool,
    format: Option<String>,
}

fn ask(req: &RecordedRequest) -> Ask {
    let body = req.json();
    let prompt = body["messages"][0]["content"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    let offered = offered_ids(&prompt);
    Ask {
        offered,
        vignette: prompt.contains("\"reference_answer\""),
        format: body["response_format"]["type"].as_str().map(str::to_owned),
    }
}

fn completion(content: &str) -> Reply {
    Reply::json(
        200,
        serde_json::json!({
            "id": "cmpl", "object": "chat.completion",
            "choices": [{ "index": 0, "message": { "role": "assistant", "content": content }, "finish_reason": "stop" }],
            "usage": { "prompt_tokens": 300, "completion_tokens": 120 },
        })
        .to_string(),
    )
}

fn item_json(a: &Ask, text: &str, answer: &str, facts: &[String]) -> String {
    if a.vignette {
        serde_json::json!({ "text": text, "reference_answer": answer, "used_facts": facts })
    } else {
        serde_json::json!({ "question": text, "answer": answer, "used_facts": facts })
    }
    .to_string()
}

/// A valid item for request `a`, its text drawn from `seed`.
fn good(a: &Ask, seed: u64) -> Reply {
    let facts: Vec<String> = a.offered.iter().take(2).cloned().collect();
    completion(&item_json(
        a,
        &salad(seed, 24),
        &salad(seed + 1_000_000, 36),
        &facts,
    ))
}

fn workspace_with_generator(server: &StubServer, pack: Option<&Path>) -> Workspace {
    let ws = Workspace::new();
    match pack {
        Some(p) => ws.ok(&["init", "--pack", p.to_str().expect("utf-8")]),
        None => ws.ok(&["init"]),
    };
    ws.ok(&[
        "models",
        "add-remote",
        "gen",
        "--url",
        &server.base_url(),
        "--model",
        "generator-model",
        "--role",
        "generator",
    ]);
    ws
}

fn status_json(ws: &Workspace, run: Option<i64>) -> serde_json::Value {
    let mut args = vec!["augment", "status", "--json"];
    let run_s = run.map(|r| r.to_string());
    if let Some(r) = &run_s {
        args.extend(["--run", r]);
    }
    serde_json::from_str(&ws.ok(&args)).expect("status JSON")
}

fn rejections_by_reason(status: &serde_json::Value) -> BTreeMap<String, u64> {
    status["rejections"][0][1]
        .as_array()
        .expect("rejection counts")
        .iter()
        .map(|p| {
            (
                p[0].as_str().expect("reason").to_owned(),
                p[1].as_u64().expect("count"),
            )
        })
        .collect()
}

const EVAL_001: &str = "I'm 15 and my hands drip sweat even when I'm not nervous, like in a cold classroom. My mom's hands were the same at my age. Is this a real condition or am I just weird?";

#[test]
fn every_bad_answer_is_a_stored_rejection_with_its_reason_and_good_ones_are_accepted() {
    let server = StubServer::dynamic(|req, n| {
        let a = ask(req);
        let facts: Vec<String> = a.offered.iter().take(2).cloned().collect();
        let answer = salad(n as u64 + 500, 36);
        match n {
            1 => completion("{\"question\": \"unterminated"),
            2 => completion(
                &serde_json::json!({ "question": salad(2, 24), "answer": answer }).to_string(),
            ),
            3 => completion(""),
            4 => completion(&item_json(&a, &salad(4, 24), &"x ".repeat(40_000), &facts)),
            5 => completion(&item_json(
                &a,
                &salad(5, 24),
                &answer,
                &["zz-not-offered".to_owned()],
            )),
            // The text of the item accepted first.
            6 => good(&a, 0),
            7 => completion(&item_json(&a, EVAL_001, &answer, &facts)),
            8 => completion(&item_json(
                &a,
                "I'm 15 and my hands drip sweat even when I'm calm, like in a chilly classroom. My mum's hands were the same at my age. Is this a real condition or am I just strange?",
                &answer,
                &facts,
            )),
            9 => completion(&item_json(
                &a,
                &format!("{} I also have night sweats lately.", salad(9, 20)),
                &answer,
                &facts,
            )),
            10 => Reply::json(429, "{\"error\":{\"message\":\"slow down\"}}")
                .header("Retry-After", "1"),
            12 | 13 => Reply::json(500, "{\"error\":{\"message\":\"boom\"}}"),
            14 => Reply::sse(&[
                "{\"choices\":[{\"delta\":{\"content\":\"{\\\"question\\\": \\\"half\"}}]}",
            ])
            .close_mid_stream(),
            15 => Reply::silent(Duration::from_secs(6)),
            n => good(&a, n as u64),
        }
    });
    let ws = workspace_with_generator(&server, None);
    let started = Instant::now();
    let out = ws.ok(&[
        "augment",
        "run",
        "--generator",
        "gen",
        "--count",
        "6",
        "--concurrency",
        "1",
        "--timeout",
        "2",
        "--retries",
        "1",
        "--backoff-ms",
        "50",
    ]);
    assert!(
        started.elapsed() < Duration::from_secs(40),
        "bounded: {:?}",
        started.elapsed()
    );
    assert!(out.contains("completed — 6 of 6 accepted"), "{out}");

    let status = status_json(&ws, Some(1));
    let run = &status["runs"][0];
    assert_eq!(run["accepted"], 6);
    assert_eq!(run["rejected"], 12, "{status}");
    let expected: BTreeMap<String, u64> = [
        ("backend_error", 3),
        ("duplicate", 1),
        ("empty", 1),
        ("eval_leak", 2),
        ("invalid_json", 1),
        ("red_flag", 1),
        ("schema", 1),
        ("too_long", 1),
        ("unoffered_fact", 1),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(rejections_by_reason(&status), expected);
    // Tokens are counted for every answer that arrived (12 of the 18).
    assert_eq!(run["prompt_tokens"], 300 * 15);

    // Each request asked for a JSON schema whose fact ids are the offered ones.
    for req in server.requests() {
        let body = req.json();
        assert_eq!(body["response_format"]["type"], "json_schema");
        let a = ask(&req);
        let schema = &body["response_format"]["json_schema"]["schema"];
        let ids: Vec<String> =
            serde_json::from_value(schema["properties"]["used_facts"]["items"]["enum"].clone())
                .expect("enum of offered ids");
        assert_eq!(ids, a.offered);
        assert!(req.header("authorization").is_none());
    }

    // The accepted items: pending, in the pool, grounded in offered facts,
    // with their provenance; none is an evaluation item.
    let store = Store::open(&ws.db()).expect("open");
    let pending = store
        .synthetic_items(ReviewStatus::Pending, 100)
        .expect("queue");
    assert_eq!(pending.len(), 6);
    let pack = llm4sweat::domain::DomainPack::embedded_default().expect("pack");
    for item in &pending {
        let offered: Vec<String> =
            serde_json::from_value(item.provenance["offered_facts"].clone()).expect("offered");
        assert!(!item.facts.is_empty());
        assert!(item.facts.iter().all(|f| offered.contains(&f.id)));
        let template = match item.kind {
            llm4sweat::vocab::ItemKind::Question => "qa",
            llm4sweat::vocab::ItemKind::Vignette => "vignette",
        };
        assert_eq!(
            item.provenance["template"]["hash"],
            sha256_hex(pack.manifest.prompts[template].as_bytes())
        );
        assert_eq!(item.provenance["generator"]["name"], "gen");
        assert!(item.strata.contains_key("intent") && item.strata.contains_key("site"));
        assert!(pack.items.iter().all(|e| e.text != item.text));
    }
    // Nothing pending reaches a round.
    assert!(store.approved_synthetic().expect("approved").is_empty());
    let listed = ws.ok(&["augment", "status", "--run", "1", "--rejections", "20"]);
    assert!(
        listed.contains("eval_leak") && listed.contains("matches evaluation item eval-001"),
        "{listed}"
    );
}

#[test]
fn a_run_killed_with_sigkill_loses_no_accepted_item_and_a_rerun_fills_the_quota() {
    let server = StubServer::dynamic(|req, n| {
        std::thread::sleep(Duration::from_millis(40));
        good(&ask(req), n as u64)
    });
    let ws = workspace_with_generator(&server, None);
    let args = [
        "augment",
        "run",
        "--generator",
        "gen",
        "--count",
        "30",
        "--concurrency",
        "2",
    ];
    let mut child = ws
        .cmd()
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the CLI");
    let deadline = Instant::now() + Duration::from_secs(30);
    while ws.count(Table::Items) < 76 + 8 {
        assert!(Instant::now() < deadline, "the run made no progress");
        assert!(
            child.try_wait().expect("poll").is_none(),
            "the run ended too early"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reap");
    let store = Store::open(&ws.db()).expect("open");
    let run = store.augment_runs().expect("runs").remove(0);
    let stored = store.synthetic_cells(None).expect("cells").len() as u64;
    assert_eq!(run.accepted, stored, "the counters match the items");
    assert!((8..30).contains(&stored), "{stored}");
    assert_eq!(run.status.as_str(), "running");
    drop(store);

    let out = ws.ok(&args);
    assert!(
        out.contains("resumed") && out.contains("30 of 30 accepted"),
        "{out}"
    );
    let store = Store::open(&ws.db()).expect("open");
    let items = store
        .synthetic_items(ReviewStatus::Pending, 100)
        .expect("items");
    assert_eq!(items.len(), 30);
    let texts: HashSet<&str> = items.iter().map(|i| i.text.as_str()).collect();
    assert_eq!(texts.len(), 30);
    // Balanced on every axis: counts differ by at most one.
    let status = status_json(&ws, Some(1));
    for axis in status["balance"].as_array().expect("balance") {
        let counts: Vec<u64> = axis["counts"]
            .as_array()
            .expect("counts")
            .iter()
            .map(|c| c[1].as_u64().expect("n"))
            .collect();
        let (min, max) = (
            counts.iter().min().expect("min"),
            counts.iter().max().expect("max"),
        );
        assert!(max - min <= 1, "{axis}");
    }
}

#[test]
fn a_server_without_json_schema_support_is_asked_for_json_objects_and_that_is_remembered() {
    let server = StubServer::dynamic(|req, n| {
        let a = ask(req);
        if a.format.as_deref() == Some("json_schema") {
            Reply::json(
                400,
                "{\"error\":{\"message\":\"response_format.json_schema is not supported\"}}",
            )
        } else {
            good(&a, n as u64)
        }
    });
    let ws = workspace_with_generator(&server, None);
    let out = ws.ok(&[
        "augment",
        "run",
        "--generator",
        "gen",
        "--count",
        "3",
        "--concurrency",
        "1",
    ]);
    assert!(
        out.contains("3 of 3 accepted") && out.contains("output mode json_object"),
        "{out}"
    );
    let formats: Vec<String> = server
        .requests()
        .iter()
        .map(|r| ask(r).format.unwrap_or_default())
        .collect();
    assert_eq!(formats[0], "json_schema");
    assert!(
        formats[1..].iter().all(|f| f == "json_object"),
        "{formats:?}"
    );
    // In json_object mode the prompt carries the schema.
    let last = server.requests().pop().expect("request").json();
    assert!(
        last["messages"][0]["content"]
            .as_str()
            .expect("prompt")
            .contains("JSON Schema")
    );

    let before = server.request_count();
    ws.ok(&[
        "augment",
        "run",
        "--generator",
        "gen",
        "--count",
        "2",
        "--new",
    ]);
    let later: Vec<String> = server.requests()[before..]
        .iter()
        .map(|r| ask(r).format.unwrap_or_default())
        .collect();
    assert!(
        later.iter().all(|f| f == "json_object"),
        "remembered: {later:?}"
    );
}

#[test]
fn a_second_tiny_pack_augments_from_data_alone_and_only_approved_items_reach_a_round() {
    let pack_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/packs/tiny");
    let asked = Arc::new(Mutex::new(Vec::new()));
    let server = {
        let asked = Arc::clone(&asked);
        StubServer::dynamic(move |req, n| {
            let a = ask(req);
            asked.lock().expect("lock").push(a.offered.clone());
            if n == 1 {
                // Ignores the pack's own red-flag rule.
                let facts: Vec<String> = a.offered.iter().take(1).cloned().collect();
                return completion(&item_json(
                    &a,
                    "My feet have an open sore after I soaked them in ice water. What can I do?",
                    &salad(77, 30),
                    &facts,
                ));
            }
            good(&a, n as u64)
        })
    };
    let ws = workspace_with_generator(&server, Some(&pack_dir));
    let pack_arg = pack_dir.to_str().expect("utf-8");
    let out = ws.ok(&[
        "augment",
        "run",
        "--generator",
        "gen",
        "--count",
        "12",
        "--concurrency",
        "1",
        "--pack",
        pack_arg,
    ]);
    assert!(out.contains("12 of 12 accepted"), "{out}");
    let status = status_json(&ws, Some(1));
    assert_eq!(rejections_by_reason(&status).get("red_flag"), Some(&1));
    let listed = ws.ok(&["augment", "status", "--run", "1", "--rejections", "5"]);
    assert!(listed.contains("skin_breakdown"), "{listed}");
    // 12 items over limb (3), age (2), category (2), intent (3): exactly even.
    for axis in status["balance"].as_array().expect("balance") {
        assert_eq!(axis["ratio"], 1.0, "{axis}");
    }
    // Every request offered only the tiny pack's facts.
    for offered in asked.lock().expect("lock").iter() {
        assert!(!offered.is_empty() && offered.iter().all(|f| f.starts_with("em-")));
    }

    // Review: approve two, edit one (the original is kept), reject one.
    let store = Store::open(&ws.db()).expect("open");
    let ids: Vec<String> = store
        .synthetic_items(ReviewStatus::Pending, 100)
        .expect("queue")
        .into_iter()
        .map(|i| i.external_id)
        .collect();
    let original = store.synthetic_item(&ids[2]).expect("item");
    drop(store);
    ws.ok(&[
        "augment",
        "approve",
        &ids[0],
        &ids[1],
        "--expert",
        "Dr. Rivera",
    ]);
    let refused = ws.run(&[
        "augment", "approve", &ids[2], "--expert", "Dr. Rivera", "--pack", pack_arg, "--text",
        "My feet turn bright red and burn every evening when I get warm in bed. What is happening to me?",
        "--answer", "This sounds like erythromelalgia; cooling and elevating the feet help, and a clinician can confirm it.",
    ]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("evaluation item em-eval-1"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let spanish = ws.run(&[
        "augment", "approve", &ids[2], "--expert", "Dr. Rivera", "--pack", pack_arg, "--text",
        "Mis pies se ponen rojos y arden cada noche cuando tengo calor. ¿Qué me pasa?",
        "--answer", "Puede ser eritromelalgia; enfriar y elevar los pies ayuda, y un médico puede confirmarlo pronto.",
    ]);
    assert!(!spanish.status.success());
    assert!(
        String::from_utf8_lossy(&spanish.stderr).contains("common \"en\" words"),
        "{}",
        String::from_utf8_lossy(&spanish.stderr)
    );
    ws.ok(&[
        "augment", "approve", &ids[2], "--expert", "Dr. Rivera", "--pack", pack_arg, "--text",
        "My hands get hot and red when I wash dishes in warm water. Is this part of my condition?",
        "--answer", "Warm water is a common trigger of flares in the hands. Cooling the skin gently and avoiding the trigger help; a clinician can tailor treatment.",
    ]);
    let no_reason = ws.run(&[
        "augment",
        "reject",
        &ids[3],
        "--expert",
        "Dr. Rivera",
        "--reason",
        " ",
    ]);
    assert!(!no_reason.status.success());
    ws.ok(&[
        "augment",
        "reject",
        &ids[3],
        "--expert",
        "Dr. Rivera",
        "--reason",
        "not plausible",
    ]);
    let again = ws.run(&["augment", "approve", &ids[3], "--expert", "Dr. Rivera"]);
    assert!(String::from_utf8_lossy(&again.stderr).contains("already rejected"));

    let store = Store::open(&ws.db()).expect("open");
    let edited = store.synthetic_item(&ids[2]).expect("item");
    assert_eq!(edited.revisions.len(), 1);
    assert_eq!(edited.revisions[0].editor, "Dr. Rivera");
    assert_eq!(edited.revisions[0].text_before, original.text);
    assert_eq!(edited.provenance["reviewed_by"], "Dr. Rivera");
    let approved: Vec<String> = store
        .approved_synthetic()
        .expect("approved")
        .into_iter()
        .map(|a| a.external_id)
        .collect();
    assert_eq!(approved, ids[..3].to_vec());
    assert_eq!(store.count(Table::ItemRevisions).expect("count"), 1);
}

#[test]
fn the_real_local_model_under_the_grammar_writes_only_answers_that_parse() {
    let ws = Workspace::new().with_model();
    let out = ws.ok(&[
        "augment",
        "run",
        "--generator",
        "smol",
        "--count",
        "2",
        "--max-attempts",
        "2",
        "--max-tokens",
        "256",
        "--threads",
        "2",
        "--json",
    ]);
    let summary: serde_json::Value = serde_json::from_str(&out).expect("summary JSON");
    let run = &summary["run"];
    assert_eq!(summary["output_mode"], "json_schema");
    let attempts = run["accepted"].as_u64().expect("n") + run["rejected"].as_u64().expect("n");
    assert_eq!(attempts, 2, "{summary}");
    // Whatever else a 135M model gets wrong, the grammar leaves it no way
    // to write anything but the schema: no answer is invalid JSON, breaks
    // the schema or cites a fact it was not offered. (An answer cut off at
    // the token limit is `too_long`.)
    let reasons: Vec<String> = summary["rejections"]
        .as_array()
        .expect("rejections")
        .iter()
        .map(|r| r[0].as_str().expect("reason").to_owned())
        .collect();
    for bad in ["invalid_json", "schema", "unoffered_fact", "backend_error"] {
        assert!(!reasons.iter().any(|r| r == bad), "{bad}: {summary}");
    }
    assert!(run["completion_tokens"].as_u64().expect("tokens") > 0);
}

#[test]
fn a_run_another_live_process_is_running_is_not_resumed_twice() {
    let server = StubServer::dynamic(|req, n| {
        std::thread::sleep(Duration::from_millis(150));
        good(&ask(req), n as u64)
    });
    let ws = workspace_with_generator(&server, None);
    let args = [
        "augment",
        "run",
        "--generator",
        "gen",
        "--count",
        "40",
        "--concurrency",
        "1",
    ];
    let mut first = ws
        .cmd()
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the CLI");
    let deadline = Instant::now() + Duration::from_secs(30);
    while ws.count(Table::Items) < 76 + 1 {
        assert!(Instant::now() < deadline, "the run made no progress");
        std::thread::sleep(Duration::from_millis(20));
    }
    let second = ws.run(&args);
    first.kill().expect("SIGKILL");
    first.wait().expect("reap");
    assert!(!second.status.success());
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(
        stderr.contains("augmentation run 1 is being run by process") && stderr.contains("--new"),
        "{stderr}"
    );
    // Once that process is gone, the run resumes.
    let out = ws.ok(&[
        "augment",
        "run",
        "--generator",
        "gen",
        "--count",
        "40",
        "--concurrency",
        "8",
    ]);
    assert!(
        out.contains("resumed") && out.contains("40 of 40 accepted"),
        "{out}"
    );
}
