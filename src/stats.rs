//! Pure statistics behind a study's results: means with 95 % Student t-intervals,
//! Krippendorff's α for inter-rater agreement, and Bradley–Terry preference
//! strengths with bootstrap intervals.
//!
//! Everything here takes plain numbers, slices and the small types defined in
//! this module; turning rating rows into those inputs is the job of
//! [`review::results`](crate::review::results).

mod agreement;
mod bradley_terry;
mod intervals;
pub(crate) mod rng;

pub use agreement::krippendorff_alpha_ordinal;
pub use bradley_terry::{Comparison, Strength, bradley_terry, strengths};
pub use intervals::{mean_ci, student_t_cdf, student_t_quantile};
