//! The SNS adapter's errors at the HTTP layer: each answer to `Publish` (query protocol, an XML
//! error body) sorted into the model every adapter shares, and the `errorType` a notifier's
//! invocation then fails with. No local stack needed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns

use common::ErrorKind;
use common::aws::{AwsErrorKind, Service};
use common::testing::{self, Answer};
use notification::notice::{self, Message};
use notification::sns::SnsNotifier;
use notification::testing::{SNS_NAMESPACE, publish_answer};
use notification::{Kind, Notification, Notifier, RecentIds, Severity};

const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:alerts";

/// An SNS notifier whose HTTP layer answers a `Publish` to [`TOPIC`] with `status` and an error
/// of code `code`, as SNS does; anything else with a code the tests never expect.
fn answering(status: u16, code: &'static str, message: &'static str) -> SnsNotifier {
    let sdk = testing::fake_aws(move |seen| {
        let to_topic = seen.body.contains("TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A123456789012%3Aalerts");
        let refusal =
            if to_topic { (status, code, message) } else { (400, "NotAPublishToTheTopic", message) };
        publish_answer(seen, Some(refusal))
            .unwrap_or_else(|| Answer::xml_error(400, SNS_NAMESPACE, "NotAPublish", message))
    });
    SnsNotifier::new(&sdk, TOPIC)
}

fn notice() -> Notification {
    let body = Message {
        what: "It expires.".into(),
        resource: "/my-app/dev/x".into(),
        todo: "Renew it.".into(),
        ..Message::default()
    };
    Notification::new(
        Severity::High,
        Kind::ParameterExpiring,
        "/my-app/dev/x",
        ("id-1", "Parameter Store Policy Action"),
        "x expires",
        &body,
    )
}

#[tokio::test]
async fn each_answer_to_publish_is_sorted_and_fails_the_invocation_with_its_documented_type() {
    for (status, code, message, kind, error_type) in [
        (404, "NotFound", "Topic does not exist", AwsErrorKind::NotFound, "Notify.TopicNotFound"),
        (
            403,
            "AuthorizationError",
            "User: arn:aws:sts::123456789012:assumed-role/notifier is not authorized to perform: SNS:Publish",
            AwsErrorKind::Denied { kms: false },
            "Notify.PublishDenied",
        ),
        (
            400,
            "KMSAccessDenied",
            "The ciphertext refers to a customer master key that does not exist",
            AwsErrorKind::Denied { kms: true },
            "Notify.PublishDenied",
        ),
        (
            400,
            "KMSThrottling",
            "Rate exceeded for the key",
            AwsErrorKind::Throttled,
            "Notify.PublishUnavailable",
        ),
        (400, "Throttling", "Rate exceeded", AwsErrorKind::Throttled, "Notify.PublishUnavailable"),
        (503, "SomeCodeNobodyListed", "try later", AwsErrorKind::Unavailable, "Notify.PublishUnavailable"),
        (
            400,
            "InvalidParameter",
            "Invalid parameter: Subject",
            AwsErrorKind::Rejected,
            "Notify.PublishRefused",
        ),
    ] {
        let sns = answering(status, code, message);
        let err = sns.publish(&notice()).await.unwrap_err();
        assert_eq!(
            (err.service, err.kind, err.code.as_deref()),
            (Service::Sns, kind, Some(code)),
            "{status} {code}"
        );
        assert!(err.to_string().contains(message), "{err}");

        // What a handler does with it: the invocation fails with the documented errorType, and
        // the event id is not recorded, so EventBridge's retry publishes it.
        let recent = RecentIds::default();
        let failed = notice::deliver(&sns, &recent, notice(), "test").await.unwrap_err();
        assert_eq!(failed.error_type(), error_type, "{code}");
        assert!(!recent.seen("id-1"), "{code}");
    }
}
