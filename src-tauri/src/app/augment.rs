//! The expert's approval queue for synthetic items and the augmentation
//! overview (runs, rejections, pool balance): the work behind the Synthetic
//! screen's commands.

use llm4sweat::augment::quota::AxisBalance;
use llm4sweat::augment::{review, run};
use llm4sweat::store::{Actor, AugmentRunRecord, ReviewCounts, ReviewDecision, SyntheticItem};
use llm4sweat::vocab::{AugmentStatus, RejectReason, ReviewStatus};
use serde::Serialize;

use super::{App, lock};
use crate::error::AppError;

/// Most items one queue read returns.
pub const MAX_QUEUE_LIMIT: u32 = 500;

/// Synthetic items in one review state, with the counts of every state.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
pub struct SyntheticQueue {
    /// The items, oldest first.
    pub items: Vec<SyntheticItem>,
    /// Pending, approved and rejected items.
    pub counts: ReviewCounts,
}

/// What an expert's decision did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
pub struct ReviewOutcome {
    /// The item's new state (an edit approves).
    pub status: ReviewStatus,
    /// The counts after the decision.
    pub counts: ReviewCounts,
}

/// How many answers of a run were refused for one reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
pub struct RejectionCount {
    /// Why.
    pub reason: RejectReason,
    /// How many.
    pub count: u64,
}

/// An augmentation run as the Synthetic screen shows it (its stored
/// settings stay out: the CLI's `augment show` prints them).
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
pub struct AugmentRunView {
    /// Run id.
    pub id: i64,
    /// The generator model's name.
    pub generator: String,
    /// Where it stands.
    pub status: AugmentStatus,
    /// Items wanted.
    pub requested: u64,
    /// Items accepted (stored for review).
    pub accepted: u64,
    /// Answers refused.
    pub rejected: u64,
    /// Prompt tokens spent.
    pub prompt_tokens: u64,
    /// Completion tokens spent.
    pub completion_tokens: u64,
    /// Cost in US dollars at the generator's configured prices.
    pub cost_usd: f64,
    /// Seconds spent running.
    pub elapsed_s: f64,
    /// When it started.
    pub created_at: String,
    /// When it ended, if it did.
    pub finished_at: Option<String>,
    /// Refused answers per reason, most frequent first.
    pub rejections: Vec<RejectionCount>,
}

/// Every run, the review counts and the balance of the synthetic pool.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
pub struct AugmentOverview {
    /// Runs, newest first.
    pub runs: Vec<AugmentRunView>,
    /// Pending, approved and rejected items.
    pub counts: ReviewCounts,
    /// Items per value of each quota axis over the items not rejected,
    /// with each axis's largest-to-smallest ratio; empty without a run.
    pub balance: Vec<AxisBalance>,
}

fn run_view(r: AugmentRunRecord, rejections: Vec<(RejectReason, u64)>) -> AugmentRunView {
    AugmentRunView {
        id: r.id.0,
        generator: r.generator,
        status: r.status,
        requested: r.requested,
        accepted: r.accepted,
        rejected: r.rejected,
        prompt_tokens: r.prompt_tokens,
        completion_tokens: r.completion_tokens,
        cost_usd: r.cost_usd,
        elapsed_s: r.elapsed_s,
        created_at: r.created_at,
        finished_at: r.finished_at,
        rejections: rejections
            .into_iter()
            .map(|(reason, count)| RejectionCount { reason, count })
            .collect(),
    }
}

impl App {
    /// Synthetic items in `status`, oldest first, at most `limit` (capped
    /// at [`MAX_QUEUE_LIMIT`]), with the counts of every state.
    pub fn synthetic_queue(
        &self,
        status: ReviewStatus,
        limit: u32,
    ) -> Result<SyntheticQueue, AppError> {
        let store = lock(&self.store);
        Ok(SyntheticQueue {
            items: store.synthetic_items(status, u64::from(limit.min(MAX_QUEUE_LIMIT)))?,
            counts: store.review_counts()?,
        })
    }

    /// Records `expert`'s decision on the pending item `external_id`, after
    /// the core's checks of an edit. The audit log names the rater profile
    /// when the expert is one, else the coordinator's desk (the expert's
    /// name is stored with the decision either way).
    pub fn review_synthetic(
        &self,
        external_id: &str,
        decision: &ReviewDecision,
        expert: &str,
    ) -> Result<ReviewOutcome, AppError> {
        let mut store = lock(&self.store);
        let expert = expert.trim();
        let actor = if store.raters()?.iter().any(|r| r.name == expert) {
            Actor::Rater(expert.to_owned())
        } else {
            Actor::Coordinator
        };
        let status = review::decide(
            &mut store,
            &self.pack,
            external_id,
            decision,
            expert,
            &actor,
        )?;
        Ok(ReviewOutcome {
            status,
            counts: store.review_counts()?,
        })
    }

    /// The runs with their rejections, the counts and the pool's balance.
    pub fn augment_overview(&self) -> Result<AugmentOverview, AppError> {
        let store = lock(&self.store);
        let runs = store
            .augment_runs()?
            .into_iter()
            .map(|r| {
                let rejections = store.augment_rejection_counts(r.id)?;
                Ok(run_view(r, rejections))
            })
            .collect::<Result<Vec<_>, AppError>>()?;
        Ok(AugmentOverview {
            runs,
            counts: store.review_counts()?,
            balance: run::stored_balance(&store, None)?,
        })
    }
}
