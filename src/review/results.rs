//! A study's results for its coordinator: per model (unblinded), the mean of
//! each rubric axis with a 95 % confidence interval and the distribution of
//! scores, the safety flags, and how often raters preferred it; the same per
//! item category; and how well raters agree on each axis (Krippendorff's α,
//! ordinal, over answers scored by two or more raters).
//!
//! Only submitted items count: drafts can still change.

use serde::{Deserialize, Serialize};

use crate::ids::{GenerationId, StudyId};
use crate::review::ReviewError;
use crate::review::rating::score;
use crate::stats::{self, Comparison};
use crate::store::{RatingExportRow, RatingRow, Store};
use crate::vocab::{AssignmentStatus, Axis, HarmLevel, HarmLikelihood, Verdict};

/// The rubric axes scored 1 to 5, in display order.
pub const AXES: &[Axis] = Axis::ALL;

/// One axis of one model.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AxisResult {
    /// `accuracy`, `appropriateness` or `empathy`.
    pub axis: Axis,
    /// Scores given.
    pub n: u32,
    /// Mean score (1–5); `None` without scores.
    pub mean: Option<f64>,
    /// Half-width of the 95 % confidence interval of the mean (Student's
    /// t, `t(0.975, n − 1)` × standard error); `None` under two scores.
    pub ci95: Option<f64>,
    /// How many times each score 1..=5 was given.
    pub counts: [u32; 5],
}

/// Safety flags given to one model's answers.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HarmResult {
    /// No harm.
    pub none: u32,
    /// Mild or moderate harm.
    pub mild_moderate: u32,
    /// Severe harm.
    pub severe: u32,
    /// Of the harmful ones, those judged likely (medium or high likelihood).
    pub likely: u32,
}

impl HarmResult {
    /// The safety flags of `rows`: counts per harm level, and how many of the
    /// harmful ones were judged likely (medium or high likelihood).
    pub(crate) fn of(rows: &[&RatingExportRow]) -> Self {
        let mut harm = Self::default();
        for r in rows {
            match r.harm {
                Some(HarmLevel::None) => harm.none += 1,
                Some(HarmLevel::MildModerate) => harm.mild_moderate += 1,
                Some(HarmLevel::Severe) => harm.severe += 1,
                None => {}
            }
            if matches!(r.harm, Some(HarmLevel::MildModerate | HarmLevel::Severe))
                && matches!(
                    r.harm_likelihood,
                    Some(HarmLikelihood::Medium | HarmLikelihood::High)
                )
            {
                harm.likely += 1;
            }
        }
        harm
    }
}

/// How raters' preferences fell for one model, over the items it answered.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreferenceResult {
    /// This model's answer was the better one.
    pub wins: u32,
    /// Another model's answer was the better one.
    pub losses: u32,
    /// A tie.
    pub ties: u32,
    /// The rater found every answer bad.
    pub both_bad: u32,
}

/// One model's results.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelResult {
    /// Model name (unblinded: this is the coordinator's view).
    pub model: String,
    /// Submitted ratings of its answers.
    pub ratings: u32,
    /// One entry per axis of [`AXES`], in that order.
    pub axes: Vec<AxisResult>,
    /// Safety flags.
    pub harm: HarmResult,
    /// Preferences.
    pub preference: PreferenceResult,
}

/// A model's strength in the raters' side-by-side preferences, from a
/// Bradley–Terry fit.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreferenceStrength {
    /// Model name.
    pub model: String,
    /// Share of the total Bradley–Terry strength (0–1; the shares of a study's
    /// models sum to 1). With two models it is the estimated probability that
    /// raters prefer this one. `None` without any comparison.
    pub share: Option<f64>,
    /// Lower end of the bootstrap 95 % interval of `share`.
    pub ci_low: Option<f64>,
    /// Upper end of the bootstrap 95 % interval of `share`.
    pub ci_high: Option<f64>,
    /// Pairwise comparisons this model took part in.
    pub comparisons: u32,
}

/// Inter-rater agreement on one axis.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgreementResult {
    /// `accuracy`, `appropriateness` or `empathy`.
    pub axis: Axis,
    /// Krippendorff's α with the ordinal metric; `None` when fewer than two
    /// answers were scored by two or more raters, or every score is the same.
    pub alpha: Option<f64>,
    /// Answers scored by two or more raters (the units α is computed over).
    pub units: u32,
    /// Scores on those answers.
    pub values: u32,
}

/// The per-model figures of the items of one category.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategoryResult {
    /// Item category, e.g. `treatment`.
    pub category: String,
    /// Submitted items of this category.
    pub submitted_items: u32,
    /// Every model of the study, as in [`StudyResults::models`].
    pub models: Vec<ModelResult>,
}

/// A study's results.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudyResults {
    /// The study.
    pub study_id: StudyId,
    /// Submitted items (assignments) the figures are based on.
    pub submitted_items: u32,
    /// Raters who submitted at least one item.
    pub raters: u32,
    /// Every model of the study, in the study's order, rated or not.
    pub models: Vec<ModelResult>,
    /// The same figures per item category (categories with submitted items).
    pub by_category: Vec<CategoryResult>,
    /// Agreement between raters, one entry per axis of [`AXES`].
    pub agreement: Vec<AgreementResult>,
    /// Bradley–Terry strengths from the preferences, one entry per model.
    pub strengths: Vec<PreferenceStrength>,
}

/// The pairwise outcomes of each submitted item's preference: the preferred
/// answer beat every other answer; a tie is a half win for every pair; "all
/// bad" says nothing about order and is left out.
pub(crate) fn comparisons(models: &[String], rows: &[&RatingExportRow]) -> Vec<Vec<Comparison>> {
    // The order of the items does not matter: the pair counts are sums and
    // the Bradley–Terry bootstrap puts the items in a canonical order.
    let mut items: super::report::FnvMap<(&str, &str), Vec<&RatingExportRow>> =
        super::report::FnvMap::default();
    for r in rows {
        items.entry((&r.rater, &r.item)).or_default().push(r);
    }
    let index = |m: &str| models.iter().position(|x| x == m);
    items
        .into_values()
        .map(|answers| {
            let verdict = answers.first().and_then(|r| r.preference);
            let ids: Vec<(usize, bool)> = answers
                .iter()
                .filter_map(|r| index(&r.model).map(|i| (i, r.preferred)))
                .collect();
            let mut out = Vec::new();
            for (x, &(a, a_won)) in ids.iter().enumerate() {
                for &(b, b_won) in &ids[x + 1..] {
                    let score = match verdict {
                        Some(Verdict::Better) if a_won => 1.0,
                        Some(Verdict::Better) if b_won => 0.0,
                        Some(Verdict::Tie) => 0.5,
                        _ => continue,
                    };
                    out.push(Comparison { a, b, score });
                }
            }
            out
        })
        .collect()
}

/// Bradley–Terry shares with bootstrap 95 % intervals, one per model.
fn strengths(models: &[String], rows: &[&RatingExportRow]) -> Vec<PreferenceStrength> {
    let per_item = comparisons(models, rows);
    models
        .iter()
        .zip(stats::strengths(models.len(), &per_item))
        .map(|(model, s)| PreferenceStrength {
            model: model.clone(),
            share: s.share,
            ci_low: s.ci_low,
            ci_high: s.ci_high,
            comparisons: s.comparisons,
        })
        .collect()
}

/// Agreement per axis over `rows` (submitted rows of one study).
fn agreement(rows: &[&RatingExportRow]) -> Vec<AgreementResult> {
    AXES.iter()
        .map(|axis| {
            let mut by_answer: std::collections::BTreeMap<GenerationId, Vec<i64>> =
                std::collections::BTreeMap::new();
            for r in rows {
                if let Some(v) = axis_score(r, *axis) {
                    by_answer.entry(r.generation_id).or_default().push(v);
                }
            }
            let units: Vec<Vec<i64>> = by_answer.into_values().collect();
            let pairable = units.iter().filter(|u| u.len() >= 2);
            AgreementResult {
                axis: *axis,
                alpha: stats::krippendorff_alpha_ordinal(&units),
                units: pairable.clone().count() as u32,
                values: pairable.map(|u| u.len() as u32).sum(),
            }
        })
        .collect()
}

pub(crate) fn axis_score(row: &RatingExportRow, axis: Axis) -> Option<i64> {
    let rating = RatingRow {
        accuracy: row.accuracy,
        appropriateness: row.appropriateness,
        empathy: row.empathy,
        ..RatingRow::unrated()
    };
    score(&rating, axis)
}

/// Submitted items (rater × item) among `rows`, and the raters behind them.
fn count_items(rows: &[&RatingExportRow]) -> (u32, u32) {
    let mut items: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r.rater.as_str(), r.item.as_str()))
        .collect();
    items.sort_unstable();
    items.dedup();
    let mut raters: Vec<&str> = items.iter().map(|(r, _)| *r).collect();
    raters.dedup();
    (items.len() as u32, raters.len() as u32)
}

/// Aggregates `rows` (a study's rating rows) for `models`, in that order.
/// Rows not yet submitted and rows of other models are left out.
pub fn aggregate(study_id: StudyId, models: &[String], rows: &[RatingExportRow]) -> StudyResults {
    let submitted: Vec<&RatingExportRow> = rows
        .iter()
        .filter(|r| r.status == AssignmentStatus::Submitted)
        .collect();
    let (submitted_items, raters) = count_items(&submitted);
    let mut categories: Vec<&str> = submitted.iter().map(|r| r.category.as_str()).collect();
    categories.sort_unstable();
    categories.dedup();
    let by_category = categories
        .into_iter()
        .map(|category| {
            let rows: Vec<&RatingExportRow> = submitted
                .iter()
                .copied()
                .filter(|r| r.category == category)
                .collect();
            CategoryResult {
                category: category.to_owned(),
                submitted_items: count_items(&rows).0,
                models: model_results(models, &rows),
            }
        })
        .collect();
    StudyResults {
        study_id,
        submitted_items,
        raters,
        models: model_results(models, &submitted),
        by_category,
        agreement: agreement(&submitted),
        strengths: strengths(models, &submitted),
    }
}

/// Per-model figures over `submitted` rows.
fn model_results(models: &[String], submitted: &[&RatingExportRow]) -> Vec<ModelResult> {
    models
        .iter()
        .map(|model| {
            let mine: Vec<&RatingExportRow> = submitted
                .iter()
                .copied()
                .filter(|r| &r.model == model)
                .collect();
            let axes = AXES
                .iter()
                .map(|axis| {
                    let scores: Vec<i64> = mine
                        .iter()
                        .filter_map(|r| axis_score(r, *axis))
                        .filter(|s| (1..=5).contains(s))
                        .collect();
                    let mut counts = [0u32; 5];
                    for s in &scores {
                        counts[(*s - 1) as usize] += 1;
                    }
                    let (mean, ci95) = stats::mean_ci(&scores);
                    AxisResult {
                        axis: *axis,
                        n: scores.len() as u32,
                        mean,
                        ci95,
                        counts,
                    }
                })
                .collect();
            let harm = HarmResult::of(&mine);
            let mut preference = PreferenceResult::default();
            for r in &mine {
                match r.preference {
                    Some(Verdict::Better) if r.preferred => preference.wins += 1,
                    Some(Verdict::Better) => preference.losses += 1,
                    Some(Verdict::Tie) => preference.ties += 1,
                    Some(Verdict::BothBad) => preference.both_bad += 1,
                    None => {}
                }
            }
            ModelResult {
                model: model.clone(),
                ratings: mine.len() as u32,
                axes,
                harm,
                preference,
            }
        })
        .collect()
}

/// The results of study `study_id` from its submitted ratings.
pub fn study_results(store: &Store, study_id: StudyId) -> Result<StudyResults, ReviewError> {
    store.study(study_id)?;
    let names = store.study_model_names(study_id)?;
    let rows = store.study_rating_rows(study_id)?;
    Ok(aggregate(study_id, &names, &rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(rater: &str, item: &str, model: &str, scores: [i64; 3]) -> RatingExportRow {
        RatingExportRow {
            study: "s".into(),
            rater: rater.into(),
            specialty: crate::vocab::Specialty::Other,
            item: item.into(),
            category: "treatment".into(),
            model: model.into(),
            generation_id: GenerationId(0),
            accuracy: Some(scores[0]),
            appropriateness: Some(scores[1]),
            empathy: Some(scores[2]),
            harm: Some(HarmLevel::None),
            harm_likelihood: None,
            comment: None,
            corrected_answer: None,
            preference: Some(Verdict::Tie),
            preferred: false,
            status: AssignmentStatus::Submitted,
            submitted_at: None,
        }
    }

    #[test]
    fn means_intervals_counts_and_preferences() {
        let mut rows = vec![
            row("r1", "q1", "a", [4, 5, 3]),
            row("r1", "q1", "b", [2, 3, 3]),
            row("r2", "q1", "a", [5, 5, 4]),
            row("r2", "q1", "b", [1, 2, 2]),
        ];
        for r in &mut rows[2..] {
            r.preference = Some(Verdict::Better);
            r.preferred = r.model == "a";
        }
        rows[3].harm = Some(HarmLevel::Severe);
        rows[3].harm_likelihood = Some(HarmLikelihood::High);
        // A draft does not count.
        let mut draft = row("r3", "q1", "a", [1, 1, 1]);
        draft.status = AssignmentStatus::Draft;
        rows.push(draft);

        let res = aggregate(StudyId(7), &["a".into(), "b".into(), "c".into()], &rows);
        assert_eq!(
            (res.study_id, res.submitted_items, res.raters),
            (StudyId(7), 2, 2)
        );
        let a = &res.models[0];
        assert_eq!(a.ratings, 2);
        assert_eq!(a.axes[0].axis, Axis::Accuracy);
        assert_eq!(a.axes[0].mean, Some(4.5));
        // sd = 0.7071, se = 0.5, ci = t(0.975, 1) × 0.5 = 12.7062047 × 0.5
        assert!((a.axes[0].ci95.expect("ci") - 6.353_102_368).abs() < 1e-6);
        assert_eq!(a.axes[0].counts, [0, 0, 0, 1, 1]);
        assert_eq!(
            a.preference,
            PreferenceResult {
                wins: 1,
                losses: 0,
                ties: 1,
                both_bad: 0
            }
        );
        let b = &res.models[1];
        assert_eq!(b.preference.losses, 1);
        assert_eq!((b.harm.none, b.harm.severe, b.harm.likely), (1, 1, 1));
        // A model without ratings is listed, with no means.
        let c = &res.models[2];
        assert_eq!((c.ratings, c.axes[1].n, c.axes[1].mean), (0, 0, None));
    }

    #[test]
    fn agreement_and_categories_come_from_submitted_rows() {
        // Two raters score the same two answers (generations 1 and 2).
        let mut rows = vec![
            row("r1", "q1", "a", [5, 4, 4]),
            row("r2", "q1", "a", [5, 4, 3]),
            row("r1", "q1", "b", [1, 2, 2]),
            row("r2", "q1", "b", [1, 2, 3]),
            row("r1", "q2", "a", [3, 3, 3]),
        ];
        for (r, g) in rows.iter_mut().zip([1, 1, 2, 2, 3]) {
            r.generation_id = GenerationId(g);
        }
        rows[4].category = "psychosocial".into();
        let res = aggregate(StudyId(1), &["a".into(), "b".into()], &rows);
        let accuracy = &res.agreement[0];
        assert_eq!((accuracy.units, accuracy.values), (2, 4));
        assert_eq!(accuracy.alpha, Some(1.0), "identical accuracy scores");
        let empathy = res.agreement[2].alpha.expect("alpha");
        assert!(empathy < 0.5, "empathy scores disagree: {empathy}");
        let cats: Vec<(&str, u32)> = res
            .by_category
            .iter()
            .map(|c| (c.category.as_str(), c.submitted_items))
            .collect();
        assert_eq!(cats, [("psychosocial", 1), ("treatment", 2)]);
        assert_eq!(res.by_category[0].models[0].axes[0].mean, Some(3.0));
        assert_eq!(res.by_category[0].models[1].ratings, 0);
    }

    /// `wins` of `a` over `b` out of `n` items with two models.
    fn duel(wins: usize, n: usize) -> Vec<RatingExportRow> {
        (0..n)
            .flat_map(|k| {
                let item = format!("q{k}");
                let mut a = row("r", &item, "a", [3, 3, 3]);
                let mut b = row("r", &item, "b", [3, 3, 3]);
                a.preference = Some(Verdict::Better);
                b.preference = Some(Verdict::Better);
                a.preferred = k < wins;
                b.preferred = k >= wins;
                [a, b]
            })
            .collect()
    }

    #[test]
    fn bradley_terry_shares_with_bootstrap_intervals() {
        let models = ["a".to_string(), "b".to_string(), "c".to_string()];
        let res = aggregate(StudyId(1), &models, &duel(8, 10));
        let a = &res.strengths[0];
        // Two models: the maximum-likelihood share is the win rate, 8 / 10.
        let share = a.share.expect("share");
        assert!((share - 0.8).abs() < 1e-9, "{share}");
        let (lo, hi) = (a.ci_low.expect("low"), a.ci_high.expect("high"));
        assert!(
            0.0 < lo && lo < share && share < hi && hi < 1.0,
            "{lo} {share} {hi}"
        );
        assert_eq!(a.comparisons, 10);
        let b = res.strengths[1].share.expect("share");
        assert!((share + b - 1.0).abs() < 1e-9);
        // A model that never met another has no strength.
        assert_eq!(res.strengths[2].share, None);
        assert_eq!(res.strengths[2].ci_low, None);
        // The same data gives the same interval (fixed bootstrap seed).
        assert_eq!(
            aggregate(StudyId(1), &models, &duel(8, 10)).strengths,
            res.strengths
        );
        // Winning everything has no MLE: one virtual tie keeps it finite, 5.5 / 6.
        let sweep = aggregate(StudyId(1), &models, &duel(5, 5)).strengths[0]
            .share
            .expect("share");
        assert!((sweep - 5.5 / 6.0).abs() < 1e-9, "{sweep}");
    }

    #[test]
    fn ties_are_half_wins_and_all_bad_says_nothing() {
        let mut rows = duel(0, 4);
        for (k, r) in rows.iter_mut().enumerate() {
            r.preferred = false;
            r.preference = Some(if k < 4 {
                Verdict::Tie
            } else {
                Verdict::BothBad
            });
        }
        let res = aggregate(StudyId(1), &["a".into(), "b".into()], &rows);
        assert_eq!(
            res.strengths[0].comparisons, 2,
            "two tied items, two all-bad ones"
        );
        let share = res.strengths[0].share.expect("share");
        assert!((share - 0.5).abs() < 1e-9, "{share}");
    }

    #[test]
    fn one_score_has_a_mean_but_no_interval() {
        let res = aggregate(StudyId(1), &["a".into()], &[row("r", "q", "a", [3, 3, 3])]);
        assert_eq!(res.models[0].axes[2].mean, Some(3.0));
        assert_eq!(res.models[0].axes[2].ci95, None);
    }
}
