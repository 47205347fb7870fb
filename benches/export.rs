//! Reading and exporting a large study from a real SQLite workspace:
//!
//! - the full report (`review::study_report`: rows read from SQLite, every
//!   statistic overall and per category and specialty, then JSON and HTML)
//!   of a study of 100 008 submitted ratings (11 112 items × 3 models × 3
//!   raters);
//! - the tidy CSV export (`review::export_ratings_csv`, what
//!   `llm4sweat export ratings --format tidy` runs) of a study of 1 000 080
//!   ratings (11 112 items × 3 models × 30 raters), against the `sqlite3`
//!   command-line tool's own CSV export of the same query, alternated in the
//!   same run.
//!
//! Run with `scripts/bench-export.sh` (it installs `sqlite3` when missing).

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use llm4sweat::DomainPack;
use llm4sweat::inference::SamplingParams;
use llm4sweat::review::{self, StudySpec};
use llm4sweat::store::{Actor, RATING_EXPORT_SQL, Store};
use llm4sweat::testkit::{self, FakeModels};
use llm4sweat::vocab::{ModelRole, Specialty};

const ITEMS: usize = 11_112;
const REPEATS: usize = 3;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn study(
    store: &mut Store,
    pack: &DomainPack,
    name: &str,
    raters: &[llm4sweat::store::RaterRecord],
) -> llm4sweat::ids::StudyId {
    let id = review::create_study(
        store,
        &StudySpec {
            name: name.into(),
            category: None,
            limit: None,
            item_ids: None,
            models: ["tuned", "stock", "other"].map(String::from).to_vec(),
            rater_ids: raters.iter().map(|r| r.id).collect(),
            overlap: raters.len() as u32,
            seed: 7,
            params: SamplingParams::default(),
            system_prompt: pack.manifest.system_prompt.clone(),
        },
        &pack.manifest.rubric,
        &Actor::Cli,
    )
    .expect("study");
    store.fill_study_ratings_for_bench(id).expect("ratings");
    id
}

fn sqlite3_export(db: &Path, study: i64, out: &Path) -> Duration {
    let sql = RATING_EXPORT_SQL.replace("?1", &study.to_string());
    let t = Instant::now();
    let status = Command::new("sqlite3")
        .args(["-csv", "-header"])
        .arg(db)
        .arg(sql)
        .stdout(File::create(out).expect("out"))
        .status()
        .expect("sqlite3 (scripts/bench-export.sh installs it)");
    let took = t.elapsed();
    assert!(status.success(), "sqlite3 failed");
    took
}

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("bench.sqlite3");
    let pack = testkit::pack_with_items(ITEMS);
    let t = Instant::now();
    let models = [
        ("tuned", ModelRole::Candidate),
        ("stock", ModelRole::Baseline),
        ("other", ModelRole::Candidate),
    ];
    let (mut store, _) = testkit::workspace_with_answers(
        &db,
        &pack,
        FakeModels::Remote,
        &models,
        None,
        &|m, item| format!("Answer of model {} to item {item}.", m.id.0),
    )
    .expect("fixture");
    let raters: Vec<_> = (0..33)
        .map(|i| {
            let specialty = if i % 3 == 2 {
                Specialty::Psychology
            } else {
                Specialty::Dermatology
            };
            review::create_rater(&mut store, &format!("rater {i:02}"), specialty, &Actor::Cli)
                .expect("rater")
        })
        .collect();
    let small = study(&mut store, &pack, "report", &raters[..3]);
    let large = study(&mut store, &pack, "export", &raters[3..]);
    println!("fixture: {:.1} s", t.elapsed().as_secs_f64());

    // The report, from the SQLite file.
    let record = store.study(small).expect("study");
    let mut read = Vec::new();
    let mut full = Vec::new();
    let mut rows = 0;
    for _ in 0..REPEATS {
        let t = Instant::now();
        rows = store.study_rating_rows(small).expect("rows").len();
        read.push(t.elapsed());
        let t = Instant::now();
        let report = review::report::study_report(&store, &record, None).expect("report");
        let json = serde_json::to_string(&report).expect("json");
        let html = review::report::render_html(&report);
        full.push(t.elapsed());
        assert!(json.len() > 1000 && html.len() > 1000);
    }
    println!(
        "report over {rows} ratings: read from SQLite {:.3} s; full report (read, statistics, JSON, HTML) {:.3} s (median of {REPEATS})",
        median(read).as_secs_f64(),
        median(full).as_secs_f64()
    );

    // The tidy CSV export against sqlite3's, alternated: A B B A B A.
    let ours_path = dir.path().join("ours.csv");
    let theirs_path = dir.path().join("sqlite3.csv");
    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    let mut exported = 0;
    for round in 0..REPEATS {
        let mut run_ours = || {
            let t = Instant::now();
            let mut out = BufWriter::new(File::create(&ours_path).expect("out"));
            exported = review::export_ratings_csv(&store, large, &mut out).expect("export");
            drop(out);
            t.elapsed()
        };
        if round % 2 == 0 {
            ours.push(run_ours());
            theirs.push(sqlite3_export(&db, large.0, &theirs_path));
        } else {
            theirs.push(sqlite3_export(&db, large.0, &theirs_path));
            ours.push(run_ours());
        }
    }
    let size = |p: &Path| std::fs::metadata(p).expect("size").len() as f64 / 1e6;
    let (a, b) = (median(ours).as_secs_f64(), median(theirs).as_secs_f64());
    println!(
        "tidy CSV export of {exported} ratings: llm4sweat {a:.2} s ({:.0} MB), sqlite3 -csv {b:.2} s ({:.0} MB); llm4sweat at {:.0} % of sqlite3's speed (median of {REPEATS}, alternated)",
        size(&ours_path),
        size(&theirs_path),
        100.0 * b / a
    );
}
