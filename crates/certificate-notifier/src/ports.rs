//! What the handler asks ACM, in its own vocabulary.

use std::future::Future;

use common::aws::AwsError;

/// What `DescribeCertificate` says about a certificate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CertificateInfo {
    pub domain: Option<String>,
    pub alternative_names: Vec<String>,
    /// `IMPORTED`, `AMAZON_ISSUED` or `PRIVATE`.
    pub cert_type: Option<String>,
    pub status: Option<String>,
    /// Unix seconds.
    pub not_after: Option<i64>,
    /// `ELIGIBLE` or `INELIGIBLE`.
    pub renewal_eligibility: Option<String>,
    /// `PENDING_AUTO_RENEWAL`, `PENDING_VALIDATION`, `SUCCESS`, `FAILED`.
    pub renewal_status: Option<String>,
    pub renewal_reason: Option<String>,
    /// ARNs of what uses it: load balancers, CloudFront distributions, API Gateway domains.
    pub in_use_by: Vec<String>,
}

/// ACM's certificate metadata.
pub trait CertificateDirectory {
    /// The certificate's metadata; `Ok(None)` when ACM does not know it (any more).
    fn describe(&self, arn: &str) -> impl Future<Output = Result<Option<CertificateInfo>, AwsError>> + Send;
}
