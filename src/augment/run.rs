//! An augmentation run: ask a generator for `count` items, balanced over
//! the quota axes, each grounded in offered seed facts, validated, and
//! committed the moment it is accepted (rejections too, with their reason).
//!
//! A run is resumable: it is a row of `augment_runs`, and every answer is
//! stored under `(run, attempt)`; a rerun (after a kill, a crash or a
//! cancel) continues with the next attempt and plans its strata from the
//! items already stored, so it fills exactly the remaining quota.
//!
//! A run stops when its quota is filled, when it has used its attempt
//! budget (`max_attempts` answers, accepted or not: a generator that keeps
//! failing cannot loop forever), or when it is cancelled.

use std::collections::BTreeMap;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::augment::prompt::{offered_facts, render};
use crate::augment::quota::{self, AxisBalance, Cell, QuotaAxis};
use crate::augment::schema::{item_schema, schema_name};
use crate::augment::spec::AugmentSpec;
use crate::augment::validate::{Checks, Rejection, TextIndex, check};
use crate::domain::DomainPack;
use crate::ids::AugmentRunId;
use crate::inference::{
    Backend, ChatMessage, FinishReason, GenerationOutput, GenerationRequest, InferenceError,
    OutputFormat, Role, SamplingParams, sha256_hex,
};
use crate::progress::{CancelToken, Progress, ProgressEvent};
use crate::stats::rng::splitmix64;
use crate::store::{
    AttemptCost, AugmentRunRecord, ItemFilter, ModelRecord, NewAugmentRun, NewSyntheticItem, Store,
    StoreError,
};
use crate::vocab::{AugmentStatus, ItemKind, ItemSplit, ModelKind, OutputMode, RejectReason};

/// Errors that stop a run (answers that fail validation do not: they are
/// stored rejections).
#[derive(Debug, thiserror::Error)]
pub enum AugmentError {
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The pack has no `[augment]` section or no template.
    #[error("the {pack:?} domain pack cannot be augmented: {reason}")]
    PackNotReady {
        /// The pack.
        pack: String,
        /// What is missing.
        reason: String,
    },
    /// The pack is not the workspace's.
    #[error(
        "this workspace holds the {workspace:?} domain pack, not {pack:?}; augment it with its own pack"
    )]
    WrongPack {
        /// The workspace's pack.
        workspace: String,
        /// The pack given.
        pack: String,
    },
    /// Bad options.
    #[error("{0}")]
    Options(String),
}

/// What to ask for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AugmentOptions {
    /// Items wanted (for a resumed run: ignored, the run keeps its own).
    pub count: u64,
    /// The run's seed (quotas, fact samples, sampling seeds).
    pub seed: u64,
    /// How to sample; each attempt's seed is derived from the run's.
    pub params: SamplingParams,
    /// Most answers asked for; `None`: three per item wanted, plus ten.
    pub max_attempts: Option<u64>,
    /// Start a new run even when one of this generator is unfinished.
    pub new_run: bool,
}

/// Default sampling for augmentation: varied, and long enough for a
/// vignette and its answer as JSON.
pub fn default_params() -> SamplingParams {
    SamplingParams {
        temperature: 0.9,
        top_p: 0.95,
        max_tokens: 900,
        ..SamplingParams::default()
    }
}

/// What a run (one session of it) did.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AugmentSummary {
    /// The run, as stored after this session.
    pub run: AugmentRunRecord,
    /// Whether this session continued an earlier one.
    pub resumed: bool,
    /// Items accepted in this session.
    pub accepted_now: u64,
    /// Answers refused in this session.
    pub rejected_now: u64,
    /// Refusals of the whole run, by reason.
    pub rejections: Vec<(crate::vocab::RejectReason, u64)>,
    /// Balance of the run's items over each quota axis.
    pub balance: Vec<AxisBalance>,
    /// The structured-output mode used.
    pub output_mode: OutputMode,
}

/// The quota axes of a pack: its strata axes, then `category`, `intent`
/// and `kind` (the kinds its templates can write).
pub fn quota_axes(pack: &DomainPack, spec: &AugmentSpec) -> Vec<QuotaAxis> {
    let mut axes: Vec<QuotaAxis> = pack
        .manifest
        .strata
        .iter()
        .map(|(name, values)| QuotaAxis {
            name: name.clone(),
            values: values.clone(),
        })
        .collect();
    axes.push(QuotaAxis {
        name: "category".into(),
        values: pack.manifest.categories.clone(),
    });
    axes.push(QuotaAxis {
        name: "intent".into(),
        values: spec.intents.clone(),
    });
    axes.push(QuotaAxis {
        name: "kind".into(),
        values: templates(pack)
            .into_iter()
            .map(|(k, _, _)| k.as_str().to_owned())
            .collect(),
    });
    axes
}

/// The pack's templates: `(kind, template name, text)`.
fn templates(pack: &DomainPack) -> Vec<(ItemKind, &'static str, &str)> {
    [(ItemKind::Question, "qa"), (ItemKind::Vignette, "vignette")]
        .into_iter()
        .filter_map(|(kind, name)| {
            pack.manifest
                .prompts
                .get(name)
                .map(|t| (kind, name, t.as_str()))
        })
        .collect()
}

/// The pack's `[augment]` section and templates, or why it cannot be
/// augmented.
pub fn ready_spec(pack: &DomainPack) -> Result<&AugmentSpec, AugmentError> {
    let not_ready = |reason: &str| AugmentError::PackNotReady {
        pack: pack.manifest.id.clone(),
        reason: reason.to_owned(),
    };
    let spec = pack
        .manifest
        .augment
        .as_ref()
        .ok_or_else(|| not_ready("pack.toml has no [augment] section"))?;
    if templates(pack).is_empty() {
        return Err(not_ready(
            "pack.toml has neither a `qa` nor a `vignette` template under [prompts]",
        ));
    }
    if pack.facts.is_empty() {
        return Err(not_ready("the pack has no seed facts"));
    }
    Ok(spec)
}

/// The seed of attempt `attempt` of a run seeded `seed`.
fn attempt_seed(seed: u64, attempt: u64) -> u64 {
    let mut s = seed ^ attempt.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    splitmix64(&mut s)
}

/// One request in flight.
struct Slot {
    attempt: u64,
    cell: Cell,
    kind: ItemKind,
    template_name: &'static str,
    template_hash: String,
    offered: Vec<String>,
    mode: OutputMode,
}

/// Runs (or resumes) augmentation with `backend`, the running `generator`.
#[allow(clippy::too_many_arguments)]
pub fn run(
    store: &mut Store,
    pack: &DomainPack,
    backend: &dyn Backend,
    generator: &ModelRecord,
    options: &AugmentOptions,
    progress: &dyn Progress,
    cancel: &CancelToken,
) -> Result<AugmentSummary, AugmentError> {
    let started = Instant::now();
    let spec = ready_spec(pack)?;
    if let Some(ws) = store.workspace_pack()?
        && ws.id != pack.manifest.id
    {
        return Err(AugmentError::WrongPack {
            workspace: ws.id,
            pack: pack.manifest.id.clone(),
        });
    }
    let axes = quota_axes(pack, spec);
    let templates = templates(pack);
    let local = generator.kind == ModelKind::Local;

    let (record, resumed) = match store.unfinished_augment_run(generator.id)? {
        Some(r) if !options.new_run => {
            store.resume_augment_run(r.id)?;
            (r, true)
        }
        _ => {
            if options.count == 0 {
                return Err(AugmentError::Options("ask for at least one item".into()));
            }
            let max_attempts = options
                .max_attempts
                .unwrap_or(options.count.saturating_mul(3).saturating_add(10))
                .max(options.count);
            let config = serde_json::json!({
                "params": options.params,
                "pack": { "id": pack.manifest.id, "version": pack.manifest.version },
                "templates": templates.iter().map(|(k, name, t)| serde_json::json!({
                    "name": name, "kind": k.as_str(), "hash": sha256_hex(t.as_bytes()),
                })).collect::<Vec<_>>(),
                "generator": { "name": generator.name, "backend": backend.info() },
                "axes": axes,
            });
            let id = store.create_augment_run(&NewAugmentRun {
                generator_id: generator.id,
                requested: options.count,
                max_attempts,
                seed: options.seed,
                config,
            })?;
            (store.augment_run(id)?, false)
        }
    };
    let run_id = record.id;
    let params: SamplingParams = match record.config.get("params") {
        Some(p) => serde_json::from_value(p.clone()).map_err(|e| {
            AugmentError::Options(format!("run {run_id} has unreadable sampling params: {e}"))
        })?,
        None => options.params.clone(),
    };
    let mut profile = store.generator_profile(generator.id)?;
    let mut mode = if local {
        OutputMode::JsonSchema
    } else {
        profile.output_mode.unwrap_or(OutputMode::JsonSchema)
    };

    // What every answer is checked against.
    let eval_items = store.items(&ItemFilter {
        split: Some(ItemSplit::Eval),
        ..Default::default()
    })?;
    let eval = TextIndex::new(
        eval_items
            .iter()
            .map(|i| (i.external_id.as_str(), i.text.as_str())),
    );
    let pool_texts = store.pool_texts()?;
    let mut pool = TextIndex::new(
        pool_texts
            .iter()
            .map(|(id, t)| (id.as_str(), t.as_str()))
            .chain(
                pack.train_pairs
                    .iter()
                    .map(|p| (p.id.as_str(), p.question.as_str())),
            ),
    );
    let mut cells = store.synthetic_cells(None)?;

    let mut accepted = record.accepted;
    let mut attempts_used = record.accepted + record.rejected;
    let mut next_attempt = store.next_augment_attempt(run_id)?;
    let (mut accepted_now, mut rejected_now) = (0u64, 0u64);
    let requested = record.requested;
    let batch_size = (backend.parallelism().max(1) * 4) as u64;
    progress.report(ProgressEvent::Started {
        label: format!(
            "{} run {run_id}: {requested} items ({accepted} already accepted)",
            generator.name
        ),
        total: Some(requested),
    });
    tracing::info!(run = %run_id, generator = %generator.name, requested, accepted, resumed, "augmentation run started");

    let mut store_error: Option<StoreError> = None;
    let mut status = AugmentStatus::Running;
    while status == AugmentStatus::Running {
        if accepted >= requested {
            status = AugmentStatus::Completed;
            break;
        }
        if attempts_used >= record.max_attempts {
            status = AugmentStatus::Exhausted;
            break;
        }
        if cancel.is_cancelled() {
            status = AugmentStatus::Cancelled;
            break;
        }
        // Until the server's structured-output support is known, one
        // request probes it, so that a refusal costs one request.
        let probing = !local && profile.output_mode.is_none();
        let n = (requested - accepted)
            .min(record.max_attempts - attempts_used)
            .min(if probing { 1 } else { batch_size });
        // Plan the batch: each slot's cell counts as filled while in flight.
        let mut slots = Vec::with_capacity(n as usize);
        for _ in 0..n {
            let attempt = next_attempt;
            next_attempt += 1;
            let seed = attempt_seed(record.seed, attempt);
            let mut cell = quota::plan(&axes, &cells, 1, seed)
                .pop()
                .unwrap_or_default();
            let kind: ItemKind = cell
                .get("kind")
                .and_then(|k| k.parse().ok())
                .unwrap_or(templates[0].0);
            let (_, template_name, template) = templates
                .iter()
                .find(|(k, _, _)| *k == kind)
                .copied()
                .unwrap_or(templates[0]);
            cell.insert("kind".into(), kind.as_str().to_owned());
            cells.push(cell.clone());
            let facts = offered_facts(spec, &pack.facts, &cell, seed);
            let offered: Vec<String> = facts.iter().map(|f| f.id.clone()).collect();
            let mut prompt = render(template, &cell, &facts);
            if mode == OutputMode::JsonObject {
                prompt.push_str(&format!(
                    "\n\nThe JSON object must match this JSON Schema:\n{}",
                    item_schema(kind, &offered)
                ));
            }
            slots.push((
                Slot {
                    attempt,
                    cell,
                    kind,
                    template_name,
                    template_hash: sha256_hex(template.as_bytes()),
                    offered,
                    mode,
                },
                prompt,
            ));
        }
        let requests: Vec<GenerationRequest> = slots
            .iter()
            .map(|(slot, prompt)| GenerationRequest {
                messages: vec![ChatMessage::new(Role::User, prompt.clone())],
                params: SamplingParams {
                    seed: (attempt_seed(record.seed, slot.attempt) & 0xFFFF_FFFF) as u32,
                    ..params.clone()
                },
                format: Some(match slot.mode {
                    OutputMode::JsonSchema => OutputFormat::JsonSchema {
                        name: schema_name(slot.kind).to_owned(),
                        schema: item_schema(slot.kind, &slot.offered),
                    },
                    OutputMode::JsonObject => OutputFormat::JsonObject,
                }),
            })
            .collect();
        let mut done_in_batch = vec![false; slots.len()];
        backend.generate_batch(
            &requests,
            &mut |_, _| {},
            &mut |i, result| {
                if store_error.is_some() {
                    return;
                }
                let slot = &slots[i].0;
                done_in_batch[i] = true;
                // A server that refuses JSON-schema requests is asked for
                // a JSON object from now on; the slot is planned again.
                if let Err(InferenceError::Http { status: 400 | 422, .. }) = &result
                    && slot.mode == OutputMode::JsonSchema
                    && !local
                    && profile.output_mode != Some(OutputMode::JsonSchema)
                {
                    tracing::info!(generator = %generator.name, "the server refused a JSON schema; using json_object");
                    progress.report(ProgressEvent::Note {
                        message: format!(
                            "{} does not accept a JSON schema; asking for a JSON object instead (remembered)",
                            generator.name
                        ),
                    });
                    profile.output_mode = Some(OutputMode::JsonObject);
                    mode = OutputMode::JsonObject;
                    if let Err(e) = store.set_generator_output_mode(generator.id, OutputMode::JsonObject) {
                        store_error = Some(e);
                    }
                    done_in_batch[i] = false;
                    return;
                }
                if let Ok(out) = &result {
                    if out.finish_reason == FinishReason::Cancelled {
                        done_in_batch[i] = false;
                        return;
                    }
                    if slot.mode == OutputMode::JsonSchema && !local && profile.output_mode.is_none() {
                        profile.output_mode = Some(OutputMode::JsonSchema);
                        if let Err(e) = store.set_generator_output_mode(generator.id, OutputMode::JsonSchema) {
                            store_error = Some(e);
                            return;
                        }
                    }
                }
                let cost = match &result {
                    Ok(out) => {
                        let (pt, ct) = (u64::from(out.prompt_tokens), u64::from(out.completion_tokens));
                        AttemptCost {
                            prompt_tokens: pt,
                            completion_tokens: ct,
                            usd: pt as f64 * profile.usd_per_mtok_input.unwrap_or(0.0) / 1e6
                                + ct as f64 * profile.usd_per_mtok_output.unwrap_or(0.0) / 1e6,
                        }
                    }
                    Err(_) => AttemptCost::default(),
                };
                let outcome = judge(&Checks { spec, eval: &eval, pool: &pool }, slot, &result);
                let stored = match &outcome {
                    Ok(item) => {
                        let provenance = serde_json::json!({
                            "run": run_id,
                            "attempt": slot.attempt,
                            "generator": {
                                "name": generator.name,
                                "kind": generator.kind.as_str(),
                                "remote_model": generator.remote_model,
                                "sha256": generator.sha256,
                                "backend": backend.info(),
                            },
                            "params": requests[i].params,
                            "seed": requests[i].params.seed,
                            "template": { "name": slot.template_name, "hash": slot.template_hash },
                            "pack": { "id": pack.manifest.id, "version": pack.manifest.version },
                            "offered_facts": slot.offered,
                            "output_mode": slot.mode.as_str(),
                            "prompt_tokens": cost.prompt_tokens,
                            "completion_tokens": cost.completion_tokens,
                        });
                        let mut strata = slot.cell.clone();
                        let category = strata.remove("category").unwrap_or_default();
                        strata.remove("kind");
                        store
                            .store_synthetic_item(
                                run_id,
                                slot.attempt,
                                &NewSyntheticItem {
                                    kind: slot.kind,
                                    category,
                                    text: item.text.trim().to_owned(),
                                    answer: item.answer.trim().to_owned(),
                                    strata,
                                    facts: item.used_facts.clone(),
                                    provenance,
                                },
                                cost,
                            )
                            .map(|id| {
                                pool.add(&id, &item.text);
                                accepted += 1;
                                accepted_now += 1;
                            })
                    }
                    Err(rejection) => {
                        let output = result.as_ref().map(|o| o.text.as_str()).unwrap_or("");
                        store
                            .store_augment_rejection(
                                run_id,
                                slot.attempt,
                                rejection.reason,
                                &rejection.detail,
                                &slot.cell,
                                output,
                                cost,
                            )
                            .map(|()| {
                                rejected_now += 1;
                            })
                    }
                };
                attempts_used += 1;
                if let Err(e) = stored {
                    tracing::info!(run = %run_id, error = %e, "could not store an answer; stopping the run");
                    cancel.cancel();
                    store_error = Some(e);
                    return;
                }
                if outcome.is_err() {
                    // The stratum was not filled: it is free for the next plan.
                    remove_cell(&mut cells, &slot.cell);
                }
                let remaining = requested.saturating_sub(accepted);
                let elapsed = started.elapsed().as_secs_f64();
                let eta = (accepted_now > 0)
                    .then(|| elapsed / accepted_now as f64 * remaining as f64);
                progress.report(ProgressEvent::Advanced {
                    done: accepted,
                    total: Some(requested),
                    message: Some(format!(
                        "accepted {accepted} · rejected {} · remaining {remaining}{}{}",
                        record.rejected + rejected_now,
                        eta.map(|s| format!(" · ETA {}", crate::augment::format_duration(s)))
                            .unwrap_or_default(),
                        match &outcome {
                            Err(r) => format!(" · last refused: {}", r.reason.as_str()),
                            Ok(_) => String::new(),
                        }
                    )),
                });
            },
            cancel,
        );
        // Slots that did not finish (cancelled, or re-planned after a
        // format switch) free their cells.
        for (i, (slot, _)) in slots.iter().enumerate() {
            if !done_in_batch[i] {
                remove_cell(&mut cells, &slot.cell);
            }
        }
        if store_error.is_some() {
            break;
        }
    }
    if let Some(e) = store_error {
        // Best effort: the run stays resumable either way.
        let _ = store.finish_augment_session(
            run_id,
            AugmentStatus::Cancelled,
            started.elapsed().as_secs_f64(),
        );
        return Err(e.into());
    }
    if status == AugmentStatus::Running {
        status = AugmentStatus::Cancelled;
    }
    store.finish_augment_session(run_id, status, started.elapsed().as_secs_f64())?;
    progress.report(ProgressEvent::Finished { done: accepted });
    let run = store.augment_run(run_id)?;
    let summary = AugmentSummary {
        rejections: store.augment_rejection_counts(run_id)?,
        balance: quota::balance(&axes, &store.synthetic_cells(Some(run_id))?),
        run,
        resumed,
        accepted_now,
        rejected_now,
        output_mode: mode,
    };
    tracing::info!(run = %run_id, status = summary.run.status.as_str(), accepted = summary.run.accepted, rejected = summary.run.rejected, "augmentation session ended");
    Ok(summary)
}

/// Removes one cell equal to `cell` (with `kind` as planned) from `cells`.
fn remove_cell(cells: &mut Vec<Cell>, cell: &Cell) {
    if let Some(pos) = cells.iter().rposition(|c| c == cell) {
        cells.remove(pos);
    }
}

/// The verdict on one answer.
fn judge(
    checks: &Checks<'_>,
    slot: &Slot,
    result: &Result<GenerationOutput, InferenceError>,
) -> Result<crate::augment::schema::ParsedItem, Rejection> {
    let out = match result {
        Ok(out) => out,
        Err(e) => {
            return Err(Rejection {
                reason: RejectReason::BackendError,
                detail: e.to_string(),
            });
        }
    };
    check(checks, slot.kind, &slot.offered, &out.text).map_err(|r| {
        if out.finish_reason == FinishReason::Length && r.reason == RejectReason::InvalidJson {
            Rejection {
                reason: RejectReason::TooLong,
                detail: format!(
                    "the answer was cut off at the token limit ({} tokens)",
                    out.completion_tokens
                ),
            }
        } else {
            r
        }
    })
}

/// The balance of the whole synthetic pool (items not rejected by an
/// expert) over a pack's quota axes.
pub fn pool_balance(store: &Store, pack: &DomainPack) -> Result<Vec<AxisBalance>, AugmentError> {
    let spec = ready_spec(pack)?;
    Ok(quota::balance(
        &quota_axes(pack, spec),
        &store.synthetic_cells(None)?,
    ))
}

/// The balance of one run's items (`Some`), or of the whole synthetic pool
/// (`None`), over the quota axes stored with the run (or with the newest
/// run); empty when there is no run.
pub fn stored_balance(
    store: &Store,
    run: Option<AugmentRunId>,
) -> Result<Vec<AxisBalance>, AugmentError> {
    let record = match run {
        Some(id) => Some(store.augment_run(id)?),
        None => store.augment_runs()?.into_iter().next(),
    };
    let Some(record) = record else {
        return Ok(Vec::new());
    };
    let axes: Vec<QuotaAxis> = record
        .config
        .get("axes")
        .cloned()
        .map(serde_json::from_value)
        .transpose()
        .map_err(|e| {
            AugmentError::Options(format!("run {} has unreadable quota axes: {e}", record.id))
        })?
        .unwrap_or_default();
    Ok(quota::balance(&axes, &store.synthetic_cells(run)?))
}

/// Strata values of a cell without `kind` and `category`, for display.
pub fn stratum_values(cell: &Cell) -> BTreeMap<String, String> {
    cell.iter()
        .filter(|(k, _)| k.as_str() != "kind" && k.as_str() != "category")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}
