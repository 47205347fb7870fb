//! A study's ratings for analysis elsewhere (unblinded, the coordinator's):
//! tidy CSV (one row per rating, [`super::export_ratings_csv`]), wide CSV
//! (one row per item × model, one column per rater × axis), JSON (the tidy
//! rows as an array of objects), and a codebook for each (column, type,
//! meaning, allowed values) to write beside the file.

use std::collections::{BTreeMap, BTreeSet};

use super::ReviewError;
use super::results::axis_score;
use crate::ids::StudyId;
use crate::store::{RatingExportRow, Store};
use crate::vocab::{AssignmentStatus, Axis, HarmLevel, HarmLikelihood, Specialty, Verdict};

/// The layouts of a ratings export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RatingsLayout {
    /// One row per rating (CSV).
    Tidy,
    /// One row per item × model, one column per rater × axis (CSV).
    Wide,
    /// The tidy rows as a JSON array of objects.
    Json,
}

fn io(what: &'static str) -> impl Fn(csv::Error) -> ReviewError {
    move |e| ReviewError::Io {
        what,
        source: e.into(),
    }
}

/// One row of the wide CSV: the item's category and the scores by column.
type WideRow<'a> = (&'a str, BTreeMap<String, i64>);

/// The wide CSV's score column of `rater` on `axis`.
pub fn wide_column(rater: &str, axis: Axis) -> String {
    format!("{rater} | {}", axis.as_str())
}

/// Writes a study's submitted ratings as a wide CSV: one row per item ×
/// model (`study, item, category, model`), then one column per rater × axis
/// named `RATER | AXIS` (raters by name, axes in rubric order), empty where
/// that rater did not score that answer. Returns the rows written.
pub fn export_ratings_wide(
    store: &Store,
    study_id: StudyId,
    out: &mut dyn std::io::Write,
) -> Result<u64, ReviewError> {
    let study = store.study(study_id)?;
    let rows: Vec<RatingExportRow> = store
        .study_rating_rows(study_id)?
        .into_iter()
        .filter(|r| r.status == AssignmentStatus::Submitted)
        .collect();
    let raters: BTreeSet<&str> = rows.iter().map(|r| r.rater.as_str()).collect();
    let mut cells: BTreeMap<(&str, &str), WideRow<'_>> = BTreeMap::new();
    for r in &rows {
        let e = cells
            .entry((r.item.as_str(), r.model.as_str()))
            .or_insert_with(|| (r.category.as_str(), BTreeMap::new()));
        for &axis in Axis::ALL {
            if let Some(v) = axis_score(r, axis) {
                e.1.insert(wide_column(&r.rater, axis), v);
            }
        }
    }
    let failed = io("wide ratings CSV");
    let mut w = csv::Writer::from_writer(out);
    let mut header: Vec<String> = ["study", "item", "category", "model"]
        .map(String::from)
        .to_vec();
    for rater in &raters {
        for &axis in Axis::ALL {
            header.push(wide_column(rater, axis));
        }
    }
    w.write_record(&header).map_err(&failed)?;
    for ((item, model), (category, scores)) in &cells {
        let mut record = vec![
            study.name.clone(),
            (*item).to_owned(),
            (*category).to_owned(),
            (*model).to_owned(),
        ];
        for col in &header[4..] {
            record.push(scores.get(col).map(i64::to_string).unwrap_or_default());
        }
        w.write_record(&record).map_err(&failed)?;
    }
    w.flush().map_err(|source| ReviewError::Io {
        what: "wide ratings CSV",
        source,
    })?;
    Ok(cells.len() as u64)
}

/// Writes a study's ratings (every rating, as the tidy CSV) as one JSON
/// array of objects with the tidy CSV's keys. Returns the rows written.
pub fn export_ratings_json(
    store: &Store,
    study_id: StudyId,
    out: &mut dyn std::io::Write,
) -> Result<u64, ReviewError> {
    store.study(study_id)?;
    let rows = store.study_rating_rows(study_id)?;
    serde_json::to_writer_pretty(&mut *out, &rows).map_err(|e| ReviewError::Io {
        what: "ratings JSON",
        source: e.into(),
    })?;
    out.write_all(b"\n").map_err(|source| ReviewError::Io {
        what: "ratings JSON",
        source,
    })?;
    Ok(rows.len() as u64)
}

fn words<T: Copy + Into<&'static str>>(all: &[T]) -> String {
    all.iter().map(|&w| w.into()).collect::<Vec<_>>().join("; ")
}

/// The codebook of `layout` for study `study_id`: a CSV with the columns
/// `column, type, meaning, allowed_values`, one row per column of the export
/// (the wide layout's rater × axis columns included).
pub fn codebook(
    store: &Store,
    study_id: StudyId,
    layout: RatingsLayout,
) -> Result<String, ReviewError> {
    let scores = "1; 2; 3; 4; 5; empty = not scored".to_owned();
    let mut rows: Vec<[String; 4]> = Vec::new();
    let mut add = |c: &str, t: &str, m: &str, a: String| {
        rows.push([c.into(), t.into(), m.into(), a]);
    };
    match layout {
        RatingsLayout::Tidy | RatingsLayout::Json => {
            add("study", "string", "study name", String::new());
            add("rater", "string", "rater name", String::new());
            add(
                "specialty",
                "category",
                "rater's specialty",
                words(Specialty::ALL),
            );
            add(
                "item",
                "string",
                "evaluation item id (from the domain pack)",
                String::new(),
            );
            add("category", "string", "item category", String::new());
            add(
                "model",
                "string",
                "model that wrote the answer (unblinded: the coordinator's view; raters never saw it)",
                String::new(),
            );
            add(
                "generation_id",
                "integer",
                "the answer's id in the workspace",
                String::new(),
            );
            for axis in Axis::ALL {
                add(
                    axis.as_str(),
                    "integer",
                    &format!(
                        "{} score (rubric anchors in the study's rubric)",
                        axis.as_str()
                    ),
                    scores.clone(),
                );
            }
            add(
                "harm",
                "category",
                "possible harm of the answer",
                format!("{}; empty = not given", words(HarmLevel::ALL)),
            );
            add(
                "harm_likelihood",
                "category",
                "likelihood of that harm",
                format!("{}; empty = not given", words(HarmLikelihood::ALL)),
            );
            add(
                "comment",
                "string",
                "rater's free-text comment (may hold commas, quotes, newlines)",
                String::new(),
            );
            add(
                "corrected_answer",
                "string",
                "rater's rewrite of the answer",
                String::new(),
            );
            add(
                "preference",
                "category",
                "the rater's side-by-side verdict on the item (the same on every row of the item)",
                format!("{}; empty = not given", words(Verdict::ALL)),
            );
            add(
                "preferred",
                "boolean",
                "this answer was the preferred one (verdict better)",
                "true; false".into(),
            );
            add(
                "status",
                "category",
                "state of the rater's item; only submitted ones count in results",
                words(AssignmentStatus::ALL),
            );
            add(
                "submitted_at",
                "timestamp",
                "when the rater submitted the item (RFC 3339, UTC)",
                "empty = not submitted".into(),
            );
        }
        RatingsLayout::Wide => {
            add("study", "string", "study name", String::new());
            add("item", "string", "evaluation item id", String::new());
            add("category", "string", "item category", String::new());
            add(
                "model",
                "string",
                "model that wrote the answer (unblinded)",
                String::new(),
            );
            let raters: BTreeSet<String> = store
                .study_rating_rows(study_id)?
                .into_iter()
                .filter(|r| r.status == AssignmentStatus::Submitted)
                .map(|r| r.rater)
                .collect();
            for rater in &raters {
                for axis in Axis::ALL {
                    add(
                        &wide_column(rater, *axis),
                        "integer",
                        &format!(
                            "{rater}'s {} score of this answer (submitted items only)",
                            axis.as_str()
                        ),
                        scores.clone(),
                    );
                }
            }
        }
    }
    let failed = io("codebook");
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["column", "type", "meaning", "allowed_values"])
        .map_err(&failed)?;
    for r in &rows {
        w.write_record(r).map_err(&failed)?;
    }
    let bytes = w.into_inner().map_err(|e| ReviewError::Io {
        what: "codebook",
        source: e.into_error(),
    })?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}
