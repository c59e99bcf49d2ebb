//! ACM's and AWS Config's vocabulary in our own types: what the events say and what the adapter
//! maps `DescribeCertificate` to. Each keeps a value AWS may add (`Unknown`) as it came, so an
//! unknown value is handled as before and written out unchanged.

/// Who issued a certificate, which decides whether ACM renews it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CertificateType {
    /// Imported into ACM: ACM never renews it.
    Imported,
    /// Issued by ACM.
    AmazonIssued,
    /// Issued by AWS Private CA.
    Private,
    Unknown(String),
}

impl CertificateType {
    #[must_use]
    pub fn parse(text: &str) -> Self {
        match text {
            "IMPORTED" => Self::Imported,
            "AMAZON_ISSUED" => Self::AmazonIssued,
            "PRIVATE" => Self::Private,
            other => Self::Unknown(other.to_owned()),
        }
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            Self::Imported => "IMPORTED",
            Self::AmazonIssued => "AMAZON_ISSUED",
            Self::Private => "PRIVATE",
            Self::Unknown(text) => text,
        }
    }
}

/// A certificate's status.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CertificateStatus {
    PendingValidation,
    Issued,
    Inactive,
    Expired,
    ValidationTimedOut,
    Revoked,
    Failed,
    Unknown(String),
}

impl CertificateStatus {
    #[must_use]
    pub fn parse(text: &str) -> Self {
        match text {
            "PENDING_VALIDATION" => Self::PendingValidation,
            "ISSUED" => Self::Issued,
            "INACTIVE" => Self::Inactive,
            "EXPIRED" => Self::Expired,
            "VALIDATION_TIMED_OUT" => Self::ValidationTimedOut,
            "REVOKED" => Self::Revoked,
            "FAILED" => Self::Failed,
            other => Self::Unknown(other.to_owned()),
        }
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            Self::PendingValidation => "PENDING_VALIDATION",
            Self::Issued => "ISSUED",
            Self::Inactive => "INACTIVE",
            Self::Expired => "EXPIRED",
            Self::ValidationTimedOut => "VALIDATION_TIMED_OUT",
            Self::Revoked => "REVOKED",
            Self::Failed => "FAILED",
            Self::Unknown(text) => text,
        }
    }
}

/// Whether ACM's managed renewal covers a certificate.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RenewalEligibility {
    Eligible,
    Ineligible,
    Unknown(String),
}

impl RenewalEligibility {
    #[must_use]
    pub fn parse(text: &str) -> Self {
        match text {
            "ELIGIBLE" => Self::Eligible,
            "INELIGIBLE" => Self::Ineligible,
            other => Self::Unknown(other.to_owned()),
        }
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            Self::Eligible => "ELIGIBLE",
            Self::Ineligible => "INELIGIBLE",
            Self::Unknown(text) => text,
        }
    }
}

/// Where ACM's managed renewal of a certificate stands.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RenewalStatus {
    PendingAutoRenewal,
    PendingValidation,
    Success,
    Failed,
    Unknown(String),
}

impl RenewalStatus {
    #[must_use]
    pub fn parse(text: &str) -> Self {
        match text {
            "PENDING_AUTO_RENEWAL" => Self::PendingAutoRenewal,
            "PENDING_VALIDATION" => Self::PendingValidation,
            "SUCCESS" => Self::Success,
            "FAILED" => Self::Failed,
            other => Self::Unknown(other.to_owned()),
        }
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            Self::PendingAutoRenewal => "PENDING_AUTO_RENEWAL",
            Self::PendingValidation => "PENDING_VALIDATION",
            Self::Success => "SUCCESS",
            Self::Failed => "FAILED",
            Self::Unknown(text) => text,
        }
    }
}

/// A resource's compliance with a Config rule (shared with the other notifiers).
pub use notification::compliance::Compliance;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_value_reads_and_writes_as_aws_spells_it() {
        for text in ["IMPORTED", "AMAZON_ISSUED", "PRIVATE", "SOMETHING_NEW"] {
            assert_eq!(CertificateType::parse(text).as_str(), text);
        }
        assert_eq!(CertificateType::parse("IMPORTED"), CertificateType::Imported);
        assert_eq!(
            CertificateType::parse("imported"),
            CertificateType::Unknown("imported".into()),
            "case matters, as before"
        );
        for text in [
            "PENDING_VALIDATION",
            "ISSUED",
            "INACTIVE",
            "EXPIRED",
            "VALIDATION_TIMED_OUT",
            "REVOKED",
            "FAILED",
            "NEW",
        ] {
            assert_eq!(CertificateStatus::parse(text).as_str(), text);
        }
        assert_eq!(CertificateStatus::parse("ISSUED"), CertificateStatus::Issued);
        for text in ["ELIGIBLE", "INELIGIBLE", "MAYBE"] {
            assert_eq!(RenewalEligibility::parse(text).as_str(), text);
        }
        assert_eq!(RenewalEligibility::parse("ELIGIBLE"), RenewalEligibility::Eligible);
        for text in ["PENDING_AUTO_RENEWAL", "PENDING_VALIDATION", "SUCCESS", "FAILED", "NEW"] {
            assert_eq!(RenewalStatus::parse(text).as_str(), text);
        }
        assert_eq!(RenewalStatus::parse("FAILED"), RenewalStatus::Failed);
        for text in ["COMPLIANT", "NON_COMPLIANT", "NOT_APPLICABLE", "INSUFFICIENT_DATA"] {
            assert_eq!(Compliance::parse(text).as_str(), text);
        }
        assert_eq!(Compliance::parse("NON_COMPLIANT"), Compliance::NonCompliant);
    }
}
