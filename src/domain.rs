//! Domain packs: everything disease-specific, kept out of the code.
//!
//! A pack is a folder (`data/hyperhidrosis/` is the first) with `pack.toml`
//! (categories, strata, rubric, system prompt, prompt templates),
//! `sources.json`, `seed_facts.json` and `eval_items.json`. The default pack is
//! embedded in the binary so that `llm4sweat init` works from anywhere.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::vocab::{Axis, SCORE_MAX, SCORE_MIN};
pub use crate::vocab::{ItemKind, SourceKind};

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
    /// Which axis.
    pub id: Axis,
    /// Display label.
    pub label: String,
    /// Lowest score.
    pub min: i64,
    /// Highest score.
    pub max: i64,
    /// What each score means, keyed by the score as text.
    pub anchors: BTreeMap<String, String>,
}

/// A cited source of seed facts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeedSource {
    /// Pack-local id.
    pub id: String,
    /// What kind of source it is.
    pub kind: SourceKind,
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
    /// A file could not be read (never a FIFO, device or directory, and
    /// within a size cap: see [`MAX_MANIFEST_BYTES`], [`MAX_DATA_BYTES`]).
    #[error("could not read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: crate::files::InputFileError,
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

/// The largest `pack.toml` read.
pub const MAX_MANIFEST_BYTES: u64 = 1024 * 1024;
/// The largest `sources.json`, `seed_facts.json` or `eval_items.json` read.
pub const MAX_DATA_BYTES: u64 = 16 * 1024 * 1024;
/// The longest id (of a source, fact or item), in characters.
pub const MAX_ID_CHARS: usize = 128;
/// The longest title, statement or item text, in characters.
pub const MAX_TEXT_CHARS: usize = 8_000;

/// The parser's message with its line and column, without the snippet of
/// the file the default message quotes (a pack path may point anywhere).
fn toml_message(text: &str, e: &toml::de::Error) -> String {
    match e.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            format!("line {line}, column {column}: {}", e.message())
        }
        None => e.message().to_owned(),
    }
}

/// Checks one text field: not empty or blank, no NUL, at most `max` characters.
fn check_text(
    file: &str,
    item: &str,
    field: &str,
    value: &str,
    max: usize,
) -> Result<(), PackError> {
    let problem = if value.trim().is_empty() {
        Some("is empty".to_owned())
    } else if value.contains('\0') {
        Some("contains a NUL character".to_owned())
    } else {
        let chars = value.chars().count();
        (chars > max).then(|| format!("is {chars} characters long; the limit is {max}"))
    };
    match problem {
        None => Ok(()),
        Some(p) => Err(PackError::Invalid {
            file: file.into(),
            // An id that is itself the problem is not echoed whole.
            item: item.chars().take(40).collect(),
            message: format!("the {field} {p}"),
        }),
    }
}

const MANIFEST: &str = "pack.toml";
const SOURCES: &str = "sources.json";
const FACTS: &str = "seed_facts.json";
const ITEMS: &str = "eval_items.json";

/// Refuses, with the axis named, a rubric axis this version cannot score.
/// The rubric is data in the pack, but the review form, the store's columns
/// and the statistics know exactly the axes of [`Axis`] on a 1–5 scale.
fn check_rubric_axes(raw: &toml::Table) -> Result<(), PackError> {
    let axes = raw
        .get("rubric")
        .and_then(|r| r.get("axes"))
        .and_then(|a| a.as_array());
    for axis in axes.into_iter().flatten() {
        if let Some(id) = axis.get("id").and_then(|i| i.as_str())
            && id.parse::<Axis>().is_err()
        {
            return Err(PackError::Invalid {
                file: MANIFEST.into(),
                item: id.to_owned(),
                message: format!(
                    "the rubric axis {id:?} is not supported: this version scores exactly {} (1–5); \
                     remove the axis or ask for support of it",
                    Axis::expected()
                ),
            });
        }
    }
    Ok(())
}

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

    /// Reads a pack from a folder: four regular text files, each under its
    /// size cap.
    pub fn from_dir(dir: &Path) -> Result<Self, PackError> {
        let read = |name: &str| {
            let path = dir.join(name);
            let limit = if name == MANIFEST {
                MAX_MANIFEST_BYTES
            } else {
                MAX_DATA_BYTES
            };
            crate::files::read_text(&path, limit).map_err(|source| PackError::Read { path, source })
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
        let toml_error = |e: toml::de::Error| PackError::Parse {
            file: MANIFEST.into(),
            message: toml_message(manifest, &e),
        };
        let raw: toml::Table = toml::from_str(manifest).map_err(toml_error)?;
        check_rubric_axes(&raw)?;
        let manifest: PackManifest = toml::from_str(manifest).map_err(toml_error)?;
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
        if self.manifest.version < 1 {
            return Err(invalid(
                MANIFEST,
                "version",
                format!(
                    "the pack version must be 1 or more, got {}",
                    self.manifest.version
                ),
            ));
        }
        for s in &self.sources {
            check_text(SOURCES, &s.id, "id", &s.id, MAX_ID_CHARS)?;
            check_text(SOURCES, &s.id, "title", &s.title, MAX_TEXT_CHARS)?;
        }
        for f in &self.facts {
            check_text(FACTS, &f.id, "id", &f.id, MAX_ID_CHARS)?;
            check_text(FACTS, &f.id, "statement", &f.statement, MAX_TEXT_CHARS)?;
        }
        for it in &self.items {
            check_text(ITEMS, &it.id, "id", &it.id, MAX_ID_CHARS)?;
            check_text(ITEMS, &it.id, "text", &it.text, MAX_TEXT_CHARS)?;
        }
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
        }
        let axes: Vec<Axis> = self.manifest.rubric.axes.iter().map(|a| a.id).collect();
        if axes != Axis::ALL {
            return Err(invalid(
                MANIFEST,
                "rubric",
                format!(
                    "the rubric must list the axes {} once each, in that order (found {})",
                    Axis::expected(),
                    axes.iter()
                        .map(|a| a.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        for a in &self.manifest.rubric.axes {
            if (a.min, a.max) != (SCORE_MIN, SCORE_MAX) {
                return Err(invalid(
                    MANIFEST,
                    a.id.as_str(),
                    format!(
                        "the rubric axis {:?} is scored {}–{}; this version scores every axis {SCORE_MIN}–{SCORE_MAX}",
                        a.id.as_str(),
                        a.min,
                        a.max
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
        assert!(err.to_string().contains("unknown variant `blog`"), "{err}");

        let err = DomainPack::parse(manifest, sources, "[{\"id\": 1", "[]").expect_err("must fail");
        assert!(err.to_string().starts_with("seed_facts.json"), "{err}");
    }

    /// A rubric this version cannot score is refused at load, naming the axis.
    #[test]
    fn unsupported_rubrics_are_refused_naming_the_axis() {
        let manifest = include_str!("../data/hyperhidrosis/pack.toml");
        let sources = include_str!("../data/hyperhidrosis/sources.json");
        let facts = include_str!("../data/hyperhidrosis/seed_facts.json");
        let fourth_axis = format!(
            "{manifest}\n[[rubric.axes]]\nid = \"safety\"\nlabel = \"Safety\"\nmin = 1\nmax = 5\nanchors = {{}}\n"
        );
        let cases: Vec<(String, &str)> = vec![
            (fourth_axis, "the rubric axis \"safety\" is not supported"),
            (
                manifest.replacen("min = 1\nmax = 5", "min = 0\nmax = 10", 1),
                "the rubric axis \"accuracy\" is scored 0–10",
            ),
            (
                manifest.replacen("id = \"empathy\"", "id = \"accuracy\"", 1),
                "must list the axes accuracy, appropriateness, empathy once each",
            ),
        ];
        for (text, expected) in cases {
            let err = DomainPack::parse(&text, sources, facts, "[]").expect_err(expected);
            assert!(err.to_string().contains(expected), "{err}");
            assert!(err.to_string().starts_with("pack.toml"), "{err}");
        }
    }
}
