//! Means and their 95 % confidence intervals (Student's t), and the
//! distribution functions behind them.

use super::special::regularized_incomplete_beta;

/// A two-sided confidence interval, `low ≤ high`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    /// Lower end.
    pub low: f64,
    /// Upper end.
    pub high: f64,
}

/// Mean and 95 % confidence half-width of `scores`: a Student t-interval,
/// `t(0.975, n − 1) × s / √n` with the sample standard deviation `s`
/// (n − 1 in the denominator). For a handful of scores this is much wider
/// than the normal approximation's 1.96 × standard error, as it should be
/// (n = 2: t = 12.71; n = 10: 2.26; n = 100: 1.98). The mean is `None`
/// without scores, the half-width `None` under two scores.
pub fn mean_ci(scores: &[i64]) -> (Option<f64>, Option<f64>) {
    let values: Vec<f64> = scores.iter().map(|&s| s as f64).collect();
    (mean(&values), t_half_width(&values))
}

/// The 95 % Student t-interval of the mean of `values`,
/// `mean ± t(0.975, n − 1) × s / √n` (the interval of [`mean_ci`] for any
/// real values); `None` under two values.
pub fn t_interval(values: &[f64]) -> Option<Interval> {
    let (m, h) = (mean(values)?, t_half_width(values)?);
    Some(Interval {
        low: m - h,
        high: m + h,
    })
}

/// The arithmetic mean; `None` for no values.
pub(crate) fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

/// The sample standard deviation (n − 1 in the denominator); `None` under
/// two values.
pub(crate) fn sample_sd(values: &[f64]) -> Option<f64> {
    sample_variance(values).map(f64::sqrt)
}

/// The sample variance (n − 1 in the denominator); `None` under two values.
fn sample_variance(values: &[f64]) -> Option<f64> {
    if values.len() < 2 {
        return None;
    }
    let m = mean(values)?;
    let ss: f64 = values.iter().map(|v| (v - m).powi(2)).sum();
    Some(ss / (values.len() as f64 - 1.0))
}

/// The half-width `t(0.975, n − 1) × s / √n` of the 95 % t-interval;
/// `None` under two values.
fn t_half_width(values: &[f64]) -> Option<f64> {
    let n = values.len() as f64;
    let var = sample_variance(values)?;
    Some(student_t_quantile(0.975, n - 1.0) * (var / n).sqrt())
}

/// The `p` quantile of Student's t distribution with `df` degrees of
/// freedom (`0 < p < 1`, `df > 0`), found by bisection on
/// [`student_t_cdf`] to about 1e-12. `NaN` outside that domain.
pub fn student_t_quantile(p: f64, df: f64) -> f64 {
    if !(p > 0.0 && p < 1.0 && df > 0.0) {
        return f64::NAN;
    }
    if p == 0.5 {
        return 0.0;
    }
    // The t distribution is symmetric: solve the upper half only.
    let (target, sign) = if p > 0.5 { (p, 1.0) } else { (1.0 - p, -1.0) };
    let (mut lo, mut hi) = (0.0_f64, 1.0_f64);
    while student_t_cdf(hi, df) < target {
        hi *= 2.0;
        if hi > 1e300 {
            return sign * f64::INFINITY;
        }
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if student_t_cdf(mid, df) < target {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo <= 1e-13 * hi.max(1.0) {
            break;
        }
    }
    sign * 0.5 * (lo + hi)
}

/// P(T ≤ t) for Student's t with `df` degrees of freedom, from the
/// regularized incomplete beta function:
/// `P(|T| > t) = I(df / (df + t²); df/2, 1/2)`.
pub fn student_t_cdf(t: f64, df: f64) -> f64 {
    if t.is_nan() || df.is_nan() || df <= 0.0 {
        return f64::NAN;
    }
    if t.is_infinite() {
        return if t > 0.0 { 1.0 } else { 0.0 };
    }
    let tail = 0.5 * regularized_incomplete_beta(df / (df + t * t), df / 2.0, 0.5);
    if t >= 0.0 { 1.0 - tail } else { tail }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_and_half_width() {
        // 4 and 5: s = 0.7071, se = 0.5, t(0.975, 1) = 12.7062047, so the
        // half-width is 6.35310237.
        let (mean, ci) = mean_ci(&[4, 5]);
        assert_eq!(mean, Some(4.5));
        assert!((ci.expect("ci") - 6.353_102_368).abs() < 1e-6, "{ci:?}");
        // 1..=5: s = 1.5811, se = 0.7071, t(0.975, 4) = 2.7764451 → 1.9632432.
        let (mean, ci) = mean_ci(&[1, 2, 3, 4, 5]);
        assert_eq!(mean, Some(3.0));
        assert!((ci.expect("ci") - 1.963_243_2).abs() < 1e-6, "{ci:?}");
        // One score has a mean but no interval; none has neither.
        assert_eq!(mean_ci(&[3]), (Some(3.0), None));
        assert_eq!(mean_ci(&[]), (None, None));
        // No spread: a zero-width interval, not NaN.
        assert_eq!(mean_ci(&[4, 4, 4]), (Some(4.0), Some(0.0)));
    }

    /// SciPy 1.17.1 `scipy.stats.t.interval(0.95, 7, loc=mean, scale=sem(d))`
    /// of d = [0.25, −0.5, 1.75, 0.0, 1.0, 2.5, −1.25, 0.75] (mean 0.5625):
    /// (−0.4476061447907156, 1.5726061447907156).
    #[test]
    fn t_interval_of_real_values() {
        let d = [0.25, -0.5, 1.75, 0.0, 1.0, 2.5, -1.25, 0.75];
        let ci = t_interval(&d).expect("interval");
        assert!((ci.low + 0.447_606_144_790_715_6).abs() < 1e-9, "{ci:?}");
        assert!((ci.high - 1.572_606_144_790_715_6).abs() < 1e-9, "{ci:?}");
        assert_eq!(t_interval(&[1.0]), None);
        assert_eq!(sample_sd(&[2.0]), None);
        assert_eq!(mean(&[]), None);
    }

    /// Two-sided 95 % critical values t(0.975, df), as printed in standard
    /// tables and returned by R's `qt(0.975, df)` / SciPy's
    /// `scipy.stats.t.ppf(0.975, df)`.
    #[test]
    fn t_quantiles_match_the_tables() {
        let table = [
            (1.0, 12.706_204_736),
            (2.0, 4.302_652_730),
            (3.0, 3.182_446_305),
            (4.0, 2.776_445_105),
            (5.0, 2.570_581_836),
            (10.0, 2.228_138_852),
            (30.0, 2.042_272_456),
            (100.0, 1.983_971_519),
            (1000.0, 1.962_339_081),
        ];
        for (df, expected) in table {
            let t = student_t_quantile(0.975, df);
            assert!((t - expected).abs() < 1e-7, "df {df}: {t} vs {expected}");
            // Symmetric lower tail.
            assert!((student_t_quantile(0.025, df) + expected).abs() < 1e-7);
        }
        // Other levels: t(0.95, 1) = 6.313751515 and t(0.995, 10) = 3.169272673.
        assert!((student_t_quantile(0.95, 1.0) - 6.313_751_515).abs() < 1e-7);
        assert!((student_t_quantile(0.995, 10.0) - 3.169_272_673).abs() < 1e-7);
        assert_eq!(student_t_quantile(0.5, 7.0), 0.0);
        assert!(student_t_quantile(1.0, 3.0).is_nan());
        assert!(student_t_quantile(0.9, 0.0).is_nan());
    }

    #[test]
    fn t_cdf_known_values() {
        // df = 1 is the Cauchy distribution: P(T ≤ 1) = 0.75.
        assert!((student_t_cdf(1.0, 1.0) - 0.75).abs() < 1e-12);
        // df = 2 has a closed form: P(T ≤ t) = 1/2 + t / (2 √(t² + 2)).
        for t in [-3.0_f64, -0.5, 0.0, 0.7, 2.0, 10.0] {
            let exact = 0.5 + t / (2.0 * (t * t + 2.0).sqrt());
            assert!((student_t_cdf(t, 2.0) - exact).abs() < 1e-12, "t {t}");
        }
        assert_eq!(student_t_cdf(f64::INFINITY, 3.0), 1.0);
        assert_eq!(student_t_cdf(f64::NEG_INFINITY, 3.0), 0.0);
    }
}
