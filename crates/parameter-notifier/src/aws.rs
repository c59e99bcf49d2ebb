//! The Parameter Store adapter: `DescribeParameters` for one name. Never reads a value.

use aws_sdk_ssm::Client;
use aws_sdk_ssm::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ssm::types::ParameterStringFilter;
use common::sdk::{self, ErrorCodes, Sorted};
use notification::LookupError;

use crate::ports::{ParameterDirectory, ParameterInfo, PolicyInfo};

#[derive(Debug, Clone)]
pub struct SsmDirectory {
    client: Client,
}

impl SsmDirectory {
    #[must_use]
    pub fn new(sdk: &aws_config::SdkConfig) -> Self {
        Self { client: Client::new(sdk) }
    }

    #[must_use]
    pub fn from_client(client: Client) -> Self {
        Self { client }
    }
}

impl ParameterDirectory for SsmDirectory {
    async fn describe(&self, name: &str) -> Result<Option<ParameterInfo>, LookupError> {
        let filter = ParameterStringFilter::builder()
            .key("Name")
            .option("Equals")
            .values(name)
            .build()
            .map_err(|e| LookupError::Unavailable(e.to_string()))?;
        let out = self.client.describe_parameters().parameter_filters(filter).send().await.map_err(|e| classify(&e))?;
        let Some(p) = out.parameters.unwrap_or_default().into_iter().find(|p| p.name.as_deref() == Some(name)) else {
            return Ok(None);
        };
        Ok(Some(ParameterInfo {
            parameter_type: p.r#type.map(|t| t.as_str().to_owned()),
            tier: p.tier.map(|t| t.as_str().to_owned()),
            version: Some(p.version),
            last_modified: p.last_modified_date.map(|d| d.secs()),
            last_modified_user: p.last_modified_user,
            policies: p
                .policies
                .unwrap_or_default()
                .into_iter()
                .map(|pol| PolicyInfo {
                    policy_type: pol.policy_type.unwrap_or_default(),
                    text: pol.policy_text.unwrap_or_default(),
                    status: pol.policy_status.unwrap_or_default(),
                })
                .collect(),
        }))
    }
}

const CODES: ErrorCodes = ErrorCodes { not_found: &["ParameterNotFound"], denied: &["AccessDeniedException"], transient: &[] };

/// An enrichment failure: anything but a denial or a missing resource is "unavailable".
fn classify(err: &SdkError<impl ProvideErrorMetadata + std::error::Error + 'static, impl std::fmt::Debug>) -> LookupError {
    match sdk::sort(err, &CODES) {
        Sorted::NotFound(_) => LookupError::NotFound,
        Sorted::Denied(text) => LookupError::AccessDenied(text),
        Sorted::Transient(text) | Sorted::Refused(text) => LookupError::Unavailable(text),
    }
}
