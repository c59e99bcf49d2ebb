//! What the handler asks Parameter Store, in its own vocabulary.

use std::future::Future;

use common::aws::AwsError;

pub use crate::model::{ParameterType, PolicyType};

/// A parameter policy as `DescribeParameters` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyInfo {
    pub policy_type: PolicyType,
    /// The policy's JSON, e.g. `{"Type":"Expiration","Version":"1.0","Attributes":{"Timestamp":"..."}}`.
    pub text: String,
    pub status: String,
}

/// What `DescribeParameters` says about a parameter (never its value).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParameterInfo {
    pub parameter_type: Option<ParameterType>,
    pub tier: Option<String>,
    pub version: Option<i64>,
    /// Unix seconds.
    pub last_modified: Option<i64>,
    pub last_modified_user: Option<String>,
    pub policies: Vec<PolicyInfo>,
}

/// One parameter as the audit sees it: its metadata and, for a `String` or `StringList`, its
/// value (held redacted: it may be a secret stored in the clear). A SecureString's value is never
/// read: `stored_len` is then the length of the encrypted form Parameter Store returns without
/// decryption, an upper bound of the value's size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditedParameter {
    pub name: String,
    pub parameter_type: Option<ParameterType>,
    pub tier: Option<String>,
    pub policies: Vec<PolicyType>,
    pub stored_len: usize,
    pub value: Option<common::SecretString>,
}

/// What the parameter-hygiene audit asks Parameter Store, and where it keeps its last findings.
pub trait ParameterInventory {
    /// Every parameter under `path` (recursively), never decrypting a value.
    fn inventory(&self, path: &str) -> impl Future<Output = Result<Vec<AuditedParameter>, AwsError>> + Send;

    /// How many Standard parameters the account holds in this region, and whether the count is
    /// complete (the listing is capped).
    fn standard_count(&self) -> impl Future<Output = Result<(usize, bool), AwsError>> + Send;

    /// The last audit's digest, from the state parameter; `None` when it does not exist yet.
    fn audit_state(&self, name: &str) -> impl Future<Output = Result<Option<String>, AwsError>> + Send;

    /// Keeps `digest` in the state parameter.
    fn save_audit_state(&self, name: &str, digest: &str)
    -> impl Future<Output = Result<(), AwsError>> + Send;
}

/// Parameter Store's metadata.
pub trait ParameterDirectory {
    /// The parameter's metadata; `Ok(None)` when it does not exist (any more).
    fn describe(&self, name: &str) -> impl Future<Output = Result<Option<ParameterInfo>, AwsError>> + Send;
}
