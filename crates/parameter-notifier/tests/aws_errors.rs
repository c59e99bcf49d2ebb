//! The Parameter Store adapter's errors at the HTTP layer: each answer to `DescribeParameters`
//! (awsJson1.1) sorted into the model every adapter shares, a missing parameter as `Ok(None)`,
//! and what the handler then notifies; and a refused publish failing the invocation with its
//! `errorType`. No local stack needed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns

use std::collections::HashMap;
use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_ssm::config::retry::RetryConfig;
use aws_sdk_ssm::config::{BehaviorVersion, Credentials, Region, SharedCredentialsProvider};
use aws_smithy_http_client::test_util::infallible_client_fn;
use common::ErrorKind;
use common::aws::{AwsErrorKind, Service};
use notification::sns::SnsNotifier;
use notification::timefmt;
use parameter_notifier::aws::SsmDirectory;
use parameter_notifier::ports::ParameterDirectory;
use parameter_notifier::{Config, Handler};

const EXPIRING: &str = include_str!("../../../events/parameter-notifier/expiration-notification.json");
const NAME: &str = "/my-app/dev/api-token";
const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:alerts";

/// An error answer: HTTP status, code, message.
type Refusal = (u16, &'static str, &'static str);

/// An AWS whose HTTP layer answers `DescribeParameters` with `ssm` and `Publish` with `sns`, as
/// the services do (an error, or for a publish `None`, a message id).
fn fake_aws(ssm: Refusal, sns: Option<Refusal>) -> SdkConfig {
    let http = infallible_client_fn(move |request| {
        let target = request.headers().get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        let body = String::from_utf8_lossy(request.body().bytes().unwrap_or_default()).into_owned();
        let (status, content_type, body) = if target == "AmazonSSM.DescribeParameters" {
            let (status, code, message) = ssm;
            (status, "application/x-amz-json-1.1", format!("{{\"__type\":\"{code}\",\"message\":\"{message}\"}}"))
        } else if body.contains("Action=Publish") {
            match sns {
                Some((status, code, message)) => (
                    status,
                    "text/xml",
                    format!(
                        "<ErrorResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>"
                    ),
                ),
                None => (
                    200,
                    "text/xml",
                    "<PublishResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><PublishResult><MessageId>m-1</MessageId></PublishResult><ResponseMetadata><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ResponseMetadata></PublishResponse>".to_owned(),
                ),
            }
        } else {
            (400, "application/x-amz-json-1.1", format!("{{\"__type\":\"UnexpectedRequest\",\"message\":\"{target}\"}}"))
        };
        http::Response::builder().status(status).header("content-type", content_type).body(body).unwrap()
    });
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new("AKIDEXAMPLE", "secret", None, None, "test")))
        .http_client(http)
        .retry_config(RetryConfig::standard().with_max_attempts(2).with_initial_backoff(Duration::from_millis(5)))
        .build()
}

fn handler(sdk: &SdkConfig) -> Handler<SsmDirectory, SnsNotifier> {
    let config = Config::from_lookup(&HashMap::from([("TOPIC_ARN", TOPIC)])).unwrap();
    Handler::new(SsmDirectory::new(sdk), SnsNotifier::new(sdk, TOPIC), config)
}

#[tokio::test]
async fn describe_parameters_answers_are_sorted_and_the_notification_says_what_was_not_checked() {
    for (refusal, kind, note) in [
        (
            (400, "ParameterNotFound", "Parameter /my-app/dev/api-token not found."),
            None,
            "Could not check: the parameter was not found by DescribeParameters (deleted since the event?)",
        ),
        (
            (
                400,
                "AccessDeniedException",
                "User: arn:aws:sts::123456789012:assumed-role/notifier is not authorized to perform: ssm:DescribeParameters",
            ),
            Some(AwsErrorKind::Denied { kms: false }),
            "Could not check: the parameter's tier, policies and last change (DescribeParameters access denied: AccessDeniedException: User: ",
        ),
        (
            (400, "ThrottlingException", "Rate exceeded"),
            Some(AwsErrorKind::Throttled),
            "(DescribeParameters throttled: ThrottlingException: Rate exceeded)",
        ),
        (
            (503, "SomeCodeNobodyListed", "try later"),
            Some(AwsErrorKind::Unavailable),
            "(DescribeParameters unavailable: SomeCodeNobodyListed: try later)",
        ),
    ] {
        let (_, code, message) = refusal;
        let sdk = fake_aws(refusal, None);
        match (SsmDirectory::new(&sdk).describe(NAME).await, kind) {
            (Ok(None), None) => {}
            (Err(err), Some(kind)) => {
                assert_eq!((err.service, err.kind, err.code.as_deref()), (Service::Ssm, kind, Some(code)), "{code}");
                assert!(err.to_string().contains(message), "{err}");
            }
            (other, _) => panic!("{code}: {other:?}"),
        }

        // The handler notifies from the event alone, and says what it could not check.
        let decision = handler(&sdk).handle(serde_json::from_str(EXPIRING).unwrap(), timefmt::now()).await.unwrap();
        assert_eq!(decision.name(), "notified", "{code}");
        let n = decision.notification.unwrap();
        assert!(n.subject.contains("expires in about 15 days"), "{code}: {}", n.subject);
        assert!(n.message.contains(note), "{code}: {note}\n{}", n.message);
    }
}

#[tokio::test]
async fn a_refused_publish_fails_the_invocation_with_its_documented_type() {
    for (sns, error_type) in [
        ((404, "NotFound", "Topic does not exist"), "Notify.TopicNotFound"),
        ((403, "AuthorizationError", "not authorized to perform: SNS:Publish"), "Notify.PublishDenied"),
        ((400, "Throttling", "Rate exceeded"), "Notify.PublishUnavailable"),
        ((400, "InvalidParameter", "Invalid parameter: Subject"), "Notify.PublishRefused"),
    ] {
        let sdk = fake_aws((400, "ParameterNotFound", "not found"), Some(sns));
        let err = handler(&sdk).handle(serde_json::from_str(EXPIRING).unwrap(), timefmt::now()).await.unwrap_err();
        assert_eq!(err.error_type(), error_type, "{}", sns.1);
    }
}
