//! The study report over a large study, in memory: 100 000 submitted ratings
//! (11 112 items × 3 models × 3 raters, minus a few), every statistic of
//! `review::report` overall and per category and specialty, then the JSON and
//! the HTML. Reading the rows from SQLite is not included. Run with
//! `cargo bench -p llm4sweat --bench report`.

use std::time::{Duration, Instant};

use llm4sweat::ids::{GenerationId, StudyId};
use llm4sweat::review::report::{build_report, render_html};
use llm4sweat::store::{RatingExportRow, StudyRecord};
use llm4sweat::vocab::{AssignmentStatus, HarmLevel, Specialty, StudyStatus, Verdict};

const RATINGS: usize = 100_000;

fn rows() -> Vec<RatingExportRow> {
    let models = ["tuned", "stock", "other"];
    let raters = [
        ("r1", Specialty::Dermatology),
        ("r2", Specialty::Dermatology),
        ("r3", Specialty::Psychology),
    ];
    let categories = ["diagnosis", "treatment", "psychosocial", "daily_life"];
    let mut state = 1u64;
    let mut next = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) as i64
    };
    let mut out = Vec::with_capacity(RATINGS);
    let mut item = 0usize;
    'outer: loop {
        let winner = next() % 3;
        for (r, (rater, specialty)) in raters.iter().enumerate() {
            for (m, model) in models.iter().enumerate() {
                if out.len() == RATINGS {
                    break 'outer;
                }
                let mut score = |d: i64| (3 - m as i64 + d + next() % 3 - 1).clamp(1, 5);
                out.push(RatingExportRow {
                    study: "bench".into(),
                    rater: (*rater).into(),
                    specialty: *specialty,
                    item: format!("item-{item:05}"),
                    category: categories[item % categories.len()].into(),
                    model: (*model).into(),
                    generation_id: GenerationId((item * 3 + m) as i64),
                    accuracy: Some(score(1)),
                    appropriateness: Some(score(2)),
                    empathy: Some(score(0)),
                    harm: Some(HarmLevel::None),
                    harm_likelihood: None,
                    comment: None,
                    corrected_answer: None,
                    preference: Some(Verdict::Better),
                    preferred: m as i64 == (winner + r as i64) % 3,
                    status: AssignmentStatus::Submitted,
                    submitted_at: None,
                });
            }
        }
        item += 1;
    }
    out
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let rows = rows();
    let study = StudyRecord {
        id: StudyId(1),
        name: "bench".into(),
        status: StudyStatus::Open,
        overlap: 3,
        seed: 7,
        params_hash: String::new(),
        params: llm4sweat::inference::SamplingParams::default(),
        system_prompt: String::new(),
        rubric: llm4sweat::DomainPack::embedded_default()
            .expect("pack")
            .manifest
            .rubric,
        created_at: "2026-12-01T00:00:00Z".into(),
    };
    let models: Vec<String> = ["tuned", "stock", "other"].map(String::from).to_vec();
    let (mut build, mut render) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        let t = Instant::now();
        let report = build_report(&study, &models, &rows, Some("stock"));
        build.push(t.elapsed());
        let t = Instant::now();
        let json = serde_json::to_string(&report).expect("json");
        let html = render_html(&report);
        render.push(t.elapsed());
        assert!(json.len() > 1000 && html.len() > 1000);
    }
    println!(
        "report over {} ratings: statistics {:.3} s, JSON + HTML {:.3} s (median of 3)",
        rows.len(),
        median(build).as_secs_f64(),
        median(render).as_secs_f64()
    );
}
