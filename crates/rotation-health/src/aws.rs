//! The adapters: the doctor through Lambda's `Invoke` (request-response), and the state store
//! and the list of secrets in Parameter Store.

use aws_sdk_lambda::types::InvocationType;
use aws_smithy_types::Blob;
use common::aws::{AwsError, AwsErrorKind, Service};

use crate::doctor::{NoReport, Outcome, Report};
use crate::model::Unreachable;
use crate::ports::{Doctor, SecretList, StateStore};

/// The rotation function's doctor, invoked with `{"Action": "doctor", "SecretId": ...}`.
#[derive(Debug, Clone)]
pub struct LambdaDoctor {
    client: aws_sdk_lambda::Client,
    function: String,
}

impl LambdaDoctor {
    #[must_use]
    pub fn new(sdk: &aws_config::SdkConfig, function: impl Into<String>) -> Self {
        Self { client: aws_sdk_lambda::Client::new(sdk), function: function.into() }
    }
}

fn cut(text: &str) -> String {
    text.chars().take(300).collect()
}

/// What a function error's payload (`{"errorType", "errorMessage"}`) says.
fn function_error(kind: &str, payload: &[u8]) -> NoReport {
    let body: serde_json::Value = serde_json::from_slice(payload).unwrap_or_default();
    let text = |key| body.get(key).and_then(serde_json::Value::as_str).unwrap_or_default();
    let error_type = if text("errorType").is_empty() { kind } else { text("errorType") };
    NoReport {
        cause: if error_type == "Rotation.NotAllowed" {
            Unreachable::NotAllowed
        } else {
            Unreachable::FunctionError
        },
        detail: cut(&format!("the rotation function failed with {error_type}: {}", text("errorMessage"))),
    }
}

impl Doctor for LambdaDoctor {
    async fn examine(&self, secret_id: &str) -> Outcome {
        let payload = serde_json::json!({ "Action": "doctor", "SecretId": secret_id }).to_string();
        let answer = self
            .client
            .invoke()
            .function_name(&self.function)
            .invocation_type(InvocationType::RequestResponse)
            .payload(Blob::new(payload))
            .send()
            .await;
        let out = answer.map_err(|e| {
            let err = AwsError::from_sdk(Service::Lambda, &e);
            NoReport { cause: Unreachable::NoAnswer, detail: cut(&err.to_string()) }
        })?;
        let body = out.payload.map(Blob::into_inner).unwrap_or_default();
        if let Some(kind) = out.function_error {
            return Err(function_error(&kind, &body));
        }
        // The parser's message may quote the answer: only its position is kept.
        serde_json::from_slice::<Report>(&body).map_err(|e| NoReport {
            cause: Unreachable::NotAReport,
            detail: format!(
                "the rotation function answered without a doctor's report (at line {}, column {}): is it a version without the doctor?",
                e.line(),
                e.column()
            ),
        })
    }
}

/// Parameter Store, for states (String parameters under `STATE_PATH`) and the list of secrets.
#[derive(Debug, Clone)]
pub struct SsmParameters {
    client: aws_sdk_ssm::Client,
}

impl SsmParameters {
    #[must_use]
    pub fn new(sdk: &aws_config::SdkConfig) -> Self {
        Self { client: aws_sdk_ssm::Client::new(sdk) }
    }

    async fn value(&self, name: &str) -> Result<Option<String>, AwsError> {
        match self.client.get_parameter().name(name).send().await {
            Ok(out) => Ok(out.parameter.and_then(|p| p.value)),
            Err(e) => match AwsError::from_sdk(Service::Ssm, &e) {
                err if err.kind == AwsErrorKind::NotFound => Ok(None),
                err => Err(err),
            },
        }
    }
}

impl StateStore for SsmParameters {
    async fn get(&self, name: &str) -> Result<Option<String>, AwsError> {
        self.value(name).await
    }

    async fn put(&self, name: &str, value: &str) -> Result<(), AwsError> {
        self.client
            .put_parameter()
            .name(name)
            .value(value)
            .r#type(aws_sdk_ssm::types::ParameterType::String)
            .overwrite(true)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(Service::Ssm, &e))?;
        Ok(())
    }
}

impl SecretList for SsmParameters {
    async fn secrets(&self, list: &str) -> Result<Option<Vec<String>>, AwsError> {
        Ok(self
            .value(list)
            .await?
            .map(|v| v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()))
    }
}
