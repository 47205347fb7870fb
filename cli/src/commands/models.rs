//! `models …`: the model registry.

use anyhow::{Context, Result, bail};

use llm4sweat::generate;
use llm4sweat::models::{self, FetchOptions, FetchOutcome, Manifest};
use llm4sweat::store::{NewRemoteModel, Store};
use llm4sweat::workspace::WorkspacePaths;

use crate::args::ModelsCommand;
use crate::print;
use crate::progress::{Bar, cancel_on_ctrl_c};

/// `models …`: lists, fetches and registers models, and saves their engine settings.
pub fn run(
    cmd: ModelsCommand,
    paths: &WorkspacePaths,
    quiet: bool,
    open: impl Fn() -> Result<Store>,
) -> Result<()> {
    let manifest = Manifest::embedded()?;
    match cmd {
        ModelsCommand::List => {
            let mut store = open()?;
            let registered = store.models()?;
            print::models_header();
            for m in &registered {
                let state = models::check_file(&mut store, m, &Bar::new(quiet, true))?;
                print::registered_model_row(m, state);
            }
            for k in manifest
                .models
                .iter()
                .filter(|k| !registered.iter().any(|m| m.name == k.name))
            {
                let present = paths.models_dir.join(&k.file).exists();
                print::manifest_model_row(k, present);
            }
        }
        ModelsCommand::Fetch { name, source } => {
            let entry = match &name {
                Some(n) => manifest.get(n)?,
                None => manifest
                    .default_model()
                    .context("the manifest has no default model")?,
            };
            let options = FetchOptions {
                only_source: source,
                python: std::env::var("LLM4SWEAT_PYTHON").ok(),
            };
            let mut store = open()?;
            let (outcome, rec) = models::install(
                &mut store,
                entry,
                &paths.models_dir,
                &options,
                &Bar::new(quiet, true),
                &cancel_on_ctrl_c(),
            )?;
            match &outcome {
                FetchOutcome::AlreadyPresent(p) => {
                    eprintln!(
                        "{} is already present and intact: {}",
                        entry.name,
                        p.display()
                    )
                }
                FetchOutcome::Downloaded { path, source } => eprintln!(
                    "fetched {} from {source} source, sha256 verified: {}",
                    entry.name,
                    path.display()
                ),
            }
            println!(
                "registered {} ({}, {})",
                rec.name,
                rec.architecture.as_deref().unwrap_or("?"),
                rec.quantization.as_deref().unwrap_or("?")
            );
        }
        ModelsCommand::Add { path, name, role } => {
            let name = match name {
                Some(n) => n,
                None => path
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .filter(|s| !s.is_empty())
                    .context("cannot derive a name from the path; pass --name")?,
            };
            let mut store = open()?;
            let rec =
                models::register_file(&mut store, &path, &name, &role, &Bar::new(quiet, true))?;
            println!(
                "registered {}: {} {}, {:.1}M parameters, context {}, chat template: {}",
                rec.name,
                rec.architecture.as_deref().unwrap_or("?"),
                rec.quantization.as_deref().unwrap_or("?"),
                rec.parameter_count.unwrap_or(0) as f64 / 1e6,
                rec.context_length.map_or("?".into(), |c| c.to_string()),
                if rec.chat_template.is_some() {
                    "yes"
                } else {
                    "no (plain fallback)"
                }
            );
        }
        ModelsCommand::AddRemote {
            name,
            url,
            model,
            api_key_env,
            role,
        } => {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                bail!("the endpoint URL must start with http:// or https://");
            }
            let mut store = open()?;
            store.register_remote_model(&NewRemoteModel {
                name: name.clone(),
                role,
                endpoint_url: url,
                remote_model: model,
                api_key_env,
            })?;
            println!("registered remote model {name}");
        }
        ModelsCommand::Set {
            name,
            threads,
            gpu_layers,
            parallel,
        } => {
            let mut store = open()?;
            let rec = store.model_by_name(&name)?;
            let cfg = generate::engine_config(&rec, threads, gpu_layers, parallel);
            store.set_model_settings(rec.id, &serde_json::to_value(&cfg)?)?;
            println!(
                "{name}: threads {}, GPU layers {}, parallel {}",
                cfg.threads, cfg.gpu_layers, cfg.n_parallel
            );
        }
    }
    Ok(())
}
