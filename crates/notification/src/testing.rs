//! For the functions' tests: an in-memory [`Notifier`], and an SNS topic on the local stack
//! with an SQS queue subscribed, to read what was published.

use std::sync::Mutex;

use common::aws::AwsError;

use crate::{Notification, Notifier};

/// Records what it is given; fails the next publish when `fail` holds an error.
#[derive(Debug, Default)]
pub struct FakeNotifier {
    pub sent: Mutex<Vec<Notification>>,
    pub fail: Mutex<Option<AwsError>>,
}

impl FakeNotifier {
    #[must_use]
    #[allow(clippy::missing_panics_doc)]
    pub fn sent(&self) -> Vec<Notification> {
        self.sent.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }
}

impl Notifier for &FakeNotifier {
    async fn publish(&self, notice: &Notification) -> Result<String, AwsError> {
        if let Some(err) = self.fail.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take() {
            return Err(err);
        }
        let mut sent = self.sent.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        sent.push(notice.clone());
        Ok(format!("message-{}", sent.len()))
    }
}

/// A message as it arrived on the queue subscribed to the topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub subject: String,
    pub message: String,
    /// Message attributes, by name.
    pub attributes: std::collections::HashMap<String, String>,
}

/// An SNS topic with an SQS queue subscribed to it, as email, chat and pager subscriptions
/// would be, so that a test reads what subscribers receive.
#[derive(Debug, Clone)]
pub struct TopicInbox {
    pub topic_arn: String,
    queue_url: String,
    sqs: aws_sdk_sqs::Client,
}

impl TopicInbox {
    /// Creates the topic, the queue, its policy and the subscription.
    ///
    /// # Panics
    /// When the local stack refuses any of it.
    #[allow(clippy::missing_panics_doc, clippy::expect_used)]
    pub async fn create(sdk: &aws_config::SdkConfig, name: &str) -> Self {
        let sns = aws_sdk_sns::Client::new(sdk);
        let sqs = aws_sdk_sqs::Client::new(sdk);
        let topic_arn = sns
            .create_topic()
            .name(name)
            .send()
            .await
            .expect("create the topic")
            .topic_arn
            .expect("a topic ARN");
        let queue_url = sqs
            .create_queue()
            .queue_name(name)
            .send()
            .await
            .expect("create the queue")
            .queue_url
            .expect("a queue URL");
        let attrs = sqs
            .get_queue_attributes()
            .queue_url(&queue_url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .expect("read the queue's ARN");
        let queue_arn = attrs
            .attributes
            .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn).cloned())
            .expect("a queue ARN");
        sns.subscribe()
            .topic_arn(&topic_arn)
            .protocol("sqs")
            .endpoint(&queue_arn)
            .send()
            .await
            .expect("subscribe the queue");
        Self { topic_arn, queue_url, sqs }
    }

    /// Waits up to `wait` for `count` messages, and returns what arrived.
    ///
    /// # Panics
    /// When the queue cannot be read, or a message is not an SNS notification.
    #[allow(clippy::missing_panics_doc, clippy::expect_used)]
    pub async fn receive(&self, count: usize, wait: std::time::Duration) -> Vec<Received> {
        let deadline = std::time::Instant::now() + wait;
        let mut out = Vec::new();
        while out.len() < count && std::time::Instant::now() < deadline {
            let got = self
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(10)
                .send()
                .await
                .expect("receive");
            for m in got.messages.unwrap_or_default() {
                let body: serde_json::Value =
                    serde_json::from_str(m.body().unwrap_or_default()).expect("an SNS notification as JSON");
                let attributes = body["MessageAttributes"]
                    .as_object()
                    .map(|a| {
                        a.iter()
                            .map(|(k, v)| (k.clone(), v["Value"].as_str().unwrap_or_default().to_owned()))
                            .collect()
                    })
                    .unwrap_or_default();
                out.push(Received {
                    subject: body["Subject"].as_str().unwrap_or_default().to_owned(),
                    message: body["Message"].as_str().unwrap_or_default().to_owned(),
                    attributes,
                });
                if let Some(handle) = m.receipt_handle() {
                    self.sqs
                        .delete_message()
                        .queue_url(&self.queue_url)
                        .receipt_handle(handle)
                        .send()
                        .await
                        .expect("delete");
                }
            }
            if out.len() < count {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
        out
    }
}

/// SNS's namespace in its XML answers.
pub const SNS_NAMESPACE: &str = "http://sns.amazonaws.com/doc/2010-03-31/";

/// What SNS answers a `Publish` the fake AWS of a test sees (`None` for any other request):
/// `refusal` as an error (status, code, message), or a message id.
#[must_use]
pub fn publish_answer(
    seen: &common::testing::Seen,
    refusal: Option<(u16, &str, &str)>,
) -> Option<common::testing::Answer> {
    if !seen.body.contains("Action=Publish") {
        return None;
    }
    Some(match refusal {
        Some((status, code, message)) => {
            common::testing::Answer::xml_error(status, SNS_NAMESPACE, code, message)
        }
        None => common::testing::Answer::xml(format!(
            "<PublishResponse xmlns=\"{SNS_NAMESPACE}\"><PublishResult><MessageId>m-1</MessageId></PublishResult>\
             <ResponseMetadata><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ResponseMetadata></PublishResponse>"
        )),
    })
}

/// For the notifiers' property tests: `outcome` is a decision whose notification (if any) is
/// SNS-safe (a subject under 100 characters, a message within the limit, no control character
/// but its line breaks), or `Notify.InvalidEvent`; `context` (the seed, the case, the event) is
/// in the panic message.
///
/// # Panics
/// When it is neither.
#[allow(clippy::panic)]
pub fn assert_decision_or_invalid_event(
    outcome: &Result<crate::Decision, crate::HandlerError>,
    context: &str,
) {
    use common::ErrorKind;
    match outcome {
        Ok(decision) => {
            if let Some(n) = &decision.notification {
                assert!(n.subject.len() < 100, "{context}: subject {}", n.subject);
                assert!(
                    n.message.len() <= crate::text::MAX_MESSAGE_BYTES,
                    "{context}: message of {} bytes",
                    n.message.len()
                );
                assert!(!n.message.chars().any(|c| c.is_control() && c != '\n'), "{context}: {}", n.message);
            }
        }
        Err(e) => assert_eq!(e.error_type(), "Notify.InvalidEvent", "{context}: {e}"),
    }
}
