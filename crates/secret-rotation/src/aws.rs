//! The Secrets Manager adapter: the only module of the function that touches the SDK.

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::error::ProvideErrorMetadata;
use common::SecretString;
use common::aws::{AwsError, Service};

use crate::ports::{AWSCURRENT, AWSPENDING, RotationInfo, SecretMeta, SecretStore, Stage};

#[derive(Debug, Clone)]
pub struct SecretsManager {
    client: Client,
}

impl SecretsManager {
    #[must_use]
    pub fn new(sdk: &aws_config::SdkConfig) -> Self {
        Self { client: Client::new(sdk) }
    }

    #[must_use]
    pub fn from_client(client: Client) -> Self {
        Self { client }
    }
}

impl SecretStore for SecretsManager {
    async fn describe(&self, secret_id: &str) -> Result<SecretMeta, AwsError> {
        let out = self
            .client
            .describe_secret()
            .secret_id(secret_id)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(Service::SecretsManager, &e))?;
        let rules = out.rotation_rules.as_ref();
        let rotation = RotationInfo {
            lambda_arn: out.rotation_lambda_arn.clone(),
            automatically_after_days: rules.and_then(|r| r.automatically_after_days),
            schedule_expression: rules.and_then(|r| r.schedule_expression.clone()),
            window: rules.and_then(|r| r.duration.clone()),
            last_rotated: out.last_rotated_date.map(|d| d.secs()),
            next_rotation: out.next_rotation_date.map(|d| d.secs()),
        };
        Ok(SecretMeta {
            rotation,
            arn: out.arn.unwrap_or_else(|| secret_id.to_owned()),
            rotation_enabled: out.rotation_enabled.unwrap_or(false),
            versions: out.version_ids_to_stages.unwrap_or_default(),
            tags: out.tags.unwrap_or_default().into_iter().filter_map(|t| Some((t.key?, t.value?))).collect(),
        })
    }

    async fn get(
        &self,
        secret_id: &str,
        stage: Stage,
        version_id: Option<&str>,
    ) -> Result<Option<SecretString>, AwsError> {
        let result = self
            .client
            .get_secret_value()
            .secret_id(secret_id)
            .version_stage(stage.label())
            .set_version_id(version_id.map(str::to_owned))
            .send()
            .await;
        match result {
            Ok(out) => Ok(out.secret_string.map(SecretString::new)),
            Err(e) if e.code() == Some("ResourceNotFoundException") => Ok(None),
            Err(e) => Err(AwsError::from_sdk(Service::SecretsManager, &e)),
        }
    }

    async fn put_pending(
        &self,
        secret_id: &str,
        token: &str,
        value: &SecretString,
        rotation_token: Option<&str>,
    ) -> Result<(), AwsError> {
        self.client
            .put_secret_value()
            .secret_id(secret_id)
            .client_request_token(token)
            .secret_string(value.expose())
            .version_stages(AWSPENDING)
            .set_rotation_token(rotation_token.map(str::to_owned))
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(Service::SecretsManager, &e))?;
        Ok(())
    }

    async fn promote(&self, secret_id: &str, to_version: &str, from_version: &str) -> Result<(), AwsError> {
        self.client
            .update_secret_version_stage()
            .secret_id(secret_id)
            .version_stage(AWSCURRENT)
            .move_to_version_id(to_version)
            .remove_from_version_id(from_version)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(Service::SecretsManager, &e))?;
        Ok(())
    }
}
