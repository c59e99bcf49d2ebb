//! The rotation function's doctor, as this function reads its answer: a report of findings, or
//! the reason there is none. The report's shape is the doctor's: `{"secret": "<ARN>", "ok": <bool>,
//! "findings": [{"check", "status": "pass" | "warn" | "fail", "detail", "fix"}]}`; unknown fields
//! are ignored. Check names are the doctor's vocabulary and pass through unchanged.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::model::{Health, Unreachable};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Warn,
    Fail,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub check: String,
    pub status: Status,
    #[serde(default)]
    pub detail: String,
    #[serde(default)]
    pub fix: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub secret: String,
    pub ok: bool,
    #[serde(default)]
    pub findings: Vec<Finding>,
}

impl Report {
    /// The findings that did not pass.
    pub fn problems(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.status != Status::Pass)
    }
}

/// Why there is no report, as the adapter saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoReport {
    pub cause: Unreachable,
    /// What happened, from Lambda's or the function's error (never a payload it did not expect).
    pub detail: String,
}

/// What asking the doctor gave.
pub type Outcome = Result<Report, NoReport>;

/// The health a doctor's answer shows: healthy when every finding passes (and the report says
/// ok), else the failing and warning checks; no report is an unreachable doctor.
#[must_use]
pub fn health(outcome: &Outcome) -> Health {
    match outcome {
        Err(no) => Health::DoctorUnreachable { cause: no.cause.clone(), detail: no.detail.clone() },
        Ok(report) => {
            let pick = |status| -> BTreeSet<String> {
                report.findings.iter().filter(|f| f.status == status).map(|f| f.check.clone()).collect()
            };
            let (mut failing, warning) = (pick(Status::Fail), pick(Status::Warn));
            if !report.ok && failing.is_empty() {
                // A report that says not ok must never read as healthy.
                failing.insert("report".to_owned());
            }
            if failing.is_empty() && warning.is_empty() {
                Health::Healthy
            } else {
                Health::Unhealthy { failing, warning }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[allow(clippy::needless_pass_by_value)]
    fn report(findings: serde_json::Value, ok: bool) -> Report {
        serde_json::from_value(json!({"secret": "arn:x", "ok": ok, "findings": findings, "extra": 1}))
            .unwrap()
    }

    #[test]
    fn failing_and_warning_checks_make_the_state() {
        let all_pass = report(json!([{"check": "dns", "status": "pass", "detail": "", "fix": ""}]), true);
        assert_eq!(health(&Ok(all_pass)), Health::Healthy);
        let r = report(
            json!([
                {"check": "dns", "status": "fail", "detail": "no such host", "fix": "fix DNS"},
                {"check": "rotation-schedule", "status": "warn", "detail": "overdue"},
                {"check": "tls", "status": "pass"}
            ]),
            false,
        );
        assert_eq!(r.problems().count(), 2);
        assert_eq!(
            health(&Ok(r)),
            Health::Unhealthy {
                failing: ["dns".into()].into(),
                warning: ["rotation-schedule".into()].into()
            }
        );
        // ok=false without a failing finding is still not healthy
        assert!(matches!(health(&Ok(report(json!([]), false))), Health::Unhealthy { .. }));
    }

    #[test]
    fn an_unknown_status_is_not_a_report() {
        let bad = serde_json::from_value::<Report>(
            json!({"secret": "a", "ok": true, "findings": [{"check": "x", "status": "maybe"}]}),
        );
        assert!(bad.is_err());
    }
}
