//! The ACM adapter's errors at the HTTP layer: each answer to `DescribeCertificate`
//! (awsJson1.1) sorted into the model every adapter shares, a certificate ACM does not know as
//! `Ok(None)`, and what the handler then notifies; and a refused publish failing the invocation
//! with its `errorType`. No local stack needed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns

use std::collections::HashMap;

use aws_config::SdkConfig;
use certificate_notifier::aws::AcmDirectory;
use certificate_notifier::ports::CertificateDirectory;
use certificate_notifier::{Config, Handler};
use common::ErrorKind;
use common::aws::{AwsErrorKind, Service};
use common::testing::{self, Answer};
use notification::sns::SnsNotifier;
use notification::testing::publish_answer;
use notification::timefmt;

const APPROACHING: &str = include_str!("../../../events/certificate-notifier/approaching-expiration.json");
const ARN: &str = "arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8899-aabbccddeeff";
const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:alerts";

/// An error answer: HTTP status, code, message.
type Refusal = (u16, &'static str, &'static str);

/// An AWS whose HTTP layer answers `DescribeCertificate` with `acm` and `Publish` with `sns`, as
/// the services do (an error, or for a publish `None`, a message id).
fn fake_aws(acm: Refusal, sns: Option<Refusal>) -> SdkConfig {
    testing::fake_aws(move |seen| {
        if seen.target == "CertificateManager.DescribeCertificate" && seen.body.contains(ARN) {
            let (status, code, message) = acm;
            Answer::json_error(status, code, message)
        } else {
            publish_answer(seen, sns)
                .unwrap_or_else(|| Answer::json_error(400, "UnexpectedRequest", &seen.target))
        }
    })
}

fn handler(sdk: &SdkConfig) -> Handler<AcmDirectory, SnsNotifier> {
    let config = Config::from_lookup(&HashMap::from([("TOPIC_ARN", TOPIC)])).unwrap();
    Handler::new(AcmDirectory::new(sdk), SnsNotifier::new(sdk, TOPIC), config)
}

#[tokio::test]
async fn describe_certificate_answers_are_sorted_and_the_notification_says_what_was_not_checked() {
    for (refusal, kind, note) in [
        (
            (
                400,
                "ResourceNotFoundException",
                "Could not find certificate arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c.",
            ),
            None,
            "Could not check: the certificate was not found by ACM DescribeCertificate (deleted?)",
        ),
        (
            (
                400,
                "AccessDeniedException",
                "User: arn:aws:sts::123456789012:assumed-role/notifier is not authorized to perform: acm:DescribeCertificate",
            ),
            Some(AwsErrorKind::Denied { kms: false }),
            "Could not check: the certificate's type, renewal and use (ACM DescribeCertificate access denied: AccessDeniedException: User: ",
        ),
        (
            (400, "ThrottlingException", "Rate exceeded"),
            Some(AwsErrorKind::Throttled),
            "(ACM DescribeCertificate throttled: ThrottlingException: Rate exceeded)",
        ),
        (
            (503, "SomeCodeNobodyListed", "try later"),
            Some(AwsErrorKind::Unavailable),
            "(ACM DescribeCertificate unavailable: SomeCodeNobodyListed: try later)",
        ),
    ] {
        let (_, code, message) = refusal;
        let sdk = fake_aws(refusal, None);
        match (AcmDirectory::new(&sdk).describe(ARN).await, kind) {
            (Ok(None), None) => {}
            (Err(err), Some(kind)) => {
                assert_eq!(
                    (err.service, err.kind, err.code.as_deref()),
                    (Service::Acm, kind, Some(code)),
                    "{code}"
                );
                assert!(err.to_string().contains(message), "{err}");
            }
            (other, _) => panic!("{code}: {other:?}"),
        }

        // The handler decides from the event alone (14 days left: a threshold), and says what it
        // could not check.
        let decision =
            handler(&sdk).handle(serde_json::from_str(APPROACHING).unwrap(), timefmt::now()).await.unwrap();
        assert_eq!(decision.name(), "notified", "{code}: {}", decision.reason);
        let n = decision.notification.unwrap();
        assert!(
            n.subject.contains("api.example.com") && n.subject.contains("expires in 14 days"),
            "{code}: {}",
            n.subject
        );
        assert!(n.message.contains(note), "{code}: {note}\n{}", n.message);
    }
}

#[tokio::test]
async fn a_refused_publish_fails_the_invocation_with_its_documented_type() {
    for (sns, error_type) in [
        ((404, "NotFound", "Topic does not exist"), "Notify.TopicNotFound"),
        (
            (400, "KMSAccessDenied", "The ciphertext refers to a customer master key that does not exist"),
            "Notify.PublishDenied",
        ),
        ((500, "InternalError", "Internal error"), "Notify.PublishUnavailable"),
        ((400, "InvalidParameter", "Invalid parameter: Subject"), "Notify.PublishRefused"),
    ] {
        let sdk = fake_aws((400, "ResourceNotFoundException", "not found"), Some(sns));
        let err = handler(&sdk)
            .handle(serde_json::from_str(APPROACHING).unwrap(), timefmt::now())
            .await
            .unwrap_err();
        assert_eq!(err.error_type(), error_type, "{}", sns.1);
    }
}

/// `GetAccountConfiguration` as ACM answers it, and refused: the setting, or the sorted error
/// (which the cold start only warns about).
#[tokio::test]
async fn the_accounts_expiry_event_setting_is_read_or_its_refusal_sorted() {
    let sdk = testing::fake_aws(|seen| {
        assert_eq!(seen.target, "CertificateManager.GetAccountConfiguration");
        let mut answer = Answer::json_error(200, "", "");
        answer.body = r#"{"ExpiryEvents":{"DaysBeforeExpiry":20}}"#.into();
        answer
    });
    assert_eq!(AcmDirectory::new(&sdk).days_before_expiry().await.unwrap(), Some(20));
    let mut config = Config::from_lookup(&HashMap::from([("TOPIC_ARN", TOPIC)])).unwrap();
    let warning = certificate_notifier::check_account(&AcmDirectory::new(&sdk), &mut config).await.unwrap();
    assert!(warning.contains("DaysBeforeExpiry=30"), "{warning}");
    let denied = testing::fake_aws(|_| {
        Answer::json_error(
            400,
            "AccessDeniedException",
            "not authorized to perform: acm:GetAccountConfiguration",
        )
    });
    let err = AcmDirectory::new(&denied).days_before_expiry().await.unwrap_err();
    assert_eq!((err.service, err.kind), (Service::Acm, AwsErrorKind::Denied { kms: false }));
}
