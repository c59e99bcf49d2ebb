//! The EventBridge envelope, read tolerantly: unknown fields are ignored, and only what a
//! handler relies on is required.

use serde::Deserialize;
use serde_json::Value;

use crate::error::HandlerError;

/// How far an event's time may be ahead of the function's clock.
pub const CLOCK_SKEW: i64 = 300;
/// How late an event may be judged as of its own time: EventBridge retries for up to the
/// rule's maximum event age (an hour here) and Lambda's asynchronous retries for up to six hours.
pub const MAX_LATE: i64 = 86_400;

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

    /// The event's `region` when it is a region code; `None` otherwise, so that nothing else
    /// reaches a console link.
    #[must_use]
    pub fn region(&self) -> Option<&str> {
        Some(self.region.as_str()).filter(|r| crate::text::is_region(r))
    }

    /// The event's `account` when it is a 12-digit account id.
    #[must_use]
    pub fn account_id(&self) -> Option<&str> {
        Some(self.account.as_str()).filter(|a| crate::text::is_account(a))
    }

    /// The instant the event speaks of (its `time`, Unix seconds), so that a retry or a late
    /// delivery is judged as of the event: a day counted from it is the same day however late
    /// the invocation runs. `now` when the time is missing or unreadable, later than `now` (by
    /// more than [`CLOCK_SKEW`]), or older than [`MAX_LATE`] (no retry runs that late; such an
    /// event is judged as of now).
    #[must_use]
    pub fn instant(&self, now: i64) -> i64 {
        crate::timefmt::parse(&self.time)
            .filter(|t| *t <= now.saturating_add(CLOCK_SKEW) && *t >= now.saturating_sub(MAX_LATE))
            .unwrap_or(now)
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

    #[test]
    fn region_account_and_time_are_checked_before_use() {
        let at = |time: &str, region: &str, account: &str| {
            Envelope::parse(serde_json::json!({
                "source": "aws.acm", "detail-type": "X", "time": time, "region": region, "account": account
            }))
            .unwrap()
        };
        let now = crate::timefmt::parse("2026-11-29T09:00:00Z").unwrap();
        let e = at("2026-11-29T06:00:00Z", "us-east-1", "123456789012");
        assert_eq!(
            (e.region(), e.account_id(), e.instant(now)),
            (Some("us-east-1"), Some("123456789012"), now - 3 * 3600)
        );
        let forged = at("2099-01-01T00:00:00Z", "evil.example/#", "1; DROP");
        assert_eq!((forged.region(), forged.account_id(), forged.instant(now)), (None, None, now));
        assert_eq!(at("2026-11-20T00:00:00Z", "", "").instant(now), now, "older than a day");
        assert_eq!(at("yesterday", "", "").instant(now), now);
    }
}
