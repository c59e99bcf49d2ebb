//! The notifiers' errors, each with a stable `errorType`.

use common::{ConfigError, ErrorKind};

/// A failed enrichment call (`DescribeParameters`, `DescribeCertificate`). Never fatal: the
/// notification goes out from the event alone and says what could not be checked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    #[error("not found")]
    NotFound,
    #[error("access denied: {0}")]
    AccessDenied(String),
    #[error("unavailable: {0}")]
    Unavailable(String),
}

/// A failed publish.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotifyError {
    #[error("SNS denied the publish: {0}")]
    AccessDenied(String),
    #[error("SNS topic not found: {0}")]
    TopicNotFound(String),
    /// Throttling, time-outs, server errors: EventBridge's retry of the invocation may succeed.
    #[error("SNS unavailable: {0}")]
    Unavailable(String),
    #[error("SNS refused the message: {0}")]
    Refused(String),
}

/// What fails an invocation.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error(transparent)]
    Configuration(#[from] ConfigError),
    #[error("invalid event: {0}")]
    InvalidEvent(String),
    #[error("the notification was not sent: {0}")]
    Publish(#[from] NotifyError),
}

impl ErrorKind for HandlerError {
    fn error_type(&self) -> &'static str {
        match self {
            Self::Configuration(_) => "Notify.InvalidConfiguration",
            Self::InvalidEvent(_) => "Notify.InvalidEvent",
            Self::Publish(NotifyError::AccessDenied(_)) => "Notify.PublishDenied",
            Self::Publish(NotifyError::TopicNotFound(_)) => "Notify.TopicNotFound",
            Self::Publish(NotifyError::Unavailable(_)) => "Notify.PublishUnavailable",
            Self::Publish(NotifyError::Refused(_)) => "Notify.PublishRefused",
        }
    }
}

impl From<HandlerError> for lambda_runtime::Diagnostic {
    fn from(err: HandlerError) -> Self {
        common::diagnostic(&err)
    }
}
