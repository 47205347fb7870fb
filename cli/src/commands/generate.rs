//! `generate` and `demo`: batch answers, stored as they finish.

use anyhow::{Context, Result, bail};

use llm4sweat::domain::DomainPack;
use llm4sweat::generate::{self, GenerateOptions};
use llm4sweat::inference::Backend;
use llm4sweat::models::Manifest;
use llm4sweat::review;
use llm4sweat::store::{Actor, ItemFilter, Store};
use llm4sweat::vocab::ModelRole;

use crate::args::{EngineArgs, GenerateArgs};
use crate::commands::open_backend;
use crate::progress::{Bar, cancel_on_ctrl_c};

/// `generate`: answers evaluation items with each model in turn (resumable).
pub fn generate(args: GenerateArgs, quiet: bool, mut store: Store) -> Result<()> {
    if store.workspace_pack()?.is_none() {
        bail!("the workspace is empty; run `llm4sweat init` first");
    }
    let pack = DomainPack::embedded_default()?;
    let options = GenerateOptions {
        filter: ItemFilter {
            category: args.category.clone(),
            // The evaluation set: synthetic items in the pool are answered
            // by their generator, not by the models under review.
            split: Some(llm4sweat::vocab::ItemSplit::Eval),
            limit: args.limit,
            ids: None,
        },
        params: args.sampling.params(),
        system_prompt: args
            .system_prompt
            .clone()
            .unwrap_or_else(|| pack.manifest.system_prompt.clone()),
    };
    let cancel = cancel_on_ctrl_c();
    let mut failures = 0;
    for name in &args.model {
        if cancel.is_cancelled() {
            break;
        }
        let record = store.model_by_name(name)?;
        let cfg = generate::engine_config(
            &record,
            args.engine.threads,
            args.engine.gpu_layers,
            args.engine.parallel,
        );
        let backend: Box<dyn Backend> = open_backend(&mut store, &record, cfg)?;
        let summary = generate::run(
            &mut store,
            backend.as_ref(),
            &record,
            &options,
            &Bar::new(quiet, false),
            &cancel,
        )?;
        println!(
            "{}: {} selected, {} already answered, {} answered now, {} failed, {} left to another run — {} tokens in {:.1} s ({:.1} tok/s)",
            summary.model,
            summary.selected,
            summary.skipped,
            summary.generated,
            summary.failed,
            summary.taken_by_others,
            summary.completion_tokens,
            summary.elapsed_s,
            summary.tokens_per_s()
        );
        match (super::peak_rss_mb(), backend.engine_peak_rss_mb()) {
            (Some(mb), Some(engine)) => println!(
                "peak memory so far: {mb:.0} MB here, {engine:.0} MB in the engine process"
            ),
            (Some(mb), None) => println!("peak memory so far: {mb:.0} MB"),
            _ => {}
        }
        for generate::ItemFailure { item, message: err } in &summary.errors {
            eprintln!("  {item}: {err}");
        }
        failures += summary.failed;
    }
    if cancel.is_cancelled() {
        bail!(
            "interrupted: the answers finished so far are stored; rerun the same command to resume"
        );
    }
    if failures > 0 {
        bail!("{failures} items could not be answered (see above); rerun to retry them");
    }
    Ok(())
}

/// `demo`: creates the demo study (default model vs. the baseline) and
/// generates its answers.
pub fn demo(engine: EngineArgs, quiet: bool, open: impl Fn() -> Result<Store>) -> Result<()> {
    let mut store = open()?;
    let pack = DomainPack::embedded_default()?;
    store.load_pack(&pack, &Actor::Cli)?;
    let manifest = Manifest::embedded()?;
    let candidate = manifest
        .default_model()
        .context("the manifest has no default model")?;
    let baseline = manifest
        .models
        .iter()
        .find(|m| m.role == ModelRole::Baseline)
        .context("the manifest has no baseline model")?;
    let Some(study) = review::ensure_demo_study(
        &mut store,
        &pack,
        &candidate.name,
        &baseline.name,
        &Actor::Cli,
    )?
    else {
        bail!(
            "the demo compares {} with {}; fetch them first: `llm4sweat models fetch {}` and `llm4sweat models fetch {}`",
            candidate.name,
            baseline.name,
            candidate.name,
            baseline.name
        );
    };
    generate_study(&mut store, study, &engine, quiet)?;
    println!(
        "{} is ready ({} items); open the desktop app to rate it",
        review::DEMO_STUDY,
        store.study_item_ids(study)?.len()
    );
    Ok(())
}

/// Generates a study's missing answers, model by model, with a progress bar
/// (Ctrl-C stops; a rerun resumes), and prints what each model did.
pub fn generate_study(
    store: &mut Store,
    study: llm4sweat::ids::StudyId,
    engine: &EngineArgs,
    quiet: bool,
) -> Result<()> {
    let open_backend = |m: &llm4sweat::store::ModelRecord| {
        generate::open_backend(
            m,
            generate::engine_config(m, engine.threads, engine.gpu_layers, engine.parallel),
        )
    };
    let cancel = cancel_on_ctrl_c();
    let summaries = review::generate_study_answers(
        store,
        study,
        &open_backend,
        &Bar::new(quiet, false),
        &cancel,
    )?;
    for s in &summaries {
        let others = match s.taken_by_others {
            0 => String::new(),
            n => format!(", {n} left to another run"),
        };
        println!(
            "{}: {} answers generated, {} failed{others}",
            s.model, s.generated, s.failed
        );
    }
    if cancel.is_cancelled() {
        bail!(
            "interrupted: the answers finished so far are stored; rerun the same command to resume"
        );
    }
    Ok(())
}
