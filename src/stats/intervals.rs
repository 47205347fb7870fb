//! Means and their 95 % confidence intervals (Student's t), and the
//! distribution functions behind them.

/// Mean and 95 % confidence half-width of `scores`: a Student t-interval,
/// `t(0.975, n − 1) × s / √n` with the sample standard deviation `s`
/// (n − 1 in the denominator). For a handful of scores this is much wider
/// than the normal approximation's 1.96 × standard error, as it should be
/// (n = 2: t = 12.71; n = 10: 2.26; n = 100: 1.98). The mean is `None`
/// without scores, the half-width `None` under two scores.
pub fn mean_ci(scores: &[i64]) -> (Option<f64>, Option<f64>) {
    if scores.is_empty() {
        return (None, None);
    }
    let n = scores.len() as f64;
    let mean = scores.iter().sum::<i64>() as f64 / n;
    if scores.len() < 2 {
        return (Some(mean), None);
    }
    let var = scores
        .iter()
        .map(|&s| (s as f64 - mean).powi(2))
        .sum::<f64>()
        / (n - 1.0);
    let t = student_t_quantile(0.975, n - 1.0);
    (Some(mean), Some(t * (var / n).sqrt()))
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

/// The regularized incomplete beta function `I(x; a, b)` for `0 ≤ x ≤ 1`,
/// `a, b > 0`: the continued fraction (modified Lentz), on whichever side
/// converges fast, `I(x; a, b) = 1 − I(1 − x; b, a)`.
fn regularized_incomplete_beta(x: f64, a: f64, b: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let ln_front = ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln();
    let front = ln_front.exp();
    if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_continued_fraction(x, a, b) / a
    } else {
        1.0 - front * beta_continued_fraction(1.0 - x, b, a) / b
    }
}

/// The continued fraction of the incomplete beta function (modified Lentz).
fn beta_continued_fraction(x: f64, a: f64, b: f64) -> f64 {
    const EPS: f64 = 1e-15;
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 / away_from_zero(1.0 - qab * x / qap);
    let mut h = d;
    for m in 1..=500 {
        let m = f64::from(m);
        let m2 = 2.0 * m;
        // Even step, then odd step.
        h *= lentz_step(m * (b - m) * x / ((qam + m2) * (a + m2)), &mut c, &mut d);
        let del = lentz_step(
            -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2)),
            &mut c,
            &mut d,
        );
        h *= del;
        if (del - 1.0).abs() < EPS {
            break;
        }
    }
    h
}

/// One step of the modified Lentz method with partial numerator `aa`:
/// updates `c` and `d` and returns the factor the fraction is multiplied by.
fn lentz_step(aa: f64, c: &mut f64, d: &mut f64) -> f64 {
    *d = 1.0 / away_from_zero(1.0 + aa * *d);
    *c = away_from_zero(1.0 + aa / *c);
    *d * *c
}

/// `v`, or a tiny number in its place when it is (nearly) zero, so Lentz's
/// method never divides by zero.
fn away_from_zero(v: f64) -> f64 {
    const TINY: f64 = 1e-300;
    if v.abs() < TINY { TINY } else { v }
}

/// ln Γ(x) for x > 0 (Lanczos approximation, g = 7, nine coefficients;
/// relative error around 1e-15).
fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const COEF: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Γ(x) Γ(1 − x) = π / sin(πx).
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut sum = COEF[0];
    for (i, c) in COEF.iter().enumerate().skip(1) {
        sum += c / (x + i as f64);
    }
    let t = x + G + 0.5;
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + sum.ln()
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
