//! The handler driven with in-memory fakes: every event kind, the sweep's state changes, and
//! the failures that must leave a state to retry.

use std::collections::HashMap;
use std::sync::Mutex;

use common::ErrorKind;
use common::aws::{AwsError, AwsErrorKind, Service};
use notification::testing::FakeNotifier;
use notification::{Severity, Status};
use serde_json::{Value, json};

use super::*;
use crate::doctor::{NoReport, Outcome as DoctorOutcome, Report};
use crate::model::Unreachable;

const FAILED: &str = include_str!("../../../events/rotation-health/rotation-failed.json");
const ABANDONED: &str = include_str!("../../../events/rotation-health/rotation-abandoned.json");
const SUCCEEDED: &str = include_str!("../../../events/rotation-health/rotation-succeeded.json");
const TEST_FAILED: &str = include_str!("../../../events/rotation-health/test-rotation-failed.json");
const TEST_SUCCEEDED: &str = include_str!("../../../events/rotation-health/test-rotation-succeeded.json");
const STARTED: &str = include_str!("../../../events/rotation-health/rotation-started.json");
const TEST_STARTED: &str = include_str!("../../../events/rotation-health/test-rotation-started.json");
const MALFORMED: &str = include_str!("../../../events/rotation-health/malformed.json");
const SCHEDULED_NONCOMPLIANT: &str =
    include_str!("../../../events/rotation-health/config-scheduled-noncompliant.json");
const SCHEDULED_COMPLIANT: &str =
    include_str!("../../../events/rotation-health/config-scheduled-compliant.json");
const PERIODIC_NONCOMPLIANT: &str =
    include_str!("../../../events/rotation-health/config-periodic-noncompliant.json");
const OTHER_RULE: &str = include_str!("../../../events/rotation-health/config-other-rule.json");
const API_CALL: &str = include_str!("../../../events/rotation-health/api-call-rotate-secret.json");
const SWEEP: &str = include_str!("../../../events/rotation-health/sweep.json");

const ARN: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:my-app/dev/db-credentials-AbC123";
const OTHER: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:other-app/db-Zz9Zz9";
const EXTRA: &str = "shared/api-key";
const STATE: &str = "/config-keeper/my-app-dev/rotation-health/sweep/my-app_2Fdev_2Fdb-credentials";
const EVENT_STATE: &str = "/config-keeper/my-app-dev/rotation-health/events/my-app_2Fdev_2Fdb-credentials";
const LIST: &str = "/ops/rotation-health-secrets";

#[derive(Debug, Default)]
struct FakeDoctor {
    answers: Mutex<HashMap<String, DoctorOutcome>>,
    asked: Mutex<Vec<String>>,
}

impl FakeDoctor {
    fn answer(&self, secret: &str, outcome: DoctorOutcome) {
        self.answers.lock().unwrap().insert(secret.to_owned(), outcome);
    }
}

impl Doctor for &FakeDoctor {
    async fn examine(&self, secret_id: &str) -> DoctorOutcome {
        self.asked.lock().unwrap().push(secret_id.to_owned());
        self.answers.lock().unwrap().get(secret_id).cloned().unwrap_or_else(|| Ok(report(&[])))
    }
}

#[derive(Debug, Default)]
struct FakeStore {
    values: Mutex<HashMap<String, String>>,
    puts: Mutex<usize>,
    fail_get: Mutex<Option<AwsError>>,
    fail_put: Mutex<Option<AwsError>>,
    list: Mutex<Option<Result<Option<Vec<String>>, AwsError>>>,
}

impl StateStore for &FakeStore {
    async fn get(&self, name: &str) -> Result<Option<String>, AwsError> {
        if let Some(err) = self.fail_get.lock().unwrap().take() {
            return Err(err);
        }
        Ok(self.values.lock().unwrap().get(name).cloned())
    }

    async fn put(&self, name: &str, value: &str) -> Result<(), AwsError> {
        if let Some(err) = self.fail_put.lock().unwrap().take() {
            return Err(err);
        }
        *self.puts.lock().unwrap() += 1;
        self.values.lock().unwrap().insert(name.to_owned(), value.to_owned());
        Ok(())
    }
}

impl SecretList for &FakeStore {
    async fn secrets(&self, list: &str) -> Result<Option<Vec<String>>, AwsError> {
        assert_eq!(list, LIST);
        self.list.lock().unwrap().clone().unwrap_or(Ok(None))
    }
}

fn report(problems: &[(&str, &str)]) -> Report {
    let findings: Vec<Value> = problems
        .iter()
        .map(|(check, status)| json!({"check": check, "status": status, "detail": format!("{check} detail"), "fix": format!("{check} fix")}))
        .chain([json!({"check": "secret", "status": "pass", "detail": "", "fix": ""})])
        .collect();
    let ok = !problems.iter().any(|(_, s)| *s == "fail");
    serde_json::from_value(json!({"secret": ARN, "ok": ok, "findings": findings})).unwrap()
}

fn config(extra: &[(&'static str, &'static str)]) -> Config {
    Config::from_lookup(&crate::config::tests::env(extra)).unwrap()
}

fn aws(kind: AwsErrorKind) -> AwsError {
    AwsError::new(Service::Ssm, kind, Some("Code"), "said Parameter Store")
}

struct World {
    doctor: FakeDoctor,
    store: FakeStore,
    sns: FakeNotifier,
}

impl World {
    fn new() -> Self {
        Self { doctor: FakeDoctor::default(), store: FakeStore::default(), sns: FakeNotifier::default() }
    }

    fn handler(
        &self,
        extra: &[(&'static str, &'static str)],
    ) -> Handler<&FakeDoctor, &FakeStore, &FakeStore, &FakeNotifier> {
        Handler::new(&self.doctor, &self.store, &self.store, &self.sns, config(extra))
    }

    fn stored(&self, name: &str) -> Option<Value> {
        self.store.values.lock().unwrap().get(name).map(|v| serde_json::from_str(v).unwrap())
    }
}

fn event(json: &str) -> Value {
    serde_json::from_str(json).unwrap()
}

fn decision(r: Result<Response, Error>) -> Decision {
    match r.unwrap() {
        Response::Event(d) => d,
        Response::Sweep(s) => panic!("a sweep: {s:?}"),
    }
}

fn swept(r: Result<Response, Error>) -> SweepReport {
    match r.unwrap() {
        Response::Sweep(s) => s,
        Response::Event(d) => panic!("an event: {d:?}"),
    }
}

const NOW: i64 = 1_796_029_200; // 2026-11-30T09:00:00Z

#[tokio::test]
async fn a_failed_rotation_opens_an_alert_that_the_next_success_resolves() {
    let w = World::new();
    let h = w.handler(&[]);
    // a success with nothing open: suppressed
    let d = decision(h.handle(event(SUCCEEDED), NOW).await);
    assert_eq!((d.name(), w.sns.sent().len()), ("suppressed", 0));

    let d = decision(h.handle(event(FAILED), NOW).await);
    assert_eq!(d.name(), "notified");
    let n = &w.sns.sent()[0];
    assert_eq!(
        (n.severity, n.kind, n.status, n.resource.as_str()),
        (Severity::High, Kind::RotationFailed, Status::Open, ARN)
    );
    assert!(n.subject.contains("Rotation of my-app/dev/db-credentials failed"), "{}", n.subject);
    for part in [
        "during setSecret step",
        "\"Action\":\"doctor\",\"SecretId\":\"arn:aws:secretsmanager:",
        "aws secretsmanager rotate-secret --secret-id arn:aws:secretsmanager:",
        "Console: https://us-east-1.console.aws.amazon.com/secretsmanager/secret?name=my-app%2Fdev%2Fdb-credentials&region=us-east-1",
    ] {
        assert!(n.message.contains(part), "{part}\n{}", n.message);
    }
    assert_eq!(w.stored(EVENT_STATE).unwrap()["open"]["kind"], "rotation-failed");

    // a new instance (a cold start) still resolves it: the alert is in the state store
    let h = w.handler(&[]);
    let d = decision(h.handle(event(SUCCEEDED), NOW).await);
    assert_eq!(d.name(), "notified");
    let n = &w.sns.sent()[1];
    assert_eq!((n.severity, n.kind, n.status), (Severity::Info, Kind::RotationSucceeded, Status::Resolved));
    assert_eq!(w.stored(EVENT_STATE).unwrap()["open"], Value::Null);
    // a repeat of the success finds nothing open: no second notification
    assert_eq!(decision(h.handle(event(SUCCEEDED), NOW + 1).await).name(), "suppressed");
    assert_eq!(w.sns.sent().len(), 2);
}

#[tokio::test]
async fn every_rotation_event_kind_gets_its_decision() {
    for (json, name, severity, kind) in [
        (ABANDONED, "notified", Some(Severity::Warning), Some(Kind::RotationAbandoned)),
        (TEST_FAILED, "notified", Some(Severity::High), Some(Kind::RotationTestFailed)),
        (TEST_SUCCEEDED, "suppressed", Some(Severity::Info), Some(Kind::RotationTestSucceeded)),
        (STARTED, "ignored", None, None),
        (TEST_STARTED, "ignored", None, None),
        (API_CALL, "ignored", None, None),
        (OTHER_RULE, "ignored", None, None),
    ] {
        let w = World::new();
        let d = decision(w.handler(&[]).handle(event(json), NOW).await);
        assert_eq!(d.name(), name, "{json}");
        assert_eq!(d.notification.as_ref().map(|n| n.severity), severity);
        assert_eq!(d.notification.as_ref().map(|n| n.kind), kind);
    }
    // a test failure is resolved by the next successful test, or by a real rotation
    for resolver in [TEST_SUCCEEDED, SUCCEEDED] {
        let w = World::new();
        let h = w.handler(&[]);
        decision(h.handle(event(TEST_FAILED), NOW).await);
        assert_eq!(decision(h.handle(event(resolver), NOW).await).name(), "notified");
    }
    // a passing test does not resolve a failed rotation
    let w = World::new();
    let h = w.handler(&[]);
    decision(h.handle(event(FAILED), NOW).await);
    assert_eq!(decision(h.handle(event(TEST_SUCCEEDED), NOW).await).name(), "suppressed");
}

#[tokio::test]
async fn events_of_secrets_not_watched_are_ignored_and_the_list_adds_secrets() {
    let w = World::new();
    let mut other = event(FAILED);
    other["detail"]["additionalEventData"]["SecretId"] = OTHER.into();
    assert_eq!(decision(w.handler(&[]).handle(other.clone(), NOW).await).name(), "ignored");
    *w.store.list.lock().unwrap() = Some(Ok(Some(vec![EXTRA.into(), "other-app/db".into()])));
    let d = decision(w.handler(&[("SECRETS_PARAMETER", LIST)]).handle(other.clone(), NOW).await);
    assert_eq!(d.name(), "notified");
    // the list unreadable: notified anyway (better than missing one), saying what was not checked
    *w.store.list.lock().unwrap() = Some(Err(aws(AwsErrorKind::Denied { kms: false })));
    other["id"] = "another-id".into();
    let d = decision(w.handler(&[("SECRETS_PARAMETER", LIST)]).handle(other, NOW).await);
    assert_eq!(d.name(), "notified");
    assert!(d.notification.unwrap().message.contains("Could not check: whether an alert is open"));
}

#[tokio::test]
async fn config_changes_open_and_resolve_and_repeats_are_suppressed() {
    let w = World::new();
    let h = w.handler(&[]);
    let d = decision(h.handle(event(SCHEDULED_NONCOMPLIANT), NOW).await);
    let n = d.notification.unwrap();
    assert_eq!((n.severity, n.kind, n.status), (Severity::High, Kind::RotationNoncompliant, Status::Open));
    assert!(n.message.contains("secretsmanager-scheduled-rotation-success-check"), "{}", n.message);
    let d = decision(h.handle(event(PERIODIC_NONCOMPLIANT), NOW).await);
    assert_eq!(d.notification.unwrap().severity, Severity::Warning);
    let d = decision(h.handle(event(SCHEDULED_COMPLIANT), NOW).await);
    let n = d.notification.unwrap();
    assert_eq!(
        (d.outcome.clone(), n.status),
        (notification::Outcome::Notified { message_id: "message-3".into() }, Status::Resolved)
    );
    let mut still = event(SCHEDULED_NONCOMPLIANT);
    still["id"] = "still".into();
    still["detail"]["oldEvaluationResult"]["complianceType"] = "NON_COMPLIANT".into();
    assert_eq!(decision(h.handle(still, NOW).await).name(), "suppressed");
    // prefixed rule names (conformance packs, Security Hub) are configured
    let prefixed = w.handler(&[(
        "SCHEDULED_ROTATION_RULE",
        "securityhub-secretsmanager-scheduled-rotation-success-check-a1b2",
    )]);
    assert_eq!(decision(prefixed.handle(event(SCHEDULED_NONCOMPLIANT), NOW).await).name(), "ignored");
    assert_eq!(w.sns.sent().len(), 3);
}

#[tokio::test]
async fn bad_input_is_a_clear_typed_error_and_changes_nothing() {
    let w = World::new();
    let h = w.handler(&[]);
    let err = h.handle(event(MALFORMED), NOW).await.unwrap_err();
    assert_eq!(err.error_type(), "Notify.InvalidEvent");
    assert!(err.to_string().contains("additionalEventData.SecretId"), "{err}");
    for bad in [json!({"Action": "doctor", "SecretId": ARN}), json!({"Action": 1})] {
        let err = h.handle(bad, NOW).await.unwrap_err();
        assert_eq!(err.error_type(), "Health.InvalidRequest");
    }
    assert_eq!(h.handle(json!([1]), NOW).await.unwrap_err().error_type(), "Notify.InvalidEvent");
    assert!(w.sns.sent().is_empty() && w.store.values.lock().unwrap().is_empty());
    assert!(w.doctor.asked.lock().unwrap().is_empty());
}

#[tokio::test]
async fn the_sweep_notifies_only_when_a_secrets_state_changes() {
    let w = World::new();
    let h = w.handler(&[]);
    // first sweep, healthy: recorded, nothing sent
    let s = swept(h.handle(event(SWEEP), NOW).await);
    assert_eq!((s.notified, s.secrets[0].done.clone()), (0, sweep::Done::Recorded));
    assert_eq!(w.stored(STATE).unwrap(), json!({"state": "healthy"}));
    // unchanged: nothing sent, nothing written
    let puts = *w.store.puts.lock().unwrap();
    assert_eq!(swept(h.handle(event(SWEEP), NOW + 86_400).await).secrets[0].done, sweep::Done::Unchanged);
    assert_eq!(*w.store.puts.lock().unwrap(), puts);
    // goes bad: one notification, open, high, with the doctor's details and fixes
    w.doctor.answer(ARN, Ok(report(&[("stuck-rotation", "fail"), ("rotation-schedule", "warn")])));
    let s = swept(h.handle(event(SWEEP), NOW + 2 * 86_400).await);
    assert_eq!(s.notified, 1);
    let n = &w.sns.sent()[0];
    assert_eq!((n.severity, n.kind, n.status), (Severity::High, Kind::RotationUnhealthy, Status::Open));
    for part in [
        "failing stuck-rotation; warning rotation-schedule",
        "fail stuck-rotation: stuck-rotation detail",
        "stuck-rotation: stuck-rotation fix",
        "Before: healthy",
    ] {
        assert!(n.message.contains(part), "{part}\n{}", n.message);
    }
    // the same problems the next day: quiet
    assert_eq!(swept(h.handle(event(SWEEP), NOW + 3 * 86_400).await).notified, 0);
    // the failure goes, the warning stays: a change, at warning
    w.doctor.answer(ARN, Ok(report(&[("rotation-schedule", "warn")])));
    swept(h.handle(event(SWEEP), NOW + 4 * 86_400).await);
    let n = &w.sns.sent()[1];
    assert_eq!((n.severity, n.status), (Severity::Warning, Status::Open));
    assert!(n.message.contains("No longer failing or warning: stuck-rotation"), "{}", n.message);
    // healthy again: resolved
    w.doctor.answer(ARN, Ok(report(&[])));
    swept(h.handle(event(SWEEP), NOW + 5 * 86_400).await);
    let n = &w.sns.sent()[2];
    assert_eq!((n.severity, n.kind, n.status), (Severity::Info, Kind::RotationHealthy, Status::Resolved));
    assert_eq!(w.sns.sent().len(), 3);
}

#[tokio::test]
async fn a_doctor_that_does_not_answer_is_a_state_of_its_own() {
    let w = World::new();
    let h = w.handler(&[]);
    let timeout = NoReport {
        cause: Unreachable::FunctionError,
        detail: "Sandbox.Timedout: Task timed out after 30.00 seconds".into(),
    };
    w.doctor.answer(ARN, Err(timeout));
    let s = swept(h.handle(event(SWEEP), NOW).await);
    assert_eq!((s.notified, s.secrets[0].health.name()), (1, "doctor-unreachable"));
    let n = &w.sns.sent()[0];
    assert_eq!((n.severity, n.kind), (Severity::High, Kind::RotationDoctorUnreachable));
    assert!(
        n.message.contains("Task timed out") && n.message.contains("may be invoked by this function"),
        "{}",
        n.message
    );
    // another sentence for the same cause is no change; another cause is
    w.doctor
        .answer(ARN, Err(NoReport { cause: Unreachable::FunctionError, detail: "Runtime.ExitError".into() }));
    assert_eq!(swept(h.handle(event(SWEEP), NOW + 1).await).notified, 0);
    w.doctor.answer(
        ARN,
        Err(NoReport { cause: Unreachable::NotAllowed, detail: "Rotation.NotAllowed: ...".into() }),
    );
    swept(h.handle(event(SWEEP), NOW + 2).await);
    assert!(w.sns.sent()[1].message.contains("ALLOWED_SECRETS"), "{}", w.sns.sent()[1].message);
}

#[tokio::test]
async fn the_sweep_covers_the_listed_secrets_once_each() {
    let w = World::new();
    *w.store.list.lock().unwrap() =
        Some(Ok(Some(vec![EXTRA.into(), "my-app/dev/db-credentials".into(), EXTRA.into()])));
    let s = swept(w.handler(&[("SECRETS_PARAMETER", LIST)]).handle(event(SWEEP), NOW).await);
    assert_eq!(*w.doctor.asked.lock().unwrap(), [ARN, EXTRA]);
    assert_eq!(s.secrets.len(), 2);
    // a list that does not exist: the stack's secrets only, no failure
    let w = World::new();
    let s = swept(w.handler(&[("SECRETS_PARAMETER", LIST)]).handle(event(SWEEP), NOW).await);
    assert_eq!(s.secrets.len(), 1);
    // a list that cannot be read: the stack's secrets are swept, then the sweep fails
    let w = World::new();
    *w.store.list.lock().unwrap() = Some(Err(aws(AwsErrorKind::Denied { kms: false })));
    let err = w.handler(&[("SECRETS_PARAMETER", LIST)]).handle(event(SWEEP), NOW).await.unwrap_err();
    assert_eq!(err.error_type(), "Health.SecretListUnavailable");
    assert_eq!(w.doctor.asked.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_state_or_publish_failure_leaves_the_change_to_notify_again() {
    // the state cannot be read: nothing is sent, the sweep fails with the state's type
    let w = World::new();
    w.doctor.answer(ARN, Ok(report(&[("dns", "fail")])));
    *w.store.fail_get.lock().unwrap() = Some(aws(AwsErrorKind::Unavailable));
    let err = w.handler(&[]).handle(event(SWEEP), NOW).await.unwrap_err();
    assert_eq!(err.error_type(), "Health.StateUnavailable");
    assert!(w.sns.sent().is_empty());
    // SNS refuses: the state is not written, so the retry notifies
    *w.sns.fail.lock().unwrap() =
        Some(AwsError::new(Service::Sns, AwsErrorKind::Throttled, Some("Throttling"), "Rate exceeded"));
    let err = w.handler(&[]).handle(event(SWEEP), NOW).await.unwrap_err();
    assert_eq!(err.error_type(), "Notify.PublishUnavailable");
    assert!(w.stored(STATE).is_none());
    assert_eq!(swept(w.handler(&[]).handle(event(SWEEP), NOW + 60).await).notified, 1);
    // the state cannot be written after a notification: the sweep fails (the next one repeats it)
    let w = World::new();
    w.doctor.answer(ARN, Ok(report(&[("dns", "fail")])));
    *w.store.fail_put.lock().unwrap() = Some(aws(AwsErrorKind::Denied { kms: false }));
    let err = w.handler(&[]).handle(event(SWEEP), NOW).await.unwrap_err();
    assert_eq!((err.error_type(), w.sns.sent().len()), ("Health.StateDenied", 1));
}
