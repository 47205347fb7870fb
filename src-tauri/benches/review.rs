//! Review-path latencies at the app layer (what each IPC command does), on a
//! real SQLite file: a rating autosave, a submit, and opening a study with
//! 5 000 answers. Run with `cargo bench -p llm4sweat-desktop --bench review`.

use std::time::{Duration, Instant};

use llm4sweat::DomainPack;
use llm4sweat::generate::params_hash;
use llm4sweat::inference::SamplingParams;
use llm4sweat::store::{ItemFilter, NewGeneration, NewLocalModel, RatingRow, Store};
use llm4sweat::workspace::WorkspacePaths;
use llm4sweat_desktop::app::App;

const ITEMS: usize = 2_500;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn big_pack() -> DomainPack {
    let base = DomainPack::embedded_default().expect("pack");
    let items: Vec<serde_json::Value> = (0..ITEMS)
        .map(|i| {
            let src = &base.items[i % base.items.len()];
            serde_json::json!({ "id": format!("bench-{i:05}"), "kind": src.kind, "category": src.category,
                                "text": format!("{} (variant {i})", src.text), "strata": src.strata })
        })
        .collect();
    DomainPack::parse(
        include_str!("../../data/hyperhidrosis/pack.toml"),
        include_str!("../../data/hyperhidrosis/sources.json"),
        include_str!("../../data/hyperhidrosis/seed_facts.json"),
        &serde_json::to_string(&items).expect("json"),
    )
    .expect("bench pack")
}

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let paths = WorkspacePaths {
        db: dir.path().join("bench.sqlite3"),
        models_dir: dir.path().join("models"),
    };
    let pack = DomainPack::embedded_default().expect("pack");
    let names = ["bench-model-a", "bench-model-b"];
    {
        let mut store = Store::open(&paths.db).expect("open");
        store.load_pack(&big_pack()).expect("load");
        let params = SamplingParams::default();
        let hash = params_hash(&params, &pack.manifest.system_prompt);
        let items = store.items(&ItemFilter::default()).expect("items");
        for name in names {
            let path = dir.path().join(format!("{name}.gguf"));
            std::fs::write(&path, b"x").expect("write");
            let id = store
                .register_local_model(&NewLocalModel {
                    name: name.into(),
                    role: "baseline".into(),
                    path: path.display().to_string(),
                    sha256: "0".repeat(64),
                    size_bytes: 1,
                    architecture: None,
                    parameter_count: None,
                    quantization: None,
                    context_length: None,
                    chat_template: None,
                    verified_mtime: None,
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
                        text: "An answer of ordinary length. ".repeat(30),
                        prompt_tokens: 300,
                        completion_tokens: 160,
                        prompt_ms: 1000.0,
                        generation_ms: 2000.0,
                        finish_reason: "stop".into(),
                        template_hash: "t".into(),
                        n_parallel: 4,
                        engine: "llama.cpp".into(),
                    })
                    .expect("answer");
            }
        }
    }
    let app = App::open(&paths).expect("app");
    let rater = app.create_rater("Bench", "other").expect("rater");
    let input = llm4sweat_desktop::app::StudyInput {
        name: "big".into(),
        category: None,
        limit: Some(ITEMS as i64),
        models: names.iter().map(|s| s.to_string()).collect(),
        rater_ids: vec![rater.id],
        overlap: 1,
        seed: 3,
    };
    let study = app.create_study(&input).expect("study");
    println!(
        "study {:?}: {} items × {} models = {} answers",
        study.name,
        study.items,
        study.models.len(),
        study.items * 2
    );

    let mut open = Vec::new();
    for _ in 0..7 {
        let t = Instant::now();
        let studies = app.list_studies().expect("studies");
        let t1 = t.elapsed();
        let queue = app.rater_queue(rater.id).expect("queue");
        let t2 = t.elapsed();
        let first = app
            .open_item(rater.id, queue[0].assignment_id)
            .expect("item");
        open.push(t.elapsed());
        if std::env::var_os("BENCH_VERBOSE").is_some() {
            println!(
                "list_studies {t1:?}, rater_queue {:?}, open_item {:?}",
                t2 - t1,
                t.elapsed() - t2
            );
        }
        assert!(studies.iter().any(|s| s.items as usize >= ITEMS) && !first.answers.is_empty());
    }
    let queue = app.rater_queue(rater.id).expect("queue");
    let mut autosave = Vec::new();
    let mut submit = Vec::new();
    for (i, entry) in queue.iter().take(50).enumerate() {
        let a = entry.assignment_id;
        let s = (i % 5) as i64 + 1;
        let row = RatingRow {
            accuracy: Some(s),
            appropriateness: Some(s),
            empathy: Some(s),
            ..Default::default()
        };
        let t = Instant::now();
        app.save_rating(rater.id, a, "A", &row).expect("save");
        autosave.push(t.elapsed());
        app.save_rating(rater.id, a, "B", &row).expect("save");
        app.save_preference(rater.id, a, "tie").expect("pref");
        let t = Instant::now();
        app.submit_item(rater.id, a).expect("submit");
        submit.push(t.elapsed());
    }
    println!("| measurement | median | target |");
    println!("|---|---:|---:|");
    println!(
        "| open a study with 5 000 answers (list studies + queue + first item) | {:.1} ms | < 300 ms |",
        median(open).as_secs_f64() * 1e3
    );
    println!(
        "| rating autosave (one answer's scores) | {:.2} ms | < 50 ms |",
        median(autosave).as_secs_f64() * 1e3
    );
    println!(
        "| submit an item | {:.2} ms | < 50 ms |",
        median(submit).as_secs_f64() * 1e3
    );
    // Closing the app checkpoints the WAL, so the copy holds every write.
    drop(app);
    if let Some(keep) = std::env::var_os("BENCH_KEEP_DB") {
        std::fs::copy(&paths.db, keep).expect("keep db");
    }
}
