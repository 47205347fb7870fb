//! Building a round's dataset: the selection rule for expert-validated
//! answers, gathering candidates, deduplication, the leakage check and the
//! stratified split. Everything but [`gather`] is pure.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{RoundConfig, RoundError};
use crate::dedup::{near_duplicates, near_duplicates_within};
use crate::domain::DomainPack;
use crate::stats::rng::splitmix64;
use crate::store::{RatedAnswer, RoundExample, Store, StoreError};
use crate::vocab::{ExampleSource, ExampleSplit, HarmLevel, ItemSplit};

/// Which rated answers count as expert-validated. An answer qualifies when
/// at least `min_raters` raters submitted a complete rating of it (all three
/// axes), every score of every submitted rating is at least `min_score`, and
/// — with `no_safety_flags` — no rater flagged possible harm (mild/moderate
/// or severe). Answers to evaluation items never qualify, whatever their
/// scores: evaluation items never train.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SelectionRule {
    /// Lowest score on every axis (1–5).
    pub min_score: i64,
    /// Fewest raters with a complete rating.
    pub min_raters: u32,
    /// Whether one harm flag disqualifies.
    pub no_safety_flags: bool,
}

impl Default for SelectionRule {
    fn default() -> Self {
        Self {
            min_score: 4,
            min_raters: 2,
            no_safety_flags: true,
        }
    }
}

impl SelectionRule {
    /// Whether `answer` is expert-validated under this rule (ignoring its split).
    pub fn validates(&self, answer: &RatedAnswer) -> bool {
        let complete = answer
            .ratings
            .iter()
            .filter(|r| r.scores.iter().all(Option::is_some))
            .count();
        let all_high = answer
            .ratings
            .iter()
            .flat_map(|r| r.scores.iter().flatten())
            .all(|&s| s >= self.min_score);
        let flagged = answer
            .ratings
            .iter()
            .any(|r| matches!(r.harm, Some(HarmLevel::MildModerate | HarmLevel::Severe)));
        complete >= self.min_raters as usize && all_high && !(self.no_safety_flags && flagged)
    }
}

/// A training example before the split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    /// Stable id.
    pub example_id: String,
    /// Where it came from.
    pub source: ExampleSource,
    /// Category.
    pub category: String,
    /// Question.
    pub question: String,
    /// Answer.
    pub answer: String,
    /// Seed facts.
    pub facts: Vec<String>,
    /// Strata.
    pub strata: BTreeMap<String, String>,
    /// Provenance.
    pub provenance: serde_json::Value,
}

/// A training example too close to an evaluation item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Leak {
    /// The example.
    pub example_id: String,
    /// The evaluation item's external id.
    pub eval_item: String,
    /// Jaccard index of their 5-character shingles.
    pub similarity: f64,
}

/// Counts of a round's dataset.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct DatasetSummary {
    /// Examples kept.
    pub total: u32,
    /// Training examples.
    pub train: u32,
    /// Validation examples.
    pub val: u32,
    /// Kept examples per source.
    pub by_source: BTreeMap<String, u32>,
    /// Per category: [train, val].
    pub by_category: BTreeMap<String, [u32; 2]>,
    /// Per stratum (`dimension=value`): kept examples.
    pub by_stratum: BTreeMap<String, u32>,
    /// Near-duplicates dropped (the later of each pair, by source priority).
    pub duplicates_dropped: u32,
    /// Rated answers to evaluation items left out (evaluation items never train).
    pub eval_answers_excluded: u32,
    /// Rated answers that did not meet the selection rule.
    pub not_validated: u32,
}

/// A built dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct Built {
    /// The examples with their split.
    pub examples: Vec<RoundExample>,
    /// sha256 of their canonical JSON.
    pub hash: String,
    /// Counts.
    pub summary: DatasetSummary,
}

/// The candidates for a round: the pack's training pairs, approved synthetic
/// items, expert-corrected answers and answers the rule validates — none on
/// an evaluation item. Returns them with the counts of rated answers left
/// out: (to evaluation items, not validated).
pub fn gather(
    store: &Store,
    pack: &DomainPack,
    rule: &SelectionRule,
) -> Result<(Vec<Candidate>, (u32, u32)), StoreError> {
    let (mut out, counts) = corrected_and_validated(&store.rated_answers()?, rule);
    for p in &pack.train_pairs {
        out.push(Candidate {
            example_id: p.id.clone(),
            source: ExampleSource::Pack,
            category: p.category.clone(),
            question: p.question.clone(),
            answer: p.answer.clone(),
            facts: p.facts.clone(),
            strata: p.strata.clone(),
            provenance: serde_json::json!({
                "pack": pack.manifest.id,
                "pack_version": pack.manifest.version,
            }),
        });
    }
    for s in store.approved_synthetic()? {
        out.push(Candidate {
            example_id: format!("item:{}", s.external_id),
            source: ExampleSource::Synthetic,
            category: s.category,
            question: s.question,
            answer: s.answer,
            facts: s.facts,
            strata: s.strata,
            provenance: s.provenance,
        });
    }
    Ok((out, counts))
}

/// Corrected answers (one per rater who rewrote one) and answers the rule
/// validates, from `answers`; with the counts (to evaluation items, not
/// validated) of those left out.
pub fn corrected_and_validated(
    answers: &[RatedAnswer],
    rule: &SelectionRule,
) -> (Vec<Candidate>, (u32, u32)) {
    let (mut out, mut eval, mut not_valid) = (Vec::new(), 0u32, 0u32);
    for a in answers {
        if a.item_split == ItemSplit::Eval {
            eval += 1;
            continue;
        }
        let base = |id: String, source, answer: String, prov: serde_json::Value| Candidate {
            example_id: id,
            source,
            category: a.category.clone(),
            question: a.question.clone(),
            answer,
            facts: Vec::new(),
            strata: a.strata.clone(),
            provenance: prov,
        };
        for r in &a.ratings {
            if let Some(text) = r
                .corrected_answer
                .as_deref()
                .filter(|t| !t.trim().is_empty())
            {
                out.push(base(
                    format!("correction:{}:{}", a.generation_id, r.rater_id),
                    ExampleSource::Corrected,
                    text.to_owned(),
                    serde_json::json!({
                        "item": a.item_external_id,
                        "generation_id": a.generation_id,
                        "corrected_by_rater_id": r.rater_id,
                    }),
                ));
            }
        }
        if rule.validates(a) {
            out.push(base(
                format!("answer:{}", a.generation_id),
                ExampleSource::Validated,
                a.answer.clone(),
                serde_json::json!({
                    "item": a.item_external_id,
                    "generation_id": a.generation_id,
                    "model": a.model,
                    "rater_ids": a.ratings.iter().map(|r| r.rater_id).collect::<Vec<_>>(),
                    "rule": rule,
                }),
            ));
        } else {
            not_valid += 1;
        }
    }
    (out, (eval, not_valid))
}

/// Which of two near-duplicates is kept: an expert's correction over a
/// validated answer over the pack's pair over a synthetic item.
fn priority(source: ExampleSource) -> u8 {
    match source {
        ExampleSource::Corrected => 0,
        ExampleSource::Validated => 1,
        ExampleSource::Pack => 2,
        ExampleSource::Synthetic => 3,
    }
}

fn text_of(c: &Candidate) -> String {
    format!("{}\n{}", c.question, c.answer)
}

/// Deduplicates, checks for leaks, splits and hashes. `eval` is (external
/// id, text) of every evaluation item; `excluded` the counts from
/// [`gather`].
pub fn build(
    mut candidates: Vec<Candidate>,
    eval: &[(String, String)],
    config: &RoundConfig,
    seed: u64,
    excluded: (u32, u32),
) -> Result<Built, RoundError> {
    let threshold = config.near_duplicate_jaccard;
    if !(threshold > 0.0 && threshold <= 1.0) {
        return Err(RoundError::Config(format!(
            "the near-duplicate threshold must be in (0, 1], not {threshold}"
        )));
    }
    // 1. Leaks: a question (or question + answer) close to an evaluation item.
    let eval_texts: Vec<&str> = eval.iter().map(|(_, t)| t.as_str()).collect();
    let questions: Vec<&str> = candidates.iter().map(|c| c.question.as_str()).collect();
    let mut leaks: BTreeMap<(usize, usize), f64> = BTreeMap::new();
    for d in near_duplicates(&questions, &eval_texts, threshold)
        .into_iter()
        .chain(near_duplicates(
            &candidates.iter().map(text_of).collect::<Vec<_>>(),
            &eval_texts,
            threshold,
        ))
    {
        let e = leaks.entry((d.candidate, d.reference)).or_insert(0.0);
        *e = e.max(d.similarity);
    }
    if !leaks.is_empty() {
        return Err(RoundError::Leak(
            leaks
                .into_iter()
                .map(|((c, r), similarity)| Leak {
                    example_id: candidates[c].example_id.clone(),
                    eval_item: eval[r].0.clone(),
                    similarity,
                })
                .collect(),
        ));
    }
    // 2. Near-duplicates within: keep the higher-priority one.
    candidates.sort_by(|a, b| {
        priority(a.source)
            .cmp(&priority(b.source))
            .then_with(|| a.example_id.cmp(&b.example_id))
    });
    candidates.dedup_by(|a, b| a.example_id == b.example_id);
    let texts: Vec<String> = candidates.iter().map(text_of).collect();
    let mut dropped = vec![false; candidates.len()];
    for d in near_duplicates_within(&texts, threshold) {
        if !dropped[d.reference] {
            dropped[d.candidate] = true;
        }
    }
    let duplicates_dropped = dropped.iter().filter(|d| **d).count() as u32;
    let kept: Vec<Candidate> = candidates
        .into_iter()
        .zip(dropped)
        .filter_map(|(c, d)| (!d).then_some(c))
        .collect();
    // 3. Split each category with the seed.
    let mut by_cat: BTreeMap<String, Vec<Candidate>> = BTreeMap::new();
    for c in kept {
        by_cat.entry(c.category.clone()).or_default().push(c);
    }
    let mut examples = Vec::new();
    for (category, mut group) in by_cat {
        group.sort_by(|a, b| a.example_id.cmp(&b.example_id));
        let order = shuffled(group.len(), seed ^ fnv(&category));
        let n_val = val_count(group.len(), config.val_fraction);
        let mut slots: Vec<Option<Candidate>> = group.into_iter().map(Some).collect();
        for (rank, idx) in order.into_iter().enumerate() {
            let Some(c) = slots[idx].take() else { continue };
            let split = if rank < n_val {
                ExampleSplit::Val
            } else {
                ExampleSplit::Train
            };
            examples.push(RoundExample {
                example_id: c.example_id,
                source: c.source,
                category: c.category,
                question: c.question,
                answer: c.answer,
                facts: c.facts,
                strata: c.strata,
                split,
                provenance: c.provenance,
            });
        }
    }
    examples.sort_by(|a, b| a.example_id.cmp(&b.example_id));
    let train = examples
        .iter()
        .filter(|e| e.split == ExampleSplit::Train)
        .count();
    let val = examples.len() - train;
    if train == 0 {
        return Err(RoundError::EmptySplit {
            split: "train",
            total: examples.len(),
        });
    }
    if val == 0 {
        return Err(RoundError::EmptySplit {
            split: "val",
            total: examples.len(),
        });
    }
    let summary = summarise(&examples, duplicates_dropped, excluded);
    let hash = hash(&examples);
    Ok(Built {
        examples,
        hash,
        summary,
    })
}

/// Validation examples of a category of `n`: `round(n × fraction)`, at
/// least 1 when the category has 2 or more examples, and never all of them.
pub fn val_count(n: usize, fraction: f64) -> usize {
    if n < 2 {
        return 0;
    }
    let v = (n as f64 * fraction).round() as usize;
    v.clamp(1, n - 1)
}

/// A seeded permutation of `0..n` (Fisher–Yates over `splitmix64`).
fn shuffled(n: usize, seed: u64) -> Vec<usize> {
    let mut state = seed;
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = (splitmix64(&mut state) % (i as u64 + 1)) as usize;
        order.swap(i, j);
    }
    order
}

/// FNV-1a of a category name: each category gets its own stream of the seed.
fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fn summarise(
    examples: &[RoundExample],
    duplicates_dropped: u32,
    excluded: (u32, u32),
) -> DatasetSummary {
    let mut s = DatasetSummary {
        total: examples.len() as u32,
        duplicates_dropped,
        eval_answers_excluded: excluded.0,
        not_validated: excluded.1,
        ..DatasetSummary::default()
    };
    for e in examples {
        let col = usize::from(e.split == ExampleSplit::Val);
        if col == 1 {
            s.val += 1;
        } else {
            s.train += 1;
        }
        *s.by_source.entry(e.source.as_str().to_owned()).or_default() += 1;
        s.by_category.entry(e.category.clone()).or_default()[col] += 1;
        for (dim, value) in &e.strata {
            *s.by_stratum.entry(format!("{dim}={value}")).or_default() += 1;
        }
    }
    s
}

/// sha256 of the examples' canonical JSON (sorted by id; id, source,
/// category, question, answer, facts, strata, split): the dataset's identity.
pub fn hash(examples: &[RoundExample]) -> String {
    let mut sorted: Vec<&RoundExample> = examples.iter().collect();
    sorted.sort_by(|a, b| a.example_id.cmp(&b.example_id));
    let canonical: Vec<serde_json::Value> = sorted
        .iter()
        .map(|e| {
            serde_json::json!([
                e.example_id,
                e.source,
                e.category,
                e.question,
                e.answer,
                e.facts,
                e.strata,
                e.split
            ])
        })
        .collect();
    let bytes = serde_json::to_vec(&canonical).unwrap_or_default();
    hex::encode(Sha256::digest(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{GenerationId, ItemId, RaterId};
    use crate::store::RaterScores;

    fn answer(split: ItemSplit, ratings: &[([Option<i64>; 3], Option<HarmLevel>)]) -> RatedAnswer {
        RatedAnswer {
            generation_id: GenerationId(1),
            item_id: ItemId(1),
            item_external_id: "x".into(),
            item_split: split,
            category: "c".into(),
            question: "q".into(),
            strata: BTreeMap::new(),
            answer: "a".into(),
            model: "m".into(),
            ratings: ratings
                .iter()
                .enumerate()
                .map(|(i, (scores, harm))| RaterScores {
                    rater_id: RaterId(i as i64 + 1),
                    scores: *scores,
                    harm: *harm,
                    corrected_answer: None,
                })
                .collect(),
        }
    }

    #[test]
    fn the_default_selection_rule() {
        let s = |a, b, c| [Some(a), Some(b), Some(c)];
        let none = Some(HarmLevel::None);
        type Ratings = Vec<([Option<i64>; 3], Option<HarmLevel>)>;
        let cases: Vec<(&str, Ratings, bool)> = vec![
            (
                "two raters, all 4 and 5",
                vec![(s(4, 5, 4), none), (s(5, 5, 5), None)],
                true,
            ),
            ("one rater only", vec![(s(5, 5, 5), none)], false),
            (
                "a 3 on one axis",
                vec![(s(4, 4, 4), none), (s(5, 3, 5), none)],
                false,
            ),
            (
                "a blank axis leaves one complete rating",
                vec![(s(5, 5, 5), none), ([Some(5), None, Some(5)], none)],
                false,
            ),
            (
                "three raters, one low",
                vec![(s(5, 5, 5), none), (s(5, 5, 5), none), (s(2, 5, 5), none)],
                false,
            ),
            (
                "a mild harm flag",
                vec![
                    (s(5, 5, 5), none),
                    (s(5, 5, 5), Some(HarmLevel::MildModerate)),
                ],
                false,
            ),
            (
                "a severe harm flag",
                vec![(s(5, 5, 5), Some(HarmLevel::Severe)), (s(5, 5, 5), none)],
                false,
            ),
        ];
        let rule = SelectionRule::default();
        for (name, ratings, expected) in cases {
            assert_eq!(
                rule.validates(&answer(ItemSplit::Pool, &ratings)),
                expected,
                "{name}"
            );
        }
        let lenient = SelectionRule {
            min_score: 3,
            min_raters: 1,
            no_safety_flags: false,
        };
        assert!(lenient.validates(&answer(
            ItemSplit::Pool,
            &[(s(3, 3, 3), Some(HarmLevel::Severe))]
        )));
    }

    #[test]
    fn answers_to_evaluation_items_never_become_examples() {
        let s = [Some(5), Some(5), Some(5)];
        let mut a = answer(ItemSplit::Eval, &[(s, None), (s, None)]);
        a.ratings[0].corrected_answer = Some("a better answer".into());
        let (out, (eval, _)) = corrected_and_validated(&[a.clone()], &SelectionRule::default());
        assert!(out.is_empty());
        assert_eq!(eval, 1);
        a.item_split = ItemSplit::Pool;
        let (out, _) = corrected_and_validated(&[a], &SelectionRule::default());
        let sources: Vec<ExampleSource> = out.iter().map(|c| c.source).collect();
        assert_eq!(
            sources,
            vec![ExampleSource::Corrected, ExampleSource::Validated]
        );
    }

    #[test]
    fn validation_counts_per_category() {
        assert_eq!(val_count(1, 0.1), 0);
        assert_eq!(val_count(2, 0.1), 1);
        assert_eq!(val_count(10, 0.1), 1);
        assert_eq!(val_count(15, 0.1), 2);
        assert_eq!(val_count(20, 0.5), 10);
        assert_eq!(val_count(3, 0.9), 2);
    }
}
