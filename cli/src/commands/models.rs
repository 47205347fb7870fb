//! `models …`: the model registry.

use anyhow::{Context, Result};

use llm4sweat::generate;
use llm4sweat::inference::EngineSettings;
use llm4sweat::models::{self, FetchOptions, FetchOutcome, Manifest, RemoteSpec};
use llm4sweat::store::{Actor, Store};
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
                &Actor::Cli,
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
            let rec = models::register_file(
                &mut store,
                &path,
                &name,
                role,
                &Bar::new(quiet, true),
                &Actor::Cli,
            )?;
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
            let mut store = open()?;
            let rec = models::register_remote(
                &mut store,
                &RemoteSpec {
                    name: &name,
                    url: &url,
                    remote_model: &model,
                    api_key_env: api_key_env.as_deref(),
                    role,
                },
                &Actor::Cli,
            )?;
            println!("registered remote model {}", rec.name);
        }
        ModelsCommand::Set {
            name,
            threads,
            gpu_layers,
            parallel,
        } => {
            let mut store = open()?;
            let changes = EngineSettings {
                threads,
                gpu_layers,
                n_parallel: parallel,
                ..EngineSettings::default()
            };
            let rec = models::set_engine_settings(&mut store, &name, &changes, &Actor::Cli)?;
            let cfg = generate::engine_config(&rec, None, None, None);
            println!(
                "{name}: threads {}, GPU layers {}, parallel {}",
                cfg.threads, cfg.gpu_layers, cfg.n_parallel
            );
        }
    }
    Ok(())
}
