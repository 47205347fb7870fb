//! Review-path latencies at the app layer (what each IPC command does), on a
//! real SQLite file: a rating autosave, a submit, and opening a study with
//! 5 000 answers. Run with `cargo bench -p llm4sweat-desktop --bench review`.

use std::time::{Duration, Instant};

use llm4sweat::store::RatingRow;
use llm4sweat::testkit::{self, FakeModels};
use llm4sweat::vocab::{AnswerLabel, ModelRole, Preference, Specialty};
use llm4sweat::workspace::WorkspacePaths;
use llm4sweat_desktop::app::App;

const ITEMS: usize = 2_500;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let paths = WorkspacePaths {
        db: dir.path().join("bench.sqlite3"),
        models_dir: dir.path().join("models"),
    };
    let names = ["bench-model-a", "bench-model-b"];
    let models: Vec<(&str, ModelRole)> = names.iter().map(|n| (*n, ModelRole::Baseline)).collect();
    testkit::workspace_with_answers(
        &paths.db,
        &testkit::pack_with_items(ITEMS),
        FakeModels::LocalIn(dir.path()),
        &models,
        None,
        &|_, _| "An answer of ordinary length. ".repeat(30),
    )
    .expect("fixture");
    let app = App::open(&paths).expect("app");
    let rater = app.create_rater("Bench", Specialty::Other).expect("rater");
    let input = llm4sweat_desktop::app::StudyInput {
        name: "big".into(),
        category: None,
        limit: Some(ITEMS as u32),
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
        app.save_rating(rater.id, a, AnswerLabel::A, &row)
            .expect("save");
        autosave.push(t.elapsed());
        app.save_rating(rater.id, a, AnswerLabel::B, &row)
            .expect("save");
        app.save_preference(rater.id, a, Preference::Tie)
            .expect("pref");
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
