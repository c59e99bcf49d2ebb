//! The Secrets Manager adapter: the only module of the function that touches the SDK.

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::error::{ProvideErrorMetadata, SdkError};
use common::SecretString;
use common::sdk::{self, ErrorCodes, Sorted};

use crate::ports::{AWSCURRENT, AWSPENDING, SecretMeta, SecretStore, StoreError};

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
    async fn describe(&self, secret_id: &str) -> Result<SecretMeta, StoreError> {
        let out = self.client.describe_secret().secret_id(secret_id).send().await.map_err(|e| classify(&e, secret_id))?;
        Ok(SecretMeta {
            arn: out.arn.unwrap_or_else(|| secret_id.to_owned()),
            rotation_enabled: out.rotation_enabled.unwrap_or(false),
            versions: out.version_ids_to_stages.unwrap_or_default(),
            tags: out.tags.unwrap_or_default().into_iter().filter_map(|t| Some((t.key?, t.value?))).collect(),
        })
    }

    async fn get(&self, secret_id: &str, stage: &str, version_id: Option<&str>) -> Result<Option<SecretString>, StoreError> {
        let result = self
            .client
            .get_secret_value()
            .secret_id(secret_id)
            .version_stage(stage)
            .set_version_id(version_id.map(str::to_owned))
            .send()
            .await;
        match result {
            Ok(out) => Ok(out.secret_string.map(SecretString::new)),
            Err(e) if e.code() == Some("ResourceNotFoundException") => Ok(None),
            Err(e) => Err(classify(&e, secret_id)),
        }
    }

    async fn put_pending(
        &self,
        secret_id: &str,
        token: &str,
        value: &SecretString,
        rotation_token: Option<&str>,
    ) -> Result<(), StoreError> {
        self.client
            .put_secret_value()
            .secret_id(secret_id)
            .client_request_token(token)
            .secret_string(value.expose())
            .version_stages(AWSPENDING)
            .set_rotation_token(rotation_token.map(str::to_owned))
            .send()
            .await
            .map_err(|e| classify(&e, secret_id))?;
        Ok(())
    }

    async fn promote(&self, secret_id: &str, to_version: &str, from_version: &str) -> Result<(), StoreError> {
        self.client
            .update_secret_version_stage()
            .secret_id(secret_id)
            .version_stage(AWSCURRENT)
            .move_to_version_id(to_version)
            .remove_from_version_id(from_version)
            .send()
            .await
            .map_err(|e| classify(&e, secret_id))?;
        Ok(())
    }
}

const CODES: ErrorCodes = ErrorCodes {
    not_found: &["ResourceNotFoundException"],
    denied: &[
        "AccessDeniedException",
        "DecryptionFailure",
        "EncryptionFailure",
        "KMSAccessDeniedException",
        "KMSDisabledException",
        "KMSInvalidStateException",
    ],
    transient: &["ThrottlingException", "Throttling", "InternalServiceError", "InternalServiceErrorException", "ServiceUnavailable"],
};

fn classify(err: &SdkError<impl ProvideErrorMetadata + std::error::Error + 'static, impl std::fmt::Debug>, secret_id: &str) -> StoreError {
    match sdk::sort(err, &CODES) {
        Sorted::NotFound(_) => StoreError::NotFound(secret_id.to_owned()),
        Sorted::Denied(text) => StoreError::AccessDenied(text),
        Sorted::Transient(text) => StoreError::Transient(text),
        Sorted::Refused(text) => StoreError::Refused(text),
    }
}
