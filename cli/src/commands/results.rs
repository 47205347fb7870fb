//! `results`: a study's results for the coordinator (unblinded).

use anyhow::{Context, Result};

use llm4sweat::review;
use llm4sweat::store::{Store, StudyRecord};

use crate::print;

/// `results`: per-model scores, preferences and agreement of a study.
pub fn results(study: Option<String>, json: bool, open: impl Fn() -> Result<Store>) -> Result<()> {
    let store = open()?;
    let record = find_study(&store, study.as_deref())?;
    let results = review::results::study_results(&store, record.id)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&results)?);
    } else {
        print::results(&record.name, &results);
    }
    Ok(())
}

/// The study named `name`, or the most recent one.
pub fn find_study(store: &Store, name: Option<&str>) -> Result<StudyRecord> {
    let studies = store.studies()?;
    let names = || {
        studies
            .iter()
            .map(|s| format!("{:?}", s.name))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match name {
        Some(name) => studies
            .iter()
            .find(|s| s.name == name)
            .cloned()
            .with_context(|| format!("no study named {name:?} (studies: {})", names())),
        None => studies
            .iter()
            .max_by_key(|s| s.id)
            .cloned()
            .context("no study yet: `llm4sweat study create NAME --model A --model B`, the desktop app, or `llm4sweat demo`"),
    }
}
