//! A round's dataset in the formats training tools read, a dataset card, and
//! ready recipes for an external GPU trainer.
//!
//! Files written into one folder (each atomically):
//! - `train.jsonl`, `val.jsonl`: chat JSON Lines, one `{"messages": [...]}`
//!   per line with `system`, `user` and `assistant` roles (TRL's
//!   conversational format; Axolotl's `chat_template` loader);
//! - `sharegpt.json`, `alpaca.json` (training split) and `dataset_info.json`
//!   describing both for LLaMA-Factory;
//! - `README.md`: the dataset card (counts, hash, provenance, sources);
//! - `axolotl.yaml` and `train_trl.py`: LoRA recipes with the loss on the
//!   assistant's tokens only, run with `accelerate launch` on one GPU or many.

use std::path::{Path, PathBuf};

use serde_json::json;

use super::RoundError;
use crate::domain::DomainPack;
use crate::export::write_atomically;
use crate::store::{RoundExample, RoundRecord};
use crate::vocab::ExampleSplit;

/// What [`export_round`] wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct Exported {
    /// Every file, in the order written.
    pub files: Vec<PathBuf>,
}

fn messages(e: &RoundExample, system: &str) -> serde_json::Value {
    json!([
        { "role": "system", "content": system },
        { "role": "user", "content": e.question },
        { "role": "assistant", "content": e.answer },
    ])
}

fn jsonl(examples: &[&RoundExample], system: &str) -> String {
    let mut out = String::new();
    for e in examples {
        out.push_str(&json!({ "messages": messages(e, system) }).to_string());
        out.push('\n');
    }
    out
}

/// Writes round `round`'s dataset and recipes into `dir` (created if
/// needed). `hf_base` is the Hugging Face id of the base model's weights for
/// the external recipes.
pub fn export_round(
    round: &RoundRecord,
    examples: &[RoundExample],
    pack: &DomainPack,
    hf_base: &str,
    dir: &Path,
) -> Result<Exported, RoundError> {
    std::fs::create_dir_all(dir).map_err(|source| crate::export::ExportError::Write {
        path: dir.to_path_buf(),
        source,
    })?;
    let system = round.config.training_prompt();
    let train: Vec<&RoundExample> = examples
        .iter()
        .filter(|e| e.split == ExampleSplit::Train)
        .collect();
    let val: Vec<&RoundExample> = examples
        .iter()
        .filter(|e| e.split == ExampleSplit::Val)
        .collect();
    let name = format!("llm4sweat_round{}", round.number);
    let pretty = |v: &serde_json::Value| serde_json::to_string_pretty(v).unwrap_or_default() + "\n";
    let sharegpt: Vec<serde_json::Value> = train
        .iter()
        .map(|e| {
            json!({
                "conversations": [
                    { "from": "human", "value": e.question },
                    { "from": "gpt", "value": e.answer },
                ],
                "system": system,
            })
        })
        .collect();
    let alpaca: Vec<serde_json::Value> = train
        .iter()
        .map(|e| json!({ "instruction": e.question, "input": "", "output": e.answer, "system": system }))
        .collect();
    let info = json!({
        format!("{name}_sharegpt"): {
            "file_name": "sharegpt.json",
            "formatting": "sharegpt",
            "columns": { "messages": "conversations", "system": "system" },
            "tags": { "role_tag": "from", "content_tag": "value", "user_tag": "human", "assistant_tag": "gpt" },
        },
        format!("{name}_alpaca"): {
            "file_name": "alpaca.json",
            "columns": { "prompt": "instruction", "query": "input", "response": "output", "system": "system" },
        },
    });
    let files: Vec<(&str, String)> = vec![
        ("train.jsonl", jsonl(&train, system)),
        ("val.jsonl", jsonl(&val, system)),
        ("sharegpt.json", pretty(&json!(sharegpt))),
        ("alpaca.json", pretty(&json!(alpaca))),
        ("dataset_info.json", pretty(&info)),
        ("README.md", card(round, examples, pack)),
        ("axolotl.yaml", axolotl(hf_base, round.number)),
        ("train_trl.py", trl(hf_base, round.number)),
    ];
    let mut written = Vec::new();
    for (file, text) in files {
        let path = dir.join(file);
        write_atomically(&path, text.as_bytes())?;
        written.push(path);
    }
    Ok(Exported { files: written })
}

fn card(round: &RoundRecord, examples: &[RoundExample], pack: &DomainPack) -> String {
    let mut s = format!("# LLM4Sweat round {} dataset\n\n", round.number);
    s.push_str(&format!(
        "- Domain pack: {}\n- Dataset sha256: `{}`\n- Split seed: {}\n- Validation fraction per category: {}\n- Near-duplicate threshold: Jaccard ≥ {} of 5-character shingles (MinHash screen, exact confirmation)\n- Evaluation items: never included; a near-duplicate of one refuses the round\n- System prompt in every example: {}\n\n",
        round.config.pack,
        round.dataset_hash.as_deref().unwrap_or("-"),
        round.seed,
        round.config.val_fraction,
        round.config.near_duplicate_jaccard,
        if round.config.training_system_prompt.is_some() {
            "the pack's short training prompt (inference uses the pack's full system prompt)"
        } else {
            "the pack's system prompt, the one inference uses"
        },
    ));
    if let Some(sum) = &round.summary {
        s.push_str(&format!(
            "## Counts\n\n{} examples: {} train, {} validation. {} near-duplicates dropped; {} rated answers to evaluation items left out; {} rated answers below the selection rule.\n\n",
            sum.total, sum.train, sum.val, sum.duplicates_dropped, sum.eval_answers_excluded, sum.not_validated
        ));
        s.push_str("| category | train | validation |\n|---|---:|---:|\n");
        for (cat, [t, v]) in &sum.by_category {
            s.push_str(&format!("| {cat} | {t} | {v} |\n"));
        }
        s.push_str("\n| source | examples |\n|---|---:|\n");
        for (src, n) in &sum.by_source {
            s.push_str(&format!("| {src} | {n} |\n"));
        }
        s.push_str("\n| stratum | examples |\n|---|---:|\n");
        for (st, n) in &sum.by_stratum {
            s.push_str(&format!("| {st} | {n} |\n"));
        }
    }
    let r = &round.config.selection;
    s.push_str(&format!(
        "\n## Provenance\n\nEvery example names its source: `pack` (question–answer pairs written for the pack, grounded in its cited seed facts, fact ids in `facts`), `synthetic` (generated and approved by an expert), `validated` (a model's answer that at least {} raters scored ≥ {} on every axis{}), `corrected` (an expert's rewrite of an answer). Examples: {}.\n\n## Sources\n\n| id | kind | title | year | link |\n|---|---|---|---|---|\n",
        r.min_raters,
        r.min_score,
        if r.no_safety_flags { " with no safety flag" } else { "" },
        examples.len()
    ));
    let sources = match &round.config.sources {
        Some(own) => own.as_slice(),
        None => {
            s.push_str("| | | (this round did not keep its pack's sources; these are the built-in pack's) | | |\n");
            pack.sources.as_slice()
        }
    };
    for src in sources {
        s.push_str(&format!(
            "| {} | {:?} | {} | {} | {} |\n",
            src.id,
            src.kind,
            src.title.replace('|', "/"),
            src.year.map(|y| y.to_string()).unwrap_or_default(),
            src.url.as_deref().unwrap_or("")
        ));
    }
    s.push_str("\nThe examples are released with the pack under its terms; each cited source keeps its own licence and is referenced, not reproduced.\n");
    s
}

fn axolotl(hf_base: &str, round: i64) -> String {
    format!(
        r#"# Axolotl recipe for LLM4Sweat round {round}: LoRA, loss on the assistant's tokens only.
# Run from this folder:  accelerate launch -m axolotl.cli.train axolotl.yaml
base_model: {hf_base}
chat_template: tokenizer_default
datasets:
  - path: train.jsonl
    type: chat_template
    field_messages: messages
    message_property_mappings:
      role: role
      content: content
    roles_to_train: ["assistant"]
test_datasets:
  - path: val.jsonl
    type: chat_template
    field_messages: messages
    split: train
    roles_to_train: ["assistant"]
adapter: lora
lora_r: 16
lora_alpha: 32
lora_dropout: 0.05
lora_target_linear: true
sequence_len: 1024
sample_packing: false
micro_batch_size: 4
gradient_accumulation_steps: 4
num_epochs: 2
learning_rate: 0.0002
lr_scheduler: cosine
warmup_ratio: 0.05
optimizer: adamw_torch
bf16: auto
seed: 0
output_dir: ./lora-out
# Afterwards: merge the adapter into the base (axolotl.cli.merge_lora), convert the merged
# model with llama.cpp's convert_hf_to_gguf.py, and import it into the round:
#   llm4sweat round import {round} merged.gguf
"#
    )
}

fn trl(hf_base: &str, round: i64) -> String {
    format!(
        r#""""TRL recipe for LLM4Sweat round {round}: LoRA, loss on the assistant's tokens only.

Run from this folder (one GPU or many):
    accelerate launch train_trl.py
Then merge the adapter (peft's merge_and_unload), convert the merged model with
llama.cpp's convert_hf_to_gguf.py and import it into the round:
    llm4sweat round import {round} merged.gguf
"""
from datasets import load_dataset
from peft import LoraConfig
from trl import SFTConfig, SFTTrainer

data = load_dataset("json", data_files={{"train": "train.jsonl", "validation": "val.jsonl"}})
trainer = SFTTrainer(
    model="{hf_base}",
    train_dataset=data["train"],
    eval_dataset=data["validation"],
    args=SFTConfig(
        output_dir="lora-out",
        assistant_only_loss=True,
        num_train_epochs=2,
        learning_rate=2e-4,
        per_device_train_batch_size=4,
        gradient_accumulation_steps=4,
        eval_strategy="epoch",
        seed=0,
    ),
    peft_config=LoraConfig(r=16, lora_alpha=32, lora_dropout=0.05, target_modules="all-linear", task_type="CAUSAL_LM"),
)
trainer.train()
trainer.save_model("lora-out")
"#
    )
}
