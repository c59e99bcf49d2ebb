//! The ACM adapter: `DescribeCertificate`.

use aws_sdk_acm::Client;
use common::aws::{AwsError, AwsErrorKind, Service};

use crate::ports::{
    CertificateDirectory, CertificateInfo, CertificateStatus, CertificateType, RenewalEligibility,
    RenewalStatus,
};

fn cert_type(t: &aws_sdk_acm::types::CertificateType) -> CertificateType {
    use aws_sdk_acm::types::CertificateType as Sdk;
    match t {
        Sdk::Imported => CertificateType::Imported,
        Sdk::AmazonIssued => CertificateType::AmazonIssued,
        Sdk::Private => CertificateType::Private,
        other => CertificateType::Unknown(other.as_str().to_owned()),
    }
}

fn status(s: &aws_sdk_acm::types::CertificateStatus) -> CertificateStatus {
    use aws_sdk_acm::types::CertificateStatus as Sdk;
    match s {
        Sdk::PendingValidation => CertificateStatus::PendingValidation,
        Sdk::Issued => CertificateStatus::Issued,
        Sdk::Inactive => CertificateStatus::Inactive,
        Sdk::Expired => CertificateStatus::Expired,
        Sdk::ValidationTimedOut => CertificateStatus::ValidationTimedOut,
        Sdk::Revoked => CertificateStatus::Revoked,
        Sdk::Failed => CertificateStatus::Failed,
        other => CertificateStatus::Unknown(other.as_str().to_owned()),
    }
}

fn eligibility(r: &aws_sdk_acm::types::RenewalEligibility) -> RenewalEligibility {
    use aws_sdk_acm::types::RenewalEligibility as Sdk;
    match r {
        Sdk::Eligible => RenewalEligibility::Eligible,
        Sdk::Ineligible => RenewalEligibility::Ineligible,
        other => RenewalEligibility::Unknown(other.as_str().to_owned()),
    }
}

fn renewal_status(r: &aws_sdk_acm::types::RenewalStatus) -> RenewalStatus {
    use aws_sdk_acm::types::RenewalStatus as Sdk;
    match r {
        Sdk::PendingAutoRenewal => RenewalStatus::PendingAutoRenewal,
        Sdk::PendingValidation => RenewalStatus::PendingValidation,
        Sdk::Success => RenewalStatus::Success,
        Sdk::Failed => RenewalStatus::Failed,
        other => RenewalStatus::Unknown(other.as_str().to_owned()),
    }
}

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
            cert_type: c.r#type.as_ref().map(cert_type),
            status: c.status.as_ref().map(status),
            not_after: c.not_after.map(|t| t.secs()),
            renewal_eligibility: c.renewal_eligibility.as_ref().map(eligibility),
            renewal_status: renewal.as_ref().map(|r| renewal_status(&r.renewal_status)),
            renewal_reason: renewal.and_then(|r| r.renewal_status_reason).map(|r| r.as_str().to_owned()),
            in_use_by: c.in_use_by.unwrap_or_default(),
            exportable: c
                .options
                .and_then(|o| o.export)
                .map(|e| e == aws_sdk_acm::types::CertificateExport::Enabled),
        }))
    }

    async fn days_before_expiry(&self) -> Result<Option<i64>, AwsError> {
        let out = self
            .client
            .get_account_configuration()
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(Service::Acm, &e))?;
        Ok(out.expiry_events.and_then(|e| e.days_before_expiry).map(i64::from))
    }
}
