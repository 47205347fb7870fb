//! Blinding: the per-rater answer order, the rater's queue and the blinded
//! view of one item (no model identity anywhere).

use serde::{Deserialize, Serialize};

use super::ReviewError;
use crate::ids::{AssignmentId, GenerationId, ItemId, RaterId};
use crate::stats::rng::splitmix64;
use crate::store::{BadColumn, RatingRow, Store, StoreError};
use crate::vocab::{AnswerLabel, AssignmentStatus, ItemKind, Preference, Verdict};

/// The seed of the answer order for one rater and item in a study.
pub fn order_seed(study_seed: u64, rater_id: RaterId, item_id: ItemId) -> i64 {
    let mut s = study_seed
        ^ (rater_id.0 as u64).wrapping_mul(0x1000_0000_01B3)
        ^ (item_id.0 as u64).rotate_left(32);
    (splitmix64(&mut s) >> 1) as i64
}

/// A permutation of `0..n` drawn from `seed` (Fisher–Yates).
pub fn permutation(n: usize, seed: i64) -> Vec<usize> {
    let mut state = seed as u64;
    let mut p: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = (splitmix64(&mut state) % (i as u64 + 1)) as usize;
        p.swap(i, j);
    }
    p
}

/// One entry of a rater's queue.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueEntry {
    /// The assignment to open.
    pub assignment_id: AssignmentId,
    /// The study's name.
    pub study: String,
    /// Pending, draft or submitted.
    pub status: AssignmentStatus,
    /// Whether every answer exists (otherwise it waits for generation).
    pub ready: bool,
}

/// A rater's queue across open studies.
pub fn queue(store: &Store, rater_id: RaterId) -> Result<Vec<QueueEntry>, ReviewError> {
    Ok(store
        .rater_queue_rows(rater_id)?
        .into_iter()
        .map(|r| QueueEntry {
            assignment_id: r.assignment_id,
            study: r.study,
            status: r.status,
            ready: r.n_models > 0 && r.n_answers == r.n_models,
        })
        .collect())
}

/// One answer as a rater sees it.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlindedAnswer {
    /// Its letter in this rater's order.
    pub label: AnswerLabel,
    /// The answer's text.
    pub text: String,
    /// The rater's saved (draft or submitted) rating of it.
    pub rating: RatingRow,
}

/// The rater's view of one item: no model identity anywhere.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlindedItem {
    /// The assignment.
    pub assignment_id: AssignmentId,
    /// Question or vignette.
    pub kind: ItemKind,
    /// The patient's question or vignette.
    pub text: String,
    /// The answers, in this rater's order.
    pub answers: Vec<BlindedAnswer>,
    /// The saved preference, if any.
    pub preference: Option<Preference>,
    /// Pending, draft or submitted.
    pub status: AssignmentStatus,
}

/// One answer of an assignment in the rater's display order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OrderedAnswer {
    /// Its letter.
    pub label: AnswerLabel,
    /// The stored answer behind the letter (never shown to the rater).
    pub generation_id: GenerationId,
    /// Its text.
    pub text: String,
}

/// Finds the answer under `label`.
pub(super) fn answer_labelled(
    answers: &[OrderedAnswer],
    label: AnswerLabel,
) -> Result<&OrderedAnswer, ReviewError> {
    answers
        .iter()
        .find(|a| a.label == label)
        .ok_or(ReviewError::UnknownAnswer(label))
}

/// The answers of an assignment in display order.
pub(crate) fn ordered_answers(
    store: &Store,
    assignment_id: AssignmentId,
    rater_id: RaterId,
) -> Result<Vec<OrderedAnswer>, ReviewError> {
    let a = store.assignment(assignment_id)?;
    if a.rater_id != rater_id {
        // Raters see only their own work; do not reveal that it exists.
        return Err(StoreError::NotFound {
            entity: "assignment",
            key: assignment_id.to_string(),
        }
        .into());
    }
    let answers = store.study_answers(a.study_id, a.item_id)?;
    let n_models = store.study_model_ids(a.study_id)?.len();
    if answers.len() != n_models {
        return Err(ReviewError::NotReady {
            generated: answers.len(),
            expected: n_models,
        });
    }
    let order = permutation(answers.len(), a.order_seed);
    Ok(order
        .into_iter()
        .zip(AnswerLabel::ALL)
        .map(|(i, &label)| OrderedAnswer {
            label,
            generation_id: answers[i].generation_id,
            text: answers[i].text.clone(),
        })
        .collect())
}

/// The blinded view of one assignment for `rater_id`.
pub fn blinded_item(
    store: &Store,
    rater_id: RaterId,
    assignment_id: AssignmentId,
) -> Result<BlindedItem, ReviewError> {
    let answers = ordered_answers(store, assignment_id, rater_id)?;
    let a = store.assignment(assignment_id)?;
    let item = store.item(a.item_id)?;
    let preference = match store.preference(assignment_id)? {
        None => None,
        Some(p) => Some(match (p.verdict, p.preferred_generation_id) {
            (Verdict::Tie, _) => Preference::Tie,
            (Verdict::BothBad, _) => Preference::BothBad,
            (Verdict::Better, preferred) => {
                let answer = answers
                    .iter()
                    .find(|x| Some(x.generation_id) == preferred)
                    .ok_or_else(|| {
                        StoreError::from(BadColumn {
                            table: "preferences",
                            row_id: assignment_id.0,
                            column: "preferred_generation_id",
                            message: "not one of the item's answers in this study".into(),
                        })
                    })?;
                Preference::better(answer.label)
            }
        }),
    };
    let mut out = Vec::new();
    for answer in answers {
        let rating = store
            .rating(assignment_id, answer.generation_id)?
            .unwrap_or_else(RatingRow::unrated);
        out.push(BlindedAnswer {
            label: answer.label,
            text: answer.text,
            rating,
        });
    }
    Ok(BlindedItem {
        assignment_id,
        kind: item.kind,
        text: item.text,
        answers: out,
        preference,
        status: a.status,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permutations_are_stable_and_vary_with_the_seed() {
        assert_eq!(permutation(4, 12345), permutation(4, 12345));
        let distinct: std::collections::HashSet<Vec<usize>> = (0..50)
            .map(|s| permutation(3, order_seed(7, RaterId(1), ItemId(s))))
            .collect();
        assert_eq!(
            distinct.len(),
            6,
            "all 3! orders should occur over 50 items"
        );
        let mut p = permutation(4, 99);
        p.sort_unstable();
        assert_eq!(p, [0, 1, 2, 3]);
    }

    /// The formula as it was before the ids were typed, inlined.
    fn order_seed_before_typed_ids(study_seed: u64, rater_id: i64, item_id: i64) -> i64 {
        let mut s = study_seed
            ^ (rater_id as u64).wrapping_mul(0x1000_0000_01B3)
            ^ (item_id as u64).rotate_left(32);
        (splitmix64(&mut s) >> 1) as i64
    }

    #[test]
    fn order_seeds_differ_between_raters() {
        let seed = |r, i| order_seed(1, RaterId(r), ItemId(i));
        assert_ne!(seed(1, 10), seed(2, 10));
        assert_ne!(seed(1, 10), seed(1, 11));
        assert!(order_seed(u64::MAX, RaterId(i64::MAX), ItemId(i64::MAX)) >= 0);
        // The order a rater saw must never change between versions.
        assert_eq!(seed(1, 10), order_seed_before_typed_ids(1, 1, 10));
    }
}
