//! The adapters at the HTTP layer, no local stack needed: each answer Lambda gives to the
//! doctor's `Invoke` (a report, a function error, a time-out, access denied, throttling, an
//! unknown 5xx, a payload that is no report) becomes the state the sweep compares; and each
//! answer of Parameter Store to the state store's calls fails the sweep with its documented type.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns

use common::ErrorKind;
use common::testing::{self, Answer};
use notification::sns::SnsNotifier;
use notification::testing::publish_answer;
use rotation_health::aws::{LambdaDoctor, SsmParameters};
use rotation_health::doctor::health;
use rotation_health::model::{Health, Unreachable};
use rotation_health::ports::{Doctor, StateStore};
use rotation_health::{Config, Handler, Response};

const FUNCTION: &str = "my-app-dev-secret-rotation";
const SECRET: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:my-app/dev/db-credentials-AbC123";
const REPORT: &str = r#"{"secret": "arn:aws:secretsmanager:us-east-1:123456789012:secret:my-app/dev/db-credentials-AbC123", "ok": false,
  "findings": [{"check": "port", "status": "fail", "detail": "127.0.0.1:5432 did not answer within 5 s", "fix": "open the security group"},
               {"check": "dns", "status": "pass", "detail": "resolves", "fix": ""}]}"#;

/// A Lambda whose `Invoke` of [`FUNCTION`] is answered with `answer`; it checks the request
/// is a request-response invocation of the doctor for [`SECRET`].
fn lambda(answer: Answer) -> LambdaDoctor {
    let sdk = testing::fake_aws(move |seen| {
        assert_eq!(
            seen.path.split('?').next().unwrap(),
            format!("/2015-03-31/functions/{FUNCTION}/invocations")
        );
        let payload: serde_json::Value = serde_json::from_str(&seen.body).unwrap();
        assert_eq!(payload, serde_json::json!({"Action": "doctor", "SecretId": SECRET}));
        answer.clone()
    });
    LambdaDoctor::new(&sdk, FUNCTION)
}

fn lambda_error(status: u16, code: &str, message: &str) -> Answer {
    Answer::rest_json(status, serde_json::json!({"message": message}).to_string())
        .with_header("x-amzn-errortype", code.to_owned())
}

#[tokio::test]
async fn a_report_becomes_the_failing_and_warning_checks() {
    let outcome = lambda(Answer::rest_json(200, REPORT)).examine(SECRET).await;
    assert_eq!(outcome.as_ref().unwrap().findings.len(), 2);
    assert_eq!(health(&outcome), Health::Unhealthy { failing: ["port".into()].into(), warning: [].into() });
}

#[tokio::test]
async fn each_way_the_doctor_cannot_answer_is_a_state_with_its_cause() {
    let function_error = |error_type: &str, message: &str| {
        Answer::rest_json(
            200,
            serde_json::json!({"errorType": error_type, "errorMessage": message}).to_string(),
        )
        .with_header("x-amz-function-error", "Unhandled")
    };
    for (answer, cause, said) in [
        (
            function_error("Rotation.NotAllowed", "the secret is not in ALLOWED_SECRETS"),
            Unreachable::NotAllowed,
            "Rotation.NotAllowed: the secret is not in ALLOWED_SECRETS",
        ),
        (
            function_error("Sandbox.Timedout", "Task timed out after 30.00 seconds"),
            Unreachable::FunctionError,
            "Sandbox.Timedout: Task timed out after 30.00 seconds",
        ),
        (
            Answer::rest_json(200, "").with_header("x-amz-function-error", "Unhandled"),
            Unreachable::FunctionError,
            "failed with Unhandled",
        ),
        (
            lambda_error(403, "AccessDeniedException", "not authorized to perform: lambda:InvokeFunction"),
            Unreachable::NoAnswer,
            "Lambda denied access: AccessDeniedException",
        ),
        (
            lambda_error(404, "ResourceNotFoundException", "Function not found"),
            Unreachable::NoAnswer,
            "Lambda did not find it: ResourceNotFoundException",
        ),
        (
            lambda_error(429, "TooManyRequestsException", "Rate exceeded"),
            Unreachable::NoAnswer,
            "Lambda throttled the call",
        ),
        (
            lambda_error(503, "SomethingNobodyListed", "try later"),
            Unreachable::NoAnswer,
            "Lambda was unavailable",
        ),
        (
            // the function of a build without the doctor answers as it does to any event it does not know
            Answer::rest_json(200, r#"{"password": "not-a-report-s3cr3t"}"#),
            Unreachable::NotAReport,
            "without a doctor's report",
        ),
    ] {
        let outcome = lambda(answer).examine(SECRET).await;
        let no = outcome.as_ref().unwrap_err();
        assert_eq!(no.cause, cause, "{said}: {no:?}");
        assert!(no.detail.contains(said), "{said}: {}", no.detail);
        assert!(!no.detail.contains("s3cr3t"), "an answer's content is never repeated: {}", no.detail);
        assert!(matches!(health(&outcome), Health::DoctorUnreachable { .. }));
    }
}

/// Parameter Store answering `GetParameter` and `PutParameter` with `ssm`, Lambda with a healthy
/// report... of a failing port, and SNS with a message id.
fn world(ssm: Option<(u16, &'static str, &'static str)>) -> aws_config::SdkConfig {
    testing::fake_aws(move |seen| {
        if let Some(answer) = publish_answer(seen, None) {
            return answer;
        }
        if seen.path.contains("/invocations") {
            return Answer::rest_json(200, REPORT);
        }
        match (seen.target.as_str(), ssm) {
            (_, Some((status, code, message))) => Answer::json_error(status, code, message),
            ("AmazonSSM.GetParameter", None) => Answer::json_error(400, "ParameterNotFound", "not found"),
            ("AmazonSSM.PutParameter", None) => Answer {
                status: 200,
                content_type: "application/x-amz-json-1.1",
                body: r#"{"Version": 1, "Tier": "Standard"}"#.into(),
                headers: Vec::new(),
            },
            (other, _) => panic!("unexpected call {other}"),
        }
    })
}

fn config() -> Config {
    let env = std::collections::HashMap::from([
        ("TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:alerts"),
        ("SECRETS", SECRET),
        ("DOCTOR_FUNCTION", FUNCTION),
        ("STATE_PATH", "/config-keeper/my-app-dev/rotation-health"),
    ]);
    Config::from_lookup(&env).unwrap()
}

#[tokio::test]
async fn a_missing_state_is_none_and_a_new_state_is_written() {
    let ssm = SsmParameters::new(&world(None));
    assert_eq!(ssm.get("/config-keeper/x/rotation-health/sweep/a").await.unwrap(), None);
    ssm.put("/config-keeper/x/rotation-health/sweep/a", r#"{"state":"healthy"}"#).await.unwrap();
    let sdk = world(None);
    let handler = Handler::new(
        LambdaDoctor::new(&sdk, FUNCTION),
        SsmParameters::new(&sdk),
        SsmParameters::new(&sdk),
        SnsNotifier::new(&sdk, "arn:aws:sns:us-east-1:123456789012:alerts"),
        config(),
    );
    let Response::Sweep(report) =
        handler.handle(serde_json::json!({"Action": "sweep"}), 1_796_029_200).await.unwrap()
    else {
        panic!("not a sweep")
    };
    assert_eq!(report.notified, 1, "{report:?}");
}

#[tokio::test]
async fn each_answer_of_parameter_store_fails_the_sweep_with_its_documented_type() {
    for (status, code, error_type) in [
        (400, "AccessDeniedException", "Health.StateDenied"),
        (400, "ThrottlingException", "Health.StateUnavailable"),
        (500, "InternalServerError", "Health.StateUnavailable"),
        (503, "SomethingNobodyListed", "Health.StateUnavailable"),
        (400, "ValidationException", "Health.StateRefused"),
    ] {
        let sdk = world(Some((status, code, "said Parameter Store")));
        let handler = Handler::new(
            LambdaDoctor::new(&sdk, FUNCTION),
            SsmParameters::new(&sdk),
            SsmParameters::new(&sdk),
            SnsNotifier::new(&sdk, "arn:aws:sns:us-east-1:123456789012:alerts"),
            config(),
        );
        let err = handler.handle(serde_json::json!({"Action": "sweep"}), 1_796_029_200).await.unwrap_err();
        assert_eq!(err.error_type(), error_type, "{code}");
        assert!(err.to_string().contains(code), "{err}");
    }
}
