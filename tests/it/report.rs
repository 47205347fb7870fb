//! `llm4sweat report` on a generated three-rater study: every statistic in
//! the JSON, the table and the HTML, and the bad inputs.

use llm4sweat::DomainPack;
use llm4sweat::inference::SamplingParams;
use llm4sweat::review::{self, StudySpec};
use llm4sweat::store::{Actor, RatingRow};
use llm4sweat::testkit::{self, FakeModels};
use llm4sweat::vocab::{AssignmentStatus, ModelRole, Preference, Specialty};
use serde_json::Value;

use crate::util::Workspace;

const MODELS: [(&str, ModelRole); 3] = [
    ("tuned", ModelRole::Candidate),
    ("stock", ModelRole::Baseline),
    ("other", ModelRole::Candidate),
];

/// Commas, quotes, a newline, a tab, non-ASCII text and a formula-like start.
const HOSTILE_COMMENT: &str = "=1+1, \"see a doctor\",\n\tthen rest; naïve résumé 汗 😅";

/// A study of 10 items × 3 models rated by three raters (overlap 3): the
/// tuned model scores about one point above the stock one, with noise.
fn three_rater_study(ws: &Workspace) {
    let pack = DomainPack::embedded_default().expect("pack");
    let (mut store, models) = testkit::workspace_with_answers(
        &ws.db(),
        &pack,
        FakeModels::Remote,
        &MODELS,
        Some(10),
        &|m, item| format!("answer of model {} to item {item}", m.id.0),
    )
    .expect("fixture");
    let raters: Vec<_> = [
        ("Dr. Ames", Specialty::Dermatology),
        ("Dr. Baum", Specialty::Dermatology),
        ("Dr. Cole", Specialty::Psychology),
    ]
    .iter()
    .map(|(n, s)| review::create_rater(&mut store, n, *s, &Actor::Cli).expect("rater"))
    .collect();
    review::create_study(
        &mut store,
        &StudySpec {
            name: "three raters".into(),
            category: None,
            limit: Some(10),
            item_ids: None,
            models: MODELS.iter().map(|(m, _)| (*m).to_owned()).collect(),
            rater_ids: raters.iter().map(|r| r.id).collect(),
            overlap: 3,
            seed: 99,
            params: SamplingParams::default(),
            system_prompt: pack.manifest.system_prompt.clone(),
        },
        &pack.manifest.rubric,
        &Actor::Cli,
    )
    .expect("study");
    let base = |model_id: i64| match models.iter().position(|m| m.id.0 == model_id) {
        Some(0) => 4,
        Some(1) => 3,
        _ => 2,
    };
    let mut state = 7u64;
    for (k, r) in raters.iter().enumerate() {
        for entry in review::queue(&store, r.id).expect("queue") {
            let item = review::blinded_item(&store, r.id, entry.assignment_id).expect("item");
            let mut best = (i64::MIN, None);
            for a in &item.answers {
                let model_id: i64 = a
                    .text
                    .split(' ')
                    .nth(3)
                    .and_then(|t| t.parse().ok())
                    .expect("the model id in the answer");
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1);
                let noise = ((state >> 33) % 3) as i64 - 1;
                let s = |d: i64| (base(model_id) + noise + d + k as i64 % 2).clamp(1, 5);
                let rating = RatingRow {
                    accuracy: Some(s(0)),
                    appropriateness: Some(s(1)),
                    empathy: Some(s(-1)),
                    harm: Some(llm4sweat::vocab::HarmLevel::None),
                    // Text that CSV readers get wrong when quoting is wrong.
                    comment: (k == 0).then(|| HOSTILE_COMMENT.to_owned()),
                    ..Default::default()
                };
                review::save_rating(&mut store, r.id, entry.assignment_id, a.label, &rating)
                    .expect("rate");
                if s(0) > best.0 {
                    best = (s(0), Some(a.label));
                }
            }
            let pref = Preference::better(best.1.expect("an answer"));
            review::save_preference(&mut store, r.id, entry.assignment_id, pref).expect("pref");
            review::submit(&mut store, r.id, entry.assignment_id).expect("submit");
        }
    }
}

fn value(v: &Value) -> f64 {
    v["value"]
        .as_f64()
        .unwrap_or_else(|| panic!("a value, got {v}"))
}

#[test]
fn report_gives_every_statistic_for_a_three_rater_study() {
    let ws = Workspace::new();
    three_rater_study(&ws);
    let json = ws.ok(&["report", "--study", "three raters", "--format", "json"]);
    assert!(!json.contains(":null") && !json.contains("NaN"), "{json}");
    let r: Value = serde_json::from_str(&json).expect("report JSON");
    assert_eq!(r["schema"], "llm4sweat.report/1");
    assert_eq!(
        r["baseline"]["value"], "stock",
        "the baseline-role model by default"
    );
    let o = &r["overall"];
    assert_eq!(
        (
            o["ratings"].as_u64(),
            o["items"].as_u64(),
            o["raters"].as_u64()
        ),
        (Some(90), Some(10), Some(3))
    );
    for m in o["models"].as_array().unwrap() {
        for a in m["axes"].as_array().unwrap() {
            assert_eq!(a["n"], 30);
            for key in ["mean", "median", "sd", "share_high"] {
                value(&a[key]);
            }
            for key in ["t_ci", "bootstrap_ci"] {
                let (lo, hi) = (
                    a[key]["value"]["low"].as_f64().unwrap(),
                    a[key]["value"]["high"].as_f64().unwrap(),
                );
                assert!(lo <= value(&a["mean"]) && value(&a["mean"]) <= hi, "{a}");
            }
        }
    }
    let paired = o["paired"]["value"].as_array().expect("paired");
    assert_eq!(paired.len(), 6, "two models × three axes");
    let tuned_acc = &paired[0];
    assert_eq!(
        (tuned_acc["model"].as_str(), tuned_acc["axis"].as_str()),
        (Some("tuned"), Some("accuracy"))
    );
    assert_eq!(tuned_acc["items"], 10);
    assert!(value(&tuned_acc["mean_difference"]) > 0.5, "{tuned_acc}");
    let w = &tuned_acc["wilcoxon"]["value"];
    assert!(
        w["p"].as_f64().unwrap() < 0.05
            && w["w_plus"].as_f64().unwrap() > w["w_minus"].as_f64().unwrap(),
        "{w}"
    );
    let bt = &o["preferences"]["bradley_terry"]["value"];
    assert!(bt["log_likelihood"].as_f64().unwrap() < 0.0);
    let shares: f64 = bt["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| value(&m["share"]))
        .sum();
    assert!((shares - 1.0).abs() < 1e-9);
    assert!(!o["preferences"]["pairs"].as_array().unwrap().is_empty());
    for ag in o["agreement"].as_array().unwrap() {
        value(&ag["alpha_ordinal"]);
        value(&ag["alpha_interval"]);
        let icc = &ag["icc"]["value"];
        assert_eq!(
            (icc["units"].as_u64(), icc["raters"].as_u64()),
            (Some(30), Some(3)),
            "{ag}"
        );
        assert_eq!(
            ag["kappa"].as_array().unwrap().len(),
            3,
            "three pairs of raters"
        );
        value(&ag["kappa"][0]["kappa"]);
    }
    let specialties: Vec<&str> = r["by_specialty"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["group"].as_str().unwrap())
        .collect();
    assert_eq!(specialties, ["dermatology", "psychology"]);
    let psych = &r["by_specialty"][1]["section"]["agreement"][0];
    assert!(
        psych["icc"]["not_computable"]
            .as_str()
            .unwrap()
            .contains("1 rater(s)"),
        "{psych}"
    );
    assert!(!r["by_category"].as_array().unwrap().is_empty());
    assert!(r["methods"].as_str().unwrap().contains("Wilcoxon"));

    // The same report twice is the same, byte for byte.
    assert_eq!(
        ws.ok(&["report", "--study", "three raters", "--format", "json"]),
        json
    );

    let table = ws.ok(&["report", "--study", "three raters"]);
    assert!(
        table.contains("Baseline: stock")
            && table.contains("ICC(2,1)")
            && table.contains("Bradley–Terry"),
        "{table}"
    );

    let html_path = ws.path("report.html");
    ws.ok(&[
        "report",
        "--study",
        "three raters",
        "--format",
        "html",
        "--out",
        html_path.to_str().unwrap(),
    ]);
    let html = std::fs::read_to_string(&html_path).expect("html");
    let _ = std::fs::copy(&html_path, "/tmp/report.html");
    let _ = std::fs::write("/tmp/report.txt", &table);
    let _ = std::fs::write("/tmp/report.json", &json);
    assert!(
        html.starts_with("<!DOCTYPE html>") && html.matches("<svg").count() >= 3,
        "charts"
    );
    for fetch in ["<script", " src=", "href=", "url(", "@import"] {
        assert!(!html.contains(fetch), "the report loads nothing: {fetch}");
    }
    assert!(html.contains("Methods") && html.contains("Dr. Cole"));
}

#[test]
fn report_explains_what_it_cannot_compute() {
    let ws = Workspace::new();
    three_rater_study(&ws);
    // A baseline that is not in the study: not computable, in every format.
    let json = ws.ok(&["report", "--format", "json", "--baseline", "nope"]);
    let r: Value = serde_json::from_str(&json).expect("json");
    let why = r["overall"]["paired"]["not_computable"]
        .as_str()
        .expect("reason");
    assert!(
        why.contains("\"nope\" is not a model of this study"),
        "{why}"
    );
    let table = ws.ok(&["report", "--baseline", "nope"]);
    assert!(
        table.contains("not computable, because no baseline"),
        "{table}"
    );
    let html = ws.ok(&["report", "--baseline", "nope", "--format", "html"]);
    assert!(html.contains("not a model of this study"));
    // An unknown study is an error that lists the studies.
    let out = ws.run(&["report", "--study", "missing"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no study named \"missing\""));
    // A reader that goes away early is no panic.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_llm4sweat"))
        .args([
            "--db",
            ws.db().to_str().unwrap(),
            "report",
            "--format",
            "html",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// Renders `file` in headless Chromium (Debian's package, installed by
/// scripts/install-deps.sh) with every host name unresolvable, and returns the
/// DOM it built and the console messages and network errors it logged.
fn render_in_chromium(file: &std::path::Path) -> (String, Vec<String>) {
    let out = std::process::Command::new("chromium")
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=3000",
            "--dump-dom",
        ])
        .arg(format!("file://{}", file.display()))
        .output()
        .expect("chromium runs (scripts/install-deps.sh installs it)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let problems = stderr
        .lines()
        .filter(|l| l.contains(":CONSOLE") || l.contains("net::ERR") || l.contains("Refused to"))
        .map(str::to_owned)
        .collect();
    (String::from_utf8_lossy(&out.stdout).into_owned(), problems)
}

#[test]
fn the_html_report_renders_in_a_browser_offline_without_console_errors() {
    let ws = Workspace::new();
    three_rater_study(&ws);
    let html = ws.path("report.html");
    ws.ok(&[
        "report",
        "--format",
        "html",
        "--out",
        html.to_str().unwrap(),
    ]);
    let (dom, problems) = render_in_chromium(&html);
    assert!(
        problems.is_empty(),
        "console messages or network errors: {problems:?}"
    );
    assert!(
        dom.matches("<svg").count() >= 4,
        "the charts are in the DOM"
    );
    assert!(
        dom.matches("<circle").count() >= 9,
        "a mean marker per model and axis"
    );
    assert!(dom.contains("Krippendorff"), "the methods paragraph");

    // The check itself can fail: a page with a script error and a fetch shows both.
    let bad = ws.path("bad.html");
    std::fs::write(
        &bad,
        "<!DOCTYPE html><html><body><img src=\"http://example.invalid/x.png\"><script>console.error('boom')</script></body></html>",
    )
    .unwrap();
    let (_, problems) = render_in_chromium(&bad);
    assert!(problems.iter().any(|l| l.contains("boom")), "{problems:?}");
}

#[test]
fn ratings_exports_round_trip_through_python_csv_and_pandas() {
    let ws = Workspace::new();
    three_rater_study(&ws);
    let (tidy, wide, json) = (
        ws.path("ratings.csv"),
        ws.path("wide.csv"),
        ws.path("ratings.json"),
    );
    for (format, path) in [("tidy", &tidy), ("wide", &wide), ("json", &json)] {
        ws.ok(&[
            "export",
            "ratings",
            "--format",
            format,
            "--out",
            path.to_str().unwrap(),
        ]);
    }
    for book in [
        "ratings.codebook.csv",
        "wide.codebook.csv",
        "ratings.codebook.csv",
    ] {
        assert!(ws.path(book).is_file(), "{book} beside the export");
    }
    let python = std::env::var("LLM4SWEAT_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = r#"
import csv, json, sys
import pandas as pd
tidy, wide, js, tidy_book, wide_book, hostile = sys.argv[1:7]
rows = list(csv.DictReader(open(tidy, newline="", encoding="utf-8")))
ref = json.load(open(js, encoding="utf-8"))
assert len(rows) == len(ref) == 90, (len(rows), len(ref))
for r, j in zip(rows, ref):
    for k, v in j.items():
        want = "" if v is None else ("true" if v is True else "false" if v is False else str(v))
        assert r[k] == want, (k, r[k], want)
assert sum(r["comment"] == hostile for r in rows) == 30
df = pd.read_csv(tidy, keep_default_na=False, dtype=str)
assert list(df.columns) == list(rows[0].keys())
assert df["comment"].tolist() == [r["comment"] for r in rows]
num = pd.read_csv(tidy)
assert abs(num["accuracy"].mean() - sum(int(r["accuracy"]) for r in rows) / 90) < 1e-12
assert len(pd.read_json(js)) == 90
w = pd.read_csv(wide)
assert len(w) == 30 and list(w.columns[:4]) == ["study", "item", "category", "model"]
assert len(w.columns) == 4 + 3 * 3
first = rows[0]
cell = w[(w["item"] == first["item"]) & (w["model"] == first["model"])][first["rater"] + " | accuracy"]
assert int(cell.iloc[0]) == int(first["accuracy"])
for path, data in [(tidy_book, df), (wide_book, w)]:
    book = pd.read_csv(path)
    assert list(book.columns) == ["column", "type", "meaning", "allowed_values"]
    assert book["column"].tolist() == list(data.columns), (book["column"].tolist(), list(data.columns))
print("ok")
"#;
    let out = std::process::Command::new(&python)
        .arg("-c")
        .arg(script)
        .args([
            &tidy,
            &wide,
            &json,
            &ws.path("ratings.codebook.csv"),
            &ws.path("wide.codebook.csv"),
        ])
        .arg(HOSTILE_COMMENT)
        .output()
        .unwrap_or_else(|e| panic!("{python} (scripts/python-env.sh makes it): {e}"));
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Two evaluated rounds (stock → stock-r1 → stock-r2), each study rated by
/// two raters with every round one point better than its base: the report
/// of any study lists both rounds, each compared with its own base model,
/// and draws the trend.
#[test]
fn report_follows_each_evaluated_round() {
    use llm4sweat::rounds::{self, DatasetSummary, RoundConfig, SelectionRule};
    use llm4sweat::store::NewRound;

    let ws = Workspace::new();
    let pack = DomainPack::embedded_default().expect("pack");
    let lineage = [
        ("stock", ModelRole::Baseline),
        ("stock-r1", ModelRole::Candidate),
        ("stock-r2", ModelRole::Candidate),
    ];
    let (mut store, models) = testkit::workspace_with_answers(
        &ws.db(),
        &pack,
        FakeModels::Remote,
        &lineage,
        None,
        &|m, item| format!("answer of model {} to item {item}", m.id.0),
    )
    .expect("fixture");
    let raters: Vec<_> = [
        ("Dr. Ames", Specialty::Dermatology),
        ("Dr. Cole", Specialty::Psychology),
    ]
    .iter()
    .map(|(n, s)| review::create_rater(&mut store, n, *s, &Actor::Cli).expect("rater"))
    .collect();
    for number in 1..=2i64 {
        let (base, model) = (&models[number as usize - 1], &models[number as usize]);
        let round = store
            .create_round(
                &NewRound {
                    base_model_id: base.id,
                    seed: 1,
                    config: RoundConfig {
                        val_fraction: 0.1,
                        selection: SelectionRule::default(),
                        near_duplicate_jaccard: 0.5,
                        pack: "hyperhidrosis".into(),
                        system_prompt: pack.manifest.system_prompt.clone(),
                        training_system_prompt: None,
                        sources: None,
                    },
                    dataset_hash: format!("round {number}"),
                    summary: DatasetSummary::default(),
                    examples: Vec::new(),
                },
                &Actor::Cli,
            )
            .expect("round");
        store
            .finish_round(round.id, model.id, base.id, None, &Actor::Cli)
            .expect("trained");
        let mut spec = rounds::evaluation_spec(
            &store,
            number,
            None,
            raters.iter().map(|r| r.id).collect(),
            2,
            number as u64,
        )
        .expect("spec");
        spec.limit = Some(8);
        rounds::open_evaluation(
            &mut store,
            number,
            &spec,
            &pack.manifest.rubric,
            &Actor::Cli,
        )
        .expect("evaluation study");
        // Each model scores 2, 3, 4 by its place in the lineage, ± 1.
        let mut state = number as u64;
        for r in &raters {
            let queue = review::queue(&store, r.id).expect("queue");
            for entry in queue
                .iter()
                .filter(|e| e.status != AssignmentStatus::Submitted)
            {
                let item = review::blinded_item(&store, r.id, entry.assignment_id).expect("item");
                let mut best = (i64::MIN, None);
                for a in &item.answers {
                    let id: i64 = a
                        .text
                        .split(' ')
                        .nth(3)
                        .and_then(|t| t.parse().ok())
                        .expect("id");
                    let place = models.iter().position(|m| m.id.0 == id).expect("model") as i64;
                    state = state
                        .wrapping_mul(6_364_136_223_846_793_005)
                        .wrapping_add(1);
                    let s = (2 + place + ((state >> 33) % 3) as i64 - 1).clamp(1, 5);
                    let rating = RatingRow {
                        accuracy: Some(s),
                        appropriateness: Some(s),
                        empathy: Some(s),
                        harm: Some(llm4sweat::vocab::HarmLevel::None),
                        ..Default::default()
                    };
                    review::save_rating(&mut store, r.id, entry.assignment_id, a.label, &rating)
                        .expect("rate");
                    if place > best.0 {
                        best = (place, Some(a.label));
                    }
                }
                let pref = Preference::better(best.1.expect("an answer"));
                review::save_preference(&mut store, r.id, entry.assignment_id, pref).expect("pref");
                review::submit(&mut store, r.id, entry.assignment_id).expect("submit");
            }
        }
    }
    drop(store);

    let json = ws.ok(&[
        "report",
        "--study",
        "Round 1 evaluation",
        "--format",
        "json",
    ]);
    assert!(!json.contains(":null") && !json.contains("NaN"), "{json}");
    let r: Value = serde_json::from_str(&json).expect("report JSON");
    let rounds = r["by_round"].as_array().expect("by_round");
    assert_eq!(rounds.len(), 2, "{}", r["by_round"]);
    for (k, round) in rounds.iter().enumerate() {
        let (model, base) = (lineage[k + 1].0, lineage[k].0);
        assert_eq!(round["round"], k as i64 + 1);
        assert_eq!(round["study"], format!("Round {} evaluation", k + 1));
        assert_eq!(
            (
                round["model"]["value"].as_str(),
                round["base_model"]["value"].as_str()
            ),
            (Some(model), Some(base))
        );
        let s = &round["section"];
        assert_eq!(
            (s["items"].as_u64(), s["raters"].as_u64()),
            (Some(8), Some(2))
        );
        let paired = s["paired"]["value"]
            .as_array()
            .expect("paired against the base");
        let accuracy = paired
            .iter()
            .find(|p| p["model"] == model && p["axis"] == "accuracy")
            .expect("the round's model against its base");
        assert_eq!(accuracy["baseline"], base);
        let d = value(&accuracy["mean_difference"]);
        assert!(
            (0.5..=1.5).contains(&d),
            "round {} improves by about one point: {d}",
            k + 1
        );
    }
    // A report built before any round was evaluated has none; the study
    // named in the report does not change which rounds are listed.
    let again: Value = serde_json::from_str(&ws.ok(&[
        "report",
        "--study",
        "Round 2 evaluation",
        "--format",
        "json",
    ]))
    .expect("json");
    assert_eq!(again["by_round"], r["by_round"]);

    let html = ws.ok(&[
        "report",
        "--study",
        "Round 1 evaluation",
        "--format",
        "html",
    ]);
    // Every chart as SVG and PNG, per group and round, and the trend.
    let charts = ws.path("charts");
    let charts_arg = charts.to_str().expect("utf-8 path");
    ws.ok(&[
        "report",
        "--study",
        "Round 1 evaluation",
        "--format",
        "json",
        "--out",
        ws.path("r.json").to_str().expect("utf-8"),
        "--charts",
        charts_arg,
    ]);
    for name in [
        "rounds",
        "means-all",
        "paired-all",
        "strengths-all",
        "means-round_1",
        "paired-round_2",
        "means-specialty_psychology",
    ] {
        for ext in ["svg", "png"] {
            let bytes = std::fs::read(charts.join(format!("{name}.{ext}")))
                .unwrap_or_else(|e| panic!("{name}.{ext}: {e}"));
            match ext {
                "png" => assert!(
                    bytes.starts_with(b"\x89PNG\r\n\x1a\n") && bytes.len() > 2000,
                    "{name}.png"
                ),
                _ => assert!(
                    String::from_utf8(bytes).expect("utf-8").contains("<svg"),
                    "{name}.svg"
                ),
            }
        }
    }
    if let Some(out) = std::env::var_os("REPORT_CHARTS_OUT") {
        std::fs::copy(charts.join("rounds.png"), out).expect("copy the trend chart");
    }
    // To look at it: REPORT_HTML_OUT=FILE.
    if let Some(out) = std::env::var_os("REPORT_HTML_OUT") {
        std::fs::write(out, &html).expect("write the HTML");
    }
    assert!(
        html.contains("<h2>By round</h2>") && html.contains("round 2</text>"),
        "the trend chart"
    );
    assert!(html.contains("Round 2 · stock-r2 against stock-r1"));
    let table = ws.ok(&[
        "report",
        "--study",
        "Round 1 evaluation",
        "--format",
        "table",
    ]);
    assert!(
        table.contains(
            "== Round 2: study \"Round 2 evaluation\", stock-r2 against its base stock-r1 =="
        ),
        "{table}"
    );
}

/// The demo study (`llm4sweat demo`: 6 items, the candidate against the
/// baseline), once three raters have rated it: the JSON report has every
/// statistic, none of them "not computable".
#[test]
fn report_on_the_rated_demo_study_has_every_statistic() {
    let ws = Workspace::new();
    let pack = DomainPack::embedded_default().expect("pack");
    let mut store = llm4sweat::Store::open(&ws.db()).expect("store");
    store.load_pack(&pack, &Actor::Cli).expect("pack");
    let models = testkit::register_fake_models(
        &mut store,
        FakeModels::Remote,
        &[
            ("candidate", ModelRole::Candidate),
            ("baseline", ModelRole::Baseline),
        ],
    )
    .expect("models");
    let study = review::ensure_demo_study(&mut store, &pack, "candidate", "baseline", &Actor::Cli)
        .expect("demo")
        .expect("created");
    let items = store.study_item_ids(study).expect("items");
    let demo_params = store.study(study).expect("study").params;
    testkit::store_answers(
        &mut store,
        &models,
        &items,
        &demo_params,
        &pack.manifest.system_prompt,
        &|m, item| format!("answer of model {} to item {item}", m.id.0),
    )
    .expect("answers");
    let mut state = 11u64;
    for (k, (name, specialty)) in [
        ("Dr. Ames", Specialty::Dermatology),
        ("Dr. Baum", Specialty::Dermatology),
        ("Dr. Cole", Specialty::Psychology),
    ]
    .into_iter()
    .enumerate()
    {
        // Raters who join later are assigned the open demo study.
        let r = review::create_rater(&mut store, name, specialty, &Actor::Cli).expect("rater");
        for entry in review::queue(&store, r.id).expect("queue") {
            let item = review::blinded_item(&store, r.id, entry.assignment_id).expect("item");
            let mut best = (i64::MIN, None);
            for a in &item.answers {
                let id: i64 = a
                    .text
                    .split(' ')
                    .nth(3)
                    .and_then(|t| t.parse().ok())
                    .expect("id");
                let good = i64::from(id == models[0].id.0);
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1);
                let s = |d: i64| {
                    (2 + 2 * good + ((state >> (33 + d)) % 2) as i64 + (k as i64 % 2)).clamp(1, 5)
                };
                let rating = RatingRow {
                    accuracy: Some(s(0)),
                    appropriateness: Some(s(1)),
                    empathy: Some(s(2)),
                    harm: Some(llm4sweat::vocab::HarmLevel::None),
                    ..Default::default()
                };
                review::save_rating(&mut store, r.id, entry.assignment_id, a.label, &rating)
                    .expect("rate");
                if s(0) > best.0 {
                    best = (s(0), Some(a.label));
                }
            }
            let pref = Preference::better(best.1.expect("an answer"));
            review::save_preference(&mut store, r.id, entry.assignment_id, pref).expect("pref");
            review::submit(&mut store, r.id, entry.assignment_id).expect("submit");
        }
    }
    drop(store);
    let json = ws.ok(&["report", "--format", "json"]);
    let r: Value = serde_json::from_str(&json).expect("JSON");
    // Over the whole study every figure is computed (one category's single
    // item, by contrast, has no interval: that is the breakdowns' business).
    let overall = r["overall"].to_string();
    assert!(
        !overall.contains("not_computable"),
        "every figure computed: {overall}"
    );

    assert_eq!(r["study"]["name"], "Demo study");
    let o = &r["overall"];
    assert_eq!(
        (
            o["items"].as_u64(),
            o["raters"].as_u64(),
            o["ratings"].as_u64()
        ),
        (Some(6), Some(3), Some(36))
    );
    let paired = o["paired"]["value"].as_array().expect("paired");
    assert_eq!(
        paired.len(),
        3,
        "the candidate against the baseline on each axis"
    );
    for p in paired {
        assert!(value(&p["mean_difference"]) > 1.0, "{p}");
        assert_eq!(p["items"], 6);
    }
    assert!(o["preferences"]["bradley_terry"]["value"]["log_likelihood"].is_number());
    for a in o["agreement"].as_array().expect("agreement") {
        assert_eq!(
            a["kappa"].as_array().map(Vec::len),
            Some(3),
            "κ for each pair of the three raters"
        );
        assert!(a["icc"]["value"]["icc_average"].is_number());
    }
}
