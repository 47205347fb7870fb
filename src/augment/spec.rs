//! `[augment]` in a pack's `pack.toml`: everything disease-specific about
//! making synthetic items, as data — the patients' intents, which seed-fact
//! topics fit each category and intent, which words tie a fact to a site,
//! the red-flag rules, length bounds and the language check.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};

/// How a pack's synthetic items are made. Unknown fields are refused, so
/// that a misspelt key is an error rather than a silent default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AugmentSpec {
    /// What the patient wants from the conversation (an axis of the
    /// quotas), e.g. `diagnosis`, `treatment_options`, `side_effects`,
    /// `daily_coping`, `psychological_support`.
    pub intents: Vec<String>,
    /// Seed-fact topics that fit each category. A request offers facts
    /// whose topic fits its category or its intent; when neither is listed,
    /// every fact fits.
    #[serde(default)]
    pub category_topics: BTreeMap<String, Vec<String>>,
    /// Seed-fact topics that fit each intent.
    #[serde(default)]
    pub intent_topics: BTreeMap<String, Vec<String>>,
    /// The strata axis that names the body site (`site`), if any, and the
    /// words that tie a fact to each of its values: facts that mention one
    /// of a site's words are offered first for that site.
    #[serde(default)]
    pub site_axis: Option<String>,
    /// Words per site value (lowercase; matched as whole words or prefixes
    /// of words, e.g. `palm` matches "palms").
    #[serde(default)]
    pub site_terms: BTreeMap<String, Vec<String>>,
    /// How many facts each request offers.
    pub facts_per_request: usize,
    /// Bounds on the vignette or question, in characters.
    pub text_chars: [usize; 2],
    /// Bounds on the reference answer, in characters.
    pub answer_chars: [usize; 2],
    /// The language check: the items' language (an ISO 639-1 code, for
    /// display) and common words of it; at least `min_share` of an item's
    /// words must be among them.
    pub language: LanguageCheck,
    /// Answers that must advise seeing a clinician when the patient's text
    /// shows a warning sign.
    #[serde(default)]
    pub red_flags: Vec<RedFlagRule>,
}

/// The language check of [`AugmentSpec::language`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LanguageCheck {
    /// ISO 639-1 code, e.g. `en`.
    pub code: String,
    /// Common (function) words of the language, lowercase.
    pub common_words: Vec<String>,
    /// Least share of an item's words that are common words (0–1).
    pub min_share: f64,
}

/// A red-flag rule: when the patient's text (the vignette or question)
/// mentions any trigger, the answer must contain one of the advice phrases.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedFlagRule {
    /// Stable id, stored with each rejection.
    pub id: String,
    /// What the rule is about, for people.
    pub label: String,
    /// Warning-sign phrases, lowercase (matched case-insensitively, on word
    /// boundaries).
    pub triggers: Vec<String>,
    /// Phrases of advice to see a clinician, lowercase; the answer must
    /// contain at least one.
    pub advice: Vec<String>,
}

/// What is wrong with an `[augment]` section, naming the key.
pub(crate) fn validate(
    spec: &AugmentSpec,
    categories: &[String],
    strata: &BTreeMap<String, Vec<String>>,
    topics: &HashSet<&str>,
) -> Result<(), (String, String)> {
    let err = |key: &str, message: String| Err((key.to_owned(), message));
    if spec.intents.is_empty() {
        return err("augment.intents", "at least one intent is needed".into());
    }
    let mut seen = HashSet::new();
    for i in &spec.intents {
        if i.trim().is_empty() || !seen.insert(i.as_str()) {
            return err("augment.intents", format!("{i:?} is blank or listed twice"));
        }
    }
    for (table, keys, map) in [
        ("augment.category_topics", categories, &spec.category_topics),
        (
            "augment.intent_topics",
            &spec.intents[..],
            &spec.intent_topics,
        ),
    ] {
        for (key, list) in map {
            if !keys.contains(key) {
                return err(table, format!("{key:?} is not one of {keys:?}"));
            }
            if let Some(t) = list.iter().find(|t| !topics.contains(t.as_str())) {
                return err(table, format!("{key}: no seed fact has the topic {t:?}"));
            }
        }
    }
    match &spec.site_axis {
        Some(axis) => {
            let Some(values) = strata.get(axis) else {
                return err(
                    "augment.site_axis",
                    format!("{axis:?} is not a strata axis"),
                );
            };
            if let Some(k) = spec.site_terms.keys().find(|k| !values.contains(k)) {
                return err(
                    "augment.site_terms",
                    format!("{k:?} is not a value of {axis}"),
                );
            }
        }
        None if !spec.site_terms.is_empty() => {
            return err(
                "augment.site_terms",
                "site_terms needs site_axis (the strata axis they belong to)".into(),
            );
        }
        None => {}
    }
    if spec.facts_per_request == 0 {
        return err("augment.facts_per_request", "must be at least 1".into());
    }
    for (key, [lo, hi]) in [
        ("augment.text_chars", spec.text_chars),
        ("augment.answer_chars", spec.answer_chars),
    ] {
        if lo == 0 || lo > hi {
            return err(
                key,
                format!("[{lo}, {hi}] is not a range of at least one character"),
            );
        }
    }
    let l = &spec.language;
    if l.common_words.is_empty() || !(0.0..=1.0).contains(&l.min_share) {
        return err(
            "augment.language",
            "common_words must not be empty and min_share must lie in 0–1".into(),
        );
    }
    let mut rule_ids = HashSet::new();
    for r in &spec.red_flags {
        if r.id.trim().is_empty() || !rule_ids.insert(r.id.as_str()) {
            return err(
                "augment.red_flags",
                format!("rule id {:?} is blank or used twice", r.id),
            );
        }
        if r.triggers
            .iter()
            .chain(&r.advice)
            .any(|p| p.trim().is_empty())
            || r.triggers.is_empty()
            || r.advice.is_empty()
        {
            return err(
                "augment.red_flags",
                format!("{}: triggers and advice must be non-empty phrases", r.id),
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::domain::{DomainPack, PackError};

    /// The embedded pack with `from` replaced by `to` in `pack.toml`.
    fn with_manifest(from: &str, to: &str) -> Result<DomainPack, PackError> {
        let manifest = include_str!("../../data/hyperhidrosis/pack.toml");
        assert!(manifest.contains(from), "{from}");
        DomainPack::parse(
            &manifest.replacen(from, to, 1),
            include_str!("../../data/hyperhidrosis/sources.json"),
            include_str!("../../data/hyperhidrosis/seed_facts.json"),
            include_str!("../../data/hyperhidrosis/eval_items.json"),
        )
    }

    #[test]
    fn a_bad_augment_section_is_refused_naming_the_key() {
        let cases = [
            (
                "facts_per_request = 6",
                "facts_per_request = 0",
                "augment.facts_per_request",
            ),
            (
                "daily_coping = [\"daily_life\"]",
                "daily_coping = [\"astrology\"]",
                "augment.intent_topics",
            ),
            (
                "treatment = [\"treatment\", \"severity\"]",
                "treatmnt = [\"treatment\"]",
                "augment.category_topics",
            ),
            (
                "palmar = [\"palm\", \"hand\"]",
                "wrist = [\"wrist\"]",
                "augment.site_terms",
            ),
            (
                "site_axis = \"site\"",
                "site_axis = \"limb\"",
                "augment.site_axis",
            ),
            (
                "text_chars = [40, 1500]",
                "text_chars = [1500, 40]",
                "augment.text_chars",
            ),
            ("min_share = 0.2", "min_share = 1.5", "augment.language"),
            (
                "id = \"secondary_cause\"",
                "id = \" \"",
                "augment.red_flags",
            ),
            (
                "- what the patient wants: {intent}",
                "- mood: {mood}",
                "prompts.",
            ),
            ("Facts:\n{facts}", "Facts: none", "prompts."),
        ];
        for (from, to, key) in cases {
            let err = with_manifest(from, to).expect_err(to).to_string();
            assert!(err.contains(key), "{to}: {err}");
        }
        let unknown = with_manifest(
            "facts_per_request = 6",
            "facts_per_request = 6\nfacts_per_requests = 6",
        );
        assert!(
            unknown
                .expect_err("typo")
                .to_string()
                .contains("facts_per_requests")
        );
    }
}
