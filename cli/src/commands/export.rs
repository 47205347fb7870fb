//! `export …`: stored answers and ratings as files.

use std::io::Write;

use anyhow::Result;

use llm4sweat::export::{
    ExportFormat, ExportTarget, export_generations, export_generations_to_file,
};
use llm4sweat::review;
use llm4sweat::store::Store;

use crate::args::{ExportCommand, Format, RatingsFormat};
use llm4sweat::review::exports::RatingsLayout;

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
        ExportCommand::Ratings { study, format, out } => {
            let store = open()?;
            let record = super::results::find_study(&store, study.as_deref())?;
            let layout = match format {
                RatingsFormat::Tidy => RatingsLayout::Tidy,
                RatingsFormat::Wide => RatingsLayout::Wide,
                RatingsFormat::Json => RatingsLayout::Json,
            };
            let mut buf = Vec::new();
            let n = match layout {
                RatingsLayout::Tidy => review::export_ratings_csv(&store, record.id, &mut buf)?,
                RatingsLayout::Wide => {
                    review::exports::export_ratings_wide(&store, record.id, &mut buf)?
                }
                RatingsLayout::Json => {
                    review::exports::export_ratings_json(&store, record.id, &mut buf)?
                }
            };
            match out.as_deref().map(ExportTarget::from_arg) {
                Some(ExportTarget::File(path)) => {
                    let book = review::exports::codebook(&store, record.id, layout)?;
                    let book_path = codebook_path(&path);
                    llm4sweat::export::write_atomically(&path, &buf)?;
                    llm4sweat::export::write_atomically(&book_path, book.as_bytes())?;
                    eprintln!(
                        "wrote {n} rows of {:?} to {} and its codebook to {}",
                        record.name,
                        path.display(),
                        book_path.display()
                    );
                }
                Some(ExportTarget::Stdout) | None => {
                    crate::print::stdout(&String::from_utf8_lossy(&buf))?
                }
            }
        }
    }
    Ok(())
}

/// `ratings.csv` → `ratings.codebook.csv` (beside it).
fn codebook_path(path: &std::path::Path) -> std::path::PathBuf {
    let stem = path
        .file_stem()
        .map_or_else(|| "ratings".into(), |s| s.to_string_lossy().into_owned());
    path.with_file_name(format!("{stem}.codebook.csv"))
}
