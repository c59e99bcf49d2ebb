//! The Parameter Store adapter: `DescribeParameters` for one name. Never reads a value.

use aws_sdk_ssm::Client;
use aws_sdk_ssm::types::ParameterStringFilter;
use common::aws::{AwsError, AwsErrorKind, Service};

use crate::ports::{
    AuditedParameter, ParameterDirectory, ParameterInfo, ParameterInventory, ParameterType, PolicyInfo,
    PolicyType,
};

/// Most pages the audit lists (`DescribeParameters` at 50 a page, `GetParametersByPath` at 10).
const MAX_PAGES: usize = 1000;
/// Most pages of the account-wide Standard count (12,500 parameters, past the quota).
const MAX_COUNT_PAGES: usize = 250;

fn filter(key: &str, option: Option<&str>, value: &str) -> Result<ParameterStringFilter, AwsError> {
    ParameterStringFilter::builder()
        .key(key)
        .set_option(option.map(str::to_owned))
        .values(value)
        .build()
        .map_err(|e| AwsError::new(Service::Ssm, AwsErrorKind::Rejected, None, e.to_string()))
}

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
        let answer = self
            .client
            .describe_parameters()
            .parameter_filters(filter("Name", Some("Equals"), name)?)
            .send()
            .await;
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

impl ParameterInventory for SsmDirectory {
    async fn inventory(&self, path: &str) -> Result<Vec<AuditedParameter>, AwsError> {
        // Metadata (tier, policies) by DescribeParameters, values by GetParametersByPath without
        // decryption: a SecureString comes back encrypted, and only its length is kept.
        let mut listed = std::collections::BTreeMap::new();
        let mut token = None;
        for _ in 0..MAX_PAGES {
            let out = self
                .client
                .describe_parameters()
                .parameter_filters(filter("Path", Some("Recursive"), path.trim_end_matches('/'))?)
                .max_results(50)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| AwsError::from_sdk(Service::Ssm, &e))?;
            for p in out.parameters.unwrap_or_default() {
                let Some(name) = p.name else { continue };
                let policies = p
                    .policies
                    .unwrap_or_default()
                    .into_iter()
                    .map(|pol| PolicyType::parse(pol.policy_type.as_deref().unwrap_or_default()))
                    .collect();
                listed.insert(
                    name.clone(),
                    AuditedParameter {
                        name,
                        parameter_type: p.r#type.as_ref().map(parameter_type),
                        tier: p.tier.map(|t| t.as_str().to_owned()),
                        policies,
                        stored_len: 0,
                        value: None,
                    },
                );
            }
            token = out.next_token.filter(|t| !t.is_empty());
            if token.is_none() {
                break;
            }
        }
        for _ in 0..MAX_PAGES {
            let out = self
                .client
                .get_parameters_by_path()
                .path(path)
                .recursive(true)
                .with_decryption(false)
                .max_results(10)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| AwsError::from_sdk(Service::Ssm, &e))?;
            for p in out.parameters.unwrap_or_default() {
                let (Some(name), Some(value)) = (p.name, p.value) else { continue };
                if let Some(entry) = listed.get_mut(&name) {
                    entry.stored_len = value.len();
                    let secure =
                        matches!(p.r#type, Some(aws_sdk_ssm::types::ParameterType::SecureString) | None);
                    entry.value = (!secure).then(|| value.into());
                }
            }
            token = out.next_token.filter(|t| !t.is_empty());
            if token.is_none() {
                break;
            }
        }
        Ok(listed.into_values().collect())
    }

    async fn standard_count(&self) -> Result<(usize, bool), AwsError> {
        let mut count = 0;
        let mut token = None;
        for _ in 0..MAX_COUNT_PAGES {
            let out = self
                .client
                .describe_parameters()
                .parameter_filters(filter("Tier", Some("Equals"), "Standard")?)
                .max_results(50)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| AwsError::from_sdk(Service::Ssm, &e))?;
            count += out.parameters.unwrap_or_default().len();
            token = out.next_token.filter(|t| !t.is_empty());
            if token.is_none() {
                return Ok((count, true));
            }
        }
        Ok((count, false))
    }

    async fn audit_state(&self, name: &str) -> Result<Option<String>, AwsError> {
        match self.client.get_parameter().name(name).send().await {
            Ok(out) => Ok(out.parameter.and_then(|p| p.value)),
            Err(e) => match AwsError::from_sdk(Service::Ssm, &e) {
                e if e.kind == AwsErrorKind::NotFound => Ok(None),
                e => Err(e),
            },
        }
    }

    async fn save_audit_state(&self, name: &str, digest: &str) -> Result<(), AwsError> {
        self.client
            .put_parameter()
            .name(name)
            .value(digest)
            .r#type(aws_sdk_ssm::types::ParameterType::String)
            .overwrite(true)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(Service::Ssm, &e))?;
        Ok(())
    }
}
