//! The one way a function meets the Lambda runtime: a cold-start failure reported with the
//! function's own `errorType`, and each invocation served in a span that puts the request id, the
//! X-Ray trace id and whether it was a cold start on every log line, ended by one timed outcome
//! line ([`observe`]), its error reported to Lambda as a `Diagnostic` with its `errorType`.

use std::cell::RefCell;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use lambda_runtime::{LambdaEvent, service_fn};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::Instrument as _;

use crate::diagnostic::{ErrorKind, message_chain};

/// A cold start that failed, with the function's `errorType` (`Config.InvalidConfiguration`).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub(crate) struct InitFailure {
    pub error_type: &'static str,
    pub message: String,
}

/// Reports a cold-start failure, `err` being the function's own error (its `Configuration`
/// variant): one log line with its `errorType`, and, inside Lambda (`AWS_LAMBDA_RUNTIME_API`
/// set), the Runtime API's `/init/error` with that type, so that the init error Lambda records
/// carries it rather than the runtime's generic one. Returns the error for `main` to exit with.
pub async fn init_failed<E: ErrorKind>(err: &E) -> lambda_runtime::Error {
    let failure = InitFailure { error_type: err.error_type(), message: message_chain(err) };
    tracing::error!(error_type = failure.error_type, error = %failure.message, "cold start failed");
    if let Some(api) = crate::env::optional(&crate::env::ProcessEnv, "AWS_LAMBDA_RUNTIME_API")
        && let Err(e) = report_init_error(&api, &failure).await
    {
        tracing::warn!(error = %e, "the init error could not be reported to the Runtime API");
    }
    failure.into()
}

async fn report_init_error(api: &str, failure: &InitFailure) -> Result<(), lambda_runtime::Error> {
    let base: http::Uri = format!("http://{api}").parse()?;
    let client = lambda_runtime_api_client::Client::builder().with_endpoint(base).build()?;
    let body =
        serde_json::json!({ "errorType": failure.error_type, "errorMessage": failure.message }).to_string();
    let request = lambda_runtime_api_client::build_request()
        .method(http::Method::POST)
        .uri("/2018-06-01/runtime/init/error")
        .header("lambda-runtime-function-error-type", failure.error_type)
        .header("content-type", "application/json")
        .body(lambda_runtime_api_client::body::Body::from(body))?;
    client.call(request).await?;
    Ok(())
}

/// What an invocation did, in a word, for its outcome line (`outcome`): `read`, `done`,
/// `notified`...
pub trait Reported {
    fn outcome(&self) -> &'static str;
}

/// The field of the outcome line that carries the invocation's notes, which the JSON lines
/// ([`crate::logging`]) spread into the line itself.
pub(crate) const NOTES_FIELD: &str = "invocation_notes";

tokio::task_local! {
    static NOTES: RefCell<serde_json::Map<String, serde_json::Value>>;
}

/// Adds `key: value` to the outcome line of the invocation running (what it read, the secret
/// it rotated, the decision it took). A later note under the same key replaces the earlier one.
/// Outside [`observe`] (a test calling a handler directly) it does nothing.
pub fn note(key: &'static str, value: impl Into<serde_json::Value>) {
    let _ = NOTES.try_with(|notes| notes.borrow_mut().insert(key.to_owned(), value.into()));
}

/// Runs one invocation's `work` and logs its one outcome line, at INFO when it succeeds and at
/// ERROR when it fails: `invocation finished` or `invocation failed`, with `outcome` (the
/// [`Reported`] word, or `failed`), `error_type` and `error` for a failure, `elapsed_ms`, and
/// every [`note`] the work made.
///
/// # Errors
/// The work's own error, passed through.
pub async fn observe<R, E, Fut>(work: Fut) -> Result<R, E>
where
    R: Reported,
    E: ErrorKind,
    Fut: Future<Output = Result<R, E>>,
{
    NOTES
        .scope(RefCell::new(serde_json::Map::new()), async move {
            let started = Instant::now();
            // Boxed: a handler's future can be deep (SDK calls, database sessions), and the
            // runtime's own layers nest it further; one allocation an invocation keeps the types
            // shallow.
            let result = Box::pin(work).await;
            let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
            let notes = NOTES.with(|notes| serde_json::Value::Object(notes.take()).to_string());
            match &result {
                Ok(done) => tracing::info!(
                    outcome = done.outcome(),
                    elapsed_ms,
                    invocation_notes = notes,
                    "invocation finished"
                ),
                Err(err) => tracing::error!(
                    outcome = "failed",
                    error_type = err.error_type(),
                    error = %message_chain(err),
                    elapsed_ms,
                    invocation_notes = notes,
                    "invocation failed"
                ),
            }
            result
        })
        .await
}

/// Serves invocations with `handler`, each in a span whose fields are on every line it logs:
/// `function_request_id`, `xray_trace_id` (when Lambda passes one) and `cold_start` (true for
/// the first invocation of the process). A failure reaches Lambda as a `Diagnostic` with its
/// `errorType`. Each invocation ends with its outcome line ([`observe`]).
///
/// # Errors
/// When the runtime itself fails (the Runtime API is unreachable).
pub async fn serve<A, R, E, F, Fut>(handler: F) -> Result<(), lambda_runtime::Error>
where
    A: DeserializeOwned + Send + 'static,
    R: Serialize + Reported + Send + 'static,
    E: ErrorKind + Send + 'static,
    F: Fn(LambdaEvent<A>) -> Fut,
    Fut: Future<Output = Result<R, E>>,
{
    let cold = AtomicBool::new(true);
    lambda_runtime::run(service_fn(|event: LambdaEvent<A>| {
        let span = invocation_span(&event.context, cold.swap(false, Ordering::Relaxed));
        // Boxed as well (see `observe`): the runtime's layers nest the future further still.
        let fut = Box::pin(observe(handler(event)));
        async move { fut.await.map_err(|err| crate::diagnostic(&err)) }.instrument(span)
    }))
    .await
}

/// The span an invocation runs in.
#[must_use]
pub(crate) fn invocation_span(context: &lambda_runtime::Context, cold_start: bool) -> tracing::Span {
    let trace_id = context.xray_trace_id.as_deref().and_then(root_trace_id);
    tracing::info_span!("invocation", function_request_id = %context.request_id, xray_trace_id = trace_id, cold_start)
}

/// The `Root=1-...` part of a `_X_AMZN_TRACE_ID` header value, as X-Ray and Logs Insights show it.
#[must_use]
pub(crate) fn root_trace_id(header: &str) -> Option<&str> {
    header.split(';').find_map(|part| part.strip_prefix("Root=")).filter(|root| !root.is_empty())
}

#[cfg(test)]
mod tests {
    use tracing::instrument::WithSubscriber as _;

    use super::*;
    use crate::logging::tests::Buffer;

    #[derive(Debug, thiserror::Error)]
    #[error("the parameter is missing")]
    struct Missing;

    impl ErrorKind for Missing {
        fn error_type(&self) -> &'static str {
            "Test.Missing"
        }
    }

    struct Read;

    impl Reported for Read {
        fn outcome(&self) -> &'static str {
            "read"
        }
    }

    async fn work(fail: bool) -> Result<Read, Missing> {
        note("parameters", 2);
        note("environment", "dev");
        tracing::info!("working");
        tokio::task::yield_now().await;
        note("parameters", 3);
        if fail { Err(Missing) } else { Ok(Read) }
    }

    async fn run(fail: bool) -> Vec<serde_json::Value> {
        let buffer = Buffer::default();
        let sink = buffer.clone();
        let subscriber = crate::logging::json_subscriber(move || sink.clone(), LevelFilter::INFO);
        let _ = observe(work(fail)).with_subscriber(subscriber).await;
        buffer.lines()
    }

    use tracing::level_filters::LevelFilter;

    #[tokio::test]
    async fn one_outcome_line_carries_the_notes_and_the_time() {
        let lines = run(false).await;
        assert_eq!(lines.len(), 2, "{lines:?}");
        let outcome = &lines[1];
        assert_eq!(
            (outcome["message"].as_str(), outcome["outcome"].as_str(), outcome["level"].as_str()),
            (Some("invocation finished"), Some("read"), Some("INFO"))
        );
        assert_eq!((outcome["parameters"].as_i64(), outcome["environment"].as_str()), (Some(3), Some("dev")));
        assert!(outcome["elapsed_ms"].as_f64().is_some_and(|ms| ms >= 0.0), "{outcome}");
        assert!(outcome.get(NOTES_FIELD).is_none(), "the notes are spread into the line: {outcome}");
        assert!(lines[0].get("parameters").is_none(), "notes are for the outcome line only");
    }

    #[tokio::test]
    async fn a_failure_is_one_error_line_with_its_error_type() {
        let lines = run(true).await;
        let outcome = &lines[1];
        assert_eq!(
            (outcome["message"].as_str(), outcome["outcome"].as_str(), outcome["level"].as_str()),
            (Some("invocation failed"), Some("failed"), Some("ERROR"))
        );
        assert_eq!(
            (outcome["error_type"].as_str(), outcome["error"].as_str()),
            (Some("Test.Missing"), Some("the parameter is missing"))
        );
        assert_eq!(outcome["parameters"], 3);
    }

    #[tokio::test]
    async fn a_note_outside_an_invocation_does_nothing() {
        note("parameters", 1);
        assert!(work(false).await.is_ok());
    }

    #[test]
    fn the_trace_id_is_the_root_of_the_header() {
        assert_eq!(
            root_trace_id("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"),
            Some("1-5759e988-bd862e3fe1be46a994272793")
        );
        assert_eq!(root_trace_id("Parent=1"), None);
    }
}
