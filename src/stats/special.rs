//! Special functions behind the distributions: the regularized incomplete
//! beta function (Student's t, F), ln Γ, and the complementary error function
//! (the standard normal distribution).

/// The regularized incomplete beta function `I(x; a, b)` for `0 ≤ x ≤ 1`,
/// `a, b > 0`: the continued fraction (modified Lentz), on whichever side
/// converges fast, `I(x; a, b) = 1 − I(1 − x; b, a)`.
pub(crate) fn regularized_incomplete_beta(x: f64, a: f64, b: f64) -> f64 {
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

/// The complementary error function `erfc(x) = 1 − erf(x)`, to a relative
/// error of a few 1e-15 over the whole line (checked against SciPy's
/// `scipy.special.erfc`). Below 1 it is `1 − erf(x)` from the power series
/// `erf(x) = 2x/√π · e^(−x²) · Σ (2x²)ⁿ / (1·3·…·(2n+1))`, whose terms are
/// all positive; from 1 on, the continued fraction
/// `erfc(x) = e^(−x²) / √π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …))))`
/// (Lentz), which keeps full relative precision far into the tail. Negative
/// arguments use `erfc(−x) = 2 − erfc(x)`.
pub fn erfc(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    if x < 0.0 {
        return 2.0 - erfc(-x);
    }
    if x < 1.0 {
        1.0 - erf_series(x)
    } else {
        erfc_continued_fraction(x)
    }
}

/// erf(x) for small `x` (here below 1) from its series with positive terms.
fn erf_series(x: f64) -> f64 {
    let x2 = x * x;
    let mut term = 1.0;
    let mut sum = 1.0;
    for n in 1..200 {
        term *= 2.0 * x2 / f64::from(2 * n + 1);
        sum += term;
        if term < 1e-17 * sum {
            break;
        }
    }
    2.0 * x / std::f64::consts::PI.sqrt() * (-x2).exp() * sum
}

/// erfc(x) for `x ≥ 1` from Laplace's continued fraction, written as
/// `x · (1 + a₁/(1 + a₂/(1 + …)))` with `aⱼ = (j/2) / x²` so that
/// [`lentz_step`] evaluates it (about 180 steps at x = 1, fewer beyond).
fn erfc_continued_fraction(x: f64) -> f64 {
    const EPS: f64 = 1e-15;
    let x2 = x * x;
    if x2 > 750.0 {
        // e^(−x²) underflows: erfc(27.4) is below the smallest f64.
        return 0.0;
    }
    let (mut c, mut d, mut h) = (1.0, 0.0, 1.0);
    for j in 1..=2000 {
        let delta = lentz_step(f64::from(j) / 2.0 / x2, &mut c, &mut d);
        h *= delta;
        if (delta - 1.0).abs() < EPS {
            break;
        }
    }
    (-x2).exp() / (std::f64::consts::PI.sqrt() * x * h)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `scipy.special.erfc(x)` (SciPy 1.17.1), to a relative 1e-13, on both
    /// branches and far into the tail.
    #[test]
    fn erfc_matches_scipy() {
        let table = [
            (-3.0, 1.999_977_909_503_001_5),
            (-1.0, 1.842_700_792_949_714_8),
            (-0.5, 1.520_499_877_813_046_5),
            (0.0, 1.0),
            (1e-10, 0.999_999_999_887_162),
            (0.1, 0.887_537_083_981_715_2),
            (0.5, 0.479_500_122_186_953_5),
            (0.9999, 0.157_340_721_951_240_6),
            (1.0, 0.157_299_207_050_285_16),
            (1.5, 0.033_894_853_524_689_27),
            (2.0, 0.004_677_734_981_047_266),
            (3.0, 2.209_049_699_858_544_5e-5),
            (5.0, 1.537_459_794_428_034_7e-12),
            (10.0, 2.088_487_583_762_544_6e-45),
            (26.0, 5.663_192_408_856_145e-296),
        ];
        for (x, expected) in table {
            let got = erfc(x);
            assert!(
                ((got - expected) / expected).abs() < 1e-13,
                "erfc({x}) = {got}, SciPy {expected}"
            );
        }
        assert_eq!(erfc(30.0), 0.0);
        assert_eq!(erfc(-30.0), 2.0);
        assert!(erfc(f64::NAN).is_nan());
    }
}
