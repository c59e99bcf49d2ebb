//! The port to Parameter Store, in our own vocabulary. The SDK adapter is in [`crate::aws`].

use std::future::Future;

use common::SecretString;

/// Parameter Store's value types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum ParameterType {
    String,
    StringList,
    SecureString,
}

impl ParameterType {
    #[must_use]
    pub fn is_secure(self) -> bool {
        matches!(self, Self::SecureString)
    }
}

/// One parameter as read, decrypted when it is a SecureString.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parameter {
    /// The full name, without selector.
    pub name: String,
    /// The selector it was read with (`:3`, `:live`), as Parameter Store echoes it.
    pub selector: Option<String>,
    pub kind: ParameterType,
    /// Never logged: `SecretString` prints `***`.
    pub value: SecretString,
    pub version: i64,
    /// RFC 3339, UTC.
    pub last_modified: Option<String>,
}

/// The answer to one `GetParameters` call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Batch {
    /// Each parameter found, with the requested name (and selector) it answers.
    pub found: Vec<(String, Parameter)>,
    /// The requested names (with their selectors) that do not exist.
    pub missing: Vec<String>,
}

/// One page of `GetParametersByPath`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Page {
    pub parameters: Vec<Parameter>,
    pub next_token: Option<String>,
}

/// A failed call, classified so that a person knows what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    /// IAM refused the Parameter Store call itself (first stage of the classic set-up).
    #[error("access denied by IAM: {message}")]
    AccessDenied { message: String },
    /// Parameter Store was allowed, but KMS refused to decrypt a SecureString (second stage), or
    /// the key is disabled, pending deletion or not found.
    #[error("KMS refused to decrypt: {message}")]
    KmsDecrypt { message: String },
    /// Still throttled after the SDK's retries with backoff.
    #[error("throttled by Parameter Store after retries: {message}")]
    Throttled { message: String },
    /// The request was refused as invalid (a bad name, selector or path).
    #[error("request refused by Parameter Store: {message}")]
    Invalid { message: String },
    /// Network trouble, time-outs, server errors: worth retrying later.
    #[error("Parameter Store unavailable: {message}")]
    Unavailable { message: String },
}

/// Where parameters come from. At most [`MAX_BATCH`] names per `get_parameters` call.
pub trait ParameterSource {
    fn get_parameters(&self, names: &[String]) -> impl Future<Output = Result<Batch, SourceError>> + Send;

    fn get_parameters_by_path(&self, path: &str, next_token: Option<&str>) -> impl Future<Output = Result<Page, SourceError>> + Send;
}

/// Parameter Store's limit on names per `GetParameters` call.
pub const MAX_BATCH: usize = 10;
