//! `export …`: stored answers and ratings as files.

use std::io::Write;

use anyhow::Result;

use llm4sweat::export::{
    ExportFormat, ExportTarget, export_generations, export_generations_to_file,
};
use llm4sweat::review;
use llm4sweat::store::Store;

use crate::args::{ExportCommand, Format};

/// `export generations` and `export ratings`.
pub fn run(cmd: ExportCommand, open: impl Fn() -> Result<Store>) -> Result<()> {
    match cmd {
        ExportCommand::Generations { format, out } => {
            let store = open()?;
            let format = match format {
                Format::Csv => ExportFormat::Csv,
                Format::Jsonl => ExportFormat::Jsonl,
            };
            match out.as_deref().map(ExportTarget::from_arg) {
                Some(ExportTarget::File(path)) => {
                    let n = export_generations_to_file(&store, format, &path)?;
                    eprintln!("wrote {n} rows to {}", path.display());
                }
                Some(ExportTarget::Stdout) | None => {
                    let stdout = std::io::stdout();
                    let mut lock = stdout.lock();
                    export_generations(&store, format, &mut lock)?;
                    lock.flush()?;
                }
            }
        }
        ExportCommand::Ratings { study, out } => {
            let store = open()?;
            let record = super::results::find_study(&store, study.as_deref())?;
            let mut buf = Vec::new();
            let n = review::export_ratings_csv(&store, record.id, &mut buf)?;
            match out.as_deref().map(ExportTarget::from_arg) {
                Some(ExportTarget::File(path)) => {
                    llm4sweat::export::write_atomically(&path, &buf)?;
                    eprintln!(
                        "wrote {n} ratings of {:?} to {}",
                        record.name,
                        path.display()
                    );
                }
                Some(ExportTarget::Stdout) | None => std::io::stdout().write_all(&buf)?,
            }
        }
    }
    Ok(())
}
