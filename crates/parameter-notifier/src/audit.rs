//! The parameter-hygiene audit, read-only: over the audited path it flags values near or over
//! the Standard tier's 4 KB, near or over the Advanced tier's 8 KB, Advanced parameters that use
//! nothing Advanced offers (they cost money every month), expiring parameters without an
//! `ExpirationNotification`, secret-looking values stored as plain `String`, and the count
//! against the account's Standard quota. It never reads a SecureString's value: Parameter Store
//! returns those encrypted (no decryption asked, no KMS permission held), and only the length of
//! that encrypted form is used, as an upper bound of the value's size.
//!
//! Its findings are summed up in a digest, kept between runs in a parameter the stack owns, so
//! that the weekly notification goes out only when the findings change.

use std::fmt::Write as _;

use notification::notice::Message;
use notification::{Kind, Notification, Severity};
use sha2::{Digest as _, Sha256};

use crate::ports::{AuditedParameter, ParameterType, PolicyType};

/// The Standard tier's largest value, in bytes.
pub const STANDARD_LIMIT: usize = 4096;
/// The Advanced tier's largest value, in bytes.
pub const ADVANCED_LIMIT: usize = 8192;
/// A value at or above this share of its tier's limit (in percent) is "near" it.
const NEAR_PERCENT: usize = 90;
/// The account's Standard-parameter quota, per region.
pub const STANDARD_QUOTA: usize = 10_000;
/// The detail-type of the scheduled audit's constant input.
pub const AUDIT_DETAIL_TYPE: &str = "Parameter Hygiene Audit";
/// The source of the scheduled audit's constant input.
pub const AUDIT_SOURCE: &str = "aws-config-keeper";
/// What the state parameter holds when there is nothing to report.
pub const NO_FINDINGS: &str = "none";

/// What the audit found wrong with one parameter, or with the account.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Finding {
    /// A String value that looks like a secret (what it looks like, never the value).
    SecretAsString { name: String, looks_like: &'static str },
    /// A value over the Advanced tier's 8 KB (possible only where no limit is enforced).
    OverAdvanced { name: String, bytes: usize },
    /// A Standard value over 4 KB (possible only where no limit is enforced).
    OverStandard { name: String, bytes: usize },
    /// An Advanced value within 10% of 8 KB.
    NearAdvanced { name: String, bytes: usize },
    /// A Standard value within 10% of 4 KB: the next longer value needs the Advanced tier.
    NearStandard { name: String, bytes: usize },
    /// An Expiration policy without an `ExpirationNotification`: it will be deleted unannounced.
    ExpiresUnannounced { name: String },
    /// An Advanced parameter with no policy and a value that fits Standard.
    AdvancedUnused { name: String, at_most: usize },
    /// The account's Standard parameters near the quota.
    StandardQuota { count: usize },
}

impl Finding {
    #[must_use]
    pub fn severity(&self) -> Severity {
        match self {
            Self::SecretAsString { .. } | Self::OverAdvanced { .. } | Self::OverStandard { .. } => {
                Severity::High
            }
            Self::NearAdvanced { .. } | Self::NearStandard { .. } | Self::ExpiresUnannounced { .. } => {
                Severity::Warning
            }
            Self::StandardQuota { count } if *count >= STANDARD_QUOTA * 95 / 100 => Severity::High,
            Self::StandardQuota { .. } => Severity::Warning,
            Self::AdvancedUnused { .. } => Severity::Low,
        }
    }

    /// The finding as one line of the notification: what, about which parameter, what to do.
    #[must_use]
    pub fn line(&self) -> (String, String) {
        match self {
            Self::SecretAsString { name, looks_like } => (
                "Secret stored as String".into(),
                format!(
                    "{name} holds what looks like {looks_like}, readable by anyone allowed ssm:GetParameter*: put it again as a SecureString (aws ssm put-parameter --name {name} --type SecureString --overwrite ...) and rotate it"
                ),
            ),
            Self::OverAdvanced { name, bytes } => (
                "Over 8 KB".into(),
                format!(
                    "{name}: {bytes} bytes, over the Advanced tier's 8,192: Parameter Store refuses such a value; move it to S3 or Secrets Manager (64 KB)"
                ),
            ),
            Self::OverStandard { name, bytes } => (
                "Over 4 KB on Standard".into(),
                format!(
                    "{name}: {bytes} bytes, over the Standard tier's 4,096: the next put fails unless it says --tier Advanced"
                ),
            ),
            Self::NearAdvanced { name, bytes } => (
                "Near 8 KB".into(),
                format!(
                    "{name}: {bytes} of 8,192 bytes (Advanced's limit): a slightly longer value will be refused"
                ),
            ),
            Self::NearStandard { name, bytes } => (
                "Near 4 KB".into(),
                format!(
                    "{name}: {bytes} of 4,096 bytes (Standard's limit): a longer value needs --tier Advanced, which is paid"
                ),
            ),
            Self::ExpiresUnannounced { name } => (
                "Expires unannounced".into(),
                format!(
                    "{name} has an Expiration policy but no ExpirationNotification: add one (Before, in days) so that its deletion is announced"
                ),
            ),
            Self::AdvancedUnused { name, at_most } => (
                "Advanced for nothing".into(),
                format!(
                    "{name}: Advanced tier with no policy and a value of at most {at_most} bytes (fits Standard): it costs money every month; unless it is shared with other accounts, delete it and put it again as Standard (a parameter cannot go back to Standard in place)"
                ),
            ),
            Self::StandardQuota { count } => (
                "Standard quota".into(),
                format!(
                    "{count} of the account's {STANDARD_QUOTA} Standard parameters in this region are used: delete unused ones, or use the Advanced tier for new ones"
                ),
            ),
        }
    }
}

/// What a String value looks like when it looks like a secret; `None` otherwise. The value is
/// never part of the answer.
#[must_use]
pub fn secret_like(name: &str, value: &str) -> Option<&'static str> {
    if value.contains("-----BEGIN") && value.contains("PRIVATE KEY") {
        return Some("a private key");
    }
    let bytes = value.as_bytes();
    let key_id = bytes.windows(20).any(|w| {
        (w.starts_with(b"AKIA") || w.starts_with(b"ASIA"))
            && w[4..].iter().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    });
    if key_id {
        return Some("an AWS access key id");
    }
    if let Some(rest) = value.split_once("://").map(|(_, rest)| rest)
        && let Some((credentials, _)) = rest.split_once('@')
        && !credentials.contains('/')
        && credentials.split_once(':').is_some_and(|(_, password)| !password.is_empty())
    {
        return Some("a URL with a password");
    }
    let jwt = value.starts_with("eyJ")
        && value.split('.').count() == 3
        && value.split('.').all(|part| part.len() >= 4);
    if jwt {
        return Some("a JSON Web Token");
    }
    let leaf = name.rsplit('/').next().unwrap_or(name).to_ascii_lowercase();
    let named = [
        "password",
        "passwd",
        "secret",
        "token",
        "api-key",
        "apikey",
        "api_key",
        "private-key",
        "credential",
    ]
    .iter()
    .any(|word| leaf.contains(word));
    (named && !value.trim().is_empty()).then_some("a secret (its name says so)")
}

/// The findings about `parameters` and the account's Standard count, sorted and without repeats.
#[must_use]
pub fn findings(parameters: &[AuditedParameter], standard_count: usize) -> Vec<Finding> {
    let mut out = Vec::new();
    let near = |limit: usize| limit * NEAR_PERCENT / 100;
    for p in parameters {
        let name = p.name.clone();
        let advanced = p.tier.as_deref() == Some("Advanced");
        let secure = p.parameter_type == Some(ParameterType::SecureString);
        if let (false, Some(value)) = (secure, &p.value)
            && let Some(looks_like) = secret_like(&p.name, value.expose())
        {
            out.push(Finding::SecretAsString { name: name.clone(), looks_like });
        }
        // A String's size is exact; a SecureString's encrypted form only bounds it from above,
        // so it proves "fits Standard" but never "near" or "over" a limit.
        if !secure {
            let bytes = p.stored_len;
            if bytes > ADVANCED_LIMIT {
                out.push(Finding::OverAdvanced { name: name.clone(), bytes });
            } else if advanced && bytes >= near(ADVANCED_LIMIT) {
                out.push(Finding::NearAdvanced { name: name.clone(), bytes });
            } else if !advanced && bytes > STANDARD_LIMIT {
                out.push(Finding::OverStandard { name: name.clone(), bytes });
            } else if !advanced && bytes >= near(STANDARD_LIMIT) {
                out.push(Finding::NearStandard { name: name.clone(), bytes });
            }
        }
        let has = |t: &PolicyType| p.policies.contains(t);
        if has(&PolicyType::Expiration) && !has(&PolicyType::ExpirationNotification) {
            out.push(Finding::ExpiresUnannounced { name: name.clone() });
        }
        if advanced && p.policies.is_empty() && p.stored_len <= STANDARD_LIMIT {
            out.push(Finding::AdvancedUnused { name, at_most: p.stored_len });
        }
    }
    if standard_count >= STANDARD_QUOTA * 80 / 100 {
        out.push(Finding::StandardQuota { count: standard_count });
    }
    out.sort();
    out.dedup();
    out
}

/// The findings' digest (SHA-256, hex), or [`NO_FINDINGS`]: what the state parameter keeps.
/// The count of parameters is not in it, only the findings (the quota finding moves by band),
/// so that an added parameter alone is not news.
#[must_use]
pub fn digest(findings: &[Finding]) -> String {
    if findings.is_empty() {
        return NO_FINDINGS.to_owned();
    }
    let mut hasher = Sha256::new();
    for f in findings {
        let canonical = match f {
            // By band of 5%, so that one parameter more or less is not a change.
            Finding::StandardQuota { count } => format!("quota:{}", count / (STANDARD_QUOTA / 20)),
            other => format!("{other:?}"),
        };
        hasher.update(canonical.as_bytes());
        hasher.update([0]);
    }
    hasher.finalize().iter().fold(String::with_capacity(64), |mut hex, b| {
        let _ = write!(hex, "{b:02x}");
        hex
    })
}

/// The notification of an audit: every finding, the counts, and what to do.
#[must_use]
pub fn notice(
    path: &str,
    found: &[Finding],
    audited: usize,
    standard: (usize, bool),
    digest: &str,
    unchecked: Vec<String>,
) -> Notification {
    let severity = found.iter().map(Finding::severity).max().unwrap_or(Severity::Info);
    let (count, complete) = standard;
    let what = if found.is_empty() {
        format!(
            "The parameter-hygiene audit of {path} finds nothing any more; earlier findings are resolved."
        )
    } else {
        format!("The parameter-hygiene audit of {path} finds {} thing(s) to fix.", found.len())
    };
    let mut body = Message { what, resource: path.to_owned(), unchecked, ..Message::default() };
    body.facts.push(("Parameters audited".into(), audited.to_string()));
    body.facts.push((
        "Standard parameters in the account and region".into(),
        format!("{}{count} of {STANDARD_QUOTA}", if complete { "" } else { "at least " }),
    ));
    body.facts.extend(found.iter().map(Finding::line));
    body.todo = if found.is_empty() {
        "Nothing.".into()
    } else {
        "Fix each finding as its line says. The audit runs weekly and notifies again only when its findings change."
            .into()
    };
    let id = format!("parameter-audit-{}", &digest[..digest.len().min(16)]);
    let headline = if found.is_empty() {
        format!("Parameter audit of {path}: no findings")
    } else {
        format!("Parameter audit of {path}: {} finding(s)", found.len())
    };
    let n =
        Notification::new(severity, Kind::ParameterAudit, path, (&id, AUDIT_DETAIL_TYPE), &headline, &body);
    if found.is_empty() { n.resolved() } else { n }
}

#[cfg(test)]
mod tests {
    use common::SecretString;

    use super::*;

    fn p(
        name: &str,
        kind: ParameterType,
        tier: &str,
        value: &str,
        policies: &[PolicyType],
    ) -> AuditedParameter {
        let secure = kind == ParameterType::SecureString;
        AuditedParameter {
            name: name.into(),
            parameter_type: Some(kind),
            tier: Some(tier.into()),
            policies: policies.to_vec(),
            stored_len: value.len(),
            value: (!secure).then(|| SecretString::new(value)),
        }
    }

    #[test]
    fn each_kind_of_finding_and_nothing_else() {
        use ParameterType::{SecureString, String as Plain};
        let params = [
            p("/a/dev/ok", Plain, "Standard", "postgres://db:5432/app", &[]),
            p("/a/dev/db-url", Plain, "Standard", "postgres://app:hunter2@db:5432/app", &[]),
            p("/a/dev/big", Plain, "Standard", &"x".repeat(3800), &[]),
            p("/a/dev/bigger", Plain, "Advanced", &"x".repeat(7900), &[]),
            p("/a/dev/huge", Plain, "Advanced", &"x".repeat(9000), &[]),
            p("/a/dev/idle", Plain, "Advanced", "small", &[]),
            p("/a/dev/idle-secure", SecureString, "Advanced", &"e".repeat(300), &[]),
            p("/a/dev/secure-large", SecureString, "Advanced", &"e".repeat(6000), &[]),
            p("/a/dev/expiring", SecureString, "Advanced", "e", &[PolicyType::Expiration]),
            p(
                "/a/dev/announced",
                SecureString,
                "Advanced",
                "e",
                &[PolicyType::Expiration, PolicyType::ExpirationNotification],
            ),
            p("/a/dev/api-token", Plain, "Standard", "abc123", &[]),
            p("/a/dev/secure-token", SecureString, "Standard", &"e".repeat(4000), &[]),
        ];
        let found = findings(&params, 100);
        let names: Vec<(String, String)> = found
            .iter()
            .map(|f| {
                let (label, text) = f.line();
                (label, text.split(' ').next().unwrap_or_default().trim_end_matches(':').to_owned())
            })
            .collect();
        let expected = [
            ("Secret stored as String", "/a/dev/db-url"),
            ("Secret stored as String", "/a/dev/api-token"),
            ("Over 8 KB", "/a/dev/huge"),
            ("Near 8 KB", "/a/dev/bigger"),
            ("Near 4 KB", "/a/dev/big"),
            ("Expires unannounced", "/a/dev/expiring"),
            ("Advanced for nothing", "/a/dev/idle"),
            ("Advanced for nothing", "/a/dev/idle-secure"),
        ];
        assert_eq!(names.len(), expected.len(), "{names:?}");
        for (label, name) in expected {
            assert!(names.iter().any(|(l, n)| l == label && *n == name), "{label} {name}: {names:?}");
        }
        let text: String = found.iter().map(|f| f.line().1).collect();
        assert!(!text.contains("hunter2") && !text.contains("abc123"), "values never appear: {text}");
        assert!(findings(&params, 7999).len() == found.len());
        assert_eq!(findings(&params, 9600).last().map(Finding::severity), Some(Severity::High));
    }

    #[test]
    fn secret_looking_values() {
        for (name, value, like) in [
            ("/a/x", "-----BEGIN RSA PRIVATE KEY-----\nMIIE...", Some("a private key")),
            ("/a/x", "id=AKIAIOSFODNN7EXAMPLE", Some("an AWS access key id")),
            ("/a/x", "https://user:pw@host/x", Some("a URL with a password")),
            ("/a/x", "https://host/a@b", None),
            ("/a/x", "https://user@host", None),
            ("/a/x", "eyJhbGciOi.eyJzdWIiOi.c2lnbmF0dXJl", Some("a JSON Web Token")),
            ("/a/db-password", "x", Some("a secret (its name says so)")),
            ("/a/db-password", " ", None),
            ("/a/feature-flags", "a,b", None),
        ] {
            assert_eq!(secret_like(name, value), like, "{name} {value}");
        }
    }

    #[test]
    fn the_digest_follows_findings_not_counts() {
        let a = vec![Finding::ExpiresUnannounced { name: "/a/x".into() }];
        assert_eq!(digest(&[]), NO_FINDINGS);
        assert_eq!(digest(&a).len(), 64);
        assert_ne!(digest(&a), digest(&[Finding::ExpiresUnannounced { name: "/a/y".into() }]));
        assert_eq!(
            digest(&[Finding::StandardQuota { count: 8001 }]),
            digest(&[Finding::StandardQuota { count: 8090 }]),
            "one parameter more is not news"
        );
        assert_ne!(
            digest(&[Finding::StandardQuota { count: 8001 }]),
            digest(&[Finding::StandardQuota { count: 9600 }])
        );
    }
}
