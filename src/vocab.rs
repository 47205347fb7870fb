//! The closed vocabularies of the loop, one enum each.
//!
//! Every word that the database stores in a `CHECK`ed text column, that the
//! core branches on, or that the UI switches on is one of these enums: the
//! store decodes a column straight into its enum (an unknown word is an error
//! that names the table, row and column, never a silent default), serde and
//! the generated TypeScript bindings spell them in `snake_case`, and the CLI
//! parses them with [`std::str::FromStr`]. The SQL `CHECK` constraints in the
//! migrations list the same words; a unit test keeps each enum and its
//! `CHECK` in step.

use std::fmt;
use std::str::FromStr;

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use serde::{Deserialize, Serialize};

/// A word that is not part of a vocabulary.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {vocabulary} {word:?} (expected one of {expected})")]
pub struct UnknownWord {
    /// Which vocabulary (`specialty`, `harm level`, …).
    pub vocabulary: &'static str,
    /// The word that was given.
    pub word: String,
    /// The allowed words, comma-separated.
    pub expected: String,
}

macro_rules! vocabulary {
    (
        $(#[$meta:meta])*
        $name:ident, $what:literal {
            $( $(#[$vmeta:meta])* $variant:ident = $word:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[cfg_attr(feature = "specta", derive(specta::Type))]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $( $(#[$vmeta])* #[serde(rename = $word)] $variant, )+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// What this vocabulary is called in messages.
            pub const NAME: &'static str = $what;

            /// The stored (and serialized) word.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $word,)+
                }
            }

            /// The allowed words, comma-separated, for messages.
            pub fn expected() -> String {
                [$($word),+].join(", ")
            }
        }

        impl From<$name> for &'static str {
            fn from(value: $name) -> Self {
                value.as_str()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.pad(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownWord;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($word => Ok($name::$variant),)+
                    _ => Err(UnknownWord {
                        vocabulary: $what,
                        word: s.to_owned(),
                        expected: Self::expected(),
                    }),
                }
            }
        }

        impl ToSql for $name {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::from(self.as_str()))
            }
        }

        impl FromSql for $name {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
                let text = value.as_str()?;
                text.parse().map_err(|e: UnknownWord| FromSqlError::Other(Box::new(e)))
            }
        }
    };
}

vocabulary! {
    /// A rater's specialty.
    Specialty, "specialty" {
        /// Dermatologist.
        Dermatology = "dermatology",
        /// Psychologist.
        Psychology = "psychology",
        /// Any other clinician.
        Other = "other",
    }
}

vocabulary! {
    /// A scored axis of the rubric. The code supports exactly these three,
    /// each scored on the 1–5 scale; a pack that asks for another is refused
    /// at load (see `domain`).
    Axis, "rubric axis" {
        /// Accuracy 1–5.
        Accuracy = "accuracy",
        /// Appropriateness 1–5.
        Appropriateness = "appropriateness",
        /// Empathy 1–5.
        Empathy = "empathy",
    }
}

/// The lowest score of every axis.
pub const SCORE_MIN: i64 = 1;
/// The highest score of every axis.
pub const SCORE_MAX: i64 = 5;

vocabulary! {
    /// Possible harm of an answer (the safety flag).
    HarmLevel, "harm level" {
        /// No harm.
        None = "none",
        /// Mild or moderate harm.
        MildModerate = "mild_moderate",
        /// Severe harm.
        Severe = "severe",
    }
}

vocabulary! {
    /// How likely the flagged harm is.
    HarmLikelihood, "harm likelihood" {
        /// Low.
        Low = "low",
        /// Medium.
        Medium = "medium",
        /// High.
        High = "high",
    }
}

vocabulary! {
    /// The stored verdict of a side-by-side comparison.
    Verdict, "preference verdict" {
        /// One answer is better (the preferred generation is stored beside it).
        Better = "better",
        /// The answers are equally good.
        Tie = "tie",
        /// Every answer is bad.
        BothBad = "both_bad",
    }
}

vocabulary! {
    /// A blinded answer's letter, in the rater's order.
    AnswerLabel, "answer label" {
        /// First answer.
        A = "A",
        /// Second answer.
        B = "B",
        /// Third answer.
        C = "C",
        /// Fourth answer.
        D = "D",
    }
}

vocabulary! {
    /// A rater's preference as the review screen sends and shows it.
    Preference, "preference" {
        /// Answer A is better.
        BetterA = "better:A",
        /// Answer B is better.
        BetterB = "better:B",
        /// Answer C is better.
        BetterC = "better:C",
        /// Answer D is better.
        BetterD = "better:D",
        /// The answers are equally good.
        Tie = "tie",
        /// Every answer is bad.
        BothBad = "both_bad",
    }
}

impl Preference {
    /// "Answer `label` is better".
    pub fn better(label: AnswerLabel) -> Self {
        match label {
            AnswerLabel::A => Preference::BetterA,
            AnswerLabel::B => Preference::BetterB,
            AnswerLabel::C => Preference::BetterC,
            AnswerLabel::D => Preference::BetterD,
        }
    }

    /// The preferred answer's letter, for the `better:X` preferences.
    pub fn preferred_label(self) -> Option<AnswerLabel> {
        match self {
            Preference::BetterA => Some(AnswerLabel::A),
            Preference::BetterB => Some(AnswerLabel::B),
            Preference::BetterC => Some(AnswerLabel::C),
            Preference::BetterD => Some(AnswerLabel::D),
            Preference::Tie | Preference::BothBad => None,
        }
    }

    /// The stored verdict.
    pub fn verdict(self) -> Verdict {
        match self {
            Preference::Tie => Verdict::Tie,
            Preference::BothBad => Verdict::BothBad,
            _ => Verdict::Better,
        }
    }
}

vocabulary! {
    /// Where a rater stands with one assigned item.
    AssignmentStatus, "assignment status" {
        /// Not started.
        Pending = "pending",
        /// Rated in part; autosaved.
        Draft = "draft",
        /// Final.
        Submitted = "submitted",
    }
}

vocabulary! {
    /// Whether a study takes ratings.
    StudyStatus, "study status" {
        /// Being set up (not used by this version).
        Draft = "draft",
        /// Takes ratings.
        Open = "open",
        /// Closed; can be reopened.
        Closed = "closed",
    }
}

vocabulary! {
    /// Where a retraining round stands.
    RoundStatus, "round status" {
        /// Created, no dataset yet (not used by this version: a round is
        /// created with its dataset).
        Planned = "planned",
        /// Dataset built and checked; ready to train (or to resume).
        DatasetReady = "dataset_ready",
        /// A training run is in progress (or was killed: see its process).
        Training = "training",
        /// Trained and its model registered.
        Trained = "trained",
        /// Its model's answers were generated and a study opened.
        Evaluated = "evaluated",
        /// Training ended without a better model (kept, not registered).
        Failed = "failed",
    }
}

vocabulary! {
    /// Where a training example of a round came from.
    ExampleSource, "example source" {
        /// A training pair the domain pack ships.
        Pack = "pack",
        /// An approved synthetic item.
        Synthetic = "synthetic",
        /// A model's answer that experts rated well (see the selection rule).
        Validated = "validated",
        /// An answer an expert rewrote.
        Corrected = "corrected",
    }
}

vocabulary! {
    /// The half of a round's dataset an example belongs to.
    ExampleSplit, "example split" {
        /// Trained on.
        Train = "train",
        /// Held out to measure the validation loss.
        Val = "val",
    }
}

vocabulary! {
    /// Why a generator's answer did not become a synthetic item.
    RejectReason, "rejection reason" {
        /// The backend failed (HTTP error after its retries, timeout,
        /// dropped connection, engine error).
        BackendError = "backend_error",
        /// The answer was empty.
        Empty = "empty",
        /// The answer was far longer than any item (or cut off at the
        /// token limit).
        TooLong = "too_long",
        /// The answer was not JSON.
        InvalidJson = "invalid_json",
        /// JSON, but not the schema.
        Schema = "schema",
        /// A text outside the pack's length bounds.
        Length = "length",
        /// Not in the pack's language.
        Language = "language",
        /// No fact cited.
        NoFacts = "no_facts",
        /// A cited fact that was not offered.
        UnofferedFact = "unoffered_fact",
        /// A red-flag rule of the pack was ignored.
        RedFlag = "red_flag",
        /// A copy or near-copy of an evaluation item.
        EvalLeak = "eval_leak",
        /// A near-duplicate of an item already in the pool.
        Duplicate = "duplicate",
    }
}

vocabulary! {
    /// The state of an augmentation run.
    AugmentStatus, "augmentation run status" {
        /// Started and not finished (or killed: a rerun resumes it).
        Running = "running",
        /// Its quota is filled.
        Completed = "completed",
        /// Cancelled by the user; a rerun resumes it.
        Cancelled = "cancelled",
        /// It used its attempt budget before filling its quota.
        Exhausted = "exhausted",
    }
}

vocabulary! {
    /// Which structured-output mode a generator's server accepts.
    OutputMode, "structured output mode" {
        /// `response_format` with a JSON schema.
        JsonSchema = "json_schema",
        /// `response_format: json_object` (the schema only in the prompt).
        JsonObject = "json_object",
    }
}

vocabulary! {
    /// What a model is for.
    ModelRole, "model role" {
        /// The model under evaluation (a fine-tuned one).
        Candidate = "candidate",
        /// A model it is compared with.
        Baseline = "baseline",
        /// A model that writes synthetic data.
        Generator = "generator",
        /// A base model for fine-tuning.
        Base = "base",
    }
}

vocabulary! {
    /// Where a model runs.
    ModelKind, "model kind" {
        /// A GGUF file run by llama.cpp.
        Local = "local",
        /// An OpenAI-compatible endpoint.
        Remote = "remote",
    }
}

vocabulary! {
    /// Whether an item is a direct question or a short clinical vignette.
    ItemKind, "item kind" {
        /// A patient's question.
        Question = "question",
        /// A short vignette ending in the patient's question.
        Vignette = "vignette",
    }
}

vocabulary! {
    /// Where an item came from.
    ItemOrigin, "item origin" {
        /// Shipped in the domain pack.
        Seed = "seed",
        /// Written by a generator model.
        Synthetic = "synthetic",
        /// Written or corrected by an expert.
        Expert = "expert",
    }
}

vocabulary! {
    /// Which part of the data an item belongs to.
    ItemSplit, "item split" {
        /// The evaluation set: never training data.
        Eval = "eval",
        /// Training data.
        Train = "train",
        /// Validation data.
        Val = "val",
        /// Not yet assigned to a round.
        Pool = "pool",
    }
}

vocabulary! {
    /// An expert's decision on an item.
    ReviewStatus, "review status" {
        /// Awaiting an expert.
        Pending = "pending",
        /// Approved.
        Approved = "approved",
        /// Rejected.
        Rejected = "rejected",
    }
}

vocabulary! {
    /// The kinds of source a pack may cite.
    SourceKind, "source kind" {
        /// A clinical guideline.
        Guideline = "guideline",
        /// An expert consensus statement.
        Consensus = "consensus",
        /// A review article.
        Review = "review",
        /// A randomised or open trial.
        Trial = "trial",
        /// A survey or cohort study.
        Survey = "survey",
        /// A medical society's patient or professional page.
        Society = "society",
    }
}

vocabulary! {
    /// The state of a registered model's file.
    FileState, "file state" {
        /// Present, and its sha256 matches the registered one.
        Intact = "intact",
        /// Present, but changed since it was registered.
        Modified = "modified",
        /// Gone.
        Missing = "missing",
        /// A remote endpoint: there is no file.
        Remote = "remote",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words<T: Copy + Into<&'static str>>(all: &[T]) -> Vec<String> {
        all.iter().map(|&v| v.into().to_owned()).collect()
    }

    /// Each enum lists exactly the words of its SQL `CHECK` in the first migration.
    #[test]
    fn enums_match_the_sql_checks() {
        let sql = include_str!("store/migrations/0001_initial.sql");
        let check = |column: &str| -> Vec<String> {
            let needle = format!("{column} IN (");
            let at = sql
                .find(&needle)
                .unwrap_or_else(|| panic!("no CHECK for {column}"));
            let rest = &sql[at + needle.len()..];
            let end = rest.find(')').expect("closing parenthesis");
            rest[..end]
                .split(',')
                .map(|w| w.trim().trim_matches('\'').to_owned())
                .collect()
        };
        let cases: Vec<(&str, Vec<String>)> = vec![
            ("specialty", words(Specialty::ALL)),
            ("harm", words(HarmLevel::ALL)),
            ("harm_likelihood", words(HarmLikelihood::ALL)),
            ("verdict", words(Verdict::ALL)),
            ("kind", words(ItemKind::ALL)),
            ("origin", words(ItemOrigin::ALL)),
            ("split", words(ItemSplit::ALL)),
            ("review_status", words(ReviewStatus::ALL)),
            ("role", words(ModelRole::ALL)),
        ];
        for (column, expected) in cases {
            assert_eq!(check(column), expected, "{column}");
        }
        let augmentation = include_str!("store/migrations/0007_augmentation.sql");
        let check7 = |column: &str| -> Vec<String> {
            let needle = format!("{column} IN (");
            let rest = &augmentation[augmentation.find(&needle).expect(column) + needle.len()..];
            rest[..rest.find(')').expect(")")]
                .split(',')
                .map(|w| w.trim().trim_matches('\'').to_owned())
                .collect()
        };
        assert_eq!(check7("reason"), words(RejectReason::ALL));
        assert_eq!(check7("output_mode"), words(OutputMode::ALL));
        assert_eq!(check7("status"), words(AugmentStatus::ALL));
        // `status IN (` occurs for rounds, studies and assignments, in that order.
        let statuses: Vec<&str> = sql
            .match_indices("status IN (")
            .map(|(i, _)| &sql[i..])
            .collect();
        let list = |s: &str| -> Vec<String> {
            let rest = &s["status IN (".len()..];
            rest[..rest.find(')').expect(")")]
                .split(',')
                .map(|w| w.trim().trim_matches('\'').to_owned())
                .collect()
        };
        let study: Vec<String> = StudyStatus::ALL
            .iter()
            .map(|v| v.as_str().to_owned())
            .collect();
        let assignment: Vec<String> = AssignmentStatus::ALL
            .iter()
            .map(|v| v.as_str().to_owned())
            .collect();
        assert!(statuses.iter().any(|s| list(s) == study), "studies.status");
        let round: Vec<String> = RoundStatus::ALL
            .iter()
            .map(|v| v.as_str().to_owned())
            .collect();
        assert!(statuses.iter().any(|s| list(s) == round), "rounds.status");
        let all = include_str!("store/migrations/0005_round_datasets.sql");
        for (column, expected) in [
            ("source", words(ExampleSource::ALL)),
            ("split", words(ExampleSplit::ALL)),
        ] {
            let needle = format!(
                "{column} IN ({})",
                expected
                    .iter()
                    .map(|w| format!("'{w}'"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            assert!(all.contains(&needle), "round_examples.{column}: {needle}");
        }
        assert!(
            statuses.iter().any(|s| list(s) == assignment),
            "assignments.status"
        );
        let model_kind: Vec<String> = ModelKind::ALL
            .iter()
            .map(|v| v.as_str().to_owned())
            .collect();
        assert!(
            sql.contains(&format!(
                "kind IN ('{}', '{}')",
                model_kind[0], model_kind[1]
            )),
            "models.kind"
        );
    }

    #[test]
    fn words_round_trip_and_unknown_words_are_named() {
        for v in Preference::ALL {
            assert_eq!(v.as_str().parse::<Preference>(), Ok(*v));
            assert_eq!(
                serde_json::to_string(v).expect("json"),
                format!("\"{}\"", v.as_str())
            );
        }
        let err = "cardiology".parse::<Specialty>().expect_err("unknown");
        assert_eq!(
            err.to_string(),
            "unknown specialty \"cardiology\" (expected one of dermatology, psychology, other)"
        );
        assert_eq!(
            Preference::better(AnswerLabel::C).preferred_label(),
            Some(AnswerLabel::C)
        );
        assert_eq!(Preference::BothBad.verdict(), Verdict::BothBad);
    }
}
