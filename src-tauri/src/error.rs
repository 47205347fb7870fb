//! The one error type that crosses the IPC boundary.

use llm4sweat::generate::GenerateError;
use llm4sweat::inference::InferenceError;
use llm4sweat::models::ModelError;
use llm4sweat::review::ReviewError;
use llm4sweat::store::StoreError;
use serde::Serialize;

/// What kind of error it is: a closed set that the UI switches on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The thing asked for does not exist (or is not the caller's to see).
    NotFound,
    /// The request contradicts what is stored (a duplicate name, a submitted rating…).
    Conflict,
    /// The input breaks a rule; the message says which.
    Invalid,
    /// The database failed or holds a value that does not decode.
    Database,
    /// A model file or endpoint is unusable.
    Model,
    /// Generation failed.
    Inference,
    /// The user cancelled.
    Cancelled,
    /// Reading or writing a file failed.
    Io,
    /// A bug or a failed task.
    Internal,
}

/// An error as the UI receives it: a stable `code` to branch on, a message for
/// people, and optional details (the cause chain).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct AppError {
    /// What kind of error it is.
    pub code: ErrorCode,
    /// What went wrong, for people.
    pub message: String,
    /// The underlying causes, when there are any.
    pub details: Option<String>,
}

impl AppError {
    /// An error with `code` and `message`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            details: None,
        }
    }

    fn from_error(code: ErrorCode, e: &dyn std::error::Error) -> Self {
        let mut causes = Vec::new();
        let mut source = e.source();
        while let Some(s) = source {
            causes.push(s.to_string());
            source = s.source();
        }
        Self {
            code,
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
        write!(f, "{:?}: {}", self.code, self.message)
    }
}

impl std::error::Error for AppError {}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        let code = match &e {
            StoreError::NotFound { .. } => ErrorCode::NotFound,
            StoreError::Conflict(_)
            | StoreError::AlreadySubmitted(_)
            | StoreError::StudyNotOpen
            | StoreError::ItemsInUse(_)
            | StoreError::NewerSchema { .. } => ErrorCode::Conflict,
            StoreError::CreateDir { .. } => ErrorCode::Io,
            StoreError::Sqlite { .. } | StoreError::BadColumn(_) | StoreError::Json { .. } => {
                ErrorCode::Database
            }
        };
        Self::from_error(code, &e)
    }
}

impl From<ReviewError> for AppError {
    fn from(e: ReviewError) -> Self {
        let code = match &e {
            ReviewError::Store(_) | ReviewError::Generate(_) => {
                return match e {
                    ReviewError::Store(s) => s.into(),
                    ReviewError::Generate(g) => g.into(),
                    _ => Self::new(ErrorCode::Internal, "unreachable"),
                };
            }
            ReviewError::AlreadySubmitted(_) | ReviewError::NotReady { .. } => ErrorCode::Conflict,
            ReviewError::Io { .. } => ErrorCode::Io,
            ReviewError::Render(_) => ErrorCode::Internal,
            ReviewError::UnknownGroup { .. }
            | ReviewError::NoChart { .. }
            | ReviewError::BadName { .. }
            | ReviewError::ModelCount(_)
            | ReviewError::DuplicateModel(_)
            | ReviewError::ZeroOverlap
            | ReviewError::ZeroLimit
            | ReviewError::NoItems
            | ReviewError::UnknownAnswer(_)
            | ReviewError::ScoreOutOfRange { .. }
            | ReviewError::TextTooLong { .. }
            | ReviewError::Incomplete(_) => ErrorCode::Invalid,
        };
        Self::from_error(code, &e)
    }
}

impl From<llm4sweat::packages::PackageError> for AppError {
    fn from(e: llm4sweat::packages::PackageError) -> Self {
        use llm4sweat::packages::PackageError as P;
        match e {
            P::Store(s) => s.into(),
            P::Review(r) => r.into(),
            P::Export(_) | P::Read { .. } => Self::from_error(ErrorCode::Io, &e),
            P::NotAPackage { .. }
            | P::UnsafeEntry { .. }
            | P::TooLarge { .. }
            | P::NewerFormat { .. }
            | P::Tampered(_)
            | P::Malformed { .. }
            | P::WrongKind { .. } => Self::from_error(ErrorCode::Invalid, &e),
        }
    }
}

impl From<GenerateError> for AppError {
    fn from(e: GenerateError) -> Self {
        match e {
            GenerateError::Store(s) => s.into(),
            GenerateError::Inference(i) => i.into(),
            GenerateError::NoItems => Self::from_error(ErrorCode::Invalid, &e),
            GenerateError::MissingFile { .. } | GenerateError::Gguf(_) => {
                Self::from_error(ErrorCode::Model, &e)
            }
        }
    }
}

impl From<InferenceError> for AppError {
    fn from(e: InferenceError) -> Self {
        Self::from_error(ErrorCode::Inference, &e)
    }
}

impl From<ModelError> for AppError {
    fn from(e: ModelError) -> Self {
        let code = match &e {
            ModelError::Store(_) => {
                return match e {
                    ModelError::Store(s) => s.into(),
                    _ => Self::new(ErrorCode::Internal, "unreachable"),
                };
            }
            ModelError::Cancelled => ErrorCode::Cancelled,
            ModelError::Io { .. } => ErrorCode::Io,
            ModelError::BadName(_)
            | ModelError::BadEndpoint { .. }
            | ModelError::MissingRemoteModel
            | ModelError::BadKeyVariable(_)
            | ModelError::SettingOutOfRange { .. }
            | ModelError::UnknownModel { .. } => ErrorCode::Invalid,
            ModelError::Manifest(_)
            | ModelError::Gguf(_)
            | ModelError::FetchFailed { .. }
            | ModelError::Source(_) => ErrorCode::Model,
        };
        Self::from_error(code, &e)
    }
}

impl From<llm4sweat::domain::PackError> for AppError {
    fn from(e: llm4sweat::domain::PackError) -> Self {
        Self::from_error(ErrorCode::Invalid, &e)
    }
}

impl From<llm4sweat::export::ExportError> for AppError {
    fn from(e: llm4sweat::export::ExportError) -> Self {
        use llm4sweat::export::ExportError;
        match e {
            ExportError::Store(s) => s.into(),
            ExportError::NotRegular { .. } => Self::from_error(ErrorCode::Invalid, &e),
            ExportError::Write { .. } => Self::from_error(ErrorCode::Io, &e),
        }
    }
}

impl From<llm4sweat::rounds::RoundError> for AppError {
    fn from(e: llm4sweat::rounds::RoundError) -> Self {
        use llm4sweat::rounds::RoundError;
        use llm4sweat::train::TrainError;
        match e {
            RoundError::Store(s) => s.into(),
            RoundError::Export(x) => x.into(),
            RoundError::Leak(_) | RoundError::EmptySplit { .. } | RoundError::Config(_) => {
                Self::from_error(ErrorCode::Invalid, &e)
            }
            RoundError::State { .. } => Self::from_error(ErrorCode::Conflict, &e),
            RoundError::NotTrainable { .. } | RoundError::Register { .. } => {
                Self::from_error(ErrorCode::Model, &e)
            }
            RoundError::Train {
                source: TrainError::Cancelled { .. },
                ..
            } => Self::from_error(ErrorCode::Cancelled, &e),
            RoundError::Train { .. } => Self::from_error(ErrorCode::Inference, &e),
        }
    }
}

impl From<llm4sweat::augment::run::AugmentError> for AppError {
    fn from(e: llm4sweat::augment::run::AugmentError) -> Self {
        use llm4sweat::augment::run::AugmentError;
        match e {
            AugmentError::Store(s) => s.into(),
            AugmentError::PackNotReady { .. }
            | AugmentError::WrongPack { .. }
            | AugmentError::Options(_) => Self::from_error(ErrorCode::Invalid, &e),
        }
    }
}

impl From<llm4sweat::augment::review::ReviewError> for AppError {
    fn from(e: llm4sweat::augment::review::ReviewError) -> Self {
        use llm4sweat::augment::review::ReviewError;
        match e {
            ReviewError::Store(s) => s.into(),
            ReviewError::Pack(p) => p.into(),
            // A refused edit: the message says which check failed.
            ReviewError::Edit(_) => Self::from_error(ErrorCode::Invalid, &e),
        }
    }
}

impl From<std::io::Error> for AppError {
    fn from(e: std::io::Error) -> Self {
        Self::from_error(ErrorCode::Io, &e)
    }
}
