//! `chat`: one question, the answer streamed to standard output.

use std::io::Write;

use anyhow::{Context, Result};

use llm4sweat::domain::DomainPack;
use llm4sweat::generate;
use llm4sweat::inference::worker::WorkerEngine;
use llm4sweat::store::Store;

use crate::args::ChatArgs;
use crate::commands::open_backend;
use crate::progress::cancel_on_ctrl_c;

/// `chat`: asks a model one question and streams the answer.
pub fn chat(args: ChatArgs, open: impl Fn() -> Result<Store>) -> Result<()> {
    let mut store = open()?;
    let record = store.model_by_name(&args.model)?;
    let pack = DomainPack::embedded_default()?;
    let cfg = generate::engine_config(
        &record,
        args.engine.threads,
        args.engine.gpu_layers,
        Some(args.engine.parallel.unwrap_or(1)),
    );
    let messages = generate::chat_for(&args.question, &pack.manifest.system_prompt);
    if args.show_prompt {
        let path = record
            .path
            .as_deref()
            .context("--show-prompt needs a local model")?;
        let path = std::path::Path::new(path);
        llm4sweat::gguf::read_header(path)?;
        let engine = WorkerEngine::load(path, cfg)?;
        print!("{}", engine.render_prompt(&messages)?);
        return Ok(());
    }
    let backend = open_backend(&mut store, &record, cfg)?;
    let request = llm4sweat::GenerationRequest {
        messages,
        params: args.sampling.params(),
        format: None,
    };
    let out = backend.generate(
        &request,
        &mut |piece| {
            print!("{piece}");
            let _ = std::io::stdout().flush();
        },
        &cancel_on_ctrl_c(),
    )?;
    println!();
    eprintln!(
        "[{} prompt tokens, {} generated, {:.1} tok/s, {}]",
        out.prompt_tokens,
        out.completion_tokens,
        f64::from(out.completion_tokens) / (out.generation_ms / 1000.0).max(1e-9),
        out.finish_reason.as_str()
    );
    Ok(())
}
