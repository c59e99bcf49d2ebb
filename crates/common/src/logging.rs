//! JSON logs through `tracing`, one object per line, as CloudWatch Logs and Lambda's JSON log
//! format expect.

use tracing::Subscriber;
use tracing::level_filters::LevelFilter;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;

/// Crates whose logs are capped at WARN whatever the level asked: at DEBUG and TRACE they describe
/// requests and responses, and a response may carry a secret value.
const CAPPED_TARGETS: &[&str] = &[
    "aws_config",
    "aws_runtime",
    "aws_sigv4",
    "aws_smithy_runtime",
    "aws_smithy_http_client",
    "hyper",
    "hyper_util",
    "h2",
    "rustls",
];

/// The log level from `AWS_LAMBDA_LOG_LEVEL` (set by the function's `LoggingConfig`) or
/// `RUST_LOG` (a bare level such as `debug`), INFO when neither is set or readable.
#[must_use]
pub(crate) fn level_from(lookup: &impl crate::Lookup) -> LevelFilter {
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
#[cfg(any(test, feature = "testing"))]
pub(crate) fn json_subscriber<W>(writer: W, level: LevelFilter) -> impl Subscriber + Send + Sync
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    json_subscriber_for(writer, level, None)
}

/// The same, with `function_name` on every line.
pub(crate) fn json_subscriber_for<W>(
    writer: W,
    level: LevelFilter,
    function_name: Option<String>,
) -> impl Subscriber + Send + Sync
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
    tracing_subscriber::registry().with(JsonLines { writer, function_name }.with_filter(filter))
}

/// Installs the JSON subscriber on standard output for the whole process, with the function's
/// name (`AWS_LAMBDA_FUNCTION_NAME`) on every line. Call it first in `main`.
pub fn init_tracing() {
    let env = crate::env::ProcessEnv;
    let subscriber = json_subscriber_for(
        std::io::stdout,
        level_from(&env),
        crate::env::optional(&env, "AWS_LAMBDA_FUNCTION_NAME"),
    );
    // A second call (e.g. two tests in one process) keeps the first subscriber.
    let _ = tracing::subscriber::set_global_default(subscriber);
}

use tracing_subscriber::Layer as _;

/// One JSON object a line: `timestamp`, `level`, `message`, the event's fields, the fields of
/// every span it is in (flattened, so that the invocation's `function_request_id`,
/// `xray_trace_id` and `cold_start` are on each line), `target` and `function_name`.
struct JsonLines<W> {
    writer: W,
    function_name: Option<String>,
}

/// The span `lambda_runtime` opens for each invocation.
const RUNTIME_SPAN: &str = "Lambda runtime invoke";

/// A span's fields, kept in its extensions.
struct SpanFields(serde_json::Map<String, serde_json::Value>);

struct Visitor<'a>(&'a mut serde_json::Map<String, serde_json::Value>);

impl tracing::field::Visit for Visitor<'_> {
    fn record_f64(&mut self, field: &tracing::field::Field, value: f64) {
        self.0.insert(field.name().to_owned(), serde_json::json!(value));
    }
    fn record_i64(&mut self, field: &tracing::field::Field, value: i64) {
        self.0.insert(field.name().to_owned(), value.into());
    }
    fn record_u64(&mut self, field: &tracing::field::Field, value: u64) {
        self.0.insert(field.name().to_owned(), value.into());
    }
    fn record_bool(&mut self, field: &tracing::field::Field, value: bool) {
        self.0.insert(field.name().to_owned(), value.into());
    }
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.into());
    }
    fn record_error(&mut self, field: &tracing::field::Field, value: &(dyn std::error::Error + 'static)) {
        self.0.insert(field.name().to_owned(), value.to_string().into());
    }
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}").into());
    }
}

impl<S, W> tracing_subscriber::Layer<S> for JsonLines<W>
where
    S: Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    W: for<'a> MakeWriter<'a> + 'static,
{
    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        id: &tracing::span::Id,
        ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        let mut fields = serde_json::Map::new();
        // The runtime's own span carries the request and trace ids under other names; the
        // invocation span (common::invocation) carries them as Powertools names them.
        if attrs.metadata().name() != RUNTIME_SPAN {
            attrs.record(&mut Visitor(&mut fields));
        }
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(SpanFields(fields));
        }
    }

    fn on_record(
        &self,
        id: &tracing::span::Id,
        values: &tracing::span::Record<'_>,
        ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        if let Some(span) = ctx.span(id)
            && let Some(fields) = span.extensions_mut().get_mut::<SpanFields>()
        {
            values.record(&mut Visitor(&mut fields.0));
        }
    }

    fn on_event(&self, event: &tracing::Event<'_>, ctx: tracing_subscriber::layer::Context<'_, S>) {
        let mut line = serde_json::Map::new();
        line.insert("timestamp".into(), now_rfc3339().into());
        line.insert("level".into(), event.metadata().level().as_str().into());
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope.from_root() {
                if let Some(fields) = span.extensions().get::<SpanFields>() {
                    line.extend(fields.0.iter().map(|(k, v)| (k.clone(), v.clone())));
                }
            }
        }
        event.record(&mut Visitor(&mut line));
        // The outcome line's notes (a JSON object, see `invocation::note`) become fields of
        // the line, under the names the handler gave them.
        if let Some(serde_json::Value::String(notes)) = line.remove(crate::invocation::NOTES_FIELD)
            && let Ok(serde_json::Value::Object(notes)) = serde_json::from_str(&notes)
        {
            for (key, value) in notes {
                line.entry(key).or_insert(value);
            }
        }
        line.insert("target".into(), event.metadata().target().into());
        if let Some(name) = &self.function_name {
            line.insert("function_name".into(), name.clone().into());
        }
        let mut text = serde_json::Value::Object(line).to_string();
        text.push('\n');
        let _ = std::io::Write::write_all(&mut self.writer.make_writer(), text.as_bytes());
    }
}

/// `2026-12-02T14:03:07.123456Z`: UTC, microseconds, as `tracing-subscriber`'s own JSON lines
/// write it.
fn now_rfc3339() -> String {
    use tracing_subscriber::fmt::time::FormatTime as _;
    let mut text = String::new();
    let _ = tracing_subscriber::fmt::time::SystemTime
        .format_time(&mut tracing_subscriber::fmt::format::Writer::new(&mut text));
    text
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::HashMap;
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use super::*;

    /// An in-memory log writer.
    #[derive(Clone, Default)]
    pub(crate) struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Buffer {
        /// The JSON lines written so far.
        pub(crate) fn lines(&self) -> Vec<serde_json::Value> {
            let text = String::from_utf8(self.0.lock().unwrap().clone()).unwrap();
            text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
        }
    }

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
    fn span_fields_and_the_function_name_are_on_every_line() {
        let buffer = Buffer::default();
        let make = {
            let b = buffer.clone();
            move || b.clone()
        };
        tracing::subscriber::with_default(
            json_subscriber_for(make, LevelFilter::INFO, Some("my-fn".into())),
            || {
                let span =
                    tracing::info_span!("invocation", function_request_id = "req-1", cold_start = true);
                span.in_scope(|| tracing::info!(step = "setSecret", "inside"));
                tracing::info!("outside");
            },
        );
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines[0]["function_request_id"], "req-1");
        assert_eq!(
            (lines[0]["cold_start"].as_bool(), lines[0]["step"].as_str()),
            (Some(true), Some("setSecret"))
        );
        assert_eq!(lines[0]["message"], "inside");
        assert!(lines[1].get("function_request_id").is_none());
        assert!(lines.iter().all(|l| l["function_name"] == "my-fn"));
    }

    #[test]
    fn timestamps_are_rfc3339_utc_with_microseconds() {
        let stamp = now_rfc3339();
        let bytes = stamp.as_bytes();
        assert_eq!(stamp.len(), "2026-12-02T14:03:07.123456Z".len(), "{stamp}");
        for (i, c) in [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':'), (19, b'.'), (26, b'Z')] {
            assert_eq!(bytes[i], c, "{stamp}");
        }
        assert!(stamp.starts_with("20"), "{stamp}");
    }

    #[test]
    fn level_comes_from_lambda_then_rust_log() {
        let env: HashMap<&str, &str> =
            [("AWS_LAMBDA_LOG_LEVEL", "DEBUG"), ("RUST_LOG", "error")].into_iter().collect();
        assert_eq!(level_from(&env), LevelFilter::DEBUG);
        let env: HashMap<&str, &str> = [("RUST_LOG", "warn")].into_iter().collect();
        assert_eq!(level_from(&env), LevelFilter::WARN);
        let env: HashMap<&str, &str> = HashMap::new();
        assert_eq!(level_from(&env), LevelFilter::INFO);
    }
}
