//! Pure statistics behind a study's results: descriptives of scores with
//! Student t and bootstrap intervals, paired comparisons (mean difference,
//! Wilcoxon signed-rank test), inter-rater agreement (Krippendorff's α,
//! ICC(2,1) and ICC(2,k), quadratic-weighted Cohen's κ), Bradley–Terry
//! preference strengths with bootstrap intervals, and the distributions
//! behind them (Student's t, F, standard normal).
//!
//! Everything here takes plain numbers, slices and the small types defined in
//! this module; turning rating rows into those inputs is the job of
//! [`review::results`](crate::review::results).

mod agreement;
mod bradley_terry;
mod describe;
mod distributions;
mod icc;
mod intervals;
mod paired;
pub(crate) mod rng;
mod special;

pub use agreement::{
    Alpha, AlphaMetric, KAPPA_CATEGORIES, cohen_kappa_quadratic, krippendorff_alpha,
    krippendorff_alpha_ordinal,
};
pub use bradley_terry::{
    BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED, Comparison, Fit, FitMethod, Strength, bradley_terry, fit,
    strengths, strengths_fit,
};
pub use describe::{DESCRIBE_BOOTSTRAP_RESAMPLES, Descriptives, HIGH_SCORE, describe};
pub use distributions::{f_cdf, f_quantile, f_sf, normal_cdf, normal_sf};
pub use icc::{Icc, IccValue, icc_two_way_random};
pub use intervals::{Interval, mean_ci, student_t_cdf, student_t_quantile, t_interval};
pub use paired::{
    PairedComparison, SignedRank, SignedRankMethod, paired_comparison, wilcoxon_signed_rank,
};
pub use special::erfc;
