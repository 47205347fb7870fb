//! The one error type that crosses the IPC boundary.

use llm4sweat::generate::GenerateError;
use llm4sweat::inference::InferenceError;
use llm4sweat::models::ModelError;
use llm4sweat::review::ReviewError;
use llm4sweat::store::StoreError;
use serde::Serialize;

/// An error as the UI receives it: a stable `code` to branch on, a message for
/// people, and optional details (the cause chain).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct AppError {
    /// Stable machine-readable code: `not_found`, `conflict`, `invalid`,
    /// `database`, `model`, `inference`, `cancelled`, `io`, `internal`.
    pub code: String,
    /// What went wrong, for people.
    pub message: String,
    /// The underlying causes, when there are any.
    pub details: Option<String>,
}

impl AppError {
    /// An error with `code` and `message`.
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Self {
            code: code.to_owned(),
            message: message.into(),
            details: None,
        }
    }

    fn from_error(code: &str, e: &dyn std::error::Error) -> Self {
        let mut causes = Vec::new();
        let mut source = e.source();
        while let Some(s) = source {
            causes.push(s.to_string());
            source = s.source();
        }
        Self {
            code: code.to_owned(),
            message: e.to_string(),
            details: if causes.is_empty() {
                None
            } else {
                Some(causes.join("\n"))
            },
        }
    }
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for AppError {}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        let code = match &e {
            StoreError::NotFound { .. } => "not_found",
            StoreError::Conflict(_) => "conflict",
            _ => "database",
        };
        Self::from_error(code, &e)
    }
}

impl From<ReviewError> for AppError {
    fn from(e: ReviewError) -> Self {
        match e {
            ReviewError::Store(s) => s.into(),
            ReviewError::Generate(g) => g.into(),
            ReviewError::Invalid(_) => Self::from_error("invalid", &e),
        }
    }
}

impl From<GenerateError> for AppError {
    fn from(e: GenerateError) -> Self {
        match e {
            GenerateError::Store(s) => s.into(),
            GenerateError::Inference(i) => i.into(),
            GenerateError::NoItems => Self::from_error("invalid", &e),
            _ => Self::from_error("model", &e),
        }
    }
}

impl From<InferenceError> for AppError {
    fn from(e: InferenceError) -> Self {
        Self::from_error("inference", &e)
    }
}

impl From<ModelError> for AppError {
    fn from(e: ModelError) -> Self {
        match e {
            ModelError::Store(s) => s.into(),
            ModelError::Cancelled => Self::new("cancelled", "cancelled"),
            _ => Self::from_error("model", &e),
        }
    }
}

impl From<llm4sweat::domain::PackError> for AppError {
    fn from(e: llm4sweat::domain::PackError) -> Self {
        Self::from_error("invalid", &e)
    }
}

impl From<std::io::Error> for AppError {
    fn from(e: std::io::Error) -> Self {
        Self::from_error("io", &e)
    }
}
