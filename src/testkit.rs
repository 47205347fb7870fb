//! Fixtures shared by the integration tests, the desktop's command-layer
//! tests and the review benchmark (behind the `testkit` feature, never in a
//! release build): a workspace whose models have already answered items, as
//! after a generation run, without running a model; synthetic items awaiting
//! an expert, as after an augmentation run; and GGUF files that llama.cpp
//! loads or aborts on.

pub mod generator;

use std::path::Path;

use crate::domain::DomainPack;
use crate::generate::params_hash;
use crate::ids::AugmentRunId;
use crate::ids::ItemId;
use crate::inference::SamplingParams;
use crate::store::{
    Actor, AttemptCost, ItemFilter, ModelRecord, NewAugmentRun, NewGeneration, NewLocalModel,
    NewRemoteModel, NewSyntheticItem, Store, StoreError,
};
use crate::vocab::{AugmentStatus, ItemKind, ModelRole, RejectReason};

/// A fixture could not be built.
pub type FixtureError = Box<dyn std::error::Error + Send + Sync>;

/// Where the fixture's models live.
#[derive(Debug, Clone, Copy)]
pub enum FakeModels<'a> {
    /// Local models whose "GGUF" is a small text file in this folder (enough
    /// for everything but loading them).
    LocalIn(&'a Path),
    /// Remote endpoints on a loopback port nothing listens on.
    Remote,
}

/// Registers one fake model per `(name, role)`.
pub fn register_fake_models(
    store: &mut Store,
    kind: FakeModels<'_>,
    models: &[(&str, ModelRole)],
) -> Result<Vec<ModelRecord>, FixtureError> {
    let mut out = Vec::new();
    for (k, &(name, role)) in models.iter().enumerate() {
        match kind {
            FakeModels::LocalIn(dir) => {
                let path = dir.join(format!("{name}.gguf"));
                std::fs::write(&path, b"not really weights")?;
                store.register_local_model(
                    &NewLocalModel {
                        name: name.into(),
                        role,
                        path: path.display().to_string(),
                        sha256: "0".repeat(64),
                        size_bytes: 18,
                        architecture: Some("llama".into()),
                        parameter_count: Some(134_515_008 + k as i64),
                        quantization: Some("Q4_1".into()),
                        context_length: Some(8192),
                        chat_template: None,
                        verified_mtime: None,
                    },
                    &Actor::Cli,
                )?;
            }
            FakeModels::Remote => {
                store.register_remote_model(
                    &NewRemoteModel {
                        name: name.into(),
                        role,
                        endpoint_url: "http://127.0.0.1:9/v1".into(),
                        remote_model: name.into(),
                        api_key_env: None,
                    },
                    &Actor::Cli,
                )?;
            }
        }
        out.push(store.model_by_name(name)?);
    }
    Ok(out)
}

/// Stores an answer by every model to every item, as a generation run with
/// `params` and `system_prompt` would. The timing and token figures differ per
/// model on purpose (blinding tests look for them in rater payloads).
pub fn store_answers(
    store: &mut Store,
    models: &[ModelRecord],
    items: &[ItemId],
    params: &SamplingParams,
    system_prompt: &str,
    text: &dyn Fn(&ModelRecord, ItemId) -> String,
) -> Result<(), StoreError> {
    let hash = params_hash(params, system_prompt);
    for model in models {
        let m = model.id.0;
        for &item in items {
            store.insert_generation(&NewGeneration {
                item_id: item,
                model_id: model.id,
                params_hash: hash.clone(),
                params: params.clone(),
                seed: i64::from(params.seed),
                system_prompt: system_prompt.to_owned(),
                text: text(model, item),
                prompt_tokens: 321 * m,
                completion_tokens: 77 * m,
                prompt_ms: 1234.5 * m as f64,
                generation_ms: 4321.5 * m as f64,
                finish_reason: "stop".into(),
                template_hash: format!("template-hash-{m}"),
                n_parallel: 4,
                engine: "llama.cpp".into(),
            })?;
        }
    }
    Ok(())
}

/// A workspace at `db` with `pack` loaded and `models` (fake, see
/// [`FakeModels`]) that answered the first `n_items` items (all when `None`)
/// with the default sampling params and the pack's system prompt.
pub fn workspace_with_answers(
    db: &Path,
    pack: &DomainPack,
    kind: FakeModels<'_>,
    models: &[(&str, ModelRole)],
    n_items: Option<u64>,
    text: &dyn Fn(&ModelRecord, ItemId) -> String,
) -> Result<(Store, Vec<ModelRecord>), FixtureError> {
    let mut store = Store::open(db)?;
    store.load_pack(pack, &Actor::Cli)?;
    let registered = register_fake_models(&mut store, kind, models)?;
    let items: Vec<ItemId> = store
        .items(&ItemFilter {
            limit: n_items,
            ..ItemFilter::default()
        })?
        .into_iter()
        .map(|i| i.id)
        .collect();
    store_answers(
        &mut store,
        &registered,
        &items,
        &SamplingParams::default(),
        &pack.manifest.system_prompt,
        text,
    )?;
    Ok((store, registered))
}

/// Stores `n` synthetic items pending review, as a completed augmentation
/// run of `generator` over `pack` would (without asking any model): a run
/// row whose settings name the pack's quota axes, so the balance report
/// reads it; items planned by the run's own quota rule, each citing two seed
/// facts of its category, with texts and answers inside the pack's bounds;
/// tokens and a cost per item. Returns the run and the items' external ids.
pub fn seed_synthetic_items(
    store: &mut Store,
    pack: &DomainPack,
    generator: &ModelRecord,
    n: u64,
) -> Result<(AugmentRunId, Vec<String>), FixtureError> {
    use crate::augment::{quota, run};
    let spec = run::ready_spec(pack)?;
    let axes = run::quota_axes(pack, spec);
    let seed = 7;
    let run_id = store.create_augment_run(&NewAugmentRun {
        generator_id: generator.id,
        requested: n,
        max_attempts: n + 2,
        seed,
        config: serde_json::json!({
            "pack": { "id": pack.manifest.id, "version": pack.manifest.version },
            "generator": { "name": generator.name },
            "axes": axes,
            "fixture": "testkit::seed_synthetic_items",
        }),
    })?;
    let existing = store.synthetic_cells(None)?;
    let cells = quota::plan(&axes, &existing, n as usize, seed);
    let mut ids = Vec::new();
    for (attempt, cell) in cells.iter().enumerate() {
        let category = cell.get("category").cloned().unwrap_or_default();
        let kind = match cell.get("kind").map(String::as_str) {
            Some("vignette") => ItemKind::Vignette,
            _ => ItemKind::Question,
        };
        let topics = spec.category_topics.get(&category);
        let facts: Vec<String> = pack
            .facts
            .iter()
            .filter(|f| topics.is_none_or(|t| t.contains(&f.topic)))
            .skip(attempt % 3)
            .take(2)
            .map(|f| f.id.clone())
            .collect();
        let value = |axis: &str| {
            cell.get(axis)
                .map_or_else(|| "unspecified".to_owned(), |v| v.replace('_', " "))
        };
        let person = match cell.get("sex").map(String::as_str) {
            Some("female") => "a woman",
            Some("male") => "a man",
            _ => "a patient",
        };
        let text = format!(
            "Synthetic item {attempt}: I am {person} in the {age} age group with {site} sweating \
             ({severity}). What should I know about {intent}?",
            age = value("age_group"),
            severity = value("severity"),
            site = value("site"),
            intent = value("intent"),
        );
        let answer = format!(
            "Reference answer {attempt}: primary focal hyperhidrosis is common and treatable. \
             Start with a strong antiperspirant, and see a doctor if it does not help or if \
             the sweating is new, one-sided or comes with other symptoms."
        );
        let item = NewSyntheticItem {
            kind,
            category,
            text,
            answer,
            strata: run::stratum_values(cell),
            facts: facts.clone(),
            provenance: serde_json::json!({
                "generator": generator.name,
                "run": run_id.0,
                "attempt": attempt,
                "offered_facts": facts,
            }),
        };
        let cost = AttemptCost {
            prompt_tokens: 900,
            completion_tokens: 250,
            usd: 0.0004,
        };
        ids.push(store.store_synthetic_item(run_id, attempt as u64, &item, cost)?);
    }
    // Two refused answers, so that the run has rejection reasons to show.
    for (k, (reason, detail)) in [
        (
            RejectReason::InvalidJson,
            "expected value at line 1 column 1",
        ),
        (RejectReason::NoFacts, "the item cites no seed fact"),
    ]
    .into_iter()
    .enumerate()
    {
        let cost = AttemptCost {
            prompt_tokens: 900,
            completion_tokens: 40,
            usd: 0.0002,
        };
        let cell = cells.first().map(run::stratum_values).unwrap_or_default();
        store.store_augment_rejection(
            run_id,
            n + k as u64,
            reason,
            detail,
            &cell,
            "not an item",
            cost,
        )?;
    }
    store.finish_augment_session(run_id, AugmentStatus::Completed, 1.5 * n as f64)?;
    Ok((run_id, ids))
}

/// A GGUF file whose header reads as sound but that llama.cpp (the version
/// the pinned `llama-cpp-sys-2` vendors) aborts the process on when loading
/// it, so `gguf::read_header` must refuse it.
#[derive(Debug, Clone)]
pub struct CrashingGguf {
    /// What is wrong, e.g. `"block_count 0"`.
    pub name: &'static str,
    /// The metadata key the refusal must name (`tensor_count` for the file
    /// without tensors).
    pub key: &'static str,
    /// The whole file.
    pub bytes: Vec<u8>,
}

/// A tiny `llama` model (one layer of zeroed F32 weights, eight tokens,
/// about 43 KB) that llama.cpp loads.
pub fn tiny_llama_gguf() -> Vec<u8> {
    crate::gguf::writer::tiny_llama().build()
}

/// The files llama.cpp aborts on: [`tiny_llama_gguf`] with one metadata
/// change each (`llama.block_count` 0, 513, 2^20 and 2^32−1; 1000 experts
/// with none used; experts used without experts; rope scaling `"bogus"`; a
/// repeated token string), and its metadata without tensors (refused by
/// the reader first; the vendored llama.cpp refuses this one cleanly).
pub fn crashing_ggufs() -> Vec<CrashingGguf> {
    crate::gguf::writer::crashing()
        .into_iter()
        .map(|c| CrashingGguf {
            name: c.name,
            key: c.key,
            bytes: c.file.build(),
        })
        .collect()
}

/// The embedded pack with its evaluation items replaced by `n` variants of
/// them (`bench-00000`, … ; same kinds, categories and strata, texts
/// suffixed "(variant i)"), for benchmarks of large studies.
pub fn pack_with_items(n: usize) -> DomainPack {
    let base = DomainPack::embedded_default().expect("the embedded pack");
    let items: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            let src = &base.items[i % base.items.len()];
            serde_json::json!({ "id": format!("bench-{i:05}"), "kind": src.kind, "category": src.category,
                                "text": format!("{} (variant {i})", src.text), "strata": src.strata })
        })
        .collect();
    DomainPack::parse(
        include_str!("../data/hyperhidrosis/pack.toml"),
        include_str!("../data/hyperhidrosis/sources.json"),
        include_str!("../data/hyperhidrosis/seed_facts.json"),
        &serde_json::to_string(&items).expect("items as JSON"),
    )
    .expect("the benchmark pack")
}
