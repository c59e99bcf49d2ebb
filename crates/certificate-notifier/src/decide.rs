//! Severity and whether to notify, from days left, certificate type and use; and the message.
//!
//! ACM repeats "Approaching Expiration" daily and Config re-evaluates, so a notification goes
//! out only when a threshold is crossed or the state changes. Without a database, the crossing
//! is derived from the days-left bucket: an event whose days left equal a threshold is the first
//! one in that bucket (yesterday's had one day more).

use common::aws::AwsError;
use notification::notice::Message;
use notification::timefmt;
use notification::{Envelope, Kind, Notification, Severity, lookup_failure};

use crate::config::Config;
use crate::event::{AcmEvent, AcmKind, ComplianceChange};
use crate::model::{CertificateType, Compliance, RenewalEligibility, RenewalStatus};
use crate::ports::CertificateInfo;

/// What is known of a certificate: from `DescribeCertificate` where it answered, else from the event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    pub arn: String,
    pub name: String,
    pub cert_type: Option<CertificateType>,
    pub days_left: Option<i64>,
    pub not_after: Option<i64>,
    /// `None` when neither ACM nor the event said.
    pub in_use: Option<bool>,
    /// An exportable public certificate: exported copies must be re-exported after a renewal.
    pub exportable: bool,
    pub in_use_by: Vec<String>,
    pub renewal_eligible: Option<bool>,
    pub renewal_status: Option<RenewalStatus>,
    pub renewal_reason: Option<String>,
    pub unchecked: Option<String>,
}

impl Facts {
    #[must_use]
    pub fn gather(
        arn: &str,
        event: Option<&AcmEvent>,
        lookup: &Result<Option<CertificateInfo>, AwsError>,
        now: i64,
    ) -> Self {
        let info = lookup.as_ref().ok().and_then(Option::as_ref);
        let not_after = info.and_then(|i| i.not_after);
        Self {
            arn: arn.to_owned(),
            name: info
                .and_then(|i| i.domain.clone())
                .or_else(|| event.and_then(|e| e.common_name.clone()))
                .unwrap_or_else(|| arn.rsplit('/').next().unwrap_or(arn).to_owned()),
            cert_type: info
                .and_then(|i| i.cert_type.clone())
                .or_else(|| event.and_then(|e| e.cert_type.clone())),
            days_left: not_after
                .map(|t| timefmt::days_until(now, t))
                .or_else(|| event.and_then(|e| e.days_to_expiry)),
            not_after,
            in_use: info.map(|i| !i.in_use_by.is_empty()).or_else(|| event.and_then(|e| e.in_use)),
            exportable: info.and_then(|i| i.exportable).unwrap_or(false)
                || event.is_some_and(|e| {
                    e.detail.get("Exported").and_then(serde_json::Value::as_str) == Some("TRUE")
                }),
            in_use_by: info.map(|i| i.in_use_by.clone()).unwrap_or_default(),
            renewal_eligible: info
                .and_then(|i| i.renewal_eligibility.as_ref())
                .map(|r| *r == RenewalEligibility::Eligible),
            renewal_status: info.and_then(|i| i.renewal_status.clone()),
            renewal_reason: info.and_then(|i| i.renewal_reason.clone()),
            unchecked: match lookup {
                Ok(Some(_)) => None,
                Ok(None) => {
                    Some("the certificate was not found by ACM DescribeCertificate (deleted?)".to_owned())
                }
                Err(e) => Some(format!(
                    "the certificate's type, renewal and use (ACM DescribeCertificate {})",
                    lookup_failure(e)
                )),
            },
        }
    }

    fn imported(&self) -> bool {
        self.cert_type == Some(CertificateType::Imported)
    }

    /// Whether ACM will not renew it without a person: imported, ineligible, validation
    /// pending or failed, or renewal overdue.
    #[must_use]
    pub fn needs_person(&self, config: &Config) -> bool {
        self.imported()
            || self.renewal_eligible == Some(false)
            || matches!(self.renewal_status, Some(RenewalStatus::PendingValidation | RenewalStatus::Failed))
            || self.days_left.is_some_and(|d| d <= config.renewal_overdue_days)
    }

    fn describe_type(&self) -> &'static str {
        match self.cert_type {
            Some(CertificateType::Imported) => "imported",
            Some(CertificateType::AmazonIssued) => "Amazon-issued",
            Some(CertificateType::Private) => "private",
            Some(CertificateType::Unknown(_)) | None => "type unknown",
        }
    }

    fn describe_use(&self) -> &'static str {
        match self.in_use {
            Some(true) => "in use",
            Some(false) => "not in use",
            None => "use unknown",
        }
    }
}

/// The severity of an expiring certificate: low when nothing uses it, informational while ACM
/// will renew it, else up the ladder of thresholds crossed.
#[must_use]
pub fn expiry_severity(facts: &Facts, config: &Config) -> Severity {
    if facts.in_use == Some(false) {
        return Severity::Low;
    }
    if !facts.needs_person(config) {
        return Severity::Info;
    }
    let Some(days) = facts.days_left else { return Severity::Warning };
    match config.thresholds.iter().filter(|t| days <= **t).count() {
        0 => Severity::Low,
        1 => Severity::Warning,
        2 => Severity::High,
        _ => Severity::Critical,
    }
}

/// Whether days left `days` is the first day in a new bucket: a threshold, or expiry.
#[must_use]
pub fn crosses(days: i64, config: &Config) -> bool {
    days <= 0 || config.thresholds.contains(&days) || config.first_event_day == Some(days)
}

/// The certificate's console page, in the certificate's own region: only for an ARN that is
/// one (the event's `region` and the ARN are not trusted into a link unchecked).
fn console(arn: &str) -> Option<String> {
    if !crate::event::is_certificate_arn(arn) {
        return None;
    }
    let [_, _, region, _, resource] = notification::text::arn_parts(arn)?;
    let id = resource.strip_prefix("certificate/")?;
    let host = notification::text::console_host(region);
    Some(format!("https://{region}.{host}/acm/home?region={region}#/certificates/{id}"))
}

fn days_text(days: i64) -> String {
    match days {
        d if d < 0 => format!("expired {} days ago", -d),
        0 => "expires today".to_owned(),
        1 => "expires in 1 day".to_owned(),
        d => format!("expires in {d} days"),
    }
}

fn todo(facts: &Facts) -> String {
    let arn = &facts.arn;
    if facts.in_use == Some(false) {
        return format!(
            "Nothing uses it. Delete it if it is no longer needed (aws acm delete-certificate --certificate-arn {arn}), or renew it before it is put to use."
        );
    }
    if facts.imported() {
        return format!(
            "ACM never renews imported certificates. Get a renewed certificate from its issuer and re-import \
             it into the same ARN, so that everything using it picks it up: aws acm import-certificate \
             --certificate-arn {arn} --certificate fileb://cert.pem --private-key fileb://key.pem \
             --certificate-chain fileb://chain.pem"
        );
    }
    match facts.renewal_status {
        Some(RenewalStatus::PendingValidation) => {
            return format!(
                "ACM cannot renew it until its domains validate: check that the validation CNAME records (aws acm \
                 describe-certificate --certificate-arn {arn}) are still in DNS, or answer the validation emails."
            );
        }
        Some(RenewalStatus::Failed) => {
            return format!(
                "ACM's renewal failed ({}): fix the cause, or request a new certificate and move its users to it.",
                facts.renewal_reason.as_deref().unwrap_or("no reason given")
            );
        }
        _ => {}
    }
    if facts.renewal_eligible == Some(false) {
        return "ACM will not renew it (not eligible for managed renewal): request a new certificate and move its users to it.".to_owned();
    }
    "Nothing yet if ACM renews it as it should (it starts 60 days before expiry). If it is still not renewed, check its validation records and renewal status in the console.".to_owned()
}

fn body(e: &Envelope, facts: &Facts, what: String) -> Message {
    let mut m = Message {
        what,
        resource: facts.arn.clone(),
        console: console(&facts.arn),
        todo: todo(facts),
        ..Message::default()
    };
    if !e.time.is_empty() {
        m.when.push(format!("event at {}", e.time));
    }
    if let Some(t) = facts.not_after {
        m.when.push(format!("not valid after {}", timefmt::format(t)));
    }
    m.facts.push((
        "Certificate".into(),
        format!("{} ({}, {})", facts.name, facts.describe_type(), facts.describe_use()),
    ));
    if !facts.in_use_by.is_empty() {
        m.facts.push(("In use by".into(), facts.in_use_by.join(", ")));
    }
    if let Some(eligible) = facts.renewal_eligible {
        m.facts.push(("Managed renewal".into(), if eligible { "eligible" } else { "not eligible" }.into()));
    }
    if let Some(status) = &facts.renewal_status {
        let reason = facts.renewal_reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default();
        m.facts.push(("Renewal status".into(), format!("{}{reason}", status.as_str())));
    }
    m.unchecked.extend(facts.unchecked.clone());
    m
}

pub use notification::Verdict;

/// The verdict for an ACM event.
///
/// # Errors
/// When an expiry event leaves the days left unknown (no `DaysToExpiry`, and ACM did not answer).
#[allow(clippy::too_many_lines)] // one arm per ACM event kind, each with its notification's text
pub fn acm_verdict(
    e: &Envelope,
    event: &AcmEvent,
    facts: &Facts,
    config: &Config,
) -> Result<Verdict, String> {
    let name = facts.name.as_str();
    let tag = format!("{}, {}", facts.describe_type(), facts.describe_use());
    let label = (e.id.as_str(), e.detail_type.as_str());
    let in_use = facts.in_use != Some(false);
    Ok(match event.kind {
        AcmKind::ApproachingExpiration => {
            let days = facts.days_left.ok_or(
                "the event has no usable DaysToExpiry, and ACM did not give the certificate's NotAfter",
            )?;
            let severity = expiry_severity(facts, config);
            let when = days_text(days);
            let what = format!("The certificate for {name} {when}.");
            let mut message = body(e, facts, what);
            // ACM's first event, on the account's DaysBeforeExpiry, when that is no threshold.
            let first_event =
                days > 0 && !config.thresholds.contains(&days) && config.first_event_day == Some(days);
            if first_event {
                // The person who reads this is the one to fix the account's setting.
                message.facts.push((
                    "ACM's expiry events".into(),
                    format!(
                        "start {days} days before expiry in this account (DaysBeforeExpiry), after the {}-day \
                         threshold: {}",
                        config.largest_threshold(),
                        config.days_before_expiry_fix()
                    ),
                ));
            }
            let n = Notification::new(
                severity,
                Kind::CertificateExpiring,
                &facts.arn,
                label,
                &format!("Certificate {name} {when} ({tag})"),
                &message,
            );
            if crosses(days, config) {
                let reason = if first_event {
                    "ACM's first expiry event (the account's DaysBeforeExpiry is below the largest threshold)"
                } else {
                    "a days-left threshold was crossed"
                };
                Verdict::Notify(n, reason)
            } else {
                let next = config
                    .thresholds
                    .iter()
                    .find(|t| **t < days)
                    .map_or("expiry".to_owned(), |t| format!("{t} days"));
                Verdict::Suppress(
                    n,
                    format!("{days} days left: no threshold crossed since the last event (next at {next})"),
                )
            }
        }
        AcmKind::Expired => {
            let severity = if in_use { Severity::Critical } else { Severity::Low };
            let what = format!("The certificate for {name} has expired: clients now refuse it.");
            Verdict::Notify(
                Notification::new(
                    severity,
                    Kind::CertificateExpired,
                    &facts.arn,
                    label,
                    &format!("Certificate {name} has expired ({tag})"),
                    &body(e, facts, what),
                ),
                "the certificate expired",
            )
        }
        AcmKind::RenewalActionRequired => {
            let severity = if in_use { Severity::High } else { Severity::Low };
            let days = facts.days_left.map(|d| format!("; it {}", days_text(d))).unwrap_or_default();
            let what = format!("ACM cannot renew the certificate for {name} without action{days}.");
            let n = Notification::new(
                severity,
                Kind::CertificateRenewalAction,
                &facts.arn,
                label,
                &format!("Certificate {name} needs action to renew ({tag})"),
                &body(e, facts, what),
            );
            Verdict::Notify(n, "renewal needs action")
        }
        AcmKind::Available => {
            let action = event
                .detail
                .get("Action")
                .and_then(serde_json::Value::as_str)
                .unwrap_or("ISSUANCE")
                .to_ascii_lowercase();
            let what = format!(
                "The certificate for {name} is available ({action}); earlier expiry alerts for it are resolved."
            );
            let mut m = body(e, facts, what);
            if facts.exportable && action == "renewal" {
                m.todo = format!(
                    "This is an exportable certificate: ACM renewed it in ACM only. Every exported copy still holds the old \
                     certificate and expires with it: export it again (aws acm export-certificate --certificate-arn {} \
                     --passphrase fileb://passphrase.txt) and redeploy it on every server, appliance and account it was \
                     exported to. Where ACM itself deploys it (load balancers, CloudFront, API Gateway), nothing.",
                    facts.arn
                );
            } else {
                "Nothing: clients get the new certificate where ACM deploys it. Re-deploy it yourself where it was exported."
                    .clone_into(&mut m.todo);
            }
            let n = Notification::new(
                Severity::Info,
                Kind::CertificateAvailable,
                &facts.arn,
                label,
                &format!("Certificate {name} is available ({action})"),
                &m,
            )
            .resolved();
            Verdict::Notify(n, "the certificate was issued or renewed")
        }
        AcmKind::Revoked => {
            let severity = if in_use { Severity::Critical } else { Severity::Low };
            let reason = event
                .detail
                .get("RevocationReason")
                .and_then(serde_json::Value::as_str)
                .unwrap_or("reason not given");
            let what = format!(
                "The certificate for {name} was revoked ({reason}): clients that check revocation refuse it."
            );
            let mut m = body(e, facts, what);
            m.todo = format!(
                "Request or import a replacement now and move everything that uses it (see In use by); then delete {}.",
                facts.arn
            );
            Verdict::Notify(
                Notification::new(
                    severity,
                    Kind::CertificateRevoked,
                    &facts.arn,
                    label,
                    &format!("Certificate {name} was revoked ({tag})"),
                    &m,
                ),
                "the certificate was revoked",
            )
        }
    })
}

/// The verdict for a compliance change of the ACM expiry rule.
#[must_use]
pub fn compliance_verdict(
    e: &Envelope,
    change: &ComplianceChange,
    facts: &Facts,
    config: &Config,
) -> Verdict {
    let name = facts.name.as_str();
    let label = (e.id.as_str(), e.detail_type.as_str());
    let was_noncompliant = change.old == Some(Compliance::NonCompliant);
    match &change.new {
        Compliance::NonCompliant => {
            let severity = expiry_severity(facts, config).max(Severity::Warning);
            let severity = if facts.in_use == Some(false) { Severity::Low } else { severity };
            let when = facts.days_left.map_or_else(|| "expires soon".to_owned(), days_text);
            let what = format!(
                "AWS Config rule {} finds the certificate for {name} non-compliant: it {when}.",
                change.rule
            );
            let n = Notification::new(
                severity,
                Kind::CertificateNoncompliant,
                &facts.arn,
                label,
                &format!("Certificate {name} non-compliant: {when}"),
                &body(e, facts, what),
            );
            if was_noncompliant {
                Verdict::Suppress(n, "still non-compliant: no state change".into())
            } else {
                Verdict::Notify(n, "became non-compliant")
            }
        }
        Compliance::Compliant => {
            let what = format!(
                "AWS Config rule {} finds the certificate for {name} compliant again; earlier alerts are resolved.",
                change.rule
            );
            let mut m = body(e, facts, what);
            "Nothing.".clone_into(&mut m.todo);
            let n = Notification::new(
                Severity::Info,
                Kind::CertificateCompliant,
                &facts.arn,
                label,
                &format!("Certificate {name} compliant again"),
                &m,
            )
            .resolved();
            if was_noncompliant {
                Verdict::Notify(n, "became compliant")
            } else {
                Verdict::Suppress(n, "compliant, and was not non-compliant: nothing to resolve".into())
            }
        }
        Compliance::Other(other) => Verdict::Ignore(format!(
            "compliance {:?} calls for no notification",
            other.chars().take(32).collect::<String>()
        )),
    }
}
