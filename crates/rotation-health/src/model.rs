//! A secret as this function names it (by ARN or name, compared by name), where its state is
//! kept, and the rotation health the daily sweep compares.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

/// A secret, as configured or as an event names it: an ARN or a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretRef {
    /// As given: what the doctor is asked about.
    pub id: String,
    /// The secret's name (an ARN without its prefix and `-xxxxxx` suffix).
    pub name: String,
}

impl SecretRef {
    #[must_use]
    pub fn new(id: &str) -> Self {
        let id = id.trim();
        Self { id: id.to_owned(), name: name_of(id).to_owned() }
    }

    /// Whether `self` and `other` name the same secret (an ARN and a name may).
    #[must_use]
    pub fn same(&self, other: &Self) -> bool {
        self.name == other.name
    }

    /// The secret's key in the state store: one path segment of the characters Parameter Store
    /// accepts, each other byte (and `_`, and `/`) written `_XX`, so that two names never share a key.
    #[must_use]
    pub fn key(&self) -> String {
        let mut key = String::with_capacity(self.name.len());
        for b in self.name.bytes() {
            if b.is_ascii_alphanumeric() || b == b'-' || b == b'.' {
                key.push(char::from(b));
            } else {
                let _ = write!(key, "_{b:02X}");
            }
        }
        key
    }
}

/// A secret's name from its ARN (`arn:aws:secretsmanager:<region>:<account>:secret:<name>-xxxxxx`);
/// a name is returned as it is.
fn name_of(id: &str) -> &str {
    let Some((_, name)) = id.split_once(":secret:").filter(|_| id.starts_with("arn:")) else {
        return id;
    };
    match name.len().checked_sub(7).map(|at| name.split_at(at)) {
        Some((base, suffix))
            if !base.is_empty()
                && suffix.starts_with('-')
                && suffix[1..].bytes().all(|b| b.is_ascii_alphanumeric()) =>
        {
            base
        }
        _ => name,
    }
}

/// Why the doctor gave no report.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Unreachable {
    /// The rotation function's allow-lists refuse the secret (`Rotation.NotAllowed`).
    NotAllowed,
    /// The rotation function failed (a time-out, a crash, another `errorType`).
    FunctionError,
    /// Lambda did not run it (not found, access denied, throttled, unavailable).
    NoAnswer,
    /// It answered with something that is not a doctor's report.
    NotAReport,
}

impl Unreachable {
    #[must_use]
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::NotAllowed => "not-allowed",
            Self::FunctionError => "function-error",
            Self::NoAnswer => "no-answer",
            Self::NotAReport => "not-a-report",
        }
    }
}

/// A secret's rotation health, as one sweep finds it and the next compares it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum Health {
    /// Every check passed.
    Healthy,
    /// The checks that failed and those that warned.
    Unhealthy { failing: BTreeSet<String>, warning: BTreeSet<String> },
    /// No report: why, in a word (compared) and in a sentence (not compared).
    DoctorUnreachable {
        cause: Unreachable,
        #[serde(default)]
        detail: String,
    },
}

impl Health {
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Self::Healthy => "healthy",
            Self::Unhealthy { .. } => "unhealthy",
            Self::DoctorUnreachable { .. } => "doctor-unreachable",
        }
    }

    /// Whether two sweeps found the same state (an unreachable doctor's sentence aside).
    #[must_use]
    pub fn same_state(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::DoctorUnreachable { cause: a, .. }, Self::DoctorUnreachable { cause: b, .. }) => a == b,
            (a, b) => a == b,
        }
    }
}

/// An alert a rotation event opened, kept until a later event resolves it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenAlert {
    /// The kind of the notification that opened it (`rotation-failed`, ...).
    pub kind: String,
    pub event_id: String,
    #[serde(default)]
    pub time: String,
}

/// What the state store keeps for a secret's rotation events: the open alert, if any.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventState {
    pub open: Option<OpenAlert>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_arn_and_a_name_name_the_same_secret() {
        let arn = SecretRef::new(
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:my-app/dev/db-credentials-AbC123",
        );
        let name = SecretRef::new("my-app/dev/db-credentials");
        assert_eq!(arn.name, "my-app/dev/db-credentials");
        assert!(arn.same(&name));
        assert!(!name.same(&SecretRef::new("my-app/prod/db-credentials")));
        // no suffix, or a name that merely looks like one
        assert_eq!(SecretRef::new("arn:aws:secretsmanager:us-east-1:1:secret:short").name, "short");
        assert_eq!(SecretRef::new("app-db-x").name, "app-db-x");
    }

    #[test]
    fn keys_are_parameter_store_safe_and_distinct() {
        assert_eq!(SecretRef::new("my-app/dev/db_1").key(), "my-app_2Fdev_2Fdb_5F1");
        assert_eq!(SecretRef::new("a+b=c@d.e").key(), "a_2Bb_3Dc_40d.e");
        // "a/b" and "a_2Fb" would collide if "_" were kept
        assert_ne!(SecretRef::new("a/b").key(), SecretRef::new("a_2Fb").key());
    }

    #[test]
    fn health_compares_states_not_sentences_and_round_trips() {
        let a = Health::DoctorUnreachable { cause: Unreachable::NoAnswer, detail: "timed out".into() };
        let b = Health::DoctorUnreachable { cause: Unreachable::NoAnswer, detail: "throttled".into() };
        assert!(a.same_state(&b));
        assert!(!a.same_state(&Health::DoctorUnreachable {
            cause: Unreachable::NotAllowed,
            detail: String::new()
        }));
        let bad = Health::Unhealthy { failing: ["dns".to_owned()].into(), warning: BTreeSet::new() };
        let json = serde_json::to_string(&bad).unwrap();
        assert_eq!(json, r#"{"state":"unhealthy","failing":["dns"],"warning":[]}"#);
        assert_eq!(serde_json::from_str::<Health>(&json).unwrap(), bad);
        assert_eq!(serde_json::to_string(&Health::Healthy).unwrap(), r#"{"state":"healthy"}"#);
    }
}
