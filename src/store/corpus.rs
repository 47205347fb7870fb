//! Seed sources, seed facts and items.

use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

use std::collections::BTreeMap;

use super::{Actor, At, SqlContext, Store, StoreError, audit, now_utc, to_json};
use crate::domain::DomainPack;
use crate::ids::ItemId;
use crate::vocab::{ItemKind, ItemOrigin, ItemSplit};

/// What loading a domain pack changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadReport {
    /// Rows inserted.
    pub inserted: u64,
    /// Rows whose content changed.
    pub updated: u64,
    /// Rows already identical.
    pub unchanged: u64,
    /// External ids of the items this load added.
    pub added_items: Vec<String>,
    /// External ids of the items whose kind, category or text this load
    /// changed (only items no answer, study or assignment uses yet).
    pub changed_items: Vec<String>,
}

/// An item as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemRecord {
    /// Row id.
    pub id: ItemId,
    /// Stable external id (`eval-001`…).
    pub external_id: String,
    /// Question or vignette.
    pub kind: ItemKind,
    /// Category.
    pub category: String,
    /// The text to answer.
    pub text: String,
    /// Stratum values, keyed by dimension.
    pub strata: BTreeMap<String, String>,
    /// Where it came from.
    pub origin: ItemOrigin,
    /// Which part of the data it belongs to.
    pub split: ItemSplit,
}

/// Which items to select.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemFilter {
    /// Only this category.
    pub category: Option<String>,
    /// Only this split (default: any).
    pub split: Option<ItemSplit>,
    /// At most this many (in id order).
    pub limit: Option<u64>,
    /// Only these item ids.
    #[serde(default)]
    pub ids: Option<Vec<ItemId>>,
}

impl Store {
    /// Loads a domain pack (sources, facts, evaluation items) in one
    /// transaction. Loading the same pack twice changes nothing.
    pub fn load_pack(
        &mut self,
        pack: &DomainPack,
        actor: &Actor,
    ) -> Result<LoadReport, StoreError> {
        self.write("loading the domain pack", |tx| {
            let now = now_utc();
            let existing = tx
                .query_row("SELECT domain_pack, pack_version FROM workspace WHERE id = 1", [], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
                })
                .optional()
                .ctx("reading the workspace")?;
            if let Some((existing, version)) = existing {
                if existing != pack.manifest.id {
                    return Err(StoreError::Conflict(format!(
                        "this workspace was created for the {existing:?} domain pack, not {:?}; use another --db",
                        pack.manifest.id
                    )));
                }
                if pack.manifest.version < version {
                    return Err(StoreError::Conflict(format!(
                        "this workspace holds version {version} of the {existing:?} pack; version {} is older \
                         and is not loaded (a pack version never goes backwards)",
                        pack.manifest.version
                    )));
                }
            }
            tx.execute(
                "INSERT INTO workspace (id, domain_pack, pack_version, created_at) VALUES (1, ?1, ?2, ?3)
                 ON CONFLICT(id) DO UPDATE SET pack_version = excluded.pack_version
                 WHERE pack_version IS NOT excluded.pack_version",
                params![pack.manifest.id, pack.manifest.version, now],
            )
            .ctx("recording the workspace")?;

            let mut report = LoadReport::default();
            let mut count = |changed: usize, existed: bool| match (changed, existed) {
                (0, _) => report.unchanged += 1,
                (_, true) => report.updated += 1,
                (_, false) => report.inserted += 1,
            };
            let exists = |table: &str, col: &str, id: &str| -> Result<bool, StoreError> {
                tx.query_row(&format!("SELECT 1 FROM {table} WHERE {col} = ?1"), [id], |_| Ok(()))
                    .optional()
                    .map(|o| o.is_some())
                    .ctx("looking up an existing row")
            };
            for s in &pack.sources {
                let existed = exists("seed_sources", "id", &s.id)?;
                let n = tx
                    .execute(
                        "INSERT INTO seed_sources (id, kind, title, authors, year, venue, url)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                         ON CONFLICT(id) DO UPDATE SET kind = excluded.kind, title = excluded.title,
                           authors = excluded.authors, year = excluded.year, venue = excluded.venue, url = excluded.url
                         WHERE (kind, title, authors, year, venue, url) IS NOT
                               (excluded.kind, excluded.title, excluded.authors, excluded.year, excluded.venue, excluded.url)",
                        params![s.id, s.kind, s.title, s.authors, s.year, s.venue, s.url],
                    )
                    .ctx("storing a seed source")?;
                count(n, existed);
            }
            for f in &pack.facts {
                let existed = exists("seed_facts", "id", &f.id)?;
                let n = tx
                    .execute(
                        "INSERT INTO seed_facts (id, topic, statement, locator, created_at) VALUES (?1, ?2, ?3, ?4, ?5)
                         ON CONFLICT(id) DO UPDATE SET topic = excluded.topic, statement = excluded.statement,
                           locator = excluded.locator
                         WHERE (topic, statement, locator) IS NOT (excluded.topic, excluded.statement, excluded.locator)",
                        params![f.id, f.topic, f.statement, f.locator, now],
                    )
                    .ctx("storing a seed fact")?;
                count(n, existed);
                for s in &f.sources {
                    tx.execute(
                        "INSERT OR IGNORE INTO seed_fact_sources (fact_id, source_id) VALUES (?1, ?2)",
                        params![f.id, s],
                    )
                    .ctx("linking a fact to its source")?;
                }
            }
            let mut added = Vec::new();
            let mut changed = Vec::new();
            let mut in_use = Vec::new();
            for it in &pack.items {
                let current = tx
                    .query_row(
                        "SELECT id, kind, category, text FROM items WHERE external_id = ?1",
                        [&it.id],
                        |r| {
                            Ok((
                                r.get::<_, i64>(0)?,
                                r.get::<_, String>(1)?,
                                r.get::<_, String>(2)?,
                                r.get::<_, String>(3)?,
                            ))
                        },
                    )
                    .optional()
                    .ctx("reading an item")?;
                match current {
                    None => added.push(it.id.clone()),
                    Some((id, kind, category, text))
                        if (kind.as_str(), category.as_str(), text.as_str())
                            != (it.kind.as_str(), it.category.as_str(), it.text.as_str()) =>
                    {
                        changed.push(it.id.clone());
                        let used: bool = tx
                            .query_row(
                                "SELECT EXISTS (SELECT 1 FROM generations WHERE item_id = ?1)
                                     OR EXISTS (SELECT 1 FROM study_items WHERE item_id = ?1)
                                     OR EXISTS (SELECT 1 FROM assignments WHERE item_id = ?1)",
                                [id],
                                |r| r.get(0),
                            )
                            .ctx("checking whether an item is in use")?;
                        if used {
                            in_use.push(it.id.clone());
                        }
                    }
                    Some(_) => {}
                }
                let existed = exists("items", "external_id", &it.id)?;
                let strata = to_json(&it.strata, &format!("the strata of {}", it.id))?;
                let provenance = serde_json::json!({ "pack": pack.manifest.id, "pack_version": pack.manifest.version })
                    .to_string();
                let n = tx
                    .execute(
                        "INSERT INTO items (external_id, kind, category, text, strata, origin, split, review_status,
                                            provenance, created_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, 'seed', 'eval', 'approved', ?6, ?7)
                         ON CONFLICT(external_id) DO UPDATE SET kind = excluded.kind, category = excluded.category,
                           text = excluded.text, strata = excluded.strata
                         WHERE (kind, category, text, strata) IS NOT
                               (excluded.kind, excluded.category, excluded.text, excluded.strata)",
                        params![it.id, it.kind, it.category, it.text, strata, provenance, now],
                    )
                    .ctx("storing an evaluation item")?;
                count(n, existed);
                for fact in &it.reference_facts {
                    tx.execute(
                        "INSERT OR IGNORE INTO item_facts (item_id, fact_id)
                         SELECT id, ?2 FROM items WHERE external_id = ?1",
                        params![it.id, fact],
                    )
                    .ctx("linking an item to its facts")?;
                }
            }
            if !in_use.is_empty() {
                // Returning an error rolls the whole load back.
                return Err(StoreError::ItemsInUse(in_use));
            }
            report.added_items = added;
            report.changed_items = changed;
            if report.inserted + report.updated > 0 {
                audit::append(
                    tx,
                    actor,
                    "load_pack",
                    "workspace",
                    Some(&pack.manifest.id),
                    &serde_json::json!({
                        "version": pack.manifest.version,
                        "inserted": report.inserted,
                        "updated": report.updated,
                        "added_items": report.added_items,
                        "changed_items": report.changed_items,
                    }),
                )?;
            }
            Ok(report)
        })
    }

    /// Items matching `filter`, in id order.
    pub fn items(&self, filter: &ItemFilter) -> Result<Vec<ItemRecord>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, external_id, kind, category, text, strata, origin, split FROM items
                 WHERE (?1 IS NULL OR category = ?1) AND (?2 IS NULL OR split = ?2)
                   AND (?4 IS NULL OR id IN (SELECT value FROM json_each(?4)))
                 ORDER BY id LIMIT ?3",
            )
            .ctx("selecting items")?;
        let limit = filter.limit.map_or(-1, |l| l as i64);
        let ids = filter
            .ids
            .as_ref()
            .map(|ids| to_json(ids, "the selected item ids"))
            .transpose()?;
        let rows = stmt
            .query_map(
                params![filter.category, filter.split, limit, ids],
                item_from_row,
            )
            .ctx("selecting items")?;
        rows.collect::<Result<Vec<_>, _>>().ctx("reading items")
    }

    /// The item with this id.
    pub fn item(&self, id: ItemId) -> Result<ItemRecord, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id, external_id, kind, category, text, strata, origin, split FROM items WHERE id = ?1")
            .ctx("reading an item")?;
        stmt.query_row([id], item_from_row)
            .optional()
            .ctx("reading an item")?
            .ok_or_else(|| StoreError::NotFound {
                entity: "item",
                key: id.to_string(),
            })
    }

    /// The distinct item categories present.
    pub fn categories(&self) -> Result<Vec<String>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT DISTINCT category FROM items ORDER BY category")
            .ctx("listing categories")?;
        let rows = stmt.query_map([], |r| r.get(0)).ctx("listing categories")?;
        rows.collect::<Result<Vec<_>, _>>()
            .ctx("listing categories")
    }
}

fn item_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ItemRecord> {
    let id: i64 = r.get(0)?;
    let at = At {
        table: "items",
        row_id: id,
    };
    Ok(ItemRecord {
        id: ItemId(id),
        external_id: r.get(1)?,
        kind: at.get(r, 2, "kind")?,
        category: r.get(3)?,
        text: r.get(4)?,
        strata: at.json(r, 5, "strata")?,
        origin: at.get(r, 6, "origin")?,
        split: at.get(r, 7, "split")?,
    })
}
