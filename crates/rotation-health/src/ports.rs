//! What the function asks of AWS, in its own vocabulary.

use std::future::Future;

use common::aws::AwsError;

use crate::doctor::Outcome;

/// The rotation function's doctor.
pub trait Doctor {
    /// Asks the doctor about `secret_id` (a name or an ARN). Every failure is an [`Outcome`]
    /// error: a doctor that cannot answer is a state, not a failure of the caller.
    fn examine(&self, secret_id: &str) -> impl Future<Output = Outcome> + Send;
}

/// Where states are kept between invocations: small text values under names this function owns.
pub trait StateStore {
    /// The value stored under `name`; `Ok(None)` when nothing is.
    fn get(&self, name: &str) -> impl Future<Output = Result<Option<String>, AwsError>> + Send;
    /// Stores `value` under `name`, replacing what was there.
    fn put(&self, name: &str, value: &str) -> impl Future<Output = Result<(), AwsError>> + Send;
}

/// The list of further secrets to watch (a `StringList` parameter).
pub trait SecretList {
    /// The secrets the list names; `Ok(None)` when the list does not exist.
    fn secrets(&self, list: &str) -> impl Future<Output = Result<Option<Vec<String>>, AwsError>> + Send;
}
