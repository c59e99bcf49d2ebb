//! The Parameter Store adapter's errors at the HTTP layer: each answer to `DescribeParameters`
//! (awsJson1.1) sorted into the model every adapter shares, a missing parameter as `Ok(None)`,
//! and what the handler then notifies; and a refused publish failing the invocation with its
//! `errorType`. No local stack needed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns

use std::collections::HashMap;

use aws_config::SdkConfig;
use common::ErrorKind;
use common::aws::{AwsErrorKind, Service};
use common::testing::{self, Answer};
use notification::sns::SnsNotifier;
use notification::testing::publish_answer;
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
    testing::fake_aws(move |seen| {
        if seen.target == "AmazonSSM.DescribeParameters" {
            let (status, code, message) = ssm;
            Answer::json_error(status, code, message)
        } else {
            publish_answer(seen, sns)
                .unwrap_or_else(|| Answer::json_error(400, "UnexpectedRequest", &seen.target))
        }
    })
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
                assert_eq!(
                    (err.service, err.kind, err.code.as_deref()),
                    (Service::Ssm, kind, Some(code)),
                    "{code}"
                );
                assert!(err.to_string().contains(message), "{err}");
            }
            (other, _) => panic!("{code}: {other:?}"),
        }

        // The handler notifies from the event alone, and says what it could not check.
        let decision =
            handler(&sdk).handle(serde_json::from_str(EXPIRING).unwrap(), timefmt::now()).await.unwrap();
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
        let err =
            handler(&sdk).handle(serde_json::from_str(EXPIRING).unwrap(), timefmt::now()).await.unwrap_err();
        assert_eq!(err.error_type(), error_type, "{}", sns.1);
    }
}

/// The audit as it asks Parameter Store: `GetParametersByPath` without decryption (a
/// SecureString's value is never read), `DescribeParameters` for the path and for the
/// account's Standard count; and a refused listing fails the audit with its type.
#[tokio::test]
async fn the_audit_never_asks_for_decryption_and_a_refused_listing_fails_it() {
    use parameter_notifier::ports::ParameterInventory;
    let asked = std::sync::Arc::new(std::sync::Mutex::new(Vec::<(String, serde_json::Value)>::new()));
    let sink = std::sync::Arc::clone(&asked);
    let sdk = testing::fake_aws(move |seen| {
        sink.lock()
            .unwrap()
            .push((seen.target.clone(), serde_json::from_str(&seen.body).unwrap_or_default()));
        let mut answer = Answer::json_error(200, "", "");
        answer.body = if seen.target.ends_with("GetParametersByPath") {
            r#"{"Parameters":[{"Name":"/my-app/dev/pw","Type":"SecureString","Value":"AQICAHhencrypted"}]}"#
                .into()
        } else {
            r#"{"Parameters":[{"Name":"/my-app/dev/pw","Type":"SecureString","Tier":"Advanced","Version":1}]}"#.into()
        };
        answer
    });
    let ssm = SsmDirectory::new(&sdk);
    let listed = ssm.inventory("/my-app/dev/").await.unwrap();
    assert_eq!((listed.len(), listed[0].stored_len, listed[0].value.is_none()), (1, 16, true));
    assert_eq!(ssm.standard_count().await.unwrap(), (1, true));
    let asked = asked.lock().unwrap().clone();
    let by_path: Vec<_> = asked.iter().filter(|(t, _)| t.ends_with("GetParametersByPath")).collect();
    assert!(!by_path.is_empty() && by_path.iter().all(|(_, b)| b["WithDecryption"] == false), "{asked:?}");
    assert!(
        asked
            .iter()
            .any(|(t, b)| t.ends_with("DescribeParameters") && b["ParameterFilters"][0]["Key"] == "Tier")
    );
    assert!(!asked.iter().any(|(t, _)| t.ends_with("GetParameters") || t.contains("Kms")));

    let denied = testing::fake_aws(|_| Answer::json_error(400, "AccessDeniedException", "not authorized"));
    let config =
        Config::from_lookup(&HashMap::from([("TOPIC_ARN", TOPIC), ("AUDIT_PATH", "/my-app/dev/")])).unwrap();
    let handler = Handler::new(SsmDirectory::new(&denied), SnsNotifier::new(&denied, TOPIC), config);
    let audit = serde_json::from_str(include_str!("../../../events/parameter-notifier/audit.json")).unwrap();
    let err = handler.handle(audit, timefmt::now()).await.unwrap_err();
    assert_eq!(err.error_type(), "Notify.AuditFailed");
}
