//! The events this function handles, read tolerantly: Secrets Manager's rotation events as
//! EventBridge delivers them from CloudTrail (`AWS Service Event via CloudTrail`, the secret's
//! ARN in `detail.additionalEventData.SecretId`), and AWS Config's compliance changes of the two
//! rotation rules.

use notification::compliance::{self, ConfigChange};
use notification::{Envelope, HandlerError};

use crate::config::Config;
use crate::model::SecretRef;

pub const SERVICE_EVENT: &str = "AWS Service Event via CloudTrail";

/// The rotation events Secrets Manager records in CloudTrail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RotationKind {
    Started,
    Succeeded,
    Failed,
    /// A new version was put during a rotation: Secrets Manager removed AWSPENDING.
    Abandoned,
    /// A schedule attached without rotating at once: Secrets Manager tests the configuration.
    TestStarted,
    TestSucceeded,
    TestFailed,
}

impl RotationKind {
    #[must_use]
    pub fn parse(event_name: &str) -> Option<Self> {
        Some(match event_name {
            "RotationStarted" => Self::Started,
            "RotationSucceeded" => Self::Succeeded,
            "RotationFailed" => Self::Failed,
            "RotationAbandoned" => Self::Abandoned,
            "TestRotationStarted" => Self::TestStarted,
            "TestRotationSucceeded" => Self::TestSucceeded,
            "TestRotationFailed" => Self::TestFailed,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotationEvent {
    pub kind: RotationKind,
    pub secret: SecretRef,
    /// CloudTrail's `errorMessage` (a failed step), when there is one.
    pub error: Option<String>,
}

/// Which of the two Config rules a change is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RotationRule {
    /// `secretsmanager-scheduled-rotation-success-check`: rotation enabled and succeeding on schedule.
    Scheduled,
    /// `secretsmanager-secret-periodic-rotation`: rotated within `maxDaysSinceRotation` days.
    Periodic,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComplianceEvent {
    pub rule: RotationRule,
    pub secret: SecretRef,
    pub change: ConfigChange,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HealthEvent {
    Rotation(RotationEvent),
    Compliance(ComplianceEvent),
    Other(String),
}

fn cut(text: &str, n: usize) -> String {
    text.chars().take(n).collect()
}

/// Reads the event.
///
/// # Errors
/// [`HandlerError::InvalidEvent`] when a rotation event names no secret, or a compliance change
/// of a rotation rule lacks its resource or compliance.
pub fn read(e: &Envelope, config: &Config) -> Result<HealthEvent, HandlerError> {
    if let Some(change) = compliance::read(e)? {
        let rule = if change.rule == config.scheduled_rule {
            RotationRule::Scheduled
        } else if change.rule == config.periodic_rule {
            RotationRule::Periodic
        } else {
            return Ok(HealthEvent::Other(format!(
                "Config rule {:?} is not a rotation rule of this function",
                cut(&change.rule, 128)
            )));
        };
        let secret = SecretRef::new(&change.resource_id);
        return Ok(HealthEvent::Compliance(ComplianceEvent { rule, secret, change }));
    }
    if e.source != "aws.secretsmanager" || e.detail_type != SERVICE_EVENT {
        return Ok(HealthEvent::Other(format!(
            "{:?} from {:?} is not a rotation event",
            cut(&e.detail_type, 80),
            cut(&e.source, 64)
        )));
    }
    let name = e.detail_str("eventName").unwrap_or_default();
    let Some(kind) = RotationKind::parse(name) else {
        return Ok(HealthEvent::Other(format!(
            "Secrets Manager event {:?} is not a rotation event",
            cut(name, 64)
        )));
    };
    let secret = e
        .detail
        .pointer("/additionalEventData/SecretId")
        .and_then(serde_json::Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| {
            HandlerError::InvalidEvent(format!("{name}: no detail.additionalEventData.SecretId"))
        })?;
    Ok(HealthEvent::Rotation(RotationEvent {
        kind,
        secret: SecretRef::new(secret),
        error: e.detail_str("errorMessage").map(|m| cut(m, 500)),
    }))
}
