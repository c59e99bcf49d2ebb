//! JSON logs through `tracing`, one object per line, as CloudWatch Logs and Lambda's JSON log
//! format expect.

use tracing::Subscriber;
use tracing::level_filters::LevelFilter;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;

/// Crates whose logs are capped at WARN whatever the level asked: at DEBUG and TRACE they describe
/// requests and responses, and a response may carry a secret value.
const CAPPED_TARGETS: &[&str] =
    &["aws_config", "aws_runtime", "aws_sigv4", "aws_smithy_runtime", "aws_smithy_http_client", "hyper", "hyper_util", "h2", "rustls"];

/// The log level from `AWS_LAMBDA_LOG_LEVEL` (set by the function's `LoggingConfig`) or
/// `RUST_LOG` (a bare level such as `debug`), INFO when neither is set or readable.
#[must_use]
pub fn level_from(lookup: &impl crate::Lookup) -> LevelFilter {
    ["AWS_LAMBDA_LOG_LEVEL", "RUST_LOG"]
        .iter()
        .find_map(|key| lookup.get(key))
        .and_then(|raw| match raw.trim().to_ascii_lowercase().as_str() {
            "trace" => Some(LevelFilter::TRACE),
            "debug" => Some(LevelFilter::DEBUG),
            "info" => Some(LevelFilter::INFO),
            "warn" => Some(LevelFilter::WARN),
            "error" | "fatal" => Some(LevelFilter::ERROR),
            "off" => Some(LevelFilter::OFF),
            _ => None,
        })
        .unwrap_or(LevelFilter::INFO)
}

/// A JSON subscriber writing to `writer` at `level`. Tests hand it an in-memory writer to capture
/// what a function logs.
pub fn json_subscriber<W>(writer: W, level: LevelFilter) -> impl Subscriber + Send + Sync
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let capped = level.min(LevelFilter::WARN);
    let filter = CAPPED_TARGETS
        .iter()
        .fold(Targets::new().with_default(level), |f, target| f.with_target(*target, capped))
        // The runtime logs a handler's error again, unstructured, as its Debug form; our handlers
        // log each error once with its errorType. Panics still reach standard error.
        .with_target("lambda_runtime::layers::panic", LevelFilter::OFF);
    let layer = tracing_subscriber::fmt::layer()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .with_target(true)
        .with_ansi(false)
        .with_writer(writer);
    tracing_subscriber::registry().with(layer.with_filter(filter))
}

/// Installs the JSON subscriber on standard output for the whole process. Call it first in `main`.
pub fn init_tracing() {
    let subscriber = json_subscriber(std::io::stdout, level_from(&crate::env::ProcessEnv));
    // A second call (e.g. two tests in one process) keeps the first subscriber.
    let _ = tracing::subscriber::set_global_default(subscriber);
}

use tracing_subscriber::Layer as _;

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use super::*;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn writes_one_json_object_per_event_and_caps_sdk_targets() {
        let buffer = Buffer::default();
        let make = {
            let b = buffer.clone();
            move || b.clone()
        };
        tracing::subscriber::with_default(json_subscriber(make, LevelFilter::DEBUG), || {
            tracing::info!(parameter = "/my-app/dev/db-url", "read");
            tracing::debug!(target: "aws_smithy_runtime", "response body");
        });
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.len(), 1, "{text}");
        assert_eq!(lines[0]["parameter"], "/my-app/dev/db-url");
        assert_eq!(lines[0]["level"], "INFO");
    }

    #[test]
    fn level_comes_from_lambda_then_rust_log() {
        let env: HashMap<&str, &str> = [("AWS_LAMBDA_LOG_LEVEL", "DEBUG"), ("RUST_LOG", "error")].into_iter().collect();
        assert_eq!(level_from(&env), LevelFilter::DEBUG);
        let env: HashMap<&str, &str> = [("RUST_LOG", "warn")].into_iter().collect();
        assert_eq!(level_from(&env), LevelFilter::WARN);
        let env: HashMap<&str, &str> = HashMap::new();
        assert_eq!(level_from(&env), LevelFilter::INFO);
    }
}
