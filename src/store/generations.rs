//! Generations: one stored answer per item × model × sampling setting.

use std::collections::HashSet;

use rusqlite::params;
use serde::{Deserialize, Serialize};

use super::{At, SqlContext, Store, StoreError, now_utc, to_json};
use crate::ids::{GenerationId, ItemId, ModelId};
use crate::inference::SamplingParams;

/// A generation to store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewGeneration {
    /// The item answered.
    pub item_id: ItemId,
    /// The model that answered.
    pub model_id: ModelId,
    /// Identity of the sampling setting (params + system prompt).
    pub params_hash: String,
    /// Sampling parameters.
    pub params: SamplingParams,
    /// Sampler seed.
    pub seed: i64,
    /// System prompt used.
    pub system_prompt: String,
    /// The answer.
    pub text: String,
    /// Prompt tokens.
    pub prompt_tokens: i64,
    /// Generated tokens.
    pub completion_tokens: i64,
    /// Prompt time.
    pub prompt_ms: f64,
    /// Generation time.
    pub generation_ms: f64,
    /// `stop` or `length`.
    pub finish_reason: String,
    /// Prompt-template hash.
    pub template_hash: String,
    /// Sequences decoded together when it was produced.
    pub n_parallel: i64,
    /// Which engine produced it (`llama.cpp`, `openai-compatible`).
    pub engine: String,
}

/// A stored generation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenerationRecord {
    /// Row id.
    pub id: GenerationId,
    /// When it was stored.
    pub created_at: String,
    /// Everything else.
    #[serde(flatten)]
    pub generation: NewGeneration,
}

/// One row of the generations export.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportRow {
    /// Generation id.
    pub generation_id: i64,
    /// Item external id.
    pub item: String,
    /// Item kind.
    pub item_kind: String,
    /// Item category.
    pub category: String,
    /// The question or vignette.
    pub question: String,
    /// Model name.
    pub model: String,
    /// The answer.
    pub answer: String,
    /// Temperature.
    pub temperature: f64,
    /// Top-p.
    pub top_p: f64,
    /// Top-k.
    pub top_k: i64,
    /// Min-p.
    pub min_p: f64,
    /// Repeat penalty.
    pub repeat_penalty: f64,
    /// Max tokens.
    pub max_tokens: i64,
    /// Seed.
    pub seed: i64,
    /// Prompt tokens.
    pub prompt_tokens: i64,
    /// Generated tokens.
    pub completion_tokens: i64,
    /// Prompt time (ms).
    pub prompt_ms: f64,
    /// Generation time (ms).
    pub generation_ms: f64,
    /// Why it stopped.
    pub finish_reason: String,
    /// Prompt-template hash.
    pub template_hash: String,
    /// When it was stored (UTC).
    pub created_at: String,
}

impl Store {
    /// Stores one generation in its own transaction. Returns `false` when an
    /// answer for the same item, model and setting already exists (it is kept).
    pub fn insert_generation(&mut self, g: &NewGeneration) -> Result<bool, StoreError> {
        let params = to_json(&g.params, "the sampling params")?;
        self.write("storing an answer", |tx| {
            let n = tx
                .execute(
                    "INSERT OR IGNORE INTO generations (item_id, model_id, params_hash, params, seed, system_prompt,
                        text, prompt_tokens, completion_tokens, prompt_ms, generation_ms, finish_reason,
                        template_hash, n_parallel, engine, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
                    params![
                        g.item_id,
                        g.model_id,
                        g.params_hash,
                        params,
                        g.seed,
                        g.system_prompt,
                        g.text,
                        g.prompt_tokens,
                        g.completion_tokens,
                        g.prompt_ms,
                        g.generation_ms,
                        g.finish_reason,
                        g.template_hash,
                        g.n_parallel,
                        g.engine,
                        now_utc()
                    ],
                )
                .ctx("storing an answer")?;
            Ok(n == 1)
        })
    }

    /// Items already answered by `model_id` with the setting `params_hash`.
    pub fn answered_items(
        &self,
        model_id: ModelId,
        params_hash: &str,
    ) -> Result<HashSet<ItemId>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT item_id FROM generations WHERE model_id = ?1 AND params_hash = ?2",
            )
            .ctx("finding finished answers")?;
        let rows = stmt
            .query_map(params![model_id, params_hash], |r| r.get(0))
            .ctx("finding finished answers")?;
        rows.collect::<Result<HashSet<_>, _>>()
            .ctx("finding finished answers")
    }

    /// Generations of one model, in id order.
    pub fn generations_for_model(
        &self,
        model_id: ModelId,
    ) -> Result<Vec<GenerationRecord>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, created_at, item_id, model_id, params_hash, params, seed, system_prompt, text,
                        prompt_tokens, completion_tokens, prompt_ms, generation_ms, finish_reason, template_hash,
                        n_parallel, engine
                 FROM generations WHERE model_id = ?1 ORDER BY id",
            )
            .ctx("listing answers")?;
        let rows = stmt
            .query_map([model_id], |r| {
                let id: i64 = r.get(0)?;
                let at = At {
                    table: "generations",
                    row_id: id,
                };
                Ok(GenerationRecord {
                    id: GenerationId(id),
                    created_at: r.get(1)?,
                    generation: NewGeneration {
                        item_id: r.get(2)?,
                        model_id: r.get(3)?,
                        params_hash: r.get(4)?,
                        params: at.json(r, 5, "params")?,
                        seed: r.get(6)?,
                        system_prompt: r.get(7)?,
                        text: r.get(8)?,
                        prompt_tokens: r.get(9)?,
                        completion_tokens: r.get(10)?,
                        prompt_ms: r.get(11)?,
                        generation_ms: r.get(12)?,
                        finish_reason: r.get(13)?,
                        template_hash: r.get(14)?,
                        n_parallel: r.get(15)?,
                        engine: r.get(16)?,
                    },
                })
            })
            .ctx("listing answers")?;
        rows.collect::<Result<Vec<_>, _>>().ctx("listing answers")
    }

    /// Every generation joined with its item and model, for export, calling
    /// `f` for each row so that large exports stream.
    pub fn for_each_export_row(
        &self,
        mut f: impl FnMut(ExportRow) -> Result<(), StoreError>,
    ) -> Result<u64, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT g.id, i.external_id, i.kind, i.category, i.text, m.name, g.text,
                        json_extract(g.params, '$.temperature'), json_extract(g.params, '$.top_p'),
                        json_extract(g.params, '$.top_k'), json_extract(g.params, '$.min_p'),
                        json_extract(g.params, '$.repeat_penalty'), json_extract(g.params, '$.max_tokens'),
                        g.seed, g.prompt_tokens, g.completion_tokens, g.prompt_ms, g.generation_ms,
                        g.finish_reason, g.template_hash, g.created_at
                 FROM generations g JOIN items i ON i.id = g.item_id JOIN models m ON m.id = g.model_id
                 ORDER BY g.id",
            )
            .ctx("exporting answers")?;
        let mut rows = stmt.query([]).ctx("exporting answers")?;
        let mut n = 0;
        while let Some(r) = rows.next().ctx("exporting answers")? {
            let row = (|| -> rusqlite::Result<ExportRow> {
                Ok(ExportRow {
                    generation_id: r.get(0)?,
                    item: r.get(1)?,
                    item_kind: r.get(2)?,
                    category: r.get(3)?,
                    question: r.get(4)?,
                    model: r.get(5)?,
                    answer: r.get(6)?,
                    temperature: r.get(7)?,
                    top_p: r.get(8)?,
                    top_k: r.get(9)?,
                    min_p: r.get(10)?,
                    repeat_penalty: r.get(11)?,
                    max_tokens: r.get(12)?,
                    seed: r.get(13)?,
                    prompt_tokens: r.get(14)?,
                    completion_tokens: r.get(15)?,
                    prompt_ms: r.get(16)?,
                    generation_ms: r.get(17)?,
                    finish_reason: r.get(18)?,
                    template_hash: r.get(19)?,
                    created_at: r.get(20)?,
                })
            })()
            .ctx("reading an answer")?;
            f(row)?;
            n += 1;
        }
        Ok(n)
    }
}
