//! The one way a function meets the Lambda runtime: a cold-start failure reported with the
//! function's own `errorType`, and each invocation served in a span that puts the request id, the
//! X-Ray trace id and whether it was a cold start on every log line, its error reported to Lambda
//! as a `Diagnostic` with its `errorType`.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};

use lambda_runtime::{LambdaEvent, service_fn};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::Instrument as _;

use crate::diagnostic::{ErrorKind, message_chain};

/// A cold start that failed, with the function's `errorType` (`Config.InvalidConfiguration`).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct InitFailure {
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

/// Serves invocations with `handler`, each in a span whose fields are on every line it logs:
/// `function_request_id`, `xray_trace_id` (when Lambda passes one) and `cold_start` (true for
/// the first invocation of the process). A failure reaches Lambda as a `Diagnostic` with its
/// `errorType`.
///
/// # Errors
/// When the runtime itself fails (the Runtime API is unreachable).
pub async fn serve<A, R, E, F, Fut>(handler: F) -> Result<(), lambda_runtime::Error>
where
    A: DeserializeOwned + Send + 'static,
    R: Serialize + Send + 'static,
    E: ErrorKind + Send + 'static,
    F: Fn(LambdaEvent<A>) -> Fut,
    Fut: Future<Output = Result<R, E>>,
{
    let cold = AtomicBool::new(true);
    lambda_runtime::run(service_fn(|event: LambdaEvent<A>| {
        let span = invocation_span(&event.context, cold.swap(false, Ordering::Relaxed));
        // Boxed: a handler's future can be deep (SDK calls, database sessions), and the runtime's
        // own layers nest it further; one allocation an invocation keeps the types shallow.
        let fut = Box::pin(handler(event));
        async move { fut.await.map_err(|err| crate::diagnostic(&err)) }.instrument(span)
    }))
    .await
}

/// The span an invocation runs in.
#[must_use]
pub fn invocation_span(context: &lambda_runtime::Context, cold_start: bool) -> tracing::Span {
    let trace_id = context.xray_trace_id.as_deref().and_then(root_trace_id);
    tracing::info_span!("invocation", function_request_id = %context.request_id, xray_trace_id = trace_id, cold_start)
}

/// The `Root=1-...` part of a `_X_AMZN_TRACE_ID` header value, as X-Ray and Logs Insights show it.
#[must_use]
pub fn root_trace_id(header: &str) -> Option<&str> {
    header.split(';').find_map(|part| part.strip_prefix("Root=")).filter(|root| !root.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_trace_id_is_the_root_of_the_header() {
        assert_eq!(
            root_trace_id("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"),
            Some("1-5759e988-bd862e3fe1be46a994272793")
        );
        assert_eq!(root_trace_id("Parent=1"), None);
    }
}
