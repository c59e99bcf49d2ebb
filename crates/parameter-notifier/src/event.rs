//! The two Parameter Store event kinds, read tolerantly from the EventBridge envelope: only the
//! parameter name and the policy type (or operation) are required; unknown fields are ignored.

use notification::{Envelope, HandlerError};
use serde_json::Value;

pub use crate::model::{ChangeOperation, ParameterType, PolicyType};

pub const POLICY_ACTION: &str = "Parameter Store Policy Action";
pub const CHANGE: &str = "Parameter Store Change";

/// A `Parameter Store Policy Action` event.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyAction {
    pub name: String,
    pub policy_type: PolicyType,
    pub parameter_type: Option<ParameterType>,
    /// The policy, parsed from `policy-content` (a JSON string); `None` if absent or unreadable.
    pub policy: Option<Value>,
    pub action_status: Option<String>,
    pub action_reason: Option<String>,
}

/// A `Parameter Store Change` event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub name: String,
    pub operation: ChangeOperation,
    pub parameter_type: Option<ParameterType>,
    pub description: Option<String>,
}

/// What the handler was given.
#[derive(Debug, Clone, PartialEq)]
pub enum ParameterEvent {
    Policy(PolicyAction),
    Change(Change),
    /// Not a Parameter Store event this handler knows, with the reason.
    Other(String),
}

/// Parameter Store's longest name (a full path, with its `/aws/reference/...` or
/// `/aws/service/...` prefix), in characters.
const MAX_NAME: usize = 2048;

/// Whether `name` is a parameter name of Parameter Store's characters (letters, digits, `_`,
/// `.`, `-` and `/`), as events of the service carry them: anything else (a line break, a space,
/// `#`, `?`) did not come from Parameter Store.
#[must_use]
pub fn is_parameter_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'/'))
}

fn checked_name<'a>(detail_type: &str, field: &str, name: &'a str) -> Result<&'a str, HandlerError> {
    if is_parameter_name(name) {
        Ok(name)
    } else {
        Err(HandlerError::InvalidEvent(format!(
            "{detail_type}: detail's {field:?} is not a parameter name (letters, digits and _.-/ only, at most {MAX_NAME} characters)"
        )))
    }
}

fn owned(s: Option<&str>) -> Option<String> {
    s.map(str::to_owned)
}

/// Reads the event.
///
/// # Errors
/// [`HandlerError::InvalidEvent`] when a known event lacks its parameter name or policy type.
pub fn read(e: &Envelope) -> Result<ParameterEvent, HandlerError> {
    if e.source != "aws.ssm" {
        return Ok(ParameterEvent::Other(format!("source {:?} is not aws.ssm", e.source)));
    }
    match e.detail_type.as_str() {
        POLICY_ACTION => {
            let name = e.detail_str("parameter-name").ok_or_else(|| {
                HandlerError::InvalidEvent(format!("{POLICY_ACTION}: detail has no \"parameter-name\""))
            })?;
            let name = checked_name(POLICY_ACTION, "parameter-name", name)?;
            let raw = e.detail_str("policy-type").ok_or_else(|| {
                HandlerError::InvalidEvent(format!("{POLICY_ACTION}: detail has no \"policy-type\""))
            })?;
            let policy_type = PolicyType::parse(raw);
            if let PolicyType::Other(_) = policy_type {
                return Ok(ParameterEvent::Other(format!(
                    "policy type {:?} is not one this function knows",
                    raw.chars().take(64).collect::<String>()
                )));
            }
            let policy = e
                .detail_str("policy-content")
                .and_then(|c| serde_json::from_str::<Value>(c).ok())
                .filter(Value::is_object);
            Ok(ParameterEvent::Policy(PolicyAction {
                name: name.to_owned(),
                policy_type,
                parameter_type: e.detail_str("parameter-type").map(ParameterType::parse),
                policy,
                action_status: owned(e.detail_str("action-status")),
                action_reason: owned(e.detail_str("action-reason")),
            }))
        }
        CHANGE => {
            let name = e
                .detail_str("name")
                .ok_or_else(|| HandlerError::InvalidEvent(format!("{CHANGE}: detail has no \"name\"")))?;
            let name = checked_name(CHANGE, "name", name)?;
            let operation = e.detail_str("operation").ok_or_else(|| {
                HandlerError::InvalidEvent(format!("{CHANGE}: detail has no \"operation\""))
            })?;
            Ok(ParameterEvent::Change(Change {
                name: name.to_owned(),
                operation: ChangeOperation::parse(operation),
                parameter_type: e.detail_str("type").map(ParameterType::parse),
                description: owned(e.detail_str("description")),
            }))
        }
        other => Ok(ParameterEvent::Other(format!(
            "detail-type {:?} is not a Parameter Store event",
            other.chars().take(80).collect::<String>()
        ))),
    }
}

/// A duration attribute of a notification policy (`{"Before": "15", "Unit": "Days"}`), in seconds.
#[must_use]
pub fn policy_duration(policy: &Value, field: &str) -> Option<i64> {
    let attributes = policy.get("Attributes")?;
    let amount = match attributes.get(field)? {
        Value::String(s) => s.trim().parse::<i64>().ok()?,
        Value::Number(n) => n.as_i64()?,
        _ => return None,
    };
    let unit = match attributes.get("Unit").and_then(Value::as_str).unwrap_or("Days") {
        "Days" => 86_400,
        "Hours" => 3_600,
        _ => return None,
    };
    amount.checked_mul(unit).filter(|s| *s >= 0)
}

/// The `Timestamp` of an Expiration policy, in Unix seconds.
#[must_use]
pub fn policy_timestamp(policy: &Value) -> Option<i64> {
    policy.get("Attributes")?.get("Timestamp")?.as_str().and_then(notification::timefmt::parse)
}
