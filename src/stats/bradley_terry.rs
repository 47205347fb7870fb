//! Bradley–Terry strengths from pairwise preferences, with bootstrap
//! intervals.

use super::rng::{SplitMix, resample_counts};

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

/// How a Bradley–Terry fit was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FitMethod {
    /// The plain maximum-likelihood fit: the comparison graph is strongly
    /// connected (Ford's condition: however the models that took part are
    /// split in two, each side scored at least half a win against the
    /// other), so the maximum exists and is unique.
    MaximumLikelihood,
    /// The MLE does not exist (some group of models never lost, or never
    /// won, against the rest, so its strength would run to infinity or
    /// zero): every pair that met gets one virtual tie, a stated prior that
    /// keeps every strength finite.
    VirtualTies,
}

/// A Bradley–Terry fit; see [`fit`].
#[derive(Debug, Clone, PartialEq)]
pub struct Fit {
    /// Each model's share of the total strength, `None` for a model without
    /// comparisons.
    pub shares: Vec<Option<f64>>,
    /// How the fit was made.
    pub method: FitMethod,
    /// Log-likelihood of the observed comparisons (virtual ties not
    /// counted) under the fitted strengths, ties scoring half a win for each
    /// side: `Σ s ln π_ab + (1 − s) ln (1 − π_ab)` with
    /// `π_ab = p_a / (p_a + p_b)`; `None` without comparisons.
    pub log_likelihood: Option<f64>,
}

/// Bootstrap resamples behind the strength intervals.
pub const BOOTSTRAP_RESAMPLES: usize = 500;

/// Seed of the strength bootstrap.
pub const BOOTSTRAP_SEED: u64 = 0x5EED;

/// What each model scored against each other: `w[a][b]` sums `a`'s score
/// over its comparisons with `b` (a win 1, a tie 0.5), so `w[a][b] +
/// w[b][a]` is the number of games between them.
type Tally = Vec<Vec<f64>>;

/// Adds `weight` copies of `comparisons` to `tally`.
fn add_to_tally(tally: &mut Tally, comparisons: &[Comparison], weight: f64) {
    for c in comparisons {
        tally[c.a][c.b] += weight * c.score;
        tally[c.b][c.a] += weight * (1.0 - c.score);
    }
}

/// Whether the directed "scored against" graph of the models that took part
/// is strongly connected (`a → b` when `a` scored more than nothing against
/// `b`; a tie points both ways).
fn strongly_connected(n: usize, w: &Tally) -> bool {
    let played: Vec<bool> = (0..n)
        .map(|i| (0..n).any(|j| w[i][j] > 0.0 || w[j][i] > 0.0))
        .collect();
    let Some(start) = played.iter().position(|&p| p) else {
        return false;
    };
    let reach = |forward: bool| {
        let mut seen = vec![false; n];
        let mut stack = vec![start];
        seen[start] = true;
        while let Some(i) = stack.pop() {
            for j in 0..n {
                let e = if forward {
                    w[i][j] > 0.0
                } else {
                    w[j][i] > 0.0
                };
                if e && !seen[j] {
                    seen[j] = true;
                    stack.push(j);
                }
            }
        }
        seen
    };
    let (fwd, back) = (reach(true), reach(false));
    (0..n).all(|i| !played[i] || (fwd[i] && back[i]))
}

/// Minorization–maximization (Hunter 2004) on `games` (symmetric counts)
/// and `wins`, over the models that played; shares sum to 1.
fn mm(n: usize, games: &[Vec<f64>], wins: &[f64]) -> Vec<Option<f64>> {
    let played: Vec<bool> = (0..n).map(|i| games[i].iter().any(|&g| g > 0.0)).collect();
    let mut p = vec![1.0f64; n];
    for _ in 0..10_000 {
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
        if change < 1e-13 {
            break;
        }
    }
    (0..n).map(|i| played[i].then_some(p[i])).collect()
}

/// Fits Bradley–Terry strengths to `comparisons` among `n` models: the plain
/// maximum-likelihood fit when the comparison graph is strongly connected,
/// otherwise one virtual tie per pair that met (see [`FitMethod`]). Solved
/// by minorization–maximization (Hunter 2004) to a change in every share
/// under 1e-13.
pub fn fit(n: usize, comparisons: &[Comparison]) -> Fit {
    let mut tally = vec![vec![0.0f64; n]; n];
    add_to_tally(&mut tally, comparisons, 1.0);
    fit_tally(n, &tally)
}

/// [`fit`] on comparisons already summed into a [`Tally`].
fn fit_tally(n: usize, w: &Tally) -> Fit {
    let mut games = vec![vec![0.0f64; n]; n];
    let mut wins = vec![0.0f64; n];
    for a in 0..n {
        for b in 0..n {
            if a != b {
                games[a][b] = w[a][b] + w[b][a];
                wins[a] += w[a][b];
            }
        }
    }
    let any_games = games.iter().flatten().any(|&g| g > 0.0);
    let method = if strongly_connected(n, w) {
        FitMethod::MaximumLikelihood
    } else {
        for (i, row) in games.iter_mut().enumerate() {
            for (j, g) in row.iter_mut().enumerate() {
                if i != j && *g > 0.0 {
                    *g += 1.0;
                    wins[i] += 0.5;
                }
            }
        }
        FitMethod::VirtualTies
    };
    let shares = mm(n, &games, &wins);
    let log_likelihood = any_games.then(|| {
        let mut ll = 0.0;
        for a in 0..n {
            for b in 0..n {
                if let (true, Some(pa), Some(pb)) = (a != b && w[a][b] > 0.0, shares[a], shares[b])
                {
                    ll += w[a][b] * (pa / (pa + pb)).ln();
                }
            }
        }
        ll
    });
    Fit {
        shares,
        method,
        log_likelihood,
    }
}

/// Each model's Bradley–Terry share (see [`fit`]), or `None` for a model
/// without comparisons.
pub fn bradley_terry(n: usize, comparisons: &[Comparison]) -> Vec<Option<f64>> {
    fit(n, comparisons).shares
}

/// Bradley–Terry shares of `n` models with bootstrap 95 % intervals, and
/// the fit behind them.
///
/// `per_item` holds the comparisons of each rated item. The bootstrap draws
/// [`BOOTSTRAP_RESAMPLES`] resamples of the items with replacement (as
/// multinomial counts over the groups of items with identical comparisons,
/// from the splitmix64 stream of [`BOOTSTRAP_SEED`]), fits each as [`fit`]
/// does, and
/// reads the 2.5th and 97.5th percentiles of each share (nearest rank on
/// the sorted shares, `round((B − 1)·q)`). The items are put in a canonical
/// order first (by their sorted comparisons), so the intervals depend on
/// what was compared, not on how the items happen to be numbered or listed.
pub fn strengths_fit(n: usize, per_item: &[Vec<Comparison>]) -> (Fit, Vec<Strength>) {
    let mut items: Vec<Vec<Comparison>> = per_item
        .iter()
        .map(|cs| {
            let mut cs = cs.clone();
            cs.sort_by(|x, y| {
                (x.a, x.b)
                    .cmp(&(y.a, y.b))
                    .then(x.score.total_cmp(&y.score))
            });
            cs
        })
        .collect();
    items.sort_by_cached_key(|cs| -> Vec<(usize, usize, u64)> {
        cs.iter().map(|c| (c.a, c.b, c.score.to_bits())).collect()
    });
    let all: Vec<Comparison> = items.iter().flatten().copied().collect();
    let whole = fit(n, &all);
    // Items with the same comparisons are interchangeable in a resample:
    // group them (the canonical order puts them side by side) and draw each
    // resample as counts per group, which has the distribution of drawing
    // the items one by one.
    let mut patterns: Vec<(&Vec<Comparison>, u64)> = Vec::new();
    for item in &items {
        match patterns.last_mut() {
            Some((p, count)) if *p == item => *count += 1,
            _ => patterns.push((item, 1)),
        }
    }
    let counts: Vec<u64> = patterns.iter().map(|(_, c)| *c).collect();
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); n];
    if !items.is_empty() {
        let mut rng = SplitMix(BOOTSTRAP_SEED);
        let mut drawn = vec![0u64; counts.len()];
        let mut tally = vec![vec![0.0f64; n]; n];
        for _ in 0..BOOTSTRAP_RESAMPLES {
            resample_counts(&counts, &mut rng, &mut drawn);
            tally.iter_mut().flatten().for_each(|x| *x = 0.0);
            for ((pattern, _), &times) in patterns.iter().zip(&drawn) {
                if times > 0 {
                    add_to_tally(&mut tally, pattern, times as f64);
                }
            }
            for (i, s) in fit_tally(n, &tally).shares.into_iter().enumerate() {
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
    let strengths = (0..n)
        .map(|i| Strength {
            share: whole.shares[i],
            ci_low: whole.shares[i].and_then(|_| percentile(&mut samples[i], 0.025)),
            ci_high: whole.shares[i].and_then(|_| percentile(&mut samples[i], 0.975)),
            comparisons: all.iter().filter(|c| c.a == i || c.b == i).count() as u32,
        })
        .collect();
    (whole, strengths)
}

/// Bradley–Terry shares of `n` models with bootstrap 95 % intervals; see
/// [`strengths_fit`].
pub fn strengths(n: usize, per_item: &[Vec<Comparison>]) -> Vec<Strength> {
    strengths_fit(n, per_item).1
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
    fn two_models_share_the_win_rate() {
        // With two models the Bradley–Terry maximum-likelihood share is the
        // win rate, 8 / 10 (each won and lost: the MLE exists).
        let (whole, res) = strengths_fit(3, &duel(8, 10));
        assert_eq!(whole.method, FitMethod::MaximumLikelihood);
        let share = res[0].share.expect("share");
        assert!((share - 0.8).abs() < 1e-9, "{share}");
        // log L = 8 ln 0.8 + 2 ln 0.2
        let ll = whole.log_likelihood.expect("log-likelihood");
        assert!(
            (ll - (8.0 * 0.8f64.ln() + 2.0 * 0.2f64.ln())).abs() < 1e-9,
            "{ll}"
        );
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
        // Winning everything: no MLE, so one virtual tie per pair: 5.5 / 6.
        let (whole, sweep) = strengths_fit(2, &duel(5, 5));
        assert_eq!(whole.method, FitMethod::VirtualTies);
        let sweep = sweep[0].share.expect("share");
        assert!((sweep - 5.5 / 6.0).abs() < 1e-9, "{sweep}");
    }

    #[test]
    fn three_models_match_the_closed_form_and_ignore_item_order() {
        // A cycle a > b > c > a, once each, plus a beats b again: strongly
        // connected. The MLE solves the score equations
        // w_i = Σ_j n_ij p_i / (p_i + p_j); check them at the fit.
        let c = |a, b, score| Comparison { a, b, score };
        let items = vec![
            vec![c(0, 1, 1.0)],
            vec![c(1, 2, 1.0)],
            vec![c(2, 0, 1.0)],
            vec![c(0, 1, 1.0)],
            vec![c(1, 2, 0.5)],
        ];
        let (whole, res) = strengths_fit(3, &items);
        assert_eq!(whole.method, FitMethod::MaximumLikelihood);
        let p: Vec<f64> = whole.shares.iter().map(|s| s.expect("share")).collect();
        let mut games = [[0.0f64; 3]; 3];
        let mut wins = [0.0f64; 3];
        for x in items.iter().flatten() {
            games[x.a][x.b] += 1.0;
            games[x.b][x.a] += 1.0;
            wins[x.a] += x.score;
            wins[x.b] += 1.0 - x.score;
        }
        for i in 0..3 {
            let expected: f64 = (0..3)
                .filter(|&j| j != i)
                .map(|j| games[i][j] * p[i] / (p[i] + p[j]))
                .sum();
            assert!(
                (expected - wins[i]).abs() < 1e-9,
                "model {i}: {expected} vs {}",
                wins[i]
            );
        }
        // The same items listed in another order give the same intervals.
        let mut shuffled = items.clone();
        shuffled.reverse();
        shuffled.swap(0, 2);
        assert_eq!(strengths_fit(3, &shuffled).1, res);
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
