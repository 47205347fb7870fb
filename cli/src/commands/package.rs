//! `package …`: offline study packages (coordinator → rater) and returned
//! ratings files (rater → coordinator).

use anyhow::{Context, Result, bail};

use llm4sweat::packages;
use llm4sweat::store::{Actor, RaterRecord, Store, StudyRecord};

use crate::args::PackageCommand;
use crate::commands::results::find_study;

fn rater_named(store: &Store, name: &str) -> Result<RaterRecord> {
    let raters = store.raters()?;
    let known = raters
        .iter()
        .map(|r| format!("{:?}", r.name))
        .collect::<Vec<_>>()
        .join(", ");
    raters
        .into_iter()
        .find(|r| r.name == name)
        .with_context(|| format!("no rater named {name:?} (raters: {known})"))
}

/// The raters with at least one assignment in `study`.
fn study_raters(store: &Store, study: &StudyRecord) -> Result<Vec<RaterRecord>> {
    let with_work: Vec<String> = store
        .study_progress(study.id)?
        .into_iter()
        .filter(|p| p.total > 0)
        .map(|p| p.rater)
        .collect();
    Ok(store
        .raters()?
        .into_iter()
        .filter(|r| with_work.contains(&r.name))
        .collect())
}

/// `package export|import|return|merge`.
pub fn run(cmd: PackageCommand, open: impl Fn() -> Result<Store>) -> Result<()> {
    let mut store = open()?;
    match cmd {
        PackageCommand::Export {
            study,
            rater,
            all,
            out,
        } => {
            let study = find_study(&store, Some(&study))?;
            if all {
                for path in packages::export_all_packages(&store, study.id, &out)? {
                    println!("wrote {}", path.display());
                }
            } else {
                let Some(name) = rater else {
                    bail!("name a rater (--rater NAME) or ask for --all");
                };
                let r = rater_named(&store, &name)?;
                let sha = packages::export_study_package(&store, study.id, r.id, &out)?;
                println!(
                    "wrote the package of {:?} to {} (sha256 {})",
                    r.name,
                    out.display(),
                    &sha[..16]
                );
            }
        }
        PackageCommand::Import { file } => {
            let s = packages::import_study_package(&mut store, &file, &Actor::Cli)?;
            if s.already_imported {
                println!("{} was imported before; nothing added", file.display());
            } else {
                println!(
                    "opened study {:?} for rater {:?}: {} assignment{} added, {} already here",
                    s.study,
                    s.rater,
                    s.assignments_added,
                    if s.assignments_added == 1 { "" } else { "s" },
                    s.assignments_kept
                );
            }
        }
        PackageCommand::Return { study, rater, out } => {
            let study = match study {
                Some(name) => find_study(&store, Some(&name))?,
                None => {
                    let mut one: Vec<StudyRecord> = Vec::new();
                    for s in store.studies()? {
                        if study_raters(&store, &s)?.len() == 1 {
                            one.push(s);
                        }
                    }
                    match one.len() {
                        1 => one.remove(0),
                        0 => bail!(
                            "no study to return: open a package first (`llm4sweat package import FILE`)"
                        ),
                        _ => bail!(
                            "several studies could be returned ({}); name one with --study",
                            one.iter()
                                .map(|s| format!("{:?}", s.name))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    }
                }
            };
            let rater = match rater {
                Some(name) => rater_named(&store, &name)?,
                None => {
                    let mut raters = study_raters(&store, &study)?;
                    if raters.len() != 1 {
                        bail!(
                            "study {:?} has {} raters here; name one with --rater",
                            study.name,
                            raters.len()
                        );
                    }
                    raters.remove(0)
                }
            };
            let sha = packages::return_ratings(&store, study.id, rater.id, &out)?;
            let work = store.rater_work(study.id, rater.id)?;
            println!(
                "wrote {} rating{} and {} preference{} of {:?} in {:?} to {} (sha256 {})",
                work.ratings.len(),
                if work.ratings.len() == 1 { "" } else { "s" },
                work.preferences.len(),
                if work.preferences.len() == 1 { "" } else { "s" },
                rater.name,
                study.name,
                out.display(),
                &sha[..16]
            );
        }
        PackageCommand::Merge { files } => {
            let mut failed = 0;
            for file in &files {
                match packages::merge_ratings(&mut store, file, &Actor::Cli) {
                    Ok(s) if s.already_imported => {
                        println!("{}: merged before; nothing added", file.display());
                    }
                    Ok(s) => {
                        println!(
                            "{}: {:?} in {:?}: {} added, {} updated, {} unchanged, {} older kept, {} status change{}",
                            file.display(),
                            s.rater,
                            s.study,
                            s.added,
                            s.updated,
                            s.unchanged,
                            s.older,
                            s.status_changes,
                            if s.status_changes == 1 { "" } else { "s" }
                        );
                        for d in &s.disagreements {
                            println!("  {d}");
                        }
                    }
                    Err(e) => {
                        failed += 1;
                        eprintln!("{}: {e}", file.display());
                    }
                }
            }
            if failed > 0 {
                if failed == files.len() {
                    bail!("nothing merged: every file was refused (see above)");
                }
                bail!(
                    "{failed} of {} files refused; the others are merged",
                    files.len()
                );
            }
        }
    }
    Ok(())
}
