//! The report as plain-text tables for a terminal.

use std::fmt::Write as _;

use super::{Computed, Interval95, Report, Section};

fn num(c: &Computed<f64>, digits: usize) -> String {
    match c {
        Computed::Value(v) => format!("{v:.digits$}"),
        Computed::NotComputable(_) => "n/c".into(),
    }
}

fn ci(c: &Computed<Interval95>, digits: usize) -> String {
    match c {
        Computed::Value(i) => format!("[{:.digits$}, {:.digits$}]", i.low, i.high),
        Computed::NotComputable(_) => "n/c".into(),
    }
}

fn section(out: &mut String, s: &Section, reasons: &mut Vec<String>) {
    let _ = writeln!(
        out,
        "{} ratings, {} items, {} raters\n",
        s.ratings, s.items, s.raters
    );
    let _ = writeln!(
        out,
        "{:<28} {:<16} {:>4} {:>6} {:>6} {:>6} {:>6}  {:<16} {:<16}",
        "model", "axis", "n", "mean", "median", "sd", "≥4", "95% t-CI", "95% bootstrap"
    );
    for m in &s.models {
        for a in &m.axes {
            let _ = writeln!(
                out,
                "{:<28} {:<16} {:>4} {:>6} {:>6} {:>6} {:>6}  {:<16} {:<16}",
                truncate(&m.model, 28),
                a.axis.as_str(),
                a.n,
                num(&a.mean, 2),
                num(&a.median, 1),
                num(&a.sd, 2),
                num(&a.share_high, 2),
                ci(&a.t_ci, 2),
                ci(&a.bootstrap_ci, 2)
            );
            // The first reason only: without scores, "needs two" says nothing more.
            if let Some(Computed::NotComputable(r)) = [&a.mean, &a.sd]
                .into_iter()
                .find(|c| matches!(c, Computed::NotComputable(_)))
            {
                note(reasons, format!("{} {}: {r}", m.model, a.axis.as_str()));
            }
        }
    }
    let _ = writeln!(out);
    match &s.paired {
        Computed::Value(rows) => {
            let _ = writeln!(
                out,
                "{:<28} {:<16} {:>5} {:>7} {:<18} {:>7} {:>7} {:>7} {:>8} {:<11}",
                "paired vs baseline",
                "axis",
                "items",
                "diff",
                "95% t-CI",
                "W+",
                "W−",
                "z",
                "p",
                "method"
            );
            for p in rows {
                let (wp, wm, z, pv, method) = match &p.wilcoxon {
                    Computed::Value(w) => (
                        format!("{:.1}", w.w_plus),
                        format!("{:.1}", w.w_minus),
                        format!("{:.3}", w.z),
                        format!("{:.4}", w.p),
                        w.method.clone(),
                    ),
                    Computed::NotComputable(r) => {
                        let r = format!("{} vs {} {}: {r}", p.model, p.baseline, p.axis.as_str());
                        note(reasons, r);
                        (
                            "n/c".into(),
                            "n/c".into(),
                            "n/c".into(),
                            "n/c".into(),
                            String::new(),
                        )
                    }
                };
                let _ = writeln!(
                    out,
                    "{:<28} {:<16} {:>5} {:>7} {:<18} {:>7} {:>7} {:>7} {:>8} {:<11}",
                    truncate(&p.model, 28),
                    p.axis.as_str(),
                    p.items,
                    num(&p.mean_difference, 3),
                    ci(&p.ci, 3),
                    wp,
                    wm,
                    z,
                    pv,
                    method
                );
                for e in &p.excluded {
                    let r = format!(
                        "{} {}: {} item(s) {}",
                        p.model,
                        p.axis.as_str(),
                        e.items,
                        e.reason
                    );
                    note(reasons, r);
                }
            }
        }
        Computed::NotComputable(r) => {
            let _ = writeln!(out, "paired comparison: not computable, because {r}");
        }
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{:<28} {:<28} {:>6} {:>6} {:>6}",
        "preference a", "b", "a wins", "b wins", "ties"
    );
    for p in &s.preferences.pairs {
        let _ = writeln!(
            out,
            "{:<28} {:<28} {:>6} {:>6} {:>6}",
            truncate(&p.a, 28),
            truncate(&p.b, 28),
            p.a_wins,
            p.b_wins,
            p.ties
        );
    }
    match &s.preferences.bradley_terry {
        Computed::Value(bt) => {
            let _ = writeln!(
                out,
                "Bradley–Terry ({}, {} comparisons, log-likelihood {:.3}):",
                bt.method.replace('_', " "),
                bt.comparisons,
                bt.log_likelihood
            );
            for m in &bt.models {
                let _ = writeln!(
                    out,
                    "  {:<28} share {:>6}  95% {}",
                    truncate(&m.model, 28),
                    num(&m.share, 3),
                    ci(&m.ci, 3)
                );
            }
        }
        Computed::NotComputable(r) => {
            let _ = writeln!(out, "Bradley–Terry: not computable, because {r}");
        }
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{:<16} {:>9} {:>9} {:>6} {:>8} {:<16} {:>8} {:<16} {:>8}",
        "agreement",
        "α ordinal",
        "α interv.",
        "units",
        "ICC(2,1)",
        "95% CI",
        "ICC(2,k)",
        "95% CI",
        "p"
    );
    for a in &s.agreement {
        let (i1, c1, ik, ck, p) = match &a.icc {
            Computed::Value(i) => (
                format!("{:.3}", i.icc_single),
                ci(&i.icc_single_ci, 2),
                format!("{:.3}", i.icc_average),
                ci(&i.icc_average_ci, 2),
                format!("{:.4}", i.p),
            ),
            Computed::NotComputable(r) => {
                let r = format!("ICC {}: {r}", a.axis.as_str());
                note(reasons, r);
                (
                    "n/c".into(),
                    "n/c".into(),
                    "n/c".into(),
                    "n/c".into(),
                    "n/c".into(),
                )
            }
        };
        let _ = writeln!(
            out,
            "{:<16} {:>9} {:>9} {:>6} {:>8} {:<16} {:>8} {:<16} {:>8}",
            a.axis.as_str(),
            num(&a.alpha_ordinal, 3),
            num(&a.alpha_interval, 3),
            a.pairable_units,
            i1,
            c1,
            ik,
            ck,
            p
        );
        if let Computed::NotComputable(r) = &a.alpha_ordinal {
            let r = format!("α {}: {r}", a.axis.as_str());
            note(reasons, r);
        }
        for k in &a.kappa {
            let _ = writeln!(
                out,
                "  κ {} × {}: {} on {} answers",
                k.rater_a,
                k.rater_b,
                num(&k.kappa, 3),
                k.units
            );
        }
    }
}

/// Adds a reason once.
fn note(reasons: &mut Vec<String>, reason: String) {
    if !reasons.contains(&reason) {
        reasons.push(reason);
    }
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        s.chars().take(n - 1).collect::<String>() + "…"
    }
}

/// The report as text tables: the whole study, then each category and
/// specialty; "n/c" marks a figure that is not computable, with the reasons
/// listed under each part.
pub fn render_table(r: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Study {:?} ({}), seed {}, {} raters per item",
        r.study.name, r.study.status, r.study.seed, r.study.overlap
    );
    let _ = writeln!(out, "Models: {}", r.study.models.join(", "));
    match &r.baseline {
        Computed::Value(b) => {
            let _ = writeln!(out, "Baseline: {b}");
        }
        Computed::NotComputable(why) => {
            let _ = writeln!(out, "Baseline: none ({why})");
        }
    }
    let parts = std::iter::once(("All items".to_owned(), &r.overall))
        .chain(
            r.by_category
                .iter()
                .map(|b| (format!("Category {}", b.group), &b.section)),
        )
        .chain(
            r.by_specialty
                .iter()
                .map(|b| (format!("Specialty {}", b.group), &b.section)),
        )
        .chain(r.by_round.iter().map(|b| {
            (
                format!(
                    "Round {}: study {:?}, {} against its base {}",
                    b.round,
                    b.study,
                    b.model.value().map_or("(no model)", String::as_str),
                    b.base_model.value().map_or("(none)", String::as_str)
                ),
                &b.section,
            )
        }));
    for (title, s) in parts {
        let _ = writeln!(out, "\n== {title} ==");
        let mut reasons = Vec::new();
        section(&mut out, s, &mut reasons);
        if !reasons.is_empty() {
            let _ = writeln!(out, "\nnot computable (n/c) or left out:");
            for why in reasons {
                let _ = writeln!(out, "  - {why}");
            }
        }
    }
    out
}
