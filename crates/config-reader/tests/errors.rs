//! The Parameter Store adapter's error handling through the real SDK stack (signing, retries,
//! deserialisation), with the HTTP layer answering as AWS does when IAM or KMS refuse, when the
//! service throttles, and when it never answers: each answer sorted into the model every adapter
//! shares (`common::aws`) and the reader's documented `errorType` for it. moto cannot produce
//! these refusals.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use aws_sdk_ssm::config::retry::RetryConfig;
use aws_sdk_ssm::config::timeout::TimeoutConfig;
use aws_sdk_ssm::config::{BehaviorVersion, Credentials, Region, SharedHttpClient};
use aws_smithy_http_client::test_util::{NeverClient, infallible_client_fn};
use common::ErrorKind;
use common::aws::{AwsError, AwsErrorKind, Service};
use common::invocation::observe;
use common::testing::LogCapture;
use config_reader::aws::SsmSource;
use config_reader::{Config, ReadMode, Reader, Request};
use tracing::instrument::WithSubscriber;

fn reader(http: SharedHttpClient, attempts: u32) -> Reader<SsmSource> {
    let conf = aws_sdk_ssm::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("AKIDEXAMPLE", "secret", None, None, "test"))
        .http_client(http)
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(attempts)
                .with_initial_backoff(Duration::from_millis(5)),
        )
        .timeout_config(
            TimeoutConfig::builder().operation_attempt_timeout(Duration::from_millis(200)).build(),
        )
        .build();
    // Path requests are refused unless allowed: these tests drive both modes.
    let env = std::collections::HashMap::from([("DEV_OR_PROD", "dev"), ("ALLOW_PATH_REQUESTS", "true")]);
    Reader::new(
        SsmSource::from_client(aws_sdk_ssm::Client::from_conf(conf)),
        Config::from_lookup(&env).unwrap(),
    )
}

/// An HTTP client that answers every request with `status` and an AWS JSON error, counting requests.
fn answering(status: u16, code: &'static str, message: &'static str) -> (SharedHttpClient, Arc<AtomicUsize>) {
    let count = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&count);
    let client = infallible_client_fn(move |_request| {
        seen.fetch_add(1, Ordering::SeqCst);
        http::Response::builder()
            .status(status)
            .header("content-type", "application/x-amz-json-1.1")
            .header("x-amzn-requestid", "00000000-0000-0000-0000-000000000000")
            .body(format!(r#"{{"__type":"{code}","message":"{message}"}}"#))
            .unwrap()
    });
    (client, count)
}

const IAM_DENIAL: &str = "User: arn:aws:sts::123456789012:assumed-role/reader/fn is not authorized to perform: \
    ssm:GetParameters on resource: arn:aws:ssm:us-east-1:123456789012:parameter/my-app/dev/db-url";
const KMS_DENIAL: &str = "User: arn:aws:sts::123456789012:assumed-role/reader/fn is not authorized to perform: \
    kms:Decrypt on resource: arn:aws:kms:us-east-1:123456789012:key/1234 \
    (Service: AWSKMS; Status Code: 400; Error Code: AccessDeniedException)";

/// Every answer the reader documents, with the codes its own classifier used to list (IAM and
/// credentials, KMS, throttling, server errors), and the kind and `errorType` each must keep.
const ANSWERS: &[(u16, &str, &str, AwsErrorKind, &str)] = &[
    (
        400,
        "ParameterNotFound",
        "Parameter /my-app/dev/db-url not found.",
        AwsErrorKind::NotFound,
        "Config.RequestRefused",
    ),
    (400, "AccessDeniedException", IAM_DENIAL, AwsErrorKind::Denied { kms: false }, "Config.AccessDenied"),
    (403, "AccessDenied", "Access denied", AwsErrorKind::Denied { kms: false }, "Config.AccessDenied"),
    (
        400,
        "UnrecognizedClientException",
        "The security token included in the request is invalid.",
        AwsErrorKind::Denied { kms: false },
        "Config.AccessDenied",
    ),
    (
        403,
        "InvalidClientTokenId",
        "The security token included in the request is invalid.",
        AwsErrorKind::Denied { kms: false },
        "Config.AccessDenied",
    ),
    (
        400,
        "ExpiredTokenException",
        "The security token included in the request is expired",
        AwsErrorKind::Denied { kms: false },
        "Config.AccessDenied",
    ),
    (
        400,
        "InvalidSignatureException",
        "The request signature we calculated does not match the signature you provided.",
        AwsErrorKind::Denied { kms: false },
        "Config.AccessDenied",
    ),
    (
        403,
        "MissingAuthenticationToken",
        "Missing Authentication Token",
        AwsErrorKind::Denied { kms: false },
        "Config.AccessDenied",
    ),
    (400, "AccessDeniedException", KMS_DENIAL, AwsErrorKind::Denied { kms: true }, "Config.KmsDecryptDenied"),
    (
        400,
        "InvalidKeyId",
        "The KMS key is disabled.",
        AwsErrorKind::Denied { kms: true },
        "Config.KmsDecryptDenied",
    ),
    (
        400,
        "KMSAccessDeniedException",
        "The ciphertext refers to a key that does not exist or that you do not have access to.",
        AwsErrorKind::Denied { kms: true },
        "Config.KmsDecryptDenied",
    ),
    (400, "ThrottlingException", "Rate exceeded", AwsErrorKind::Throttled, "Config.Throttled"),
    (400, "Throttling", "Rate exceeded", AwsErrorKind::Throttled, "Config.Throttled"),
    (400, "ThrottledException", "Rate exceeded", AwsErrorKind::Throttled, "Config.Throttled"),
    (400, "TooManyRequestsException", "Too many requests", AwsErrorKind::Throttled, "Config.Throttled"),
    (400, "RequestLimitExceeded", "Request limit exceeded", AwsErrorKind::Throttled, "Config.Throttled"),
    (429, "SomeCodeNobodyListed", "slow down", AwsErrorKind::Throttled, "Config.Throttled"),
    (
        500,
        "InternalServerError",
        "An error occurred on the server side.",
        AwsErrorKind::Unavailable,
        "Config.Unavailable",
    ),
    (
        500,
        "InternalFailure",
        "The request processing has failed because of an unknown error.",
        AwsErrorKind::Unavailable,
        "Config.Unavailable",
    ),
    (503, "ServiceUnavailable", "Service unavailable", AwsErrorKind::Unavailable, "Config.Unavailable"),
    (
        503,
        "ServiceUnavailableException",
        "Service unavailable",
        AwsErrorKind::Unavailable,
        "Config.Unavailable",
    ),
    (503, "SomeCodeNobodyListed", "try later", AwsErrorKind::Unavailable, "Config.Unavailable"),
    (
        400,
        "ValidationException",
        "1 validation error detected: Value at 'path' failed to satisfy constraint",
        AwsErrorKind::Rejected,
        "Config.RequestRefused",
    ),
    (
        400,
        "InvalidNextToken",
        "The specified token is not valid.",
        AwsErrorKind::Rejected,
        "Config.RequestRefused",
    ),
];

#[tokio::test]
async fn each_answer_is_sorted_and_keeps_its_documented_error_type() {
    for mode in [ReadMode::Names, ReadMode::Path] {
        for &(status, code, message, kind, error_type) in ANSWERS {
            let (http, count) = answering(status, code, message);
            let err =
                reader(http, 2).read(&Request { mode: Some(mode), ..Request::default() }).await.unwrap_err();
            assert_eq!(err.error_type(), error_type, "{mode:?} {status} {code}: {err}");
            let aws = std::error::Error::source(&err)
                .and_then(|s| s.downcast_ref::<AwsError>())
                .expect("the AwsError is the source");
            assert_eq!(
                (aws.service, aws.kind, aws.code.as_deref()),
                (Service::Ssm, kind, Some(code)),
                "{mode:?} {status} {code}"
            );
            assert!(err.to_string().contains(message), "the service's words are kept: {err}");
            // The SDK retries the transient answers, never a denial or a rejection; it does not
            // retry a 429 whose code is on none of its lists (its status list is 500, 502-504).
            let attempts = if kind.is_transient() && status != 429 { 2 } else { 1 };
            assert_eq!(count.load(Ordering::SeqCst), attempts, "{status} {code}: attempts made");
        }
    }
}

#[tokio::test]
async fn iam_denial_of_the_ssm_call() {
    let (http, count) = answering(
        400,
        "AccessDeniedException",
        "User: arn:aws:sts::123456789012:assumed-role/reader/fn is not authorized to perform: ssm:GetParameters \
         on resource: arn:aws:ssm:us-east-1:123456789012:parameter/my-app/dev/db-url because no identity-based \
         policy allows the ssm:GetParameters action",
    );
    let err = reader(http, 3).read(&Request::default()).await.unwrap_err();
    assert_eq!(err.error_type(), "Config.AccessDenied");
    let message = err.to_string();
    assert!(message.contains("ssm:GetParameters"), "{message}");
    assert!(message.contains("/my-app/dev/*"), "the message says what to allow: {message}");
    assert_eq!(count.load(Ordering::SeqCst), 1, "an access denial is not retried");
}

#[tokio::test]
async fn kms_denial_of_the_decryption() {
    let (http, count) = answering(
        400,
        "AccessDeniedException",
        "User: arn:aws:sts::123456789012:assumed-role/reader/fn is not authorized to perform: kms:Decrypt \
         on resource: arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab \
         (Service: AWSKMS; Status Code: 400; Error Code: AccessDeniedException)",
    );
    let err = reader(http, 3).read(&Request::default()).await.unwrap_err();
    assert_eq!(err.error_type(), "Config.KmsDecryptDenied");
    assert!(err.to_string().contains("kms:Decrypt"), "{err}");
    assert_eq!(count.load(Ordering::SeqCst), 1);

    let (http, _) = answering(400, "InvalidKeyId", "The KMS key is disabled.");
    let err = reader(http, 3).read(&Request::default()).await.unwrap_err();
    assert_eq!(err.error_type(), "Config.KmsDecryptDenied");
}

#[tokio::test]
async fn throttling_is_retried_with_backoff_then_reported() {
    let (http, count) = answering(400, "ThrottlingException", "Rate exceeded");
    let logs = LogCapture::default();
    let err = observe(reader(http, 4).read(&Request::default()))
        .with_subscriber(logs.subscriber())
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "Config.Throttled");
    assert_eq!(count.load(Ordering::SeqCst), 4, "every attempt the retry policy allows was made");
    assert!(logs.text().contains("Config.Throttled"));
}

#[tokio::test]
async fn server_errors_are_retried_then_reported_unavailable() {
    let (http, count) = answering(500, "InternalServerError", "Internal error");
    let err = reader(http, 2).read(&Request::default()).await.unwrap_err();
    assert_eq!(err.error_type(), "Config.Unavailable");
    assert_eq!(count.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_black_holed_endpoint_times_out() {
    let started = std::time::Instant::now();
    let err =
        reader(SharedHttpClient::new(NeverClient::new()), 2).read(&Request::default()).await.unwrap_err();
    assert_eq!(err.error_type(), "Config.Unavailable", "{err}");
    assert!(err.to_string().contains("timed out"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn a_success_after_a_throttle_is_served() {
    let count = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&count);
    let http = infallible_client_fn(move |_request| {
        let n = seen.fetch_add(1, Ordering::SeqCst);
        let (status, body) = if n == 0 {
            (400, r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#.to_owned())
        } else {
            (
                200,
                concat!(
                    r#"{"Parameters":[{"Name":"/my-app/dev/db-url","Type":"String","Value":"postgres://x","Version":4,"#,
                    r#""LastModifiedDate":1.7e9},{"Name":"/my-app/dev/db-password","Type":"SecureString","#,
                    r#""Value":"p4ss-w0rd-from-ssm","Version":2}],"InvalidParameters":[]}"#
                )
                .to_owned(),
            )
        };
        http::Response::builder()
            .status(status)
            .header("content-type", "application/x-amz-json-1.1")
            .body(body)
            .unwrap()
    });
    let logs = LogCapture::default();
    let r = reader(http, 3).read(&Request::default()).with_subscriber(logs.subscriber()).await.unwrap();
    assert_eq!(count.load(Ordering::SeqCst), 2);
    assert_eq!(r.parameters[0].version, 4);
    assert_eq!(r.parameters[0].last_modified.as_deref(), Some("2023-11-14T22:13:20Z"));
    assert!(r.parameters[1].redacted);
    logs.assert_free_of(&["p4ss-w0rd-from-ssm"]);
}

/// What the reader asks Parameter Store for, as the SDK sends it: decryption only when the
/// response carries SecureString values or a Secrets Manager reference needs it (the reader
/// used to send `WithDecryption: true` on every call, so KMS decrypted values it then redacted).
#[tokio::test]
async fn decryption_is_asked_for_only_when_the_response_needs_it() {
    let bodies = Arc::new(std::sync::Mutex::new(Vec::<serde_json::Value>::new()));
    let sink = Arc::clone(&bodies);
    let sdk = common::testing::fake_aws(move |seen| {
        sink.lock().unwrap().push(serde_json::from_str(&seen.body).unwrap());
        let mut answer = common::testing::Answer::json_error(200, "", "");
        answer.body = r#"{"Parameters":[],"InvalidParameters":[]}"#.into();
        answer
    });
    let read = |env: &[(&'static str, &'static str)], request: Request| {
        let mut vars = std::collections::HashMap::from([("DEV_OR_PROD", "dev")]);
        vars.extend(env.iter().copied());
        let reader = Reader::new(SsmSource::new(&sdk), Config::from_lookup(&vars).unwrap());
        async move { reader.read(&request).await }
    };
    let _ = read(&[], Request::default()).await;
    let _ = read(&[("EXPOSE_SECURE_VALUES", "true")], Request::default()).await;
    let reference = "/aws/reference/secretsmanager/my-app/dev/db-credentials";
    let names: &'static str = Box::leak(format!("db-url,{reference}").into_boxed_str());
    let _ = read(&[("PARAMETER_NAMES", names)], Request::default()).await;
    let _ = read(&[("READ_MODE", "path")], Request::default()).await;
    let asked: Vec<(Option<bool>, usize)> = bodies
        .lock()
        .unwrap()
        .iter()
        .map(|b| (b["WithDecryption"].as_bool(), b["Names"].as_array().map_or(0, Vec::len)))
        .collect();
    assert_eq!(
        asked,
        [(Some(false), 2), (Some(true), 2), (Some(true), 1), (Some(false), 1), (Some(false), 0)],
        "redacted: no decryption; exposed: decryption; a reference alone with decryption; a tree without"
    );
}
