//! The certificate notifier: turns ACM's certificate events and AWS Config's compliance changes
//! for `acm-certificate-expiration-check` into SNS notifications, with a severity from the days
//! left, the certificate's type (ACM never renews imported ones) and what uses it, and only when
//! a threshold is crossed or the state changes.
//!
//! `main.rs` wires [`Config`], [`aws::AcmDirectory`] and the SNS notifier at cold start;
//! [`Handler::handle`] decides for each event.

pub mod aws;
pub mod config;
pub mod decide;
pub mod event;
pub mod ports;

pub use config::Config;

use lambda_runtime::LambdaEvent;
use notification::{Decision, Envelope, HandlerError, Notifier, RecentIds, notice, timefmt};

use crate::decide::{Facts, Verdict};
use crate::event::CertificateEvent;
use crate::ports::CertificateDirectory;

pub const FUNCTION: &str = "certificate-notifier";

/// The function, built once at cold start.
#[derive(Debug)]
pub struct Handler<C, N> {
    certificates: C,
    notifier: N,
    config: Config,
    recent: RecentIds,
}

impl<C: CertificateDirectory + Sync, N: Notifier + Sync> Handler<C, N> {
    pub fn new(certificates: C, notifier: N, config: Config) -> Self {
        Self { certificates, notifier, config, recent: RecentIds::default() }
    }

    /// Decides what `payload` calls for at `now` (Unix seconds) and publishes it.
    ///
    /// # Errors
    /// [`HandlerError::InvalidEvent`] for a malformed certificate event, and
    /// [`HandlerError::Publish`] when SNS does not take the notification.
    pub async fn handle(&self, payload: serde_json::Value, now: i64) -> Result<Decision, HandlerError> {
        let e = Envelope::parse(payload)?;
        let event = event::read(&e, &self.config.config_rule)?;
        let arn = match &event {
            CertificateEvent::Acm(a) => a.arn.as_str(),
            CertificateEvent::Compliance(c) => c.arn.as_str(),
            CertificateEvent::Other(reason) => return Ok(Decision::ignored(&e.id, reason.clone())),
        };
        let lookup = self.certificates.describe(arn).await;
        if let Err(err) = &lookup {
            tracing::warn!(certificate_arn = arn, error = %err, "DescribeCertificate failed: deciding from the event alone");
        }
        let verdict = match &event {
            CertificateEvent::Acm(a) => {
                let facts = Facts::gather(arn, Some(a), &lookup, now);
                decide::acm_verdict(&e, a, &facts, &self.config).map_err(|reason| HandlerError::InvalidEvent(format!("{}: {reason}", e.detail_type)))?
            }
            CertificateEvent::Compliance(c) => decide::compliance_verdict(&e, c, &Facts::gather(arn, None, &lookup, now), &self.config),
            CertificateEvent::Other(reason) => Verdict::Ignore(reason.clone()),
        };
        match verdict {
            Verdict::Notify(n, reason) => notice::deliver(&self.notifier, &self.recent, n, reason).await,
            Verdict::Suppress(n, reason) => Ok(Decision::suppressed(n, reason)),
            Verdict::Ignore(reason) => Ok(Decision::ignored(&e.id, reason)),
        }
    }
}

/// The Lambda handler: decides, logs the decision (and its metric), and returns it.
///
/// # Errors
/// See [`Handler::handle`]; the error is logged with its `errorType` first.
pub async fn handle<C, N>(handler: &Handler<C, N>, event: LambdaEvent<serde_json::Value>) -> Result<Decision, HandlerError>
where
    C: CertificateDirectory + Sync,
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
