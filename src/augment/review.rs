//! Experts' decisions on synthetic items. Items start pending; only
//! approved ones can enter a round's dataset. An edit keeps the original
//! (`item_revisions`, with the editor) and must itself pass the checks a
//! generated item passes, apart from grounding: lengths, language, the
//! pack's red-flag rules, and no copy of an evaluation item.

use crate::augment::run::ready_spec;
use crate::augment::validate::{TextIndex, broken_red_flag, language_problem};
use crate::domain::DomainPack;
use crate::store::{Actor, ItemFilter, ReviewDecision, Store, StoreError};
use crate::vocab::{ItemSplit, ReviewStatus};

/// Why a decision was refused.
#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    /// The database refused (unknown item, not pending, no reason…).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The pack cannot be augmented.
    #[error(transparent)]
    Pack(#[from] crate::augment::run::AugmentError),
    /// The edited text fails a check.
    #[error("the edit is not saved: {0}")]
    Edit(String),
}

/// Records `decision` on the pending item `external_id` by `expert`.
pub fn decide(
    store: &mut Store,
    pack: &DomainPack,
    external_id: &str,
    decision: &ReviewDecision,
    expert: &str,
    actor: &Actor,
) -> Result<ReviewStatus, ReviewError> {
    if let ReviewDecision::Edit { text, answer } = decision {
        let spec = ready_spec(pack)?;
        for (field, value, [lo, hi]) in [
            ("text", text, spec.text_chars),
            ("answer", answer, spec.answer_chars),
        ] {
            let n = value.trim().chars().count();
            if n < lo || n > hi {
                return Err(ReviewError::Edit(format!(
                    "the {field} has {n} characters; the pack allows {lo}–{hi}"
                )));
            }
        }
        if let Some(problem) = language_problem(spec, text, answer) {
            return Err(ReviewError::Edit(problem));
        }
        if let Some((rule, trigger)) = broken_red_flag(&spec.red_flags, text, answer) {
            return Err(ReviewError::Edit(format!(
                "{} ({}): the text mentions {trigger:?}, so the answer must advise seeing a clinician",
                rule.id, rule.label
            )));
        }
        let eval = store.items(&ItemFilter {
            split: Some(ItemSplit::Eval),
            ..Default::default()
        })?;
        let index = TextIndex::new(
            eval.iter()
                .map(|i| (i.external_id.as_str(), i.text.as_str())),
        );
        if let Some(m) = index.leak(text) {
            return Err(ReviewError::Edit(format!(
                "the text matches evaluation item {} ({:.0} % of it contained); evaluation items never enter training data",
                m.id,
                m.containment * 100.0
            )));
        }
    }
    Ok(store.review_synthetic_item(external_id, decision, expert, actor)?)
}
