//! Means and their 95 % confidence intervals.

/// Mean and 95 % confidence half-width of `scores` (normal approximation,
/// 1.96 × standard error, with the sample standard deviation). The mean is
/// `None` without scores, the half-width `None` under two scores.
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
    (Some(mean), Some(1.96 * (var / n).sqrt()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_and_half_width() {
        // 4 and 5: sd = 0.7071, se = 0.5, ci = 1.96 × 0.5 = 0.98.
        let (mean, ci) = mean_ci(&[4, 5]);
        assert_eq!(mean, Some(4.5));
        assert!((ci.expect("ci") - 0.98).abs() < 1e-9);
        // One score has a mean but no interval; none has neither.
        assert_eq!(mean_ci(&[3]), (Some(3.0), None));
        assert_eq!(mean_ci(&[]), (None, None));
    }
}
