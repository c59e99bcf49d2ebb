//! What can go wrong, each with a stable `errorType` and a message that says what to do.

use common::{ConfigError, ErrorKind};

use crate::name::NameError;
use crate::source::SourceError;

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    Configuration(#[from] ConfigError),

    /// The invocation event is not a request this function understands.
    #[error("invalid request: {reason}")]
    InvalidRequest { reason: String },

    /// One or more requested names are malformed or outside the environment. All are listed.
    #[error("refused {} parameter name(s): {}", .errors.len(), join(.errors))]
    Names { errors: Vec<NameError> },

    /// Parameters that do not exist (or a version or label that does not). All are listed.
    #[error("missing parameter(s): {}; create them (aws ssm put-parameter) or fix PARAMETER_NAMES", .names.join(", "))]
    MissingParameters { names: Vec<String> },

    #[error("{source}; allow ssm:GetParameters and ssm:GetParametersByPath on {scope}* in the function's role")]
    AccessDenied { scope: String, source: SourceError },

    #[error(
        "{source}; allow kms:Decrypt on the parameters' key for the function's role (through ssm, kms:ViaService) and check the key is enabled"
    )]
    KmsDecryptDenied { source: SourceError },

    #[error("{source}; lower the request rate, raise AWS_MAX_ATTEMPTS, or raise the Parameter Store throughput limit")]
    Throttled { source: SourceError },

    #[error("{source}")]
    Refused { source: SourceError },

    #[error("{source}")]
    Unavailable { source: SourceError },

    /// `GetParametersByPath` kept returning pages past the limit, or repeated a token.
    #[error("reading {path} did not finish: {reason}")]
    Pagination { path: String, reason: String },
}

fn join(errors: &[NameError]) -> String {
    errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}

impl ReadError {
    pub(crate) fn from_source(source: SourceError, scope: &str) -> Self {
        match source {
            SourceError::AccessDenied { .. } => Self::AccessDenied { scope: scope.to_owned(), source },
            SourceError::KmsDecrypt { .. } => Self::KmsDecryptDenied { source },
            SourceError::Throttled { .. } => Self::Throttled { source },
            SourceError::Invalid { .. } => Self::Refused { source },
            SourceError::Unavailable { .. } => Self::Unavailable { source },
        }
    }
}

impl ErrorKind for ReadError {
    fn error_type(&self) -> &'static str {
        match self {
            Self::Configuration(_) => "Config.InvalidConfiguration",
            Self::InvalidRequest { .. } => "Config.InvalidRequest",
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
