//! `results`: a study's results for the coordinator (unblinded).

use anyhow::{Context, Result};

use llm4sweat::review;
use llm4sweat::store::{Store, StudyRecord};

use crate::args::ReportFormat;
use crate::print;

/// `results`: per-model scores, preferences and agreement of a study.
pub fn results(study: Option<String>, json: bool, open: impl Fn() -> Result<Store>) -> Result<()> {
    let store = open()?;
    let record = find_study(&store, study.as_deref())?;
    let results = review::results::study_results(&store, record.id)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&results)?);
    } else {
        print::results(&record.name, &results);
    }
    Ok(())
}

/// `report`: the study's full report as JSON, text tables or HTML, on standard
/// output or written atomically to `out`.
pub fn report(
    study: Option<String>,
    format: ReportFormat,
    baseline: Option<String>,
    out: Option<std::path::PathBuf>,
    charts: Option<std::path::PathBuf>,
    open: impl Fn() -> Result<Store>,
) -> Result<()> {
    let store = open()?;
    let record = find_study(&store, study.as_deref())?;
    let report = review::report::study_report(&store, &record, baseline.as_deref())?;
    if let Some(dir) = charts {
        write_charts(&report, &dir)?;
    }
    let text = match format {
        ReportFormat::Json => serde_json::to_string_pretty(&report)? + "\n",
        ReportFormat::Table => review::report::render_table(&report),
        ReportFormat::Html => review::report::render_html(&report),
    };
    match out {
        Some(path) => {
            llm4sweat::export::write_atomically(&path, text.as_bytes())?;
            eprintln!("wrote {}", path.display());
        }
        None => crate::print::stdout(&text)?,
    }
    Ok(())
}

/// Every chart of `report` that can be drawn, into `dir` as SVG and PNG.
fn write_charts(report: &review::report::Report, dir: &std::path::Path) -> Result<()> {
    use review::report::{ChartFormat, report_groups, write_charts};
    let written = write_charts(
        report,
        &report_groups(report),
        &[ChartFormat::Svg, ChartFormat::Png],
        dir,
    )?;
    eprintln!(
        "wrote {} chart files to {}",
        written.files.len(),
        dir.display()
    );
    for why in written.skipped {
        eprintln!("  skipped: {why}");
    }
    Ok(())
}

/// The study named `name`, or the most recent one.
pub fn find_study(store: &Store, name: Option<&str>) -> Result<StudyRecord> {
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
            .context("no study yet: `llm4sweat study create NAME --model A --model B`, the desktop app, or `llm4sweat demo`"),
    }
}
