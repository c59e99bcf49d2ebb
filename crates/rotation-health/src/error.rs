//! What fails an invocation, each with a stable `errorType`.

use common::aws::{AwsError, AwsErrorKind};
use common::{ConfigError, ErrorKind};
use notification::HandlerError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Configuration(#[from] ConfigError),
    /// An event the notifier pipeline refused, or a notification SNS did not take.
    #[error(transparent)]
    Notify(#[from] HandlerError),
    /// A direct invocation that is not `{"Action": "sweep"}`.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The state store (Parameter Store, under `STATE_PATH`) could not be read or written.
    #[error("the rotation-health state could not be kept: {0}")]
    State(#[source] AwsError),
    /// The list of further secrets (`SECRETS_PARAMETER`) could not be read.
    #[error("the list of secrets to sweep could not be read: {0}")]
    SecretList(#[source] AwsError),
}

impl ErrorKind for Error {
    fn error_type(&self) -> &'static str {
        match self {
            Self::Configuration(_) | Self::Notify(HandlerError::Configuration(_)) => {
                "Health.InvalidConfiguration"
            }
            Self::Notify(e) => e.error_type(),
            Self::InvalidRequest(_) => "Health.InvalidRequest",
            Self::State(e) => match e.kind {
                AwsErrorKind::Denied { .. } => "Health.StateDenied",
                AwsErrorKind::Throttled | AwsErrorKind::Unavailable => "Health.StateUnavailable",
                AwsErrorKind::NotFound | AwsErrorKind::Rejected => "Health.StateRefused",
            },
            Self::SecretList(_) => "Health.SecretListUnavailable",
        }
    }
}

impl From<Error> for lambda_runtime::Diagnostic {
    fn from(err: Error) -> Self {
        common::diagnostic(&err)
    }
}

#[cfg(test)]
mod tests {
    use common::aws::Service;

    use super::*;

    #[test]
    fn each_failure_has_its_documented_type() {
        let aws = |kind| AwsError::new(Service::Ssm, kind, Some("Code"), "said SSM");
        for (err, error_type) in [
            (
                Error::Configuration(ConfigError::new("TOPIC_ARN", "must be set")),
                "Health.InvalidConfiguration",
            ),
            (
                Error::Notify(HandlerError::Configuration(ConfigError::new("X", "y"))),
                "Health.InvalidConfiguration",
            ),
            (Error::Notify(HandlerError::InvalidEvent("x".into())), "Notify.InvalidEvent"),
            (Error::Notify(HandlerError::Publish(aws(AwsErrorKind::Throttled))), "Notify.PublishUnavailable"),
            (Error::InvalidRequest("x".into()), "Health.InvalidRequest"),
            (Error::State(aws(AwsErrorKind::Denied { kms: false })), "Health.StateDenied"),
            (Error::State(aws(AwsErrorKind::Unavailable)), "Health.StateUnavailable"),
            (Error::State(aws(AwsErrorKind::Throttled)), "Health.StateUnavailable"),
            (Error::State(aws(AwsErrorKind::Rejected)), "Health.StateRefused"),
            (Error::SecretList(aws(AwsErrorKind::Denied { kms: false })), "Health.SecretListUnavailable"),
        ] {
            assert_eq!(err.error_type(), error_type, "{err}");
        }
    }
}
