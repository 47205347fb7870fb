//! Near-duplicate texts: character-shingle MinHash, confirmed by exact
//! Jaccard similarity.
//!
//! A training set must not leak the evaluation set (a question that is a
//! light edit of an evaluation item would let a model score well by
//! memory), and must not repeat itself. Both checks ask the same question of
//! two lists of texts: which pairs share most of their wording?
//!
//! How a text is compared:
//!
//! 1. [`normalise`]: lowercase, punctuation and symbols dropped, runs of
//!    whitespace collapsed to one space, trimmed. "Don't  SWEAT!" and
//!    "dont sweat" are the same text.
//! 2. Shingles: every run of [`SHINGLE_CHARS`] consecutive characters of the
//!    normalised text (so "sweat" in one text matches "sweaty" in another).
//!    A non-empty text shorter than that is one shingle, itself. A text that
//!    normalises to nothing (empty, blank, punctuation only) has no shingles
//!    and is similar to nothing, itself included: its similarity to any text
//!    is 0.
//! 3. Similarity is the Jaccard index of the two shingle sets, |A ∩ B| /
//!    |A ∪ B| ([`jaccard`], exact). [`Signature`] estimates it with MinHash:
//!    for each of [`NUM_HASHES`] hash functions the smallest hash over the
//!    text's shingles; the share of positions where two signatures agree
//!    estimates the Jaccard index ([`estimated_jaccard`]), with a standard
//!    error of √(J(1−J)/128) ≤ 0.044.
//!
//! The hash functions are fixed: a shingle's FNV-1a hash, xored with one of
//! [`NUM_HASHES`] seeds drawn from `splitmix64` at [`FAMILY_SEED`], then
//! mixed by `splitmix64` (a bijection of 64-bit words). A signature
//! therefore never changes across runs, platforms or versions, so signatures
//! may later be stored and compared with new ones.
//!
//! [`near_duplicates`] compares every candidate with every reference: it
//! signs each text once (O(L · H) for a text of L characters and H hash
//! functions), screens each pair by its estimate (O(n · m · H) for n
//! candidates and m references: about 640 million word comparisons, well
//! under a second, for 5 000 × 1 000 texts), and confirms the pairs whose
//! estimate comes within [`SCREEN_MARGIN`] of the threshold with the exact
//! index, which it reports. All-pairs screening is fine for a few thousand
//! texts; banding (locality-sensitive hashing) would be the next step for
//! hundreds of thousands.

use std::collections::HashSet;

use crate::stats::rng::splitmix64;

/// Characters per shingle. Five characters span a short word or the joint
/// of two words: small enough that a reworded sentence still shares the
/// shingles of its unchanged words, large enough that unrelated texts about
/// the same subject share few.
pub const SHINGLE_CHARS: usize = 5;

/// Hash functions per signature (the estimate's standard error is at most
/// 0.5/√128 ≈ 0.044).
pub const NUM_HASHES: usize = 128;

/// The seed of the hash family. Changing it changes every signature.
pub const FAMILY_SEED: u64 = 0x4C4C_4D34_5357_4541;

/// Two texts whose 5-shingle Jaccard index is at least this are near
/// duplicates.
///
/// Measured on the hyperhidrosis pack: a question with three or four words
/// changed scores about 0.6, a paraphrase of it about 0.1–0.2, and no two
/// different questions of the pack (training pairs and evaluation items)
/// score above 0.25. Half of the shingles shared sits between the two with
/// room on both sides.
pub const NEAR_DUPLICATE_JACCARD: f64 = 0.5;

/// How far below the threshold an estimate may fall and still be confirmed
/// with the exact index: 0.2 is about 4.5 standard errors of the estimate
/// at J = 0.5, so a pair at the threshold is missed with a probability of
/// about one in 300 000.
pub const SCREEN_MARGIN: f64 = 0.2;

/// The text as compared: lowercase, letters and digits kept, other
/// characters dropped, whitespace collapsed to single spaces, trimmed.
pub fn normalise(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    for c in text.chars() {
        if c.is_alphanumeric() {
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            out.extend(c.to_lowercase());
        } else if c.is_whitespace() {
            space = true;
        }
        // Punctuation and symbols are dropped: "don't" and "dont" are one word.
    }
    out
}

/// The distinct shingles of a normalised text (slices of it).
pub(crate) fn shingles(normalised: &str) -> HashSet<&str> {
    let bounds: Vec<usize> = normalised
        .char_indices()
        .map(|(i, _)| i)
        .chain(std::iter::once(normalised.len()))
        .collect();
    let chars = bounds.len() - 1;
    match chars {
        0 => HashSet::new(),
        n if n < SHINGLE_CHARS => HashSet::from([normalised]),
        n => (0..=n - SHINGLE_CHARS)
            .map(|i| &normalised[bounds[i]..bounds[i + SHINGLE_CHARS]])
            .collect(),
    }
}

/// The Jaccard index of two shingle sets; 0 when either is empty.
fn jaccard_of(a: &HashSet<&str>, b: &HashSet<&str>) -> f64 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let shared = a.intersection(b).count();
    shared as f64 / (a.len() + b.len() - shared) as f64
}

/// The exact Jaccard index of two texts' shingle sets, in 0..=1: 1 for
/// texts equal after [`normalise`], 0 when either normalises to nothing.
pub fn jaccard(a: &str, b: &str) -> f64 {
    let (a, b) = (normalise(a), normalise(b));
    jaccard_of(&shingles(&a), &shingles(&b))
}

/// FNV-1a, 64 bits: the shingle's base hash.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xCBF2_9CE4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01B3)
    })
}

/// The seeds of the hash family, drawn from `splitmix64` at [`FAMILY_SEED`].
fn family() -> [u64; NUM_HASHES] {
    let mut state = FAMILY_SEED;
    std::array::from_fn(|_| splitmix64(&mut state))
}

/// A text's MinHash signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// The smallest hash of the text's shingles under each hash function;
    /// empty for a text without shingles.
    mins: Vec<u64>,
}

impl Signature {
    /// Signs a text (see the module's documentation for the steps).
    pub fn of(text: &str) -> Self {
        Self::of_normalised(&normalise(text))
    }

    /// Signs a text that is already normalised.
    fn of_normalised(normalised: &str) -> Self {
        let shingles = shingles(normalised);
        if shingles.is_empty() {
            return Self { mins: Vec::new() };
        }
        let seeds = family();
        let mut mins = vec![u64::MAX; NUM_HASHES];
        for shingle in shingles {
            let base = fnv1a(shingle.as_bytes());
            for (min, seed) in mins.iter_mut().zip(seeds) {
                let mut state = base ^ seed;
                *min = (*min).min(splitmix64(&mut state));
            }
        }
        Self { mins }
    }

    /// Whether the text had no shingles (it normalised to nothing).
    pub fn is_empty(&self) -> bool {
        self.mins.is_empty()
    }
}

/// The MinHash estimate of two texts' Jaccard index: the share of hash
/// functions under which their smallest shingle hashes agree; 0 when either
/// text had no shingles.
pub fn estimated_jaccard(a: &Signature, b: &Signature) -> f64 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let agree = a.mins.iter().zip(&b.mins).filter(|(x, y)| x == y).count();
    agree as f64 / NUM_HASHES as f64
}

/// A pair of near-duplicate texts, by their indices.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NearDuplicate {
    /// The candidate's index (in [`near_duplicates_within`], the later text).
    pub candidate: usize,
    /// The reference's index (in [`near_duplicates_within`], the earlier text).
    pub reference: usize,
    /// The exact Jaccard index of the two texts.
    pub similarity: f64,
}

/// The confirmed pairs among screened ones: those whose exact index is at
/// least `threshold` (and above 0, so that empty texts never match).
fn confirm(
    screened: impl Iterator<Item = (usize, usize)>,
    candidates: &[String],
    references: &[String],
    threshold: f64,
) -> Vec<NearDuplicate> {
    screened
        .filter_map(|(c, r)| {
            let similarity = jaccard_of(&shingles(&candidates[c]), &shingles(&references[r]));
            (similarity >= threshold && similarity > 0.0).then_some(NearDuplicate {
                candidate: c,
                reference: r,
                similarity,
            })
        })
        .collect()
}

/// Every (candidate, reference) pair whose exact Jaccard index is at least
/// `threshold` (usually [`NEAR_DUPLICATE_JACCARD`]), ordered by candidate,
/// then reference. Pairs are screened by their MinHash estimate and only
/// those within [`SCREEN_MARGIN`] of the threshold are compared exactly.
pub fn near_duplicates<C: AsRef<str>, R: AsRef<str>>(
    candidates: &[C],
    references: &[R],
    threshold: f64,
) -> Vec<NearDuplicate> {
    let candidates: Vec<String> = candidates.iter().map(|t| normalise(t.as_ref())).collect();
    let references: Vec<String> = references.iter().map(|t| normalise(t.as_ref())).collect();
    let sign = |texts: &[String]| -> Vec<Signature> {
        texts.iter().map(|t| Signature::of_normalised(t)).collect()
    };
    let (cand_sigs, ref_sigs) = (sign(&candidates), sign(&references));
    let screened = cand_sigs.iter().enumerate().flat_map(|(c, cs)| {
        ref_sigs
            .iter()
            .enumerate()
            .filter(move |(_, rs)| estimated_jaccard(cs, rs) >= threshold - SCREEN_MARGIN)
            .map(move |(r, _)| (c, r))
    });
    confirm(screened, &candidates, &references, threshold)
}

/// Every pair of texts within one list whose exact Jaccard index is at
/// least `threshold`: `candidate` is the later index, `reference` the
/// earlier, so keeping the references and dropping the candidates
/// deduplicates the list in order.
pub fn near_duplicates_within<T: AsRef<str>>(texts: &[T], threshold: f64) -> Vec<NearDuplicate> {
    let texts: Vec<String> = texts.iter().map(|t| normalise(t.as_ref())).collect();
    let sigs: Vec<Signature> = texts.iter().map(|t| Signature::of_normalised(t)).collect();
    let screened = sigs.iter().enumerate().flat_map(|(c, cs)| {
        sigs[..c]
            .iter()
            .enumerate()
            .filter(move |(_, rs)| estimated_jaccard(cs, rs) >= threshold - SCREEN_MARGIN)
            .map(move |(r, _)| (c, r))
    });
    confirm(screened, &texts, &texts, threshold)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORIGINAL: &str = "My aluminium chloride antiperspirant stings and itches like crazy. Am I using it wrong, or should I stop?";
    const LIGHT_EDIT: &str = "My aluminium chloride antiperspirant burns and itches like mad. Am I applying it wrong, or should I stop?";
    const PARAPHRASE: &str = "The strong roll-on my doctor suggested makes my underarms burn. Is that a sign I'm doing something wrong?";
    const OTHER: &str = "How long does Botox in the armpits last?";

    #[test]
    fn normalise_drops_case_punctuation_and_extra_whitespace() {
        let cases = [
            ("  Don't   SWEAT!\n", "dont sweat"),
            ("a , b", "a b"),
            ("hands,feet", "handsfeet"),
            ("Zoë’s café – naïve", "zoës café naïve"),
            ("?!… —", ""),
            ("", ""),
        ];
        for (text, expected) in cases {
            assert_eq!(normalise(text), expected, "{text:?}");
        }
    }

    /// Exact and estimated similarity of text pairs, with what each case
    /// shows. The estimate stays within 0.1 of the exact index.
    #[test]
    fn similarity_table() {
        let cases: [(&str, &str, &str, f64); 11] = [
            ("identical text", ORIGINAL, ORIGINAL, 1.0),
            (
                "case, punctuation and whitespace are ignored",
                "My HANDS   drip, all day!!",
                "my hands drip all day",
                1.0,
            ),
            (
                "a light edit: three words changed",
                ORIGINAL,
                LIGHT_EDIT,
                37.0 / 61.0,
            ),
            ("six characters, one changed", "abcdef", "abcdeg", 1.0 / 3.0),
            ("shorter than a shingle, equal", "hi", "hi!", 1.0),
            ("shorter than a shingle, different", "hi", "ho", 0.0),
            ("empty texts match nothing", "", "", 0.0),
            ("empty against text", "", ORIGINAL, 0.0),
            ("punctuation only normalises to empty", "?!…", "?!…", 0.0),
            (
                "a paraphrase: same worry, other words",
                ORIGINAL,
                PARAPHRASE,
                1.0 / 64.0,
            ),
            ("a different question", ORIGINAL, OTHER, 0.0),
        ];
        for (what, a, b, expected) in cases {
            let exact = jaccard(a, b);
            assert!(
                (exact - expected).abs() < 1e-12,
                "{what}: exact {exact}, expected {expected}"
            );
            assert_eq!(jaccard(b, a), exact, "{what}: symmetric");
            let estimate = estimated_jaccard(&Signature::of(a), &Signature::of(b));
            assert!(
                (estimate - exact).abs() <= 0.1,
                "{what}: estimate {estimate}, exact {exact}"
            );
        }
        assert!(jaccard(ORIGINAL, LIGHT_EDIT) > NEAR_DUPLICATE_JACCARD);
    }

    /// The family is fixed: signatures (and so stored signatures) never
    /// change between runs or versions.
    #[test]
    fn signatures_are_stable() {
        let a = Signature::of(ORIGINAL);
        assert_eq!(a, Signature::of(&ORIGINAL.to_uppercase()));
        assert_eq!(a.mins.len(), NUM_HASHES);
        assert!(Signature::of(" ... ").is_empty());
        assert_eq!(family()[0], 0x7E85_BB28_9351_BEA4, "first seed");
        let estimate = estimated_jaccard(&a, &Signature::of(LIGHT_EDIT));
        assert_eq!(estimate, 88.0 / 128.0, "pinned estimate");
    }

    #[test]
    fn near_duplicates_reports_confirmed_pairs_in_order() {
        let candidates = [OTHER, LIGHT_EDIT, "", PARAPHRASE, ORIGINAL];
        let references = [PARAPHRASE, ORIGINAL, ""];
        let found: Vec<(usize, usize)> =
            near_duplicates(&candidates, &references, NEAR_DUPLICATE_JACCARD)
                .iter()
                .map(|d| (d.candidate, d.reference))
                .collect();
        assert_eq!(found, [(1, 1), (3, 0), (4, 1)]);
        let light = near_duplicates(&[LIGHT_EDIT], &[ORIGINAL], NEAR_DUPLICATE_JACCARD);
        assert!(
            (light[0].similarity - 37.0 / 61.0).abs() < 1e-12,
            "{light:?}"
        );
        assert!(near_duplicates(&[LIGHT_EDIT], &[ORIGINAL], 0.7).is_empty());
        assert!(near_duplicates::<&str, &str>(&[], &[ORIGINAL], 0.5).is_empty());
    }

    #[test]
    fn near_duplicates_within_pairs_later_with_earlier() {
        let texts = [
            ORIGINAL,
            OTHER,
            "",
            LIGHT_EDIT,
            "",
            "how long does botox in the armpits last",
        ];
        let found: Vec<(usize, usize)> = near_duplicates_within(&texts, NEAR_DUPLICATE_JACCARD)
            .iter()
            .map(|d| (d.candidate, d.reference))
            .collect();
        assert_eq!(found, [(3, 0), (5, 1)]);
    }
}
