//! The port to Parameter Store, in our own vocabulary. The SDK adapter is in [`crate::aws`].

use std::future::Future;

use common::SecretString;
use common::aws::AwsError;

/// Parameter Store's value types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum ParameterType {
    String,
    StringList,
    SecureString,
}

impl ParameterType {
    #[must_use]
    pub(crate) fn is_secure(self) -> bool {
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

/// Where parameters come from. At most [`MAX_BATCH`] names per `get_parameters` call. A failed
/// call is an [`AwsError`] of [`common::aws::Service::Ssm`], sorted as every function sorts them.
///
/// `decrypt` asks for SecureString values in clear (`WithDecryption`); without it a SecureString
/// comes back as Parameter Store's encrypted form, which the reader only ever redacts.
pub trait ParameterSource {
    fn get_parameters(
        &self,
        names: &[String],
        decrypt: bool,
    ) -> impl Future<Output = Result<Batch, AwsError>> + Send;

    fn get_parameters_by_path(
        &self,
        path: &str,
        next_token: Option<&str>,
        decrypt: bool,
    ) -> impl Future<Output = Result<Page, AwsError>> + Send;
}

/// Parameter Store's limit on names per `GetParameters` call.
pub(crate) const MAX_BATCH: usize = 10;
