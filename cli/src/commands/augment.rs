//! `augment`: run a generator, follow runs and the pool's balance, and
//! review synthetic items.

use anyhow::{Context, Result, bail};

use llm4sweat::augment::quota::AxisBalance;
use llm4sweat::augment::run::{
    self as augment_run, AugmentOptions, AugmentSummary, default_params,
};
use llm4sweat::augment::{format_duration, review};
use llm4sweat::domain::DomainPack;
use llm4sweat::generate::{self, RemoteTuning};
use llm4sweat::ids::AugmentRunId;
use llm4sweat::inference::SamplingParams;
use llm4sweat::store::{Actor, AugmentRunRecord, ReviewDecision, Store, SyntheticItem};
use llm4sweat::vocab::ReviewStatus;

use crate::args::{AugmentCommand, AugmentRunArgs};
use crate::commands::open_backend_tuned;
use crate::progress::{Bar, cancel_on_ctrl_c};

fn load_pack(dir: Option<std::path::PathBuf>) -> Result<DomainPack> {
    Ok(match dir {
        Some(dir) => DomainPack::from_dir(&dir)
            .with_context(|| format!("loading the domain pack in {}", dir.display()))?,
        None => DomainPack::embedded_default()?,
    })
}

/// Runs one `augment` subcommand.
pub fn run(cmd: AugmentCommand, quiet: bool, open: impl Fn() -> Result<Store>) -> Result<()> {
    let mut store = open()?;
    match cmd {
        AugmentCommand::Run(args) => run_generator(args, quiet, &mut store),
        AugmentCommand::Status {
            run,
            rejections,
            json,
        } => status(&store, run.map(AugmentRunId), rejections, json),
        AugmentCommand::Show { item, limit, json } => show(&store, item, limit, json),
        AugmentCommand::Approve {
            items,
            expert,
            text,
            answer,
            pack,
        } => {
            let decision = match (text, answer) {
                (Some(text), Some(answer)) => {
                    if items.len() != 1 {
                        bail!("an edit applies to one item; name exactly one");
                    }
                    ReviewDecision::Edit { text, answer }
                }
                _ => ReviewDecision::Approve,
            };
            let pack = load_pack(pack)?;
            for id in &items {
                let status = review::decide(&mut store, &pack, id, &decision, &expert, &Actor::Cli)
                    .with_context(|| format!("reviewing {id}"))?;
                println!(
                    "{id}: {}{}",
                    status.as_str(),
                    if matches!(decision, ReviewDecision::Edit { .. }) {
                        " (edited; the original is kept)"
                    } else {
                        ""
                    }
                );
            }
            Ok(())
        }
        AugmentCommand::Reject {
            items,
            expert,
            reason,
        } => {
            let pack = DomainPack::embedded_default()?;
            let decision = ReviewDecision::Reject { reason };
            for id in &items {
                let status = review::decide(&mut store, &pack, id, &decision, &expert, &Actor::Cli)
                    .with_context(|| format!("reviewing {id}"))?;
                println!("{id}: {}", status.as_str());
            }
            Ok(())
        }
        AugmentCommand::Price {
            generator,
            input,
            output,
        } => {
            let model = store.model_by_name(&generator)?;
            store.set_generator_prices(model.id, input, output)?;
            println!(
                "{generator}: ${input} per million prompt tokens, ${output} per million completion tokens"
            );
            Ok(())
        }
    }
}

fn run_generator(args: AugmentRunArgs, quiet: bool, store: &mut Store) -> Result<()> {
    if store.workspace_pack()?.is_none() {
        bail!("the workspace is empty; run `llm4sweat init` first");
    }
    let pack = load_pack(args.pack.clone())?;
    let generator = store.model_by_name(&args.generator).with_context(|| {
        format!(
            "no model named {:?}; register the generator with `llm4sweat models add` or `models add-remote`",
            args.generator
        )
    })?;
    let cfg = generate::engine_config(&generator, args.threads, None, args.concurrency);
    let tuning = RemoteTuning {
        request_timeout_s: args.timeout,
        idle_timeout_s: args.timeout,
        max_retries: args.retries,
        initial_backoff_ms: args.backoff_ms,
    };
    let backend = open_backend_tuned(store, &generator, cfg, &tuning)?;
    let d = default_params();
    let options = AugmentOptions {
        count: args.count,
        seed: args.seed,
        params: SamplingParams {
            temperature: args.temperature.unwrap_or(d.temperature),
            max_tokens: args.max_tokens.unwrap_or(d.max_tokens),
            ..d
        },
        max_attempts: args.max_attempts,
        new_run: args.new,
    };
    let cancel = cancel_on_ctrl_c();
    let summary = augment_run::run(
        store,
        &pack,
        backend.as_ref(),
        &generator,
        &options,
        &Bar::new(quiet, false),
        &cancel,
    )?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        print_summary(&summary);
    }
    Ok(())
}

fn print_summary(s: &AugmentSummary) {
    let r = &s.run;
    println!(
        "run {} ({}{}): {} — {} of {} accepted ({} now), {} rejected ({} now); output mode {}",
        r.id,
        r.generator,
        if s.resumed { ", resumed" } else { "" },
        r.status.as_str(),
        r.accepted,
        r.requested,
        s.accepted_now,
        r.rejected,
        s.rejected_now,
        s.output_mode.as_str()
    );
    print_costs(r);
    if !s.rejections.is_empty() {
        println!("rejections by reason:");
        for (reason, n) in &s.rejections {
            println!("  {:<16} {n}", reason.as_str());
        }
    }
    println!("balance of the run's items:");
    print_balance(&s.balance);
    if r.status != llm4sweat::vocab::AugmentStatus::Completed {
        println!(
            "the quota is not filled; why each answer was refused: `llm4sweat augment status --run {} --rejections 20`",
            r.id
        );
    }
    if r.accepted > 0 {
        println!(
            "the items are pending review: `llm4sweat augment show`, then `augment approve|reject ID --expert NAME`"
        );
    }
}

fn print_costs(r: &AugmentRunRecord) {
    println!(
        "tokens: {} prompt + {} completion · cost ${:.4} · {} running",
        r.prompt_tokens,
        r.completion_tokens,
        r.cost_usd,
        format_duration(r.elapsed_s)
    );
}

fn print_balance(balance: &[AxisBalance]) {
    for a in balance {
        let counts: Vec<String> = a.counts.iter().map(|(v, n)| format!("{v} {n}")).collect();
        println!(
            "  {:<10} max/min {:>5}  {}",
            a.axis,
            a.ratio.map_or("∞".to_owned(), |r| format!("{r:.2}")),
            counts.join(" · ")
        );
    }
}

fn status(store: &Store, run: Option<AugmentRunId>, rejections: u64, json: bool) -> Result<()> {
    let runs: Vec<AugmentRunRecord> = match run {
        Some(id) => vec![store.augment_run(id)?],
        None => store.augment_runs()?,
    };
    let balance = augment_run::stored_balance(store, run)?;
    let counts = store.review_counts()?;
    if json {
        let listed = match run {
            Some(id) => store.augment_rejections(id, rejections)?,
            None => Vec::new(),
        };
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "runs": runs,
                "rejections": runs.iter().map(|r| Ok((r.id, store.augment_rejection_counts(r.id)?))).collect::<Result<Vec<_>>>()?,
                "listed_rejections": listed,
                "balance": balance,
                "review": counts,
            }))?
        );
        return Ok(());
    }
    if runs.is_empty() {
        println!(
            "no augmentation run yet; start one with `llm4sweat augment run --generator NAME --count 50`"
        );
        return Ok(());
    }
    for r in &runs {
        println!(
            "run {} · {} · {} · {} of {} accepted, {} rejected · seed {} · started {}",
            r.id,
            r.generator,
            r.status.as_str(),
            r.accepted,
            r.requested,
            r.rejected,
            r.seed,
            r.created_at
        );
        print_costs(r);
        for (reason, n) in store.augment_rejection_counts(r.id)? {
            println!("    {:<16} {n}", reason.as_str());
        }
    }
    if let Some(id) = run {
        for rej in store.augment_rejections(id, rejections)? {
            println!(
                "  attempt {} · {} · {} · [{}]",
                rej.attempt,
                rej.reason.as_str(),
                rej.detail,
                rej.stratum
            );
        }
    }
    println!(
        "balance of {}:",
        match run {
            Some(id) => format!("run {id}'s items"),
            None => "the synthetic pool (items not rejected)".to_owned(),
        }
    );
    print_balance(&balance);
    println!(
        "review: {} pending, {} approved, {} rejected",
        counts.pending, counts.approved, counts.rejected
    );
    Ok(())
}

fn print_item(item: &SyntheticItem) {
    println!(
        "{} · {} · {} · {}{}",
        item.external_id,
        item.kind.as_str(),
        item.category,
        item.review_status.as_str(),
        item.reviewed_by
            .as_ref()
            .map(|b| format!(" by {b}"))
            .unwrap_or_default()
    );
    let strata: Vec<String> = item
        .strata
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    println!("  stratum: {}", strata.join(" "));
    println!("  text:    {}", item.text);
    println!("  answer:  {}", item.answer);
    println!("  cited facts:");
    for f in &item.facts {
        println!("    [{}] {}", f.id, f.statement);
    }
    if let Some(note) = &item.review_note {
        println!("  note:    {note}");
    }
    for r in &item.revisions {
        println!(
            "  edited by {} at {} (original kept)",
            r.editor, r.created_at
        );
    }
}

fn show(store: &Store, item: Option<String>, limit: u64, json: bool) -> Result<()> {
    let items = match item {
        Some(id) => vec![store.synthetic_item(&id)?],
        None => store.synthetic_items(ReviewStatus::Pending, limit)?,
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&items)?);
        return Ok(());
    }
    if items.is_empty() {
        println!("no synthetic item is pending review");
    }
    for i in &items {
        print_item(i);
        if items.len() == 1 {
            println!(
                "  provenance: {}",
                serde_json::to_string(&i.provenance).unwrap_or_default()
            );
        }
    }
    Ok(())
}
