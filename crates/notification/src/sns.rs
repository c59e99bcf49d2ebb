//! The SNS adapter: publishes a notification with attributes subscriptions can filter on.

use aws_sdk_sns::Client;
use aws_sdk_sns::types::MessageAttributeValue;
use common::aws::{AwsError, Service};

use crate::{Notification, Notifier};

#[derive(Debug, Clone)]
pub struct SnsNotifier {
    client: Client,
    topic_arn: String,
}

impl SnsNotifier {
    #[must_use]
    pub fn new(sdk: &aws_config::SdkConfig, topic_arn: impl Into<String>) -> Self {
        Self::from_client(Client::new(sdk), topic_arn)
    }

    #[must_use]
    pub fn from_client(client: Client, topic_arn: impl Into<String>) -> Self {
        Self { client, topic_arn: topic_arn.into() }
    }
}

fn attribute(value: &str) -> Option<MessageAttributeValue> {
    // An empty attribute value is refused by SNS: leave the attribute out instead.
    (!value.is_empty())
        .then(|| MessageAttributeValue::builder().data_type("String").string_value(value).build().ok())
        .flatten()
}

/// A FIFO topic's group and deduplication ids: at most 128 characters of the allowed set.
fn fifo_id(text: &str) -> String {
    text.chars().filter(char::is_ascii_graphic).take(128).collect()
}

impl Notifier for SnsNotifier {
    async fn publish(&self, n: &Notification) -> Result<String, AwsError> {
        let mut req =
            self.client.publish().topic_arn(&self.topic_arn).subject(&n.subject).message(&n.message);
        for (name, value) in [
            ("severity", n.severity.as_str()),
            ("kind", n.kind.as_str()),
            ("resource", n.resource.as_str()),
            ("status", n.status.as_str()),
            ("event_id", n.event_id.as_str()),
        ] {
            if let Some(v) = attribute(value) {
                req = req.message_attributes(name, v);
            }
        }
        // FIFO topic names end in ".fifo", lower case (SNS refuses other spellings).
        #[allow(clippy::case_sensitive_file_extension_comparisons)]
        if self.topic_arn.ends_with(".fifo") {
            // SNS drops a repeat of the same deduplication id within 5 minutes.
            req = req.message_group_id(fifo_id(&n.resource)).message_deduplication_id(fifo_id(&n.event_id));
        }
        let out = req.send().await.map_err(|e| AwsError::from_sdk(Service::Sns, &e))?;
        Ok(out.message_id.unwrap_or_default())
    }
}
