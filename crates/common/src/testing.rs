//! The local stack, for integration tests (feature `testing`, never in a release binary).
//!
//! `scripts/stack.sh up` (or `make stack-up`, which `make test` runs) writes the endpoints and
//! credentials to one env file. Tests read it here and fail, never skip, when it is missing.

use std::collections::HashMap;
use std::path::PathBuf;

use aws_config::{BehaviorVersion, Region, SdkConfig};

fn default_env_file() -> PathBuf {
    let cwd = std::env::current_dir().unwrap_or_default();
    cwd.ancestors()
        .map(|dir| dir.join(".stack/stack.env"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| cwd.join(".stack/stack.env"))
}

/// Endpoints and credentials of a running local stack.
#[derive(Debug, Clone)]
pub struct LocalStack {
    values: HashMap<String, String>,
}

impl LocalStack {
    /// Reads the stack's env file: `$STACK_ENV_FILE`, else the nearest `.stack/stack.env` above
    /// the working directory (cargo runs tests in their package's folder).
    ///
    /// # Panics
    /// When the file is missing or incomplete, with a message saying how to start the stack.
    #[must_use]
    #[allow(clippy::panic, clippy::expect_used)]
    pub fn load() -> Self {
        let path = std::env::var_os("STACK_ENV_FILE").map_or_else(default_env_file, PathBuf::from);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "the local stack is not running ({}: {e}). Start it with `make stack-up` \
                 (`make test` starts it itself), or point STACK_ENV_FILE at its env file.",
                path.display()
            )
        });
        let values = text
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
            .collect();
        let stack = Self { values };
        for key in ["AWS_ENDPOINT_URL", "AWS_REGION", "PG_PORT", "MARIADB_PORT"] {
            assert!(
                stack.values.contains_key(key),
                "the local stack's env file {} lacks {key}: run `make stack-up` again",
                path.display()
            );
        }
        stack
    }

    /// A value from the env file.
    ///
    /// # Panics
    /// When the key is absent.
    #[must_use]
    #[allow(clippy::panic)]
    pub fn get(&self, key: &str) -> &str {
        self.values.get(key).map_or_else(|| panic!("the local stack's env file lacks {key}"), String::as_str)
    }

    /// The moto server's URL.
    #[must_use]
    pub fn endpoint(&self) -> &str {
        self.get("AWS_ENDPOINT_URL")
    }

    /// All values, to pass to a child process's environment.
    #[must_use]
    pub fn vars(&self) -> &HashMap<String, String> {
        &self.values
    }

    /// SDK configuration pointed at the moto server, with the stack's dummy credentials.
    #[must_use]
    pub fn sdk_config(&self) -> SdkConfig {
        let credentials = aws_credential_types::Credentials::new(
            self.get("AWS_ACCESS_KEY_ID"),
            self.get("AWS_SECRET_ACCESS_KEY"),
            None,
            None,
            "local-stack",
        );
        SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(self.get("AWS_REGION").to_owned()))
            .endpoint_url(self.endpoint())
            .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(credentials))
            .build()
    }
}

/// Captures what the code under test logs, as the JSON lines a function writes in production.
#[derive(Debug, Clone, Default)]
pub struct LogCapture(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl LogCapture {
    /// A JSON subscriber at TRACE for our code (SDK crates capped as in production) writing here.
    /// Use it with `tracing::instrument::WithSubscriber::with_subscriber` on the future under test.
    #[must_use]
    pub fn subscriber(&self) -> impl tracing::Subscriber + Send + Sync {
        // Tests run in parallel threads; a log call first reached by a thread without a capture
        // could be cached as uninteresting and then missed by every capture. A global default
        // that takes every event (and drops it) keeps each call site's interest open.
        static GLOBAL: std::sync::Once = std::sync::Once::new();
        GLOBAL.call_once(|| {
            let _ = tracing::subscriber::set_global_default(tracing_subscriber::registry());
        });
        let sink = self.clone();
        crate::logging::json_subscriber(move || sink.clone(), tracing::level_filters::LevelFilter::TRACE)
    }

    /// Everything captured so far.
    #[must_use]
    #[allow(clippy::missing_panics_doc)]
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner))
            .into_owned()
    }

    /// Panics if any of `secrets` appears in the captured logs (the message names the secret's
    /// position in the list, never the secret).
    ///
    /// # Panics
    /// When a secret was logged, or when nothing was logged at all (a capture that saw nothing
    /// proves nothing).
    #[allow(clippy::panic)]
    pub fn assert_free_of(&self, secrets: &[&str]) {
        let text = self.text();
        assert!(!text.is_empty(), "no log line was captured");
        for (i, secret) in secrets.iter().enumerate() {
            assert!(!secret.is_empty(), "secret #{i} is empty");
            assert!(!text.contains(secret), "secret #{i} appears in the captured logs");
        }
    }
}

impl std::io::Write for LogCapture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What a fake AWS answers one request with: the HTTP status, content type and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
    /// More response headers (Lambda's `X-Amz-Function-Error`, say).
    pub headers: Vec<(&'static str, String)>,
}

impl Answer {
    /// An awsJson1.x error, as Secrets Manager, Parameter Store and ACM answer.
    #[must_use]
    pub fn json_error(status: u16, code: &str, message: &str) -> Self {
        let body = serde_json::json!({ "__type": code, "message": message }).to_string();
        Self { status, content_type: "application/x-amz-json-1.1", body, headers: Vec::new() }
    }

    /// A restJson answer (Lambda): `body` as it is, with the status.
    #[must_use]
    pub fn rest_json(status: u16, body: impl Into<String>) -> Self {
        Self { status, content_type: "application/json", body: body.into(), headers: Vec::new() }
    }

    /// The same answer with one more header.
    #[must_use]
    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// A query-protocol XML error, as SNS and RDS answer; `namespace` is the service's
    /// (`http://sns.amazonaws.com/doc/2010-03-31/`).
    #[must_use]
    pub fn xml_error(status: u16, namespace: &str, code: &str, message: &str) -> Self {
        let body = format!(
            "<ErrorResponse xmlns=\"{namespace}\"><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>\
             <RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>"
        );
        Self { status, content_type: "text/xml", body, headers: Vec::new() }
    }

    /// A successful XML answer.
    #[must_use]
    pub fn xml(body: impl Into<String>) -> Self {
        Self { status: 200, content_type: "text/xml", body: body.into(), headers: Vec::new() }
    }
}

/// A request as a fake AWS sees it: its `x-amz-target` header (awsJson operations) and its body
/// (query-protocol operations name their `Action` there).
#[derive(Debug, Clone, Default)]
pub struct Seen {
    pub target: String,
    pub body: String,
    /// The request's path (restJson operations name their resource there).
    pub path: String,
}

/// SDK configuration for clients of any service whose HTTP layer answers each request with
/// `answer`: for testing adapters at the HTTP layer, without a network. Two attempts with a
/// short back-off, so that retried answers are seen retried.
///
/// # Panics
/// Never in practice: the answers are well-formed HTTP responses.
#[must_use]
#[allow(clippy::expect_used)]
pub fn fake_aws(answer: impl Fn(&Seen) -> Answer + Send + Sync + 'static) -> SdkConfig {
    let http = aws_smithy_http_client::test_util::infallible_client_fn(move |request| {
        let seen = Seen {
            target: request
                .headers()
                .get("x-amz-target")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned(),
            body: String::from_utf8_lossy(request.body().bytes().unwrap_or_default()).into_owned(),
            path: request.uri().path().to_owned(),
        };
        let Answer { status, content_type, body, headers } = answer(&seen);
        let mut response = http::Response::builder().status(status).header("content-type", content_type);
        for (name, value) in headers {
            response = response.header(name, value);
        }
        response.body(body).expect("a well-formed answer")
    });
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(
            aws_credential_types::Credentials::new("AKIDEXAMPLE", "secret", None, None, "test"),
        ))
        .http_client(http)
        .retry_config(
            aws_config::retry::RetryConfig::standard()
                .with_max_attempts(2)
                .with_initial_backoff(std::time::Duration::from_millis(5)),
        )
        .build()
}
