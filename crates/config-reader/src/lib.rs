//! The config reader: reads an application's configuration for one environment (`DEV_OR_PROD`)
//! from SSM Parameter Store, with batching, an in-process cache and errors a person can act on.
//!
//! `main.rs` wires [`Config`], [`aws::SsmSource`] and [`Reader`] together at cold start;
//! [`handle`] serves each invocation.

pub mod aws;
pub(crate) mod cache;
pub(crate) mod config;
pub mod error;
#[cfg(test)]
pub(crate) mod fakes;
pub(crate) mod name;
pub(crate) mod reader;
pub mod source;

pub use config::{Config, ReadMode};
pub use error::ReadError;
pub use reader::{ParameterView, Reader, Request, Response};

use lambda_runtime::LambdaEvent;

use crate::cache::Clock;
use crate::source::ParameterSource;

/// Parses an invocation payload. `null` and `{}` both read the configured names.
///
/// # Errors
/// [`ReadError::InvalidRequest`] for anything that is not a request object.
pub(crate) fn parse_request(payload: serde_json::Value) -> Result<Request, ReadError> {
    if payload.is_null() {
        return Ok(Request::default());
    }
    if !payload.is_object() {
        return Err(ReadError::InvalidRequest {
            reason: "the event must be a JSON object such as {} or {\"names\": [\"db-url\"]}".into(),
        });
    }
    serde_json::from_value(payload).map_err(|e| ReadError::InvalidRequest { reason: e.to_string() })
}

/// The Lambda handler as the runtime serves it: the payload read with a budget
/// ([`common::payload`]), so that an oversized event is refused (`Config.RequestTooLarge`)
/// before it is built in memory.
///
/// # Errors
/// [`ReadError::TooLarge`], and whatever [`handle`] refuses.
pub async fn handle_payload<S, C>(
    reader: &Reader<S, C>,
    event: LambdaEvent<common::payload::Payload>,
) -> Result<Response, ReadError>
where
    S: ParameterSource + Sync,
    C: Clock + Sync,
{
    match event.payload {
        common::payload::Payload::Json(value) => reader.read(&parse_request(value)?).await,
        common::payload::Payload::TooLarge(reason) => {
            Err(ReadError::TooLarge { reason, max: common::payload::MAX_PAYLOAD_BYTES })
        }
    }
}

/// The Lambda handler.
///
/// # Errors
/// Whatever [`parse_request`] or [`Reader::read`] refuse; the runtime reports it with the
/// error's stable `errorType`.
pub async fn handle<S, C>(
    reader: &Reader<S, C>,
    event: LambdaEvent<serde_json::Value>,
) -> Result<Response, ReadError>
where
    S: ParameterSource + Sync,
    C: Clock + Sync,
{
    reader.read(&parse_request(event.payload)?).await
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};
    use std::time::Instant;

    use common::ErrorKind;
    use lambda_runtime::{Context, LambdaEvent};

    use super::*;
    use crate::fakes::{Call, FakeClock, FakeSource};
    use crate::source::ParameterType;

    fn event(json: &str) -> LambdaEvent<serde_json::Value> {
        LambdaEvent::new(serde_json::from_str(json).unwrap(), Context::default())
    }

    fn dev_reader() -> (Reader<Arc<FakeSource>, Arc<FakeClock>>, Arc<FakeSource>) {
        let source = FakeSource::with(&[
            ("/my-app/dev/db-url", ParameterType::String, "postgres://db.dev:5432/app"),
            ("/my-app/dev/db-password", ParameterType::SecureString, "dev-s3cr3t"),
            (
                "/aws/reference/secretsmanager/my-app/dev/db-credentials",
                ParameterType::SecureString,
                "{\"password\":\"x\"}",
            ),
        ]);
        let env: HashMap<&str, &str> = [("DEV_OR_PROD", "dev")].into_iter().collect();
        let clock = Arc::new(FakeClock(Mutex::new(Instant::now())));
        (Reader::with_clock(Arc::clone(&source), Config::from_lookup(&env).unwrap(), clock), source)
    }

    #[tokio::test]
    async fn sample_events_do_what_their_names_say() {
        let (reader, source) = dev_reader();
        let default =
            handle(&reader, event(include_str!("../../../events/config-reader/default.json"))).await.unwrap();
        assert_eq!(default.parameters.len(), 2);
        let named =
            handle(&reader, event(include_str!("../../../events/config-reader/names.json"))).await.unwrap();
        assert_eq!((named.parameters.len(), named.aws_calls), (2, 0), "served from the cache");
        let refreshed =
            handle(&reader, event(include_str!("../../../events/config-reader/refresh.json"))).await.unwrap();
        assert_eq!(refreshed.aws_calls, 1);
        // A function configured for names refuses to be widened to the whole tree (deliberate
        // change: it used to read it) unless its deployment allows it.
        let calls_before = source.calls().len();
        let widened = handle(&reader, event(include_str!("../../../events/config-reader/path.json")))
            .await
            .unwrap_err();
        assert_eq!(widened.error_type(), "Config.RequestNotAllowed");
        assert_eq!(source.calls().len(), calls_before, "a refused request makes no call");
        let env: HashMap<&str, &str> = [("DEV_OR_PROD", "dev"), ("ALLOW_PATH_REQUESTS", "true")].into();
        let clock = Arc::new(FakeClock(Mutex::new(Instant::now())));
        let open = Reader::with_clock(Arc::clone(&source), Config::from_lookup(&env).unwrap(), clock);
        let path =
            handle(&open, event(include_str!("../../../events/config-reader/path.json"))).await.unwrap();
        assert_eq!(path.mode, ReadMode::Path);
        assert_eq!(path.parameters.len(), 2);
        let selected = handle(&reader, event(include_str!("../../../events/config-reader/selectors.json")))
            .await
            .unwrap();
        assert_eq!(selected.parameters[0].selector.as_deref(), Some(":1"));
        assert!(selected.parameters[1].redacted);
        let calls_before = source.calls().len();
        let refused = handle(&reader, event(include_str!("../../../events/config-reader/out-of-scope.json")))
            .await
            .unwrap_err();
        assert_eq!(refused.error_type(), "Config.MalformedName");
        assert_eq!(source.calls().len(), calls_before, "a refused request makes no call");
        let malformed = handle(&reader, event(include_str!("../../../events/config-reader/malformed.json")))
            .await
            .unwrap_err();
        assert_eq!(malformed.error_type(), "Config.InvalidRequest");
        assert!(malformed.to_string().contains("unknown field `name`"), "{malformed}");
        assert!(matches!(source.calls()[0], Call::Get(_)));
    }

    #[tokio::test]
    async fn an_oversized_event_is_refused_with_its_own_type_before_any_call() {
        let (reader, source) = dev_reader();
        let names = vec!["db-url"; 60_000];
        let payload =
            common::payload::Payload::from_json(&serde_json::json!({ "names": names }).to_string()).unwrap();
        let err = handle_payload(&reader, LambdaEvent::new(payload, Context::default())).await.unwrap_err();
        assert_eq!(err.error_type(), "Config.RequestTooLarge");
        assert!(source.calls().is_empty());
        let small = common::payload::Payload::from_json("{}").unwrap();
        assert_eq!(
            handle_payload(&reader, LambdaEvent::new(small, Context::default()))
                .await
                .unwrap()
                .parameters
                .len(),
            2
        );
    }

    #[test]
    fn payloads_that_are_not_requests_are_refused() {
        assert_eq!(parse_request(serde_json::Value::Null).unwrap(), Request::default());
        for bad in [
            "[]",
            "\"db-url\"",
            "42",
            "{\"names\": \"db-url\"}",
            "{\"mode\": \"all\"}",
            "{\"refresh\": \"yes\"}",
        ] {
            let err = parse_request(serde_json::from_str(bad).unwrap()).unwrap_err();
            assert_eq!(err.error_type(), "Config.InvalidRequest", "{bad}");
        }
    }

    /// Random and mutated requests, as JSON and as raw payload text: never a panic, always a
    /// response or one of the documented errors, and never a SecureString value in either.
    #[tokio::test]
    async fn random_and_mutated_requests_get_a_response_or_a_typed_error() {
        const DOCUMENTED: &[&str] = &[
            "Config.InvalidRequest",
            "Config.RequestTooLarge",
            "Config.RequestNotAllowed",
            "Config.MalformedName",
            "Config.NameOutOfScope",
            "Config.MissingParameter",
        ];
        let samples: Vec<serde_json::Value> = [
            include_str!("../../../events/config-reader/default.json"),
            include_str!("../../../events/config-reader/names.json"),
            include_str!("../../../events/config-reader/path.json"),
            include_str!("../../../events/config-reader/refresh.json"),
            include_str!("../../../events/config-reader/selectors.json"),
            include_str!("../../../events/config-reader/out-of-scope.json"),
        ]
        .iter()
        .map(|s| serde_json::from_str(s).unwrap())
        .collect();
        let (reader, _) = dev_reader();
        let seed = 0x5eed_0001;
        let mut m = common::fuzz::Mutator::new(seed);
        for case in 0..3000 {
            let event = if case % 4 == 0 { m.value(3) } else { m.mutate_one_of(&samples) };
            let text = event.to_string();
            let payload = common::payload::Payload::from_json(&text).unwrap();
            match handle_payload(&reader, LambdaEvent::new(payload, Context::default())).await {
                Ok(r) => {
                    let json = serde_json::to_string(&r).unwrap();
                    assert!(!json.contains("dev-s3cr3t"), "seed {seed} case {case}: {json}");
                }
                Err(e) => {
                    assert!(DOCUMENTED.contains(&e.error_type()), "seed {seed} case {case}: {e} for {text}");
                }
            }
        }
    }
}
