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

/// Parameter Store's metadata.
pub trait ParameterDirectory {
    /// The parameter's metadata; `Ok(None)` when it does not exist (any more).
    fn describe(&self, name: &str) -> impl Future<Output = Result<Option<ParameterInfo>, AwsError>> + Send;
}
