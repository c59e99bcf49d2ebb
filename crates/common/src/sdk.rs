//! The AWS SDK configuration shared by every client of a function. Its errors are sorted by
//! [`crate::aws`].

use aws_config::{BehaviorVersion, SdkConfig};

/// Loads the SDK configuration once, at cold start, from the standard sources: the Lambda
/// environment's credentials and region, `AWS_REGION`, and `AWS_ENDPOINT_URL` (which points every
/// client at a local AWS API such as the moto server of the local stack). `AWS_MAX_ATTEMPTS` and
/// `AWS_RETRY_MODE` tune the SDK's retries with backoff for throttling and transient errors.
pub async fn aws_sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
}
