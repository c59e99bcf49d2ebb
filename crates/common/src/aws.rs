//! One model of a failed AWS call for every adapter: which service, what kind of failure (what a
//! person or a retry does about it), and the service's code and message.
//!
//! A failure is sorted, in this order, by: the SDK's own view of it (a time-out or a request that
//! never left is [`AwsErrorKind::Unavailable`]); the error kind the SDK's model gives the code
//! (throttling, transient, server); the throttling and transient code lists the SDK's retry
//! classifier keeps, with each service's own throttling codes ([`Service::throttling_codes`]);
//! the HTTP status (429 is throttling, 5xx unavailable); and last a short table of each service's
//! not-found and denied codes ([`Service::not_found_codes`], [`Service::denied_codes`]). A new
//! code is one line in these tables.

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::http::Response;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use aws_smithy_types::retry::{ErrorKind as RetryKind, ProvideErrorKind};

/// The services the functions call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    Ssm,
    SecretsManager,
    Kms,
    Sns,
    Acm,
    Rds,
    Lambda,
}

impl Service {
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Ssm => "Parameter Store",
            Self::SecretsManager => "Secrets Manager",
            Self::Kms => "KMS",
            Self::Sns => "SNS",
            Self::Acm => "ACM",
            Self::Rds => "the RDS API",
            Self::Lambda => "Lambda",
        }
    }

    /// The codes by which this service says a resource does not exist.
    #[must_use]
    pub(crate) fn not_found_codes(self) -> &'static [&'static str] {
        match self {
            Self::Ssm => &["ParameterNotFound", "ParameterVersionNotFound"],
            Self::SecretsManager | Self::Acm | Self::Lambda => &["ResourceNotFoundException"],
            Self::Kms => &["NotFoundException"],
            Self::Sns => &["NotFound", "NotFoundException"],
            Self::Rds => &[
                "DBInstanceNotFound",
                "DBInstanceNotFoundFault",
                "DBClusterNotFoundFault",
                "DBClusterNotFound",
            ],
        }
    }

    /// The codes by which this service says the caller may not do it (beyond the codes every
    /// service answers bad credentials with).
    #[must_use]
    pub(crate) fn denied_codes(self) -> &'static [&'static str] {
        match self {
            Self::Sns => &[
                "AuthorizationError",
                "AuthorizationErrorException",
                "AccessDenied",
                "AccessDeniedException",
                "KMSAccessDenied",
                "KMSDisabled",
                "KMSInvalidState",
            ],
            Self::SecretsManager => &["AccessDeniedException", "DecryptionFailure", "EncryptionFailure"],
            Self::Ssm | Self::Acm | Self::Kms | Self::Rds | Self::Lambda => {
                &["AccessDeniedException", "AccessDenied"]
            }
        }
    }

    /// The codes by which this service says it, or KMS behind it, throttled the call (beyond the
    /// SDK's own throttling list): checked before a `KMS*` code is taken for a KMS refusal.
    #[must_use]
    pub(crate) fn throttling_codes(self) -> &'static [&'static str] {
        match self {
            Self::Sns => &["KMSThrottling"],
            Self::Ssm | Self::SecretsManager | Self::Kms | Self::Acm | Self::Rds | Self::Lambda => &[],
        }
    }
}

/// Codes any service answers when the caller's credentials are not accepted.
const CREDENTIAL_CODES: &[&str] = &[
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidSignatureException",
    "MissingAuthenticationToken",
    "SignatureDoesNotMatch",
];

/// What kind of failure a call met, by what follows from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AwsErrorKind {
    /// The resource does not exist.
    NotFound,
    /// IAM, a resource policy or the credentials refused it; `kms` when it is KMS that refused
    /// (a key policy, a disabled key) behind the service called.
    Denied { kms: bool },
    /// Still throttled after the SDK's retries.
    Throttled,
    /// No answer, a server error, an unreadable answer: a later retry may succeed.
    Unavailable,
    /// The service refused the request as it stands (invalid, conflicting): retrying it as it is
    /// will not help.
    Rejected,
}

impl AwsErrorKind {
    /// Whether a later retry of the same request may succeed.
    #[must_use]
    pub fn is_transient(self) -> bool {
        matches!(self, Self::Throttled | Self::Unavailable)
    }
}

/// A failed AWS call. Its text is the service's code and message (names, ARNs, actions) or the
/// transport's, never a request or response body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} {}: {}", service.name(), describe(*kind), text(code.as_deref(), message))]
pub struct AwsError {
    pub service: Service,
    pub kind: AwsErrorKind,
    /// The service's error code, when it answered.
    pub code: Option<String>,
    pub message: String,
}

fn describe(kind: AwsErrorKind) -> &'static str {
    match kind {
        AwsErrorKind::NotFound => "did not find it",
        AwsErrorKind::Denied { kms: false } => "denied access",
        AwsErrorKind::Denied { kms: true } => "denied access through KMS",
        AwsErrorKind::Throttled => "throttled the call",
        AwsErrorKind::Unavailable => "was unavailable",
        AwsErrorKind::Rejected => "refused the request",
    }
}

fn text(code: Option<&str>, message: &str) -> String {
    match code {
        Some(code) => format!("{code}: {message}"),
        None => message.to_owned(),
    }
}

impl AwsError {
    #[must_use]
    pub fn new(service: Service, kind: AwsErrorKind, code: Option<&str>, message: impl Into<String>) -> Self {
        Self { service, kind, code: code.map(str::to_owned), message: message.into() }
    }

    /// Sorts an SDK error from a call to `service`.
    pub fn from_sdk<E>(service: Service, err: &SdkError<E, Response>) -> Self
    where
        E: ProvideErrorMetadata + ProvideErrorKind + std::error::Error + 'static,
    {
        match err {
            SdkError::ServiceError(ctx) => {
                let code = ProvideErrorMetadata::code(ctx.err());
                let message = ProvideErrorMetadata::message(ctx.err()).unwrap_or("no message");
                let kind = classify(
                    service,
                    code,
                    message,
                    ctx.err().retryable_error_kind(),
                    ctx.raw().status().as_u16(),
                );
                Self::new(service, kind, code, message)
            }
            SdkError::TimeoutError(_) => {
                Self::new(service, AwsErrorKind::Unavailable, None, "the request timed out")
            }
            SdkError::DispatchFailure(failure) if failure.is_timeout() => {
                Self::new(service, AwsErrorKind::Unavailable, None, "the request timed out")
            }
            SdkError::DispatchFailure(_) => Self::new(
                service,
                AwsErrorKind::Unavailable,
                None,
                format!("the request could not be sent: {}", crate::diagnostic::message_chain(err)),
            ),
            SdkError::ResponseError(ctx) => {
                let status = ctx.raw().status().as_u16();
                let kind = if status == 429 { AwsErrorKind::Throttled } else { AwsErrorKind::Unavailable };
                Self::new(service, kind, None, format!("the response (HTTP {status}) could not be read"))
            }
            _ => Self::new(service, AwsErrorKind::Rejected, None, crate::diagnostic::message_chain(err)),
        }
    }
}

/// The kind of a service's answer: its code, the SDK's modelled kind, the SDK's code lists, the
/// HTTP status, then the service's own table.
#[must_use]
pub fn classify(
    service: Service,
    code: Option<&str>,
    message: &str,
    modelled: Option<RetryKind>,
    status: u16,
) -> AwsErrorKind {
    let code = code.unwrap_or("");
    let throttling = aws_runtime::retries::classifiers::THROTTLING_ERRORS.contains(&code)
        || service.throttling_codes().contains(&code);
    let transient = aws_runtime::retries::classifiers::TRANSIENT_ERRORS.contains(&code);
    if modelled == Some(RetryKind::ThrottlingError) || throttling || status == 429 {
        return AwsErrorKind::Throttled;
    }
    if service.not_found_codes().contains(&code) {
        return AwsErrorKind::NotFound;
    }
    if is_kms_refusal(code, message) {
        return AwsErrorKind::Denied { kms: true };
    }
    if service.denied_codes().contains(&code) || CREDENTIAL_CODES.contains(&code) {
        return AwsErrorKind::Denied { kms: false };
    }
    if matches!(modelled, Some(RetryKind::TransientError | RetryKind::ServerError))
        || transient
        || status >= 500
    {
        return AwsErrorKind::Unavailable;
    }
    if status == 403 {
        return AwsErrorKind::Denied { kms: false };
    }
    AwsErrorKind::Rejected
}

/// Whether the refusal is KMS's, passed on by the service that was called: a `KMS*` code, KMS's
/// own codes, or a message that names KMS or a key.
fn is_kms_refusal(code: &str, message: &str) -> bool {
    code.starts_with("KMS")
        || matches!(
            code,
            "InvalidKeyId"
                | "DisabledException"
                | "KeyUnavailableException"
                | "DecryptionFailure"
                | "EncryptionFailure"
        )
        || message.contains("kms:")
        || message.contains("AWSKMS")
        || message.contains("KMS key")
        || message.contains("customer master key")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_sort_by_service_and_status() {
        let kind = |service, code, status| classify(service, Some(code), "said the service", None, status);
        assert_eq!(kind(Service::Ssm, "ParameterNotFound", 400), AwsErrorKind::NotFound);
        assert_eq!(kind(Service::SecretsManager, "ResourceNotFoundException", 400), AwsErrorKind::NotFound);
        assert_eq!(kind(Service::Rds, "DBClusterNotFoundFault", 404), AwsErrorKind::NotFound);
        assert_eq!(kind(Service::Sns, "AuthorizationError", 403), AwsErrorKind::Denied { kms: false });
        assert_eq!(
            kind(Service::Ssm, "ExpiredTokenException", 400),
            AwsErrorKind::Denied { kms: false },
            "credentials, any service"
        );
        assert_eq!(kind(Service::Ssm, "AccessDeniedException", 400), AwsErrorKind::Denied { kms: false });
        assert_eq!(
            kind(Service::SecretsManager, "DecryptionFailure", 400),
            AwsErrorKind::Denied { kms: true }
        );
        assert_eq!(kind(Service::Sns, "KMSDisabled", 400), AwsErrorKind::Denied { kms: true });
        assert_eq!(
            kind(Service::Sns, "KMSThrottling", 400),
            AwsErrorKind::Throttled,
            "KMS throttling behind SNS is no refusal"
        );
        assert_eq!(kind(Service::Sns, "AccessDenied", 400), AwsErrorKind::Denied { kms: false });
        assert_eq!(
            kind(Service::Ssm, "ThrottlingException", 400),
            AwsErrorKind::Throttled,
            "the SDK's throttling list"
        );
        assert_eq!(kind(Service::Rds, "Throttling", 400), AwsErrorKind::Throttled);
        assert_eq!(kind(Service::Acm, "SomethingNew", 429), AwsErrorKind::Throttled, "429 whatever the code");
        assert_eq!(
            kind(Service::Acm, "SomethingNew", 503),
            AwsErrorKind::Unavailable,
            "an unknown 5xx code is transient"
        );
        assert_eq!(
            kind(Service::Ssm, "RequestTimeout", 400),
            AwsErrorKind::Unavailable,
            "the SDK's transient list"
        );
        assert_eq!(kind(Service::Ssm, "ValidationException", 400), AwsErrorKind::Rejected);
        assert_eq!(
            kind(Service::Ssm, "SomethingNew", 403),
            AwsErrorKind::Denied { kms: false },
            "an unknown 403"
        );
        assert_eq!(
            classify(Service::Ssm, None, "x", Some(RetryKind::ServerError), 400),
            AwsErrorKind::Unavailable
        );
        assert_eq!(
            classify(Service::Ssm, None, "x", Some(RetryKind::ThrottlingError), 400),
            AwsErrorKind::Throttled
        );
    }

    #[test]
    fn a_kms_refusal_behind_another_service_is_told_apart() {
        let message = "User: arn:aws:sts::1:assumed-role/r is not authorized to perform: kms:Decrypt on resource: arn:aws:kms:...";
        assert_eq!(
            classify(Service::Ssm, Some("AccessDeniedException"), message, None, 400),
            AwsErrorKind::Denied { kms: true }
        );
        assert_eq!(
            classify(
                Service::Ssm,
                Some("AccessDeniedException"),
                "not authorized: ssm:GetParameters",
                None,
                400
            ),
            AwsErrorKind::Denied { kms: false }
        );
    }

    #[test]
    fn the_text_names_the_service_kind_and_code() {
        let err = AwsError::new(
            Service::Rds,
            AwsErrorKind::NotFound,
            Some("DBClusterNotFoundFault"),
            "DBCluster shop not found",
        );
        assert_eq!(
            err.to_string(),
            "the RDS API did not find it: DBClusterNotFoundFault: DBCluster shop not found"
        );
        assert!(AwsErrorKind::Throttled.is_transient() && !AwsErrorKind::Rejected.is_transient());
    }
}
