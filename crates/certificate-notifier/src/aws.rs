//! The ACM adapter: `DescribeCertificate`.

use aws_sdk_acm::Client;
use common::aws::{AwsError, AwsErrorKind, Service};

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
    async fn describe(&self, arn: &str) -> Result<Option<CertificateInfo>, AwsError> {
        let answer = self.client.describe_certificate().certificate_arn(arn).send().await;
        let out = match answer.map_err(|e| AwsError::from_sdk(Service::Acm, &e)) {
            Ok(out) => out,
            Err(e) if e.kind == AwsErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let Some(c) = out.certificate else { return Ok(None) };
        let renewal = c.renewal_summary;
        Ok(Some(CertificateInfo {
            domain: c.domain_name,
            alternative_names: c.subject_alternative_names.unwrap_or_default(),
            cert_type: c.r#type.map(|t| t.as_str().to_owned()),
            status: c.status.map(|s| s.as_str().to_owned()),
            not_after: c.not_after.map(|t| t.secs()),
            renewal_eligibility: c.renewal_eligibility.map(|r| r.as_str().to_owned()),
            renewal_status: renewal.as_ref().map(|r| r.renewal_status.as_str().to_owned()),
            renewal_reason: renewal.and_then(|r| r.renewal_status_reason).map(|r| r.as_str().to_owned()),
            in_use_by: c.in_use_by.unwrap_or_default(),
        }))
    }
}
