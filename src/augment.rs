//! Augmentation (stage 1 of the loop): synthetic vignettes and questions
//! from the cited seed corpus, balanced over the pack's strata, grounded in
//! offered facts, validated, and approved by an expert before any round can
//! train on them.
//!
//! - [`spec`]: the pack's `[augment]` section (intents, fact topics, site
//!   words, length bounds, language check, red-flag rules).
//! - [`quota`]: which strata the next items of a run fill, so that a run is
//!   balanced across every axis, and the balance report.
//! - [`prompt`]: the facts a request offers and the filled-in template.
//! - [`schema`]: the JSON an item is returned in, its JSON Schema and the
//!   strict parse.
//! - [`validate`]: the checks an answer passes before it is stored.
//! - [`run`]: the resumable job.
//! - [`review`]: the experts' decisions.

pub mod prompt;
pub mod quota;
pub mod review;
pub mod run;
pub mod schema;
pub mod spec;
pub mod validate;

/// Seconds as `1h02m`, `3m05s` or `42s`, for ETAs.
pub fn format_duration(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    match (s / 3600, s % 3600 / 60, s % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, s) => format!("{m}m{s:02}s"),
        (h, m, _) => format!("{h}h{m:02}m"),
    }
}
