//! What can go wrong, each with a stable `errorType` and a message that says what to do.

use common::aws::{AwsError, AwsErrorKind};
use common::{ConfigError, ErrorKind};

use crate::name::NameError;

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    Configuration(#[from] ConfigError),

    /// The invocation event is not a request this function understands.
    #[error("invalid request: {reason}")]
    InvalidRequest { reason: String },

    /// The event is larger (or deeper) than any request: refused before it was read into memory.
    #[error("request refused: {reason}; a request is a few names, at most {max} bytes")]
    TooLarge { reason: String, max: usize },

    /// The request asks for more than the deployment allows (`mode: path` when it reads names).
    #[error("request not allowed: {reason}")]
    NotAllowed { reason: String },

    /// One or more requested names are malformed or outside the environment. All are listed.
    #[error("refused {} parameter name(s): {}", .errors.len(), join(.errors))]
    Names { errors: Vec<NameError> },

    /// Parameters that do not exist (or a version or label that does not). All are listed.
    #[error("missing parameter(s): {}; create them (aws ssm put-parameter) or fix PARAMETER_NAMES", .names.join(", "))]
    MissingParameters { names: Vec<String> },

    #[error(
        "{source}; allow ssm:GetParameters and ssm:GetParametersByPath on {scope}* in the function's role"
    )]
    AccessDenied { scope: String, source: AwsError },

    #[error(
        "{source}; allow kms:Decrypt on the parameters' key for the function's role (through ssm, kms:ViaService) and check the key is enabled"
    )]
    KmsDecryptDenied { source: AwsError },

    #[error(
        "{source}; lower the request rate, raise AWS_MAX_ATTEMPTS, or raise the Parameter Store throughput limit"
    )]
    Throttled { source: AwsError },

    #[error("{source}")]
    Refused { source: AwsError },

    #[error("{source}")]
    Unavailable { source: AwsError },

    /// `GetParametersByPath` kept returning pages past the limit, or repeated a token.
    #[error("reading {path} did not finish: {reason}")]
    Pagination { path: String, reason: String },
}

fn join(errors: &[NameError]) -> String {
    errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}

impl ReadError {
    /// Wraps a failed Parameter Store call by what a person does about it; `scope` is the path
    /// the function's role must be allowed to read.
    pub(crate) fn from_source(source: AwsError, scope: &str) -> Self {
        match source.kind {
            AwsErrorKind::Denied { kms: false } => Self::AccessDenied { scope: scope.to_owned(), source },
            AwsErrorKind::Denied { kms: true } => Self::KmsDecryptDenied { source },
            AwsErrorKind::Throttled => Self::Throttled { source },
            AwsErrorKind::Unavailable => Self::Unavailable { source },
            // A missing name comes back in `InvalidParameters` (MissingParameters); a not-found
            // code is a request Parameter Store refused as it stands, like a rejection.
            AwsErrorKind::Rejected | AwsErrorKind::NotFound => Self::Refused { source },
        }
    }
}

impl ErrorKind for ReadError {
    fn error_type(&self) -> &'static str {
        match self {
            Self::Configuration(_) => "Config.InvalidConfiguration",
            Self::InvalidRequest { .. } => "Config.InvalidRequest",
            Self::TooLarge { .. } => "Config.RequestTooLarge",
            Self::NotAllowed { .. } => "Config.RequestNotAllowed",
            Self::Names { errors } => {
                if errors.iter().all(|e| matches!(e, NameError::OutOfScope { .. })) {
                    "Config.NameOutOfScope"
                } else {
                    "Config.MalformedName"
                }
            }
            Self::MissingParameters { .. } => "Config.MissingParameter",
            Self::AccessDenied { .. } => "Config.AccessDenied",
            Self::KmsDecryptDenied { .. } => "Config.KmsDecryptDenied",
            Self::Throttled { .. } => "Config.Throttled",
            Self::Refused { .. } => "Config.RequestRefused",
            Self::Unavailable { .. } | Self::Pagination { .. } => "Config.Unavailable",
        }
    }
}

impl From<ReadError> for lambda_runtime::Diagnostic {
    fn from(err: ReadError) -> Self {
        common::diagnostic(&err)
    }
}
