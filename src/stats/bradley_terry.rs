//! Bradley–Terry strengths from pairwise preferences, with bootstrap
//! intervals.

use super::rng::splitmix64;

/// One pairwise outcome: model `a` against model `b`, `a` scoring `score`
/// (1 a win, 0 a loss, 0.5 a tie).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Comparison {
    /// Index of the first model.
    pub a: usize,
    /// Index of the second model.
    pub b: usize,
    /// What `a` scored against `b`: 1 a win, 0 a loss, 0.5 a tie.
    pub score: f64,
}

/// One model's Bradley–Terry share with its bootstrap 95 % interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Strength {
    /// Share of the total strength (0–1; the shares of all models that took
    /// part sum to 1); `None` for a model without comparisons.
    pub share: Option<f64>,
    /// Lower end of the bootstrap 95 % interval of `share`.
    pub ci_low: Option<f64>,
    /// Upper end of the bootstrap 95 % interval of `share`.
    pub ci_high: Option<f64>,
    /// Pairwise comparisons this model took part in.
    pub comparisons: u32,
}

/// Bootstrap resamples behind the strength intervals.
const BOOTSTRAP_RESAMPLES: usize = 500;

/// Fits Bradley–Terry strengths to `comparisons` among `n` models with the
/// MM algorithm (Hunter 2004) and returns each model's share of the total, or
/// `None` for a model without comparisons. Every pair that met gets one
/// virtual tie, which keeps a model that won (or lost) every comparison at a
/// finite strength.
pub fn bradley_terry(n: usize, comparisons: &[Comparison]) -> Vec<Option<f64>> {
    let mut games = vec![vec![0.0f64; n]; n];
    let mut wins = vec![0.0f64; n];
    for c in comparisons {
        games[c.a][c.b] += 1.0;
        games[c.b][c.a] += 1.0;
        wins[c.a] += c.score;
        wins[c.b] += 1.0 - c.score;
    }
    for (i, row) in games.iter_mut().enumerate() {
        for (j, g) in row.iter_mut().enumerate() {
            if i != j && *g > 0.0 {
                *g += 1.0;
                wins[i] += 0.5;
            }
        }
    }
    let played: Vec<bool> = (0..n).map(|i| games[i].iter().any(|&g| g > 0.0)).collect();
    let mut p = vec![1.0f64; n];
    for _ in 0..1000 {
        let mut next = p.clone();
        for i in (0..n).filter(|&i| played[i]) {
            let denom: f64 = (0..n)
                .filter(|&j| j != i && games[i][j] > 0.0)
                .map(|j| games[i][j] / (p[i] + p[j]))
                .sum();
            next[i] = wins[i] / denom;
        }
        let total: f64 = (0..n).filter(|&i| played[i]).map(|i| next[i]).sum();
        let mut change = 0.0f64;
        for i in (0..n).filter(|&i| played[i]) {
            let v = next[i] / total;
            change = change.max((v - p[i]).abs());
            p[i] = v;
        }
        if change < 1e-12 {
            break;
        }
    }
    (0..n).map(|i| played[i].then_some(p[i])).collect()
}

/// Bradley–Terry shares of `n` models with bootstrap 95 % intervals.
///
/// `per_item` holds the comparisons of each rated item; the bootstrap
/// resamples items with replacement, from a fixed seed so the figures are the
/// same on every call.
pub fn strengths(n: usize, per_item: &[Vec<Comparison>]) -> Vec<Strength> {
    let all: Vec<Comparison> = per_item.iter().flatten().copied().collect();
    let share = bradley_terry(n, &all);
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); n];
    if !per_item.is_empty() {
        let mut state = 0x5EED_u64;
        for _ in 0..BOOTSTRAP_RESAMPLES {
            let resample: Vec<Comparison> = (0..per_item.len())
                .flat_map(|_| {
                    let k = (splitmix64(&mut state) % per_item.len() as u64) as usize;
                    per_item[k].iter().copied()
                })
                .collect();
            for (i, s) in bradley_terry(n, &resample).into_iter().enumerate() {
                if let Some(s) = s {
                    samples[i].push(s);
                }
            }
        }
    }
    let percentile = |v: &mut Vec<f64>, q: f64| {
        v.sort_by(f64::total_cmp);
        (!v.is_empty()).then(|| v[((v.len() - 1) as f64 * q).round() as usize])
    };
    (0..n)
        .map(|i| Strength {
            share: share[i],
            ci_low: share[i].and_then(|_| percentile(&mut samples[i], 0.025)),
            ci_high: share[i].and_then(|_| percentile(&mut samples[i], 0.975)),
            comparisons: all.iter().filter(|c| c.a == i || c.b == i).count() as u32,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `wins` of model 0 over model 1 out of `n` items, one comparison each.
    fn duel(wins: usize, n: usize) -> Vec<Vec<Comparison>> {
        (0..n)
            .map(|k| {
                let score = if k < wins { 1.0 } else { 0.0 };
                vec![Comparison { a: 0, b: 1, score }]
            })
            .collect()
    }

    #[test]
    fn two_models_share_the_win_rate_with_one_virtual_tie() {
        // With two models the Bradley–Terry maximum-likelihood share is the
        // win rate; the virtual tie adds half a win to each side: 8.5 / 11.
        let res = strengths(3, &duel(8, 10));
        let share = res[0].share.expect("share");
        assert!((share - 8.5 / 11.0).abs() < 1e-9, "{share}");
        let (lo, hi) = (res[0].ci_low.expect("low"), res[0].ci_high.expect("high"));
        assert!(
            0.0 < lo && lo < share && share < hi && hi < 1.0,
            "{lo} {share} {hi}"
        );
        assert_eq!(res[0].comparisons, 10);
        let b = res[1].share.expect("share");
        assert!((share + b - 1.0).abs() < 1e-9);
        // A model that never met another has no strength.
        assert_eq!(
            (res[2].share, res[2].ci_low, res[2].comparisons),
            (None, None, 0)
        );
        // The same data gives the same interval (fixed bootstrap seed).
        assert_eq!(strengths(3, &duel(8, 10)), res);
        // Winning everything stays finite.
        let sweep = strengths(2, &duel(5, 5))[0].share.expect("share");
        assert!(sweep > 0.9 && sweep < 1.0, "{sweep}");
    }

    #[test]
    fn ties_are_half_wins() {
        let tied: Vec<Vec<Comparison>> = (0..4)
            .map(|_| {
                vec![Comparison {
                    a: 0,
                    b: 1,
                    score: 0.5,
                }]
            })
            .collect();
        let share = bradley_terry(2, &tied.concat())[0].expect("share");
        assert!((share - 0.5).abs() < 1e-9, "{share}");
    }

    #[test]
    fn no_comparisons_give_no_strengths() {
        let res = strengths(2, &[]);
        assert!(res.iter().all(|s| s.share.is_none() && s.ci_high.is_none()));
    }
}
