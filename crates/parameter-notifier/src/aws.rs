//! The Parameter Store adapter: `DescribeParameters` for one name. Never reads a value.

use aws_sdk_ssm::Client;
use aws_sdk_ssm::types::ParameterStringFilter;
use common::aws::{AwsError, AwsErrorKind, Service};

use crate::ports::{ParameterDirectory, ParameterInfo, ParameterType, PolicyInfo, PolicyType};

fn parameter_type(t: &aws_sdk_ssm::types::ParameterType) -> ParameterType {
    use aws_sdk_ssm::types::ParameterType as Sdk;
    match t {
        Sdk::String => ParameterType::String,
        Sdk::StringList => ParameterType::StringList,
        Sdk::SecureString => ParameterType::SecureString,
        other => ParameterType::Other(other.as_str().to_owned()),
    }
}

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
    async fn describe(&self, name: &str) -> Result<Option<ParameterInfo>, AwsError> {
        let filter = ParameterStringFilter::builder()
            .key("Name")
            .option("Equals")
            .values(name)
            .build()
            .map_err(|e| AwsError::new(Service::Ssm, AwsErrorKind::Rejected, None, e.to_string()))?;
        let answer = self.client.describe_parameters().parameter_filters(filter).send().await;
        let out = match answer.map_err(|e| AwsError::from_sdk(Service::Ssm, &e)) {
            Ok(out) => out,
            // Parameter Store lists nothing for a name it does not know; should it say
            // ParameterNotFound instead, that is the same answer.
            Err(e) if e.kind == AwsErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let Some(p) =
            out.parameters.unwrap_or_default().into_iter().find(|p| p.name.as_deref() == Some(name))
        else {
            return Ok(None);
        };
        Ok(Some(ParameterInfo {
            parameter_type: p.r#type.as_ref().map(parameter_type),
            tier: p.tier.map(|t| t.as_str().to_owned()),
            version: Some(p.version),
            last_modified: p.last_modified_date.map(|d| d.secs()),
            last_modified_user: p.last_modified_user,
            policies: p
                .policies
                .unwrap_or_default()
                .into_iter()
                .map(|pol| PolicyInfo {
                    // The SDK gives the policy type as a string.
                    policy_type: PolicyType::parse(pol.policy_type.as_deref().unwrap_or_default()),
                    text: pol.policy_text.unwrap_or_default(),
                    status: pol.policy_status.unwrap_or_default(),
                })
                .collect(),
        }))
    }
}
