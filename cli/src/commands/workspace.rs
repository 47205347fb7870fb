//! `init` and `summary`: creating the workspace and saying what it holds.

use std::path::PathBuf;

use anyhow::{Context, Result};

use llm4sweat::domain::DomainPack;
use llm4sweat::store::{Actor, Store, Table};
use llm4sweat::workspace::WorkspacePaths;

use crate::print;

/// `init`: creates or updates the workspace and loads the domain pack.
pub fn init(
    pack: Option<PathBuf>,
    paths: &WorkspacePaths,
    open: impl Fn() -> Result<Store>,
) -> Result<()> {
    let pack = match pack {
        Some(dir) => DomainPack::from_dir(&dir)
            .with_context(|| format!("loading domain pack {}", dir.display()))?,
        None => DomainPack::embedded_default().context("loading the built-in domain pack")?,
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
    for (what, ids) in [
        ("new items", &report.added_items),
        ("changed items", &report.changed_items),
    ] {
        // The first load adds every item; list them only when a few change.
        if !ids.is_empty() && ids.len() <= 20 {
            println!("{what}: {}", ids.join(", "));
        }
    }
    println!(
        "{} sources, {} facts, {} items",
        store.count(Table::SeedSources)?,
        store.count(Table::SeedFacts)?,
        store.count(Table::Items)?
    );
    Ok(())
}

/// `summary`: prints what the workspace holds.
pub fn summary(open: impl Fn() -> Result<Store>) -> Result<()> {
    print::summary(&open()?)
}
