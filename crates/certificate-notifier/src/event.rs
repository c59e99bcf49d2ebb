//! The certificate events, read tolerantly: ACM's five event kinds (only `DaysToExpiry` and the
//! certificate ARN in `resources` are relied on) and AWS Config's compliance changes for the
//! ACM expiry rule.

use notification::{Envelope, HandlerError};
use serde_json::Value;

pub use crate::model::{CertificateType, Compliance};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcmKind {
    ApproachingExpiration,
    Expired,
    RenewalActionRequired,
    Available,
    Revoked,
}

impl AcmKind {
    fn parse(detail_type: &str) -> Option<Self> {
        match detail_type {
            "ACM Certificate Approaching Expiration" => Some(Self::ApproachingExpiration),
            "ACM Certificate Expired" => Some(Self::Expired),
            "ACM Certificate Renewal Action Required" => Some(Self::RenewalActionRequired),
            "ACM Certificate Available" => Some(Self::Available),
            "ACM Certificate Revoked" => Some(Self::Revoked),
            _ => None,
        }
    }
}

/// An ACM event.
#[derive(Debug, Clone, PartialEq)]
pub struct AcmEvent {
    pub kind: AcmKind,
    pub arn: String,
    pub days_to_expiry: Option<i64>,
    pub common_name: Option<String>,
    /// From the event's `InUse` (`TRUE`/`FALSE`), when it says.
    pub in_use: Option<bool>,
    pub cert_type: Option<CertificateType>,
    pub detail: Value,
}

/// A compliance change of the ACM expiry rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComplianceChange {
    pub arn: String,
    pub rule: String,
    pub new: Compliance,
    pub old: Option<Compliance>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum CertificateEvent {
    Acm(AcmEvent),
    Compliance(ComplianceChange),
    Other(String),
}

pub const CONFIG_CHANGE: &str = "Config Rules Compliance Change";

fn days(value: &Value) -> Option<i64> {
    let f = match value {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().parse::<f64>().ok()?,
        _ => return None,
    };
    #[allow(clippy::cast_possible_truncation)] // bounded to a million days just before
    (f.is_finite() && f.abs() < 1e6).then(|| f.floor() as i64)
}

/// An ACM certificate's ARN, checked part by part (partition, region, 12-digit account, and an
/// id of letters, digits and dashes) before it goes into a link, an attribute or a command.
pub(crate) fn is_certificate_arn(arn: &str) -> bool {
    notification::text::arn_parts(arn).is_some_and(|[_, service, region, account, resource]| {
        service == "acm"
            && !region.is_empty()
            && !account.is_empty()
            && resource.strip_prefix("certificate/").is_some_and(|id| {
                !id.is_empty()
                    && id.len() <= 128
                    && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            })
    })
}

/// Reads the event.
///
/// # Errors
/// [`HandlerError::InvalidEvent`] when a certificate event names no certificate ARN.
pub fn read(e: &Envelope, config_rule: &str) -> Result<CertificateEvent, HandlerError> {
    match (e.source.as_str(), e.detail_type.as_str()) {
        ("aws.acm", detail_type) => {
            let Some(kind) = AcmKind::parse(detail_type) else {
                return Ok(CertificateEvent::Other(format!(
                    "ACM event {:?} is not one this function handles",
                    detail_type.chars().take(80).collect::<String>()
                )));
            };
            let arn = e.resources.iter().find(|r| is_certificate_arn(r)).ok_or_else(|| {
                HandlerError::InvalidEvent(format!(
                    "{detail_type}: \"resources\" holds no ACM certificate ARN"
                ))
            })?;
            Ok(CertificateEvent::Acm(AcmEvent {
                kind,
                arn: arn.clone(),
                days_to_expiry: e.detail.get("DaysToExpiry").and_then(days),
                common_name: e.detail_str("CommonName").map(str::to_owned),
                in_use: e.detail_str("InUse").map(|v| v.eq_ignore_ascii_case("true")),
                cert_type: e.detail_str("CertificateType").map(CertificateType::parse),
                detail: e.detail.clone(),
            }))
        }
        ("aws.config", CONFIG_CHANGE) => {
            let rule = e.detail_str("configRuleName").unwrap_or_default();
            if rule != config_rule {
                return Ok(CertificateEvent::Other(format!(
                    "Config rule {:?} is not {config_rule:?}",
                    rule.chars().take(128).collect::<String>()
                )));
            }
            let new = &e.detail["newEvaluationResult"];
            let arn = e
                .detail_str("resourceId")
                .or_else(|| {
                    new.pointer("/evaluationResultIdentifier/evaluationResultQualifier/resourceId")
                        .and_then(Value::as_str)
                })
                .filter(|a| is_certificate_arn(a))
                .ok_or_else(|| {
                    HandlerError::InvalidEvent(format!(
                        "{CONFIG_CHANGE}: no ACM certificate ARN in \"resourceId\""
                    ))
                })?;
            let compliance = new.get("complianceType").and_then(Value::as_str).ok_or_else(|| {
                HandlerError::InvalidEvent(format!("{CONFIG_CHANGE}: no newEvaluationResult.complianceType"))
            })?;
            let old = e
                .detail
                .pointer("/oldEvaluationResult/complianceType")
                .and_then(Value::as_str)
                .map(Compliance::parse);
            Ok(CertificateEvent::Compliance(ComplianceChange {
                arn: arn.to_owned(),
                rule: rule.to_owned(),
                new: Compliance::parse(compliance),
                old,
            }))
        }
        (source, detail_type) => Ok(CertificateEvent::Other(format!(
            "{:?} from {:?} is not a certificate event",
            detail_type.chars().take(80).collect::<String>(),
            source.chars().take(64).collect::<String>()
        ))),
    }
}
