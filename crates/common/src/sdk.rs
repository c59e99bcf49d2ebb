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

/// A failed call, sorted by what follows from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sorted {
    /// The resource does not exist.
    NotFound(String),
    /// IAM, KMS or the caller's credentials refuse it: a person must act.
    Denied(String),
    /// Throttling, a server error, no answer: a retry may succeed.
    Transient(String),
    /// Anything else the service refused.
    Refused(String),
}

/// A service's own error codes, by what they mean. Codes for bad credentials, which every
/// service may answer with, are always [`Sorted::Denied`].
#[derive(Debug, Clone, Copy)]
pub struct ErrorCodes {
    pub not_found: &'static [&'static str],
    pub denied: &'static [&'static str],
    pub transient: &'static [&'static str],
}

const CREDENTIAL_CODES: &[&str] = &["UnrecognizedClientException", "InvalidClientTokenId", "ExpiredToken", "ExpiredTokenException"];

/// Sorts `err` by `codes`. A service error's text is `<code>: <message>`; a failure to get an
/// answer is transient.
pub fn sort<E, R>(err: &SdkError<E, R>, codes: &ErrorCodes) -> Sorted
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match SdkFailure::of(err) {
        SdkFailure::Service { code, message } => {
            let code = code.as_str();
            let text = format!("{code}: {message}");
            if codes.not_found.contains(&code) {
                Sorted::NotFound(text)
            } else if codes.denied.contains(&code) || CREDENTIAL_CODES.contains(&code) {
                Sorted::Denied(text)
            } else if codes.transient.contains(&code) {
                Sorted::Transient(text)
            } else {
                Sorted::Refused(text)
            }
        }
        SdkFailure::Other(detail) => Sorted::Refused(detail),
        transport => Sorted::Transient(transport.transport_detail().unwrap_or_default()),
    }
}

#[cfg(test)]
mod tests {
    use aws_smithy_types::error::ErrorMetadata;

    use super::*;

    const CODES: ErrorCodes = ErrorCodes { not_found: &["NoSuchThing"], denied: &["AccessDenied"], transient: &["Throttling"] };

    fn service(code: &str) -> SdkError<ErrorMetadata, ()> {
        SdkError::service_error(ErrorMetadata::builder().code(code).message("said the service").build(), ())
    }

    #[test]
    fn sorts_by_the_service_codes_and_always_denies_bad_credentials() {
        assert_eq!(sort(&service("NoSuchThing"), &CODES), Sorted::NotFound("NoSuchThing: said the service".into()));
        assert_eq!(sort(&service("AccessDenied"), &CODES), Sorted::Denied("AccessDenied: said the service".into()));
        assert_eq!(sort(&service("ExpiredTokenException"), &CODES), Sorted::Denied("ExpiredTokenException: said the service".into()));
        assert_eq!(sort(&service("Throttling"), &CODES), Sorted::Transient("Throttling: said the service".into()));
        assert_eq!(sort(&service("ValidationError"), &CODES), Sorted::Refused("ValidationError: said the service".into()));
    }
}
