//! The rotation function: Secrets Manager's four rotation steps for database credentials
//! (PostgreSQL, MySQL and MariaDB, RDS-managed secrets included; single-user and
//! alternating-users strategies) and for non-database secrets.
//!
//! `main.rs` reads the [`Config`] and wires the [`aws::SecretsManager`] store, the database
//! adapters ([`engines::Engines`] of [`postgres::Postgres`] and [`mysql::MySql`]) and the
//! [`rds::Rds`] API into a [`Rotator`] at cold start; [`handle`] serves each step. The steps are in
//! [`rotation`]; who may make the function act is checked there, against the allow-lists of
//! [`settings`].

pub mod aws;
pub(crate) mod config;
pub mod dbconfig;
pub mod engines;
pub(crate) mod error;
#[cfg(test)]
pub(crate) mod fakes;
mod locate;
pub mod mysql;
pub mod network;
pub mod password;
pub mod ports;
pub mod postgres;
pub mod rds;
pub(crate) mod rotation;
pub mod secret;
pub mod settings;

pub use config::Config;
pub use error::RotationError;
pub use rotation::{Check, Finding, Outcome, Report, RotationEvent, Rotator, Status, Step};

use lambda_runtime::LambdaEvent;

use crate::ports::{Database, Network, RdsApi, SecretStore};

/// Parses a payload into a [`RotationEvent`].
///
/// # Errors
/// [`RotationError::InvalidEvent`] naming what is missing or wrong.
pub(crate) fn parse_event(payload: serde_json::Value) -> Result<RotationEvent, RotationError> {
    if !payload.is_object() {
        return Err(RotationError::InvalidEvent(
            "the event must be a JSON object with Step, SecretId and ClientRequestToken".into(),
        ));
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

/// What the function answers: nothing (`null`) to a rotation step, as Secrets Manager reads only
/// success or failure (what the step did is for the invocation's outcome line); the report to the
/// doctor.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    Step(Outcome),
    Doctor(Report),
}

impl serde::Serialize for Answer {
    fn serialize<Z: serde::Serializer>(&self, serializer: Z) -> Result<Z::Ok, Z::Error> {
        match self {
            Self::Step(_) => serializer.serialize_unit(),
            Self::Doctor(report) => report.serialize(serializer),
        }
    }
}

impl common::invocation::Reported for Answer {
    fn outcome(&self) -> &'static str {
        match self {
            Self::Step(outcome) => common::invocation::Reported::outcome(outcome),
            Self::Doctor(report) if report.ok => "healthy",
            Self::Doctor(_) => "unhealthy",
        }
    }
}

/// A direct invocation of the doctor: `{"Action": "doctor", "SecretId": "<name or ARN>"}`.
///
/// # Errors
/// [`RotationError::InvalidEvent`] for another action or a missing `SecretId`.
pub fn parse_doctor_request(payload: &serde_json::Value) -> Result<String, RotationError> {
    match payload.get("Action").and_then(serde_json::Value::as_str) {
        Some("doctor") => {}
        _ => return Err(RotationError::InvalidEvent("the only Action is \"doctor\"".into())),
    }
    payload
        .get("SecretId")
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| RotationError::InvalidEvent("SecretId is missing or not a string".into()))
}

/// The Lambda handler: a rotation step, or the doctor (probing the network through `network`).
///
/// # Errors
/// The step's [`RotationError`], reported with its stable `errorType`.
pub async fn handle<S, D, R, N>(
    rotator: &Rotator<S, D, R>,
    network: &N,
    event: LambdaEvent<serde_json::Value>,
) -> Result<Answer, RotationError>
where
    S: SecretStore + Sync,
    D: Database + Sync,
    R: RdsApi + Sync,
    N: Network + Sync,
{
    if event.payload.get("Action").is_some() {
        let secret_id = parse_doctor_request(&event.payload)?;
        common::invocation::note("action", "doctor");
        let function_arn =
            Some(event.context.invoked_function_arn.as_str()).filter(|arn| arn.starts_with("arn:"));
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        return rotator.doctor(network, &secret_id, function_arn, now).await.map(Answer::Doctor);
    }
    rotator.handle(&parse_event(event.payload)?).await.map(Answer::Step)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use common::ErrorKind;
    use lambda_runtime::{Context, LambdaEvent};

    use super::*;
    use crate::fakes::{FakeDb, FakeNetwork, FakeStore};
    use crate::password::PasswordPolicy;

    const ARN: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:my-app/dev/db-credentials-AbCdEf";
    const TOKEN: &str = "0d4a6c2e-2b47-4b6f-9c1b-7d3f2a1e5b90";

    fn event(json: &str) -> LambdaEvent<serde_json::Value> {
        LambdaEvent::new(serde_json::from_str(json).unwrap(), Context::default())
    }

    #[tokio::test]
    async fn the_sample_events_run_a_rotation() {
        let store = FakeStore::default();
        store.add(ARN, r#"{"engine":"postgres","host":"db","username":"app","password":"Old-pw-1"}"#);
        store.start_rotation(ARN, TOKEN);
        let db = FakeDb::default();
        db.add_user("app", "Old-pw-1", &[], false);
        let rotator =
            Rotator::new(&store, &db, PasswordPolicy::from_lookup(&HashMap::<&str, &str>::new()).unwrap());
        for json in [
            include_str!("../../../events/secret-rotation/createSecret.json"),
            include_str!("../../../events/secret-rotation/setSecret.json"),
            include_str!("../../../events/secret-rotation/testSecret.json"),
            include_str!("../../../events/secret-rotation/finishSecret.json"),
        ] {
            handle(&rotator, &FakeNetwork::default(), event(json)).await.unwrap();
        }
        assert!(!db.logs_in("app", "Old-pw-1"));
        // The token is now AWSCURRENT: that guard answers before the step is looked at.
        handle(
            &rotator,
            &FakeNetwork::default(),
            event(include_str!("../../../events/secret-rotation/unknown-step.json")),
        )
        .await
        .unwrap();
        store.start_rotation(ARN, "t2");
        let unknown = include_str!("../../../events/secret-rotation/unknown-step.json").replace(TOKEN, "t2");
        assert_eq!(
            handle(&rotator, &FakeNetwork::default(), event(&unknown)).await.unwrap_err().error_type(),
            "Rotation.UnknownStep"
        );
        let err = handle(
            &rotator,
            &FakeNetwork::default(),
            event(include_str!("../../../events/secret-rotation/malformed.json")),
        )
        .await
        .unwrap_err();
        assert_eq!(err.error_type(), "Rotation.InvalidEvent");
        assert!(err.to_string().contains("ClientRequestToken"), "{err}");
    }

    #[test]
    fn events_are_parsed_tolerantly_but_checked() {
        let e = parse_event(
            serde_json::json!({"Step": "setSecret", "SecretId": "s", "ClientRequestToken": "t", "RotationToken": "r", "Extra": 1}),
        )
        .unwrap();
        assert_eq!(e.rotation_token.as_deref(), Some("r"));
        for bad in [
            serde_json::json!(null),
            serde_json::json!([]),
            serde_json::json!({"Step": 1, "SecretId": "s", "ClientRequestToken": "t"}),
        ] {
            assert_eq!(parse_event(bad).unwrap_err().error_type(), "Rotation.InvalidEvent");
        }
    }
}
