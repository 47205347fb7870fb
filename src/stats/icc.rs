//! Intraclass correlation: Shrout & Fleiss ICC(2,1) and ICC(2,k), two-way
//! random effects, absolute agreement.

use super::distributions::{f_quantile, f_sf};
use super::intervals::Interval;

/// One intraclass correlation with its 95 % interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IccValue {
    /// The coefficient.
    pub icc: f64,
    /// 95 % confidence interval (McGraw & Wong 1996, as pingouin computes
    /// it); `None` when its Satterthwaite degrees of freedom are not
    /// positive and finite.
    pub ci: Option<Interval>,
}

/// ICC(2,1) and ICC(2,k) of a units × raters matrix, with the F test that
/// both share; see [`icc_two_way_random`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Icc {
    /// Units (rows), `n`.
    pub units: usize,
    /// Raters (columns), `k`.
    pub raters: usize,
    /// ICC(2,1): the reliability of one rater's score.
    pub single: IccValue,
    /// ICC(2,k): the reliability of the mean of the `k` raters' scores.
    pub average: IccValue,
    /// F = MS_rows / MS_error, testing ICC = 0.
    pub f: f64,
    /// Numerator degrees of freedom, `n − 1`.
    pub df1: f64,
    /// Denominator degrees of freedom, `(n − 1)(k − 1)`.
    pub df2: f64,
    /// P(F(df1, df2) > f).
    pub p: f64,
}

/// The mean squares of a two-way layout without replication.
struct MeanSquares {
    /// Between units (rows), df `n − 1`.
    rows: f64,
    /// Between raters (columns), df `k − 1`.
    cols: f64,
    /// Residual, df `(n − 1)(k − 1)`.
    error: f64,
}

/// Shrout & Fleiss (1979) ICC(2,1) and ICC(2,k) — two-way random effects,
/// absolute agreement (McGraw & Wong's ICC(A,1) and ICC(A,k)) — of
/// `matrix`, one row per unit and one column per rater, every rater scoring
/// every unit (pass only such units):
///
/// - `ICC(2,1) = (MSR − MSE) / (MSR + (k − 1) MSE + k (MSC − MSE) / n)`,
/// - `ICC(2,k) = (MSR − MSE) / (MSR + (MSC − MSE) / n)`,
///
/// with `F = MSR / MSE` on `(n − 1, (n − 1)(k − 1))` degrees of freedom, and
/// the 95 % intervals of McGraw & Wong (1996) with Satterthwaite's degrees of
/// freedom, exactly as pingouin's `intraclass_corr` computes them (its rows
/// `ICC2` and `ICC2k`).
///
/// `None` with fewer than two units or two raters, rows of unequal length,
/// a non-finite score, or no residual variation (MSE = 0: every rater's
/// scores equal another's plus a constant, F is infinite and the interval
/// undefined).
pub fn icc_two_way_random(matrix: &[Vec<f64>]) -> Option<Icc> {
    let n = matrix.len();
    let k = matrix.first()?.len();
    let complete = matrix
        .iter()
        .all(|r| r.len() == k && r.iter().all(|v| v.is_finite()));
    if n < 2 || k < 2 || !complete {
        return None;
    }
    let ms = mean_squares(matrix);
    if ms.error <= 1e-12 * (ms.rows + ms.cols + ms.error) {
        return None;
    }
    let (nf, kf) = (n as f64, k as f64);
    let single =
        (ms.rows - ms.error) / (ms.rows + (kf - 1.0) * ms.error + kf * (ms.cols - ms.error) / nf);
    let average = (ms.rows - ms.error) / (ms.rows + (ms.cols - ms.error) / nf);
    let (df1, df2) = (nf - 1.0, (nf - 1.0) * (kf - 1.0));
    let f = ms.rows / ms.error;
    let ci = single_interval(&ms, nf, kf, single);
    let to_average = |r: f64| r * kf / (1.0 + r * (kf - 1.0));
    Some(Icc {
        units: n,
        raters: k,
        single: IccValue { icc: single, ci },
        average: IccValue {
            icc: average,
            ci: ci.map(|c| Interval {
                low: to_average(c.low),
                high: to_average(c.high),
            }),
        },
        f,
        df1,
        df2,
        p: f_sf(f, df1, df2),
    })
}

/// Row, column and residual mean squares of a complete `n × k` matrix; the
/// residual from `x − row mean − column mean + grand mean` directly, to avoid
/// cancellation.
fn mean_squares(matrix: &[Vec<f64>]) -> MeanSquares {
    let (n, k) = (matrix.len(), matrix[0].len());
    let (nf, kf) = (n as f64, k as f64);
    let row_means: Vec<f64> = matrix.iter().map(|r| r.iter().sum::<f64>() / kf).collect();
    let col_means: Vec<f64> = (0..k)
        .map(|j| matrix.iter().map(|r| r[j]).sum::<f64>() / nf)
        .collect();
    let grand = row_means.iter().sum::<f64>() / nf;
    let ss_rows = kf * row_means.iter().map(|m| (m - grand).powi(2)).sum::<f64>();
    let ss_cols = nf * col_means.iter().map(|m| (m - grand).powi(2)).sum::<f64>();
    let ss_error: f64 = matrix
        .iter()
        .zip(&row_means)
        .flat_map(|(r, rm)| {
            r.iter()
                .zip(&col_means)
                .map(move |(x, cm)| (x - rm - cm + grand).powi(2))
        })
        .sum();
    MeanSquares {
        rows: ss_rows / (nf - 1.0),
        cols: ss_cols / (kf - 1.0),
        error: ss_error / ((nf - 1.0) * (kf - 1.0)),
    }
}

/// The 95 % interval of ICC(2,1) (McGraw & Wong 1996, case 2A), with
/// Satterthwaite's degrees of freedom `v`, as in pingouin.
fn single_interval(ms: &MeanSquares, n: f64, k: f64, icc: f64) -> Option<Interval> {
    let fj = ms.cols / ms.error;
    let base = n * (1.0 + (k - 1.0) * icc) - k * icc;
    let vn = (n - 1.0) * (k - 1.0) * (k * icc * fj + base).powi(2);
    let vd = (n - 1.0) * k * k * icc * icc * fj * fj + base * base;
    let v = vn / vd;
    if !(v.is_finite() && v > 0.0) {
        return None;
    }
    let f_upper = f_quantile(0.975, n - 1.0, v);
    let f_lower = f_quantile(0.975, v, n - 1.0);
    let spread = k * ms.cols + (k * n - k - n) * ms.error;
    Some(Interval {
        low: n * (ms.rows - f_upper * ms.error) / (f_upper * spread + n * ms.rows),
        high: n * (f_lower * ms.rows - ms.error) / (spread + n * f_lower * ms.rows),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One matrix's expected figures, all from pingouin.
    struct Expected {
        single: f64,
        single_ci: (f64, f64),
        average: f64,
        average_ci: (f64, f64),
        f: f64,
        df: (f64, f64),
        p: f64,
    }

    fn check(rows: &[&[f64]], e: &Expected) {
        let matrix: Vec<Vec<f64>> = rows.iter().map(|r| r.to_vec()).collect();
        let icc = icc_two_way_random(&matrix).expect("icc");
        let close = |a: f64, b: f64, tol: f64| assert!((a - b).abs() < tol, "{a} vs {b}");
        close(icc.single.icc, e.single, 1e-12);
        close(icc.average.icc, e.average, 1e-12);
        close(icc.f, e.f, 1e-9);
        assert_eq!((icc.df1, icc.df2), e.df);
        assert!(((icc.p - e.p) / e.p).abs() < 1e-9, "p {} vs {}", icc.p, e.p);
        let (s, a) = (icc.single.ci.expect("ci"), icc.average.ci.expect("ci"));
        close(s.low, e.single_ci.0, 1e-9);
        close(s.high, e.single_ci.1, 1e-9);
        close(a.low, e.average_ci.0, 1e-9);
        close(a.high, e.average_ci.1, 1e-9);
        assert_eq!((icc.units, icc.raters), (rows.len(), rows[0].len()));
    }

    // Expected values: pingouin 0.7.0
    // `intraclass_corr(data, targets, raters, ratings)` on the long form of
    // the matrix, rows "ICC(A,1)" (ICC2) and "ICC(A,k)" (ICC2k): ICC, F,
    // df1, df2, pval and CI95, with `pingouin.options["round"]` and
    // `["round.column.CI95"]` set to None (its default rounds CI95 to two
    // decimals).

    /// The worked example of Shrout & Fleiss (1979): 6 targets, 4 judges.
    /// The paper publishes ICC(2,1) = 0.29 and ICC(2,4) = 0.62.
    #[test]
    fn shrout_and_fleiss_example() {
        let rows: [&[f64]; 6] = [
            &[9.0, 2.0, 5.0, 8.0],
            &[6.0, 1.0, 3.0, 2.0],
            &[8.0, 4.0, 6.0, 8.0],
            &[7.0, 1.0, 2.0, 6.0],
            &[10.0, 5.0, 6.0, 9.0],
            &[6.0, 2.0, 4.0, 7.0],
        ];
        check(
            &rows,
            &Expected {
                single: 0.289_763_779_527_559_16,
                single_ci: (0.018_786_513_374_712_058, 0.761_084_369_648_952_7),
                average: 0.620_050_547_598_989_3,
                average_ci: (0.071_136_815_302_503_53, 0.927_232_040_167_721_9),
                f: 11.027_247_956_403_299,
                df: (5.0, 15.0),
                p: 0.000_134_566_516_484_335,
            },
        );
        let matrix: Vec<Vec<f64>> = rows.iter().map(|r| r.to_vec()).collect();
        let icc = icc_two_way_random(&matrix).expect("icc");
        assert!((icc.single.icc - 0.29).abs() < 0.005);
        assert!((icc.average.icc - 0.62).abs() < 0.005);
    }

    /// Eight answers scored 1–5 by three raters.
    #[test]
    fn three_raters_on_a_five_point_scale() {
        let rows: [&[f64]; 8] = [
            &[4.0, 5.0, 4.0],
            &[3.0, 3.0, 2.0],
            &[5.0, 5.0, 5.0],
            &[2.0, 3.0, 1.0],
            &[4.0, 4.0, 5.0],
            &[1.0, 2.0, 2.0],
            &[3.0, 4.0, 3.0],
            &[5.0, 4.0, 4.0],
        ];
        check(
            &rows,
            &Expected {
                single: 0.789_297_658_862_876_1,
                single_ci: (0.484_952_525_748_112_3, 0.947_774_392_844_309_2),
                average: 0.918_287_937_743_190_6,
                average_ci: (0.738_541_980_050_922_9, 0.981_963_485_673_659_5),
                f: 12.999_999_999_999_984,
                df: (7.0, 14.0),
                p: 3.719_108_275_915_888_4e-5,
            },
        );
    }

    /// Five answers, two raters.
    #[test]
    fn two_raters() {
        let rows: [&[f64]; 5] = [
            &[3.0, 4.0],
            &[2.0, 2.0],
            &[5.0, 4.0],
            &[4.0, 5.0],
            &[1.0, 2.0],
        ];
        check(
            &rows,
            &Expected {
                single: 0.813_953_488_372_092_8,
                single_ci: (0.136_494_077_884_367_35, 0.978_338_297_541_73),
                average: 0.897_435_897_435_897_4,
                average_ci: (0.240_202_004_639_490_87, 0.989_050_556_982_500_7),
                f: 9.749_999_999_999_991,
                df: (4.0, 4.0),
                p: 0.024_350_057_227_665_534,
            },
        );
    }

    #[test]
    fn degenerate_matrices_have_no_icc() {
        // Too small, ragged, or no residual variation (rater 2 = rater 1 + 1).
        assert!(icc_two_way_random(&[]).is_none());
        assert!(icc_two_way_random(&[vec![1.0, 2.0]]).is_none());
        assert!(icc_two_way_random(&[vec![1.0], vec![2.0]]).is_none());
        assert!(icc_two_way_random(&[vec![1.0, 2.0], vec![3.0]]).is_none());
        assert!(icc_two_way_random(&[vec![1.0, 2.0], vec![3.0, 4.0], vec![2.0, 3.0]]).is_none());
        assert!(icc_two_way_random(&[vec![3.0, 3.0], vec![3.0, 3.0]]).is_none());
        assert!(icc_two_way_random(&[vec![1.0, f64::NAN], vec![3.0, 4.0]]).is_none());
    }
}
