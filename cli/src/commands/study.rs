//! `study …`: blind review studies from the command line, under the same core
//! rules as the desktop app's Studies screen.

use anyhow::{Context, Result, bail};

use llm4sweat::domain::DomainPack;
use llm4sweat::review::{self, StudySpec};
use llm4sweat::store::{Actor, Store};
use llm4sweat::vocab::StudyStatus;

use crate::args::StudyCommand;
use crate::commands::generate::generate_study;
use crate::commands::results::find_study;
use crate::print;

/// `study create|list|show|generate|close|reopen`.
pub fn run(cmd: StudyCommand, quiet: bool, open: impl Fn() -> Result<Store>) -> Result<()> {
    let mut store = open()?;
    match cmd {
        StudyCommand::Create {
            name,
            models,
            raters,
            overlap,
            category,
            limit,
            study_seed,
            sampling,
            system_prompt,
        } => {
            let pack = DomainPack::embedded_default()?;
            let rater_ids = rater_ids(&store, &raters)?;
            let seed = study_seed.unwrap_or_else(drawn_seed);
            let spec = StudySpec {
                name,
                category,
                limit,
                item_ids: None,
                models,
                rater_ids,
                overlap,
                seed,
                params: sampling.params(),
                system_prompt: system_prompt.unwrap_or(pack.manifest.system_prompt.clone()),
            };
            let id = review::create_study(&mut store, &spec, &pack.manifest.rubric, &Actor::Cli)?;
            let overview = review::study_overview(&store, &store.study(id)?)?;
            print::study_created(&overview);
        }
        StudyCommand::List => {
            let studies = store.studies()?;
            let overviews = studies
                .iter()
                .map(|s| review::study_overview(&store, s))
                .collect::<Result<Vec<_>, _>>()?;
            print::studies(&overviews);
        }
        StudyCommand::Show { name } => {
            let study = find_study(&store, name.as_deref())?;
            print::study(&review::study_overview(&store, &study)?);
        }
        StudyCommand::Generate { name, engine } => {
            let study = find_study(&store, name.as_deref())?;
            if review::study_overview(&store, &study)?.missing_answers == 0 {
                println!("{}: every answer is there", study.name);
                return Ok(());
            }
            generate_study(&mut store, study.id, &engine, quiet)?;
        }
        StudyCommand::Close { name } => {
            let study = find_study(&store, Some(&name))?;
            if study.status == StudyStatus::Closed {
                bail!("study {:?} is already closed", study.name);
            }
            store.close_study(study.id, &Actor::Cli)?;
            println!(
                "closed {:?}; `llm4sweat study reopen {name:?}` undoes it",
                study.name
            );
        }
        StudyCommand::Reopen { name } => {
            let study = find_study(&store, Some(&name))?;
            if study.status == StudyStatus::Open {
                bail!("study {:?} is already open", study.name);
            }
            store.reopen_study(study.id, &Actor::Cli)?;
            println!("reopened {:?}", study.name);
        }
    }
    Ok(())
}

/// A seed for a study that was given none: from the clock, printed and stored
/// with the study, so the study stays reproducible.
/// The ids of the raters named, in order; an unknown name is an error with
/// the command that adds one.
pub fn rater_ids(store: &Store, names: &[String]) -> Result<Vec<llm4sweat::ids::RaterId>> {
    let known = store.raters()?;
    names
        .iter()
        .map(|r| {
            known
                .iter()
                .find(|k| &k.name == r)
                .map(|k| k.id)
                .with_context(|| {
                    format!("no rater named {r:?}; add one with `llm4sweat rater add`")
                })
        })
        .collect()
}

/// A fresh seed for a study or round, small enough to type back in.
pub fn drawn_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    // Fold to a u64 and keep it small enough to type back in.
    (nanos as u64 ^ (nanos >> 64) as u64) % 1_000_000_000
}
