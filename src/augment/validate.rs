//! The checks every generated item passes before it is stored, in order:
//! size, JSON, schema, lengths, language, grounding (cited facts were
//! offered), the pack's red-flag rules, no copy of an evaluation item, no
//! near-duplicate of the pool. The first failing check is the rejection's
//! reason.
//!
//! # Near-duplicates and leaks
//!
//! Texts are compared on their normalised 5-character shingles
//! ([`crate::dedup`]). Against the pool, an item whose Jaccard index with a
//! pooled text is at least [`NEAR_DUPLICATE_JACCARD`] (0.5) is a duplicate
//! (MinHash screens, the exact index confirms). Against the evaluation set
//! the test is stricter, because a generated vignette can embed an
//! evaluation question in longer text, which dilutes the Jaccard index: an
//! item leaks when its Jaccard index with an evaluation item is at least 0.5
//! **or** when at least [`EVAL_CONTAINMENT`] (0.5) of the evaluation item's
//! shingles occur in the item. A light paraphrase (a few words changed)
//! keeps about 60 % of the shingles, so it is caught by both; a genuinely
//! different question about the same subject shares under 25 %.

use std::collections::HashSet;

use crate::augment::schema::{ParseFailure, ParsedItem, parse_item};
use crate::augment::spec::{AugmentSpec, RedFlagRule};
use crate::dedup::{
    NEAR_DUPLICATE_JACCARD, SCREEN_MARGIN, Signature, estimated_jaccard, normalise,
};
use crate::vocab::{ItemKind, RejectReason};

/// An answer longer than this (in bytes) is refused before it is parsed.
pub const MAX_OUTPUT_BYTES: usize = 64 * 1024;

/// Share of an evaluation item's shingles found in a generated text from
/// which the text counts as containing it.
pub const EVAL_CONTAINMENT: f64 = 0.5;

/// Why an answer was refused, for the stored rejection.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    /// The reason, from a closed list.
    pub reason: RejectReason,
    /// What exactly was wrong, for people.
    pub detail: String,
}

impl Rejection {
    fn new(reason: RejectReason, detail: impl Into<String>) -> Self {
        Self {
            reason,
            detail: detail.into(),
        }
    }
}

/// The distinct 5-shingles of a normalised text, hashed.
fn shingle_set(text: &str) -> HashSet<u64> {
    let norm = normalise(text);
    crate::dedup::shingles(&norm)
        .into_iter()
        .map(|s| {
            let mut h: u64 = 0xcbf2_9ce4_8422_2325;
            for b in s.bytes() {
                h ^= u64::from(b);
                h = h.wrapping_mul(0x0100_0000_01b3);
            }
            h
        })
        .collect()
}

/// Texts already in the pool (or the evaluation set), ready for fast
/// comparison; items accepted during a run are added as they come.
#[derive(Debug, Default)]
pub struct TextIndex {
    entries: Vec<IndexEntry>,
}

#[derive(Debug)]
struct IndexEntry {
    id: String,
    signature: Signature,
    shingles: HashSet<u64>,
}

/// A pooled or evaluation text that an item matched, and how closely.
#[derive(Debug, Clone, PartialEq)]
pub struct Match {
    /// The matched text's id (an item's external id).
    pub id: String,
    /// Exact Jaccard index of the two shingle sets.
    pub jaccard: f64,
    /// Share of the matched text's shingles found in the item.
    pub containment: f64,
}

impl TextIndex {
    /// An index of `(id, text)` pairs.
    pub fn new<'a>(texts: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut index = Self::default();
        for (id, text) in texts {
            index.add(id, text);
        }
        index
    }

    /// Adds one text.
    pub fn add(&mut self, id: &str, text: &str) {
        self.entries.push(IndexEntry {
            id: id.to_owned(),
            signature: Signature::of(text),
            shingles: shingle_set(text),
        });
    }

    /// How many texts are indexed.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the index is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The closest text whose Jaccard index with `text` is at least
    /// [`NEAR_DUPLICATE_JACCARD`], screened by MinHash.
    pub fn near_duplicate(&self, text: &str) -> Option<Match> {
        let signature = Signature::of(text);
        if signature.is_empty() {
            return None;
        }
        let mut shingles: Option<HashSet<u64>> = None;
        let mut best: Option<Match> = None;
        for e in &self.entries {
            if estimated_jaccard(&signature, &e.signature) < NEAR_DUPLICATE_JACCARD - SCREEN_MARGIN
            {
                continue;
            }
            let s = shingles.get_or_insert_with(|| shingle_set(text));
            let m = compare(s, e);
            if m.jaccard >= NEAR_DUPLICATE_JACCARD
                && best.as_ref().is_none_or(|b| m.jaccard > b.jaccard)
            {
                best = Some(m);
            }
        }
        best
    }

    /// The evaluation text that `text` copies, paraphrases lightly or
    /// contains (see the module documentation), compared exactly with every
    /// indexed text.
    pub fn leak(&self, text: &str) -> Option<Match> {
        let s = shingle_set(text);
        if s.is_empty() {
            return None;
        }
        self.entries
            .iter()
            .map(|e| compare(&s, e))
            .filter(|m| m.jaccard >= NEAR_DUPLICATE_JACCARD || m.containment >= EVAL_CONTAINMENT)
            .max_by(|a, b| a.containment.total_cmp(&b.containment))
    }
}

fn compare(shingles: &HashSet<u64>, e: &IndexEntry) -> Match {
    let common = shingles.intersection(&e.shingles).count() as f64;
    let union = (shingles.len() + e.shingles.len()) as f64 - common;
    Match {
        id: e.id.clone(),
        jaccard: if union > 0.0 { common / union } else { 0.0 },
        containment: if e.shingles.is_empty() {
            0.0
        } else {
            common / e.shingles.len() as f64
        },
    }
}

/// Lowercase words of a text (letters and apostrophes).
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_alphabetic() || c == '\''))
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Whether lowercase `text` contains `phrase` between word boundaries.
fn contains_phrase(text: &str, phrase: &str) -> bool {
    let boundary = |c: Option<char>| c.is_none_or(|c| !c.is_alphanumeric());
    text.match_indices(phrase).any(|(i, _)| {
        boundary(text[..i].chars().next_back()) && boundary(text[i + phrase.len()..].chars().next())
    })
}

/// The first red-flag rule that `item` breaks: its text shows a trigger
/// and its answer holds none of the rule's advice phrases.
pub fn broken_red_flag<'a>(
    rules: &'a [RedFlagRule],
    text: &str,
    answer: &str,
) -> Option<(&'a RedFlagRule, &'a str)> {
    let text = text.to_lowercase();
    let answer = answer.to_lowercase();
    rules.iter().find_map(|r| {
        let trigger = r.triggers.iter().find(|t| contains_phrase(&text, t))?;
        (!r.advice.iter().any(|a| contains_phrase(&answer, a))).then_some((r, trigger.as_str()))
    })
}

/// Why `text` and `answer` together fail the pack's language check, if
/// they do: too small a share of their words are the language's common
/// words.
pub fn language_problem(spec: &AugmentSpec, text: &str, answer: &str) -> Option<String> {
    let all: Vec<String> = words(&format!("{text} {answer}"));
    let common: HashSet<&str> = spec
        .language
        .common_words
        .iter()
        .map(String::as_str)
        .collect();
    let share =
        all.iter().filter(|w| common.contains(w.as_str())).count() as f64 / all.len().max(1) as f64;
    (share < spec.language.min_share).then(|| {
        format!(
            "{:.0} % of the words are common {:?} words; at least {:.0} % are expected",
            share * 100.0,
            spec.language.code,
            spec.language.min_share * 100.0
        )
    })
}

/// What an answer is checked against.
pub struct Checks<'a> {
    /// The pack's augmentation rules.
    pub spec: &'a AugmentSpec,
    /// The evaluation items' texts.
    pub eval: &'a TextIndex,
    /// The pool's texts (pack training pairs and synthetic items not
    /// rejected by an expert, including this run's).
    pub pool: &'a TextIndex,
}

/// Checks one answer of the generator for an item of `kind` offered the
/// facts `offered`; the parsed item when every check passes.
pub fn check(
    checks: &Checks<'_>,
    kind: ItemKind,
    offered: &[String],
    raw: &str,
) -> Result<ParsedItem, Rejection> {
    use RejectReason as R;
    if raw.trim().is_empty() {
        return Err(Rejection::new(R::Empty, "the generator returned nothing"));
    }
    if raw.len() > MAX_OUTPUT_BYTES {
        return Err(Rejection::new(
            R::TooLong,
            format!(
                "the answer is {} bytes; no item is longer than {MAX_OUTPUT_BYTES}",
                raw.len()
            ),
        ));
    }
    let item = parse_item(kind, raw).map_err(|f| match f {
        ParseFailure::InvalidJson(m) => Rejection::new(R::InvalidJson, m),
        ParseFailure::Schema(m) => Rejection::new(R::Schema, m),
    })?;
    let spec = checks.spec;
    for (field, value, [lo, hi]) in [
        ("text", &item.text, spec.text_chars),
        ("answer", &item.answer, spec.answer_chars),
    ] {
        let n = value.trim().chars().count();
        if n < lo || n > hi {
            return Err(Rejection::new(
                R::Length,
                format!("the {field} has {n} characters; the pack allows {lo}–{hi}"),
            ));
        }
    }
    if let Some(problem) = language_problem(spec, &item.text, &item.answer) {
        return Err(Rejection::new(R::Language, problem));
    }
    if item.used_facts.is_empty() {
        return Err(Rejection::new(R::NoFacts, "the item cites no fact"));
    }
    let unoffered: Vec<&str> = item
        .used_facts
        .iter()
        .filter(|f| !offered.contains(f))
        .map(String::as_str)
        .collect();
    if !unoffered.is_empty() {
        return Err(Rejection::new(
            R::UnofferedFact,
            format!(
                "cites {} that {} not offered (offered: {})",
                unoffered.join(", "),
                if unoffered.len() == 1 { "was" } else { "were" },
                offered.join(", ")
            ),
        ));
    }
    if let Some((rule, trigger)) = broken_red_flag(&spec.red_flags, &item.text, &item.answer) {
        return Err(Rejection::new(
            R::RedFlag,
            format!(
                "{}: the text mentions {trigger:?} but the answer does not advise seeing a clinician",
                rule.id
            ),
        ));
    }
    if let Some(m) = checks.eval.leak(&item.text) {
        return Err(Rejection::new(
            R::EvalLeak,
            format!(
                "matches evaluation item {} (Jaccard {:.2}, {:.0} % of its text contained)",
                m.id,
                m.jaccard,
                m.containment * 100.0
            ),
        ));
    }
    if let Some(m) = checks.pool.near_duplicate(&item.text) {
        return Err(Rejection::new(
            R::Duplicate,
            format!("near-duplicate of {} (Jaccard {:.2})", m.id, m.jaccard),
        ));
    }
    Ok(item)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::DomainPack;

    const EVAL_Q: &str = "I'm 15 and my hands drip sweat even when I'm not nervous, like in a cold classroom. My mom's hands were the same at my age. Is this a real condition or am I just weird?";

    fn json(text: &str, answer: &str, facts: &[&str]) -> String {
        serde_json::json!({ "question": text, "answer": answer, "used_facts": facts }).to_string()
    }

    const ANSWER: &str = "What you describe sounds hard, and it is a real, common condition rather than a personal failing. A clinician can confirm it and talk through treatments that help, starting with strong antiperspirants.";

    #[test]
    fn each_check_rejects_with_its_reason() {
        let pack = DomainPack::embedded_default().expect("pack");
        let spec = pack.manifest.augment.as_ref().expect("spec");
        let eval = TextIndex::new([("eval-001", EVAL_Q)]);
        let pool = TextIndex::new([(
            "pair-1",
            "My armpits soak through my shirts every single day at work and I am embarrassed. What can I do?",
        )]);
        let checks = Checks {
            spec,
            eval: &eval,
            pool: &pool,
        };
        let offered = vec!["f1".to_owned(), "f2".to_owned()];
        let q = "My feet sweat so much that my socks are wet by lunchtime and my shoes smell. Is there anything that helps?";
        let reason = |raw: &str| {
            check(&checks, ItemKind::Question, &offered, raw)
                .map(|_| ())
                .map_err(|r| r.reason)
        };
        use RejectReason as R;
        assert_eq!(reason(&json(q, ANSWER, &["f1"])), Ok(()));
        assert_eq!(reason("  "), Err(R::Empty));
        assert_eq!(reason(&"x".repeat(MAX_OUTPUT_BYTES + 1)), Err(R::TooLong));
        assert_eq!(reason("{\"question\": "), Err(R::InvalidJson));
        assert_eq!(reason(r#"{"question":"q","answer":"a"}"#), Err(R::Schema));
        assert_eq!(reason(&json("Short?", ANSWER, &["f1"])), Err(R::Length));
        assert_eq!(
            reason(&json(
                "Mis pies sudan tanto que mis calcetines están mojados al mediodía. ¿Qué puedo hacer?",
                "Es una condición real y común; un médico puede confirmarla y hablar de tratamientos que ayudan mucho.",
                &["f1"]
            )),
            Err(R::Language)
        );
        assert_eq!(reason(&json(q, ANSWER, &[])), Err(R::NoFacts));
        assert_eq!(
            reason(&json(q, ANSWER, &["f1", "f9"])),
            Err(R::UnofferedFact)
        );
        let flagged = "For two months I have had night sweats and my feet drip during the day too. What should I use?";
        assert_eq!(
            reason(&json(
                flagged,
                "Strong antiperspirants and breathable socks help many people with sweaty feet; iontophoresis is another option for the soles.",
                &["f1"]
            )),
            Err(R::RedFlag)
        );
        assert_eq!(
            reason(&json(
                flagged,
                "Night sweats together with daytime sweating can have another cause, so please see a doctor soon to be checked before treating the sweating itself.",
                &["f1"]
            )),
            Ok(())
        );
        // A copy, a light paraphrase and an embedding of the evaluation question.
        assert_eq!(reason(&json(EVAL_Q, ANSWER, &["f1"])), Err(R::EvalLeak));
        let paraphrase = "I'm 15 and my hands drip sweat even when I'm calm, like in a chilly classroom. My mum's hands were the same at my age. Is this a real condition or am I just strange?";
        assert_eq!(reason(&json(paraphrase, ANSWER, &["f1"])), Err(R::EvalLeak));
        let embedded = format!(
            "Lena is a quiet student who asks her school nurse for help. She writes: {EVAL_Q} She hopes for an honest answer."
        );
        assert_eq!(reason(&json(&embedded, ANSWER, &["f1"])), Err(R::EvalLeak));
        assert_eq!(
            reason(&json(
                "My armpits soak through my shirts every single day at work and I feel embarrassed. What can I do?",
                ANSWER,
                &["f1"]
            )),
            Err(R::Duplicate)
        );
    }

    #[test]
    fn no_evaluation_item_of_the_pack_leaks_into_another_and_no_pair_is_flagged() {
        // The thresholds leave the pack's own different questions apart.
        let pack = DomainPack::embedded_default().expect("pack");
        let eval = TextIndex::new(pack.items.iter().map(|i| (i.id.as_str(), i.text.as_str())));
        let leaks = pack
            .train_pairs
            .iter()
            .filter_map(|p| eval.leak(&p.question).map(|m| (p.id.clone(), m)))
            .collect::<Vec<_>>();
        assert!(leaks.is_empty(), "{leaks:?}");
    }
}
