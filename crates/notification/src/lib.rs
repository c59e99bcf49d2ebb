//! What the two notifier functions (parameter policies, certificate expiry) share: the
//! pipeline they both run ([`Pipeline`], driven by each one's [`Rules`]), the topic setting, the
//! EventBridge envelope, the notification a person reads, the [`Notifier`] port and its SNS
//! adapter, the decision's notes for the outcome line and the CloudWatch embedded-metric line, and the errors.

pub mod compliance;
pub(crate) mod envelope;
pub(crate) mod error;
pub mod notice;
pub(crate) mod pipeline;
pub(crate) mod recent;
pub mod sns;
#[cfg(feature = "testing")]
pub mod testing;
pub mod text;
pub mod timefmt;

pub use envelope::Envelope;
pub use error::{HandlerError, lookup_failure};
pub use notice::{Decision, Kind, Notification, Outcome, Severity, Status};
pub use pipeline::{Found, Pipeline, Reading, Rules, Verdict, topic_arn};
pub use recent::RecentIds;

use std::future::Future;

use common::aws::AwsError;

/// Where notifications go (an SNS topic in production).
pub trait Notifier {
    /// Publishes `notice`; returns the message id.
    fn publish(&self, notice: &Notification) -> impl Future<Output = Result<String, AwsError>> + Send;
}
