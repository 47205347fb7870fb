//! The random numbers of the review: answer orders and bootstrap resamples.

use std::convert::Infallible;

use rand_distr::{Binomial, Distribution};

/// splitmix64: a small, well-mixed generator, stable across platforms and
/// versions (the order shown to a rater must never change).
pub(crate) fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The splitmix64 stream from a seed, as a generator `rand_distr` can draw
/// from (each `u64` is one [`splitmix64`] step; a `u32` is its high half).
#[derive(Debug)]
pub(crate) struct SplitMix(pub u64);

impl rand_core::TryRng for SplitMix {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        Ok((splitmix64(&mut self.0) >> 32) as u32)
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        Ok(splitmix64(&mut self.0))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        for chunk in dst.chunks_mut(8) {
            let bytes = splitmix64(&mut self.0).to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
        Ok(())
    }
}

/// One bootstrap resample of a pool given as counts: `counts[k]` units of
/// kind `k`, `n = Σ counts` units in all. Drawing `n` units with
/// replacement and counting each kind gives a multinomial vector with
/// probabilities `counts[k] / n`; this draws that vector directly, as
/// conditional binomials — kind `k` gets `Binomial(n_left, counts[k] /
/// counts_left)` (exact draws: BINV or BTPE, Kachitvichyanukul & Schmeiser
/// 1988, as `rand_distr` implements them) and the last kind what is left.
/// The cost is one binomial draw per kind instead of one draw per unit, the
/// distribution the same. `out` receives the resampled counts.
pub(crate) fn resample_counts(counts: &[u64], rng: &mut SplitMix, out: &mut [u64]) {
    debug_assert_eq!(counts.len(), out.len());
    let mut units_left: u64 = counts.iter().sum();
    let mut mass_left = units_left;
    let last = counts.len().saturating_sub(1);
    for (k, (&c, o)) in counts.iter().zip(out.iter_mut()).enumerate() {
        let drawn = if units_left == 0 || c == 0 {
            0
        } else if k == last || c >= mass_left {
            units_left
        } else {
            let p = c as f64 / mass_left as f64;
            match Binomial::new(units_left, p) {
                Ok(b) => b.sample(rng),
                // Unreachable: 0 < p < 1 here.
                Err(_) => 0,
            }
        };
        *o = drawn;
        units_left -= drawn;
        mass_left -= c;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resamples_keep_the_total_and_the_proportions() {
        let counts = [10u64, 0, 30, 60];
        let mut rng = SplitMix(9);
        let mut out = [0u64; 4];
        let mut sums = [0f64; 4];
        let draws = 20_000;
        for _ in 0..draws {
            resample_counts(&counts, &mut rng, &mut out);
            assert_eq!(out.iter().sum::<u64>(), 100);
            assert_eq!(out[1], 0, "a kind with no units is never drawn");
            for (s, &o) in sums.iter_mut().zip(&out) {
                *s += o as f64;
            }
        }
        // Multinomial means: n·p = 10, 0, 30, 60; the standard error of
        // each mean over 20 000 draws is under 0.04.
        for (s, want) in sums.iter().zip([10.0, 0.0, 30.0, 60.0]) {
            assert!((s / draws as f64 - want).abs() < 0.2, "{s} vs {want}");
        }
        // Variance of the first kind: n·p·(1 − p) = 100 × 0.1 × 0.9 = 9.
        let mut rng = SplitMix(10);
        let xs: Vec<f64> = (0..draws)
            .map(|_| {
                resample_counts(&counts, &mut rng, &mut out);
                out[0] as f64
            })
            .collect();
        let m = xs.iter().sum::<f64>() / xs.len() as f64;
        let v = xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (xs.len() - 1) as f64;
        assert!((v - 9.0).abs() < 0.5, "variance {v}");
    }

    #[test]
    fn resamples_are_seeded() {
        let counts = [3u64, 5, 2];
        let draw = |seed| {
            let mut rng = SplitMix(seed);
            let mut out = [0u64; 3];
            (0..50)
                .map(|_| {
                    resample_counts(&counts, &mut rng, &mut out);
                    out
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(draw(1), draw(1));
        assert_ne!(draw(1), draw(2));
        let mut out = [7u64; 0];
        resample_counts(&[], &mut SplitMix(1), &mut out);
    }
}
