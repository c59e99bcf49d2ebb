//! The daily sweep: the doctor's report on each watched secret turned into a [`Health`],
//! compared with what the last sweep stored, and notified only when it changed.
//!
//! A secret whose state could not be read or whose notification could not be sent keeps its
//! stored state, so the next sweep (or EventBridge's retry of this one) tries again; the sweep
//! goes on with the other secrets and fails at the end with the first error.

use common::invocation::note;
use notification::{Notifier, RecentIds, notice};
use serde::Serialize;

use crate::config::Config;
use crate::error::Error;
use crate::model::{Health, SecretRef};
use crate::ports::{Doctor, SecretList, StateStore};
use crate::{FUNCTION, decide, doctor};

/// What the sweep did with one secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Done {
    /// First sweep of a healthy secret: recorded, nothing to say.
    Recorded,
    /// The same state as the last sweep.
    Unchanged,
    /// The state changed and the change was notified.
    Notified { message_id: String },
    /// Nothing could be decided or kept (the error type says why).
    Failed { error_type: &'static str },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecretResult {
    pub secret: String,
    #[serde(flatten)]
    pub health: Health,
    pub done: Done,
}

/// The sweep's answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SweepReport {
    pub action: &'static str,
    pub secrets: Vec<SecretResult>,
    pub notified: usize,
}

impl common::invocation::Reported for SweepReport {
    fn outcome(&self) -> &'static str {
        "swept"
    }
}

/// The secrets to sweep: the configured ones, then the list's, each once.
async fn watched<L: SecretList>(config: &Config, list: &L, errors: &mut Vec<Error>) -> Vec<SecretRef> {
    let mut secrets = config.secrets.clone();
    if let Some(name) = &config.secrets_parameter {
        match list.secrets(name).await {
            Ok(Some(more)) => secrets.extend(more.iter().map(|s| SecretRef::new(s))),
            Ok(None) => {
                tracing::warn!(parameter = %name, "the list of secrets to sweep does not exist: sweeping the stack's secrets only");
            }
            Err(err) => {
                tracing::error!(parameter = %name, error = %err, "the list of secrets to sweep could not be read");
                errors.push(Error::SecretList(err));
            }
        }
    }
    let mut unique: Vec<SecretRef> = Vec::new();
    for s in secrets {
        if !s.name.is_empty() && !unique.iter().any(|u| u.same(&s)) {
            unique.push(s);
        }
    }
    unique
}

/// Sweeps every watched secret at `now` (Unix seconds).
///
/// # Errors
/// The first failure, after every secret was swept: [`Error::State`] when a state could not be
/// read or written, [`Error::SecretList`], or a failed publish ([`Error::Notify`]).
pub async fn sweep<D, S, L, N>(
    (doctor, store, list, notifier): (&D, &S, &L, &N),
    recent: &RecentIds,
    config: &Config,
    now: i64,
) -> Result<SweepReport, Error>
where
    D: Doctor + Sync,
    S: StateStore + Sync,
    L: SecretList + Sync,
    N: Notifier + Sync,
{
    let mut errors = Vec::new();
    let mut report = SweepReport { action: "sweep", ..SweepReport::default() };
    for secret in watched(config, list, &mut errors).await {
        let outcome = doctor.examine(&secret.id).await;
        let health = doctor::health(&outcome);
        let slot = config.sweep_state(&secret);
        let result = |done| SecretResult { secret: secret.id.clone(), health: health.clone(), done };
        let before = match store.get(&slot).await {
            Ok(text) => text.and_then(|t| {
                serde_json::from_str::<Health>(&t)
                    .inspect_err(|_| tracing::warn!(state = %slot, "a stored state that does not read: taken as no state"))
                    .ok()
            }),
            Err(err) => {
                tracing::error!(state = %slot, error = %err, "the last state could not be read: this secret is not swept");
                let err = Error::State(err);
                report.secrets.push(result(Done::Failed { error_type: common::ErrorKind::error_type(&err) }));
                errors.push(err);
                continue;
            }
        };
        let event_id = format!("rotation-health-sweep-{}-{now}", secret.key());
        let done =
            match decide::sweep_notice(config, &secret, &outcome, &health, before.as_ref(), (&event_id, now))
            {
                None if before.as_ref().is_some_and(|b| b.same_state(&health)) => Done::Unchanged,
                None => Done::Recorded,
                Some(n) => match notice::deliver(notifier, recent, n, "the secret's rotation health changed")
                    .await
                {
                    Ok(decision) => {
                        decision.write_metric(FUNCTION);
                        report.notified += 1;
                        match decision.outcome {
                            notification::Outcome::Notified { message_id } => Done::Notified { message_id },
                            _ => Done::Unchanged,
                        }
                    }
                    Err(err) => {
                        let err = Error::Notify(err);
                        report
                            .secrets
                            .push(result(Done::Failed { error_type: common::ErrorKind::error_type(&err) }));
                        errors.push(err);
                        continue;
                    }
                },
            };
        if done != Done::Unchanged {
            let text = serde_json::to_string(&health).unwrap_or_default();
            if let Err(err) = store.put(&slot, &text).await {
                tracing::error!(state = %slot, error = %err, "the new state could not be stored: the next sweep notifies the change again");
                errors.push(Error::State(err));
            }
        }
        tracing::info!(secret = %secret.id, state = health.name(), done = ?done, "swept");
        report.secrets.push(result(done));
    }
    note("action", "sweep");
    note("secrets", report.secrets.len());
    note("notified", report.notified);
    if let Some(first) = errors.into_iter().next() {
        return Err(first);
    }
    Ok(report)
}
