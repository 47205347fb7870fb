//! Paired comparison of a model against a baseline: the mean difference
//! with its t-interval, and the Wilcoxon signed-rank test.

use super::distributions::normal_sf;
use super::intervals::{Interval, mean, t_interval};

/// Differences (and gaps between absolute differences) at most this far
/// apart, relative to the larger magnitude and at least absolutely, count as
/// equal: see [`wilcoxon_signed_rank`].
const TIE_TOLERANCE: f64 = 1e-9;

/// Largest number of differences (zeros included) for which the signed-rank
/// test may use an exact null distribution, as in SciPy's `method="auto"`.
const EXACT_MAX_N: usize = 50;

/// Largest number of differences (zeros included) for which the signed-rank
/// test with ties or zeros enumerates every sign assignment, as SciPy's
/// `method="auto"` does with a permutation test (2¹³ = 8192 assignments, under
/// its default 9999 resamples, so SciPy's answer is exact too).
const PERMUTATION_MAX_N: usize = 13;

/// How the p-value of a [`SignedRank`] test was computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignedRankMethod {
    /// The exact null distribution of W+ over the 2ⁿ equally likely sign
    /// assignments of the ranks 1..=n (no ties, no zeros).
    Exact,
    /// The same enumeration of sign assignments, over the observed (average)
    /// ranks of the non-zero differences, ties and all: the exact
    /// permutation distribution of W+ given the ranks.
    Permutation,
    /// The normal approximation with the tie correction and no continuity
    /// correction.
    Normal,
}

/// The Wilcoxon signed-rank test of paired differences; see
/// [`wilcoxon_signed_rank`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SignedRank {
    /// Non-zero differences: the ones ranked.
    pub nonzero: usize,
    /// Zero differences, discarded before ranking.
    pub zeros: usize,
    /// Sum of the ranks of the positive differences.
    pub w_plus: f64,
    /// Sum of the ranks of the negative differences
    /// (`w_plus + w_minus = nonzero·(nonzero + 1)/2`).
    pub w_minus: f64,
    /// The normal approximation's `z = (W+ − n(n+1)/4) / σ`, given whatever
    /// `method` is: positive when the positive differences dominate. (SciPy
    /// reports `−|z|` as `zstatistic`, and only for its asymptotic method.)
    pub z: f64,
    /// Two-sided p-value, from `method`.
    pub p: f64,
    /// How `p` was computed.
    pub method: SignedRankMethod,
}

/// A candidate compared with a baseline over paired items; see
/// [`paired_comparison`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PairedComparison {
    /// Number of pairs.
    pub n: usize,
    /// Mean of `candidate − baseline`; `None` without pairs.
    pub mean_difference: Option<f64>,
    /// 95 % Student t-interval of the mean difference; `None` under two
    /// pairs.
    pub ci: Option<Interval>,
    /// The Wilcoxon signed-rank test of the differences; `None` when no
    /// difference is non-zero.
    pub wilcoxon: Option<SignedRank>,
}

/// Compares a candidate with a baseline on paired items, one
/// `(candidate, baseline)` pair per item (for instance each side's mean
/// score of the item; items missing a side are for the caller to leave
/// out). The differences are `candidate − baseline`.
pub fn paired_comparison(pairs: &[(f64, f64)]) -> PairedComparison {
    let differences: Vec<f64> = pairs.iter().map(|(c, b)| c - b).collect();
    PairedComparison {
        n: pairs.len(),
        mean_difference: mean(&differences),
        ci: t_interval(&differences),
        wilcoxon: wilcoxon_signed_rank(&differences),
    }
}

/// The two-sided Wilcoxon signed-rank test of `differences` with SciPy's
/// conventions for `scipy.stats.wilcoxon(d, zero_method="wilcox",
/// correction=False)` (SciPy 1.17, `method="auto"`).
///
/// Zero differences are discarded; the absolute non-zero differences are
/// ranked, ties getting their average rank; W+ and W− sum the ranks of the
/// positive and negative differences. With `N` the number of differences
/// passed in (zeros included) the p-value comes from, as in SciPy's auto
/// mode:
/// - [`SignedRankMethod::Exact`] when `N ≤ 50` and there are neither zeros
///   nor ties: `p = min(1, 2·min(P(W+ ≤ w), P(W+ ≥ w)))`;
/// - [`SignedRankMethod::Permutation`] when `N ≤ 13` and there are zeros or
///   ties: the same formula over all sign assignments of the observed
///   ranks (SciPy's permutation test, which is exhaustive at this size);
/// - [`SignedRankMethod::Normal`] otherwise: `z = (W+ − n(n+1)/4) / σ`
///   with `σ² = n(n+1)(2n+1)/24 − Σ(t³ − t)/48` over the tie groups (sizes
///   `t`) of the `n` non-zero differences, no continuity correction, and
///   `p = 2·P(Z > |z|)`.
///
/// Differences within 1e-9 of zero count as zero, and absolute differences
/// within a relative 1e-9 of each other as ties, so that differences of
/// means such as 13/3 − 11/3 and 10/3 − 8/3, equal but for rounding, tie as
/// they should (SciPy compares exactly, which agrees whenever the
/// differences are exactly representable). Returns `None` when no
/// difference is non-zero. Differences must be finite.
pub fn wilcoxon_signed_rank(differences: &[f64]) -> Option<SignedRank> {
    let nonzero: Vec<f64> = differences
        .iter()
        .copied()
        .filter(|d| d.abs() > TIE_TOLERANCE)
        .collect();
    if nonzero.is_empty() {
        return None;
    }
    let zeros = differences.len() - nonzero.len();
    let ranked = rank_absolute(&nonzero);
    let w_plus2: u64 = nonzero
        .iter()
        .zip(&ranked.doubled_ranks)
        .filter(|(d, _)| **d > 0.0)
        .map(|(_, r)| r)
        .sum();
    let n = nonzero.len() as f64;
    let total2 = nonzero.len() as u64 * (nonzero.len() as u64 + 1);
    let w_plus = w_plus2 as f64 / 2.0;
    let variance = n * (n + 1.0) * (2.0 * n + 1.0) / 24.0 - ranked.tie_sum / 48.0;
    let z = (w_plus - n * (n + 1.0) / 4.0) / variance.sqrt();
    let method = signed_rank_method(differences.len(), zeros, ranked.has_ties);
    let p = match method {
        SignedRankMethod::Normal => (2.0 * normal_sf(z.abs())).min(1.0),
        _ => exact_two_sided_p(&ranked.doubled_ranks, w_plus2),
    };
    Some(SignedRank {
        nonzero: nonzero.len(),
        zeros,
        w_plus,
        w_minus: (total2 - w_plus2) as f64 / 2.0,
        z,
        p,
        method,
    })
}

/// SciPy's `method="auto"` choice for `n` differences (zeros included).
fn signed_rank_method(n: usize, zeros: usize, has_ties: bool) -> SignedRankMethod {
    if n > EXACT_MAX_N {
        SignedRankMethod::Normal
    } else if zeros == 0 && !has_ties {
        SignedRankMethod::Exact
    } else if n <= PERMUTATION_MAX_N {
        SignedRankMethod::Permutation
    } else {
        SignedRankMethod::Normal
    }
}

/// Average ranks of absolute values, doubled so they are whole numbers.
struct Ranked {
    /// Twice the average rank of each value's magnitude, in input order.
    doubled_ranks: Vec<u64>,
    /// Σ(t³ − t) over the tie groups (sizes t).
    tie_sum: f64,
    /// Whether any two magnitudes tie.
    has_ties: bool,
}

/// Ranks `|values|` from 1 (smallest), ties (within [`TIE_TOLERANCE`])
/// sharing their average rank.
fn rank_absolute(values: &[f64]) -> Ranked {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&i, &j| values[i].abs().total_cmp(&values[j].abs()));
    let mut doubled_ranks = vec![0u64; values.len()];
    let mut tie_sum = 0.0;
    let mut start = 0;
    while start < order.len() {
        let first = values[order[start]].abs();
        let end = (start..order.len())
            .find(|&k| !same_magnitude(first, values[order[k]].abs()))
            .unwrap_or(order.len());
        // Ranks start + 1 ..= end share their average, (start + 1 + end) / 2.
        for &i in &order[start..end] {
            doubled_ranks[i] = (start + 1 + end) as u64;
        }
        let t = (end - start) as f64;
        tie_sum += t * t * t - t;
        start = end;
    }
    Ranked {
        doubled_ranks,
        tie_sum,
        has_ties: tie_sum > 0.0,
    }
}

/// Whether magnitudes `a ≤ b` are equal up to [`TIE_TOLERANCE`] (relative
/// to the larger, and at least absolutely).
fn same_magnitude(a: f64, b: f64) -> bool {
    b - a <= TIE_TOLERANCE * b.max(1.0)
}

/// Two-sided p-value `min(1, 2·min(P(S ≤ s), P(S ≥ s)))` of the doubled
/// signed-rank sum `s`, where S sums the `doubled_ranks` of a random subset
/// (each rank positive with probability 1/2 independently).
fn exact_two_sided_p(doubled_ranks: &[u64], s: u64) -> f64 {
    let counts = subset_sum_counts(doubled_ranks);
    let total: f64 = counts.iter().sum();
    let s = s as usize;
    let lower: f64 = counts[..=s.min(counts.len() - 1)].iter().sum();
    let upper: f64 = counts[s.min(counts.len())..].iter().sum();
    (2.0 * lower.min(upper) / total).min(1.0)
}

/// For each sum `s`, how many subsets of `weights` sum to `s` (a vector of
/// length Σ weights + 1). The counts reach 2ⁿ in all, exact in an f64 for
/// `n ≤ 53`.
fn subset_sum_counts(weights: &[u64]) -> Vec<f64> {
    let total: u64 = weights.iter().sum();
    let mut counts = vec![0.0f64; total as usize + 1];
    counts[0] = 1.0;
    let mut reached = 0usize;
    for &w in weights {
        let w = w as usize;
        reached += w;
        for s in (w..=reached).rev() {
            counts[s] += counts[s - w];
        }
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Checks one test result against SciPy's figures.
    fn check(d: &[f64], w_plus: f64, w_minus: f64, z: f64, p: f64, method: SignedRankMethod) {
        let r = wilcoxon_signed_rank(d).expect("test");
        assert_eq!(
            (r.w_plus, r.w_minus, r.method),
            (w_plus, w_minus, method),
            "{d:?}"
        );
        assert!((r.z - z).abs() < 1e-12, "z {} vs {z}", r.z);
        assert!((r.p - p).abs() < 1e-12 * p.max(1e-3), "p {} vs {p}", r.p);
    }

    // Expected values: SciPy 1.17.1. W+ is
    // `wilcoxon(d, zero_method="wilcox", correction=False,
    // alternative="greater", method="asymptotic").statistic`, W− the same of
    // −d, z that call's `zstatistic` (signed; the two-sided call reports
    // −|z|), and p the `pvalue` of
    // `wilcoxon(d, zero_method="wilcox", correction=False)` (method "auto").

    #[test]
    fn small_samples_without_ties_or_zeros_are_exact() {
        // SciPy: W+ 32, W− 4, z 1.9603921176392136, p 0.0546875 (exact;
        // the normal approximation would give 0.0499).
        check(
            &[1.5, -0.5, 2.0, 3.25, -1.0, 0.75, 2.5, 4.0],
            32.0,
            4.0,
            1.960_392_117_639_213_6,
            0.054_687_5,
            SignedRankMethod::Exact,
        );
        // d_i = ±i for i = 1..=20, negative when 3 divides i. SciPy: W+ 147,
        // W− 63, z 1.5679721251877705, p 0.1230926513671875.
        let d: Vec<f64> = (1..=20)
            .map(|i| {
                if i % 3 == 0 {
                    -f64::from(i)
                } else {
                    f64::from(i)
                }
            })
            .collect();
        check(
            &d,
            147.0,
            63.0,
            1.567_972_125_187_770_5,
            0.123_092_651_367_187_5,
            SignedRankMethod::Exact,
        );
    }

    #[test]
    fn fifty_differences_are_still_exact() {
        // d_i = ±i for i = 1..=50, negative when 7 divides i. SciPy: W+ 1079,
        // W− 196, z 4.2619225347825, p 6.725303951071737e-06 (exact; the
        // normal approximation gives 2.03e-05).
        let d: Vec<f64> = (1..=50)
            .map(|i| {
                if i % 7 == 0 {
                    -f64::from(i)
                } else {
                    f64::from(i)
                }
            })
            .collect();
        check(
            &d,
            1079.0,
            196.0,
            4.261_922_534_782_5,
            6.725_303_951_071_737e-6,
            SignedRankMethod::Exact,
        );
        // Alternating signs, negative on even i. SciPy: W+ 625, W− 650,
        // z −0.12066598343098812, p 0.9085978224870299.
        let d: Vec<f64> = (1..=50)
            .map(|i| {
                if i % 2 == 0 {
                    -f64::from(i)
                } else {
                    f64::from(i)
                }
            })
            .collect();
        check(
            &d,
            625.0,
            650.0,
            -0.120_665_983_430_988_12,
            0.908_597_822_487_029_9,
            SignedRankMethod::Exact,
        );
    }

    #[test]
    fn small_samples_with_zeros_or_ties_enumerate_the_signs() {
        // Two zeros, no ties. SciPy: W+ 12, W− 3, z 1.2135597524338357,
        // p 0.3125 (its permutation test).
        check(
            &[0.0, 1.5, -0.5, 2.0, 0.0, 3.25, -1.0],
            12.0,
            3.0,
            1.213_559_752_433_835_7,
            0.3125,
            SignedRankMethod::Permutation,
        );
        // Ties and a zero, 9 differences. SciPy: W+ 32, W− 4,
        // z 1.979898987322333, p 0.0625.
        check(
            &[1.0, 1.0, -1.0, 2.0, 2.0, 2.0, -0.5, 3.0, 0.0],
            32.0,
            4.0,
            1.979_898_987_322_333,
            0.0625,
            SignedRankMethod::Permutation,
        );
        // 13 differences, the largest that SciPy enumerates. SciPy: W+ 63.5,
        // W− 14.5, z 1.9286257313081718, p 0.05322265625.
        check(
            &[
                1.0, 1.0, -1.0, 2.0, 2.0, 2.0, -0.5, 3.0, 0.0, 1.5, 2.5, -3.0, 4.0,
            ],
            63.5,
            14.5,
            1.928_625_731_308_171_8,
            0.053_222_656_25,
            SignedRankMethod::Permutation,
        );
    }

    #[test]
    fn larger_samples_with_zeros_or_ties_use_the_normal_approximation() {
        // The 13 above plus 0.25: 14 differences. SciPy: W+ 73.5, W− 17.5,
        // z 1.962196436583177, p 0.049739618653571516.
        check(
            &[
                1.0, 1.0, -1.0, 2.0, 2.0, 2.0, -0.5, 3.0, 0.0, 1.5, 2.5, -3.0, 4.0, 0.25,
            ],
            73.5,
            17.5,
            1.962_196_436_583_177,
            0.049_739_618_653_571_516,
            SignedRankMethod::Normal,
        );
        // Differences of mean scores: ties and three zeros. SciPy: W+ 119.5,
        // W− 33.5, z 2.063174895029991, p 0.03909601444492151.
        check(
            &[
                0.5, 1.0, -0.5, 0.0, 1.5, 0.5, 1.0, -1.0, 0.5, 2.0, 0.0, 1.0, -0.5, 0.5, 1.5, 1.0,
                0.0, -1.5, 0.5, 1.0,
            ],
            119.5,
            33.5,
            2.063_174_895_029_991,
            0.039_096_014_444_921_51,
            SignedRankMethod::Normal,
        );
        // Three zeros and 17 distinct magnitudes (d = ±i, i = 1..=17,
        // negative when 4 divides i): zeros alone rule out the exact test.
        // SciPy: W+ 113, W− 40, z 1.7278408994087007, p 0.08401675251172278.
        let d: Vec<f64> = [0.0; 3]
            .into_iter()
            .chain((1..=17).map(|i| {
                if i % 4 == 0 {
                    -f64::from(i)
                } else {
                    f64::from(i)
                }
            }))
            .collect();
        check(
            &d,
            113.0,
            40.0,
            1.727_840_899_408_700_7,
            0.084_016_752_511_722_78,
            SignedRankMethod::Normal,
        );
    }

    #[test]
    fn more_than_fifty_differences_use_the_normal_approximation() {
        // d_i = (37 i mod 61) − 30.25 for i = 1..=60: distinct magnitudes,
        // no zeros. SciPy: W+ 930, W− 900, z 0.11042404502439764,
        // p 0.9120730845618369.
        let d: Vec<f64> = (1..=60).map(|i| f64::from((37 * i) % 61) - 30.25).collect();
        check(
            &d,
            930.0,
            900.0,
            0.110_424_045_024_397_64,
            0.912_073_084_561_836_9,
            SignedRankMethod::Normal,
        );
        // Ten zeros and 45 non-zero distinct differences, d_i = ±(i/2 + 1/8),
        // negative when 5 divides i: 55 in all, so normal although only 45
        // are ranked. SciPy: W+ 810, W− 225, z 3.301608868114517,
        // p 0.0009613202026847222.
        let d: Vec<f64> = [0.0; 10]
            .into_iter()
            .chain((1..=45).map(|i| {
                let m = f64::from(i) * 0.5 + 0.125;
                if i % 5 == 0 { -m } else { m }
            }))
            .collect();
        let r = wilcoxon_signed_rank(&d).expect("test");
        assert_eq!((r.nonzero, r.zeros), (45, 10));
        check(
            &d,
            810.0,
            225.0,
            3.301_608_868_114_517,
            0.000_961_320_202_684_722_2,
            SignedRankMethod::Normal,
        );
    }

    #[test]
    fn differences_equal_but_for_rounding_tie() {
        // 13/3 − 11/3 = 0.6666666666666665 but 14/3 − 4 = 0.666666666666667:
        // these must tie. SciPy on the clean vector
        // [2/3, −2/3, 2/3, 2/3, 1, −1.5, 2, 0.75, 1.25] (every 2/3 the same
        // float): W+ 34.5, z 1.4342743312012722, p 0.16796875 (permutation).
        // (On the rounded differences SciPy sees no tie: W+ 33.5, p 0.2109375.)
        let candidate = [
            13.0 / 3.0,
            8.0 / 3.0,
            14.0 / 3.0,
            11.0 / 3.0,
            5.0,
            2.0,
            4.5,
            3.0,
            4.25,
        ];
        let baseline = [11.0 / 3.0, 10.0 / 3.0, 4.0, 3.0, 4.0, 3.5, 2.5, 2.25, 3.0];
        let pairs: Vec<(f64, f64)> = candidate.into_iter().zip(baseline).collect();
        let r = paired_comparison(&pairs).wilcoxon.expect("test");
        assert_eq!(
            (r.w_plus, r.w_minus, r.method),
            (34.5, 10.5, SignedRankMethod::Permutation)
        );
        assert!((r.z - 1.434_274_331_201_272_2).abs() < 1e-12, "{}", r.z);
        assert!((r.p - 0.167_968_75).abs() < 1e-12, "{}", r.p);
    }

    #[test]
    fn paired_comparison_reports_the_mean_difference_and_its_t_interval() {
        // Differences [2/3, 2/3, 1, −0.5, 2/3, 2/3, 0.5, 0]: NumPy mean
        // 0.45833333333333337; SciPy `t.interval(0.95, 7, loc=mean,
        // scale=sem(d))` = (0.05898599162692825, 0.8576806750397385);
        // `wilcoxon(d, zero_method="wilcox", correction=False)` gives
        // statistic (W−) 1.5 and p 0.046875 (a zero: permutation), and with
        // `alternative="greater"` W+ 26.5.
        let candidate = [
            13.0 / 3.0,
            10.0 / 3.0,
            4.0,
            3.5,
            14.0 / 3.0,
            11.0 / 3.0,
            5.0,
            2.0,
        ];
        let baseline = [11.0 / 3.0, 8.0 / 3.0, 3.0, 4.0, 4.0, 3.0, 4.5, 2.0];
        let pairs: Vec<(f64, f64)> = candidate.into_iter().zip(baseline).collect();
        let res = paired_comparison(&pairs);
        assert_eq!(res.n, 8);
        let mean = res.mean_difference.expect("mean");
        assert!((mean - 0.458_333_333_333_333_37).abs() < 1e-12, "{mean}");
        let ci = res.ci.expect("ci");
        assert!((ci.low - 0.058_985_991_626_928_25).abs() < 1e-9, "{ci:?}");
        assert!((ci.high - 0.857_680_675_039_738_5).abs() < 1e-9, "{ci:?}");
        let w = res.wilcoxon.expect("test");
        assert_eq!((w.w_plus, w.w_minus, w.zeros, w.nonzero), (26.5, 1.5, 1, 7));
        assert!((w.p - 0.046_875).abs() < 1e-12, "{}", w.p);
        // No pairs, or no non-zero difference.
        let none = paired_comparison(&[]);
        assert_eq!(
            (none.n, none.mean_difference, none.ci, none.wilcoxon),
            (0, None, None, None)
        );
        let same = paired_comparison(&[(3.0, 3.0), (4.5, 4.5)]);
        assert_eq!((same.mean_difference, same.wilcoxon), (Some(0.0), None));
    }
}
