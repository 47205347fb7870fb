//! The report as one self-contained HTML file: inline CSS, charts as inline
//! SVG, no script, no network, laid out to print.

use std::fmt::Write as _;

use super::{Computed, Interval95, ModelStats, Report, RoundBreakdown, Section};
use crate::vocab::Axis;

/// Escapes text for HTML element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

fn num(c: &Computed<f64>, digits: usize) -> String {
    match c {
        Computed::Value(v) => format!("{v:.digits$}"),
        Computed::NotComputable(why) => {
            format!("<span class=\"nc\" title=\"{}\">n/c</span>", escape(why))
        }
    }
}

fn ci(c: &Computed<Interval95>, digits: usize) -> String {
    match c {
        Computed::Value(i) => format!("{:.digits$} – {:.digits$}", i.low, i.high),
        Computed::NotComputable(why) => {
            format!("<span class=\"nc\" title=\"{}\">n/c</span>", escape(why))
        }
    }
}

const COLORS: [&str; 6] = [
    "#1f6feb", "#d9480f", "#2f9e44", "#7048e8", "#c2255c", "#0c8599",
];

/// Means with their t-intervals on the 1–5 scale, one row per model and
/// axis.
pub(super) fn means_chart(s: &Section) -> String {
    let (left, width, row) = (190.0, 360.0, 16.0);
    let x = |v: f64| left + (v - 1.0) / 4.0 * width;
    let rows: usize = s.models.len() * s.models.first().map_or(0, |m| m.axes.len());
    let height =
        30.0 + rows as f64 * row + s.models.first().map_or(0, |m| m.axes.len()) as f64 * 8.0;
    let mut svg = format!(
        "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {height}\" width=\"{w}\" height=\"{height}\" role=\"img\" aria-label=\"Mean score per model and axis with 95% t-intervals\">",
        w = left + width + 70.0
    );
    for t in 1..=5 {
        let tx = x(f64::from(t));
        let _ = write!(
            svg,
            "<line x1=\"{tx}\" x2=\"{tx}\" y1=\"14\" y2=\"{y2}\" class=\"grid\"/><text x=\"{tx}\" y=\"11\" class=\"tick\">{t}</text>",
            y2 = height - 4.0
        );
    }
    let mut y = 24.0;
    let axes = s.models.first().map_or(0, |m| m.axes.len());
    for ai in 0..axes {
        for (mi, m) in s.models.iter().enumerate() {
            let a = &m.axes[ai];
            let color = COLORS[mi % COLORS.len()];
            let label = format!("{} · {}", m.model, a.axis.as_str());
            let _ = write!(
                svg,
                "<text x=\"{}\" y=\"{}\" class=\"label\">{}</text>",
                left - 6.0,
                y + 4.0,
                escape(&label)
            );
            if let Computed::Value(i) = &a.t_ci {
                let (x1, x2) = (x(i.low.clamp(1.0, 5.0)), x(i.high.clamp(1.0, 5.0)));
                let _ = write!(
                    svg,
                    "<line x1=\"{x1:.1}\" x2=\"{x2:.1}\" y1=\"{y}\" y2=\"{y}\" stroke=\"{color}\" stroke-width=\"2\"/><line x1=\"{x1:.1}\" x2=\"{x1:.1}\" y1=\"{}\" y2=\"{}\" stroke=\"{color}\"/><line x1=\"{x2:.1}\" x2=\"{x2:.1}\" y1=\"{}\" y2=\"{}\" stroke=\"{color}\"/>",
                    y - 4.0,
                    y + 4.0,
                    y - 4.0,
                    y + 4.0
                );
            }
            match &a.mean {
                Computed::Value(mean) => {
                    let _ = write!(
                        svg,
                        "<circle cx=\"{:.1}\" cy=\"{y}\" r=\"4\" fill=\"{color}\"/><text x=\"{}\" y=\"{}\" class=\"value\">{mean:.2}</text>",
                        x(*mean),
                        left + width + 8.0,
                        y + 4.0
                    );
                }
                Computed::NotComputable(_) => {
                    let _ = write!(
                        svg,
                        "<text x=\"{}\" y=\"{}\" class=\"value\">no scores</text>",
                        left + width + 8.0,
                        y + 4.0
                    );
                }
            }
            y += row;
        }
        y += 8.0;
    }
    svg.push_str("</svg>");
    svg
}

/// Paired differences (model − baseline) with their t-intervals around 0.
pub(super) fn paired_chart(s: &Section) -> Option<String> {
    let Computed::Value(rows) = &s.paired else {
        return None;
    };
    if rows.is_empty() {
        return None;
    }
    let (left, width, row) = (250.0, 320.0, 18.0);
    let span = rows
        .iter()
        .filter_map(|p| p.ci.value().map(|i| i.low.abs().max(i.high.abs())))
        .chain(
            rows.iter()
                .filter_map(|p| p.mean_difference.value().map(|d| d.abs())),
        )
        .fold(1.0f64, f64::max)
        .min(4.0);
    let x = |v: f64| left + (v.clamp(-span, span) + span) / (2.0 * span) * width;
    let height = 30.0 + rows.len() as f64 * row;
    let mut svg = format!(
        "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {height}\" width=\"{w}\" height=\"{height}\" role=\"img\" aria-label=\"Paired differences against the baseline with 95% t-intervals\">",
        w = left + width + 80.0
    );
    let zero = x(0.0);
    let _ = write!(
        svg,
        "<line x1=\"{zero}\" x2=\"{zero}\" y1=\"14\" y2=\"{}\" class=\"zero\"/><text x=\"{zero}\" y=\"11\" class=\"tick\">0</text><text x=\"{}\" y=\"11\" class=\"tick\">−{span:.1}</text><text x=\"{}\" y=\"11\" class=\"tick\">+{span:.1}</text>",
        height - 4.0,
        x(-span),
        x(span)
    );
    let mut y = 26.0;
    for p in rows {
        let _ = write!(
            svg,
            "<text x=\"{}\" y=\"{}\" class=\"label\">{}</text>",
            left - 6.0,
            y + 4.0,
            escape(&format!("{} · {}", p.model, p.axis.as_str()))
        );
        if let Computed::Value(i) = &p.ci {
            let _ = write!(
                svg,
                "<line x1=\"{:.1}\" x2=\"{:.1}\" y1=\"{y}\" y2=\"{y}\" stroke=\"#444\" stroke-width=\"2\"/>",
                x(i.low),
                x(i.high)
            );
        }
        let text = match &p.mean_difference {
            Computed::Value(d) => {
                let _ = write!(
                    svg,
                    "<rect x=\"{:.1}\" y=\"{}\" width=\"8\" height=\"8\" fill=\"#1f6feb\"/>",
                    x(*d) - 4.0,
                    y - 4.0
                );
                format!("{d:+.2}")
            }
            Computed::NotComputable(_) => "n/c".into(),
        };
        let _ = write!(
            svg,
            "<text x=\"{}\" y=\"{}\" class=\"value\">{text}</text>",
            left + width + 8.0,
            y + 4.0
        );
        y += row;
    }
    svg.push_str("</svg>");
    Some(svg)
}

/// The preference matrix: row model's wins over the column model, shaded by
/// win share.
fn preference_matrix(models: &[String], s: &Section) -> String {
    if s.preferences.pairs.is_empty() {
        return "<p class=\"nc\">No side-by-side preferences between two rated answers.</p>".into();
    }
    let mut h = String::from("<table class=\"matrix\"><thead><tr><th>row beat column</th>");
    for m in models {
        let _ = write!(h, "<th>{}</th>", escape(m));
    }
    h.push_str("</tr></thead><tbody>");
    for a in models {
        let _ = write!(h, "<tr><th>{}</th>", escape(a));
        for b in models {
            if a == b {
                h.push_str("<td class=\"diag\">—</td>");
                continue;
            }
            let cell = s.preferences.pairs.iter().find_map(|p| {
                if &p.a == a && &p.b == b {
                    Some((p.a_wins, p.b_wins, p.ties))
                } else if &p.b == a && &p.a == b {
                    Some((p.b_wins, p.a_wins, p.ties))
                } else {
                    None
                }
            });
            match cell {
                Some((w, l, t)) => {
                    let total = f64::from(w + l + t).max(1.0);
                    let share = (f64::from(w) + 0.5 * f64::from(t)) / total;
                    let _ = write!(
                        h,
                        "<td style=\"background: rgba(31,111,235,{:.2})\" title=\"{w} wins, {l} losses, {t} ties\">{w} / {t} / {l}</td>",
                        0.1 + 0.6 * share
                    );
                }
                None => h.push_str("<td class=\"nc\">did not meet</td>"),
            }
        }
        h.push_str("</tr>");
    }
    h.push_str("</tbody></table><p class=\"note\">Each cell: wins / ties / losses of the row model against the column model.</p>");
    h
}

/// Bradley–Terry shares with bootstrap intervals.
pub(super) fn strength_chart(s: &Section) -> String {
    let bt = match &s.preferences.bradley_terry {
        Computed::Value(bt) => bt,
        Computed::NotComputable(why) => {
            return format!(
                "<p class=\"nc\">Bradley–Terry: not computable, because {}.</p>",
                escape(why)
            );
        }
    };
    let (left, width, row) = (190.0, 360.0, 18.0);
    let x = |v: f64| left + v.clamp(0.0, 1.0) * width;
    let height = 30.0 + bt.models.len() as f64 * row;
    let mut svg = format!(
        "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {height}\" width=\"{w}\" height=\"{height}\" role=\"img\" aria-label=\"Bradley-Terry shares with bootstrap 95% intervals\">",
        w = left + width + 70.0
    );
    for t in [0.0, 0.25, 0.5, 0.75, 1.0] {
        let tx = x(t);
        let _ = write!(
            svg,
            "<line x1=\"{tx}\" x2=\"{tx}\" y1=\"14\" y2=\"{}\" class=\"grid\"/><text x=\"{tx}\" y=\"11\" class=\"tick\">{t}</text>",
            height - 4.0
        );
    }
    let mut y = 26.0;
    for (i, m) in bt.models.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let _ = write!(
            svg,
            "<text x=\"{}\" y=\"{}\" class=\"label\">{}</text>",
            left - 6.0,
            y + 4.0,
            escape(&m.model)
        );
        if let Computed::Value(share) = &m.share {
            let _ = write!(
                svg,
                "<rect x=\"{left}\" y=\"{}\" width=\"{:.1}\" height=\"10\" fill=\"{color}\" opacity=\"0.75\"/>",
                y - 5.0,
                x(*share) - left
            );
            if let Computed::Value(i) = &m.ci {
                let _ = write!(
                    svg,
                    "<line x1=\"{:.1}\" x2=\"{:.1}\" y1=\"{y}\" y2=\"{y}\" stroke=\"#222\"/>",
                    x(i.low),
                    x(i.high)
                );
            }
        }
        let _ = write!(
            svg,
            "<text x=\"{}\" y=\"{}\" class=\"value\">{}</text>",
            left + width + 8.0,
            y + 4.0,
            num(&m.share, 3)
        );
        y += row;
    }
    svg.push_str("</svg>");
    format!(
        "{svg}<p class=\"note\">{} {} comparisons, log-likelihood {:.3}. Bars: share of the total strength; lines: bootstrap 95 % intervals.</p>",
        if bt.method == "maximum_likelihood" {
            "Maximum-likelihood fit."
        } else {
            "No maximum-likelihood estimate exists for these preferences (some models never won, or never lost, against the rest), so each pair that met got one virtual tie."
        },
        bt.comparisons,
        bt.log_likelihood
    )
}

/// The per-round trend: for each evaluated round, the mean score of the
/// round's model on each axis with its 95 % t-interval (filled), beside its
/// base model's mean in the same study (hollow). `None` without a round.
pub fn round_trend_chart(rounds: &[RoundBreakdown]) -> Option<String> {
    if rounds.is_empty() {
        return None;
    }
    let (left, top, height, slot) = (40.0, 20.0, 200.0, 150.0);
    let width = slot * rounds.len() as f64;
    let y = |v: f64| top + (5.0 - v.clamp(1.0, 5.0)) / 4.0 * height;
    let mut svg = format!(
        "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\" aria-label=\"Mean score per round and axis, the round's model against its base model\">",
        w = (left + width + 10.0).max(left + 3.0 * 130.0),
        h = top + height + 50.0
    );
    for t in 1..=5 {
        let ty = y(f64::from(t));
        let _ = write!(
            svg,
            "<line x1=\"{left}\" x2=\"{}\" y1=\"{ty}\" y2=\"{ty}\" class=\"grid\"/><text x=\"{}\" y=\"{}\" class=\"label\">{t}</text>",
            left + width,
            left - 6.0,
            ty + 4.0
        );
    }
    let axes = Axis::ALL.len() as f64;
    let mut previous: Vec<Option<(f64, f64)>> = vec![None; Axis::ALL.len()];
    for (ri, r) in rounds.iter().enumerate() {
        let x0 = left + slot * ri as f64;
        let _ = write!(
            svg,
            "<text x=\"{}\" y=\"{}\" class=\"tick\">round {}</text>",
            x0 + slot / 2.0,
            top + height + 18.0,
            r.round
        );
        let stats_of = |name: &Computed<String>| {
            name.value()
                .and_then(|n| r.section.models.iter().find(|m| &m.model == n))
        };
        for (ai, axis) in Axis::ALL.iter().enumerate() {
            let color = COLORS[ai % COLORS.len()];
            let cx = x0 + slot * (ai as f64 + 1.0) / (axes + 1.0);
            let axis_of = |m: Option<&ModelStats>| {
                m.and_then(|m| m.axes.iter().find(|a| a.axis == *axis))
                    .cloned()
            };
            if let Some(Computed::Value(b)) = axis_of(stats_of(&r.base_model)).map(|a| a.mean) {
                let _ = write!(
                    svg,
                    "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"4\" fill=\"white\" stroke=\"{color}\" stroke-width=\"1.5\"><title>round {} base: {} {b:.2}</title></circle>",
                    cx - 7.0,
                    y(b),
                    r.round,
                    axis.as_str()
                );
            }
            let Some(a) = axis_of(stats_of(&r.model)) else {
                previous[ai] = None;
                continue;
            };
            if let Computed::Value(i) = &a.t_ci {
                let _ = write!(
                    svg,
                    "<line x1=\"{cx:.1}\" x2=\"{cx:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"{color}\" stroke-width=\"2\"/>",
                    y(i.low),
                    y(i.high)
                );
            }
            if let Computed::Value(m) = a.mean {
                if let Some((px, py)) = previous[ai] {
                    let _ = write!(
                        svg,
                        "<line x1=\"{px:.1}\" x2=\"{cx:.1}\" y1=\"{py:.1}\" y2=\"{:.1}\" stroke=\"{color}\" stroke-dasharray=\"3 3\"/>",
                        y(m)
                    );
                }
                let _ = write!(
                    svg,
                    "<circle cx=\"{cx:.1}\" cy=\"{:.1}\" r=\"4.5\" fill=\"{color}\"><title>round {} model: {} {m:.2}</title></circle>",
                    y(m),
                    r.round,
                    axis.as_str()
                );
                previous[ai] = Some((cx, y(m)));
            } else {
                previous[ai] = None;
            }
        }
    }
    for (ai, axis) in Axis::ALL.iter().enumerate() {
        let lx = left + 10.0 + ai as f64 * 130.0;
        let _ = write!(
            svg,
            "<circle cx=\"{lx}\" cy=\"{}\" r=\"4\" fill=\"{}\"/><text x=\"{}\" y=\"{}\" class=\"legend\">{}</text>",
            top + height + 36.0,
            COLORS[ai % COLORS.len()],
            lx + 8.0,
            top + height + 40.0,
            axis.as_str()
        );
    }
    svg.push_str("</svg>");
    Some(svg)
}

/// Krippendorff's reading of α (2004): ≥ 0.8 reliable, 0.667–0.8 tentative
/// conclusions only, below that too low to rely on.
fn alpha_reading(a: &Computed<f64>) -> &'static str {
    match a.value() {
        Some(v) if *v >= 0.8 => "raters agree well",
        Some(v) if *v >= 0.667 => "moderate agreement: tentative conclusions only",
        Some(v) if *v > 0.0 => "low agreement: scores on this axis are not reliable",
        Some(_) => "no agreement beyond chance",
        None => "not computable",
    }
}

fn section_html(models: &[String], s: &Section, full: bool) -> String {
    let mut h = format!(
        "<p>{} submitted ratings of {} items by {} raters.</p>",
        s.ratings, s.items, s.raters
    );
    h.push_str(&means_chart(s));
    h.push_str("<table><thead><tr><th>model</th><th>axis</th><th>n</th><th>mean</th><th>median</th><th>SD</th><th>share ≥ 4</th><th>95 % t-interval</th><th>95 % bootstrap</th></tr></thead><tbody>");
    for m in &s.models {
        for a in &m.axes {
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&m.model),
                a.axis.as_str(),
                a.n,
                num(&a.mean, 2),
                num(&a.median, 1),
                num(&a.sd, 2),
                num(&a.share_high, 2),
                ci(&a.t_ci, 2),
                ci(&a.bootstrap_ci, 2)
            );
        }
    }
    h.push_str("</tbody></table>");
    if full {
        h.push_str("<table><thead><tr><th>model</th><th>ratings</th><th>no harm</th><th>mild/moderate</th><th>severe</th><th>harm likely</th></tr></thead><tbody>");
        for m in &s.models {
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&m.model),
                m.ratings,
                m.harm.none,
                m.harm.mild_moderate,
                m.harm.severe,
                m.harm.likely
            );
        }
        h.push_str("</tbody></table>");
    }
    h.push_str("<h3>Against the baseline</h3>");
    match &s.paired {
        Computed::Value(rows) => {
            if let Some(svg) = paired_chart(s) {
                h.push_str(&svg);
            }
            h.push_str("<table><thead><tr><th>model</th><th>axis</th><th>items</th><th>left out</th><th>mean difference</th><th>95 % t-interval</th><th>W+</th><th>W−</th><th>z</th><th>p</th><th>method</th></tr></thead><tbody>");
            for p in rows {
                let left_out = p
                    .excluded
                    .iter()
                    .map(|e| format!("{} {}", e.items, escape(&e.reason)))
                    .collect::<Vec<_>>()
                    .join("; ");
                let w = match &p.wilcoxon {
                    Computed::Value(w) => format!(
                        "<td>{:.1}</td><td>{:.1}</td><td>{:.3}</td><td>{:.4}</td><td>{}</td>",
                        w.w_plus, w.w_minus, w.z, w.p, w.method
                    ),
                    Computed::NotComputable(why) => format!(
                        "<td colspan=\"5\" class=\"nc\">not computable, because {}</td>",
                        escape(why)
                    ),
                };
                let _ = write!(
                    h,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>{w}</tr>",
                    escape(&p.model),
                    p.axis.as_str(),
                    p.items,
                    if left_out.is_empty() {
                        "none".into()
                    } else {
                        left_out
                    },
                    num(&p.mean_difference, 3),
                    ci(&p.ci, 3)
                );
            }
            h.push_str("</tbody></table>");
        }
        Computed::NotComputable(why) => {
            let _ = write!(
                h,
                "<p class=\"nc\">Not computable, because {}.</p>",
                escape(why)
            );
        }
    }
    h.push_str("<h3>Preferences</h3>");
    h.push_str(&preference_matrix(models, s));
    h.push_str(&strength_chart(s));
    h.push_str("<h3>Agreement between raters</h3><table><thead><tr><th>axis</th><th>α ordinal</th><th>α interval</th><th>answers (scores)</th><th>reading</th><th>ICC(2,1) [95 %]</th><th>ICC(2,k) [95 %]</th><th>F (df1, df2), p</th></tr></thead><tbody>");
    for a in &s.agreement {
        let icc = match &a.icc {
            Computed::Value(i) => format!(
                "<td>{:.3} [{}]</td><td>{:.3} [{}]</td><td>{:.2} ({:.0}, {:.0}), {:.4}</td>",
                i.icc_single,
                ci(&i.icc_single_ci, 2),
                i.icc_average,
                ci(&i.icc_average_ci, 2),
                i.f,
                i.df1,
                i.df2,
                i.p
            ),
            Computed::NotComputable(why) => format!(
                "<td colspan=\"3\" class=\"nc\">not computable, because {}</td>",
                escape(why)
            ),
        };
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{} ({})</td><td>{}</td>{icc}</tr>",
            a.axis.as_str(),
            num(&a.alpha_ordinal, 3),
            num(&a.alpha_interval, 3),
            a.pairable_units,
            a.pairable_values,
            alpha_reading(&a.alpha_ordinal)
        );
    }
    h.push_str("</tbody></table>");
    let kappas: Vec<String> = s
        .agreement
        .iter()
        .flat_map(|a| {
            a.kappa.iter().map(move |k| {
                format!(
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    a.axis.as_str(),
                    escape(&k.rater_a),
                    escape(&k.rater_b),
                    k.units,
                    match &k.kappa {
                        Computed::Value(v) => format!("{v:.3}"),
                        Computed::NotComputable(why) => format!(
                            "<span class=\"nc\">not computable, because {}</span>",
                            escape(why)
                        ),
                    }
                )
            })
        })
        .collect();
    if !kappas.is_empty() {
        h.push_str("<table><thead><tr><th>axis</th><th>rater</th><th>rater</th><th>common answers</th><th>κ (quadratic)</th></tr></thead><tbody>");
        h.push_str(&kappas.concat());
        h.push_str("</tbody></table>");
    }
    h
}

const STYLE: &str = "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;color:#1b1f24;max-width:960px;margin:2em auto;padding:0 1em}\
h1{font-size:1.6em;margin-bottom:.2em}h2{margin-top:1.8em;border-bottom:1px solid #d0d7de;padding-bottom:.2em}h3{margin-top:1.2em}\
table{border-collapse:collapse;margin:.6em 0;font-size:13px}th,td{border:1px solid #d0d7de;padding:3px 7px;text-align:left;vertical-align:top}\
thead th{background:#f6f8fa}.nc{color:#8c959f}.note{color:#57606a;font-size:12px}.chart{display:block;margin:.6em 0}\
.chart .grid{stroke:#eaeef2}.chart .zero{stroke:#8c959f;stroke-dasharray:3 3}.chart .tick{font-size:10px;fill:#57606a;text-anchor:middle}\
.chart .label{font-size:11px;fill:#1b1f24;text-anchor:end}.chart .value{font-size:11px;fill:#1b1f24}.chart .legend{font-size:11px;fill:#1b1f24}.matrix td{text-align:center}.diag{color:#8c959f}\
.methods{background:#f6f8fa;padding:.8em 1em;border-radius:6px}@media print{body{margin:0;max-width:none}h2{break-after:avoid}table,svg{break-inside:avoid}}";

/// The report as one self-contained HTML page: the study's design and rubric,
/// the results with charts (inline SVG), agreement, each category and
/// specialty, and the methods paragraph. No script and no external resource.
pub fn render_html(r: &Report) -> String {
    let mut h = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><meta name=\"generator\" content=\"{}\"><title>{} — report</title><style>{STYLE}</style></head><body>",
        escape(&r.generator),
        escape(&r.study.name)
    );
    let _ = write!(
        h,
        "<h1>{}</h1><p class=\"note\">Blinded side-by-side expert review · {} · report schema {} · written by {}</p>",
        escape(&r.study.name),
        escape(&r.study.status),
        escape(&r.schema),
        escape(&r.generator)
    );
    h.push_str("<h2>Design</h2><ul>");
    let _ = write!(
        h,
        "<li>Models (answers shown to raters under letters, in an order shuffled per rater and item): {}</li>",
        r.study
            .models
            .iter()
            .map(|m| escape(m))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let _ = write!(
        h,
        "<li>Raters: {}</li><li>Raters per item: {} · seed {} · created {}</li>",
        if r.study.raters.is_empty() {
            "none has submitted yet".to_owned()
        } else {
            r.study
                .raters
                .iter()
                .map(|x| format!("{} ({})", escape(&x.name), x.specialty.as_str()))
                .collect::<Vec<_>>()
                .join(", ")
        },
        r.study.overlap,
        r.study.seed,
        escape(&r.study.created_at)
    );
    let _ = write!(
        h,
        "<li>Baseline: {}</li></ul>",
        match &r.baseline {
            Computed::Value(b) => escape(b),
            Computed::NotComputable(why) => format!("none ({})", escape(why)),
        }
    );
    h.push_str("<h3>Rubric</h3><table><thead><tr><th>axis</th><th>scale</th><th>anchors</th></tr></thead><tbody>");
    for a in &r.study.rubric.axes {
        let anchors = a
            .anchors
            .iter()
            .map(|(k, v)| format!("{}: {}", escape(k), escape(v)))
            .collect::<Vec<_>>()
            .join("<br>");
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}–{}</td><td>{anchors}</td></tr>",
            escape(&a.label),
            a.min,
            a.max
        );
    }
    h.push_str("</tbody></table>");
    h.push_str("<h2>Results, all items</h2>");
    h.push_str(&section_html(&r.study.models, &r.overall, true));
    for (title, parts) in [
        ("By item category", &r.by_category),
        ("By rater specialty", &r.by_specialty),
    ] {
        if parts.is_empty() {
            continue;
        }
        let _ = write!(h, "<h2>{title}</h2>");
        for b in parts {
            let _ = write!(h, "<h3>{}</h3>", escape(&b.group));
            h.push_str(&section_html(&r.study.models, &b.section, false));
        }
    }
    if let Some(chart) = round_trend_chart(&r.by_round) {
        let _ = write!(
            h,
            "<h2>By round</h2><p>Each evaluated retraining round: its latest evaluation study, the round's model against the model it fine-tuned.</p>{chart}<p class=\"note\">Filled: the round's model, mean with its 95 % t-interval; hollow: its base model in the same study.</p>"
        );
        for b in &r.by_round {
            let _ = write!(
                h,
                "<h3>Round {} · {} against {} · study {}</h3>",
                b.round,
                escape(b.model.value().map_or("(no model)", String::as_str)),
                escape(
                    b.base_model
                        .value()
                        .map_or("(no base model)", String::as_str)
                ),
                escape(&b.study)
            );
            let models: Vec<String> = b.section.models.iter().map(|m| m.model.clone()).collect();
            h.push_str(&section_html(&models, &b.section, false));
        }
    }
    let _ = writeln!(
        h,
        "<h2>Methods</h2><p class=\"methods\">{}</p></body></html>",
        escape(&r.methods)
    );
    h
}
