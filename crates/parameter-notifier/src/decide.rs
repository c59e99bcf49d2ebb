//! From an event and what Parameter Store says now, the notification a person acts on.

use notification::notice::Message;
use notification::text;
use notification::timefmt::{self, DAY};
use notification::{Envelope, Kind, Notification, Severity, lookup_failure};

use crate::event::{
    Change, ChangeOperation, ParameterType, PolicyAction, PolicyType, policy_duration, policy_timestamp,
};
use crate::ports::ParameterInfo;

/// An `ExpirationNotification` this close to the expiry is high severity.
const URGENT_SECS: i64 = 3 * DAY;

/// The result of the `DescribeParameters` look-up.
pub type Lookup = notification::Found<ParameterInfo>;

/// The console page of a parameter, only for a region that is a region code (the event's
/// `region` is not trusted into a link) and a name of Parameter Store's characters.
fn console(e: &Envelope, name: &str) -> Option<String> {
    let region = e.region()?;
    crate::event::is_parameter_name(name).then(|| {
        format!(
            "https://{region}.{}/systems-manager/parameters/{}/description?region={region}&tab=Table",
            text::console_host(region),
            name.trim_start_matches('/')
        )
    })
}

/// Beyond this many days, a time is "far in the future" (or past): a policy value no person
/// meant.
const FAR_DAYS: i64 = 36_500;

/// Time left, counting a part of a day as a day, as people read an expiry date.
fn days_left(secs: i64) -> String {
    match timefmt::days_until(0, secs) {
        ..=0 => "less than a day".to_owned(),
        1 => "1 day".to_owned(),
        d if d > FAR_DAYS => "more than 100 years (far in the future)".to_owned(),
        d => format!("{d} days"),
    }
}

/// Time passed, in whole days.
fn in_days(secs: i64) -> String {
    let days = secs.div_euclid(DAY);
    match days {
        ..=0 => "less than a day".to_owned(),
        1 => "1 day".to_owned(),
        d if d > FAR_DAYS => "more than 100 years".to_owned(),
        d => format!("{d} days"),
    }
}

/// Adds what the look-up told (or could not tell) to `body`; returns the metadata if any.
fn enrich<'a>(body: &mut Message, lookup: &'a Lookup, gone_expected: bool) -> Option<&'a ParameterInfo> {
    match lookup {
        Ok(Some(info)) => {
            if let Some(tier) = &info.tier {
                body.facts.push(("Tier".into(), tier.clone()));
            }
            if let Some(version) = info.version {
                body.facts.push(("Version".into(), version.to_string()));
            }
            if let Some(at) = info.last_modified {
                let by = info.last_modified_user.as_deref().map(|u| format!(" by {u}")).unwrap_or_default();
                body.facts.push(("Last modified".into(), format!("{}{by}", timefmt::format(at))));
            }
            for p in &info.policies {
                body.facts.push((
                    format!("Policy {}", p.policy_type.as_str()),
                    format!("{} ({})", p.text, p.status),
                ));
            }
            Some(info)
        }
        Ok(None) if gone_expected => None,
        Ok(None) => {
            body.unchecked
                .push("the parameter was not found by DescribeParameters (deleted since the event?)".into());
            None
        }
        Err(e) => {
            body.unchecked.push(format!(
                "the parameter's tier, policies and last change (DescribeParameters {})",
                lookup_failure(e)
            ));
            None
        }
    }
}

/// The notification for a policy action; `None` for a policy type this function does not know
/// (the event reading already leaves those out).
#[must_use]
#[allow(clippy::too_many_lines)] // one arm per policy type, each with its notification's text
pub fn policy_notice(e: &Envelope, action: &PolicyAction, lookup: &Lookup, now: i64) -> Option<Notification> {
    let name = action.name.as_str();
    let mut body = Message { resource: name.to_owned(), console: console(e, name), ..Message::default() };
    if !e.time.is_empty() {
        body.when.push(format!("event at {}", e.time));
    }
    if let Some(t) = &action.parameter_type {
        body.facts.push(("Type".into(), t.as_str().to_owned()));
    }
    if let Some(reason) = &action.action_reason {
        body.facts.push(("Parameter Store says".into(), reason.clone()));
    }
    let gone = action.policy_type == PolicyType::Expiration;
    let info = enrich(&mut body, lookup, gone);
    let secure = action.parameter_type.as_ref().or(info.and_then(|i| i.parameter_type.as_ref()))
        == Some(&ParameterType::SecureString);
    let expires_at = info
        .and_then(|i| {
            i.policies
                .iter()
                .filter(|p| p.policy_type == PolicyType::Expiration)
                .find_map(|p| serde_json::from_str(&p.text).ok().as_ref().and_then(policy_timestamp))
        })
        .or_else(|| action.policy.as_ref().filter(|_| gone).and_then(policy_timestamp));
    let (severity, kind, headline) = match action.policy_type {
        PolicyType::Expiration => {
            body.what = format!(
                "Parameter {name} has expired: its Expiration policy deleted it, with all its versions."
            );
            if let Some(at) = expires_at {
                body.when.push(format!("expired at {}", timefmt::format(at)));
            }
            match info.and_then(|i| i.version) {
                Some(v) => {
                    body.facts.push(("Versions".into(), format!("1 to {v} (still listed when this ran)")));
                }
                None => body.facts.push((
                    "Versions".into(),
                    "gone with the parameter; Parameter Store keeps no copy".into(),
                )),
            }
            body.todo = format!(
                "Applications reading {name} now fail. If it is still needed, create it again with a new value \
                 (aws ssm put-parameter --name {name} --type {} --tier Advanced ...) and a new Expiration policy; \
                 if not, remove it from the applications' configuration.",
                action.parameter_type.as_ref().unwrap_or(&ParameterType::SecureString).as_str()
            );
            (Severity::High, Kind::ParameterExpired, format!("Parameter {name} expired and was deleted"))
        }
        PolicyType::ExpirationNotification => {
            let before = action.policy.as_ref().and_then(|p| policy_duration(p, "Before"));
            let (left, exact) = match (expires_at, before) {
                (Some(at), _) => (Some(at.saturating_sub(now)), true),
                (None, Some(b)) => (Some(b), false),
                (None, None) => (None, false),
            };
            let when = match (left, exact) {
                (Some(s), true) => {
                    format!("in {} ({})", days_left(s), timefmt::format(timefmt::shift(now, s)))
                }
                (Some(s), false) => format!("in about {}", days_left(s)),
                (None, _) => "soon".to_owned(),
            };
            body.what =
                format!("Parameter {name} expires {when}: its Expiration policy will then delete it.");
            if let Some(at) = expires_at {
                body.when.push(format!("expires at {}", timefmt::format(at)));
            }
            body.todo = format!(
                "Put a new value before it expires, with a later Expiration (aws ssm put-parameter --name {name} \
                 --overwrite --value ... --policies \
                 '[{{\"Type\":\"Expiration\",\"Version\":\"1.0\",\"Attributes\":{{\"Timestamp\":\"<new \
                 time>\"}}}}]'); or, if the value stays valid, extend the Expiration policy the same way."
            );
            let severity =
                if left.is_some_and(|s| s <= URGENT_SECS) { Severity::High } else { Severity::Warning };
            (severity, Kind::ParameterExpiring, format!("Parameter {name} expires {when}"))
        }
        PolicyType::NoChangeNotification => {
            let after = action.policy.as_ref().and_then(|p| policy_duration(p, "After"));
            let unchanged = info.and_then(|i| i.last_modified).map(|at| now.saturating_sub(at));
            let how_long = match (unchanged, after) {
                (Some(s), _) => in_days(s),
                (None, Some(a)) => format!("at least {}", in_days(a)),
                (None, None) => "longer than its policy allows".to_owned(),
            };
            body.what = format!("Parameter {name} has not changed for {how_long}.");
            body.todo = if secure {
                format!(
                    "If it holds a credential, rotate it and put the new value (aws ssm put-parameter --name {name} \
                     --overwrite ...). If it is meant to stay unchanged, raise the NoChangeNotification policy's \
                     After."
                )
            } else {
                format!(
                    "Check that {name} is still current; update it, or raise the NoChangeNotification policy's After if it is meant to stay unchanged."
                )
            };
            let severity = if secure { Severity::Warning } else { Severity::Low };
            (severity, Kind::ParameterUnchanged, format!("Parameter {name} unchanged for {how_long}"))
        }
        PolicyType::Other(_) => return None,
    };
    Some(Notification::new(severity, kind, name, (&e.id, &e.detail_type), &headline, &body))
}

/// The notification for a change to a secure parameter, for the audit trail; `None` for other
/// parameter types.
#[must_use]
pub fn change_notice(e: &Envelope, change: &Change, lookup: &Lookup) -> Option<Notification> {
    let name = change.name.as_str();
    let deleted = change.operation == ChangeOperation::Delete;
    let mut body = Message {
        resource: name.to_owned(),
        console: (!deleted).then(|| console(e, name)).flatten(),
        ..Message::default()
    };
    let info = if deleted { None } else { enrich(&mut body, lookup, false) };
    let parameter_type = change.parameter_type.as_ref().or(info.and_then(|i| i.parameter_type.as_ref()));
    if parameter_type != Some(&ParameterType::SecureString) {
        return None;
    }
    if !e.time.is_empty() {
        body.when.push(format!("at {}", e.time));
    }
    if let Some(d) = &change.description {
        body.facts.push(("Description".into(), d.clone()));
    }
    let (severity, verb, todo) = match change.operation {
        ChangeOperation::Create => (
            Severity::Info,
            "was created",
            "Nothing, if this was expected. Check who made it in CloudTrail (PutParameter) if not.",
        ),
        ChangeOperation::Update => (
            Severity::Info,
            "was updated",
            "Nothing, if this was expected (a rotation, a deployment). Check CloudTrail (PutParameter) if not.",
        ),
        ChangeOperation::Delete => (
            Severity::Warning,
            "was deleted",
            "Applications reading it now fail. If this was not intended, create it again (aws ssm put-parameter --type SecureString ...); CloudTrail (DeleteParameter) shows who deleted it.",
        ),
        ChangeOperation::LabelParameterVersion => (
            Severity::Info,
            "had a version labelled",
            "Nothing, if this was expected. Applications that read it by label now get the labelled version.",
        ),
        ChangeOperation::Other(_) => (Severity::Info, "changed", "Check CloudTrail for the change."),
    };
    body.what = format!("Secure parameter {name} {verb} ({}).", change.operation.as_str());
    todo.clone_into(&mut body.todo);
    let kind = if deleted { Kind::SecureParameterDeleted } else { Kind::SecureParameterChanged };
    Some(Notification::new(
        severity,
        kind,
        name,
        (&e.id, &e.detail_type),
        &format!("Secure parameter {name} {verb}"),
        &body,
    ))
}
