//! The one pipeline both notifiers run: event → facts → verdict → notification.
//!
//! A notifier implements [`Rules`]: how it reads its events, how it looks up the resource, and
//! what it decides. [`Pipeline`] does the rest the same way for both: the envelope, events that
//! are ignored, the look-up, a repeat of an event already published ([`RecentIds`]), the
//! publish, the decision's notes on the invocation's outcome line and the metric line
//! ([`Decision::report`]).

use std::future::Future;

use common::ConfigError;
use common::aws::AwsError;
use common::env::{self, Lookup};
use common::invocation::note;
use lambda_runtime::LambdaEvent;
use serde_json::Value;

use crate::{Decision, Envelope, HandlerError, Notification, Notifier, RecentIds, notice, timefmt};

/// The SNS topic notifications go to (`TOPIC_ARN`), the one setting both notifiers share.
///
/// # Errors
/// A [`ConfigError`] naming `TOPIC_ARN` when it is unset or not the ARN of an SNS topic.
pub fn topic_arn(lookup: &impl Lookup) -> Result<String, ConfigError> {
    let topic_arn = env::required(lookup, "TOPIC_ARN")?;
    if !topic_arn.starts_with("arn:") || !topic_arn.contains(":sns:") {
        return Err(ConfigError::new("TOPIC_ARN", "must be the ARN of an SNS topic"));
    }
    Ok(topic_arn)
}

/// What reading an event gives: an event to handle, or the reason it is not for this function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reading<E> {
    Handle(E),
    Ignore(String),
}

/// What an event calls for: a notification to send, one that repeats an earlier alert, or nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Notify(Notification, &'static str),
    Suppress(Notification, String),
    Ignore(String),
}

/// The result of looking up the resource: `Ok(None)` when it does not exist (any more).
pub type Found<F> = Result<Option<F>, AwsError>;

/// What a notifier brings to the pipeline: its events, its look-up and its rules.
pub trait Rules {
    /// The function, as the decision log line and the metric's `Function` dimension name it.
    const FUNCTION: &'static str;
    /// An event, as this notifier reads it.
    type Event: Sync;
    /// What the look-up says about the resource.
    type Facts: Sync;

    /// Reads the event from the envelope, or says why it is not for this function.
    ///
    /// # Errors
    /// [`HandlerError::InvalidEvent`] when an event of a kind it handles lacks what it needs.
    fn read(&self, envelope: &Envelope) -> Result<Reading<Self::Event>, HandlerError>;

    /// Looks up the resource the event is about (`Ok(None)` when it does not exist). A failure
    /// never stops a notification: [`Rules::decide`] notes what could not be checked.
    fn look_up(&self, event: &Self::Event) -> impl Future<Output = Found<Self::Facts>> + Send;

    /// What the event calls for, from the event, the look-up and the time `now` (Unix seconds):
    /// the event's own time ([`Envelope::instant`]) when it is plausible.
    ///
    /// # Errors
    /// [`HandlerError::InvalidEvent`] when the event and the look-up leave too little to decide.
    fn decide(
        &self,
        envelope: &Envelope,
        event: &Self::Event,
        found: &Found<Self::Facts>,
        now: i64,
    ) -> Result<Verdict, HandlerError>;
}

/// A notifier function: its [`Rules`], where notifications go, and the event ids it published.
#[derive(Debug)]
pub struct Pipeline<R, N> {
    rules: R,
    notifier: N,
    recent: RecentIds,
}

impl<R: Rules + Sync, N: Notifier + Sync> Pipeline<R, N> {
    pub fn new(rules: R, notifier: N) -> Self {
        Self { rules, notifier, recent: RecentIds::default() }
    }

    /// The rules, the notifier and the ids published: for a function's own invocations that are
    /// not events of the pipeline's kind (the parameter notifier's scheduled audit).
    pub fn parts(&self) -> (&R, &N, &RecentIds) {
        (&self.rules, &self.notifier, &self.recent)
    }

    /// Decides what `payload` calls for at `now` (Unix seconds) and publishes it.
    ///
    /// # Errors
    /// [`HandlerError::InvalidEvent`] for a malformed event, and [`HandlerError::Publish`] when
    /// SNS does not take the notification.
    pub async fn handle(&self, payload: Value, now: i64) -> Result<Decision, HandlerError> {
        let envelope = Envelope::parse(payload)?;
        note("event_id", envelope.id.as_str());
        let event = match self.rules.read(&envelope)? {
            Reading::Handle(event) => event,
            Reading::Ignore(reason) => return Ok(Decision::ignored(&envelope.id, reason)),
        };
        let found = self.rules.look_up(&event).await;
        if let Err(err) = &found {
            tracing::warn!(error = %err, "the look-up failed: deciding from the event alone");
        }
        // Judged as of the event's own time: a retry or a late delivery neither skips nor
        // repeats a day.
        match self.rules.decide(&envelope, &event, &found, envelope.instant(now))? {
            Verdict::Notify(n, reason) => notice::deliver(&self.notifier, &self.recent, n, reason).await,
            Verdict::Suppress(n, reason) => Ok(Decision::suppressed(n, reason)),
            Verdict::Ignore(reason) => Ok(Decision::ignored(&envelope.id, reason)),
        }
    }

    /// The Lambda handler: decides, notes the decision for the outcome line (and writes its
    /// metric line), and returns it.
    ///
    /// # Errors
    /// See [`Pipeline::handle`].
    pub async fn invoke(&self, event: LambdaEvent<Value>) -> Result<Decision, HandlerError> {
        let decision = self.handle(event.payload, timefmt::now()).await?;
        decision.report(R::FUNCTION);
        Ok(decision)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn the_topic_must_be_an_sns_arn() {
        let arn = "arn:aws:sns:us-east-1:123456789012:alerts";
        assert_eq!(topic_arn(&HashMap::from([("TOPIC_ARN", arn)])).unwrap(), arn);
        for bad in [
            HashMap::from([("TOPIC_ARN", "alerts")]),
            HashMap::from([("TOPIC_ARN", "arn:aws:sqs:us-east-1:1:q")]),
            HashMap::new(),
        ] {
            assert!(topic_arn(&bad).unwrap_err().to_string().contains("TOPIC_ARN"));
        }
    }
}
