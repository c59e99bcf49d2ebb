//! The rotation function: Secrets Manager's four rotation steps for database credentials
//! (PostgreSQL; single-user and alternating-users strategies).
//!
//! `main.rs` wires the [`aws::SecretsManager`] store, the [`postgres::Postgres`] database and the
//! [`password::PasswordPolicy`] into a [`Rotator`] at cold start; [`handle`] serves each step.

pub mod aws;
pub mod error;
#[cfg(test)]
pub(crate) mod fakes;
pub mod password;
pub mod ports;
pub mod postgres;
pub mod rotation;
pub mod secret;

pub use error::RotationError;
pub use rotation::{Outcome, RotationEvent, Rotator, Step};

use lambda_runtime::LambdaEvent;

use crate::ports::{Database, SecretStore};

/// Parses a payload into a [`RotationEvent`].
///
/// # Errors
/// [`RotationError::InvalidEvent`] naming what is missing or wrong.
pub fn parse_event(payload: serde_json::Value) -> Result<RotationEvent, RotationError> {
    if !payload.is_object() {
        return Err(RotationError::InvalidEvent("the event must be a JSON object with Step, SecretId and ClientRequestToken".into()));
    }
    for field in ["Step", "SecretId", "ClientRequestToken"] {
        if !payload.get(field).is_some_and(serde_json::Value::is_string) {
            return Err(RotationError::InvalidEvent(format!("{field} is missing or not a string")));
        }
    }
    if payload.get("RotationToken").is_some_and(|t| !t.is_string() && !t.is_null()) {
        return Err(RotationError::InvalidEvent("RotationToken is not a string".into()));
    }
    serde_json::from_value(payload).map_err(|e| RotationError::InvalidEvent(e.to_string()))
}

/// The Lambda handler. The response is empty: Secrets Manager reads only success or failure.
///
/// # Errors
/// The step's [`RotationError`], reported with its stable `errorType`.
pub async fn handle<S, D>(rotator: &Rotator<S, D>, event: LambdaEvent<serde_json::Value>) -> Result<(), RotationError>
where
    S: SecretStore + Sync,
    D: Database + Sync,
{
    let event = match parse_event(event.payload) {
        Ok(e) => e,
        Err(err) => {
            tracing::error!(error_type = common::ErrorKind::error_type(&err), error = %err, "invalid rotation event");
            return Err(err);
        }
    };
    rotator.handle(&event).await.map(|_| ())
}
