//! Packing tokenized examples into training windows, and the seeded order of
//! an epoch. Pure: no llama.cpp.
//!
//! Examples are packed back to back, as llama.cpp's own `llama-finetune`
//! packs text: padding could not be kept out of the loss (upstream has no
//! ignore index), so every token of a window is a real token. A window is
//! `context + 1` tokens: the model reads the first `context` and is scored on
//! predicting each next one. Windows follow each other without overlap; when
//! the stream does not divide evenly, one last window is taken from the end of
//! the stream (overlapping the one before) so that no example's tail is lost.

use crate::stats::rng::splitmix64;

/// Cuts the concatenation of `examples` into windows of `context + 1`
/// tokens. Fewer than `context + 1` tokens in all give no window.
pub fn pack(examples: &[Vec<i32>], context: usize) -> Vec<Vec<i32>> {
    let stream: Vec<i32> = examples.iter().flatten().copied().collect();
    let len = context + 1;
    if context == 0 || stream.len() < len {
        return Vec::new();
    }
    let full = (stream.len() - 1) / context;
    let mut windows: Vec<Vec<i32>> = (0..full)
        .map(|i| stream[i * context..i * context + len].to_vec())
        .collect();
    if !(stream.len() - 1).is_multiple_of(context) {
        windows.push(stream[stream.len() - len..].to_vec());
    }
    windows
}

/// The order in which epoch `epoch` visits `n` windows: a Fisher–Yates
/// shuffle driven by `splitmix64` seeded from the round's seed and the epoch,
/// so a resumed run visits the same windows in the same order.
pub fn epoch_order(n: usize, seed: u64, epoch: u32) -> Vec<usize> {
    let mut state = seed ^ (u64::from(epoch)).wrapping_mul(0xA24B_AED4_963E_E407);
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = (splitmix64(&mut state) % (i as u64 + 1)) as usize;
        order.swap(i, j);
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packs_back_to_back_and_keeps_the_tail() {
        let examples = vec![vec![1, 2, 3], vec![4, 5], vec![6, 7, 8, 9]];
        // 9 tokens, context 4: windows start at 0 and 4 (tokens 1–5, 5–9),
        // which covers the stream exactly.
        assert_eq!(
            pack(&examples, 4),
            vec![vec![1, 2, 3, 4, 5], vec![5, 6, 7, 8, 9]]
        );
        // Context 3: windows at 0, 3, 6 would need 10 tokens; the last is
        // taken from the end instead.
        assert_eq!(
            pack(&examples, 3),
            vec![vec![1, 2, 3, 4], vec![4, 5, 6, 7], vec![6, 7, 8, 9],]
        );
    }

    #[test]
    fn too_few_tokens_give_no_window() {
        assert!(pack(&[vec![1, 2, 3]], 3).is_empty());
        assert_eq!(pack(&[vec![1, 2, 3, 4]], 3).len(), 1);
        assert!(pack(&[], 3).is_empty());
    }

    #[test]
    fn every_label_is_the_next_token_of_the_stream() {
        let examples: Vec<Vec<i32>> = (0..7)
            .map(|e| (0..13).map(|t| e * 100 + t).collect())
            .collect();
        let stream: Vec<i32> = examples.iter().flatten().copied().collect();
        for w in pack(&examples, 16) {
            let at = stream
                .windows(17)
                .position(|s| s == w.as_slice())
                .expect("every window is a slice of the stream");
            assert_eq!(&stream[at..at + 17], w.as_slice());
        }
    }

    #[test]
    fn epoch_orders_are_seeded_permutations() {
        let a = epoch_order(50, 7, 1);
        let mut sorted = a.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..50).collect::<Vec<_>>());
        assert_eq!(a, epoch_order(50, 7, 1), "same seed and epoch, same order");
        assert_ne!(a, epoch_order(50, 7, 2), "another epoch, another order");
        assert_ne!(a, epoch_order(50, 8, 1), "another seed, another order");
        assert_ne!(a, (0..50).collect::<Vec<_>>(), "shuffled");
    }
}
