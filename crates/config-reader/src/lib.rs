//! The config reader: reads an application's configuration for one environment (`DEV_OR_PROD`)
//! from SSM Parameter Store, with batching, an in-process cache and errors a person can act on.
//!
//! `main.rs` wires [`Config`], [`aws::SsmSource`] and [`Reader`] together at cold start;
//! [`handle`] serves each invocation.

pub mod aws;
pub mod cache;
pub mod config;
pub mod error;
pub mod name;
pub mod reader;
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
pub fn parse_request(payload: serde_json::Value) -> Result<Request, ReadError> {
    if payload.is_null() {
        return Ok(Request::default());
    }
    if !payload.is_object() {
        return Err(ReadError::InvalidRequest { reason: "the event must be a JSON object such as {} or {\"names\": [\"db-url\"]}".into() });
    }
    serde_json::from_value(payload).map_err(|e| ReadError::InvalidRequest { reason: e.to_string() })
}

/// The Lambda handler.
///
/// # Errors
/// Whatever [`parse_request`] or [`Reader::read`] refuse; the runtime reports it with the
/// error's stable `errorType`.
pub async fn handle<S, C>(reader: &Reader<S, C>, event: LambdaEvent<serde_json::Value>) -> Result<Response, ReadError>
where
    S: ParameterSource + Sync,
    C: Clock + Sync,
{
    let request = match parse_request(event.payload) {
        Ok(r) => r,
        Err(err) => {
            tracing::error!(error_type = common::ErrorKind::error_type(&err), error = %err, "invalid request");
            return Err(err);
        }
    };
    reader.read(&request).await
}
