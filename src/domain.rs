//! Domain packs: everything disease-specific, kept out of the code.
//!
//! A pack is a folder (`data/hyperhidrosis/` is the first) with `pack.toml`
//! (categories, strata, rubric, system prompt, prompt templates),
//! `sources.json`, `seed_facts.json` and `eval_items.json`. The default pack is
//! embedded in the binary so that `llm4sweat init` works from anywhere.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The pack's manifest, `pack.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PackManifest {
    /// Stable id, e.g. `hyperhidrosis`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Bumped whenever the pack's content changes.
    pub version: i64,
    /// One paragraph about the condition and the pack.
    #[serde(default)]
    pub description: String,
    /// The item categories.
    pub categories: Vec<String>,
    /// System prompt given to every model that answers patients.
    pub system_prompt: String,
    /// Balance dimensions and their allowed values.
    #[serde(default)]
    pub strata: BTreeMap<String, Vec<String>>,
    /// The default rubric.
    pub rubric: Rubric,
    /// Prompt templates for augmentation.
    #[serde(default)]
    pub prompts: BTreeMap<String, String>,
}

/// A rating rubric.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rubric {
    /// The scored axes, in display order.
    pub axes: Vec<RubricAxis>,
}

/// One scored axis of a rubric.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RubricAxis {
    /// Stable id (`accuracy`, …).
    pub id: String,
    /// Display label.
    pub label: String,
    /// Lowest score.
    pub min: i64,
    /// Highest score.
    pub max: i64,
    /// What each score means, keyed by the score as text.
    pub anchors: BTreeMap<String, String>,
}

/// The kinds of source a pack may cite: a clinical guideline, an expert
/// consensus statement, a review article, a randomised or open trial, a
/// survey or cohort study, or a medical society's patient/professional page.
pub const SOURCE_KINDS: [&str; 6] = [
    "guideline",
    "consensus",
    "review",
    "trial",
    "survey",
    "society",
];

/// A cited source of seed facts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeedSource {
    /// Pack-local id.
    pub id: String,
    /// One of [`SOURCE_KINDS`].
    pub kind: String,
    /// Title.
    pub title: String,
    /// Authors or organisation.
    #[serde(default)]
    pub authors: Option<String>,
    /// Year of publication.
    #[serde(default)]
    pub year: Option<i64>,
    /// Journal or publisher.
    #[serde(default)]
    pub venue: Option<String>,
    /// Where to read it.
    #[serde(default)]
    pub url: Option<String>,
}

/// One fact of the seed corpus, in our own words, with its sources.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeedFact {
    /// Pack-local id.
    pub id: String,
    /// Topic (diagnosis, treatment, …).
    pub topic: String,
    /// The fact.
    pub statement: String,
    /// Ids of [`SeedSource`]s.
    pub sources: Vec<String>,
    /// Where in the sources.
    #[serde(default)]
    pub locator: Option<String>,
}

/// Whether an item is a direct question or a short clinical vignette.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ItemKind {
    /// A patient's question.
    Question,
    /// A short vignette ending in the patient's question.
    Vignette,
}

impl ItemKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemKind::Question => "question",
            ItemKind::Vignette => "vignette",
        }
    }
}

/// One evaluation item shipped with the pack.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalItem {
    /// Pack-local id (becomes the item's external id).
    pub id: String,
    /// Question or vignette.
    pub kind: ItemKind,
    /// One of the pack's categories.
    pub category: String,
    /// The text the model answers.
    pub text: String,
    /// Stratum values, keyed by dimension.
    #[serde(default)]
    pub strata: BTreeMap<String, String>,
    /// Seed facts a good answer relies on.
    #[serde(default)]
    pub reference_facts: Vec<String>,
}

/// A loaded, validated domain pack.
#[derive(Debug, Clone, PartialEq)]
pub struct DomainPack {
    /// `pack.toml`.
    pub manifest: PackManifest,
    /// `sources.json`.
    pub sources: Vec<SeedSource>,
    /// `seed_facts.json`.
    pub facts: Vec<SeedFact>,
    /// `eval_items.json`.
    pub items: Vec<EvalItem>,
}

/// Why a pack could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum PackError {
    /// A file could not be read.
    #[error("could not read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A file could not be parsed.
    #[error("{file}: {message}")]
    Parse {
        /// The file.
        file: String,
        /// The parser's message (with line and column).
        message: String,
    },
    /// The content is inconsistent.
    #[error("{file}: {item}: {message}")]
    Invalid {
        /// The file.
        file: String,
        /// The offending entry's id.
        item: String,
        /// What is wrong.
        message: String,
    },
}

const MANIFEST: &str = "pack.toml";
const SOURCES: &str = "sources.json";
const FACTS: &str = "seed_facts.json";
const ITEMS: &str = "eval_items.json";

impl DomainPack {
    /// The hyperhidrosis pack shipped inside the binary.
    pub fn embedded_default() -> Result<Self, PackError> {
        Self::parse(
            include_str!("../data/hyperhidrosis/pack.toml"),
            include_str!("../data/hyperhidrosis/sources.json"),
            include_str!("../data/hyperhidrosis/seed_facts.json"),
            include_str!("../data/hyperhidrosis/eval_items.json"),
        )
    }

    /// Reads a pack from a folder.
    pub fn from_dir(dir: &Path) -> Result<Self, PackError> {
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read_to_string(&path).map_err(|source| PackError::Read { path, source })
        };
        Self::parse(
            &read(MANIFEST)?,
            &read(SOURCES)?,
            &read(FACTS)?,
            &read(ITEMS)?,
        )
    }

    /// Parses and validates the four files' contents.
    pub fn parse(
        manifest: &str,
        sources: &str,
        facts: &str,
        items: &str,
    ) -> Result<Self, PackError> {
        let manifest: PackManifest = toml::from_str(manifest).map_err(|e| PackError::Parse {
            file: MANIFEST.into(),
            message: e.to_string(),
        })?;
        let json = |file: &str, text: &str| PackError::Parse {
            file: file.into(),
            message: text.to_owned(),
        };
        let sources: Vec<SeedSource> =
            serde_json::from_str(sources).map_err(|e| json(SOURCES, &e.to_string()))?;
        let facts: Vec<SeedFact> =
            serde_json::from_str(facts).map_err(|e| json(FACTS, &e.to_string()))?;
        let items: Vec<EvalItem> =
            serde_json::from_str(items).map_err(|e| json(ITEMS, &e.to_string()))?;
        let pack = Self {
            manifest,
            sources,
            facts,
            items,
        };
        pack.validate()?;
        Ok(pack)
    }

    fn validate(&self) -> Result<(), PackError> {
        let invalid = |file: &str, item: &str, message: String| PackError::Invalid {
            file: file.into(),
            item: item.into(),
            message,
        };
        if self.manifest.categories.is_empty() {
            return Err(invalid(
                MANIFEST,
                "categories",
                "at least one category is needed".into(),
            ));
        }
        let mut seen = HashSet::new();
        for s in &self.sources {
            if !seen.insert(s.id.as_str()) {
                return Err(invalid(SOURCES, &s.id, "duplicate id".into()));
            }
            if !SOURCE_KINDS.contains(&s.kind.as_str()) {
                return Err(invalid(
                    SOURCES,
                    &s.id,
                    format!(
                        "unknown kind {:?} (expected one of {})",
                        s.kind,
                        SOURCE_KINDS.join(", ")
                    ),
                ));
            }
        }
        let mut fact_ids = HashSet::new();
        for f in &self.facts {
            if !fact_ids.insert(f.id.as_str()) {
                return Err(invalid(FACTS, &f.id, "duplicate id".into()));
            }
            if f.sources.is_empty() {
                return Err(invalid(
                    FACTS,
                    &f.id,
                    "every fact must cite at least one source".into(),
                ));
            }
            if let Some(missing) = f.sources.iter().find(|s| !seen.contains(s.as_str())) {
                return Err(invalid(
                    FACTS,
                    &f.id,
                    format!("cites unknown source {missing:?}"),
                ));
            }
        }
        let mut item_ids = HashSet::new();
        for it in &self.items {
            if !item_ids.insert(it.id.as_str()) {
                return Err(invalid(ITEMS, &it.id, "duplicate id".into()));
            }
            if it.text.trim().is_empty() {
                return Err(invalid(ITEMS, &it.id, "empty text".into()));
            }
            if !self.manifest.categories.contains(&it.category) {
                return Err(invalid(
                    ITEMS,
                    &it.id,
                    format!("unknown category {:?}", it.category),
                ));
            }
            for (dim, value) in &it.strata {
                match self.manifest.strata.get(dim) {
                    None => return Err(invalid(ITEMS, &it.id, format!("unknown stratum {dim:?}"))),
                    Some(values) if !values.contains(value) => {
                        return Err(invalid(
                            ITEMS,
                            &it.id,
                            format!("{dim} = {value:?} is not one of {values:?}"),
                        ));
                    }
                    Some(_) => {}
                }
            }
            if let Some(missing) = it
                .reference_facts
                .iter()
                .find(|f| !fact_ids.contains(f.as_str()))
            {
                return Err(invalid(
                    ITEMS,
                    &it.id,
                    format!("references unknown fact {missing:?}"),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_pack_is_valid_and_large_enough() {
        let pack = DomainPack::embedded_default().expect("embedded pack");
        assert!(pack.facts.len() >= 40, "{} facts", pack.facts.len());
        assert!(pack.items.len() >= 60, "{} items", pack.items.len());
        for c in ["diagnosis", "treatment", "psychosocial", "daily_life"] {
            assert!(pack.items.iter().any(|i| i.category == c), "no item in {c}");
        }
        let axes: Vec<_> = pack
            .manifest
            .rubric
            .axes
            .iter()
            .map(|a| a.id.as_str())
            .collect();
        assert_eq!(axes, ["accuracy", "appropriateness", "empathy"]);
    }

    #[test]
    fn bad_packs_are_refused_with_context() {
        let pack = DomainPack::embedded_default().expect("embedded pack");
        let manifest = include_str!("../data/hyperhidrosis/pack.toml");
        let sources = include_str!("../data/hyperhidrosis/sources.json");
        let facts = include_str!("../data/hyperhidrosis/seed_facts.json");
        let mut items = pack.items.clone();
        items[0].category = "astrology".into();
        let items_json = serde_json::to_string(&items).expect("json");
        let err = DomainPack::parse(manifest, sources, facts, &items_json).expect_err("must fail");
        assert!(err.to_string().contains("astrology"), "{err}");

        let bad_kind = sources.replacen("\"guideline\"", "\"blog\"", 1);
        let err = DomainPack::parse(manifest, &bad_kind, facts, "[]").expect_err("must fail");
        assert!(err.to_string().contains("unknown kind \"blog\""), "{err}");

        let err = DomainPack::parse(manifest, sources, "[{\"id\": 1", "[]").expect_err("must fail");
        assert!(err.to_string().starts_with("seed_facts.json"), "{err}");
    }
}
