//! AWS Config's compliance changes (`Config Rules Compliance Change`, source `aws.config`), read
//! tolerantly: the rule, the resource and the new and old compliance.

use serde_json::Value;

use crate::{Envelope, HandlerError, Notification, Verdict};

/// The detail-type of a compliance change.
pub const CONFIG_CHANGE: &str = "Config Rules Compliance Change";

/// A resource's compliance with a Config rule.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Compliance {
    Compliant,
    NonCompliant,
    /// `NOT_APPLICABLE`, `INSUFFICIENT_DATA`, or a value Config may add.
    Other(String),
}

impl Compliance {
    #[must_use]
    pub fn parse(text: &str) -> Self {
        match text {
            "COMPLIANT" => Self::Compliant,
            "NON_COMPLIANT" => Self::NonCompliant,
            other => Self::Other(other.to_owned()),
        }
    }

    /// As Config spells it.
    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            Self::Compliant => "COMPLIANT",
            Self::NonCompliant => "NON_COMPLIANT",
            Self::Other(text) => text,
        }
    }
}

/// A compliance change of one resource with one rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigChange {
    pub rule: String,
    /// `resourceId` (for a secret, its ARN).
    pub resource_id: String,
    pub new: Compliance,
    /// Absent on a resource's first evaluation.
    pub old: Option<Compliance>,
}

impl ConfigChange {
    /// Whether the change ends a non-compliance (and so resolves an earlier alert).
    #[must_use]
    pub fn was_noncompliant(&self) -> bool {
        self.old == Some(Compliance::NonCompliant)
    }
}

/// What a compliance change calls for, notified only on a change of state: non-compliant opens
/// (a repeat is suppressed), compliant after non-compliant resolves (else there is nothing to
/// resolve), other values (`NOT_APPLICABLE`, ...) call for nothing. The two notifications are
/// built only for their case.
pub fn verdict(
    change: &ConfigChange,
    noncompliant: impl FnOnce() -> Notification,
    compliant: impl FnOnce() -> Notification,
) -> Verdict {
    match &change.new {
        Compliance::NonCompliant if change.was_noncompliant() => {
            Verdict::Suppress(noncompliant(), "still non-compliant: no state change".into())
        }
        Compliance::NonCompliant => Verdict::Notify(noncompliant(), "became non-compliant"),
        Compliance::Compliant if change.was_noncompliant() => {
            Verdict::Notify(compliant().resolved(), "became compliant")
        }
        Compliance::Compliant => Verdict::Suppress(
            compliant().resolved(),
            "compliant, and was not non-compliant: nothing to resolve".into(),
        ),
        Compliance::Other(other) => Verdict::Ignore(format!(
            "compliance {:?} calls for no notification",
            other.chars().take(32).collect::<String>()
        )),
    }
}

/// The compliance change an envelope holds; `Ok(None)` when it is not one.
///
/// # Errors
/// [`HandlerError::InvalidEvent`] when a compliance change names no resource or no new compliance.
pub fn read(e: &Envelope) -> Result<Option<ConfigChange>, HandlerError> {
    if e.source != "aws.config" || e.detail_type != CONFIG_CHANGE {
        return Ok(None);
    }
    let new = &e.detail["newEvaluationResult"];
    let resource_id = e
        .detail_str("resourceId")
        .or_else(|| {
            new.pointer("/evaluationResultIdentifier/evaluationResultQualifier/resourceId")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
        })
        .ok_or_else(|| HandlerError::InvalidEvent(format!("{CONFIG_CHANGE}: no \"resourceId\"")))?;
    let compliance = new.get("complianceType").and_then(Value::as_str).ok_or_else(|| {
        HandlerError::InvalidEvent(format!("{CONFIG_CHANGE}: no newEvaluationResult.complianceType"))
    })?;
    Ok(Some(ConfigChange {
        rule: e.detail_str("configRuleName").unwrap_or_default().to_owned(),
        resource_id: resource_id.to_owned(),
        new: Compliance::parse(compliance),
        old: e
            .detail
            .pointer("/oldEvaluationResult/complianceType")
            .and_then(Value::as_str)
            .map(Compliance::parse),
    }))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn change(detail: &Value) -> Result<Option<ConfigChange>, HandlerError> {
        read(
            &Envelope::parse(json!({"source": "aws.config", "detail-type": CONFIG_CHANGE, "detail": detail}))
                .unwrap(),
        )
    }

    #[test]
    fn reads_the_rule_resource_and_both_compliances() {
        let c = change(&json!({
            "configRuleName": "r", "resourceId": "arn:x",
            "newEvaluationResult": {"complianceType": "COMPLIANT"},
            "oldEvaluationResult": {"complianceType": "NON_COMPLIANT"}
        }))
        .unwrap()
        .unwrap();
        assert_eq!((c.rule.as_str(), c.resource_id.as_str(), &c.new), ("r", "arn:x", &Compliance::Compliant));
        assert!(c.was_noncompliant());
        let first = change(&json!({
            "newEvaluationResult": {"complianceType": "NOT_APPLICABLE",
                "evaluationResultIdentifier": {"evaluationResultQualifier": {"resourceId": "arn:y"}}}
        }))
        .unwrap()
        .unwrap();
        assert_eq!((first.resource_id.as_str(), first.old), ("arn:y", None));
        assert_eq!(first.new, Compliance::Other("NOT_APPLICABLE".into()));
    }

    #[test]
    fn other_events_are_none_and_incomplete_changes_are_refused() {
        let other = Envelope::parse(json!({"source": "aws.acm", "detail-type": "X"})).unwrap();
        assert!(read(&other).unwrap().is_none());
        assert!(change(&json!({"newEvaluationResult": {"complianceType": "COMPLIANT"}})).is_err());
        assert!(change(&json!({"resourceId": "arn:x"})).is_err());
    }
}
