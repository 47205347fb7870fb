//! Inter-rater agreement: Krippendorff's α (ordinal and interval metrics)
//! and quadratic-weighted Cohen's κ.

/// The difference metric of Krippendorff's α.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlphaMetric {
    /// Ordinal: `δ²(c, k) = (Σ_{g=c..k} n_g − (n_c + n_k) / 2)²`, from the
    /// marginal counts `n_g` of the pairable values.
    Ordinal,
    /// Interval: `δ²(c, k) = (c − k)²`.
    Interval,
}

/// Krippendorff's α with the counts behind it; see [`krippendorff_alpha`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Alpha {
    /// α; `None` without at least two pairable units or when the pairable
    /// values show no variation (α is undefined then).
    pub alpha: Option<f64>,
    /// Units with at least two values (the only ones that can be paired).
    pub pairable_units: usize,
    /// Values in the pairable units (Krippendorff's `n..`, the total of the
    /// coincidence matrix).
    pub pairable_values: usize,
}

/// Krippendorff's α with the ordinal metric: [`krippendorff_alpha`] with
/// [`AlphaMetric::Ordinal`], α only.
pub fn krippendorff_alpha_ordinal(units: &[Vec<i64>]) -> Option<f64> {
    krippendorff_alpha(units, AlphaMetric::Ordinal).alpha
}

/// Krippendorff's α with the given difference `metric`.
///
/// `units` holds, per unit (here: one answer), the values the raters gave
/// it, missing ratings simply absent; units with fewer than two values are
/// not pairable and are left out. α is `None` without at least two pairable
/// units or when the pairable values show no variation. Follows Krippendorff
/// (2011), "Computing Krippendorff's Alpha-Reliability": a coincidence
/// matrix over pairable values, each ordered pair of values within a unit
/// counting `1 / (m_u − 1)`, then `α = 1 − D_o / D_e` with the observed
/// disagreement `D_o = Σ o_ck δ²(c, k) / n` and the expected one
/// `D_e = Σ n_c n_k δ²(c, k) / (n (n − 1))`.
pub fn krippendorff_alpha(units: &[Vec<i64>], metric: AlphaMetric) -> Alpha {
    let pairable: Vec<&Vec<i64>> = units.iter().filter(|u| u.len() >= 2).collect();
    let counts = Alpha {
        alpha: None,
        pairable_units: pairable.len(),
        pairable_values: pairable.iter().map(|u| u.len()).sum(),
    };
    if pairable.len() < 2 {
        return counts;
    }
    let mut values: Vec<i64> = pairable.iter().flat_map(|u| u.iter().copied()).collect();
    values.sort_unstable();
    values.dedup();
    if values.len() < 2 {
        return counts;
    }
    let o = coincidence_matrix(&pairable, &values);
    let n_c: Vec<f64> = o.iter().map(|row| row.iter().sum()).collect();
    let n: f64 = n_c.iter().sum();
    let delta2 = |c: usize, k: usize| match metric {
        AlphaMetric::Ordinal => ordinal_delta2(&n_c, c, k),
        AlphaMetric::Interval => (values[c] as f64 - values[k] as f64).powi(2),
    };
    let mut observed = 0.0;
    let mut expected = 0.0;
    for c in 0..values.len() {
        for k in 0..values.len() {
            let d = delta2(c, k);
            observed += o[c][k] * d;
            expected += n_c[c] * n_c[k] * d;
        }
    }
    let d_o = observed / n;
    let d_e = expected / (n * (n - 1.0));
    Alpha {
        alpha: (d_e > 0.0).then(|| 1.0 - d_o / d_e),
        ..counts
    }
}

/// The coincidence matrix over the distinct `values` (ascending): each
/// ordered pair of values within a unit counts `1 / (m_u − 1)`.
fn coincidence_matrix(pairable: &[&Vec<i64>], values: &[i64]) -> Vec<Vec<f64>> {
    let index = |v: i64| values.binary_search(&v).unwrap_or(0);
    let mut o = vec![vec![0.0f64; values.len()]; values.len()];
    for u in pairable {
        let w = 1.0 / (u.len() as f64 - 1.0);
        for (i, a) in u.iter().enumerate() {
            for (j, b) in u.iter().enumerate() {
                if i != j {
                    o[index(*a)][index(*b)] += w;
                }
            }
        }
    }
    o
}

/// The ordinal δ²(c, k) = (Σ_{g=c..k} n_g − (n_c + n_k) / 2)² over the
/// marginal counts `n_c` (indices into the ascending distinct values).
fn ordinal_delta2(n_c: &[f64], c: usize, k: usize) -> f64 {
    let (lo, hi) = if c <= k { (c, k) } else { (k, c) };
    let span: f64 = n_c[lo..=hi].iter().sum();
    (span - (n_c[lo] + n_c[hi]) / 2.0).powi(2)
}

/// The categories of [`cohen_kappa_quadratic`]: the 1–5 scale.
pub const KAPPA_CATEGORIES: std::ops::RangeInclusive<i64> = 1..=5;

/// Cohen's κ with quadratic weights for two raters over their common units,
/// one `(rater A, rater B)` pair of scores per unit, on the fixed categories
/// 1..=5 (so a category neither rater used still sets the weights):
/// `κ = 1 − Σ w_ij o_ij / Σ w_ij e_ij` with `w_ij = (i − j)²`, the observed
/// counts `o_ij` and the counts `e_ij = r_i c_j / N` expected from the two
/// raters' marginals. The same as scikit-learn's
/// `cohen_kappa_score(a, b, weights="quadratic", labels=[1, 2, 3, 4, 5])`.
///
/// `None` when κ is undefined: no pairs, a score outside 1..=5, or no
/// expected disagreement (`Σ w_ij e_ij = 0`, which happens when both raters
/// gave every unit one and the same score).
pub fn cohen_kappa_quadratic(pairs: &[(i64, i64)]) -> Option<f64> {
    let k = KAPPA_CATEGORIES.count();
    let index = |v: i64| {
        KAPPA_CATEGORIES
            .contains(&v)
            .then(|| (v - KAPPA_CATEGORIES.start()) as usize)
    };
    let mut observed = vec![vec![0.0f64; k]; k];
    for &(a, b) in pairs {
        observed[index(a)?][index(b)?] += 1.0;
    }
    let n = pairs.len() as f64;
    let rows: Vec<f64> = observed.iter().map(|r| r.iter().sum()).collect();
    let cols: Vec<f64> = (0..k)
        .map(|j| observed.iter().map(|r| r[j]).sum())
        .collect();
    let weight = |i: usize, j: usize| (i as f64 - j as f64).powi(2);
    let mut disagreement = 0.0;
    let mut expected = 0.0;
    for i in 0..k {
        for j in 0..k {
            disagreement += weight(i, j) * observed[i][j];
            expected += weight(i, j) * rows[i] * cols[j] / n;
        }
    }
    (n > 0.0 && expected > 0.0).then(|| 1.0 - disagreement / expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worked example of Krippendorff (2011), "Computing Krippendorff's
    /// Alpha-Reliability": 4 observers, 12 units, values 1–5, some missing;
    /// one unit per entry, with the values it received.
    fn krippendorff_2011_units() -> Vec<Vec<i64>> {
        let observers: [[Option<i64>; 12]; 4] = {
            let (n, v) = (None, Some);
            [
                [
                    v(1),
                    v(2),
                    v(3),
                    v(3),
                    v(2),
                    v(1),
                    v(4),
                    v(1),
                    v(2),
                    n,
                    n,
                    n,
                ],
                [
                    v(1),
                    v(2),
                    v(3),
                    v(3),
                    v(2),
                    v(2),
                    v(4),
                    v(1),
                    v(2),
                    v(5),
                    n,
                    v(3),
                ],
                [
                    n,
                    v(3),
                    v(3),
                    v(3),
                    v(2),
                    v(3),
                    v(4),
                    v(2),
                    v(2),
                    v(5),
                    v(1),
                    n,
                ],
                [
                    v(1),
                    v(2),
                    v(3),
                    v(3),
                    v(2),
                    v(4),
                    v(4),
                    v(1),
                    v(2),
                    v(5),
                    v(1),
                    n,
                ],
            ]
        };
        (0..12)
            .map(|u| observers.iter().filter_map(|o| o[u]).collect())
            .collect()
    }

    /// Krippendorff (2011) publishes ordinal α = 0.815 for its example; the
    /// `krippendorff` Python package 0.9.0,
    /// `alpha(reliability_data, level_of_measurement="ordinal")`, gives
    /// 0.8153875037548814.
    #[test]
    fn krippendorff_ordinal_alpha_matches_the_published_example() {
        let units = krippendorff_2011_units();
        let alpha = krippendorff_alpha_ordinal(&units).expect("alpha");
        assert!((alpha - 0.815).abs() < 0.0005, "{alpha}");
        assert!((alpha - 0.815_387_503_754_881_4).abs() < 1e-12, "{alpha}");
        // Perfect agreement is 1; no pairable units or no variation give none.
        assert_eq!(
            krippendorff_alpha_ordinal(&[vec![1, 1], vec![3, 3], vec![5, 5]]),
            Some(1.0)
        );
        assert_eq!(krippendorff_alpha_ordinal(&[vec![2], vec![4]]), None);
        assert_eq!(krippendorff_alpha_ordinal(&[vec![3, 3], vec![3, 3]]), None);
    }

    /// Krippendorff (2011) publishes interval α = 0.849 for its example, and
    /// n = 40 pairable values (the total of its coincidence matrix) in 11
    /// pairable units (unit 12 has one value); the `krippendorff` package
    /// 0.9.0 (`level_of_measurement="interval"`) gives 0.8491071428571428.
    #[test]
    fn krippendorff_interval_alpha_matches_the_published_example() {
        let units = krippendorff_2011_units();
        let res = krippendorff_alpha(&units, AlphaMetric::Interval);
        let alpha = res.alpha.expect("alpha");
        assert!((alpha - 0.849).abs() < 0.0005, "{alpha}");
        assert!((alpha - 0.849_107_142_857_142_8).abs() < 1e-12, "{alpha}");
        assert_eq!((res.pairable_units, res.pairable_values), (11, 40));
        let ordinal = krippendorff_alpha(&units, AlphaMetric::Ordinal);
        assert_eq!((ordinal.pairable_units, ordinal.pairable_values), (11, 40));
        assert_eq!(ordinal.alpha, krippendorff_alpha_ordinal(&units));
    }

    /// Three raters, eleven units, missing ratings, one unit with a single
    /// value. The `krippendorff` package 0.9.0 on the reliability matrix
    /// (raters × units, NaN for missing)
    /// `[[4,5,3,·,2,4,5,1,3,·,·], [4,4,3,2,·,5,5,2,3,4,3], [5,·,2,2,1,4,·,1,4,4,·]]`
    /// gives ordinal α 0.8323314378554021 and interval α 0.8438661710037174.
    #[test]
    fn krippendorff_alpha_matches_the_python_package_with_missing_ratings() {
        let units: Vec<Vec<i64>> = vec![
            vec![4, 4, 5],
            vec![5, 4],
            vec![3, 3, 2],
            vec![2, 2],
            vec![2, 1],
            vec![4, 5, 4],
            vec![5, 5],
            vec![1, 2, 1],
            vec![3, 3, 4],
            vec![4, 4],
            vec![3],
        ];
        let ordinal = krippendorff_alpha(&units, AlphaMetric::Ordinal);
        let interval = krippendorff_alpha(&units, AlphaMetric::Interval);
        assert!((ordinal.alpha.expect("alpha") - 0.832_331_437_855_402_1).abs() < 1e-12);
        assert!((interval.alpha.expect("alpha") - 0.843_866_171_003_717_4).abs() < 1e-12);
        assert_eq!(
            (interval.pairable_units, interval.pairable_values),
            (10, 25)
        );
        // Counts come back even when α is undefined.
        let flat = krippendorff_alpha(&[vec![3, 3, 3], vec![3, 3], vec![4]], AlphaMetric::Interval);
        assert_eq!(
            (flat.alpha, flat.pairable_units, flat.pairable_values),
            (None, 2, 5)
        );
        let lone = krippendorff_alpha(&[vec![1, 5], vec![2]], AlphaMetric::Interval);
        assert_eq!(
            (lone.alpha, lone.pairable_units, lone.pairable_values),
            (None, 1, 2)
        );
    }

    /// scikit-learn 1.9.1
    /// `cohen_kappa_score(a, b, weights="quadratic", labels=[1, 2, 3, 4, 5])`.
    #[test]
    fn quadratic_kappa_matches_scikit_learn() {
        let cases: [(&[i64], &[i64], f64); 6] = [
            (
                &[1, 2, 3, 4, 5, 3, 4, 2, 5, 4],
                &[1, 3, 3, 4, 4, 2, 4, 2, 5, 5],
                0.875_776_397_515_527_9,
            ),
            (&[4, 4, 5, 4, 3, 4], &[5, 4, 4, 4, 4, 3], 0.0),
            (&[2, 3, 2, 3], &[3, 2, 3, 2], -1.0),
            (&[4, 4, 4], &[4, 5, 4], 0.0),
            // Unused categories between used ones still count: without
            // `labels` scikit-learn gives 0.26865671641791045 here.
            (
                &[1, 1, 2, 5, 5, 2, 1],
                &[1, 2, 2, 5, 2, 5, 5],
                0.169_491_525_423_728_92,
            ),
            // Without `labels`: 0.25.
            (&[2, 5, 5, 2, 4], &[2, 4, 5, 5, 2], 0.239_130_434_782_608_76),
        ];
        for (a, b, expected) in cases {
            let pairs: Vec<(i64, i64)> = a.iter().copied().zip(b.iter().copied()).collect();
            let kappa = cohen_kappa_quadratic(&pairs).expect("kappa");
            assert!((kappa - expected).abs() < 1e-12, "{a:?} {b:?}: {kappa}");
        }
        // Undefined (scikit-learn returns NaN): both raters always gave 3;
        // no pairs; a score off the 1–5 scale.
        assert_eq!(cohen_kappa_quadratic(&[(3, 3), (3, 3), (3, 3)]), None);
        assert_eq!(cohen_kappa_quadratic(&[]), None);
        assert_eq!(cohen_kappa_quadratic(&[(3, 4), (0, 2)]), None);
        // Perfect agreement.
        assert_eq!(cohen_kappa_quadratic(&[(1, 1), (5, 5), (3, 3)]), Some(1.0));
    }
}
