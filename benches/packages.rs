//! Offline study packages at scale, on real SQLite files: export the
//! packages of 50 raters of a 200-item, 3-model study, then merge 50
//! returned ratings files of 600 ratings each (every rater rated every
//! answer) into the coordinator's workspace.
//! Run with `cargo bench -p llm4sweat --features testkit --bench packages`.

use std::time::Instant;

use llm4sweat::inference::SamplingParams;
use llm4sweat::packages;
use llm4sweat::review::{self, StudySpec};
use llm4sweat::store::{Actor, Store, Table};
use llm4sweat::testkit::{self, FakeModels};
use llm4sweat::vocab::{ModelRole, Specialty};

const ITEMS: usize = 200;
const RATERS: usize = 50;

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("coordinator.sqlite3");
    let pack = testkit::pack_with_items(ITEMS);
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
        &|m, item| format!("An answer of ordinary length by {} to {item}. ", m.id.0).repeat(12),
    )
    .expect("fixture");
    let raters: Vec<_> = (0..RATERS)
        .map(|i| {
            review::create_rater(
                &mut store,
                &format!("rater {i:02}"),
                Specialty::Dermatology,
                &Actor::Cli,
            )
            .expect("rater")
        })
        .collect();
    let study = review::create_study(
        &mut store,
        &StudySpec {
            name: "bench".into(),
            category: None,
            limit: None,
            item_ids: None,
            models: models.iter().map(|(m, _)| (*m).to_owned()).collect(),
            rater_ids: raters.iter().map(|r| r.id).collect(),
            overlap: RATERS as u32,
            seed: 3,
            params: SamplingParams::default(),
            system_prompt: pack.manifest.system_prompt.clone(),
        },
        &pack.manifest.rubric,
        &Actor::Cli,
    )
    .expect("study");
    drop(store);
    let store = Store::open(&db).expect("store");

    let out = dir.path().join("packages");
    std::fs::create_dir_all(&out).expect("dir");
    let t = Instant::now();
    for r in &raters {
        packages::export_study_package(&store, study, r.id, &out.join(format!("{}.zip", r.id)))
            .expect("export");
    }
    let export = t.elapsed();
    drop(store);

    // The raters' work: a copy of the workspace with every answer rated,
    // returned one file per rater.
    let rated = dir.path().join("rated.sqlite3");
    std::fs::copy(&db, &rated).expect("copy");
    let mut copy = Store::open(&rated).expect("copy");
    copy.fill_study_ratings_for_bench(study).expect("ratings");
    let returned = dir.path().join("returned");
    std::fs::create_dir_all(&returned).expect("dir");
    let files: Vec<_> = raters
        .iter()
        .map(|r| {
            let f = returned.join(format!("{}.zip", r.id));
            packages::return_ratings(&copy, study, r.id, &f).expect("return");
            f
        })
        .collect();
    drop(copy);

    let t = Instant::now();
    for f in &files {
        packages::open_package(f).expect("a good file");
    }
    let reading = t.elapsed();
    let mut store = Store::open(&db).expect("store");
    let t = Instant::now();
    let mut added = 0;
    for f in &files {
        added += packages::merge_ratings(&mut store, f, &Actor::Cli)
            .expect("merge")
            .added;
    }
    let merge = t.elapsed();
    let ratings = store.count(Table::Ratings).expect("count");
    assert_eq!(ratings as usize, ITEMS * 3 * RATERS);
    let size: u64 = files
        .iter()
        .map(|f| std::fs::metadata(f).expect("size").len())
        .sum();
    println!(
        "export {RATERS} packages of a {ITEMS}-item, 3-model study: {:.2} s; merge {RATERS} returned files of {} ratings each ({} ratings and preferences added, {:.1} MB of files): {:.2} s, of which opening and checking the files {:.2} s",
        export.as_secs_f64(),
        ITEMS * 3,
        added,
        size as f64 / 1e6,
        merge.as_secs_f64(),
        reading.as_secs_f64()
    );
}
