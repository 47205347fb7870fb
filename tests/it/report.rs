//! `llm4sweat report` on a generated three-rater study: every statistic in
//! the JSON, the table and the HTML, and the bad inputs.

use llm4sweat::DomainPack;
use llm4sweat::inference::SamplingParams;
use llm4sweat::review::{self, StudySpec};
use llm4sweat::store::{Actor, RatingRow};
use llm4sweat::testkit::{self, FakeModels};
use llm4sweat::vocab::{ModelRole, Preference, Specialty};
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
