//! The AWS SDK configuration shared by every client of a function.

use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// Loads the SDK configuration once, at cold start, from the standard sources: the Lambda
/// environment's credentials and region, `AWS_REGION`, and `AWS_ENDPOINT_URL` (which points every
/// client at a local AWS API such as the moto server of the local stack). `AWS_MAX_ATTEMPTS` and
/// `AWS_RETRY_MODE` tune the SDK's retries with backoff for throttling and transient errors.
pub async fn aws_sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
}

/// An AWS SDK error, reduced to what the adapters sort on. The texts come from the service's
/// error code and message (names, ARNs, actions) or from the transport, never from a body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SdkFailure {
    /// The service answered with an error.
    Service { code: String, message: String },
    /// No answer in time.
    Timeout,
    /// The request could not be sent (connection refused, DNS, TLS).
    Unreachable(String),
    /// An answer came that the SDK could not read.
    UnreadableResponse,
    /// The request could not be built, or an error the SDK does not classify.
    Other(String),
}

impl SdkFailure {
    /// Reduces `err`.
    pub fn of<E, R>(err: &SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        match err {
            SdkError::ServiceError(ctx) => Self::Service {
                code: ctx.err().code().unwrap_or("Unknown").to_owned(),
                message: ctx.err().message().unwrap_or("no message").to_owned(),
            },
            SdkError::TimeoutError(_) => Self::Timeout,
            SdkError::DispatchFailure(failure) if failure.is_timeout() => Self::Timeout,
            SdkError::DispatchFailure(_) => Self::Unreachable(crate::diagnostic::message_chain(err)),
            SdkError::ResponseError(_) => Self::UnreadableResponse,
            _ => Self::Other(crate::diagnostic::message_chain(err)),
        }
    }

    /// For a failure to get an answer (time-out, unreachable, unreadable), what happened: a
    /// transient failure worth retrying. `None` for a service error or an unclassified one.
    #[must_use]
    pub fn transport_detail(&self) -> Option<String> {
        match self {
            Self::Timeout => Some("the request timed out".into()),
            Self::Unreachable(detail) => Some(format!("the request could not be sent: {detail}")),
            Self::UnreadableResponse => Some("the response could not be read".into()),
            Self::Service { .. } | Self::Other(_) => None,
        }
    }
}
