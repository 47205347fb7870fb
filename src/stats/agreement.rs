//! Inter-rater agreement: Krippendorff's α.

/// Krippendorff's α with the ordinal metric.
///
/// `units` holds, per unit (here: one answer), the values the raters gave
/// it; units with fewer than two values are not pairable and are left out.
/// Returns `None` without at least two pairable units or when the pairable
/// values show no variation (α is undefined then). Follows Krippendorff
/// (2011), "Computing Krippendorff's Alpha-Reliability": a coincidence
/// matrix over pairable values and the ordinal difference
/// δ²(c, k) = (Σ_{g=c..k} n_g − (n_c + n_k) / 2)².
pub fn krippendorff_alpha_ordinal(units: &[Vec<i64>]) -> Option<f64> {
    let pairable: Vec<&Vec<i64>> = units.iter().filter(|u| u.len() >= 2).collect();
    if pairable.len() < 2 {
        return None;
    }
    let mut values: Vec<i64> = pairable.iter().flat_map(|u| u.iter().copied()).collect();
    values.sort_unstable();
    values.dedup();
    let index = |v: i64| values.binary_search(&v).unwrap_or(0);
    let k = values.len();
    if k < 2 {
        return None;
    }
    // Coincidence matrix: each ordered pair of values within a unit counts 1 / (m_u − 1).
    let mut o = vec![vec![0.0f64; k]; k];
    for u in &pairable {
        let w = 1.0 / (u.len() as f64 - 1.0);
        for (i, a) in u.iter().enumerate() {
            for (j, b) in u.iter().enumerate() {
                if i != j {
                    o[index(*a)][index(*b)] += w;
                }
            }
        }
    }
    let n_c: Vec<f64> = o.iter().map(|row| row.iter().sum()).collect();
    let n: f64 = n_c.iter().sum();
    let delta2 = |c: usize, kk: usize| {
        let (lo, hi) = if c <= kk { (c, kk) } else { (kk, c) };
        let span: f64 = n_c[lo..=hi].iter().sum();
        (span - (n_c[lo] + n_c[hi]) / 2.0).powi(2)
    };
    let mut observed = 0.0;
    let mut expected = 0.0;
    for c in 0..k {
        for kk in 0..k {
            let d = delta2(c, kk);
            observed += o[c][kk] * d;
            expected += n_c[c] * n_c[kk] * d;
        }
    }
    let d_o = observed / n;
    let d_e = expected / (n * (n - 1.0));
    (d_e > 0.0).then(|| 1.0 - d_o / d_e)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worked example of Krippendorff (2011), "Computing Krippendorff's
    /// Alpha-Reliability": 4 observers, 12 units, values 1–5, some missing.
    /// Its published ordinal α is 0.815.
    #[test]
    fn krippendorff_ordinal_alpha_matches_the_published_example() {
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
        let units: Vec<Vec<i64>> = (0..12)
            .map(|u| observers.iter().filter_map(|o| o[u]).collect())
            .collect();
        let alpha = krippendorff_alpha_ordinal(&units).expect("alpha");
        assert!((alpha - 0.815).abs() < 0.0005, "{alpha}");
        // Perfect agreement is 1; no pairable units or no variation give none.
        assert_eq!(
            krippendorff_alpha_ordinal(&[vec![1, 1], vec![3, 3], vec![5, 5]]),
            Some(1.0)
        );
        assert_eq!(krippendorff_alpha_ordinal(&[vec![2], vec![4]]), None);
        assert_eq!(krippendorff_alpha_ordinal(&[vec![3, 3], vec![3, 3]]), None);
    }
}
