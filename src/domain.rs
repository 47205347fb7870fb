//! Domain packs: everything disease-specific, kept out of the code.
//!
//! A pack is a folder (`data/hyperhidrosis/` is the first) with `pack.toml`
//! (categories, strata, rubric, system prompt, prompt templates),
//! `sources.json`, `seed_facts.json` and `eval_items.json`, and optionally
//! `train_pairs.json` (training question–answer pairs, each grounded in seed
//! facts). The default pack is embedded in the binary so that `llm4sweat
//! init` works from anywhere.

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
    /// A short system prompt that training examples are rendered with
    /// instead of `system_prompt`. A long prompt repeated in every example
    /// fills most of each training window, multiplying training time, and
    /// (the loss covers every token) its repetition dominates the loss.
    /// Absent: examples carry `system_prompt`.
    #[serde(default)]
    pub training_system_prompt: Option<String>,
    /// Balance dimensions and their allowed values.
    #[serde(default)]
    pub strata: BTreeMap<String, Vec<String>>,
    /// The default rubric.
    pub rubric: Rubric,
    /// Prompt templates for augmentation.
    #[serde(default)]
    pub prompts: BTreeMap<String, String>,
    /// How synthetic items are made (`[augment]`); absent: the pack cannot
    /// be augmented.
    #[serde(default)]
    pub augment: Option<crate::augment::spec::AugmentSpec>,
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
#[cfg_attr(feature = "specta", derive(specta::Type))]
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

/// One training question–answer pair shipped with the pack
/// (`train_pairs.json`): written for training, never an evaluation item, its
/// answer grounded only in the listed seed facts. Unknown fields are refused,
/// so that a misspelt `facts` is an error rather than an empty list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainPair {
    /// Pack-local id, distinct from every evaluation item's id.
    pub id: String,
    /// One of the pack's categories.
    pub category: String,
    /// The patient's question.
    pub question: String,
    /// The answer a specialist would rate well, grounded in `facts`.
    pub answer: String,
    /// The seed facts the answer relies on (at least one).
    pub facts: Vec<String>,
    /// Stratum values, keyed by dimension, as for evaluation items.
    #[serde(default)]
    pub strata: BTreeMap<String, String>,
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
    /// `train_pairs.json`; empty for a pack without one.
    pub train_pairs: Vec<TrainPair>,
}

/// Why a pack could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum PackError {
    /// A file could not be read (never a FIFO, device or directory, and
    /// within a size cap: see [`MAX_MANIFEST_BYTES`], [`MAX_DATA_BYTES`],
    /// [`MAX_TRAIN_PAIRS_BYTES`]).
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
/// The largest `train_pairs.json` read. Training pairs are the pack's
/// bulkiest file (a pair is about 1 KB); 32 MiB holds some 30 000 of them.
pub const MAX_TRAIN_PAIRS_BYTES: u64 = 32 * 1024 * 1024;
/// The longest id (of a source, fact, item or training pair), in characters.
pub const MAX_ID_CHARS: usize = 128;
/// The longest title, statement, item text, question or answer, in characters.
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
const TRAIN_PAIRS: &str = "train_pairs.json";

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
        )?
        .with_train_pairs(include_str!("../data/hyperhidrosis/train_pairs.json"))
    }

    /// Reads a pack from a folder: four regular text files, and
    /// `train_pairs.json` when present, each under its size cap. An absent
    /// `train_pairs.json` means no training pairs; one that exists but is
    /// not a regular file is refused like any other pack file.
    pub fn from_dir(dir: &Path) -> Result<Self, PackError> {
        let read = |name: &str| {
            let path = dir.join(name);
            let limit = match name {
                MANIFEST => MAX_MANIFEST_BYTES,
                TRAIN_PAIRS => MAX_TRAIN_PAIRS_BYTES,
                _ => MAX_DATA_BYTES,
            };
            crate::files::read_text(&path, limit).map_err(|source| PackError::Read { path, source })
        };
        let pack = Self::parse(
            &read(MANIFEST)?,
            &read(SOURCES)?,
            &read(FACTS)?,
            &read(ITEMS)?,
        )?;
        // `symlink_metadata`, so that a dangling link counts as present
        // (and is refused by the read) rather than as absent.
        match std::fs::symlink_metadata(dir.join(TRAIN_PAIRS)) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(pack),
            _ => pack.with_train_pairs(&read(TRAIN_PAIRS)?),
        }
    }

    /// This pack with the training pairs of `train_pairs` (the text of a
    /// `train_pairs.json`) in place of its own, validated against the pack:
    /// ids unique, distinct from the evaluation items' and length-limited;
    /// question and answer non-blank, NUL-free and length-limited; the
    /// category one of the pack's; at least one fact, each a seed fact of the
    /// pack, none twice; strata as for evaluation items. Errors name the
    /// pair's id and the field.
    pub fn with_train_pairs(mut self, train_pairs: &str) -> Result<Self, PackError> {
        self.train_pairs = serde_json::from_str(train_pairs).map_err(|e| PackError::Parse {
            file: TRAIN_PAIRS.into(),
            message: e.to_string(),
        })?;
        self.validate_train_pairs()?;
        Ok(self)
    }

    /// Parses and validates the four files' contents (a pack without
    /// training pairs; see [`DomainPack::with_train_pairs`]).
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
            train_pairs: Vec::new(),
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
        if let Some(t) = &self.manifest.training_system_prompt {
            check_text(
                MANIFEST,
                "training_system_prompt",
                "training_system_prompt",
                t,
                MAX_TEXT_CHARS,
            )?;
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
        if let Some(spec) = &self.manifest.augment {
            let topics: HashSet<&str> = self.facts.iter().map(|f| f.topic.as_str()).collect();
            crate::augment::spec::validate(
                spec,
                &self.manifest.categories,
                &self.manifest.strata,
                &topics,
            )
            .map_err(|(key, message)| invalid(MANIFEST, &key, message))?;
            for name in ["vignette", "qa"] {
                if let Some(t) = self.manifest.prompts.get(name) {
                    crate::augment::prompt::check_template(t, &self.manifest.strata)
                        .map_err(|m| invalid(MANIFEST, &format!("prompts.{name}"), m))?;
                }
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
            self.check_strata(ITEMS, &it.id, &it.strata)?;
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

    /// Refuses a stratum dimension the manifest does not list, or a value
    /// it does not allow for that dimension.
    fn check_strata(
        &self,
        file: &str,
        id: &str,
        strata: &BTreeMap<String, String>,
    ) -> Result<(), PackError> {
        for (dim, value) in strata {
            let message = match self.manifest.strata.get(dim) {
                None => format!("unknown stratum {dim:?}"),
                Some(values) if !values.contains(value) => {
                    format!("{dim} = {value:?} is not one of {values:?}")
                }
                Some(_) => continue,
            };
            return Err(PackError::Invalid {
                file: file.into(),
                item: id.into(),
                message,
            });
        }
        Ok(())
    }

    fn validate_train_pairs(&self) -> Result<(), PackError> {
        let invalid = |item: &str, message: String| PackError::Invalid {
            file: TRAIN_PAIRS.into(),
            item: item.into(),
            message,
        };
        let fact_ids: HashSet<&str> = self.facts.iter().map(|f| f.id.as_str()).collect();
        let item_ids: HashSet<&str> = self.items.iter().map(|i| i.id.as_str()).collect();
        let mut seen = HashSet::new();
        for p in &self.train_pairs {
            check_text(TRAIN_PAIRS, &p.id, "id", &p.id, MAX_ID_CHARS)?;
            check_text(TRAIN_PAIRS, &p.id, "question", &p.question, MAX_TEXT_CHARS)?;
            check_text(TRAIN_PAIRS, &p.id, "answer", &p.answer, MAX_TEXT_CHARS)?;
            if !seen.insert(p.id.as_str()) {
                return Err(invalid(&p.id, "duplicate id".into()));
            }
            if item_ids.contains(p.id.as_str()) {
                return Err(invalid(
                    &p.id,
                    "the id is also an evaluation item's id".into(),
                ));
            }
            if !self.manifest.categories.contains(&p.category) {
                return Err(invalid(
                    &p.id,
                    format!(
                        "the category {:?} is not one of the pack's categories ({})",
                        p.category,
                        self.manifest.categories.join(", ")
                    ),
                ));
            }
            if p.facts.is_empty() {
                return Err(invalid(
                    &p.id,
                    "the facts list is empty: every answer must cite at least one seed fact".into(),
                ));
            }
            let mut cited = HashSet::new();
            for f in &p.facts {
                if !fact_ids.contains(f.as_str()) {
                    return Err(invalid(
                        &p.id,
                        format!("the facts list names unknown fact {f:?}"),
                    ));
                }
                if !cited.insert(f.as_str()) {
                    return Err(invalid(&p.id, format!("the facts list names {f:?} twice")));
                }
            }
            self.check_strata(TRAIN_PAIRS, &p.id, &p.strata)?;
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

    const MANIFEST_TEXT: &str = include_str!("../data/hyperhidrosis/pack.toml");
    const SOURCES_TEXT: &str = include_str!("../data/hyperhidrosis/sources.json");
    const FACTS_TEXT: &str = include_str!("../data/hyperhidrosis/seed_facts.json");
    const ITEMS_TEXT: &str = include_str!("../data/hyperhidrosis/eval_items.json");
    const PAIRS_TEXT: &str = include_str!("../data/hyperhidrosis/train_pairs.json");

    /// The embedded pack's training pairs after `change`, loaded into the
    /// embedded pack: the error's text, or "ok".
    fn load_changed_pairs(change: impl FnOnce(&mut Vec<serde_json::Value>)) -> String {
        let mut pairs: Vec<serde_json::Value> = serde_json::from_str(PAIRS_TEXT).expect("json");
        change(&mut pairs);
        let text = serde_json::to_string(&pairs).expect("json");
        let pack =
            DomainPack::parse(MANIFEST_TEXT, SOURCES_TEXT, FACTS_TEXT, ITEMS_TEXT).expect("pack");
        match pack.with_train_pairs(&text) {
            Ok(_) => "ok".into(),
            Err(e) => e.to_string(),
        }
    }

    /// Bad training pairs are refused, the message naming the pair and the field.
    #[test]
    fn bad_training_pairs_are_refused_naming_the_pair() {
        type Change = Box<dyn FnOnce(&mut Vec<serde_json::Value>)>;
        let set = |i: usize, field: &'static str, value: serde_json::Value| -> Change {
            Box::new(move |p: &mut Vec<serde_json::Value>| p[i][field] = value)
        };
        let cases: Vec<(Change, &str)> = vec![
            (Box::new(|_: &mut Vec<serde_json::Value>| {}), "ok"),
            (
                set(2, "facts", serde_json::json!(["def-01", "dx-made-up"])),
                "train_pairs.json: train-003: the facts list names unknown fact \"dx-made-up\"",
            ),
            (
                set(0, "category", "astrology".into()),
                "train_pairs.json: train-001: the category \"astrology\" is not one of the pack's categories \
                 (diagnosis, treatment, psychosocial, daily_life)",
            ),
            (
                set(1, "id", "train-001".into()),
                "train_pairs.json: train-001: duplicate id",
            ),
            (
                set(4, "answer", " \n\t ".into()),
                "train_pairs.json: train-005: the answer is empty",
            ),
            (
                set(4, "question", "".into()),
                "train_pairs.json: train-005: the question is empty",
            ),
            (
                set(5, "question", "why?\u{0}".into()),
                "train_pairs.json: train-006: the question contains a NUL character",
            ),
            (
                set(6, "answer", "a".repeat(MAX_TEXT_CHARS + 1).into()),
                "train_pairs.json: train-007: the answer is 8001 characters long; the limit is 8000",
            ),
            (
                set(7, "facts", serde_json::json!([])),
                "train_pairs.json: train-008: the facts list is empty",
            ),
            (
                set(8, "facts", serde_json::json!(["psy-01", "psy-01"])),
                "train_pairs.json: train-009: the facts list names \"psy-01\" twice",
            ),
            (
                Box::new(|p: &mut Vec<serde_json::Value>| {
                    p[9]["strata"]["severity"] = "hdss9".into()
                }),
                "train_pairs.json: train-010: severity = \"hdss9\" is not one of",
            ),
            (
                Box::new(|p: &mut Vec<serde_json::Value>| p[9]["strata"]["mood"] = "sunny".into()),
                "train_pairs.json: train-010: unknown stratum \"mood\"",
            ),
            (
                set(10, "id", "eval-001".into()),
                "train_pairs.json: eval-001: the id is also an evaluation item's id",
            ),
            (
                Box::new(|p: &mut Vec<serde_json::Value>| {
                    let facts = p[11]["facts"].take();
                    p[11].as_object_mut().expect("object").remove("facts");
                    p[11]["fact"] = facts;
                }),
                "train_pairs.json: unknown field `fact`",
            ),
        ];
        for (change, expected) in cases {
            let got = load_changed_pairs(change);
            assert!(
                got.starts_with(expected),
                "expected {expected:?}, got {got:?}"
            );
        }
    }

    /// A pack folder may leave `train_pairs.json` out; one that is there
    /// must be a regular file.
    #[test]
    fn training_pairs_file_is_optional_but_never_a_fifo() {
        let dir = tempfile::tempdir().expect("tempdir");
        for (name, text) in [
            (MANIFEST, MANIFEST_TEXT),
            (SOURCES, SOURCES_TEXT),
            (FACTS, FACTS_TEXT),
            (ITEMS, ITEMS_TEXT),
        ] {
            std::fs::write(dir.path().join(name), text).expect("write");
        }
        let pack = DomainPack::from_dir(dir.path()).expect("a pack without training pairs");
        assert!(pack.train_pairs.is_empty());
        assert_eq!(
            pack.items.len(),
            DomainPack::embedded_default().expect("pack").items.len()
        );

        let pairs = dir.path().join(TRAIN_PAIRS);
        std::fs::write(&pairs, PAIRS_TEXT).expect("write");
        let pack = DomainPack::from_dir(dir.path()).expect("a pack with training pairs");
        assert_eq!(pack, DomainPack::embedded_default().expect("pack"));

        std::fs::remove_file(&pairs).expect("remove");
        crate::files::mkfifo(&pairs);
        let err = DomainPack::from_dir(dir.path()).expect_err("a FIFO is refused");
        assert!(
            err.to_string().contains("train_pairs.json: it is a FIFO"),
            "{err}"
        );
    }

    /// The shipped training pairs: enough of them, every category and every
    /// stratum value well represented, and none a near duplicate of an
    /// evaluation item or of another pair.
    #[test]
    fn embedded_training_pairs_are_balanced_and_do_not_leak() {
        use crate::dedup::{
            NEAR_DUPLICATE_JACCARD, jaccard, near_duplicates, near_duplicates_within,
        };
        let pack = DomainPack::embedded_default().expect("embedded pack");
        let pairs = &pack.train_pairs;
        assert!(pairs.len() >= 120, "{} training pairs", pairs.len());
        for c in &pack.manifest.categories {
            let n = pairs.iter().filter(|p| &p.category == c).count();
            assert!(n >= 30, "{n} training pairs in {c}");
        }
        for (dim, values) in &pack.manifest.strata {
            for v in values {
                let n = pairs
                    .iter()
                    .filter(|p| p.strata.get(dim) == Some(v))
                    .count();
                assert!(n >= 10, "{n} training pairs with {dim} = {v}");
            }
            let missing: Vec<&str> = pairs
                .iter()
                .filter(|p| !p.strata.contains_key(dim))
                .map(|p| p.id.as_str())
                .collect();
            assert!(missing.is_empty(), "no {dim}: {missing:?}");
        }

        let evals: Vec<&str> = pack.items.iter().map(|i| i.text.as_str()).collect();
        let questions: Vec<&str> = pairs.iter().map(|p| p.question.as_str()).collect();
        let whole: Vec<String> = pairs
            .iter()
            .map(|p| format!("{} {}", p.question, p.answer))
            .collect();
        let named = |found: Vec<crate::dedup::NearDuplicate>, refs: &dyn Fn(usize) -> String| {
            found
                .iter()
                .map(|d| {
                    format!(
                        "{} ~ {} ({:.2})",
                        pairs[d.candidate].id,
                        refs(d.reference),
                        d.similarity
                    )
                })
                .collect::<Vec<_>>()
        };
        let eval_id = |i: usize| pack.items[i].id.clone();
        let leaks = named(
            near_duplicates(&questions, &evals, NEAR_DUPLICATE_JACCARD),
            &eval_id,
        );
        assert!(
            leaks.is_empty(),
            "training questions near evaluation items: {leaks:?}"
        );
        let leaks = named(
            near_duplicates(&whole, &evals, NEAR_DUPLICATE_JACCARD),
            &eval_id,
        );
        assert!(
            leaks.is_empty(),
            "training pairs near evaluation items: {leaks:?}"
        );
        let pair_id = |i: usize| pairs[i].id.clone();
        let repeats = named(
            near_duplicates_within(&questions, NEAR_DUPLICATE_JACCARD),
            &pair_id,
        );
        assert!(
            repeats.is_empty(),
            "training questions near each other: {repeats:?}"
        );

        // The margin, for the record (`cargo test -- --nocapture`).
        let (max, pair, item) = pairs
            .iter()
            .flat_map(|p| {
                pack.items
                    .iter()
                    .map(move |i| (jaccard(&p.question, &i.text), &p.id, &i.id))
            })
            .fold((0.0, "", ""), |best, (s, p, i)| {
                if s > best.0 {
                    (s, p.as_str(), i.as_str())
                } else {
                    best
                }
            });
        println!("largest question-to-evaluation-item Jaccard: {max:.3} ({pair} ~ {item})");
        assert!(max < NEAR_DUPLICATE_JACCARD);
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
