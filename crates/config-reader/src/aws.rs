//! The Parameter Store adapter: the only module that touches the SDK.

use aws_sdk_ssm::Client;
use aws_sdk_ssm::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ssm::types as ssm;
use aws_smithy_types::date_time::Format;

use crate::source::{Batch, MAX_BATCH, Page, Parameter, ParameterSource, ParameterType, SourceError};

/// Parameter Store through `aws-sdk-ssm`. Always asks for decryption.
#[derive(Debug, Clone)]
pub struct SsmSource {
    client: Client,
}

impl SsmSource {
    #[must_use]
    pub fn new(sdk: &aws_config::SdkConfig) -> Self {
        Self { client: Client::new(sdk) }
    }

    #[must_use]
    pub fn from_client(client: Client) -> Self {
        Self { client }
    }
}

impl ParameterSource for SsmSource {
    async fn get_parameters(&self, names: &[String]) -> Result<Batch, SourceError> {
        debug_assert!(names.len() <= MAX_BATCH);
        let out = self.client.get_parameters().set_names(Some(names.to_vec())).with_decryption(true).send().await.map_err(|e| classify(&e))?;
        Ok(Batch {
            found: out.parameters.unwrap_or_default().into_iter().map(convert).collect(),
            missing: out.invalid_parameters.unwrap_or_default(),
        })
    }

    async fn get_parameters_by_path(&self, path: &str, next_token: Option<&str>) -> Result<Page, SourceError> {
        let out = self
            .client
            .get_parameters_by_path()
            .path(path)
            .recursive(true)
            .with_decryption(true)
            .max_results(i32::try_from(MAX_BATCH).unwrap_or(10))
            .set_next_token(next_token.map(str::to_owned))
            .send()
            .await
            .map_err(|e| classify(&e))?;
        Ok(Page {
            parameters: out.parameters.unwrap_or_default().into_iter().map(convert).collect(),
            next_token: out.next_token.filter(|t| !t.is_empty()),
        })
    }
}

fn convert(p: ssm::Parameter) -> Parameter {
    let kind = match p.r#type {
        Some(ssm::ParameterType::String) => ParameterType::String,
        Some(ssm::ParameterType::StringList) => ParameterType::StringList,
        // Unknown or absent types are treated as secret: redacting too much is the safe error.
        _ => ParameterType::SecureString,
    };
    Parameter {
        name: p.name.unwrap_or_default(),
        selector: p.selector.filter(|s| !s.is_empty()),
        kind,
        value: p.value.unwrap_or_default().into(),
        version: p.version,
        last_modified: p.last_modified_date.and_then(|d| d.fmt(Format::DateTime).ok()),
    }
}

/// Sorts an SDK error into what a person has to do about it. The message comes from the service
/// (names, ARNs, actions) or from the transport, never from a response body.
pub(crate) fn classify<E, R>(err: &SdkError<E, R>) -> SourceError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match err {
        SdkError::ServiceError(ctx) => {
            let code = ctx.err().code().unwrap_or("Unknown").to_owned();
            let message = format!("{code}: {}", ctx.err().message().unwrap_or("no message"));
            classify_code(&code, message)
        }
        SdkError::TimeoutError(_) => SourceError::Unavailable { message: "the request timed out".into() },
        SdkError::DispatchFailure(failure) => {
            let kind = if failure.is_timeout() {
                "timed out"
            } else if failure.is_io() {
                "connection failed"
            } else {
                "could not be sent"
            };
            SourceError::Unavailable { message: format!("the request {kind}: {}", common::diagnostic::message_chain(err)) }
        }
        SdkError::ResponseError(_) => SourceError::Unavailable { message: "the response could not be read".into() },
        SdkError::ConstructionFailure(_) => SourceError::Invalid { message: common::diagnostic::message_chain(err) },
        _ => SourceError::Unavailable { message: "unexpected SDK error".into() },
    }
}

fn classify_code(code: &str, message: String) -> SourceError {
    let kms = code.starts_with("KMS")
        || code == "InvalidKeyId"
        || message.contains("kms:")
        || message.contains("AWSKMS")
        || message.contains("KMS key")
        || message.contains("customer master key");
    match code {
        _ if kms => SourceError::KmsDecrypt { message },
        "AccessDeniedException" | "AccessDenied" | "UnrecognizedClientException" | "InvalidClientTokenId" | "ExpiredTokenException"
        | "InvalidSignatureException" | "MissingAuthenticationToken" => SourceError::AccessDenied { message },
        "ThrottlingException" | "Throttling" | "ThrottledException" | "TooManyRequestsException" | "RequestLimitExceeded" => {
            SourceError::Throttled { message }
        }
        "InternalServerError" | "InternalFailure" | "ServiceUnavailable" | "ServiceUnavailableException" => SourceError::Unavailable { message },
        _ => SourceError::Invalid { message },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_classified() {
        let iam = "User: arn:aws:sts::123456789012:assumed-role/reader/fn is not authorized to perform: ssm:GetParameters on resource: arn:aws:ssm:us-east-1:123456789012:parameter/my-app/dev/db-url";
        assert!(matches!(classify_code("AccessDeniedException", iam.into()), SourceError::AccessDenied { .. }));
        let kms = "User: arn:aws:sts::123456789012:assumed-role/reader/fn is not authorized to perform: kms:Decrypt on resource: arn:aws:kms:us-east-1:123456789012:key/1234";
        assert!(matches!(classify_code("AccessDeniedException", kms.into()), SourceError::KmsDecrypt { .. }));
        assert!(matches!(classify_code("InvalidKeyId", "key disabled".into()), SourceError::KmsDecrypt { .. }));
        assert!(matches!(classify_code("ThrottlingException", "Rate exceeded".into()), SourceError::Throttled { .. }));
        assert!(matches!(classify_code("InternalServerError", String::new()), SourceError::Unavailable { .. }));
        assert!(matches!(classify_code("ValidationException", String::new()), SourceError::Invalid { .. }));
        assert!(matches!(classify_code("UnrecognizedClientException", String::new()), SourceError::AccessDenied { .. }));
    }
}
