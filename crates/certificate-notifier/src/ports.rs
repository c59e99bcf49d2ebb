//! What the handler asks ACM, in its own vocabulary.

use std::future::Future;

use common::aws::AwsError;

pub use crate::model::{CertificateStatus, CertificateType, RenewalEligibility, RenewalStatus};

/// What `DescribeCertificate` says about a certificate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CertificateInfo {
    pub domain: Option<String>,
    pub alternative_names: Vec<String>,
    pub cert_type: Option<CertificateType>,
    pub status: Option<CertificateStatus>,
    /// Unix seconds.
    pub not_after: Option<i64>,
    pub renewal_eligibility: Option<RenewalEligibility>,
    pub renewal_status: Option<RenewalStatus>,
    pub renewal_reason: Option<String>,
    /// ARNs of what uses it: load balancers, CloudFront distributions, API Gateway domains.
    pub in_use_by: Vec<String>,
    /// Whether it is an exportable public certificate (`Options.Export` = `ENABLED`): its
    /// exported copies do not follow ACM's renewal.
    pub exportable: Option<bool>,
}

/// ACM's certificate metadata.
pub trait CertificateDirectory {
    /// The certificate's metadata; `Ok(None)` when ACM does not know it (any more).
    fn describe(&self, arn: &str) -> impl Future<Output = Result<Option<CertificateInfo>, AwsError>> + Send;

    /// The account's expiry-event setting: how many days before expiry ACM starts its daily
    /// `ACM Certificate Approaching Expiration` events (`DaysBeforeExpiry`, 1 to 45).
    fn days_before_expiry(&self) -> impl Future<Output = Result<Option<i64>, AwsError>> + Send;
}
