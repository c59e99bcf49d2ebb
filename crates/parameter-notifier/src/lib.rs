//! The parameter notifier: turns Parameter Store's EventBridge events (policy actions of
//! advanced-tier parameters, and changes to secure parameters) into SNS notifications that say
//! what happened, to which parameter, when, and what to do.
//!
//! `main.rs` wires [`Config`], [`aws::SsmDirectory`] and the SNS notifier at cold start;
//! [`Handler::handle`] decides for each event.

pub mod aws;
pub mod config;
pub mod decide;
pub mod event;
pub mod ports;

pub use config::Config;

use lambda_runtime::LambdaEvent;
use notification::{Decision, Envelope, HandlerError, Notifier, RecentIds, notice, timefmt};

use crate::event::ParameterEvent;
use crate::ports::ParameterDirectory;

pub const FUNCTION: &str = "parameter-notifier";

/// The function, built once at cold start.
#[derive(Debug)]
pub struct Handler<P, N> {
    parameters: P,
    notifier: N,
    config: Config,
    recent: RecentIds,
}

impl<P: ParameterDirectory + Sync, N: Notifier + Sync> Handler<P, N> {
    pub fn new(parameters: P, notifier: N, config: Config) -> Self {
        Self { parameters, notifier, config, recent: RecentIds::default() }
    }

    /// Decides what `payload` calls for at `now` (Unix seconds) and publishes it.
    ///
    /// # Errors
    /// [`HandlerError::InvalidEvent`] for a malformed Parameter Store event, and
    /// [`HandlerError::Publish`] when SNS does not take the notification.
    pub async fn handle(&self, payload: serde_json::Value, now: i64) -> Result<Decision, HandlerError> {
        let e = Envelope::parse(payload)?;
        let event = event::read(&e)?;
        let name = match &event {
            ParameterEvent::Policy(a) => a.name.as_str(),
            ParameterEvent::Change(c) => c.name.as_str(),
            ParameterEvent::Other(reason) => return Ok(Decision::ignored(&e.id, reason.clone())),
        };
        if !self.config.covers(name) {
            return Ok(Decision::ignored(&e.id, format!("{name} is outside /{}/", self.config.prefix.as_deref().unwrap_or_default())));
        }
        let lookup = match &event {
            ParameterEvent::Change(c) if c.operation == "Delete" => Ok(None),
            _ => self.parameters.describe(name).await,
        };
        if let Err(err) = &lookup {
            tracing::warn!(parameter = name, error = %err, "DescribeParameters failed: notifying from the event alone");
        }
        match &event {
            ParameterEvent::Policy(action) => {
                let n = decide::policy_notice(&e, action, &lookup, now);
                notice::deliver(&self.notifier, &self.recent, n, "parameter policy action").await
            }
            ParameterEvent::Change(change) => match decide::change_notice(&e, change, &lookup) {
                Some(n) => notice::deliver(&self.notifier, &self.recent, n, "change to a secure parameter").await,
                None => Ok(Decision::ignored(&e.id, format!("{} of {name}: the audit trail covers SecureString parameters only", change.operation))),
            },
            ParameterEvent::Other(reason) => Ok(Decision::ignored(&e.id, reason.clone())),
        }
    }
}

/// The Lambda handler: decides, logs the decision (and its metric), and returns it.
///
/// # Errors
/// See [`Handler::handle`]; the error is logged with its `errorType` first.
pub async fn handle<P, N>(handler: &Handler<P, N>, event: LambdaEvent<serde_json::Value>) -> Result<Decision, HandlerError>
where
    P: ParameterDirectory + Sync,
    N: Notifier + Sync,
{
    match handler.handle(event.payload, timefmt::now()).await {
        Ok(decision) => {
            decision.report(FUNCTION);
            Ok(decision)
        }
        Err(err) => {
            tracing::error!(function = FUNCTION, decision = "failed", error_type = common::ErrorKind::error_type(&err), error = %err, "decision");
            Err(err)
        }
    }
}
