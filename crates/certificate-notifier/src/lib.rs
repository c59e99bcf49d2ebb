//! The certificate notifier: turns ACM's certificate events and AWS Config's compliance changes
//! for `acm-certificate-expiration-check` into SNS notifications, with a severity from the days
//! left, the certificate's type (ACM never renews imported ones) and what uses it, and only when
//! a threshold is crossed or the state changes.
//!
//! `main.rs` wires [`Config`], [`aws::AcmDirectory`] and the SNS notifier at cold start;
//! [`Handler::handle`] decides for each event.

pub mod aws;
pub(crate) mod config;
pub(crate) mod decide;
pub(crate) mod event;
pub(crate) mod model;
pub mod ports;

pub use config::Config;

use std::sync::OnceLock;

use lambda_runtime::LambdaEvent;
use notification::{Decision, Envelope, Found, HandlerError, Notifier, Pipeline, Reading, Verdict};

use crate::decide::Facts;
use crate::event::CertificateEvent;
use crate::ports::{CertificateDirectory, CertificateInfo};

pub const FUNCTION: &str = "certificate-notifier";

/// What this function brings to the notifier pipeline: ACM's and AWS Config's events, the
/// `DescribeCertificate` look-up, and the rules in [`decide`].
#[derive(Debug)]
pub(crate) struct CertificateRules<C> {
    certificates: C,
    config: Config,
    /// `config` with the account's `DaysBeforeExpiry` taken into account ([`check_account`]):
    /// read once per instance, beside the first event's `DescribeCertificate` rather than before
    /// it at init, so that a cold start waits for one round trip instead of two.
    checked: OnceLock<Config>,
}

impl<C: CertificateDirectory + Sync> CertificateRules<C> {
    /// The configuration the rules decide with: the checked one once the account has been read.
    fn config(&self) -> &Config {
        self.checked.get().unwrap_or(&self.config)
    }

    /// The first call reads the account's setting; later ones find it read.
    async fn check_account_once(&self) {
        if self.checked.get().is_none() {
            let mut config = self.config.clone();
            check_account(&self.certificates, &mut config).await;
            // Another invocation of the same instance may have got there first: the same answer.
            let _ = self.checked.set(config);
        }
    }
}

fn arn(event: &CertificateEvent) -> Option<&str> {
    match event {
        CertificateEvent::Acm(a) => Some(a.arn.as_str()),
        CertificateEvent::Compliance(c) => Some(c.arn.as_str()),
        CertificateEvent::Other(_) => None,
    }
}

impl<C: CertificateDirectory + Sync> notification::Rules for CertificateRules<C> {
    const FUNCTION: &'static str = FUNCTION;
    type Event = CertificateEvent;
    type Facts = CertificateInfo;

    fn read(&self, e: &Envelope) -> Result<Reading<CertificateEvent>, HandlerError> {
        Ok(match event::read(e, &self.config.config_rule)? {
            CertificateEvent::Other(reason) => Reading::Ignore(reason),
            event => Reading::Handle(event),
        })
    }

    async fn look_up(&self, event: &CertificateEvent) -> Found<CertificateInfo> {
        // Every event read as handled names a certificate: `Other` is ignored before the look-up.
        let Some(arn) = arn(event) else { return Ok(None) };
        let (found, ()) = tokio::join!(self.certificates.describe(arn), self.check_account_once());
        if let Ok(None) = found {
            tracing::warn!(
                certificate_arn = arn,
                "ACM does not know the certificate: deciding from the event alone"
            );
        }
        found
    }

    fn decide(
        &self,
        e: &Envelope,
        event: &CertificateEvent,
        found: &Found<CertificateInfo>,
        now: i64,
    ) -> Result<Verdict, HandlerError> {
        Ok(match event {
            CertificateEvent::Acm(a) => {
                let facts = Facts::gather(&a.arn, Some(a), found, now);
                decide::acm_verdict(e, a, &facts, self.config())
                    .map_err(|reason| HandlerError::InvalidEvent(format!("{}: {reason}", e.detail_type)))?
            }
            CertificateEvent::Compliance(c) => {
                decide::compliance_verdict(e, c, &Facts::gather(&c.arn, None, found, now), self.config())
            }
            CertificateEvent::Other(reason) => Verdict::Ignore(reason.clone()),
        })
    }
}

/// Once per instance, beside its first event's look-up: reads the account's ACM expiry-event
/// setting (`DaysBeforeExpiry`) into `config`, and, when it is below the largest threshold, says
/// so once (a warning with the command that fixes it). A failed read is a warning too, never a
/// failed invocation. Returns the warning, if any.
pub async fn check_account<C: CertificateDirectory>(certificates: &C, config: &mut Config) -> Option<String> {
    match certificates.days_before_expiry().await {
        Ok(days) => {
            let warning = config.with_days_before_expiry(days);
            if let Some(text) = &warning {
                tracing::warn!(
                    days_before_expiry = days,
                    largest_threshold = config.largest_threshold(),
                    "{text}"
                );
            }
            warning
        }
        Err(err) => {
            tracing::warn!(error = %err, "ACM's account configuration (GetAccountConfiguration) could not be read: \
                its DaysBeforeExpiry is not checked against EXPIRY_THRESHOLDS");
            None
        }
    }
}

/// The function, built once at cold start: the notifier pipeline with this function's rules.
#[derive(Debug)]
pub struct Handler<C, N>(Pipeline<CertificateRules<C>, N>);

impl<C: CertificateDirectory + Sync, N: Notifier + Sync> Handler<C, N> {
    pub fn new(certificates: C, notifier: N, config: Config) -> Self {
        Self(Pipeline::new(CertificateRules { certificates, config, checked: OnceLock::new() }, notifier))
    }

    /// Decides what `payload` calls for at `now` (Unix seconds) and publishes it.
    ///
    /// # Errors
    /// [`HandlerError::InvalidEvent`] for a malformed certificate event, and
    /// [`HandlerError::Publish`] when SNS does not take the notification.
    pub async fn handle(&self, payload: serde_json::Value, now: i64) -> Result<Decision, HandlerError> {
        self.0.handle(payload, now).await
    }
}

/// The Lambda handler: decides, logs the decision (and its metric), and returns it.
///
/// # Errors
/// See [`Handler::handle`]; the error is logged with its `errorType` first.
pub async fn handle<C, N>(
    handler: &Handler<C, N>,
    event: LambdaEvent<serde_json::Value>,
) -> Result<Decision, HandlerError>
where
    C: CertificateDirectory + Sync,
    N: Notifier + Sync,
{
    handler.0.invoke(event).await
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use common::ErrorKind;
    use common::aws::{AwsError, AwsErrorKind, Service};
    use notification::testing::FakeNotifier;
    use notification::timefmt::{self, DAY};
    use notification::{Outcome, Severity};
    use serde_json::{Value, json};

    use super::*;
    use crate::ports::{CertificateInfo, CertificateType, RenewalEligibility, RenewalStatus};

    const ARN: &str = "arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8899-aabbccddeeff";
    const APPROACHING: &str =
        include_str!("../../../events/certificate-notifier/approaching-expiration.json");
    const EXPIRED: &str = include_str!("../../../events/certificate-notifier/expired.json");
    const RENEWAL: &str = include_str!("../../../events/certificate-notifier/renewal-action-required.json");
    const AVAILABLE: &str = include_str!("../../../events/certificate-notifier/available.json");
    const REVOKED: &str = include_str!("../../../events/certificate-notifier/revoked.json");
    const NONCOMPLIANT: &str = include_str!("../../../events/certificate-notifier/config-noncompliant.json");
    const COMPLIANT: &str = include_str!("../../../events/certificate-notifier/config-compliant.json");
    const OTHER_RULE: &str = include_str!("../../../events/certificate-notifier/config-other-rule.json");
    const MALFORMED: &str = include_str!("../../../events/certificate-notifier/malformed.json");

    /// Certificates by ARN (the account's setting under "account"), and how often the account's
    /// setting was read.
    #[derive(Debug, Default)]
    struct FakeAcm(Mutex<HashMap<String, Result<Option<CertificateInfo>, AwsError>>>, AtomicUsize);

    impl CertificateDirectory for &FakeAcm {
        async fn describe(&self, arn: &str) -> Result<Option<CertificateInfo>, AwsError> {
            self.0.lock().unwrap().get(arn).cloned().unwrap_or(Ok(None))
        }

        async fn days_before_expiry(&self) -> Result<Option<i64>, AwsError> {
            self.1.fetch_add(1, Ordering::SeqCst);
            self.0
                .lock()
                .unwrap()
                .get("account")
                .cloned()
                .unwrap_or(Ok(None))
                .map(|i| i.and_then(|i| i.not_after))
        }
    }

    fn now() -> i64 {
        timefmt::parse("2026-11-29T09:00:00Z").unwrap()
    }

    fn cert(cert_type: CertificateType, days: i64, in_use: bool) -> CertificateInfo {
        let imported = cert_type == CertificateType::Imported;
        CertificateInfo {
            domain: Some("api.example.com".into()),
            cert_type: Some(cert_type),
            not_after: Some(now() + days * DAY - 3600),
            renewal_eligibility: Some(if imported {
                RenewalEligibility::Ineligible
            } else {
                RenewalEligibility::Eligible
            }),
            renewal_status: (!imported).then_some(RenewalStatus::PendingAutoRenewal),
            in_use_by: if in_use {
                vec!["arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/50dc6c495c0c9188".into()]
            } else {
                vec![]
            },
            ..CertificateInfo::default()
        }
    }

    fn config(extra: &[(&'static str, &'static str)]) -> Config {
        let mut env = HashMap::from([("TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:alerts")]);
        env.extend(extra.iter().copied());
        Config::from_lookup(&env).unwrap()
    }

    fn event(json: &str) -> Value {
        serde_json::from_str(json).unwrap()
    }

    /// The approaching-expiration sample with another id and `DaysToExpiry`.
    fn approaching(id: &str, days: Value) -> Value {
        let mut e = event(APPROACHING);
        e["id"] = id.into();
        e["detail"]["DaysToExpiry"] = days;
        e
    }

    async fn decide(
        acm: &FakeAcm,
        payload: Value,
    ) -> (Result<Decision, HandlerError>, Vec<notification::Notification>) {
        let notifier = FakeNotifier::default();
        let handler = Handler::new(acm, &notifier, config(&[]));
        let result = handler.handle(payload, now()).await;
        (result, notifier.sent())
    }

    fn severity(d: &Decision) -> Severity {
        d.notification.as_ref().unwrap().severity
    }

    #[tokio::test]
    async fn every_event_kind_gets_its_decision() {
        let acm = FakeAcm::default();
        acm.0.lock().unwrap().insert(ARN.into(), Ok(Some(cert(CertificateType::Imported, 14, true))));
        let cases: [(&str, &str, Severity, &str, &str); 7] = [
            (APPROACHING, "notified", Severity::High, "certificate-expiring", "open"),
            (EXPIRED, "notified", Severity::Critical, "certificate-expired", "open"),
            (RENEWAL, "notified", Severity::High, "certificate-renewal-action", "open"),
            (AVAILABLE, "notified", Severity::Info, "certificate-available", "resolved"),
            (REVOKED, "notified", Severity::Critical, "certificate-revoked", "open"),
            (NONCOMPLIANT, "notified", Severity::High, "certificate-noncompliant", "open"),
            (COMPLIANT, "notified", Severity::Info, "certificate-compliant", "resolved"),
        ];
        for (json, decision, sev, kind, status) in cases {
            let (result, sent) = decide(&acm, event(json)).await;
            let d = result.unwrap();
            assert_eq!(
                (d.name(), severity(&d), d.notification.as_ref().unwrap().kind.as_str()),
                (decision, sev, kind),
                "{kind}"
            );
            assert_eq!(sent.len(), 1, "{kind}");
            let n = &sent[0];
            assert_eq!(
                (n.status.as_str(), n.resource.as_str(), n.event_id.as_str()),
                (status, ARN, event(json)["id"].as_str().unwrap())
            );
            assert!(n.subject.len() < 100 && n.subject.contains("api.example.com"), "{}", n.subject);
            for part in [
                "Resource: arn:aws:acm:",
                "What to do: ",
                "Console: https://us-east-1.console.aws.amazon.com/acm/home?region=us-east-1#/certificates/0f1e2d3c",
                "imported, in use",
                "In use by: arn:aws:elasticloadbalancing",
            ] {
                assert!(n.message.contains(part), "{kind}: {part}\n{}", n.message);
            }
        }
        let (result, sent) = decide(&acm, event(OTHER_RULE)).await;
        assert_eq!(result.unwrap().name(), "ignored");
        assert!(sent.is_empty());
    }

    #[tokio::test]
    async fn an_imported_certificate_in_use_escalates_at_each_threshold_and_is_quiet_between() {
        use Severity::{Critical, High, Low, Warning};
        let acm = FakeAcm::default();
        let mut seen = Vec::new();
        for days in [45_i64, 31, 30, 29, 15, 14, 8, 7, 2, 1, 0] {
            acm.0.lock().unwrap().insert(ARN.into(), Ok(Some(cert(CertificateType::Imported, days, true))));
            let (result, sent) = decide(&acm, approaching(&format!("day-{days}"), json!(days))).await;
            let d = result.unwrap();
            seen.push((days, d.name(), severity(&d)));
            assert_eq!(sent.len(), usize::from(d.name() == "notified"));
        }
        assert_eq!(
            seen,
            [
                (45, "suppressed", Low),
                (31, "suppressed", Low),
                (30, "notified", Warning),
                (29, "suppressed", Warning),
                (15, "suppressed", Warning),
                (14, "notified", High),
                (8, "suppressed", High),
                (7, "notified", Critical),
                (2, "suppressed", Critical),
                (1, "notified", Critical),
                (0, "notified", Critical),
            ]
        );
    }

    #[tokio::test]
    async fn type_renewal_and_use_set_the_severity() {
        let cfg = config(&[]);
        let facts = |info: CertificateInfo| decide::Facts::gather(ARN, None, &Ok(Some(info)), now());
        // ACM will renew it: informational until renewal is overdue.
        assert_eq!(
            decide::expiry_severity(&facts(cert(CertificateType::AmazonIssued, 50, true)), &cfg),
            Severity::Info
        );
        assert_eq!(
            decide::expiry_severity(&facts(cert(CertificateType::AmazonIssued, 30, true)), &cfg),
            Severity::Warning
        );
        // Validation pending: a person must act, whatever the days.
        let mut pending = cert(CertificateType::AmazonIssued, 50, true);
        pending.renewal_status = Some(RenewalStatus::PendingValidation);
        assert!(decide::Facts::gather(ARN, None, &Ok(Some(pending.clone())), now()).needs_person(&cfg));
        pending.not_after = Some(now() + 14 * DAY);
        assert_eq!(decide::expiry_severity(&facts(pending), &cfg), Severity::High);
        // Nothing uses it: low, even at one day.
        assert_eq!(
            decide::expiry_severity(&facts(cert(CertificateType::Imported, 1, false)), &cfg),
            Severity::Low
        );
        // Thresholds are configurable.
        let strict = config(&[("EXPIRY_THRESHOLDS", "60,30")]);
        assert_eq!(
            decide::expiry_severity(&facts(cert(CertificateType::Imported, 45, true)), &strict),
            Severity::Warning
        );
        assert!(decide::crosses(60, &strict) && !decide::crosses(14, &strict));
    }

    #[tokio::test]
    async fn days_left_come_from_not_after_when_acm_answers() {
        let acm = FakeAcm::default();
        acm.0.lock().unwrap().insert(ARN.into(), Ok(Some(cert(CertificateType::Imported, 7, true))));
        // The event says 14 (a threshold), ACM's NotAfter says 7: NotAfter wins.
        let (result, _) = decide(&acm, approaching("a", json!(14))).await;
        let d = result.unwrap();
        assert_eq!((d.name(), severity(&d)), ("notified", Severity::Critical));
        assert!(d.notification.unwrap().subject.contains("expires in 7 days"));
    }

    #[tokio::test]
    async fn enrichment_failures_still_notify_from_the_event_and_say_what_was_not_checked() {
        let acm = FakeAcm::default();
        acm.0.lock().unwrap().insert(
            ARN.into(),
            Err(AwsError::new(
                Service::Acm,
                AwsErrorKind::Denied { kms: false },
                Some("AccessDeniedException"),
                "not authorized to perform acm:DescribeCertificate",
            )),
        );
        let (result, sent) = decide(&acm, event(APPROACHING)).await;
        let d = result.unwrap();
        // From the event alone: 14 days, type unknown (so a person may be needed), use unknown (so taken as in use).
        assert_eq!((d.name(), severity(&d)), ("notified", Severity::High));
        assert!(
            sent[0].message.contains("Could not check: the certificate's type, renewal and use (ACM DescribeCertificate access denied"),
            "{}",
            sent[0].message
        );

        // Not found: the event's own fields are used.
        let (result, sent) = decide(&FakeAcm::default(), event(EXPIRED)).await;
        assert_eq!(severity(&result.unwrap()), Severity::Critical);
        assert!(sent[0].message.contains("not found by ACM"), "{}", sent[0].message);
        assert!(
            sent[0].message.contains("imported, in use"),
            "the event's CertificateType and InUse: {}",
            sent[0].message
        );
    }

    #[tokio::test]
    async fn a_certificate_acm_does_not_know_is_logged_and_noted_but_not_an_error() {
        use common::testing::LogCapture;
        use tracing::instrument::WithSubscriber;

        let acm = FakeAcm::default();
        let logs = LogCapture::default();
        let (result, sent) = decide(&acm, event(APPROACHING)).with_subscriber(logs.subscriber()).await;
        assert_eq!(result.unwrap().name(), "notified");
        assert!(sent[0].message.contains(
            "Could not check: the certificate was not found by ACM DescribeCertificate (deleted?)"
        ));
        let warned = logs.text().lines().filter_map(|l| serde_json::from_str::<Value>(l).ok()).any(|l| {
            l["message"] == "ACM does not know the certificate: deciding from the event alone"
                && l["certificate_arn"].as_str().is_some_and(|arn| arn.starts_with("arn:aws:acm:"))
        });
        assert!(warned, "{}", logs.text());
    }

    #[tokio::test]
    async fn missing_unknown_and_malformed_fields() {
        let acm = FakeAcm::default();
        // No certificate ARN in resources: a clear error.
        let (result, sent) = decide(&acm, event(MALFORMED)).await;
        let err = result.unwrap_err();
        assert_eq!(err.error_type(), "Notify.InvalidEvent");
        assert!(err.to_string().contains("resources"), "{err}");
        assert!(sent.is_empty());
        // DaysToExpiry unusable and ACM silent: a clear error, not a guess.
        let (result, _) = decide(&acm, approaching("b", json!("soon"))).await;
        assert!(result.unwrap_err().to_string().contains("DaysToExpiry"));
        // DaysToExpiry as a string or a fraction; unknown fields anywhere are ignored.
        let mut e = approaching("c", json!("14"));
        e["detail"]["SomethingNew"] = json!({"x": 1});
        e["new-top-level"] = json!(true);
        assert_eq!(decide(&acm, e).await.0.unwrap().name(), "notified");
        assert_eq!(decide(&acm, approaching("d", json!(14.6))).await.0.unwrap().name(), "notified");
        // Not an EventBridge event, or another service's.
        for bad in [json!("text"), json!({"detail": {}})] {
            assert_eq!(decide(&acm, bad).await.0.unwrap_err().error_type(), "Notify.InvalidEvent");
        }
        let mut other = event(APPROACHING);
        other["source"] = "aws.ec2".into();
        assert_eq!(decide(&acm, other).await.0.unwrap().name(), "ignored");
        let mut unknown = event(APPROACHING);
        unknown["detail-type"] = "ACM Certificate Something New".into();
        assert_eq!(decide(&acm, unknown).await.0.unwrap().name(), "ignored");
    }

    #[tokio::test]
    async fn config_changes_raise_resolve_or_stay_quiet() {
        let acm = FakeAcm::default();
        acm.0.lock().unwrap().insert(ARN.into(), Ok(Some(cert(CertificateType::Imported, 20, true))));
        let mut again = event(NONCOMPLIANT);
        again["detail"]["oldEvaluationResult"] = json!({"complianceType": "NON_COMPLIANT"});
        assert_eq!(decide(&acm, again).await.0.unwrap().name(), "suppressed");
        let mut first_compliant = event(COMPLIANT);
        first_compliant["detail"].as_object_mut().unwrap().remove("oldEvaluationResult");
        assert_eq!(decide(&acm, first_compliant).await.0.unwrap().name(), "suppressed");
        let mut na = event(NONCOMPLIANT);
        na["detail"]["newEvaluationResult"]["complianceType"] = "NOT_APPLICABLE".into();
        assert_eq!(decide(&acm, na).await.0.unwrap().name(), "ignored");
        let (d, _) = decide(&acm, event(NONCOMPLIANT)).await;
        let n = d.unwrap().notification.unwrap();
        assert!(n.message.contains("non-compliant: it expires in 20 days"), "{}", n.message);
    }

    #[tokio::test]
    async fn a_repeated_event_id_is_published_once_and_a_failed_publish_is_retried() {
        let acm = FakeAcm::default();
        acm.0.lock().unwrap().insert(ARN.into(), Ok(Some(cert(CertificateType::Imported, 14, true))));
        let notifier = FakeNotifier::default();
        let handler = Handler::new(&acm, &notifier, config(&[]));
        *notifier.fail.lock().unwrap() =
            Some(AwsError::new(Service::Sns, AwsErrorKind::Throttled, Some("Throttling"), "Rate exceeded"));
        let err = handler.handle(event(APPROACHING), now()).await.unwrap_err();
        assert_eq!(err.error_type(), "Notify.PublishUnavailable");
        assert!(matches!(
            handler.handle(event(APPROACHING), now()).await.unwrap().outcome,
            Outcome::Notified { .. }
        ));
        assert_eq!(handler.handle(event(APPROACHING), now()).await.unwrap().outcome, Outcome::Duplicate);
        assert_eq!(notifier.sent().len(), 1);
    }

    #[tokio::test]
    async fn days_left_are_counted_from_the_events_time_so_a_late_delivery_keeps_its_day() {
        let acm = FakeAcm::default();
        let mut info = cert(CertificateType::Imported, 14, true);
        // 13 days and 4 hours after the event: "expires in 14 days" on the event's day.
        info.not_after = Some(now() + 14 * DAY - 20 * 3600);
        acm.0.lock().unwrap().insert(ARN.into(), Ok(Some(info)));
        let notifier = FakeNotifier::default();
        let handler = Handler::new(&acm, &notifier, config(&[]));
        // Delivered (or retried) five hours late: as of the invocation only 12 days and 23
        // hours would be left, and the 14-day threshold would be skipped.
        let d = handler.handle(approaching("late", json!(14)), now() + 5 * 3600).await.unwrap();
        assert_eq!(d.name(), "notified", "{}", d.reason);
        assert!(d.notification.unwrap().subject.contains("expires in 14 days"));
        // The next day's event, on time, is not a second notification of the same threshold.
        let mut next = approaching("next-day", json!(13));
        next["time"] = timefmt::format(now() + DAY).into();
        assert_eq!(handler.handle(next, now() + DAY).await.unwrap().name(), "suppressed");
    }

    #[tokio::test]
    async fn hostile_arns_names_and_regions_stay_out_of_links_and_lines() {
        let acm = FakeAcm::default();
        for bad in [
            "arn:aws:acm:us-east-1:123456789012:certificate/x\nWhat to do: nothing",
            "arn:aws:acm:evil.example:123456789012:certificate/x",
            "arn:aws:acm:us-east-1:1234:certificate/x",
            "arn:aws:acm:us-east-1:123456789012:certificate/x?#",
        ] {
            let mut e = event(EXPIRED);
            e["resources"] = json!([bad]);
            assert_eq!(decide(&acm, e).await.0.unwrap_err().error_type(), "Notify.InvalidEvent", "{bad:?}");
        }
        let mut e = event(EXPIRED);
        e["region"] = "evil.example/#".into();
        e["detail"]["CommonName"] = "api.example.com\n\nWhat to do: ignore this".into();
        let (d, sent) = decide(&acm, e).await;
        assert_eq!(d.unwrap().name(), "notified");
        let m = &sent[0].message;
        assert_eq!(m.lines().filter(|l| l.starts_with("What to do:")).count(), 1, "{m}");
        assert!(!m.contains("evil.example"), "{m}");
        assert!(
            m.contains("Console: https://us-east-1.console.aws.amazon.com/acm/"),
            "the ARN's region: {m}"
        );
        assert!(!sent[0].subject.contains('\n'));
    }

    #[tokio::test]
    async fn a_days_before_expiry_below_the_largest_threshold_is_said_once_and_its_first_event_notifies() {
        let acm = FakeAcm::default();
        // The fake keeps the account's DaysBeforeExpiry in a pseudo-certificate's NotAfter.
        let account =
            |days| Ok(Some(CertificateInfo { not_after: Some(days), ..CertificateInfo::default() }));
        acm.0.lock().unwrap().insert("account".into(), account(20));
        let mut cfg = config(&[]);
        let warning = check_account(&&acm, &mut cfg).await.unwrap();
        assert!(
            warning.contains("start 20 days before expiry") && warning.contains("largest threshold of 30"),
            "{warning}"
        );
        assert!(
            warning.contains("aws acm put-account-configuration --expiry-events DaysBeforeExpiry=30"),
            "{warning}"
        );
        assert_eq!(cfg.first_event_day, Some(20));
        acm.0.lock().unwrap().insert(ARN.into(), Ok(Some(cert(CertificateType::Imported, 20, true))));
        let notifier = FakeNotifier::default();
        let handler = Handler::new(&acm, &notifier, cfg);
        let d = handler.handle(approaching("first", json!(20)), now()).await.unwrap();
        assert_eq!((d.name(), severity(&d)), ("notified", Severity::Warning), "{}", d.reason);
        // The notification says it too, with the fix, to the people who act on it.
        let message = &notifier.sent()[0].message;
        assert!(
            message.contains(
                "start 20 days before expiry in this account (DaysBeforeExpiry), after the 30-day threshold"
            ) && message.contains("aws acm put-account-configuration --expiry-events DaysBeforeExpiry=30"),
            "{message}"
        );
        acm.0.lock().unwrap().insert(ARN.into(), Ok(Some(cert(CertificateType::Imported, 14, true))));
        handler.handle(approaching("second", json!(14)), now()).await.unwrap();
        let second = &notifier.sent()[1].message;
        assert!(
            !second.contains("in this account (DaysBeforeExpiry)"),
            "only the first event's says so: {second}"
        );
        acm.0.lock().unwrap().insert("account".into(), account(45));
        let mut cfg = config(&[]);
        assert!(check_account(&&acm, &mut cfg).await.is_none());
        assert_eq!(cfg.first_event_day, None);
        acm.0.lock().unwrap().insert(
            "account".into(),
            Err(AwsError::new(
                Service::Acm,
                AwsErrorKind::Denied { kms: false },
                Some("AccessDeniedException"),
                "no",
            )),
        );
        assert!(
            check_account(&&acm, &mut config(&[])).await.is_none(),
            "a failed read is not a failed cold start"
        );
    }

    #[tokio::test]
    async fn the_accounts_setting_is_read_once_beside_the_first_events_look_up_not_at_cold_start() {
        let acm = FakeAcm::default();
        let account = CertificateInfo { not_after: Some(20), ..CertificateInfo::default() };
        acm.0.lock().unwrap().insert("account".into(), Ok(Some(account)));
        acm.0.lock().unwrap().insert(ARN.into(), Ok(Some(cert(CertificateType::Imported, 20, true))));
        let notifier = FakeNotifier::default();
        let handler = Handler::new(&acm, &notifier, config(&[]));
        assert_eq!(acm.1.load(Ordering::SeqCst), 0, "nothing is read before the first event");
        // ACM's first event comes 20 days before expiry, past the 30-day threshold: it notifies
        // only because the account's setting was read for it.
        let d = handler.handle(approaching("first", json!(20)), now()).await.unwrap();
        assert_eq!((d.name(), severity(&d)), ("notified", Severity::Warning), "{}", d.reason);
        handler.handle(approaching("second", json!(19)), now()).await.unwrap();
        handler.handle(serde_json::from_str(COMPLIANT).unwrap(), now()).await.unwrap();
        assert_eq!(acm.1.load(Ordering::SeqCst), 1, "read once per instance");
    }

    #[tokio::test]
    async fn a_renewed_exportable_certificate_says_to_re_export_every_copy() {
        let acm = FakeAcm::default();
        let mut info = cert(CertificateType::AmazonIssued, 395, true);
        info.exportable = Some(true);
        acm.0.lock().unwrap().insert(ARN.into(), Ok(Some(info)));
        let (d, sent) = decide(&acm, event(AVAILABLE)).await;
        assert_eq!(d.unwrap().name(), "notified");
        assert!(
            sent[0].message.contains("export it again (aws acm export-certificate"),
            "{}",
            sent[0].message
        );
        assert!(sent[0].message.contains("redeploy it on every server"), "{}", sent[0].message);
        acm.0.lock().unwrap().insert(ARN.into(), Ok(Some(cert(CertificateType::AmazonIssued, 395, true))));
        let (_, sent) = decide(&acm, event(AVAILABLE)).await;
        assert!(!sent[0].message.contains("export it again"), "{}", sent[0].message);
    }

    /// Every sample event, mutated at random, and random JSON, with ACM answering or not: never a
    /// panic, always a decision or `Notify.InvalidEvent`; every notification stays SNS-safe.
    #[tokio::test]
    async fn random_and_mutated_events_get_a_decision_or_a_typed_error() {
        let samples: Vec<Value> = [
            APPROACHING,
            EXPIRED,
            RENEWAL,
            AVAILABLE,
            REVOKED,
            NONCOMPLIANT,
            COMPLIANT,
            OTHER_RULE,
            MALFORMED,
        ]
        .iter()
        .map(|s| event(s))
        .collect();
        let acm = FakeAcm::default();
        let notifier = FakeNotifier::default();
        let handler = Handler::new(&acm, &notifier, config(&[]));
        let seed = 0x5eed_0003;
        let mut m = common::fuzz::Mutator::new(seed);
        for case in 0..3000 {
            let answer = match m.below(3) {
                0 => Ok(None),
                1 => Ok(Some(cert(
                    CertificateType::Imported,
                    [i64::from(i32::MIN), -3, 0, 14, 400_000][m.below(5)],
                    m.below(2) == 0,
                ))),
                _ => Err(AwsError::new(Service::Acm, AwsErrorKind::Unavailable, None, m.text())),
            };
            acm.0.lock().unwrap().insert(ARN.into(), answer);
            let payload = if case % 5 == 0 { m.value(3) } else { m.mutate_one_of(&samples) };
            let outcome = handler.handle(payload.clone(), now()).await;
            notification::testing::assert_decision_or_invalid_event(
                &outcome,
                &format!("seed {seed} case {case}: {payload}"),
            );
        }
    }
}
