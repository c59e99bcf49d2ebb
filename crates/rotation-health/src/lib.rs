//! Rotation health: notifies when a secret's rotation fails or never happens.
//!
//! Three inputs, one topic, the notifiers' conventions (severity, open/resolved status, message
//! attributes, metric line, repeats dropped):
//! - Secrets Manager's rotation events, as EventBridge delivers them from CloudTrail: a failed or
//!   abandoned rotation (or configuration test) opens an alert, kept in the state store; a later
//!   success resolves it.
//! - AWS Config's compliance changes of `secretsmanager-scheduled-rotation-success-check` and
//!   `secretsmanager-secret-periodic-rotation`.
//! - A daily sweep (`{"Action": "sweep"}` from a schedule) that asks the rotation function's doctor
//!   about each watched secret and notifies when a secret's state changed since the last sweep.
//!
//! Events of secrets this function does not watch (`SECRETS`, and the list in `SECRETS_PARAMETER`)
//! are ignored. `main.rs` wires [`Config`], the adapters in [`aws`] and the SNS notifier at cold
//! start; [`Handler::handle`] answers each invocation.

pub mod aws;
pub(crate) mod config;
pub(crate) mod decide;
pub mod doctor;
pub(crate) mod error;
pub(crate) mod event;
pub mod model;
pub mod ports;
pub mod sweep;

pub use config::Config;
pub use error::Error;

use common::aws::AwsError;
use common::invocation::note;
use lambda_runtime::LambdaEvent;
use notification::{
    Decision, Envelope, Found, HandlerError, Kind, Notifier, Outcome, Pipeline, Reading, RecentIds, Verdict,
};
use serde::Serialize;
use serde_json::Value;

use crate::event::HealthEvent;
use crate::model::{EventState, OpenAlert, SecretRef};
use crate::ports::{Doctor, SecretList, StateStore};
use crate::sweep::SweepReport;

pub const FUNCTION: &str = "rotation-health";

/// What the look-up says about an event's secret: whether this function watches it, and the
/// alert its rotation events left open.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    pub watched: bool,
    pub events: Option<EventState>,
}

/// Whether `secret` is one of the watched secrets (the configured ones, then the list's).
async fn is_watched<L: SecretList>(config: &Config, list: &L, secret: &SecretRef) -> Result<bool, AwsError> {
    if config.secrets.iter().any(|s| s.same(secret)) {
        return Ok(true);
    }
    let Some(name) = &config.secrets_parameter else { return Ok(false) };
    Ok(list.secrets(name).await?.unwrap_or_default().iter().any(|s| SecretRef::new(s).same(secret)))
}

/// What this function brings to the notifier pipeline: its events, the look-up of the watched
/// secrets and the open alert, and the rules in [`decide`].
#[derive(Debug)]
pub(crate) struct HealthRules<S, L> {
    store: S,
    list: L,
    config: Config,
}

fn secret_of(event: &HealthEvent) -> Option<&SecretRef> {
    match event {
        HealthEvent::Rotation(r) => Some(&r.secret),
        HealthEvent::Compliance(c) => Some(&c.secret),
        HealthEvent::Other(_) => None,
    }
}

impl<S: StateStore + Sync, L: SecretList + Sync> notification::Rules for HealthRules<S, L> {
    const FUNCTION: &'static str = FUNCTION;
    type Event = HealthEvent;
    type Facts = Facts;

    fn read(&self, e: &Envelope) -> Result<Reading<HealthEvent>, HandlerError> {
        Ok(match event::read(e, &self.config)? {
            HealthEvent::Other(reason) => Reading::Ignore(reason),
            event => Reading::Handle(event),
        })
    }

    async fn look_up(&self, event: &HealthEvent) -> Found<Facts> {
        let Some(secret) = secret_of(event) else { return Ok(None) };
        if !is_watched(&self.config, &self.list, secret).await? {
            return Ok(Some(Facts::default()));
        }
        let events = match event {
            HealthEvent::Rotation(_) => {
                let text = self.store.get(&self.config.event_state(secret)).await?;
                Some(text.and_then(|t| serde_json::from_str(&t).ok()).unwrap_or_default())
            }
            _ => None,
        };
        Ok(Some(Facts { watched: true, events }))
    }

    fn decide(
        &self,
        e: &Envelope,
        event: &HealthEvent,
        found: &Found<Facts>,
        _now: i64,
    ) -> Result<Verdict, HandlerError> {
        // A failed look-up leaves it unknown whether the secret is watched: notify rather than miss.
        if let Ok(Some(Facts { watched: false, .. }) | None) = found {
            return Ok(Verdict::Ignore(
                "not a secret this function watches (SECRETS, SECRETS_PARAMETER)".into(),
            ));
        }
        Ok(match event {
            HealthEvent::Rotation(r) => decide::rotation_verdict(e, r, found, &self.config),
            HealthEvent::Compliance(c) => decide::compliance_verdict(e, c, &self.config),
            HealthEvent::Other(reason) => Verdict::Ignore(reason.clone()),
        })
    }
}

/// The answer to an invocation: an event's decision, or the sweep's report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Response {
    Event(Decision),
    Sweep(SweepReport),
}

impl common::invocation::Reported for Response {
    fn outcome(&self) -> &'static str {
        match self {
            Self::Event(d) => d.name(),
            Self::Sweep(s) => s.outcome(),
        }
    }
}

/// The function, built once at cold start.
#[derive(Debug)]
pub struct Handler<D, S, L, N> {
    pipeline: Pipeline<HealthRules<S, L>, N>,
    doctor: D,
    store: S,
    list: L,
    notifier: N,
    recent: RecentIds,
    config: Config,
}

impl<D, S, L, N> Handler<D, S, L, N>
where
    D: Doctor + Sync,
    S: StateStore + Sync + Clone,
    L: SecretList + Sync + Clone,
    N: Notifier + Sync + Clone,
{
    pub fn new(doctor: D, store: S, list: L, notifier: N, config: Config) -> Self {
        let rules = HealthRules { store: store.clone(), list: list.clone(), config: config.clone() };
        Self {
            pipeline: Pipeline::new(rules, notifier.clone()),
            doctor,
            store,
            list,
            notifier,
            recent: RecentIds::default(),
            config,
        }
    }

    /// Answers `payload` at `now` (Unix seconds): `{"Action": "sweep"}` sweeps, anything else is
    /// an EventBridge event.
    ///
    /// # Errors
    /// See [`Error`]: an invalid request or event, a failed publish, a state that could not be kept.
    pub async fn handle(&self, payload: Value, now: i64) -> Result<Response, Error> {
        if let Some(action) = payload.get("Action") {
            return match action.as_str() {
                Some("sweep") => {
                    let ports = (&self.doctor, &self.store, &self.list, &self.notifier);
                    Ok(Response::Sweep(sweep::sweep(ports, &self.recent, &self.config, now).await?))
                }
                _ => Err(Error::InvalidRequest(format!(
                    "unknown Action {:?}: the one action is \"sweep\"",
                    action.to_string().chars().take(40).collect::<String>()
                ))),
            };
        }
        let decision = self.pipeline.handle(payload, now).await?;
        self.keep_alert(&decision).await;
        decision.report(FUNCTION);
        Ok(Response::Event(decision))
    }

    /// After a rotation event was notified: the alert it opened, or none once resolved. A failure
    /// to store it is logged, not fatal: the notification went out.
    async fn keep_alert(&self, decision: &Decision) {
        let (Outcome::Notified { .. }, Some(n)) = (&decision.outcome, &decision.notification) else { return };
        let state = match n.kind {
            Kind::RotationFailed | Kind::RotationAbandoned | Kind::RotationTestFailed => EventState {
                open: Some(OpenAlert {
                    kind: n.kind.as_str().to_owned(),
                    event_id: n.event_id.clone(),
                    time: String::new(),
                }),
            },
            Kind::RotationSucceeded | Kind::RotationTestSucceeded => EventState::default(),
            _ => return,
        };
        let slot = self.config.event_state(&SecretRef::new(&n.resource));
        let text = serde_json::to_string(&state).unwrap_or_default();
        if let Err(err) = self.store.put(&slot, &text).await {
            note("state_error", err.to_string());
            tracing::warn!(state = %slot, error = %err, "the alert's state could not be stored: a later success may not resolve it");
        }
    }
}

/// The Lambda handler.
///
/// # Errors
/// See [`Handler::handle`].
pub async fn handle<D, S, L, N>(
    handler: &Handler<D, S, L, N>,
    event: LambdaEvent<Value>,
) -> Result<Response, Error>
where
    D: Doctor + Sync,
    S: StateStore + Sync + Clone,
    L: SecretList + Sync + Clone,
    N: Notifier + Sync + Clone,
{
    handler.handle(event.payload, notification::timefmt::now()).await
}

#[cfg(test)]
mod tests;
