//! The ACM adapter: `DescribeCertificate`.

use aws_sdk_acm::Client;
use aws_sdk_acm::error::{ProvideErrorMetadata, SdkError};
use common::sdk::{self, ErrorCodes, Sorted};
use notification::LookupError;

use crate::ports::{CertificateDirectory, CertificateInfo};

#[derive(Debug, Clone)]
pub struct AcmDirectory {
    client: Client,
}

impl AcmDirectory {
    #[must_use]
    pub fn new(sdk: &aws_config::SdkConfig) -> Self {
        Self { client: Client::new(sdk) }
    }

    #[must_use]
    pub fn from_client(client: Client) -> Self {
        Self { client }
    }
}

impl CertificateDirectory for AcmDirectory {
    async fn describe(&self, arn: &str) -> Result<CertificateInfo, LookupError> {
        let out = self.client.describe_certificate().certificate_arn(arn).send().await.map_err(|e| classify(&e))?;
        let c = out.certificate.ok_or(LookupError::NotFound)?;
        let renewal = c.renewal_summary;
        Ok(CertificateInfo {
            domain: c.domain_name,
            alternative_names: c.subject_alternative_names.unwrap_or_default(),
            cert_type: c.r#type.map(|t| t.as_str().to_owned()),
            status: c.status.map(|s| s.as_str().to_owned()),
            not_after: c.not_after.map(|t| t.secs()),
            renewal_eligibility: c.renewal_eligibility.map(|r| r.as_str().to_owned()),
            renewal_status: renewal.as_ref().map(|r| r.renewal_status.as_str().to_owned()),
            renewal_reason: renewal.and_then(|r| r.renewal_status_reason).map(|r| r.as_str().to_owned()),
            in_use_by: c.in_use_by.unwrap_or_default(),
        })
    }
}

const CODES: ErrorCodes = ErrorCodes { not_found: &["ResourceNotFoundException"], denied: &["AccessDeniedException"], transient: &[] };

/// An enrichment failure: anything but a denial or a missing resource is "unavailable".
fn classify(err: &SdkError<impl ProvideErrorMetadata + std::error::Error + 'static, impl std::fmt::Debug>) -> LookupError {
    match sdk::sort(err, &CODES) {
        Sorted::NotFound(_) => LookupError::NotFound,
        Sorted::Denied(text) => LookupError::AccessDenied(text),
        Sorted::Transient(text) | Sorted::Refused(text) => LookupError::Unavailable(text),
    }
}
