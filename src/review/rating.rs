//! Ratings: validation, drafts, the preference, submitting, and the
//! (unblinded) ratings export for the coordinator.

use super::blinding::{answer_labelled, blinded_item, ordered_answers};
use super::{MAX_TEXT, ReviewError};
use crate::ids::{AssignmentId, RaterId, StudyId};
use crate::store::{Actor, PreferenceRow, RatingRow, Store};
use crate::vocab::{AnswerLabel, AssignmentStatus, Axis, Preference, SCORE_MAX, SCORE_MIN};

/// The score of `rating` on `axis`.
pub(crate) fn score(rating: &RatingRow, axis: Axis) -> Option<i64> {
    match axis {
        Axis::Accuracy => rating.accuracy,
        Axis::Appropriateness => rating.appropriateness,
        Axis::Empathy => rating.empathy,
    }
}

fn validate_rating(r: &RatingRow) -> Result<(), ReviewError> {
    for &axis in Axis::ALL {
        if let Some(value) = score(r, axis)
            && !(SCORE_MIN..=SCORE_MAX).contains(&value)
        {
            return Err(ReviewError::ScoreOutOfRange { axis, value });
        }
    }
    for (field, text) in [
        ("comment", &r.comment),
        ("corrected answer", &r.corrected_answer),
    ] {
        if let Some(t) = text {
            let chars = t.chars().count();
            if chars > MAX_TEXT {
                return Err(ReviewError::TextTooLong { field, chars });
            }
        }
    }
    Ok(())
}

/// Saves a draft rating of the answer labelled `label`.
pub fn save_rating(
    store: &mut Store,
    rater_id: RaterId,
    assignment_id: AssignmentId,
    label: AnswerLabel,
    rating: &RatingRow,
) -> Result<(), ReviewError> {
    validate_rating(rating)?;
    let answers = ordered_answers(store, assignment_id, rater_id)?;
    let generation_id = answer_labelled(&answers, label)?.generation_id;
    let mut clean = rating.clone();
    for t in [&mut clean.comment, &mut clean.corrected_answer] {
        if t.as_deref().is_some_and(|s| s.trim().is_empty()) {
            *t = None;
        }
    }
    Ok(store.upsert_rating(assignment_id, generation_id, &clean)?)
}

/// Saves the preference.
pub fn save_preference(
    store: &mut Store,
    rater_id: RaterId,
    assignment_id: AssignmentId,
    preference: Preference,
) -> Result<(), ReviewError> {
    let answers = ordered_answers(store, assignment_id, rater_id)?;
    let preferred_generation_id = match preference.preferred_label() {
        Some(label) => Some(answer_labelled(&answers, label)?.generation_id),
        None => None,
    };
    let row = PreferenceRow {
        verdict: preference.verdict(),
        preferred_generation_id,
    };
    Ok(store.upsert_preference(assignment_id, &row)?)
}

/// Submits an assignment once every answer has all three scores and a
/// preference is chosen. The audit log names the rater.
pub fn submit(
    store: &mut Store,
    rater_id: RaterId,
    assignment_id: AssignmentId,
) -> Result<(), ReviewError> {
    let item = blinded_item(store, rater_id, assignment_id)?;
    if item.status == AssignmentStatus::Submitted {
        return Err(ReviewError::AlreadySubmitted(assignment_id));
    }
    let mut missing = Vec::new();
    for a in &item.answers {
        for &axis in Axis::ALL {
            if score(&a.rating, axis).is_none() {
                missing.push(format!("{axis} of answer {}", a.label));
            }
        }
    }
    if item.preference.is_none() {
        missing.push("the preference".into());
    }
    if !missing.is_empty() {
        return Err(ReviewError::Incomplete(missing));
    }
    let rater = store.rater(rater_id)?;
    Ok(store.submit_assignment(assignment_id, &Actor::Rater(rater.name))?)
}

/// Writes a study's ratings as CSV (one row per rating, model unblinded).
pub fn export_ratings_csv(
    store: &Store,
    study_id: StudyId,
    out: &mut dyn std::io::Write,
) -> Result<u64, ReviewError> {
    store.study(study_id)?;
    let failed = |e: csv::Error| ReviewError::Io {
        what: "ratings CSV",
        source: e.into(),
    };
    // A study without ratings still exports a valid (empty) table: the
    // header is written by hand, and the rows are serialized without one.
    let mut w = csv::WriterBuilder::new()
        .has_headers(false)
        .buffer_capacity(1 << 16)
        .from_writer(out);
    w.write_record(RATING_COLUMNS).map_err(failed)?;
    let n = store.each_study_rating_row(study_id, |r| w.serialize(&r).map_err(failed))?;
    w.flush().map_err(|source| ReviewError::Io {
        what: "ratings CSV",
        source,
    })?;
    Ok(n)
}

/// The header of the ratings CSV: the fields of [`RatingExportRow`](crate::store::RatingExportRow), in order.
pub const RATING_COLUMNS: [&str; 18] = [
    "study",
    "rater",
    "specialty",
    "item",
    "category",
    "model",
    "generation_id",
    "accuracy",
    "appropriateness",
    "empathy",
    "harm",
    "harm_likelihood",
    "comment",
    "corrected_answer",
    "preference",
    "preferred",
    "status",
    "submitted_at",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratings_are_validated() {
        let cases: Vec<(RatingRow, Option<&str>)> = vec![
            (
                RatingRow {
                    accuracy: Some(6),
                    ..Default::default()
                },
                Some("score accuracy 6"),
            ),
            (
                RatingRow {
                    empathy: Some(0),
                    ..Default::default()
                },
                Some("score empathy 0"),
            ),
            (
                RatingRow {
                    comment: Some("x".repeat(MAX_TEXT + 1)),
                    ..Default::default()
                },
                Some("too long comment"),
            ),
            (
                RatingRow {
                    empathy: Some(5),
                    ..Default::default()
                },
                None,
            ),
        ];
        for (rating, expected) in cases {
            let got = validate_rating(&rating);
            let label = match &got {
                Ok(()) => None,
                Err(ReviewError::ScoreOutOfRange { axis, value }) => {
                    Some(format!("score {axis} {value}"))
                }
                Err(ReviewError::TextTooLong { field, chars }) => {
                    assert_eq!(*chars, MAX_TEXT + 1);
                    Some(format!("too long {field}"))
                }
                Err(other) => panic!("unexpected {other:?}"),
            };
            assert_eq!(label.as_deref(), expected);
        }
        // A harm word outside the vocabulary cannot even be deserialized.
        let bad: Result<RatingRow, _> = serde_json::from_str(
            r#"{"accuracy":null,"appropriateness":null,"empathy":null,"harm":"apocalyptic","harm_likelihood":null,"comment":null,"corrected_answer":null}"#,
        );
        assert!(bad.is_err());
    }
}
