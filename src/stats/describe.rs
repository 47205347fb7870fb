//! Descriptive statistics of a set of 1–5 scores, with a Student t-interval
//! and a seeded bootstrap interval of the mean.

use super::intervals::{Interval, mean, sample_sd, t_interval};
use super::rng::{SplitMix, resample_counts};

/// Bootstrap resamples behind [`Descriptives::bootstrap_ci`].
pub const DESCRIBE_BOOTSTRAP_RESAMPLES: usize = 2000;

/// The lowest score counted as high in [`Descriptives::share_high`] (4 and
/// 5 on the 1–5 scale).
pub const HIGH_SCORE: i64 = 4;

/// Descriptive statistics of one set of scores; see [`describe`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Descriptives {
    /// Number of scores.
    pub n: usize,
    /// Arithmetic mean; `None` without scores.
    pub mean: Option<f64>,
    /// Median (the mean of the two middle scores when `n` is even); `None`
    /// without scores.
    pub median: Option<f64>,
    /// Sample standard deviation (n − 1 in the denominator); `None` under
    /// two scores.
    pub sd: Option<f64>,
    /// Share (0–1) of scores of [`HIGH_SCORE`] or more; `None` without
    /// scores.
    pub share_high: Option<f64>,
    /// 95 % Student t-interval of the mean, `mean ± t(0.975, n − 1) × sd / √n`
    /// (as [`mean_ci`](super::mean_ci)); `None` under two scores.
    pub t_ci: Option<Interval>,
    /// 95 % bootstrap percentile interval of the mean (see [`describe`]);
    /// `None` under two scores.
    pub bootstrap_ci: Option<Interval>,
}

/// Describes `scores` (meant for 1–5 ratings, but any integers work): count,
/// mean, median, standard deviation, share of high scores, and two 95 %
/// intervals of the mean.
///
/// The bootstrap interval draws [`DESCRIBE_BOOTSTRAP_RESAMPLES`] resamples
/// of `n` scores with replacement (drawn as multinomial counts per distinct
/// score, from the splitmix64 stream of `seed`; see `bootstrap_means`),
/// takes each resample's mean, and reads the 2.5th and
/// 97.5th percentiles of the sorted means by linear interpolation between
/// order statistics — Hyndman & Fan's type 7, the default of NumPy's
/// `percentile` and R's `quantile`: with the `B` means sorted into
/// `m[0] ≤ … ≤ m[B − 1]`, the `q` quantile sits at position `h = (B − 1)·q`
/// and is `m[⌊h⌋] + (h − ⌊h⌋)·(m[⌊h⌋ + 1] − m[⌊h⌋])` (for B = 2000: positions
/// 49.975 and 1949.025). The same scores and seed always give the same
/// interval.
pub fn describe(scores: &[i64], seed: u64) -> Descriptives {
    let values: Vec<f64> = scores.iter().map(|&s| s as f64).collect();
    Descriptives {
        n: scores.len(),
        mean: mean(&values),
        median: median(&values),
        sd: sample_sd(&values),
        share_high: share_at_least(scores, HIGH_SCORE),
        t_ci: t_interval(&values),
        bootstrap_ci: bootstrap_mean_interval(&values, seed),
    }
}

/// The median; `None` for no values.
fn median(values: &[f64]) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some(0.5 * (sorted[n / 2 - 1] + sorted[n / 2])),
    }
}

/// Share of `scores` that are at least `threshold`; `None` for no scores.
fn share_at_least(scores: &[i64], threshold: i64) -> Option<f64> {
    let high = scores.iter().filter(|&&s| s >= threshold).count();
    (!scores.is_empty()).then(|| high as f64 / scores.len() as f64)
}

/// The 95 % bootstrap percentile interval of the mean of `values` (see
/// [`describe`]); `None` under two values.
fn bootstrap_mean_interval(values: &[f64], seed: u64) -> Option<Interval> {
    if values.len() < 2 {
        return None;
    }
    let mut means = bootstrap_means(values, seed, DESCRIBE_BOOTSTRAP_RESAMPLES);
    means.sort_by(f64::total_cmp);
    Some(Interval {
        low: percentile_linear(&means, 0.025)?,
        high: percentile_linear(&means, 0.975)?,
    })
}

/// The means of `resamples` bootstrap resamples of `values` (same size, with
/// replacement), drawn from the splitmix64 stream of `seed`. The values are
/// grouped into their distinct levels first (ascending), and each resample
/// is drawn as counts per level ([`resample_counts`]), which has the
/// distribution of `n` single draws at the cost of one binomial per level.
/// `values` must not be empty.
fn bootstrap_means(values: &[f64], seed: u64, resamples: usize) -> Vec<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mut levels: Vec<f64> = Vec::new();
    let mut counts: Vec<u64> = Vec::new();
    for v in sorted {
        if levels.last() == Some(&v) {
            if let Some(c) = counts.last_mut() {
                *c += 1;
            }
        } else {
            levels.push(v);
            counts.push(1);
        }
    }
    let n = values.len() as f64;
    let mut rng = SplitMix(seed);
    let mut drawn = vec![0u64; counts.len()];
    (0..resamples)
        .map(|_| {
            resample_counts(&counts, &mut rng, &mut drawn);
            let sum: f64 = levels.iter().zip(&drawn).map(|(v, &c)| v * c as f64).sum();
            sum / n
        })
        .collect()
}

/// The `q` quantile (0 ≤ q ≤ 1) of ascending `sorted` by linear
/// interpolation between order statistics at position `(len − 1)·q`
/// (Hyndman & Fan type 7, NumPy's default); `None` when empty.
fn percentile_linear(sorted: &[f64], q: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let h = last as f64 * q.clamp(0.0, 1.0);
    let below = (h.floor() as usize).min(last);
    let above = (below + 1).min(last);
    Some(sorted[below] + (h - below as f64) * (sorted[above] - sorted[below]))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One set of scores with its expected figures.
    struct Case {
        scores: &'static [i64],
        mean: f64,
        median: f64,
        sd: f64,
        share_high: f64,
        t_ci: (f64, f64),
    }

    /// NumPy 2.4.6 mean, `median` and `std(ddof=1)`, the share of scores
    /// ≥ 4, and SciPy 1.17.1
    /// `scipy.stats.t.interval(0.95, n - 1, loc=mean, scale=sem(scores))`.
    #[test]
    fn descriptives_match_numpy_and_scipy() {
        let cases = [
            Case {
                scores: &[4, 5, 3, 4, 2, 5, 4],
                mean: 3.857_142_857_142_857,
                median: 4.0,
                sd: 1.069_044_967_649_697_6,
                share_high: 0.714_285_714_285_714_3,
                t_ci: (2.868_441_164_051_233, 4.845_844_550_234_482),
            },
            Case {
                scores: &[1, 2, 3, 4, 5, 5],
                mean: 3.333_333_333_333_333_5,
                median: 3.5,
                sd: 1.632_993_161_855_452,
                share_high: 0.5,
                t_ci: (1.619_612_109_575_790_3, 5.047_054_557_090_877),
            },
        ];
        for c in cases {
            let d = describe(c.scores, 7);
            assert_eq!(d.n, c.scores.len());
            let close = |a: Option<f64>, b: f64| {
                let a = a.expect("value");
                assert!((a - b).abs() < 1e-9, "{:?}: {a} vs {b}", c.scores);
            };
            close(d.mean, c.mean);
            close(d.median, c.median);
            close(d.sd, c.sd);
            close(d.share_high, c.share_high);
            close(d.t_ci.map(|i| i.low), c.t_ci.0);
            close(d.t_ci.map(|i| i.high), c.t_ci.1);
        }
    }

    #[test]
    fn small_samples() {
        let none = describe(&[], 1);
        assert_eq!(
            (none.n, none.mean, none.median, none.share_high),
            (0, None, None, None)
        );
        assert_eq!((none.sd, none.t_ci, none.bootstrap_ci), (None, None, None));
        let one = describe(&[4], 1);
        assert_eq!(
            (one.mean, one.median, one.share_high),
            (Some(4.0), Some(4.0), Some(1.0))
        );
        assert_eq!((one.sd, one.t_ci, one.bootstrap_ci), (None, None, None));
        // No spread: zero-width intervals.
        let flat = describe(&[3, 3], 1);
        let point = Some(Interval {
            low: 3.0,
            high: 3.0,
        });
        assert_eq!(
            (flat.sd, flat.t_ci, flat.bootstrap_ci),
            (Some(0.0), point, point)
        );
    }

    #[test]
    fn bootstrap_interval_is_seeded_and_sensible() {
        // 40 scores: ten each of 2, 3, 4 and 5 (mean 3.5, sd 1.1323).
        let scores: Vec<i64> = (0..40).map(|i| 2 + i % 4).collect();
        let a = describe(&scores, 42);
        assert_eq!(describe(&scores, 42), a, "same seed, same interval");
        let boot = a.bootstrap_ci.expect("bootstrap");
        // Another seed draws other resamples (the interval, made of
        // multiples of 1/40, may still come out the same).
        let values: Vec<f64> = scores.iter().map(|&s| s as f64).collect();
        assert_ne!(
            bootstrap_means(&values, 42, 100),
            bootstrap_means(&values, 43, 100)
        );
        // The percentile interval of the mean is close to the normal one,
        // mean ± 1.96 × s·√((n − 1)/n) / √n = 3.5 ± 0.3474 (the bootstrap's
        // plug-in standard error), within Monte Carlo error.
        let half = 1.96 * (1.25_f64 / 40.0).sqrt();
        assert!((boot.low - (3.5 - half)).abs() < 0.05, "{boot:?}");
        assert!((boot.high - (3.5 + half)).abs() < 0.05, "{boot:?}");
        // Bootstrap means of integer scores are multiples of 1/n, and the
        // interval lies within the scores' range.
        assert!(boot.low >= 2.0 && boot.high <= 5.0);
    }

    /// NumPy 2.4.6 `numpy.percentile(v, q)` (default `method="linear"`) of
    /// v = [0.5, 1.25, 2, 2, 3.5, 4.75, 6, 9.5].
    #[test]
    fn percentile_matches_numpy() {
        let v = [0.5, 1.25, 2.0, 2.0, 3.5, 4.75, 6.0, 9.5];
        let table = [
            (0.0, 0.5),
            (0.025, 0.631_25),
            (0.10, 1.025),
            (0.50, 2.75),
            (0.975, 8.8875),
            (1.0, 9.5),
        ];
        for (q, expected) in table {
            let got = percentile_linear(&v, q).expect("percentile");
            assert!((got - expected).abs() < 1e-12, "q {q}: {got} vs {expected}");
        }
        assert_eq!(percentile_linear(&[], 0.5), None);
        assert_eq!(percentile_linear(&[2.0], 0.975), Some(2.0));
    }
}
