//! What each event and each change of a sweep's state calls for, and the notification's text.
//!
//! Rotation events: a failure or an abandoned rotation opens an alert (kept in the state store),
//! a later success resolves it; a success with no alert open is suppressed (nothing for a person
//! to do, and one a month per secret would drown the rest). Config changes: non-compliant opens,
//! compliant after non-compliant resolves, repeats are suppressed. Sweeps: a change of state opens
//! (unhealthy, doctor unreachable) or resolves (healthy again); the first sweep of a healthy
//! secret only records it.

use notification::compliance;
use notification::notice::Message;
use notification::{Envelope, Kind, Notification, Severity, Verdict, lookup_failure};

use crate::Facts;
use crate::config::Config;
use crate::doctor::{Outcome, Status};
use crate::event::{ComplianceEvent, RotationEvent, RotationKind, RotationRule};
use crate::model::{EventState, Health, SecretRef};

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The secret's page in the Secrets Manager console.
#[must_use]
pub fn console(region: &str, secret: &SecretRef) -> Option<String> {
    (!region.is_empty()).then(|| {
        format!(
            "https://{region}.console.aws.amazon.com/secretsmanager/secret?name={}&region={region}",
            encode(&secret.name)
        )
    })
}

/// The command that runs the doctor on `secret`.
#[must_use]
pub fn doctor_command(config: &Config, secret: &SecretRef) -> String {
    format!(
        "aws lambda invoke --function-name {} --cli-binary-format raw-in-base64-out --payload '{{\"Action\":\"doctor\",\"SecretId\":\"{}\"}}' report.json",
        config.doctor_function, secret.id
    )
}

fn message(e: &Envelope, secret: &SecretRef, what: String, todo: String) -> Message {
    let mut m = Message {
        what,
        resource: secret.id.clone(),
        todo,
        console: console(&e.region, secret),
        ..Message::default()
    };
    if !e.time.is_empty() {
        m.when.push(format!("event at {}", e.time));
    }
    m.facts.push(("Secret".into(), secret.name.clone()));
    m
}

/// The open alert the state store holds, or what could not be checked.
fn open_alert(found: &Result<Option<Facts>, common::aws::AwsError>) -> (Option<String>, Option<String>) {
    match found {
        Ok(Some(facts)) => {
            (facts.events.as_ref().and_then(|s: &EventState| s.open.as_ref()).map(|o| o.kind.clone()), None)
        }
        Ok(None) => (None, None),
        Err(err) => {
            (None, Some(format!("whether an alert is open (Parameter Store {})", lookup_failure(err))))
        }
    }
}

/// The verdict for a rotation event of a watched secret.
#[must_use]
#[allow(clippy::too_many_lines)] // one arm per event kind, each with its text
pub fn rotation_verdict(
    e: &Envelope,
    event: &RotationEvent,
    found: &Result<Option<Facts>, common::aws::AwsError>,
    config: &Config,
) -> Verdict {
    let secret = &event.secret;
    let name = secret.name.as_str();
    let label = (e.id.as_str(), e.detail_type.as_str());
    let (open, unchecked) = open_alert(found);
    let doctor = doctor_command(config, secret);
    let notice = |severity, kind, headline: String, mut m: Message| {
        if let Some(err) = &event.error {
            m.facts.push(("Secrets Manager says".into(), err.clone()));
        }
        m.unchecked.extend(unchecked.clone());
        Notification::new(severity, kind, &secret.id, label, &headline, &m)
    };
    match event.kind {
        RotationKind::Failed => {
            let m = message(
                e,
                secret,
                format!(
                    "Secrets Manager could not rotate the secret {name}: AWSCURRENT still holds the old value, and the rotation is retried at the next schedule."
                ),
                format!(
                    "Find the failed step in the rotation function's log (make logs FN=secret-rotation, or the error_type of its outcome line), \
                     and run its doctor, which says what is wrong and how to fix it: {doctor}. Then rotate again: \
                     aws secretsmanager rotate-secret --secret-id {}",
                    secret.id
                ),
            );
            Verdict::Notify(
                notice(Severity::High, Kind::RotationFailed, format!("Rotation of {name} failed"), m),
                "the rotation failed",
            )
        }
        RotationKind::Abandoned => {
            let m = message(
                e,
                secret,
                format!(
                    "Secrets Manager abandoned a rotation of {name}: a new version was put while it ran, so AWSPENDING was removed and the new version is AWSCURRENT."
                ),
                format!(
                    "Check that the new version was put on purpose and that the database accepts it (the doctor logs in with it: {doctor}). \
                     If something keeps putting versions during rotations, stop it; the next scheduled rotation proceeds."
                ),
            );
            Verdict::Notify(
                notice(
                    Severity::Warning,
                    Kind::RotationAbandoned,
                    format!("Rotation of {name} was abandoned"),
                    m,
                ),
                "the rotation was abandoned",
            )
        }
        RotationKind::TestFailed => {
            let m = message(
                e,
                secret,
                format!(
                    "Secrets Manager tested the rotation configuration of {name} and the test failed: the scheduled rotation will fail the same way."
                ),
                format!("Run the doctor, which says what is wrong and how to fix it: {doctor}."),
            );
            Verdict::Notify(
                notice(
                    Severity::High,
                    Kind::RotationTestFailed,
                    format!("Rotation test of {name} failed"),
                    m,
                ),
                "the rotation test failed",
            )
        }
        RotationKind::Succeeded | RotationKind::TestSucceeded => {
            let test = event.kind == RotationKind::TestSucceeded;
            // A success resolves an alert of its own kind; a real rotation also proves a failed test wrong.
            let resolves = match open.as_deref() {
                Some("rotation-test-failed") => true,
                Some(_) => !test,
                None => unchecked.is_some(),
            };
            let (kind, what, headline) = if test {
                (
                    Kind::RotationTestSucceeded,
                    format!(
                        "The rotation configuration of {name} tested successfully; the earlier alert is resolved."
                    ),
                    format!("Rotation test of {name} succeeded"),
                )
            } else {
                (
                    Kind::RotationSucceeded,
                    format!("The secret {name} rotated successfully; the earlier alert is resolved."),
                    format!("Rotation of {name} succeeded"),
                )
            };
            let n = notice(Severity::Info, kind, headline, message(e, secret, what, "Nothing.".into()))
                .resolved();
            if resolves {
                Verdict::Notify(n, "the rotation succeeded after an alert")
            } else {
                Verdict::Suppress(n, "the rotation succeeded and no alert is open for the secret".into())
            }
        }
        RotationKind::Started | RotationKind::TestStarted => {
            Verdict::Ignore("a rotation starting calls for no notification".into())
        }
    }
}

/// The verdict for a compliance change of a watched secret with a rotation rule.
#[must_use]
pub fn compliance_verdict(e: &Envelope, event: &ComplianceEvent, config: &Config) -> Verdict {
    let secret = &event.secret;
    let name = secret.name.as_str();
    let rule = &event.change.rule;
    let label = (e.id.as_str(), e.detail_type.as_str());
    let noncompliant = || {
        let (severity, why, todo) = match event.rule {
            RotationRule::Scheduled => (
                Severity::High,
                "rotation is not enabled, or its last rotation did not succeed on schedule",
                format!(
                    "Enable rotation, or find why it fails: run the doctor ({}).",
                    doctor_command(config, secret)
                ),
            ),
            RotationRule::Periodic => (
                Severity::Warning,
                "it was not rotated within the rule's maxDaysSinceRotation",
                format!(
                    "Rotate it (aws secretsmanager rotate-secret --secret-id {}), and check that its schedule is shorter than the rule's limit.",
                    secret.id
                ),
            ),
        };
        let what = format!("AWS Config rule {rule} finds the secret {name} non-compliant: {why}.");
        let headline = format!("Secret {name} non-compliant: {rule}");
        Notification::new(
            severity,
            Kind::RotationNoncompliant,
            &secret.id,
            label,
            &headline,
            &message(e, secret, what, todo),
        )
    };
    let compliant = || {
        let what = format!(
            "AWS Config rule {rule} finds the secret {name} compliant again; the earlier alert is resolved."
        );
        let headline = format!("Secret {name} compliant again: {rule}");
        let m = message(e, secret, what, "Nothing.".into());
        Notification::new(Severity::Info, Kind::RotationCompliant, &secret.id, label, &headline, &m)
    };
    compliance::verdict(&event.change, noncompliant, compliant)
}

fn list(items: &std::collections::BTreeSet<String>) -> String {
    if items.is_empty() { "none".into() } else { items.iter().cloned().collect::<Vec<_>>().join(", ") }
}

/// The notification for a sweep that found `secret` in state `now` where the last sweep found
/// `before` (`None` on the first sweep); `None` when it calls for none (unchanged, or healthy
/// from the start).
#[must_use]
pub fn sweep_notice(
    config: &Config,
    secret: &SecretRef,
    outcome: &Outcome,
    now: &Health,
    before: Option<&Health>,
    (event_id, time): (&str, i64),
) -> Option<Notification> {
    if before.is_some_and(|b| b.same_state(now)) || (before.is_none() && *now == Health::Healthy) {
        return None;
    }
    let name = secret.name.as_str();
    let label = (event_id, "daily rotation-health sweep");
    let mut m = Message { resource: secret.id.clone(), ..Message::default() };
    m.when.push(format!("sweep at {}", notification::timefmt::format(time)));
    m.facts.push(("Secret".into(), name.to_owned()));
    m.facts.push(("Before".into(), before.map_or("not swept before", Health::name).to_owned()));
    let doctor = doctor_command(config, secret);
    Some(match now {
        Health::Healthy => {
            m.what =
                format!("The rotation doctor finds the secret {name} healthy again: every check passes.");
            "Nothing.".clone_into(&mut m.todo);
            Notification::new(
                Severity::Info,
                Kind::RotationHealthy,
                &secret.id,
                label,
                &format!("Rotation of {name} is healthy again"),
                &m,
            )
            .resolved()
        }
        Health::Unhealthy { failing, warning } => {
            m.what = format!(
                "The rotation doctor finds problems with the secret {name}: failing {}; warning {}. A rotation that never starts, is stuck or cannot log in shows up here.",
                list(failing),
                list(warning)
            );
            if let Some(Health::Unhealthy { failing: was_failing, warning: was_warning }) = before {
                let gone: std::collections::BTreeSet<_> = was_failing
                    .union(was_warning)
                    .filter(|c| !failing.contains(*c) && !warning.contains(*c))
                    .cloned()
                    .collect();
                m.facts.push(("No longer failing or warning".into(), list(&gone)));
            }
            let mut fixes = Vec::new();
            if let Ok(report) = outcome {
                for f in report.problems() {
                    let status = if f.status == Status::Fail { "fail" } else { "warn" };
                    m.facts.push((format!("{status} {}", f.check), f.detail.clone()));
                    if !f.fix.is_empty() {
                        fixes.push(format!("{}: {}", f.check, f.fix));
                    }
                }
            }
            fixes.push(format!("Run the doctor again to check: {doctor}"));
            m.todo = fixes.join(" | ");
            let severity = if failing.is_empty() { Severity::Warning } else { Severity::High };
            let what = if failing.is_empty() { "has warnings" } else { "is failing" };
            Notification::new(
                severity,
                Kind::RotationUnhealthy,
                &secret.id,
                label,
                &format!(
                    "Rotation of {name} {what}: {}",
                    list(if failing.is_empty() { warning } else { failing })
                ),
                &m,
            )
        }
        Health::DoctorUnreachable { cause, detail } => {
            m.what = format!(
                "The rotation doctor gave no report on the secret {name} ({}): {detail}",
                cause.as_str()
            );
            m.todo = match cause {
                crate::model::Unreachable::NotAllowed => format!(
                    "The rotation function's allow-list (ALLOWED_SECRETS) does not name this secret: add it there, or remove it from the watched list ({}).",
                    config.secrets_parameter.as_deref().unwrap_or("SECRETS")
                ),
                _ => format!(
                    "Check that the rotation function {} exists, answers (its log: make logs FN=secret-rotation) and may be invoked by this function; a time-out means it cannot reach Secrets Manager or the database. Then: {doctor}",
                    config.doctor_function
                ),
            };
            Notification::new(
                Severity::High,
                Kind::RotationDoctorUnreachable,
                &secret.id,
                label,
                &format!("Rotation doctor unreachable for {name}"),
                &m,
            )
        }
    })
}
