//! The certificate notifier against the local stack's moto: real ACM certificates (imported ones,
//! made with openssl to expire in a chosen number of days, and requested ones that ACM issues),
//! read back through `DescribeCertificate`, and an SNS topic with an SQS queue subscribed, from
//! which the tests read what subscribers receive. The tests send the events ACM and AWS Config
//! would.
//!
//! Needs the local stack (`make stack-up`; `make test` starts it) and openssl. Fails, never
//! skips, without them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use aws_sdk_acm::primitives::Blob;
use aws_sdk_acm::types::ValidationMethod;
use certificate_notifier::aws::AcmDirectory;
use certificate_notifier::ports::CertificateDirectory;
use certificate_notifier::{Config, Handler};
use common::testing::LocalStack;
use notification::sns::SnsNotifier;
use notification::testing::{Received, TopicInbox};
use notification::timefmt;
use serde_json::Value;

const APPROACHING: &str = include_str!("../../../events/certificate-notifier/approaching-expiration.json");
const AVAILABLE: &str = include_str!("../../../events/certificate-notifier/available.json");
const RENEWAL: &str = include_str!("../../../events/certificate-notifier/renewal-action-required.json");
const NONCOMPLIANT: &str = include_str!("../../../events/certificate-notifier/config-noncompliant.json");
const COMPLIANT: &str = include_str!("../../../events/certificate-notifier/config-compliant.json");

static COUNTER: AtomicUsize = AtomicUsize::new(0);

fn unique(prefix: &str) -> String {
    format!("{prefix}{}-{}", std::process::id(), COUNTER.fetch_add(1, Ordering::SeqCst))
}

struct Stack {
    acm: aws_sdk_acm::Client,
    inbox: TopicInbox,
    handler: Handler<AcmDirectory, SnsNotifier>,
}

impl Stack {
    async fn new() -> Self {
        let local = LocalStack::load();
        let sdk = local.sdk_config();
        let inbox = TopicInbox::create(&sdk, &unique("cn-topic-")).await;
        let config =
            Config::from_lookup(&std::collections::HashMap::from([("TOPIC_ARN", inbox.topic_arn.as_str())]))
                .unwrap();
        let handler =
            Handler::new(AcmDirectory::new(&sdk), SnsNotifier::new(&sdk, inbox.topic_arn.clone()), config);
        Self { acm: aws_sdk_acm::Client::new(&sdk), inbox, handler }
    }

    /// Imports a self-signed certificate for `domain` that expires in `days` days.
    async fn import(&self, domain: &str, days: u32) -> String {
        let dir: PathBuf = std::env::temp_dir().join(unique("cn-cert-"));
        std::fs::create_dir_all(&dir).unwrap();
        let (key, cert) = (dir.join("key.pem"), dir.join("cert.pem"));
        let status = Command::new("openssl")
            .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj"])
            .arg(format!("/CN={domain}"))
            .args(["-days", &days.to_string(), "-keyout"])
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .output()
            .expect("openssl is needed to make test certificates");
        assert!(status.status.success(), "openssl: {}", String::from_utf8_lossy(&status.stderr));
        let out = self
            .acm
            .import_certificate()
            .certificate(Blob::new(std::fs::read(&cert).unwrap()))
            .private_key(Blob::new(std::fs::read(&key).unwrap()))
            .send()
            .await
            .unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        out.certificate_arn.unwrap()
    }

    async fn request(&self, domain: &str) -> String {
        self.acm
            .request_certificate()
            .domain_name(domain)
            .validation_method(ValidationMethod::Dns)
            .send()
            .await
            .unwrap()
            .certificate_arn
            .unwrap()
    }

    /// A sample event about `arn`, with a fresh id.
    fn event(sample: &str, arn: &str) -> Value {
        let mut e: Value = serde_json::from_str(sample).unwrap();
        e["id"] = unique("evt-").into();
        if e["source"] == "aws.config" {
            e["detail"]["resourceId"] = arn.into();
        } else {
            e["resources"] = serde_json::json!([arn]);
        }
        e
    }

    async fn one(&self) -> Received {
        let mut got = self.inbox.receive(1, Duration::from_secs(5)).await;
        assert_eq!(got.len(), 1, "one notification on the topic");
        got.remove(0)
    }
}

#[tokio::test]
async fn an_imported_certificate_notifies_when_it_crosses_a_threshold_and_stays_quiet_between() {
    let s = Stack::new().await;
    let domain = format!("{}.example.com", unique("api"));
    // ACM's NotAfter (14 days away) decides, whatever DaysToExpiry the event carries.
    let arn = s.import(&domain, 14).await;
    let decision = s.handler.handle(Stack::event(APPROACHING, &arn), timefmt::now()).await.unwrap();
    assert_eq!(decision.name(), "notified", "{}", decision.reason);
    let got = s.one().await;
    assert!(got.subject.contains(&domain) && got.subject.contains("expires in 14 days"), "{}", got.subject);
    for part in [
        "imported, not in use",
        "Managed renewal: not eligible",
        "Nothing uses it",
        "Console: https://us-east-1.console.aws.amazon.com/acm/home?region=us-east-1#/certificates/",
    ] {
        assert!(got.message.contains(part), "{part}\n{}", got.message);
    }
    assert_eq!(got.attributes["severity"], "low", "nothing uses it");
    assert_eq!(got.attributes["kind"], "certificate-expiring");
    assert_eq!(got.attributes["resource"], arn);

    // 20 days left: between thresholds, so the daily repeat is not published.
    let quiet = s.import(&domain, 20).await;
    let decision = s.handler.handle(Stack::event(APPROACHING, &quiet), timefmt::now()).await.unwrap();
    assert_eq!(decision.name(), "suppressed", "{}", decision.reason);
    assert!(s.inbox.receive(1, Duration::from_millis(600)).await.is_empty());

    // AWS Config: non-compliant raises, compliant again resolves.
    s.handler.handle(Stack::event(NONCOMPLIANT, &arn), timefmt::now()).await.unwrap();
    assert_eq!(s.one().await.attributes["kind"], "certificate-noncompliant");
    s.handler.handle(Stack::event(COMPLIANT, &arn), timefmt::now()).await.unwrap();
    let resolved = s.one().await;
    assert_eq!(
        (resolved.attributes["status"].as_str(), resolved.attributes["severity"].as_str()),
        ("resolved", "info")
    );
}

#[tokio::test]
async fn a_requested_certificate_reports_acm_issued_facts() {
    let s = Stack::new().await;
    let domain = format!("{}.example.com", unique("www"));
    let arn = s.request(&domain).await;
    s.handler.handle(Stack::event(RENEWAL, &arn), timefmt::now()).await.unwrap();
    let got = s.one().await;
    assert_eq!(got.attributes["kind"], "certificate-renewal-action");
    assert!(got.message.contains("Amazon-issued"), "{}", got.message);
    s.handler.handle(Stack::event(AVAILABLE, &arn), timefmt::now()).await.unwrap();
    let got = s.one().await;
    assert_eq!(got.attributes["status"], "resolved");
    assert!(got.subject.contains(&domain), "{}", got.subject);
}

#[tokio::test]
async fn a_certificate_acm_does_not_know_is_reported_from_the_event() {
    let s = Stack::new().await;
    let arn = "arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-4000-8000-000000000000";
    let decision = s.handler.handle(Stack::event(APPROACHING, arn), timefmt::now()).await.unwrap();
    assert_eq!(decision.name(), "notified", "14 days in the event is a threshold");
    let got = s.one().await;
    assert!(got.subject.contains("api.example.com"), "the event's CommonName: {}", got.subject);
    assert!(got.message.contains("Could not check: the certificate was not found by ACM"), "{}", got.message);
}

/// The account's expiry-event setting, put as `AcmDaysBeforeExpiry` or the CLI would
/// (`PutAccountConfiguration`) and read back with the first event (`GetAccountConfiguration`), both of
/// which moto keeps.
#[tokio::test]
async fn the_accounts_days_before_expiry_is_read_back() {
    let local = LocalStack::load();
    let sdk = local.sdk_config();
    let acm = aws_sdk_acm::Client::new(&sdk);
    let put = |days: i32| {
        acm.put_account_configuration()
            .expiry_events(
                aws_sdk_acm::types::ExpiryEventsConfiguration::builder().days_before_expiry(days).build(),
            )
            .idempotency_token(unique("t"))
            .send()
    };
    put(20).await.unwrap();
    let directory = AcmDirectory::new(&sdk);
    let mut config = Config::from_lookup(&std::collections::HashMap::from([(
        "TOPIC_ARN",
        "arn:aws:sns:us-east-1:123456789012:t",
    )]))
    .unwrap();
    let warning = certificate_notifier::check_account(&directory, &mut config).await.unwrap();
    assert!(warning.contains("start 20 days before expiry"), "{warning}");
    assert_eq!(config.first_event_day, Some(20));
    put(45).await.unwrap();
    assert_eq!(directory.days_before_expiry().await.unwrap(), Some(45));
}
