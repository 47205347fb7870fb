//! The report's charts as standalone files: the same SVG the HTML report
//! inlines, with its styles inside, and the same drawn as PNG (rasterized in
//! process with resvg, text in the system's sans-serif font).

use super::html::{means_chart, paired_chart, round_trend_chart, strength_chart};
use super::{Report, Section};
use crate::review::ReviewError;

/// The charts of a report.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChartKind {
    /// Mean score per model and axis with 95 % t-intervals.
    Means,
    /// Paired differences against the baseline with 95 % t-intervals.
    Paired,
    /// Bradley–Terry shares with bootstrap intervals.
    Strengths,
    /// The per-round trend (the whole workspace; no group).
    Rounds,
}

impl ChartKind {
    /// Every chart.
    pub const ALL: &'static [ChartKind] =
        &[Self::Means, Self::Paired, Self::Strengths, Self::Rounds];

    /// The stable name (file names, the CLI).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Means => "means",
            Self::Paired => "paired",
            Self::Strengths => "strengths",
            Self::Rounds => "rounds",
        }
    }
}

/// The file formats of a chart.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChartFormat {
    /// The SVG, with its styles inside.
    Svg,
    /// The SVG drawn at twice its size as PNG.
    Png,
}

impl ChartFormat {
    /// The file extension.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Svg => "svg",
            Self::Png => "png",
        }
    }
}

/// The styles of the charts' classes, for a standalone SVG (the HTML report
/// sets the same ones on the page).
const SVG_STYLE: &str = "text{font-family:'DejaVu Sans','Liberation Sans',Arial,sans-serif}\
.grid{stroke:#eaeef2}.zero{stroke:#8c959f;stroke-dasharray:3 3}.tick{font-size:10px;fill:#57606a;text-anchor:middle}\
.label{font-size:11px;fill:#1b1f24;text-anchor:end}.value{font-size:11px;fill:#1b1f24}.legend{font-size:11px;fill:#1b1f24}";

/// The part of `report` named `group`: `""` or `all` for every rating,
/// `category:ID`, `specialty:NAME`, or `round:N`.
pub fn report_group<'a>(report: &'a Report, group: &str) -> Result<&'a Section, ReviewError> {
    let group = group.trim();
    if group.is_empty() || group == "all" {
        return Ok(&report.overall);
    }
    let found = if let Some(c) = group.strip_prefix("category:") {
        report
            .by_category
            .iter()
            .find(|b| b.group == c)
            .map(|b| &b.section)
    } else if let Some(s) = group.strip_prefix("specialty:") {
        report
            .by_specialty
            .iter()
            .find(|b| b.group == s)
            .map(|b| &b.section)
    } else if let Some(n) = group.strip_prefix("round:") {
        report
            .by_round
            .iter()
            .find(|b| b.round.to_string() == n)
            .map(|b| &b.section)
    } else {
        None
    };
    found.ok_or_else(|| ReviewError::UnknownGroup {
        group: group.to_owned(),
        known: report_groups(report).join(", "),
    })
}

/// Every group name [`report_group`] accepts.
pub fn report_groups(report: &Report) -> Vec<String> {
    std::iter::once("all".to_owned())
        .chain(
            report
                .by_category
                .iter()
                .map(|b| format!("category:{}", b.group)),
        )
        .chain(
            report
                .by_specialty
                .iter()
                .map(|b| format!("specialty:{}", b.group)),
        )
        .chain(report.by_round.iter().map(|b| format!("round:{}", b.round)))
        .collect()
}

/// Chart `kind` of `group` (see [`report_group`]; ignored for
/// [`ChartKind::Rounds`]) as a standalone SVG document: the chart of the
/// HTML report on a white background, its styles inside.
pub fn chart_svg(report: &Report, group: &str, kind: ChartKind) -> Result<String, ReviewError> {
    let none = |why: String| ReviewError::NoChart {
        chart: kind.as_str(),
        group: if kind == ChartKind::Rounds {
            "this workspace".to_owned()
        } else {
            format!("group {:?}", if group.is_empty() { "all" } else { group })
        },
        why,
    };
    let svg = match kind {
        ChartKind::Rounds => round_trend_chart(&report.by_round)
            .ok_or_else(|| none("no retraining round has an evaluation study".into()))?,
        _ => {
            let section = report_group(report, group)?;
            match kind {
                ChartKind::Means => means_chart(section),
                ChartKind::Paired => paired_chart(section).ok_or_else(|| {
                    none(match section.paired.reason() {
                        Some(why) => why.to_owned(),
                        None => "no model was compared with the baseline".to_owned(),
                    })
                })?,
                _ => {
                    let svg = strength_chart(section);
                    if !svg.starts_with("<svg") {
                        return Err(none(match section.preferences.bradley_terry.reason() {
                            Some(why) => why.to_owned(),
                            None => "no preferences".to_owned(),
                        }));
                    }
                    svg
                }
            }
        }
    };
    standalone(&svg).ok_or_else(|| none("the chart is not a single SVG element".into()))
}

/// The first `<svg …>…</svg>` of `html` with a style element and a white
/// background inserted after its opening tag.
fn standalone(html: &str) -> Option<String> {
    let start = html.find("<svg")?;
    let end = html.rfind("</svg>")? + "</svg>".len();
    let svg = &html[start..end];
    let open_end = svg.find('>')? + 1;
    Some(format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{}<style>{SVG_STYLE}</style><rect width=\"100%\" height=\"100%\" fill=\"white\"/>{}\n",
        &svg[..open_end],
        &svg[open_end..]
    ))
}

/// `svg` drawn as PNG at `scale` times its size, text in the system's fonts.
pub fn svg_to_png(svg: &str, scale: f32) -> Result<Vec<u8>, ReviewError> {
    use resvg::{tiny_skia, usvg};
    // The system's fonts, read once per process.
    static FONTS: std::sync::OnceLock<std::sync::Arc<usvg::fontdb::Database>> =
        std::sync::OnceLock::new();
    let options = usvg::Options {
        fontdb: FONTS
            .get_or_init(|| {
                let mut db = usvg::fontdb::Database::new();
                db.load_system_fonts();
                std::sync::Arc::new(db)
            })
            .clone(),
        ..usvg::Options::default()
    };
    let tree =
        usvg::Tree::from_str(svg, &options).map_err(|e| ReviewError::Render(e.to_string()))?;
    let size = tree.size().to_int_size().scale_by(scale).ok_or_else(|| {
        ReviewError::Render(format!(
            "a chart of {:?} at scale {scale} has no pixels",
            tree.size()
        ))
    })?;
    let mut pixmap = tiny_skia::Pixmap::new(size.width(), size.height()).ok_or_else(|| {
        ReviewError::Render(format!("no {}×{} image", size.width(), size.height()))
    })?;
    resvg::render(
        &tree,
        tiny_skia::Transform::from_scale(scale, scale),
        &mut pixmap.as_mut(),
    );
    pixmap
        .encode_png()
        .map_err(|e| ReviewError::Render(e.to_string()))
}

/// Chart `kind` of `group` in `format`, as bytes to write.
pub fn chart_file(
    report: &Report,
    group: &str,
    kind: ChartKind,
    format: ChartFormat,
) -> Result<Vec<u8>, ReviewError> {
    let svg = chart_svg(report, group, kind)?;
    match format {
        ChartFormat::Svg => Ok(svg.into_bytes()),
        ChartFormat::Png => svg_to_png(&svg, 2.0),
    }
}

/// What [`write_charts`] wrote.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ChartsWritten {
    /// The files written, in order.
    pub files: Vec<String>,
    /// Each chart that could not be drawn, with the reason.
    pub skipped: Vec<String>,
}

/// The file name (without extension) of chart `kind` of `group`:
/// `KIND-GROUP` with any character of the group other than an ASCII letter,
/// digit, `-` or `_` replaced by `_` (`means-category_daily_life`,
/// `paired-round_2`), or `rounds` for the trend.
pub fn chart_file_stem(kind: ChartKind, group: &str) -> String {
    if kind == ChartKind::Rounds {
        return kind.as_str().to_owned();
    }
    let group = if group.trim().is_empty() {
        "all"
    } else {
        group.trim()
    };
    let slug: String = group
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{}-{slug}", kind.as_str())
}

/// Writes every chart of each of `groups` (and the per-round trend, once)
/// that can be drawn into the folder `dir` (created if needed) in each of
/// `formats`, each file atomically; charts that cannot be drawn are listed
/// with the reason.
pub fn write_charts(
    report: &Report,
    groups: &[String],
    formats: &[ChartFormat],
    dir: &std::path::Path,
) -> Result<ChartsWritten, ReviewError> {
    let io = |source| ReviewError::Io {
        what: "chart",
        source,
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    let mut parts: Vec<(ChartKind, &str)> = Vec::new();
    for group in groups {
        for &kind in ChartKind::ALL.iter().filter(|&&k| k != ChartKind::Rounds) {
            parts.push((kind, group));
        }
    }
    parts.push((ChartKind::Rounds, "all"));
    let mut out = ChartsWritten::default();
    for (kind, group) in parts {
        let svg = match chart_svg(report, group, kind) {
            Ok(svg) => svg,
            Err(e @ ReviewError::NoChart { .. }) => {
                out.skipped.push(e.to_string());
                continue;
            }
            Err(e) => return Err(e),
        };
        for &format in formats {
            let bytes = match format {
                ChartFormat::Svg => svg.clone().into_bytes(),
                ChartFormat::Png => svg_to_png(&svg, 2.0)?,
            };
            let path = dir.join(format!(
                "{}.{}",
                chart_file_stem(kind, group),
                format.extension()
            ));
            crate::export::write_atomically(&path, &bytes).map_err(|e| ReviewError::Io {
                what: "chart",
                source: std::io::Error::other(e.to_string()),
            })?;
            out.files.push(path.display().to_string());
        }
    }
    Ok(out)
}
