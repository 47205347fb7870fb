//! Augmentation (stage 1 of the loop): synthetic vignettes and questions
//! from the cited seed corpus. This module holds the pure parts; the
//! generator backends, grounding checks, jobs and approval build on them.
//!
//! - [`quota`]: which strata the next items of a run fill, so that a run is
//!   balanced across every axis, and the balance report.

pub mod quota;
