//! The notifiers' errors, each with a stable `errorType`. A failed AWS call (a publish, an
//! enrichment look-up) is a [`common::aws::AwsError`]; this is what fails an invocation.

use common::aws::{AwsError, AwsErrorKind};
use common::{ConfigError, ErrorKind};

/// What fails an invocation.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error(transparent)]
    Configuration(#[from] ConfigError),
    #[error("invalid event: {0}")]
    InvalidEvent(String),
    /// SNS did not take the notification.
    #[error("the notification was not sent: {0}")]
    Publish(#[from] AwsError),
    /// The parameter-hygiene audit could not list the parameters it audits.
    #[error("the parameter audit could not list {path}: {source}")]
    Audit { path: String, source: AwsError },
}

impl ErrorKind for HandlerError {
    fn error_type(&self) -> &'static str {
        match self {
            Self::Configuration(_) => "Notify.InvalidConfiguration",
            Self::InvalidEvent(_) => "Notify.InvalidEvent",
            Self::Publish(e) => match e.kind {
                AwsErrorKind::NotFound => "Notify.TopicNotFound",
                AwsErrorKind::Denied { .. } => "Notify.PublishDenied",
                // EventBridge's retry of the invocation may succeed.
                AwsErrorKind::Throttled | AwsErrorKind::Unavailable => "Notify.PublishUnavailable",
                AwsErrorKind::Rejected => "Notify.PublishRefused",
            },
            Self::Audit { .. } => "Notify.AuditFailed",
        }
    }
}

impl From<HandlerError> for lambda_runtime::Diagnostic {
    fn from(err: HandlerError) -> Self {
        common::diagnostic(&err)
    }
}

/// A failed enrichment look-up (`DescribeParameters`, `DescribeCertificate`) as a notification's
/// "Could not check" note says it: `access denied: <code>: <message>`, `unavailable: ...`. Never
/// fatal: the notification goes out from the event alone.
#[must_use]
pub fn lookup_failure(err: &AwsError) -> String {
    let what = match err.kind {
        AwsErrorKind::NotFound => "not found",
        AwsErrorKind::Denied { kms: false } => "access denied",
        AwsErrorKind::Denied { kms: true } => "access denied by KMS",
        AwsErrorKind::Throttled => "throttled",
        AwsErrorKind::Unavailable => "unavailable",
        AwsErrorKind::Rejected => "refused",
    };
    match &err.code {
        Some(code) => format!("{what}: {code}: {}", err.message),
        None => format!("{what}: {}", err.message),
    }
}

#[cfg(test)]
mod tests {
    use common::aws::Service;

    use super::*;

    #[test]
    fn each_kind_of_failed_publish_keeps_its_error_type() {
        for (kind, error_type) in [
            (AwsErrorKind::NotFound, "Notify.TopicNotFound"),
            (AwsErrorKind::Denied { kms: false }, "Notify.PublishDenied"),
            (AwsErrorKind::Denied { kms: true }, "Notify.PublishDenied"),
            (AwsErrorKind::Throttled, "Notify.PublishUnavailable"),
            (AwsErrorKind::Unavailable, "Notify.PublishUnavailable"),
            (AwsErrorKind::Rejected, "Notify.PublishRefused"),
        ] {
            let err = HandlerError::Publish(AwsError::new(Service::Sns, kind, Some("Code"), "said SNS"));
            assert_eq!(err.error_type(), error_type, "{kind:?}");
            assert!(err.to_string().contains("Code: said SNS"), "{err}");
        }
    }

    #[test]
    fn a_lookup_failure_says_what_went_wrong_with_the_code() {
        let denied = AwsError::new(
            Service::Acm,
            AwsErrorKind::Denied { kms: false },
            Some("AccessDeniedException"),
            "no acm:Describe",
        );
        assert_eq!(lookup_failure(&denied), "access denied: AccessDeniedException: no acm:Describe");
        let timeout = AwsError::new(Service::Ssm, AwsErrorKind::Unavailable, None, "the request timed out");
        assert_eq!(lookup_failure(&timeout), "unavailable: the request timed out");
    }
}
