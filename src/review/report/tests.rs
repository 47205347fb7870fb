use super::*;
use crate::ids::StudyId;
use crate::vocab::{HarmLevel, StudyStatus, Verdict};

fn study() -> StudyRecord {
    StudyRecord {
        id: StudyId(1),
        name: "s".into(),
        status: StudyStatus::Open,
        overlap: 2,
        seed: 42,
        params_hash: String::new(),
        params: crate::inference::SamplingParams::default(),
        system_prompt: String::new(),
        rubric: crate::domain::DomainPack::embedded_default()
            .expect("pack")
            .manifest
            .rubric,
        created_at: "2026-12-01T00:00:00Z".into(),
    }
}

/// A submitted rating; the answer (generation) is identified by item and model.
fn row(rater: &str, item: &str, model: &str, scores: [i64; 3]) -> RatingExportRow {
    let generation = fnv1a(&format!("{item}/{model}")) as i64 & 0xFFFF_FFFF;
    RatingExportRow {
        study: "s".into(),
        rater: rater.into(),
        specialty: if rater.starts_with('d') {
            Specialty::Dermatology
        } else {
            Specialty::Psychology
        },
        item: item.into(),
        category: if item.ends_with('1') {
            "treatment".into()
        } else {
            "diagnosis".into()
        },
        model: model.into(),
        generation_id: GenerationId(generation),
        accuracy: Some(scores[0]),
        appropriateness: Some(scores[1]),
        empathy: Some(scores[2]),
        harm: Some(HarmLevel::None),
        harm_likelihood: None,
        comment: None,
        corrected_answer: None,
        preference: None,
        preferred: false,
        status: AssignmentStatus::Submitted,
        submitted_at: None,
    }
}

fn models(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| (*s).to_owned()).collect()
}

/// No NaN, no infinity, no null anywhere: every figure is a value or a
/// reason.
fn assert_clean_json(r: &Report) {
    let json = serde_json::to_string(r).expect("json");
    assert!(!json.contains("NaN") && !json.contains(":null"), "{json}");
    // It reads back into the same types (floats within serde_json's parsing
    // precision, so compare the structure, not the bits).
    let back: Report = serde_json::from_str(&json).expect("parses back");
    assert_eq!(
        (back.overall.ratings, back.by_category.len()),
        (r.overall.ratings, r.by_category.len())
    );
    assert_eq!(
        back.overall.paired.value().map(Vec::len),
        r.overall.paired.value().map(Vec::len)
    );
}

#[test]
fn no_ratings_gives_reasons_not_numbers() {
    let r = build_report(&study(), &models(&["a", "b"]), &[], Some("b"));
    assert_clean_json(&r);
    assert_eq!(r.overall.ratings, 0);
    let a = &r.overall.models[0].axes[0];
    assert_eq!(a.mean, Computed::NotComputable("no scores".into()));
    let Computed::Value(p) = &r.overall.paired else {
        panic!("paired: {:?}", r.overall.paired)
    };
    assert!(
        matches!(&p[0].wilcoxon, Computed::NotComputable(w) if w.contains("no item was scored for both a and b"))
    );
    assert!(matches!(
        &r.overall.preferences.bradley_terry,
        Computed::NotComputable(_)
    ));
    assert!(
        matches!(&r.overall.agreement[0].icc, Computed::NotComputable(w) if w.contains("0 rater"))
    );
    for text in [render_table(&r), render_html(&r)] {
        assert!(!text.contains("NaN"));
    }
}

#[test]
fn one_rater_one_model_and_a_missing_baseline() {
    let rows = vec![
        row("d1", "q1", "a", [4, 4, 4]),
        row("d1", "q2", "a", [2, 3, 5]),
    ];
    let r = build_report(&study(), &models(&["a"]), &rows, Some("zzz"));
    assert_clean_json(&r);
    assert!(
        matches!(&r.baseline, Computed::NotComputable(w) if w.contains("\"zzz\" is not a model of this study"))
    );
    assert!(
        matches!(&r.overall.paired, Computed::NotComputable(w) if w.starts_with("no baseline"))
    );
    let ag = &r.overall.agreement[0];
    assert!(matches!(&ag.icc, Computed::NotComputable(w) if w.contains("1 rater(s)")));
    assert!(
        matches!(&ag.alpha_ordinal, Computed::NotComputable(w) if w.contains("0 answer(s) scored by two or more"))
    );
    assert!(ag.kappa.is_empty());
    // One model that is its own baseline has nothing to compare with.
    let r = build_report(&study(), &models(&["a"]), &rows, Some("a"));
    assert!(matches!(&r.overall.paired, Computed::NotComputable(w) if w.contains("one model")));
    let html = render_html(&r);
    assert!(
        html.contains("not computable, because"),
        "the reason is shown"
    );
}

#[test]
fn identical_scores_have_zero_spread_and_no_agreement_figure() {
    let mut rows = Vec::new();
    for rater in ["d1", "p1"] {
        for item in ["q1", "q2", "q3"] {
            rows.push(row(rater, item, "a", [3, 3, 3]));
            rows.push(row(rater, item, "b", [3, 3, 3]));
        }
    }
    let r = build_report(&study(), &models(&["a", "b"]), &rows, Some("b"));
    assert_clean_json(&r);
    let a = &r.overall.models[0].axes[0];
    assert_eq!((a.n, a.sd.clone()), (6, Computed::Value(0.0)));
    assert_eq!(
        a.t_ci,
        Computed::Value(Interval95 {
            low: 3.0,
            high: 3.0
        })
    );
    let ag = &r.overall.agreement[1];
    assert!(matches!(&ag.alpha_ordinal, Computed::NotComputable(w) if w.contains("same")));
    assert!(
        matches!(&ag.kappa[0].kappa, Computed::NotComputable(w) if w.contains("one and the same score"))
    );
    assert!(matches!(&ag.icc, Computed::NotComputable(w) if w.contains("no residual variation")));
    let Computed::Value(p) = &r.overall.paired else {
        panic!()
    };
    assert_eq!(p[0].mean_difference, Computed::Value(0.0));
    assert!(matches!(&p[0].wilcoxon, Computed::NotComputable(w) if w.contains("zero")));
}

#[test]
fn no_item_in_common_with_the_baseline() {
    let rows = vec![
        row("d1", "q1", "a", [5, 5, 5]),
        row("d1", "q2", "b", [1, 1, 1]),
        row("d1", "q3", "b", [2, 1, 1]),
    ];
    let r = build_report(&study(), &models(&["a", "b"]), &rows, Some("b"));
    assert_clean_json(&r);
    let Computed::Value(p) = &r.overall.paired else {
        panic!()
    };
    assert_eq!(p[0].items, 0);
    assert_eq!(
        p[0].excluded,
        vec![
            Exclusion {
                reason: "scored for a but not for b".into(),
                items: 1
            },
            Exclusion {
                reason: "scored for b but not for a".into(),
                items: 2
            }
        ]
    );
    assert!(matches!(&p[0].mean_difference, Computed::NotComputable(w) if w.contains("no item")));
}

#[test]
fn figures_are_the_statistics_of_the_right_numbers() {
    // Two raters, three items, two models; rater p1 skips item q3 of model a.
    let rows = vec![
        row("d1", "q1", "a", [5, 4, 4]),
        row("p1", "q1", "a", [4, 4, 5]),
        row("d1", "q1", "b", [3, 3, 2]),
        row("p1", "q1", "b", [2, 3, 3]),
        row("d1", "q2", "a", [4, 5, 4]),
        row("p1", "q2", "a", [4, 4, 4]),
        row("d1", "q2", "b", [4, 2, 3]),
        row("p1", "q2", "b", [3, 2, 2]),
        row("d1", "q3", "a", [2, 3, 3]),
        row("d1", "q3", "b", [1, 2, 2]),
        row("p1", "q3", "b", [2, 2, 1]),
    ];
    let r = build_report(&study(), &models(&["a", "b"]), &rows, Some("b"));
    assert_clean_json(&r);
    // Accuracy of a: 5, 4, 4, 4, 2.
    let acc = &r.overall.models[0].axes[0];
    let d = stats::describe(&[5, 4, 4, 4, 2], bootstrap_seed(42, "a", Axis::Accuracy));
    assert_eq!(acc.mean, Computed::Value(d.mean.expect("mean")));
    assert_eq!(acc.median, Computed::Value(4.0));
    assert_eq!(acc.counts, [0, 1, 0, 3, 1]);
    // Paired accuracy, per-item means over raters: a = 4.5, 4, 2; b = 2.5, 3.5, 1.5.
    let Computed::Value(p) = &r.overall.paired else {
        panic!()
    };
    let expected = stats::paired_comparison(&[(4.5, 2.5), (4.0, 3.5), (2.0, 1.5)]);
    assert_eq!(p[0].axis, Axis::Accuracy);
    assert_eq!(p[0].items, 3);
    assert_eq!(
        p[0].mean_difference,
        Computed::Value(expected.mean_difference.expect("d"))
    );
    let Computed::Value(w) = &p[0].wilcoxon else {
        panic!()
    };
    let ew = expected.wilcoxon.expect("w");
    assert_eq!((w.w_plus, w.w_minus, w.p), (ew.w_plus, ew.w_minus, ew.p));
    // Agreement over the five answers both raters scored.
    let ag = &r.overall.agreement[0];
    assert_eq!((ag.pairable_units, ag.pairable_values), (5, 10));
    let Computed::Value(icc) = &ag.icc else {
        panic!("{:?}", ag.icc)
    };
    assert_eq!((icc.units, icc.raters), (5, 2));
    assert_eq!(ag.kappa.len(), 1);
    assert_eq!(ag.kappa[0].units, 5);
    // Breakdowns: categories and specialties.
    let cats: Vec<&str> = r.by_category.iter().map(|b| b.group.as_str()).collect();
    assert_eq!(cats, ["diagnosis", "treatment"]);
    let specs: Vec<(&str, u32)> = r
        .by_specialty
        .iter()
        .map(|b| (b.group.as_str(), b.section.ratings))
        .collect();
    assert_eq!(specs, [("dermatology", 6), ("psychology", 5)]);
}

#[test]
fn preferences_count_pairs_and_fit_strengths() {
    let mut rows = Vec::new();
    for (k, winner) in ["a", "a", "b", "tie"].iter().enumerate() {
        let item = format!("q{k}");
        for m in ["a", "b"] {
            let mut x = row("d1", &item, m, [3, 3, 3]);
            if *winner == "tie" {
                x.preference = Some(Verdict::Tie);
            } else {
                x.preference = Some(Verdict::Better);
                x.preferred = m == *winner;
            }
            rows.push(x);
        }
    }
    let r = build_report(&study(), &models(&["a", "b"]), &rows, None);
    assert_clean_json(&r);
    assert_eq!(
        r.overall.preferences.pairs,
        vec![PairCount {
            a: "a".into(),
            b: "b".into(),
            a_wins: 2,
            b_wins: 1,
            ties: 1
        }]
    );
    let Computed::Value(bt) = &r.overall.preferences.bradley_terry else {
        panic!()
    };
    assert_eq!(bt.method, "maximum_likelihood");
    // Two models: the MLE share is the score rate, 2.5 / 4.
    let share = *bt.models[0].share.value().expect("share");
    assert!((share - 0.625).abs() < 1e-9, "{share}");
    let html = render_html(&r);
    assert!(html.contains("2 / 1 / 1"), "the matrix cell");
}

#[test]
fn html_escapes_names_and_has_no_script_or_external_resource() {
    let rows = vec![
        row("d1", "q1", "<b>x</b>", [4, 4, 4]),
        row("p1", "q1", "<b>x</b>", [5, 4, 4]),
    ];
    let r = build_report(&study(), &models(&["<b>x</b>"]), &rows, None);
    let html = render_html(&r);
    assert!(!html.contains("<b>x</b>"));
    assert!(html.contains("&lt;b&gt;x&lt;/b&gt;"));
    assert!(!html.contains("<script") && !html.contains("src=") && !html.contains("href="));
    assert!(html.contains("<svg"));
}

#[test]
fn charts_are_standalone_svg_and_png() {
    use super::{ChartFormat, ChartKind, chart_file, chart_svg};
    let mut rows = Vec::new();
    for (k, item) in ["q1", "q2", "q3"].iter().enumerate() {
        for (rater, bump) in [("d1", 0), ("p1", 1)] {
            let mut a = row(rater, item, "a", [4, 4 + bump % 2, 5 - k as i64]);
            let mut b = row(rater, item, "b", [2 + k as i64, 3, 2]);
            a.preference = Some(Verdict::Better);
            b.preference = Some(Verdict::Better);
            a.preferred = k != 2;
            b.preferred = k == 2;
            rows.extend([a, b]);
        }
    }
    let r = build_report(&study(), &models(&["a", "b"]), &rows, Some("b"));
    for kind in [ChartKind::Means, ChartKind::Paired, ChartKind::Strengths] {
        for group in ["", "category:diagnosis", "specialty:psychology"] {
            let svg = chart_svg(&r, group, kind).expect("svg");
            assert!(
                svg.starts_with("<?xml")
                    && svg.contains("<style>")
                    && svg.trim_end().ends_with("</svg>"),
                "{svg}"
            );
            assert_eq!(svg.matches("<svg").count(), 1);
        }
        let png = chart_file(&r, "", kind, ChartFormat::Png).expect("png");
        let image = resvg::tiny_skia::Pixmap::decode_png(&png).expect("a PNG");
        let svg = chart_svg(&r, "", kind).expect("svg");
        let width: f32 = svg
            .split("width=\"")
            .nth(1)
            .and_then(|w| w.split('"').next())
            .and_then(|w| w.parse().ok())
            .expect("width");
        assert_eq!(
            image.width(),
            (width * 2.0).round() as u32,
            "{kind:?} at twice its size"
        );
        // Drawn, not blank: dark pixels (text, ticks) and coloured ones (marks).
        let pixels = image.pixels();
        let dark = pixels
            .iter()
            .filter(|p| p.red() < 100 && p.green() < 100 && p.blue() < 100)
            .count();
        let colour = pixels
            .iter()
            .filter(|p| p.red().abs_diff(p.blue()) > 80 || p.red().abs_diff(p.green()) > 80)
            .count();
        assert!(
            dark > 200 && colour > 50,
            "{kind:?}: {dark} dark and {colour} coloured pixels"
        );
    }
    // No round, an unknown group, a missing baseline: clear refusals.
    let e = chart_svg(&r, "", ChartKind::Rounds).expect_err("no rounds");
    assert!(e.to_string().contains("no retraining round"), "{e}");
    let e = chart_svg(&r, "category:nope", ChartKind::Means).expect_err("unknown group");
    assert!(
        e.to_string().contains("category:diagnosis"),
        "lists the groups: {e}"
    );
    let r = build_report(&study(), &models(&["a", "b"]), &rows, None);
    let e = chart_svg(&r, "", ChartKind::Paired).expect_err("no baseline");
    assert!(e.to_string().contains("no baseline"), "{e}");
}
