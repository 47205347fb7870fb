//! Fixtures shared by the integration tests, the desktop's command-layer
//! tests and the review benchmark (behind the `testkit` feature, never in a
//! release build): a workspace whose models have already answered items, as
//! after a generation run, without running a model; and GGUF files that
//! llama.cpp loads or aborts on.

use std::path::Path;

use crate::domain::DomainPack;
use crate::generate::params_hash;
use crate::ids::ItemId;
use crate::inference::SamplingParams;
use crate::store::{
    Actor, ItemFilter, ModelRecord, NewGeneration, NewLocalModel, NewRemoteModel, Store, StoreError,
};
use crate::vocab::ModelRole;

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
