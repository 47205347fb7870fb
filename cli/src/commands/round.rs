//! `round …`: retraining rounds from the command line.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};

use llm4sweat::domain::DomainPack;
use llm4sweat::models::Manifest;
use llm4sweat::rounds::{self, RoundConfig, RoundProgress, SelectionRule};
use llm4sweat::store::{Actor, RoundRecord, Store};
use llm4sweat::train::{OutputType, TrainEvent, TrainParams};
use llm4sweat::workspace::WorkspacePaths;

use crate::args::{OutputTypeArg, RoundCommand};
use crate::commands::study::{drawn_seed, rater_ids};
use crate::progress::cancel_on_ctrl_c;

/// Where a workspace keeps its rounds' files: beside its database.
fn rounds_dir(paths: &WorkspacePaths) -> PathBuf {
    paths
        .db
        .parent()
        .map_or_else(|| PathBuf::from("rounds"), |d| d.join("rounds"))
}

fn find(store: &Store, number: Option<i64>) -> Result<RoundRecord> {
    match number {
        Some(n) => store
            .round(n)
            .with_context(|| format!("no round {n}; list them with `llm4sweat round list`")),
        None => store
            .rounds()?
            .pop()
            .context("there is no round yet; build one with `llm4sweat round new`"),
    }
}

/// `round new|list|show|train|export|import`.
pub fn run(
    cmd: RoundCommand,
    paths: &WorkspacePaths,
    quiet: bool,
    open: impl Fn() -> Result<Store>,
) -> Result<()> {
    let mut store = open()?;
    match cmd {
        RoundCommand::New {
            base,
            seed,
            val_fraction,
            min_score,
            min_raters,
            allow_flagged,
            pack,
        } => {
            let pack = match pack {
                Some(dir) => DomainPack::from_dir(&dir)?,
                None => DomainPack::embedded_default()?,
            };
            let base = match base {
                Some(name) => store.model_by_name(&name).with_context(|| {
                    format!("no model named {name:?}; see `llm4sweat models list`")
                })?,
                None => match rounds::default_base(&store)? {
                    Some(id) => store
                        .models()?
                        .into_iter()
                        .find(|m| m.id == id)
                        .context("the last round's model is gone")?,
                    None => {
                        let manifest = Manifest::embedded()?;
                        let default = manifest
                            .default_model()
                            .context("the manifest has no default model")?;
                        store.model_by_name(&default.name).with_context(|| {
                            format!(
                                "the default model {} is not installed; run `llm4sweat models fetch {}` or pass --base",
                                default.name, default.name
                            )
                        })?
                    }
                },
            };
            let config = RoundConfig {
                val_fraction,
                selection: SelectionRule {
                    min_score,
                    min_raters,
                    no_safety_flags: !allow_flagged,
                },
                ..RoundConfig::default()
            };
            let seed = seed.unwrap_or_else(drawn_seed);
            let round = rounds::new_round(&mut store, &pack, &base, config, seed, &Actor::Cli)?;
            println!(
                "round {} created: fine-tunes {} on {} examples",
                round.number,
                base.name,
                round.summary.as_ref().map_or(0, |s| s.total)
            );
            print_round(&store, &round)?;
        }
        RoundCommand::List => {
            let rounds = store.rounds()?;
            if rounds.is_empty() {
                println!("no rounds yet; build one with `llm4sweat round new`");
            }
            let models = store.models()?;
            let name = |id: Option<llm4sweat::ids::ModelId>| {
                id.and_then(|id| models.iter().find(|m| m.id == id))
                    .map_or("-".to_owned(), |m| m.name.clone())
            };
            println!(
                "{:>5}  {:<14}  {:>8}  {:<28}  {:<28}  {:>10}",
                "ROUND", "STATUS", "EXAMPLES", "BASE", "MODEL", "VAL LOSS"
            );
            for r in rounds {
                let loss = r
                    .training
                    .as_ref()
                    .and_then(|t| t.outcome.as_ref())
                    .map_or("-".to_owned(), |o| {
                        format!("{:.3}→{:.3}", o.val_loss_before, o.val_loss_after)
                    });
                println!(
                    "{:>5}  {:<14}  {:>8}  {:<28}  {:<28}  {:>10}",
                    r.number,
                    r.status.as_str(),
                    r.summary.as_ref().map_or(0, |s| s.total),
                    name(r.base_model_id),
                    name(r.output_model_id),
                    loss
                );
            }
        }
        RoundCommand::Show { number, json } => {
            let round = find(&store, number)?;
            if json {
                let out = serde_json::json!({
                    "round": round,
                    "epochs": store.round_epochs(round.id)?,
                    "steps": store.round_steps(round.id)?,
                    "studies": store.round_studies(round.id)?,
                });
                println!("{}", serde_json::to_string_pretty(&out)?);
            } else {
                print_round(&store, &round)?;
            }
        }
        RoundCommand::Train {
            number,
            epochs,
            lr,
            context,
            threads,
            output_type,
        } => {
            let round = find(&store, number)?;
            let params = TrainParams {
                epochs,
                learning_rate: lr,
                context,
                threads,
                seed: round.seed as u64,
                output_type: match output_type {
                    OutputTypeArg::Q4KM => OutputType::Q4KM,
                    OutputTypeArg::Q8_0 => OutputType::Q8_0,
                    OutputTypeArg::F16 => OutputType::F16,
                },
            };
            let cancel = cancel_on_ctrl_c();
            let mut last_line = String::new();
            let mut report = |p: &RoundProgress| {
                let line = match p {
                    RoundProgress::Train(TrainEvent::Started { pid }) => {
                        format!("training process {pid} started")
                    }
                    RoundProgress::Train(TrainEvent::Converted { path }) => {
                        format!("base model as F32: {}", path.display())
                    }
                    RoundProgress::Train(TrainEvent::Prepared {
                        train_windows,
                        val_windows,
                        context,
                    }) => format!(
                        "{train_windows} training and {val_windows} validation windows of {context} tokens"
                    ),
                    RoundProgress::Train(TrainEvent::Baseline { val_loss }) => {
                        format!("validation loss before: {val_loss:.4}")
                    }
                    RoundProgress::Train(TrainEvent::Step {
                        epoch,
                        step,
                        steps,
                        loss,
                        tokens_per_s,
                    }) => {
                        if !quiet {
                            eprint!(
                                "\repoch {epoch} step {step}/{steps}  loss {loss:.4}  {tokens_per_s:.1} tokens/s   "
                            );
                            let _ = std::io::stderr().flush();
                        }
                        return;
                    }
                    RoundProgress::Train(TrainEvent::Epoch {
                        epoch,
                        train_loss,
                        val_loss,
                        ..
                    }) => format!(
                        "\nepoch {epoch}: training loss {train_loss:.4}, validation loss {val_loss:.4} (checkpoint saved)"
                    ),
                    RoundProgress::Train(TrainEvent::Saving) => {
                        "quantizing and restoring the base model's metadata…".to_owned()
                    }
                    RoundProgress::Registered(m) => format!(
                        "registered {} ({}, {})",
                        m.name,
                        m.quantization.as_deref().unwrap_or("?"),
                        m.path.as_deref().unwrap_or("")
                    ),
                };
                if line != last_line {
                    eprintln!("{line}");
                    last_line = line;
                }
            };
            let model = rounds::train_round(
                &mut store,
                round.number,
                params,
                &rounds_dir(paths),
                &cancel,
                &mut report,
                &Actor::Cli,
            );
            match model {
                Ok(m) => println!("round {} trained: {}", round.number, m.name),
                Err(e) => {
                    let after = store.round(round.number)?;
                    let resumable = after
                        .training
                        .as_ref()
                        .is_some_and(|t| t.epochs_done > 0 && t.checkpoint.is_some());
                    if resumable && after.status != llm4sweat::vocab::RoundStatus::Failed {
                        bail!(
                            "{e}\nthe run can resume after epoch {}: run `llm4sweat round train {}` with the same settings",
                            after.training.as_ref().map_or(0, |t| t.epochs_done),
                            round.number
                        );
                    }
                    return Err(e.into());
                }
            }
            print_round(&store, &store.round(round.number)?)?;
        }
        RoundCommand::Export {
            number,
            out,
            hf_base,
        } => {
            let round = find(&store, Some(number))?;
            let examples = store.round_examples(round.id)?;
            let pack = DomainPack::embedded_default()?;
            let written = rounds::export::export_round(&round, &examples, &pack, &hf_base, &out)?;
            for f in written.files {
                println!("{}", f.display());
            }
        }
        RoundCommand::Evaluate {
            number,
            study,
            raters,
            overlap,
            no_generate,
            engine,
        } => {
            let round = find(&store, number)?;
            let rater_ids = if raters.is_empty() {
                store.raters()?.iter().map(|r| r.id).collect()
            } else {
                rater_ids(&store, &raters)?
            };
            let spec = rounds::evaluation_spec(
                &store,
                round.number,
                study,
                rater_ids,
                overlap,
                drawn_seed(),
            )?;
            let pack = DomainPack::embedded_default()?;
            let id = rounds::open_evaluation(
                &mut store,
                round.number,
                &spec,
                &pack.manifest.rubric,
                &Actor::Cli,
            )?;
            println!(
                "round {}: study {:?} opened comparing {}",
                round.number,
                spec.name,
                spec.models.join(", ")
            );
            if !no_generate {
                crate::commands::generate::generate_study(&mut store, id, &engine, quiet)?;
            }
        }
        RoundCommand::Import { number, file } => {
            let model = rounds::import_model(&mut store, number, &file, &Actor::Cli)?;
            println!("round {number}: registered {} with its lineage", model.name);
        }
    }
    Ok(())
}

fn print_round(store: &Store, round: &RoundRecord) -> Result<()> {
    let models = store.models()?;
    let name = |id: Option<llm4sweat::ids::ModelId>| {
        id.and_then(|id| models.iter().find(|m| m.id == id))
            .map_or("-".to_owned(), |m| m.name.clone())
    };
    println!("round {}  ({})", round.number, round.status.as_str());
    println!("  base model:    {}", name(round.base_model_id));
    println!("  model:         {}", name(round.output_model_id));
    println!("  seed:          {}", round.seed);
    println!(
        "  dataset:       {}",
        round.dataset_hash.as_deref().unwrap_or("-")
    );
    if let Some(s) = &round.summary {
        println!(
            "  examples:      {} ({} train, {} validation); {} near-duplicates dropped; {} answers to evaluation items left out",
            s.total, s.train, s.val, s.duplicates_dropped, s.eval_answers_excluded
        );
        println!("  {:<28} {:>6} {:>6}", "category", "train", "val");
        for (cat, [t, v]) in &s.by_category {
            println!("  {cat:<28} {t:>6} {v:>6}");
        }
        let sources: Vec<String> = s
            .by_source
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        println!("  sources:       {}", sources.join(", "));
    }
    println!(
        "  trains with:   {} ({} characters)",
        if round.config.training_system_prompt.is_some() {
            "the pack's short training prompt"
        } else {
            "the pack's full system prompt"
        },
        round.config.training_prompt().chars().count()
    );
    let epochs = store.round_epochs(round.id)?;
    if let Some(before) = round.training.as_ref().and_then(|t| t.val_loss_before) {
        println!("  val loss before training: {before:.4}");
    }
    for e in &epochs {
        println!(
            "  epoch {}: training loss {:.4}, validation loss {:.4}",
            e.epoch, e.train_loss, e.val_loss
        );
    }
    let studies = store.round_studies(round.id)?;
    if !studies.is_empty() {
        println!("  evaluated in:  {}", studies.join(", "));
    }
    if let Some(f) = &round.failure {
        println!("  last failure:  {f}");
    }
    Ok(())
}
