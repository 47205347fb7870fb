//! A study's publishable report: every statistic a methods section needs,
//! overall, by item category and by rater specialty, in one versioned,
//! serialisable [`Report`] (schema [`REPORT_SCHEMA`], documented in
//! `docs/report-schema.md`), rendered as a text table ([`render_table`]) or
//! one self-contained HTML file ([`render_html`]).
//!
//! A figure that cannot be computed is a [`Computed::NotComputable`] with the
//! reason, never a NaN or a missing key. Only submitted items count.

mod charts;
mod html;
mod table;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::domain::Rubric;
use crate::ids::GenerationId;
use crate::review::ReviewError;
use crate::review::results::{HarmResult, axis_score, comparisons};
use crate::stats::{self, AlphaMetric, FitMethod, SignedRankMethod};
use crate::store::{RatingExportRow, Store, StudyRecord};
use crate::vocab::{AssignmentStatus, Axis, Specialty};

pub use charts::{
    ChartFormat, ChartKind, ChartsWritten, chart_file, chart_file_stem, chart_svg, report_group,
    report_groups, svg_to_png, write_charts,
};
pub use html::render_html;
pub use table::render_table;

/// The schema id every report carries; bumped on any change other readers
/// would notice.
pub const REPORT_SCHEMA: &str = "llm4sweat.report/1";

/// A figure, or why it cannot be computed. Serialised as `{"value": …}` or
/// `{"not_computable": "reason"}`.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Computed<T> {
    /// The figure.
    Value(T),
    /// Why there is none.
    NotComputable(String),
}

impl<T> Computed<T> {
    /// The figure, if there is one.
    pub fn value(&self) -> Option<&T> {
        match self {
            Computed::Value(v) => Some(v),
            Computed::NotComputable(_) => None,
        }
    }

    /// Why there is no figure, if there is none.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Computed::Value(_) => None,
            Computed::NotComputable(why) => Some(why),
        }
    }

    fn from_option(value: Option<T>, why: impl FnOnce() -> String) -> Self {
        match value {
            Some(v) => Computed::Value(v),
            None => Computed::NotComputable(why()),
        }
    }
}

/// A finite number, or why not.
fn finite(x: Option<f64>, why: impl FnOnce() -> String) -> Computed<f64> {
    Computed::from_option(x.filter(|v| v.is_finite()), why)
}

/// A 95 % interval.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval95 {
    /// Lower end.
    pub low: f64,
    /// Upper end.
    pub high: f64,
}

fn interval(i: Option<stats::Interval>, why: impl FnOnce() -> String) -> Computed<Interval95> {
    Computed::from_option(
        i.filter(|i| i.low.is_finite() && i.high.is_finite())
            .map(|i| Interval95 {
                low: i.low,
                high: i.high,
            }),
        why,
    )
}

/// The study a report is about.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudyInfo {
    /// Study name.
    pub name: String,
    /// `open` or `closed`.
    pub status: String,
    /// When it was created.
    pub created_at: String,
    /// Its randomisation seed (answer order, assignment; also seeds the
    /// bootstrap intervals of the report).
    pub seed: i64,
    /// Raters per item.
    pub overlap: i64,
    /// Its models, in the study's order (unblinded: the coordinator's view).
    pub models: Vec<String>,
    /// Raters with at least one submitted item, by name.
    pub raters: Vec<RaterInfo>,
    /// The rubric raters scored with.
    pub rubric: Rubric,
}

/// One rater.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RaterInfo {
    /// Name.
    pub name: String,
    /// Specialty.
    pub specialty: Specialty,
}

/// A study's report; see the module documentation.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// [`REPORT_SCHEMA`].
    pub schema: String,
    /// The program that wrote it, e.g. `llm4sweat 0.1.0`.
    pub generator: String,
    /// The study.
    pub study: StudyInfo,
    /// The model every other model is compared with in [`Section::paired`].
    pub baseline: Computed<String>,
    /// Every submitted rating.
    pub overall: Section,
    /// The same, per item category.
    pub by_category: Vec<Breakdown>,
    /// The same, per rater specialty.
    pub by_specialty: Vec<Breakdown>,
    /// Every retraining round of the workspace that has an evaluation study,
    /// in round order: that study's figures with the round's base model as
    /// the baseline (the per-round trend). Empty when no round has been
    /// evaluated, and in reports built from rows alone ([`build_report`]).
    #[serde(default)]
    pub by_round: Vec<RoundBreakdown>,
    /// A methods paragraph stating every convention used.
    pub methods: String,
}

/// A [`Section`] of one group (a category, a specialty).
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Breakdown {
    /// The group, e.g. `treatment` or `dermatology`.
    pub group: String,
    /// Its figures.
    pub section: Section,
}

/// The figures of one retraining round: its latest evaluation study,
/// compared with the model the round fine-tuned.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoundBreakdown {
    /// The round's number (1, 2, …).
    pub round: i64,
    /// Its evaluation study (the latest, when it has several).
    pub study: String,
    /// The model the round produced (`BASE-rN`).
    pub model: Computed<String>,
    /// The model it fine-tuned: the baseline of [`Section::paired`] here.
    pub base_model: Computed<String>,
    /// The evaluation study's figures (submitted ratings).
    pub section: Section,
}

/// Every figure over one set of submitted ratings.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Section {
    /// Submitted ratings (one per rater × answer).
    pub ratings: u32,
    /// Distinct items rated.
    pub items: u32,
    /// Distinct raters.
    pub raters: u32,
    /// Per model, in the study's order.
    pub models: Vec<ModelStats>,
    /// Each model against the baseline, per axis.
    pub paired: Computed<Vec<PairedStats>>,
    /// Side-by-side preferences.
    pub preferences: Preferences,
    /// Agreement between raters, per axis.
    pub agreement: Vec<AxisAgreement>,
}

/// One model's figures.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelStats {
    /// Model name.
    pub model: String,
    /// Submitted ratings of its answers.
    pub ratings: u32,
    /// Per axis, in rubric order.
    pub axes: Vec<AxisStats>,
    /// Safety flags.
    pub harm: HarmResult,
}

/// Descriptive statistics of one model on one axis.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AxisStats {
    /// The axis.
    pub axis: Axis,
    /// Scores.
    pub n: u32,
    /// Mean.
    pub mean: Computed<f64>,
    /// Median.
    pub median: Computed<f64>,
    /// Sample standard deviation (n − 1).
    pub sd: Computed<f64>,
    /// Share (0–1) of scores ≥ 4.
    pub share_high: Computed<f64>,
    /// 95 % Student t-interval of the mean.
    pub t_ci: Computed<Interval95>,
    /// 95 % bootstrap percentile interval of the mean.
    pub bootstrap_ci: Computed<Interval95>,
    /// How many times each score 1..=5 was given.
    pub counts: [u32; 5],
}

/// Items left out of a paired comparison, and why.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Exclusion {
    /// Why.
    pub reason: String,
    /// How many items.
    pub items: u32,
}

/// One model against the baseline on one axis, over the items both were
/// scored on (per item, the mean over raters).
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairedStats {
    /// The model.
    pub model: String,
    /// The baseline.
    pub baseline: String,
    /// The axis.
    pub axis: Axis,
    /// Items both were scored on.
    pub items: u32,
    /// Items left out.
    pub excluded: Vec<Exclusion>,
    /// Mean of model − baseline.
    pub mean_difference: Computed<f64>,
    /// Its 95 % Student t-interval.
    pub ci: Computed<Interval95>,
    /// The Wilcoxon signed-rank test of the differences.
    pub wilcoxon: Computed<Wilcoxon>,
}

/// A Wilcoxon signed-rank test.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Wilcoxon {
    /// Non-zero differences (ranked).
    pub nonzero: u32,
    /// Zero differences (discarded).
    pub zeros: u32,
    /// Sum of the ranks of the positive differences.
    pub w_plus: f64,
    /// Sum of the ranks of the negative differences.
    pub w_minus: f64,
    /// Normal-approximation z (tie-corrected, no continuity correction).
    pub z: f64,
    /// Two-sided p-value.
    pub p: f64,
    /// `exact`, `permutation` or `normal`: how `p` was computed.
    pub method: String,
}

/// Preferences between the study's models.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Preferences {
    /// Win / tie / loss counts for each pair of models that met.
    pub pairs: Vec<PairCount>,
    /// Bradley–Terry fit.
    pub bradley_terry: Computed<BradleyTerry>,
}

/// How one pair of models fared against each other.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairCount {
    /// First model.
    pub a: String,
    /// Second model.
    pub b: String,
    /// Items where `a`'s answer was preferred.
    pub a_wins: u32,
    /// Items where `b`'s answer was preferred.
    pub b_wins: u32,
    /// Ties.
    pub ties: u32,
}

/// A Bradley–Terry fit of the preferences.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BradleyTerry {
    /// `maximum_likelihood` or `virtual_ties`.
    pub method: String,
    /// Log-likelihood of the observed comparisons.
    pub log_likelihood: f64,
    /// Pairwise comparisons.
    pub comparisons: u32,
    /// Per model, in the study's order.
    pub models: Vec<BradleyTerryModel>,
}

/// One model's Bradley–Terry share.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BradleyTerryModel {
    /// Model.
    pub model: String,
    /// Share of the total strength.
    pub share: Computed<f64>,
    /// Bootstrap 95 % interval of the share.
    pub ci: Computed<Interval95>,
    /// Comparisons it took part in.
    pub comparisons: u32,
}

/// Agreement between raters on one axis.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AxisAgreement {
    /// The axis.
    pub axis: Axis,
    /// Krippendorff's α, ordinal metric.
    pub alpha_ordinal: Computed<f64>,
    /// Krippendorff's α, interval metric.
    pub alpha_interval: Computed<f64>,
    /// Answers scored by two or more raters (α's units).
    pub pairable_units: u32,
    /// Scores on those answers.
    pub pairable_values: u32,
    /// ICC(2,1) and ICC(2,k) over the answers every rater scored.
    pub icc: Computed<IccStats>,
    /// Quadratic-weighted Cohen's κ for each pair of raters.
    pub kappa: Vec<KappaPair>,
}

/// Shrout & Fleiss ICC(2,1) and ICC(2,k).
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IccStats {
    /// Answers (rows).
    pub units: u32,
    /// Raters (columns).
    pub raters: u32,
    /// ICC(2,1).
    pub icc_single: f64,
    /// Its 95 % interval.
    pub icc_single_ci: Computed<Interval95>,
    /// ICC(2,k).
    pub icc_average: f64,
    /// Its 95 % interval.
    pub icc_average_ci: Computed<Interval95>,
    /// F = MS rows / MS error.
    pub f: f64,
    /// Numerator degrees of freedom.
    pub df1: f64,
    /// Denominator degrees of freedom.
    pub df2: f64,
    /// P(F > f).
    pub p: f64,
}

/// κ of one pair of raters.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KappaPair {
    /// First rater.
    pub rater_a: String,
    /// Second rater.
    pub rater_b: String,
    /// Answers both scored.
    pub units: u32,
    /// Quadratic-weighted κ on the fixed 1–5 scale.
    pub kappa: Computed<f64>,
}

/// FNV-1a, for per-model, per-axis bootstrap seeds that depend on names,
/// not on positions.
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// FNV-1a as a [`Hasher`](std::hash::Hasher) for the report's lookup tables
/// (item, rater and answer keys from the workspace): several times faster
/// than the default SipHash on short keys. Iteration order is never used
/// for a figure: every table is sorted before it is read in order.
#[derive(Default)]
pub(crate) struct Fnv(u64);

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let start = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        self.0 = bytes.iter().fold(start, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
    }
}

/// A hash map keyed with [`Fnv`].
pub(crate) type FnvMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<Fnv>>;

/// A hash set keyed with [`Fnv`].
pub(crate) type FnvSet<K> = HashSet<K, std::hash::BuildHasherDefault<Fnv>>;

/// The bootstrap seed of `model`'s scores on `axis` in a study seeded
/// `study_seed`.
pub fn bootstrap_seed(study_seed: i64, model: &str, axis: Axis) -> u64 {
    (study_seed as u64) ^ fnv1a(&format!("{model}\u{1f}{}", axis.as_str()))
}

fn model_stats(models: &[String], rows: &[&RatingExportRow], seed: i64) -> Vec<ModelStats> {
    models
        .iter()
        .map(|model| {
            let mine: Vec<&RatingExportRow> =
                rows.iter().copied().filter(|r| &r.model == model).collect();
            let axes = Axis::ALL
                .iter()
                .map(|&axis| {
                    let scores: Vec<i64> = mine
                        .iter()
                        .filter_map(|r| axis_score(r, axis))
                        .filter(|s| (1..=5).contains(s))
                        .collect();
                    let mut counts = [0u32; 5];
                    for s in &scores {
                        counts[(*s - 1) as usize] += 1;
                    }
                    let d = stats::describe(&scores, bootstrap_seed(seed, model, axis));
                    let none = || "no scores".to_owned();
                    let under2 = || format!("{} score(s); needs two or more", scores.len());
                    AxisStats {
                        axis,
                        n: scores.len() as u32,
                        mean: finite(d.mean, none),
                        median: finite(d.median, none),
                        sd: finite(d.sd, under2),
                        share_high: finite(d.share_high, none),
                        t_ci: interval(d.t_ci, under2),
                        bootstrap_ci: interval(d.bootstrap_ci, under2),
                        counts,
                    }
                })
                .collect();
            ModelStats {
                model: model.clone(),
                ratings: mine.len() as u32,
                axes,
                harm: HarmResult::of(&mine),
            }
        })
        .collect()
}

/// Per item, the mean over raters of `model`'s score on `axis`.
/// Each item's mean `axis` score over `rows` (one model's), sorted by item.
fn item_means<'a>(rows: &[&'a RatingExportRow], axis: Axis) -> Vec<(&'a str, f64)> {
    let mut sums: FnvMap<&'a str, (f64, f64)> = FnvMap::default();
    for r in rows {
        if let Some(s) = axis_score(r, axis).filter(|s| (1..=5).contains(s)) {
            let e = sums.entry(r.item.as_str()).or_default();
            e.0 += s as f64;
            e.1 += 1.0;
        }
    }
    let mut means: Vec<(&str, f64)> = sums.into_iter().map(|(k, (s, n))| (k, s / n)).collect();
    means.sort_unstable_by(|x, y| x.0.cmp(y.0));
    means
}

fn paired(models: &[String], baseline: &str, rows: &[&RatingExportRow]) -> Vec<PairedStats> {
    let mut out = Vec::new();
    // The baseline's per-item means, once per axis (not once per model).
    let of = |model: &str| -> Vec<&RatingExportRow> {
        rows.iter().copied().filter(|r| r.model == model).collect()
    };
    let base_rows = of(baseline);
    let base_means: Vec<FnvMap<&str, f64>> = Axis::ALL
        .iter()
        .map(|&axis| item_means(&base_rows, axis).into_iter().collect())
        .collect();
    for model in models.iter().filter(|m| m.as_str() != baseline) {
        let model_rows = of(model);
        for (&axis, base) in Axis::ALL.iter().zip(&base_means) {
            let cand = item_means(&model_rows, axis);
            let pairs: Vec<(f64, f64)> = cand
                .iter()
                .filter_map(|(item, c)| base.get(item).map(|b| (*c, *b)))
                .collect();
            let only_cand = (cand.len() - pairs.len()) as u32;
            let only_base = (base.len() - pairs.len()) as u32;
            let mut excluded = Vec::new();
            if only_cand > 0 {
                excluded.push(Exclusion {
                    reason: format!("scored for {model} but not for {baseline}"),
                    items: only_cand,
                });
            }
            if only_base > 0 {
                excluded.push(Exclusion {
                    reason: format!("scored for {baseline} but not for {model}"),
                    items: only_base,
                });
            }
            let pc = stats::paired_comparison(&pairs);
            let n = pairs.len();
            let none = || format!("no item was scored for both {model} and {baseline}");
            let under2 = || format!("{n} paired item(s); needs two or more");
            let wilcoxon = match pc.wilcoxon {
                Some(w) if w.z.is_finite() && w.p.is_finite() => Computed::Value(Wilcoxon {
                    nonzero: w.nonzero as u32,
                    zeros: w.zeros as u32,
                    w_plus: w.w_plus,
                    w_minus: w.w_minus,
                    z: w.z,
                    p: w.p,
                    method: match w.method {
                        SignedRankMethod::Exact => "exact",
                        SignedRankMethod::Permutation => "permutation",
                        SignedRankMethod::Normal => "normal",
                    }
                    .to_owned(),
                }),
                _ if n == 0 => Computed::NotComputable(none()),
                _ => Computed::NotComputable(format!(
                    "every one of the {n} paired differences is zero"
                )),
            };
            out.push(PairedStats {
                model: model.clone(),
                baseline: baseline.to_owned(),
                axis,
                items: n as u32,
                excluded,
                mean_difference: finite(pc.mean_difference, none),
                ci: interval(pc.ci, || if n == 0 { none() } else { under2() }),
                wilcoxon,
            });
        }
    }
    out
}

fn preferences(models: &[String], rows: &[&RatingExportRow]) -> Preferences {
    let per_item = comparisons(models, rows);
    let mut counts: BTreeMap<(usize, usize), [u32; 3]> = BTreeMap::new();
    for c in per_item.iter().flatten() {
        let (a, b, score) = if c.a < c.b {
            (c.a, c.b, c.score)
        } else {
            (c.b, c.a, 1.0 - c.score)
        };
        let e = counts.entry((a, b)).or_default();
        if score > 0.75 {
            e[0] += 1;
        } else if score < 0.25 {
            e[1] += 1;
        } else {
            e[2] += 1;
        }
    }
    let pairs = counts
        .into_iter()
        .map(|((a, b), [aw, bw, t])| PairCount {
            a: models[a].clone(),
            b: models[b].clone(),
            a_wins: aw,
            b_wins: bw,
            ties: t,
        })
        .collect();
    let total: usize = per_item.iter().map(Vec::len).sum();
    let bradley_terry = if total == 0 {
        Computed::NotComputable(
            "no side-by-side preference between two rated answers (ties count, \"all bad\" does not)"
                .into(),
        )
    } else {
        let (fit, strengths) = stats::strengths_fit(models.len(), &per_item);
        match fit.log_likelihood.filter(|l| l.is_finite()) {
            None => Computed::NotComputable("the fit did not converge to finite strengths".into()),
            Some(ll) => Computed::Value(BradleyTerry {
                method: match fit.method {
                    FitMethod::MaximumLikelihood => "maximum_likelihood",
                    FitMethod::VirtualTies => "virtual_ties",
                }
                .to_owned(),
                log_likelihood: ll,
                comparisons: total as u32,
                models: models
                    .iter()
                    .zip(strengths)
                    .map(|(m, s)| {
                        let why = || format!("{m} was never compared with another model");
                        BradleyTerryModel {
                            model: m.clone(),
                            share: finite(s.share, why),
                            ci: Computed::from_option(
                                s.ci_low
                                    .zip(s.ci_high)
                                    .filter(|(l, h)| l.is_finite() && h.is_finite())
                                    .map(|(low, high)| Interval95 { low, high }),
                                why,
                            ),
                            comparisons: s.comparisons,
                        }
                    })
                    .collect(),
            }),
        }
    };
    Preferences {
        pairs,
        bradley_terry,
    }
}

fn agreement(rows: &[&RatingExportRow]) -> Vec<AxisAgreement> {
    let raters: BTreeSet<&str> = rows
        .iter()
        .map(|r| r.rater.as_str())
        .collect::<FnvSet<_>>()
        .into_iter()
        .collect();
    let all_raters: Vec<&str> = raters.into_iter().collect();
    let index: FnvMap<&str, usize> = all_raters
        .iter()
        .enumerate()
        .map(|(i, r)| (*r, i))
        .collect();
    Axis::ALL
        .iter()
        .map(|&axis| {
            // answer → each rater's score (by rater index), answers in id order
            let mut by_answer: FnvMap<GenerationId, Vec<Option<i64>>> = FnvMap::default();
            for r in rows {
                if let Some(v) = axis_score(r, axis).filter(|s| (1..=5).contains(s)) {
                    by_answer
                        .entry(r.generation_id)
                        .or_insert_with(|| vec![None; all_raters.len()])[index[r.rater.as_str()]] =
                        Some(v);
                }
            }
            let mut by_answer: Vec<(GenerationId, Vec<Option<i64>>)> =
                by_answer.into_iter().collect();
            by_answer.sort_unstable_by_key(|(id, _)| *id);
            let units: Vec<Vec<i64>> = by_answer
                .iter()
                .map(|(_, m)| m.iter().flatten().copied().collect())
                .collect();
            let alpha_why = |a: &stats::Alpha| {
                if a.pairable_units < 2 {
                    format!(
                        "{} answer(s) scored by two or more raters; α needs two or more",
                        a.pairable_units
                    )
                } else {
                    "every pairable score is the same, so there is no variation to agree on"
                        .to_owned()
                }
            };
            let ord = stats::krippendorff_alpha(&units, AlphaMetric::Ordinal);
            let int = stats::krippendorff_alpha(&units, AlphaMetric::Interval);
            // The raters who scored this axis at all.
            let present: Vec<usize> = (0..all_raters.len())
                .filter(|&i| by_answer.iter().any(|(_, m)| m[i].is_some()))
                .collect();
            let icc = icc(&by_answer, &present);
            let mut kappa = Vec::new();
            for (x, &a) in present.iter().enumerate() {
                for &b in &present[x + 1..] {
                    let pairs: Vec<(i64, i64)> = by_answer
                        .iter()
                        .filter_map(|(_, m)| Some((m[a]?, m[b]?)))
                        .collect();
                    let n = pairs.len();
                    kappa.push(KappaPair {
                        rater_a: all_raters[a].to_owned(),
                        rater_b: all_raters[b].to_owned(),
                        units: n as u32,
                        kappa: finite(stats::cohen_kappa_quadratic(&pairs), || {
                            if n == 0 {
                                "the two raters scored no answer in common".to_owned()
                            } else {
                                format!(
                                    "both raters gave all {n} common answers one and the same score"
                                )
                            }
                        }),
                    });
                }
            }
            AxisAgreement {
                axis,
                alpha_ordinal: finite(ord.alpha, || alpha_why(&ord)),
                alpha_interval: finite(int.alpha, || alpha_why(&int)),
                pairable_units: ord.pairable_units as u32,
                pairable_values: ord.pairable_values as u32,
                icc,
                kappa,
            }
        })
        .collect()
}

/// ICC over the answers every rater in `raters` (indices into each answer's
/// scores) scored.
fn icc(by_answer: &[(GenerationId, Vec<Option<i64>>)], raters: &[usize]) -> Computed<IccStats> {
    let k = raters.len();
    if k < 2 {
        return Computed::NotComputable(format!("{k} rater(s); ICC needs two or more"));
    }
    let matrix: Vec<Vec<f64>> = by_answer
        .iter()
        .filter_map(|(_, m)| raters.iter().map(|&r| m[r].map(|v| v as f64)).collect())
        .collect();
    if matrix.len() < 2 {
        return Computed::NotComputable(format!(
            "{} answer(s) were scored by all {k} raters; ICC needs two or more",
            matrix.len()
        ));
    }
    let n = matrix.len();
    match stats::icc_two_way_random(&matrix) {
        Some(i) if i.single.icc.is_finite() && i.average.icc.is_finite() && i.p.is_finite() => {
            let why = || "its Satterthwaite degrees of freedom are not positive".to_owned();
            Computed::Value(IccStats {
                units: i.units as u32,
                raters: i.raters as u32,
                icc_single: i.single.icc,
                icc_single_ci: interval(i.single.ci, why),
                icc_average: i.average.icc,
                icc_average_ci: interval(i.average.ci, why),
                f: i.f,
                df1: i.df1,
                df2: i.df2,
                p: i.p,
            })
        }
        _ => Computed::NotComputable(format!(
            "no residual variation over the {n} answers all {k} raters scored (each rater's scores equal another's plus a constant)"
        )),
    }
}

fn section(
    models: &[String],
    baseline: Option<&str>,
    rows: &[&RatingExportRow],
    seed: i64,
    baseline_why: &str,
) -> Section {
    let items: FnvSet<&str> = rows.iter().map(|r| r.item.as_str()).collect();
    let raters: FnvSet<&str> = rows.iter().map(|r| r.rater.as_str()).collect();
    Section {
        ratings: rows.len() as u32,
        items: items.len() as u32,
        raters: raters.len() as u32,
        models: model_stats(models, rows, seed),
        paired: match baseline {
            Some(b) if models.len() < 2 => Computed::NotComputable(format!(
                "the study has one model ({b}); there is nothing to compare it with"
            )),
            Some(b) => Computed::Value(paired(models, b, rows)),
            None => Computed::NotComputable(baseline_why.to_owned()),
        },
        preferences: preferences(models, rows),
        agreement: agreement(rows),
    }
}

/// Builds the report of `study` from its rating `rows`, comparing every
/// model with `baseline` (a name; one not in the study makes the paired
/// comparisons not computable, with the reason).
pub fn build_report(
    study: &StudyRecord,
    models: &[String],
    rows: &[RatingExportRow],
    baseline: Option<&str>,
) -> Report {
    let submitted: Vec<&RatingExportRow> = rows
        .iter()
        .filter(|r| r.status == AssignmentStatus::Submitted)
        .collect();
    let listed = models
        .iter()
        .map(|m| format!("{m:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    let (baseline_field, chosen) = match baseline {
        Some(b) if models.iter().any(|m| m == b) => (Computed::Value(b.to_owned()), Some(b)),
        Some(b) => (
            Computed::NotComputable(format!(
                "{b:?} is not a model of this study (its models: {listed})"
            )),
            None,
        ),
        None => (
            Computed::NotComputable(format!(
                "no baseline chosen and none of the study's models has the baseline role; choose one of {listed}"
            )),
            None,
        ),
    };
    let why = match &baseline_field {
        Computed::NotComputable(w) => format!("no baseline: {w}"),
        Computed::Value(_) => String::new(),
    };
    let seed = study.seed;
    let mut raters: BTreeMap<&str, Specialty> = BTreeMap::new();
    for r in &submitted {
        raters.insert(&r.rater, r.specialty);
    }
    let group = |key: &dyn Fn(&RatingExportRow) -> String| -> Vec<Breakdown> {
        let mut groups: BTreeMap<String, Vec<&RatingExportRow>> = BTreeMap::new();
        for r in &submitted {
            groups.entry(key(r)).or_default().push(r);
        }
        groups
            .into_iter()
            .map(|(g, rows)| Breakdown {
                group: g,
                section: section(models, chosen, &rows, seed, &why),
            })
            .collect()
    };
    Report {
        schema: REPORT_SCHEMA.to_owned(),
        generator: format!("llm4sweat {}", env!("CARGO_PKG_VERSION")),
        study: StudyInfo {
            name: study.name.clone(),
            status: study.status.as_str().to_owned(),
            created_at: study.created_at.clone(),
            seed,
            overlap: study.overlap,
            models: models.to_vec(),
            raters: raters
                .into_iter()
                .map(|(name, specialty)| RaterInfo {
                    name: name.to_owned(),
                    specialty,
                })
                .collect(),
            rubric: study.rubric.clone(),
        },
        baseline: baseline_field,
        overall: section(models, chosen, &submitted, seed, &why),
        by_category: group(&|r| r.category.clone()),
        by_specialty: group(&|r| r.specialty.as_str().to_owned()),
        by_round: Vec::new(),
        methods: methods_paragraph(),
    }
}

/// The report of study `study_id`. `baseline`: a model name; without one,
/// the first of the study's models registered with the baseline role.
pub fn study_report(
    store: &Store,
    study: &StudyRecord,
    baseline: Option<&str>,
) -> Result<Report, ReviewError> {
    let names = store.study_model_names(study.id)?;
    let rows = store.study_rating_rows(study.id)?;
    let default = match baseline {
        Some(_) => None,
        None => {
            let models = store.models()?;
            names
                .iter()
                .find(|n| {
                    models
                        .iter()
                        .any(|m| &&m.name == n && m.role == crate::vocab::ModelRole::Baseline)
                })
                .cloned()
        }
    };
    let mut report = build_report(study, &names, &rows, baseline.or(default.as_deref()));
    report.by_round = round_breakdowns(store)?;
    Ok(report)
}

/// [`Report::by_round`]: every round with an evaluation study, in round
/// order, each study's submitted ratings compared with the round's base
/// model.
pub fn round_breakdowns(store: &Store) -> Result<Vec<RoundBreakdown>, ReviewError> {
    let studies = store.studies()?;
    let models = store.models()?;
    let name_of = |id: Option<crate::ids::ModelId>, what: &str| -> Computed<String> {
        match id.and_then(|id| models.iter().find(|m| m.id == id)) {
            Some(m) => Computed::Value(m.name.clone()),
            None => Computed::NotComputable(format!("the round has no {what}")),
        }
    };
    let mut out = Vec::new();
    for round in store.rounds()? {
        let Some(study) = store
            .round_studies(round.id)?
            .last()
            .and_then(|name| studies.iter().find(|s| &s.name == name))
        else {
            continue;
        };
        let names = store.study_model_names(study.id)?;
        let rows = store.study_rating_rows(study.id)?;
        let submitted: Vec<&RatingExportRow> = rows
            .iter()
            .filter(|r| r.status == AssignmentStatus::Submitted)
            .collect();
        let base_model = name_of(round.base_model_id, "base model");
        let (baseline, why) = match &base_model {
            Computed::Value(b) if names.contains(b) => (Some(b.as_str()), String::new()),
            Computed::Value(b) => (
                None,
                format!("the round's base model {b} is not a model of its study"),
            ),
            Computed::NotComputable(w) => (None, w.clone()),
        };
        out.push(RoundBreakdown {
            round: round.number,
            study: study.name.clone(),
            model: name_of(round.output_model_id, "output model (it is not trained)"),
            section: section(&names, baseline, &submitted, study.seed, &why),
            base_model,
        });
    }
    Ok(out)
}

/// The methods paragraph: every convention the figures follow.
pub fn methods_paragraph() -> String {
    format!(
        "Only items a rater submitted count. Scores are on 1–5 scales (accuracy, appropriateness, empathy). \
For each model and axis we report n, mean, median, sample standard deviation (n − 1), the share of scores ≥ {high}, \
a 95 % Student t-interval of the mean (mean ± t(0.975, n − 1)·s/√n) and a 95 % bootstrap percentile interval \
({boot} resamples with replacement, each drawn as multinomial counts per score level, seeded from the study's seed \
and the model and axis names; percentiles by linear interpolation, Hyndman & Fan type 7). Each model is compared with the baseline on the items both were scored on, \
taking per item the mean over raters; items scored for only one of the two are left out and counted. We report the \
mean difference (model − baseline) with its 95 % t-interval and the two-sided Wilcoxon signed-rank test with zero \
differences discarded (SciPy's zero_method=\"wilcox\"): the exact null distribution when there are at most 50 \
differences and no zeros or ties, an exhaustive permutation over the observed ranks when there are at most 13 \
differences with zeros or ties, and otherwise the normal approximation with the tie correction and no continuity \
correction; W+, W−, z and p are given. Side-by-side preferences give, per pair of answers to an item, a win for the \
preferred answer or half a win to each on a tie (\"all bad\" is left out). Bradley–Terry strengths are the plain \
maximum-likelihood fit (minorization–maximization, Hunter 2004) when the comparison graph is strongly connected, \
otherwise every pair that met gets one virtual tie, a stated prior that keeps strengths finite; the log-likelihood \
of the observed comparisons is reported, and 95 % intervals come from {bt} bootstrap resamples of items (a fixed \
seed, items in a canonical order so that the result does not depend on how they are numbered; percentiles by \
nearest rank). Agreement per axis: \
Krippendorff's α with the ordinal and the interval metric over answers scored by two or more raters (missing \
ratings allowed; Krippendorff 2011), ICC(2,1) and ICC(2,k) (Shrout & Fleiss 1979; two-way random effects, absolute \
agreement) on the answers every rater scored, with F, its degrees of freedom, p and the 95 % intervals of McGraw & \
Wong (1996), and Cohen's κ with quadratic weights for each pair of raters on the answers both scored, on the fixed \
1–5 scale. A figure that cannot be computed is reported as such, with the reason.",
        high = stats::HIGH_SCORE,
        boot = stats::DESCRIBE_BOOTSTRAP_RESAMPLES,
        bt = stats::BOOTSTRAP_RESAMPLES,
    )
}

#[cfg(test)]
mod tests;
