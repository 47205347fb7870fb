//! Retraining rounds end to end through the CLI: the dataset snapshot, the
//! leakage refusal, exports, and a real (short) fine-tune that is killed,
//! resumed and registered with its lineage.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::Stdio;

use serde_json::Value;

use crate::util::Workspace;

const PACK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/hyperhidrosis");

/// A copy of the built-in pack with `pairs` as its training pairs.
fn pack_with(dir: &Path, pairs: Vec<Value>) -> PathBuf {
    let out = dir.join("pack");
    std::fs::create_dir_all(&out).expect("pack dir");
    for f in [
        "pack.toml",
        "sources.json",
        "seed_facts.json",
        "eval_items.json",
    ] {
        std::fs::copy(Path::new(PACK).join(f), out.join(f)).expect("copy pack file");
    }
    std::fs::write(
        out.join("train_pairs.json"),
        serde_json::to_string(&pairs).expect("json"),
    )
    .expect("write pairs");
    out
}

fn pairs() -> Vec<Value> {
    let text = std::fs::read_to_string(Path::new(PACK).join("train_pairs.json")).expect("pairs");
    serde_json::from_str(&text).expect("pairs parse")
}

fn eval_item(i: usize) -> Value {
    let text = std::fs::read_to_string(Path::new(PACK).join("eval_items.json")).expect("items");
    let items: Vec<Value> = serde_json::from_str(&text).expect("items parse");
    items[i].clone()
}

fn show(ws: &Workspace, number: &str) -> Value {
    serde_json::from_str(&ws.ok(&["round", "show", number, "--json"])).expect("round show --json")
}

#[test]
fn a_round_snapshots_the_pack_pairs_split_by_category_with_a_stable_hash() {
    let ws = Workspace::new().with_model();
    let out = ws.ok(&["round", "new", "--base", "smol", "--seed", "11"]);
    assert!(out.contains("round 1 created"), "{out}");
    let r1 = show(&ws, "1");
    let summary = &r1["round"]["summary"];
    let total = summary["total"].as_u64().expect("total");
    assert!(total >= 120, "the pack's pairs, deduplicated: {summary}");
    assert_eq!(
        summary["train"].as_u64().unwrap() + summary["val"].as_u64().unwrap(),
        total
    );
    for (cat, counts) in summary["by_category"].as_object().expect("categories") {
        assert!(
            counts[1].as_u64().unwrap() >= 1,
            "{cat} has a validation example"
        );
        assert!(
            counts[0].as_u64().unwrap() >= 1,
            "{cat} has training examples"
        );
    }
    assert_eq!(summary["by_source"]["pack"].as_u64(), Some(total));
    assert_eq!(r1["round"]["status"], "dataset_ready");
    // The same sources and seed give the same dataset.
    ws.ok(&["round", "new", "--base", "smol", "--seed", "11"]);
    assert_eq!(
        show(&ws, "2")["round"]["dataset_hash"],
        r1["round"]["dataset_hash"]
    );
    ws.ok(&["round", "new", "--base", "smol", "--seed", "12"]);
    assert_ne!(
        show(&ws, "3")["round"]["dataset_hash"],
        r1["round"]["dataset_hash"]
    );

    // Exports parse as the tools expect.
    let out_dir = ws.path("export");
    ws.ok(&["round", "export", "1", "--out", out_dir.to_str().unwrap()]);
    // Examples carry the pack's short training prompt; the round keeps the
    // full one for inference and evaluation.
    let pack = llm4sweat::domain::DomainPack::embedded_default().unwrap();
    let short = pack
        .manifest
        .training_system_prompt
        .clone()
        .expect("the pack's training prompt");
    assert!(short.len() * 5 < pack.manifest.system_prompt.len());
    assert_eq!(
        r1["round"]["config"]["training_system_prompt"],
        short.as_str()
    );
    assert_eq!(
        r1["round"]["config"]["system_prompt"],
        pack.manifest.system_prompt.as_str()
    );
    let mut lines = 0;
    for line in std::fs::read_to_string(out_dir.join("train.jsonl"))
        .unwrap()
        .lines()
    {
        let v: Value = serde_json::from_str(line).expect("one JSON object per line");
        let roles: Vec<&str> = v["messages"]
            .as_array()
            .expect("messages")
            .iter()
            .map(|m| m["role"].as_str().unwrap())
            .collect();
        assert_eq!(roles, ["system", "user", "assistant"]);
        assert_eq!(v["messages"][0]["content"], short.as_str());
        assert!(v["messages"][2]["content"].as_str().unwrap().len() > 20);
        lines += 1;
    }
    assert_eq!(lines, summary["train"].as_u64().unwrap());
    let sharegpt: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("sharegpt.json")).unwrap())
            .unwrap();
    assert_eq!(sharegpt.len() as u64, summary["train"].as_u64().unwrap());
    assert_eq!(sharegpt[0]["conversations"][0]["from"], "human");
    assert_eq!(sharegpt[0]["conversations"][1]["from"], "gpt");
    let alpaca: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("alpaca.json")).unwrap())
            .unwrap();
    assert!(alpaca[0]["instruction"].is_string() && alpaca[0]["output"].is_string());
    let info: Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("dataset_info.json")).unwrap())
            .unwrap();
    assert_eq!(info["llm4sweat_round1_sharegpt"]["formatting"], "sharegpt");
    assert_eq!(info["llm4sweat_round1_alpaca"]["file_name"], "alpaca.json");
    let card = std::fs::read_to_string(out_dir.join("README.md")).unwrap();
    assert!(card.contains(r1["round"]["dataset_hash"].as_str().unwrap()));
    assert!(card.contains("short training prompt"), "{card}");
    // The card lists the round's own pack's sources.
    assert!(card.contains(&pack.sources[0].title), "{card}");
    assert!(!card.contains("did not keep its pack's sources"), "{card}");
    let yaml = std::fs::read_to_string(out_dir.join("axolotl.yaml")).unwrap();
    assert!(yaml.contains("roles_to_train: [\"assistant\"]") && yaml.contains("adapter: lora"));
    let trl = std::fs::read_to_string(out_dir.join("train_trl.py")).unwrap();
    assert!(trl.contains("assistant_only_loss=True"));
}

#[test]
fn an_evaluation_question_or_a_light_paraphrase_in_the_training_data_is_refused() {
    let ws = Workspace::new().with_model();
    let item = eval_item(0);
    let text = item["text"].as_str().unwrap().to_owned();
    let mut planted = pairs()[..6].to_vec();
    let mut copy = planted[0].clone();
    copy["id"] = "planted-copy".into();
    copy["question"] = text.clone().into();
    planted.push(copy);
    let paraphrase = text
        .replace("I'm 15", "I am fifteen")
        .replace("drip sweat", "are dripping with sweat")
        .replace("weird", "strange");
    let mut para = planted[1].clone();
    para["id"] = "planted-paraphrase".into();
    para["question"] = paraphrase.into();
    planted.push(para);
    let pack = pack_with(ws.dir.path(), planted);
    let out = ws.run(&[
        "round",
        "new",
        "--base",
        "smol",
        "--seed",
        "1",
        "--pack",
        pack.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a leak is refused");
    assert!(err.contains("leaks the evaluation set"), "{err}");
    let id = item["id"].as_str().unwrap();
    assert!(
        err.contains(&format!("planted-copy ~ evaluation item {id}")),
        "{err}"
    );
    assert!(
        err.contains(&format!("planted-paraphrase ~ evaluation item {id}")),
        "{err}"
    );
    assert!(
        ws.ok(&["round", "list"]).contains("no rounds yet"),
        "nothing was written"
    );
}

#[test]
fn a_round_trains_is_killed_resumes_and_registers_its_model_with_lineage() {
    let ws = Workspace::new().with_model();
    // A handful of pairs keeps the run to a few steps per epoch.
    let pack = pack_with(ws.dir.path(), pairs()[..14].to_vec());
    ws.ok(&[
        "round",
        "new",
        "--base",
        "smol",
        "--seed",
        "3",
        "--val-fraction",
        "0.25",
        "--pack",
        pack.to_str().unwrap(),
    ]);
    let train_args = [
        "round",
        "train",
        "1",
        "--epochs",
        "2",
        "--lr",
        "0.0001",
        "--threads",
        "2",
    ];
    // First run: kill the training process with SIGKILL after epoch 1.
    let mut cmd = ws.cmd();
    cmd.args(train_args)
        .stderr(Stdio::piped())
        .stdout(Stdio::null());
    let mut child = cmd.spawn().expect("start round train");
    let stderr = child.stderr.take().expect("stderr");
    let mut pid = None;
    for line in BufReader::new(stderr).lines() {
        let line = line.expect("stderr line");
        if let Some(rest) = line.strip_prefix("training process ") {
            pid = rest
                .split_whitespace()
                .next()
                .and_then(|p| p.parse::<i32>().ok());
        }
        if line.contains("epoch 1: training loss") {
            let pid = pid.expect("the training process announced itself");
            let killed = std::process::Command::new("kill")
                .args(["-9", &pid.to_string()])
                .status()
                .expect("kill");
            assert!(killed.success());
        }
    }
    let status = child.wait().expect("wait");
    assert!(!status.success(), "a killed training run fails");
    let r = show(&ws, "1");
    assert_eq!(r["round"]["status"], "dataset_ready", "{r}");
    assert_eq!(r["round"]["training"]["epochs_done"], 1, "{r}");
    assert!(
        r["round"]["failure"].as_str().unwrap().contains("SIGKILL"),
        "{r}"
    );
    assert!(r["round"]["output_model_id"].is_null());
    assert_eq!(r["epochs"].as_array().unwrap().len(), 1);

    // Second run: resumes after epoch 1 and finishes.
    let out = ws.cmd().args(train_args).output().expect("resume");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        !err.contains("base model as F32"),
        "a resumed run starts from its checkpoint: {err}"
    );
    assert!(
        !err.contains("epoch 1: training loss"),
        "epoch 1 is not trained again: {err}"
    );
    assert!(err.contains("epoch 2: training loss"), "{err}");
    let r = show(&ws, "1");
    assert_eq!(r["round"]["status"], "trained");
    let outcome = &r["round"]["training"]["outcome"];
    assert!(
        outcome["val_loss_after"].as_f64().unwrap() < outcome["val_loss_before"].as_f64().unwrap(),
        "{outcome}"
    );
    assert_eq!(r["epochs"].as_array().unwrap().len(), 2);
    assert!(r["steps"].as_array().unwrap().len() >= 4);

    // Registered with its lineage; same chat template and context as its parent.
    let store = llm4sweat::Store::open(&ws.db()).expect("db");
    let models = store.models().expect("models");
    let base = models.iter().find(|m| m.name == "smol").expect("base");
    let tuned = models
        .iter()
        .find(|m| m.name == "smol-r1")
        .expect("the round's model");
    assert_eq!(tuned.parent_model_id, Some(base.id));
    assert_eq!(tuned.round_id, Some(1));
    assert_eq!(tuned.chat_template, base.chat_template);
    assert_eq!(tuned.context_length, base.context_length);
    assert_eq!(tuned.quantization.as_deref(), Some("Q4_K_M"));
    // It answers.
    let answer = ws.ok(&[
        "chat",
        "--model",
        "smol-r1",
        "--max-tokens",
        "24",
        "Why do my hands sweat?",
    ]);
    assert!(answer.trim().len() > 5, "{answer}");
    // One action opens the blinded study of the new model against its parent.
    ws.ok(&["rater", "add", "Dr. A", "--specialty", "dermatology"]);
    ws.ok(&["rater", "add", "Dr. B", "--specialty", "psychology"]);
    let out = ws.ok(&["round", "evaluate", "1", "--no-generate"]);
    assert!(
        out.contains("Round 1 evaluation") && out.contains("smol-r1, smol"),
        "{out}"
    );
    let r = show(&ws, "1");
    assert_eq!(r["round"]["status"], "evaluated");
    assert_eq!(r["studies"][0], "Round 1 evaluation");
    let study = ws.ok(&["study", "show", "Round 1 evaluation"]);
    assert!(study.contains("smol-r1"), "{study}");
    // The work folder (F32 copies) is gone; the model file stays.
    assert!(!ws.path("rounds/round-1/work").exists());
    assert!(ws.path("rounds/round-1/smol-r1.gguf").is_file());
}
