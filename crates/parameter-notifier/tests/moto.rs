//! The parameter notifier against the local stack's moto: real advanced parameters carrying
//! `Expiration`, `ExpirationNotification` and `NoChangeNotification` policies (read back through
//! `DescribeParameters`), and an SNS topic with an SQS queue subscribed, from which the tests
//! read what subscribers receive. moto never fires the policies itself: the tests send the events
//! EventBridge would.
//!
//! Needs the local stack (`make stack-up`; `make test` starts it). Fails, never skips, without it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use aws_sdk_ssm::types::{ParameterTier, ParameterType};
use common::testing::{LocalStack, LogCapture};
use notification::sns::SnsNotifier;
use notification::testing::{Received, TopicInbox};
use notification::timefmt::{self, DAY};
use parameter_notifier::aws::SsmDirectory;
use parameter_notifier::{Config, Handler};
use serde_json::Value;
use tracing::instrument::WithSubscriber;

const EXPIRING: &str = include_str!("../../../events/parameter-notifier/expiration-notification.json");
const EXPIRATION: &str = include_str!("../../../events/parameter-notifier/expiration.json");
const NO_CHANGE: &str = include_str!("../../../events/parameter-notifier/no-change-notification.json");
const UPDATE: &str = include_str!("../../../events/parameter-notifier/change-update.json");
const SECRET_VALUE: &str = "Sup3r-Secret-Value-never-in-a-message";

static COUNTER: AtomicUsize = AtomicUsize::new(0);

fn unique(prefix: &str) -> String {
    format!("{prefix}{}-{}", std::process::id(), COUNTER.fetch_add(1, Ordering::SeqCst))
}

struct Stack {
    ssm: aws_sdk_ssm::Client,
    inbox: TopicInbox,
    handler: Handler<SsmDirectory, SnsNotifier>,
    app: String,
}

impl Stack {
    async fn new() -> Self {
        let local = LocalStack::load();
        let sdk = local.sdk_config();
        let app = unique("pn-app-");
        let inbox = TopicInbox::create(&sdk, &unique("pn-topic-")).await;
        let env = std::collections::HashMap::from([
            ("TOPIC_ARN", inbox.topic_arn.as_str()),
            ("PARAMETER_PREFIX", app.as_str()),
        ]);
        let config = Config::from_lookup(&env).unwrap();
        let handler =
            Handler::new(SsmDirectory::new(&sdk), SnsNotifier::new(&sdk, inbox.topic_arn.clone()), config);
        Self { ssm: aws_sdk_ssm::Client::new(&sdk), inbox, handler, app }
    }

    /// An advanced parameter with all three policies; it expires in `days`.
    async fn put(&self, name: &str, kind: ParameterType, days: i64) {
        let expires = timefmt::format(timefmt::now() + days * DAY);
        let policies = serde_json::json!([
            {"Type": "Expiration", "Version": "1.0", "Attributes": {"Timestamp": expires}},
            {"Type": "ExpirationNotification", "Version": "1.0", "Attributes": {"Before": "15", "Unit": "Days"}},
            {"Type": "NoChangeNotification", "Version": "1.0", "Attributes": {"After": "20", "Unit": "Days"}}
        ])
        .to_string();
        self.ssm
            .put_parameter()
            .name(name)
            .value(SECRET_VALUE)
            .r#type(kind)
            .tier(ParameterTier::Advanced)
            .policies(policies)
            .overwrite(true)
            .send()
            .await
            .unwrap();
    }

    /// A sample event, about `name`, with a fresh id.
    fn event(sample: &str, name: &str) -> Value {
        let mut e: Value = serde_json::from_str(sample).unwrap();
        e["id"] = unique("evt-").into();
        if e["detail"].get("parameter-name").is_some() {
            e["detail"]["parameter-name"] = name.into();
        } else {
            e["detail"]["name"] = name.into();
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
async fn policy_actions_on_real_advanced_parameters_reach_the_topic() {
    let s = Stack::new().await;
    let token = format!("/{}/dev/api-token", s.app);
    s.put(&token, ParameterType::SecureString, 15).await;
    let logs = LogCapture::default();

    let decision = s
        .handler
        .handle(Stack::event(EXPIRING, &token), timefmt::now())
        .with_subscriber(logs.subscriber())
        .await
        .unwrap();
    assert_eq!(decision.name(), "notified");
    let got = s.one().await;
    // 15 days from when it was put, a moment later: a part of a day counts as a day.
    assert!(
        got.subject.starts_with("[WARNING] Parameter /") && got.subject.contains("expires in 15 days"),
        "{}",
        got.subject
    );
    assert!(got.subject.len() < 100);
    for part in [
        "Tier: Advanced",
        "Version: 1",
        "Policy Expiration: {\"Type\":\"Expiration\"",
        "Policy NoChangeNotification",
        "What to do: Put a new value",
        "Console: https://",
    ] {
        assert!(got.message.contains(part), "{part}\n{}", got.message);
    }
    assert_eq!(got.attributes["severity"], "warning");
    assert_eq!(got.attributes["kind"], "parameter-expiring");
    assert_eq!(got.attributes["resource"], token);
    assert_eq!(got.attributes["status"], "open");
    assert_eq!(got.attributes["event_id"], decision.event_id);

    // The Expiration policy has deleted it: the notification says it is gone.
    s.ssm.delete_parameter().name(&token).send().await.unwrap();
    let decision = s
        .handler
        .handle(Stack::event(EXPIRATION, &token), timefmt::now())
        .with_subscriber(logs.subscriber())
        .await
        .unwrap();
    assert_eq!(decision.name(), "notified");
    let gone = s.one().await;
    assert_eq!(gone.attributes["severity"], "high");
    assert!(
        gone.message.contains("has expired") && gone.message.contains("Versions: gone with the parameter"),
        "{}",
        gone.message
    );

    // A String parameter that has not changed: low, with its last change from Parameter Store.
    let url = format!("/{}/prod/db-url", s.app);
    s.put(&url, ParameterType::String, 60).await;
    s.handler
        .handle(Stack::event(NO_CHANGE, &url), timefmt::now())
        .with_subscriber(logs.subscriber())
        .await
        .unwrap();
    let unchanged = s.one().await;
    assert_eq!(unchanged.attributes["severity"], "low");
    assert!(unchanged.message.contains("Last modified: "), "{}", unchanged.message);

    for text in [&got.message, &gone.message, &unchanged.message] {
        assert!(!text.contains(SECRET_VALUE), "a value never reaches a notification");
    }
    logs.assert_free_of(&[SECRET_VALUE]);
}

#[tokio::test]
async fn secure_parameter_changes_are_audited_and_others_ignored() {
    let s = Stack::new().await;
    let secure = format!("/{}/dev/db-password", s.app);
    s.put(&secure, ParameterType::SecureString, 30).await;
    let decision = s.handler.handle(Stack::event(UPDATE, &secure), timefmt::now()).await.unwrap();
    assert_eq!(decision.name(), "notified");
    let got = s.one().await;
    assert_eq!(
        (got.attributes["severity"].as_str(), got.attributes["kind"].as_str()),
        ("info", "secure-parameter-changed")
    );

    let plain = format!("/{}/dev/feature-flag", s.app);
    s.put(&plain, ParameterType::String, 30).await;
    let mut event = Stack::event(UPDATE, &plain);
    event["detail"]["type"] = "String".into();
    assert_eq!(s.handler.handle(event, timefmt::now()).await.unwrap().name(), "ignored");
    assert!(
        s.inbox.receive(1, Duration::from_millis(600)).await.is_empty(),
        "nothing published for a String parameter"
    );

    // Outside the prefix: ignored before any call.
    let other = Stack::event(UPDATE, "/someone-else/dev/db-password");
    assert_eq!(s.handler.handle(other, timefmt::now()).await.unwrap().name(), "ignored");
}

#[tokio::test]
async fn a_parameter_parameter_store_does_not_know_still_notifies_from_the_event() {
    let s = Stack::new().await;
    let missing = format!("/{}/dev/never-created", s.app);
    s.handler.handle(Stack::event(EXPIRING, &missing), timefmt::now()).await.unwrap();
    let got = s.one().await;
    assert!(got.subject.contains("expires in about 15 days"), "from the event's policy: {}", got.subject);
    assert!(
        got.message.contains("Could not check: the parameter was not found by DescribeParameters"),
        "{}",
        got.message
    );
}

#[tokio::test]
async fn a_topic_that_does_not_exist_fails_the_invocation_with_its_type() {
    let local = LocalStack::load();
    let sdk = local.sdk_config();
    let topic = "arn:aws:sns:us-east-1:123456789012:no-such-topic";
    let config = Config::from_lookup(&std::collections::HashMap::from([("TOPIC_ARN", topic)])).unwrap();
    let handler = Handler::new(SsmDirectory::new(&sdk), SnsNotifier::new(&sdk, topic), config);
    let err = handler.handle(serde_json::from_str(EXPIRING).unwrap(), timefmt::now()).await.unwrap_err();
    assert_eq!(common::ErrorKind::error_type(&err), "Notify.TopicNotFound", "{err}");
}

/// The scheduled hygiene audit on real parameters: a secret-looking String, an Advanced one that
/// uses nothing Advanced offers, an expiring SecureString without an `ExpirationNotification`, and
/// a clean one. Its notification reaches the topic once; the same findings a cold start later are
/// suppressed, thanks to the digest kept in the state parameter; the SecureString's value never
/// appears (moto's encrypted form carries it in the clear, so this also proves it is dropped).
#[tokio::test]
async fn the_parameter_audit_reaches_the_topic_once_per_change_of_findings() {
    let local = LocalStack::load();
    let sdk = local.sdk_config();
    let s = Stack::new().await;
    let path = format!("/{}/dev/", s.app);
    let put =
        |name: &str, kind: ParameterType, tier: ParameterTier, value: &str, policies: Option<String>| {
            s.ssm
                .put_parameter()
                .name(format!("{path}{name}"))
                .value(value)
                .r#type(kind)
                .tier(tier)
                .set_policies(policies)
                .overwrite(true)
                .send()
        };
    put(
        "db-url",
        ParameterType::String,
        ParameterTier::Standard,
        "postgres://app:pw-in-clear-42@db:5432/app",
        None,
    )
    .await
    .unwrap();
    put("flags", ParameterType::String, ParameterTier::Advanced, "a,b", None).await.unwrap();
    put("plain", ParameterType::String, ParameterTier::Standard, "fine", None).await.unwrap();
    let expiry = serde_json::json!([{"Type": "Expiration", "Version": "1.0",
        "Attributes": {"Timestamp": timefmt::format(timefmt::now() + 30 * DAY)}}]);
    put(
        "api-token",
        ParameterType::SecureString,
        ParameterTier::Advanced,
        SECRET_VALUE,
        Some(expiry.to_string()),
    )
    .await
    .unwrap();
    let state = format!("/config-keeper/{}/dev/parameter-audit", s.app);
    let handler = || {
        let env = std::collections::HashMap::from([
            ("TOPIC_ARN", s.inbox.topic_arn.as_str()),
            ("PARAMETER_PREFIX", s.app.as_str()),
            ("AUDIT_PATH", path.as_str()),
            ("AUDIT_STATE_PARAMETER", state.as_str()),
        ]);
        Handler::new(
            SsmDirectory::new(&sdk),
            SnsNotifier::new(&sdk, s.inbox.topic_arn.clone()),
            Config::from_lookup(&env).unwrap(),
        )
    };
    let audit: Value =
        serde_json::from_str(include_str!("../../../events/parameter-notifier/audit.json")).unwrap();
    let d = handler().handle(audit.clone(), timefmt::now()).await.unwrap();
    assert_eq!(d.name(), "notified", "{}", d.reason);
    let got = s.one().await;
    assert_eq!(got.attributes.get("kind").map(String::as_str), Some("parameter-audit"));
    for part in [
        "Secret stored as String: /",
        "db-url holds what looks like a URL with a password",
        "Advanced for nothing: /",
        "api-token has an Expiration policy but no ExpirationNotification",
        "Parameters audited: 4",
    ] {
        assert!(got.message.contains(part), "{part}\n{}", got.message);
    }
    assert!(
        !got.message.contains("pw-in-clear-42") && !got.message.contains(SECRET_VALUE),
        "{}",
        got.message
    );
    let kept = s.ssm.get_parameter().name(&state).send().await.unwrap().parameter.unwrap().value.unwrap();
    assert_eq!(kept.len(), 64, "the digest, in the stack's state parameter");

    let again = handler().handle(audit.clone(), timefmt::now()).await.unwrap();
    assert_eq!(again.name(), "suppressed", "{}", again.reason);
    assert!(s.inbox.receive(1, Duration::from_millis(500)).await.is_empty());
    s.ssm.delete_parameter().name(format!("{path}flags")).send().await.unwrap();
    assert_eq!(handler().handle(audit, timefmt::now()).await.unwrap().name(), "notified");
    assert!(!s.one().await.message.contains("Advanced for nothing"));
}
