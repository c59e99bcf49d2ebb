//! The parameter notifier: turns Parameter Store's EventBridge events (policy actions of
//! advanced-tier parameters, and changes to secure parameters) into SNS notifications that say
//! what happened, to which parameter, when, and what to do.
//!
//! `main.rs` wires [`Config`], [`aws::SsmDirectory`] and the SNS notifier at cold start;
//! [`Handler::handle`] decides for each event.

pub(crate) mod audit;
pub mod aws;
pub(crate) mod config;
pub(crate) mod decide;
pub(crate) mod event;
pub(crate) mod model;
pub mod ports;

pub use config::Config;

use common::invocation::note;
use lambda_runtime::LambdaEvent;
use notification::{
    Decision, Envelope, Found, HandlerError, Notifier, Pipeline, Reading, Verdict, lookup_failure,
};

use crate::event::{ChangeOperation, ParameterEvent};
use crate::ports::{ParameterDirectory, ParameterInfo, ParameterInventory};

pub const FUNCTION: &str = "parameter-notifier";

/// What this function brings to the notifier pipeline: Parameter Store's events, the
/// `DescribeParameters` look-up, and the rules in [`decide`].
#[derive(Debug)]
pub(crate) struct ParameterRules<P> {
    parameters: P,
    config: Config,
}

impl<P: ParameterDirectory + Sync> notification::Rules for ParameterRules<P> {
    const FUNCTION: &'static str = FUNCTION;
    type Event = ParameterEvent;
    type Facts = ParameterInfo;

    fn read(&self, e: &Envelope) -> Result<Reading<ParameterEvent>, HandlerError> {
        let event = event::read(e)?;
        let name = match &event {
            ParameterEvent::Policy(a) => a.name.as_str(),
            ParameterEvent::Change(c) => c.name.as_str(),
            ParameterEvent::Other(reason) => return Ok(Reading::Ignore(reason.clone())),
        };
        if !self.config.covers(name) {
            return Ok(Reading::Ignore(format!(
                "{name} is outside /{}/",
                self.config.prefix.as_deref().unwrap_or_default()
            )));
        }
        Ok(Reading::Handle(event))
    }

    async fn look_up(&self, event: &ParameterEvent) -> Found<ParameterInfo> {
        let name = match event {
            // A deleted parameter is gone: nothing to ask.
            ParameterEvent::Change(c) if c.operation == ChangeOperation::Delete => return Ok(None),
            ParameterEvent::Change(c) => c.name.as_str(),
            ParameterEvent::Policy(a) => a.name.as_str(),
            ParameterEvent::Other(_) => return Ok(None),
        };
        let found = self.parameters.describe(name).await;
        if let Err(err) = &found {
            tracing::warn!(parameter = name, error = %err, "DescribeParameters failed: notifying from the event alone");
        }
        found
    }

    fn decide(
        &self,
        e: &Envelope,
        event: &ParameterEvent,
        found: &Found<ParameterInfo>,
        now: i64,
    ) -> Result<Verdict, HandlerError> {
        Ok(match event {
            ParameterEvent::Policy(action) => match decide::policy_notice(e, action, found, now) {
                Some(n) => Verdict::Notify(n, "parameter policy action"),
                None => Verdict::Ignore(format!(
                    "policy type {:?} is not one this function knows",
                    action.policy_type.as_str()
                )),
            },
            ParameterEvent::Change(change) => match decide::change_notice(e, change, found) {
                Some(n) => Verdict::Notify(n, "change to a secure parameter"),
                None => Verdict::Ignore(format!(
                    "{} of {}: the audit trail covers SecureString parameters only",
                    change.operation.as_str(),
                    change.name
                )),
            },
            ParameterEvent::Other(reason) => Verdict::Ignore(reason.clone()),
        })
    }
}

/// The function, built once at cold start: the notifier pipeline with this function's rules.
#[derive(Debug)]
pub struct Handler<P, N>(Pipeline<ParameterRules<P>, N>);

impl<P: ParameterDirectory + ParameterInventory + Sync, N: Notifier + Sync> Handler<P, N> {
    pub fn new(parameters: P, notifier: N, config: Config) -> Self {
        Self(Pipeline::new(ParameterRules { parameters, config }, notifier))
    }

    /// Decides what `payload` calls for at `now` (Unix seconds) and publishes it: a Parameter
    /// Store event, or the scheduled hygiene audit ([`audit`]).
    ///
    /// # Errors
    /// [`HandlerError::InvalidEvent`] for a malformed Parameter Store event,
    /// [`HandlerError::Audit`] when the audit cannot list its path, and
    /// [`HandlerError::Publish`] when SNS does not take the notification.
    pub async fn handle(&self, payload: serde_json::Value, now: i64) -> Result<Decision, HandlerError> {
        let is_audit = payload.get("source").and_then(serde_json::Value::as_str) == Some(audit::AUDIT_SOURCE)
            && payload.get("detail-type").and_then(serde_json::Value::as_str)
                == Some(audit::AUDIT_DETAIL_TYPE);
        if is_audit { self.audit().await } else { self.0.handle(payload, now).await }
    }

    /// The parameter-hygiene audit of `AUDIT_PATH`: notifies its findings when they differ from
    /// the last ones notified (kept in `AUDIT_STATE_PARAMETER`), else suppresses them (the
    /// decision still carries them, for `make audit-parameters`).
    async fn audit(&self) -> Result<Decision, HandlerError> {
        let (rules, notifier, recent) = self.0.parts();
        let Some((path, state)) = rules.config.audit() else {
            return Ok(Decision::ignored("", "no AUDIT_PATH (or PARAMETER_PREFIX) to audit"));
        };
        let store = &rules.parameters;
        let parameters = store
            .inventory(path)
            .await
            .map_err(|source| HandlerError::Audit { path: path.to_owned(), source })?;
        let mut unchecked = Vec::new();
        let under = parameters.iter().filter(|p| p.tier.as_deref() != Some("Advanced")).count();
        let standard = match store.standard_count().await {
            Ok((count, complete)) => (count.max(under), complete && count >= under),
            Err(e) => {
                unchecked.push(format!(
                    "the account's Standard count (DescribeParameters {})",
                    lookup_failure(&e)
                ));
                (under, false)
            }
        };
        let found = audit::findings(&parameters, standard.0);
        let digest = audit::digest(&found);
        let previous = match state {
            Some(name) => store.audit_state(name).await.unwrap_or_else(|e| {
                tracing::warn!(parameter = name, error = %e, "the last audit's state could not be read: notifying");
                None
            }),
            None => None,
        };
        note("parameters", parameters.len());
        note("findings", found.len());
        let n = audit::notice(path, &found, parameters.len(), standard, &digest, unchecked);
        let unchanged = match previous.as_deref() {
            Some(last) => last == digest,
            None => found.is_empty(),
        };
        if unchanged {
            return Ok(Decision::suppressed(
                n,
                "the audit's findings have not changed since they were last notified",
            ));
        }
        let decision =
            notification::notice::deliver(notifier, recent, n, "the audit's findings changed").await?;
        if let Some(name) = state
            && let Err(e) = store.save_audit_state(name, &digest).await
        {
            // The notification went out; next week's audit repeats it.
            tracing::warn!(parameter = name, error = %e, "the audit's state could not be saved");
            note("state_saved", false);
        }
        Ok(decision)
    }
}

/// The Lambda handler: decides, logs the decision (and its metric), and returns it.
///
/// # Errors
/// See [`Handler::handle`]; the error is logged with its `errorType` first.
pub async fn handle<P, N>(
    handler: &Handler<P, N>,
    event: LambdaEvent<serde_json::Value>,
) -> Result<Decision, HandlerError>
where
    P: ParameterDirectory + ParameterInventory + Sync,
    N: Notifier + Sync,
{
    let decision = handler.handle(event.payload, notification::timefmt::now()).await?;
    decision.report(FUNCTION);
    Ok(decision)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Mutex;

    use common::ErrorKind;
    use common::aws::{AwsError, AwsErrorKind, Service};
    use notification::testing::FakeNotifier;
    use notification::timefmt::{self, DAY};
    use notification::{Notification, Outcome, Severity};
    use serde_json::{Value, json};

    use super::*;
    use crate::ports::{AuditedParameter, ParameterInfo, ParameterType, PolicyInfo, PolicyType};

    const EXPIRATION: &str = include_str!("../../../events/parameter-notifier/expiration.json");
    const EXPIRING: &str = include_str!("../../../events/parameter-notifier/expiration-notification.json");
    const NO_CHANGE: &str = include_str!("../../../events/parameter-notifier/no-change-notification.json");
    const OTHER_PREFIX: &str = include_str!("../../../events/parameter-notifier/other-prefix.json");
    const CREATE: &str = include_str!("../../../events/parameter-notifier/change-create.json");
    const UPDATE: &str = include_str!("../../../events/parameter-notifier/change-update.json");
    const DELETE: &str = include_str!("../../../events/parameter-notifier/change-delete.json");
    const LABEL: &str = include_str!("../../../events/parameter-notifier/change-label.json");
    const MALFORMED: &str = include_str!("../../../events/parameter-notifier/malformed.json");
    const UNKNOWN: &str = include_str!("../../../events/parameter-notifier/unknown-detail-type.json");

    #[derive(Debug, Default)]
    struct FakeSsm(Mutex<HashMap<String, Result<Option<ParameterInfo>, AwsError>>>);

    impl FakeSsm {
        fn set(&self, name: &str, info: Result<Option<ParameterInfo>, AwsError>) {
            self.0.lock().unwrap().insert(name.into(), info);
        }
    }

    impl ParameterDirectory for &FakeSsm {
        async fn describe(&self, name: &str) -> Result<Option<ParameterInfo>, AwsError> {
            self.0.lock().unwrap().get(name).cloned().unwrap_or(Ok(None))
        }
    }

    /// No inventory: these tests are about events (the audit's are below).
    impl ParameterInventory for &FakeSsm {
        async fn inventory(&self, _: &str) -> Result<Vec<AuditedParameter>, AwsError> {
            Ok(Vec::new())
        }

        async fn standard_count(&self) -> Result<(usize, bool), AwsError> {
            Ok((0, true))
        }

        async fn audit_state(&self, _: &str) -> Result<Option<String>, AwsError> {
            Ok(None)
        }

        async fn save_audit_state(&self, _: &str, _: &str) -> Result<(), AwsError> {
            Ok(())
        }
    }

    fn now() -> i64 {
        timefmt::parse("2026-11-29T09:00:00Z").unwrap()
    }

    fn info(
        parameter_type: ParameterType,
        expires_in_days: Option<i64>,
        modified_days_ago: i64,
    ) -> ParameterInfo {
        let mut policies = vec![PolicyInfo {
            policy_type: PolicyType::NoChangeNotification,
            text:
                r#"{"Type":"NoChangeNotification","Version":"1.0","Attributes":{"After":"20","Unit":"Days"}}"#
                    .into(),
            status: "Pending".into(),
        }];
        if let Some(days) = expires_in_days {
            policies.push(PolicyInfo {
                policy_type: PolicyType::Expiration,
                text: format!(
                    r#"{{"Type":"Expiration","Version":"1.0","Attributes":{{"Timestamp":"{}"}}}}"#,
                    timefmt::format(now() + days * DAY)
                ),
                status: "Pending".into(),
            });
        }
        ParameterInfo {
            parameter_type: Some(parameter_type),
            tier: Some("Advanced".into()),
            version: Some(4),
            last_modified: Some(now() - modified_days_ago * DAY),
            last_modified_user: Some("arn:aws:iam::123456789012:user/deployer".into()),
            policies,
        }
    }

    fn config(prefix: Option<&'static str>) -> Config {
        let mut env = HashMap::from([("TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:alerts")]);
        if let Some(p) = prefix {
            env.insert("PARAMETER_PREFIX", p);
        }
        Config::from_lookup(&env).unwrap()
    }

    async fn decide(
        ssm: &FakeSsm,
        json: &str,
        prefix: Option<&'static str>,
    ) -> (Result<Decision, HandlerError>, Vec<Notification>) {
        let notifier = FakeNotifier::default();
        let handler = Handler::new(ssm, &notifier, config(prefix));
        let payload: Value = serde_json::from_str(json).unwrap();
        let result = handler.handle(payload, now()).await;
        (result, notifier.sent())
    }

    #[tokio::test]
    async fn each_policy_type_says_what_happened_and_what_to_do() {
        let ssm = FakeSsm::default();
        ssm.set("/my-app/dev/api-token", Ok(Some(info(ParameterType::SecureString, Some(15), 3))));
        ssm.set("/my-app/prod/db-url", Ok(Some(info(ParameterType::String, None, 25))));

        let (d, sent) = decide(&ssm, EXPIRING, Some("my-app")).await;
        assert_eq!(d.unwrap().name(), "notified");
        let n = &sent[0];
        assert_eq!(
            (n.severity, n.kind.as_str(), n.resource.as_str()),
            (Severity::Warning, "parameter-expiring", "/my-app/dev/api-token")
        );
        assert_eq!(
            n.subject,
            "[WARNING] Parameter /my-app/dev/api-token expires in 15 days (2026-12-14T09:00:00Z)"
        );
        for part in [
            "Tier: Advanced",
            "Version: 4",
            "Last modified: 2026-11-26T09:00:00Z by arn:aws:iam::123456789012:user/deployer",
            "--policies",
            "extend the Expiration policy",
            "Console: https://us-east-1.console.aws.amazon.com/systems-manager/parameters/my-app/dev/api-token/description?region=us-east-1",
        ] {
            assert!(n.message.contains(part), "{part}\n{}", n.message);
        }

        // The parameter is gone by the time the Expiration event arrives.
        ssm.set("/my-app/dev/api-token", Ok(None));
        let (d, sent) = decide(&ssm, EXPIRATION, None).await;
        assert_eq!(d.unwrap().name(), "notified");
        let n = &sent[0];
        assert_eq!((n.severity, n.kind.as_str()), (Severity::High, "parameter-expired"));
        for part in [
            "has expired",
            "deleted it",
            "expired at 2026-11-29T08:59:00Z",
            "Versions: gone with the parameter",
            "Applications reading /my-app/dev/api-token now fail",
        ] {
            assert!(n.message.contains(part), "{part}\n{}", n.message);
        }
        assert!(
            !n.message.contains("Could not check"),
            "a missing parameter is expected here: {}",
            n.message
        );

        let (d, sent) = decide(&ssm, NO_CHANGE, None).await;
        assert_eq!(d.unwrap().name(), "notified");
        let n = &sent[0];
        assert_eq!(
            (n.severity, n.kind.as_str()),
            (Severity::Low, "parameter-unchanged"),
            "a String parameter"
        );
        assert!(n.subject.contains("unchanged for 25 days"), "{}", n.subject);
        assert!(n.message.contains("raise the NoChangeNotification policy's After"), "{}", n.message);
    }

    #[tokio::test]
    async fn severity_follows_time_left_and_parameter_type() {
        let ssm = FakeSsm::default();
        ssm.set("/my-app/dev/api-token", Ok(Some(info(ParameterType::SecureString, Some(2), 3))));
        let (d, _) = decide(&ssm, EXPIRING, None).await;
        assert_eq!(d.unwrap().notification.unwrap().severity, Severity::High, "two days left");
        let mut secure = serde_json::from_str::<Value>(NO_CHANGE).unwrap();
        secure["detail"]["parameter-type"] = "SecureString".into();
        let (d, sent) = decide(&ssm, &secure.to_string(), None).await;
        assert_eq!(d.unwrap().notification.unwrap().severity, Severity::Warning, "an unrotated secret");
        assert!(sent[0].message.contains("rotate it"), "{}", sent[0].message);
    }

    #[tokio::test]
    async fn enrichment_failures_still_notify_from_the_event() {
        let ssm = FakeSsm::default();
        ssm.set(
            "/my-app/dev/api-token",
            Err(AwsError::new(
                Service::Ssm,
                AwsErrorKind::Denied { kms: false },
                Some("AccessDeniedException"),
                "ssm:DescribeParameters",
            )),
        );
        let (d, sent) = decide(&ssm, EXPIRING, None).await;
        assert_eq!(d.unwrap().name(), "notified");
        let n = &sent[0];
        assert!(n.subject.contains("expires in about 15 days"), "from the policy's Before: {}", n.subject);
        assert!(
            n.message.contains("Could not check: the parameter's tier, policies and last change (DescribeParameters access denied"),
            "{}",
            n.message
        );
        ssm.set(
            "/my-app/prod/db-url",
            Err(AwsError::new(Service::Ssm, AwsErrorKind::Unavailable, None, "the request timed out")),
        );
        let (_, sent) = decide(&ssm, NO_CHANGE, None).await;
        assert!(sent[0].subject.contains("unchanged for at least 20 days"), "{}", sent[0].subject);
    }

    #[tokio::test]
    async fn changes_to_secure_parameters_make_an_audit_trail() {
        let ssm = FakeSsm::default();
        ssm.set("/my-app/dev/db-password", Ok(Some(info(ParameterType::SecureString, None, 0))));
        for (json, severity, kind) in [
            (CREATE, Severity::Info, "secure-parameter-changed"),
            (UPDATE, Severity::Info, "secure-parameter-changed"),
            (LABEL, Severity::Info, "secure-parameter-changed"),
            (DELETE, Severity::Warning, "secure-parameter-deleted"),
        ] {
            let (d, sent) = decide(&ssm, json, Some("my-app")).await;
            assert_eq!(d.unwrap().name(), "notified", "{kind}");
            assert_eq!((sent[0].severity, sent[0].kind.as_str()), (severity, kind));
        }
        let (_, sent) = decide(&ssm, CREATE, None).await;
        assert!(
            sent[0].message.contains("Description: Database password for the dev application"),
            "{}",
            sent[0].message
        );
        let mut string = serde_json::from_str::<Value>(UPDATE).unwrap();
        string["detail"]["type"] = "String".into();
        let (d, sent) = decide(&ssm, &string.to_string(), None).await;
        let d = d.unwrap();
        assert_eq!(d.name(), "ignored");
        assert!(d.reason.contains("SecureString"), "{}", d.reason);
        assert!(sent.is_empty());
    }

    #[tokio::test]
    async fn unknown_malformed_and_out_of_scope_events() {
        let ssm = FakeSsm::default();
        let (d, _) = decide(&ssm, OTHER_PREFIX, Some("my-app")).await;
        assert_eq!(d.unwrap().name(), "ignored", "outside /my-app/");
        assert_eq!(
            decide(&ssm, OTHER_PREFIX, None).await.0.unwrap().name(),
            "notified",
            "no prefix configured"
        );
        assert_eq!(decide(&ssm, UNKNOWN, None).await.0.unwrap().name(), "ignored");
        let err = decide(&ssm, MALFORMED, None).await.0.unwrap_err();
        assert_eq!(err.error_type(), "Notify.InvalidEvent");
        assert!(err.to_string().contains("parameter-name"), "{err}");
        let mut no_type = serde_json::from_str::<Value>(EXPIRING).unwrap();
        no_type["detail"].as_object_mut().unwrap().remove("policy-type");
        assert!(
            decide(&ssm, &no_type.to_string(), None).await.0.unwrap_err().to_string().contains("policy-type")
        );
        let mut new_policy = serde_json::from_str::<Value>(EXPIRING).unwrap();
        new_policy["detail"]["policy-type"] = "SomeFuturePolicy".into();
        assert_eq!(decide(&ssm, &new_policy.to_string(), None).await.0.unwrap().name(), "ignored");
        // Only the name and policy type are needed; unreadable policy content and new fields are tolerated.
        let detail = json!({
            "parameter-name": "/my-app/dev/x",
            "policy-type": "ExpirationNotification",
            "policy-content": "{not json",
            "brand-new": 1
        });
        let minimal = json!({"id": "m", "source": "aws.ssm", "detail-type": "Parameter Store Policy Action", "detail": detail});
        let (d, sent) = decide(&ssm, &minimal.to_string(), None).await;
        assert_eq!(d.unwrap().name(), "notified");
        assert!(sent[0].subject.contains("expires soon"), "{}", sent[0].subject);
        for bad in ["[]", "\"text\"", "{}"] {
            assert_eq!(
                decide(&ssm, bad, None).await.0.unwrap_err().error_type(),
                "Notify.InvalidEvent",
                "{bad}"
            );
        }
    }

    #[tokio::test]
    async fn a_repeated_event_is_published_once() {
        let ssm = FakeSsm::default();
        let notifier = FakeNotifier::default();
        let handler = Handler::new(&ssm, &notifier, config(None));
        let payload: Value = serde_json::from_str(EXPIRING).unwrap();
        assert!(matches!(
            handler.handle(payload.clone(), now()).await.unwrap().outcome,
            Outcome::Notified { .. }
        ));
        assert_eq!(handler.handle(payload, now()).await.unwrap().outcome, Outcome::Duplicate);
        assert_eq!(notifier.sent().len(), 1);
    }

    #[tokio::test]
    async fn each_decision_is_one_json_log_line_and_failures_carry_their_type() {
        use common::invocation::observe;
        use common::testing::LogCapture;
        use tracing::instrument::WithSubscriber;

        let ssm = FakeSsm::default();
        let notifier = FakeNotifier::default();
        let handler = Handler::new(&ssm, &notifier, config(Some("my-app")));
        let logs = LogCapture::default();
        let invoke = |json: &str| {
            lambda_runtime::LambdaEvent::new(
                serde_json::from_str(json).unwrap(),
                lambda_runtime::Context::default(),
            )
        };
        async {
            observe(handle(&handler, invoke(EXPIRING))).await.unwrap();
            observe(handle(&handler, invoke(OTHER_PREFIX))).await.unwrap();
            observe(handle(&handler, invoke(MALFORMED))).await.unwrap_err();
        }
        .with_subscriber(logs.subscriber())
        .await;
        let lines: Vec<Value> = logs
            .text()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .filter(|l: &Value| l["message"].as_str().is_some_and(|m| m.starts_with("invocation ")))
            .collect();
        assert_eq!(lines.len(), 3, "{}", logs.text());
        assert_eq!(
            (lines[0]["outcome"].as_str(), lines[0]["severity"].as_str()),
            (Some("notified"), Some("warning"))
        );
        assert_eq!(lines[0]["resource"], "/my-app/dev/api-token");
        assert!(lines[0]["elapsed_ms"].is_f64(), "{}", lines[0]);
        assert_eq!(lines[1]["outcome"], "ignored");
        assert_eq!(lines[1]["event_id"].as_str().map(str::is_empty), Some(false));
        assert_eq!(
            (lines[2]["outcome"].as_str(), lines[2]["error_type"].as_str()),
            (Some("failed"), Some("Notify.InvalidEvent"))
        );
    }

    #[test]
    fn the_prefix_matches_whole_path_segments() {
        let c = config(Some("/my-app/"));
        assert!(c.covers("/my-app/dev/x"));
        assert!(!c.covers("/my-app-2/dev/x") && !c.covers("my-app/dev/x") && !c.covers("/other/my-app/x"));
        assert!(config(None).covers("anything"));
    }

    #[tokio::test]
    async fn an_absurd_policy_is_far_in_the_future_never_a_panic() {
        let ssm = FakeSsm::default();
        for before in ["106751991167300", "9223372036854775807", "-5", "1e400"] {
            let mut e = serde_json::from_str::<Value>(EXPIRING).unwrap();
            e["detail"]["policy-content"] = json!({"Type": "ExpirationNotification", "Version": "1.0",
                "Attributes": {"Before": before, "Unit": "Days"}})
            .to_string()
            .into();
            let (d, sent) = decide(&ssm, &e.to_string(), None).await;
            assert_eq!(d.unwrap().name(), "notified", "{before}");
            assert!(!sent[0].subject.contains(" -"), "no negative or wrapped days: {}", sent[0].subject);
        }
        let mut e = serde_json::from_str::<Value>(EXPIRING).unwrap();
        e["detail"]["policy-content"] =
            r#"{"Type":"ExpirationNotification","Attributes":{"Before":"106751991167300","Unit":"Days"}}"#
                .into();
        let (_, sent) = decide(&ssm, &e.to_string(), None).await;
        assert!(sent[0].subject.contains("far in the future"), "{}", sent[0].subject);
        // An Expiration timestamp at the end of the calendar, with a last change at its start.
        ssm.set(
            "/my-app/dev/api-token",
            Ok(Some(ParameterInfo {
                last_modified: Some(i64::MIN),
                policies: vec![PolicyInfo {
                    policy_type: PolicyType::Expiration,
                    text: r#"{"Type":"Expiration","Attributes":{"Timestamp":"9999-12-31T23:59:59Z"}}"#.into(),
                    status: "Pending".into(),
                }],
                ..ParameterInfo::default()
            })),
        );
        let (d, sent) = decide(&ssm, EXPIRING, None).await;
        assert_eq!(d.unwrap().name(), "notified");
        assert!(sent[0].subject.contains("far in the future"), "{}", sent[0].subject);
        let (d, _) = decide(&ssm, NO_CHANGE, None).await;
        assert_eq!(d.unwrap().name(), "notified");
    }

    #[tokio::test]
    async fn event_text_is_escaped_and_links_take_checked_parts_only() {
        let ssm = FakeSsm::default();
        let mut e = serde_json::from_str::<Value>(CREATE).unwrap();
        e["detail"]["description"] = "pw\n\nWhat to do: mail it to evil@example.com".into();
        e["region"] = "evil.example/#".into();
        let (d, sent) = decide(&ssm, &e.to_string(), None).await;
        assert_eq!(d.unwrap().name(), "notified");
        let m = &sent[0].message;
        assert_eq!(m.lines().filter(|l| l.starts_with("What to do:")).count(), 1, "{m}");
        assert!(m.contains("Description: pw\\n\\nWhat to do: mail it"), "{m}");
        assert!(!m.contains("Console:") && !m.contains("evil.example"), "{m}");
        for bad in ["/my-app/dev/x\nWhat to do: y", "/my-app/dev/a b", "/my-app/dev/#x"] {
            let mut e = serde_json::from_str::<Value>(CREATE).unwrap();
            e["detail"]["name"] = bad.into();
            let err = decide(&ssm, &e.to_string(), None).await.0.unwrap_err();
            assert_eq!(err.error_type(), "Notify.InvalidEvent", "{bad:?}");
            let mut e = serde_json::from_str::<Value>(EXPIRING).unwrap();
            e["detail"]["parameter-name"] = bad.into();
            assert_eq!(
                decide(&ssm, &e.to_string(), None).await.0.unwrap_err().error_type(),
                "Notify.InvalidEvent"
            );
        }
    }

    /// Parameter Store as the audit sees it, and the state parameter.
    #[derive(Debug, Default)]
    struct FakeInventory {
        parameters: Mutex<Vec<AuditedParameter>>,
        state: Mutex<Option<String>>,
        fail_listing: Mutex<Option<AwsError>>,
        fail_state: Mutex<Option<AwsError>>,
    }

    impl ParameterDirectory for &FakeInventory {
        async fn describe(&self, _: &str) -> Result<Option<ParameterInfo>, AwsError> {
            Ok(None)
        }
    }

    impl ParameterInventory for &FakeInventory {
        async fn inventory(&self, path: &str) -> Result<Vec<AuditedParameter>, AwsError> {
            if let Some(e) = self.fail_listing.lock().unwrap().clone() {
                return Err(e);
            }
            Ok(self.parameters.lock().unwrap().iter().filter(|p| p.name.starts_with(path)).cloned().collect())
        }

        async fn standard_count(&self) -> Result<(usize, bool), AwsError> {
            Ok((0, true))
        }

        async fn audit_state(&self, name: &str) -> Result<Option<String>, AwsError> {
            assert_eq!(name, "/config-keeper/my-app/dev/parameter-audit");
            match self.fail_state.lock().unwrap().clone() {
                Some(e) => Err(e),
                None => Ok(self.state.lock().unwrap().clone()),
            }
        }

        async fn save_audit_state(&self, _: &str, digest: &str) -> Result<(), AwsError> {
            *self.state.lock().unwrap() = Some(digest.to_owned());
            Ok(())
        }
    }

    const AUDIT: &str = include_str!("../../../events/parameter-notifier/audit.json");

    fn audit_config() -> Config {
        Config::from_lookup(&HashMap::from([
            ("TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:alerts"),
            ("PARAMETER_PREFIX", "/my-app"),
            ("AUDIT_PATH", "/my-app/dev/"),
            ("AUDIT_STATE_PARAMETER", "/config-keeper/my-app/dev/parameter-audit"),
        ]))
        .unwrap()
    }

    fn plain(name: &str, tier: &str, value: &str) -> AuditedParameter {
        AuditedParameter {
            name: name.into(),
            parameter_type: Some(ParameterType::String),
            tier: Some(tier.into()),
            policies: Vec::new(),
            stored_len: value.len(),
            value: Some(common::SecretString::new(value)),
        }
    }

    #[tokio::test]
    async fn the_weekly_audit_notifies_only_when_its_findings_change() {
        let store = FakeInventory::default();
        store.parameters.lock().unwrap().extend([
            plain("/my-app/dev/db-url", "Standard", "postgres://app:hunter2-pw@db:5432/app"),
            plain("/my-app/dev/flags", "Advanced", "a,b"),
            plain("/my-app/prod/other", "Advanced", "outside the audited path"),
        ]);
        let notifier = FakeNotifier::default();
        let handler = Handler::new(&store, &notifier, audit_config());
        let run = || async { handler.handle(serde_json::from_str(AUDIT).unwrap(), now()).await.unwrap() };

        let first = run().await;
        assert_eq!(first.name(), "notified", "{}", first.reason);
        let n = &notifier.sent()[0];
        assert_eq!(
            (n.kind.as_str(), n.severity, n.resource.as_str()),
            ("parameter-audit", Severity::High, "/my-app/dev/")
        );
        for part in [
            "Secret stored as String: /my-app/dev/db-url holds what looks like a URL with a password",
            "Advanced for nothing: /my-app/dev/flags",
            "Parameters audited: 2",
        ] {
            assert!(n.message.contains(part), "{part}\n{}", n.message);
        }
        assert!(!n.message.contains("hunter2-pw") && !n.message.contains("/my-app/prod/"), "{}", n.message);
        let saved = store.state.lock().unwrap().clone().unwrap();
        assert_eq!(saved.len(), 64, "the digest is kept");

        // A cold start later (a new handler), the same findings: nothing new to say.
        let again = Handler::new(&store, &notifier, audit_config());
        let d = again.handle(serde_json::from_str(AUDIT).unwrap(), now()).await.unwrap();
        assert_eq!(d.name(), "suppressed", "{}", d.reason);
        assert!(
            d.notification.unwrap().message.contains("Advanced for nothing"),
            "still shown to whoever runs it"
        );
        assert_eq!(notifier.sent().len(), 1);

        // A finding fixed: notified again; all fixed: resolved, then quiet.
        store.parameters.lock().unwrap().retain(|p| p.name != "/my-app/dev/db-url");
        assert_eq!(run().await.name(), "notified");
        store.parameters.lock().unwrap().clear();
        let resolved = run().await;
        assert_eq!(resolved.name(), "notified");
        assert_eq!(resolved.notification.unwrap().status.as_str(), "resolved");
        assert_eq!(store.state.lock().unwrap().as_deref(), Some("none"));
        assert_eq!(run().await.name(), "suppressed");
        assert_eq!(notifier.sent().len(), 3);
    }

    #[tokio::test]
    async fn an_audit_that_cannot_list_fails_and_one_that_cannot_read_its_state_notifies() {
        let store = FakeInventory::default();
        store.parameters.lock().unwrap().push(plain("/my-app/dev/idle", "Advanced", "x"));
        *store.state.lock().unwrap() = Some("stale".into());
        let denied = AwsError::new(
            Service::Ssm,
            AwsErrorKind::Denied { kms: false },
            Some("AccessDeniedException"),
            "no",
        );
        *store.fail_state.lock().unwrap() = Some(denied.clone());
        let notifier = FakeNotifier::default();
        let handler = Handler::new(&store, &notifier, audit_config());
        let d = handler.handle(serde_json::from_str(AUDIT).unwrap(), now()).await.unwrap();
        assert_eq!(d.name(), "notified", "better a repeat than a miss");
        *store.fail_listing.lock().unwrap() = Some(denied);
        let err = handler.handle(serde_json::from_str(AUDIT).unwrap(), now()).await.unwrap_err();
        assert_eq!(err.error_type(), "Notify.AuditFailed");
        assert!(err.to_string().contains("/my-app/dev/"), "{err}");
        // Without an audit path, the scheduled event is ignored, never an error.
        let none = Handler::new(&store, &notifier, config(None));
        assert_eq!(none.handle(serde_json::from_str(AUDIT).unwrap(), now()).await.unwrap().name(), "ignored");
    }

    /// Every sample event, mutated at random, and random JSON: never a panic, always a decision
    /// or `Notify.InvalidEvent`; every notification sent stays SNS-safe (a subject under 100
    /// characters, a message under the limit with no control character but its line breaks).
    #[tokio::test]
    async fn random_and_mutated_events_get_a_decision_or_a_typed_error() {
        let samples: Vec<Value> = [
            EXPIRATION,
            EXPIRING,
            NO_CHANGE,
            OTHER_PREFIX,
            CREATE,
            UPDATE,
            DELETE,
            LABEL,
            MALFORMED,
            UNKNOWN,
            AUDIT,
        ]
        .iter()
        .map(|s| serde_json::from_str(s).unwrap())
        .collect();
        let ssm = FakeSsm::default();
        ssm.set("/my-app/dev/api-token", Ok(Some(info(ParameterType::SecureString, Some(15), 3))));
        let notifier = FakeNotifier::default();
        let handler = Handler::new(&ssm, &notifier, config(Some("my-app")));
        let seed = 0x5eed_0002;
        let mut m = common::fuzz::Mutator::new(seed);
        for case in 0..3000 {
            let event = if case % 5 == 0 { m.value(3) } else { m.mutate_one_of(&samples) };
            let outcome = handler.handle(event.clone(), now()).await;
            notification::testing::assert_decision_or_invalid_event(
                &outcome,
                &format!("seed {seed} case {case}: {event}"),
            );
        }
        // The audit's decision logic over random inventories.
        for case in 0..2000 {
            let parameters: Vec<AuditedParameter> = (0..m.below(6))
                .map(|_| AuditedParameter {
                    name: m.text(),
                    parameter_type: Some(ParameterType::parse(&m.text())),
                    tier: Some(["Standard", "Advanced", "Intelligent-Tiering", ""][m.below(4)].to_owned()),
                    policies: (0..m.below(3))
                        .map(|_| PolicyType::parse(["Expiration", "ExpirationNotification", "x"][m.below(3)]))
                        .collect(),
                    stored_len: [0, 3686, 4096, 4097, 8192, 9000, usize::MAX][m.below(7)],
                    value: Some(common::SecretString::new(m.text())),
                })
                .collect();
            let found = audit::findings(&parameters, [0, 8000, usize::MAX][m.below(3)]);
            let n = audit::notice(
                "/my-app/dev/",
                &found,
                parameters.len(),
                (m.below(20_000), true),
                &audit::digest(&found),
                Vec::new(),
            );
            assert!(
                n.subject.len() < 100 && n.message.len() <= notification::text::MAX_MESSAGE_BYTES,
                "seed {seed} audit case {case}"
            );
        }
    }
}
