//! The EventBridge envelope, read tolerantly: unknown fields are ignored, and only what a
//! handler relies on is required.

use serde::Deserialize;
use serde_json::Value;

use crate::error::HandlerError;

/// An EventBridge event. `detail` stays JSON: each handler reads the fields it knows.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Envelope {
    #[serde(default)]
    pub id: String,
    #[serde(rename = "detail-type")]
    pub detail_type: String,
    pub source: String,
    #[serde(default)]
    pub account: String,
    #[serde(default)]
    pub time: String,
    #[serde(default)]
    pub region: String,
    #[serde(default)]
    pub resources: Vec<String>,
    #[serde(default)]
    pub detail: Value,
}

impl Envelope {
    /// Reads an invocation payload.
    ///
    /// # Errors
    /// [`HandlerError::InvalidEvent`] when the payload is not an EventBridge event (no `source`
    /// or `detail-type`, or fields of the wrong type).
    pub fn parse(payload: Value) -> Result<Self, HandlerError> {
        if !payload.is_object() {
            return Err(HandlerError::InvalidEvent("the event is not a JSON object".into()));
        }
        for field in ["source", "detail-type"] {
            if !payload.get(field).is_some_and(Value::is_string) {
                return Err(HandlerError::InvalidEvent(format!(
                    "the event has no {field:?} string: not an EventBridge event"
                )));
            }
        }
        serde_json::from_value(payload).map_err(|e| {
            HandlerError::InvalidEvent(format!("the event is not a valid EventBridge event: {e}"))
        })
    }

    /// A string field of `detail`.
    #[must_use]
    pub fn detail_str(&self, field: &str) -> Option<&str> {
        self.detail.get(field).and_then(Value::as_str).filter(|s| !s.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_envelope_and_ignores_unknown_fields() {
        let e = Envelope::parse(
            serde_json::json!({"id": "1", "detail-type": "X", "source": "aws.ssm", "new-field": [1], "detail": {"a": "b"}}),
        )
        .unwrap();
        assert_eq!((e.id.as_str(), e.detail_type.as_str(), e.detail_str("a")), ("1", "X", Some("b")));
        assert!(e.resources.is_empty());
    }

    #[test]
    fn refuses_what_is_not_an_eventbridge_event() {
        for bad in [
            serde_json::json!([1]),
            serde_json::json!({"source": "aws.ssm"}),
            serde_json::json!({"source": 1, "detail-type": "X"}),
        ] {
            assert!(matches!(Envelope::parse(bad), Err(HandlerError::InvalidEvent(_))));
        }
        let err = Envelope::parse(serde_json::json!({"source": "a", "detail-type": "b", "resources": "x"}))
            .unwrap_err();
        assert!(err.to_string().contains("resources") || err.to_string().contains("sequence"), "{err}");
    }
}
