//! `llm4sweat`: the command line over the LLM4Sweat core library.
//!
//! A thin adapter: it parses arguments, shows progress bars and prints
//! results; all work happens in the library.

mod args;
mod commands;
mod logging;
mod print;
mod progress;

use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Parser;

use llm4sweat::store::Store;
use llm4sweat::workspace::WorkspacePaths;

use crate::args::{Cli, Command};

fn main() -> ExitCode {
    // Started again as the supervised llama.cpp process of a parent `llm4sweat`.
    if std::env::args_os().nth(1).as_deref()
        == Some(llm4sweat::inference::worker::WORKER_ARG.as_ref())
    {
        return llm4sweat::inference::worker::serve();
    }
    quiet_broken_pipe();
    let cli = Cli::parse();
    logging::init(cli.verbose);
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

/// A reader that goes away early (`llm4sweat … | head`) ends the program
/// quietly, as it would a C program killed by SIGPIPE (exit status 141),
/// instead of with a panic message about printing to standard output.
fn quiet_broken_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("");
        if message.contains("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(141);
        }
        default(info);
    }));
}

/// Runs the parsed command against the workspace.
fn run(cli: Cli) -> Result<()> {
    let paths = WorkspacePaths::resolve(cli.db.clone());
    tracing::debug!(db = %paths.db.display(), models = %paths.models_dir.display(), "workspace");
    let open = || {
        Store::open(&paths.db).with_context(|| format!("opening workspace {}", paths.db.display()))
    };
    match cli.command {
        Command::Init { pack } => commands::workspace::init(pack, &paths, open),
        Command::Models(cmd) => commands::models::run(cmd, &paths, cli.quiet, open),
        Command::Generate(args) => commands::generate::generate(args, cli.quiet, open()?),
        Command::Export(cmd) => commands::export::run(cmd, open),
        Command::Rater(cmd) => commands::rater::run(cmd, open),
        Command::Study(cmd) => commands::study::run(cmd, cli.quiet, open),
        Command::Package(cmd) => commands::package::run(cmd, open),
        Command::Augment(cmd) => commands::augment::run(cmd, cli.quiet, open),
        Command::Round(cmd) => commands::round::run(cmd, &paths, cli.quiet, open),
        Command::Chat(args) => commands::chat::chat(args, open),
        Command::Bench(args) => commands::bench::bench(args, open),
        Command::Demo { engine } => commands::generate::demo(engine, cli.quiet, open),
        Command::Summary => commands::workspace::summary(open),
        Command::Results { study, json } => commands::results::results(study, json, open),
        Command::Report {
            study,
            format,
            baseline,
            out,
            charts,
        } => commands::results::report(study, format, baseline, out, charts, open),
    }
}
