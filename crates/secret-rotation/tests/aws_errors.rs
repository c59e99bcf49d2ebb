//! The Secrets Manager adapter's errors at the HTTP layer: each kind of answer, sorted into the
//! model every adapter shares, and the rotation's `errorType` for it. No local stack needed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns

use common::ErrorKind;
use common::aws::{AwsErrorKind, Service};
use common::testing::{Answer, fake_aws};
use secret_rotation::RotationError;
use secret_rotation::aws::SecretsManager;
use secret_rotation::ports::{SecretStore, Stage};

/// A Secrets Manager client whose HTTP layer answers every request with `status` and an
/// awsJson1.1 error of type `code`.
fn answering(status: u16, code: &'static str, message: &'static str) -> SecretsManager {
    SecretsManager::new(&fake_aws(move |_| Answer::json_error(status, code, message)))
}

#[tokio::test]
async fn each_answer_is_sorted_and_keeps_its_documented_error_type() {
    for (status, code, message, kind, error_type) in [
        (
            400,
            "ResourceNotFoundException",
            "Secrets Manager can't find the specified secret.",
            AwsErrorKind::NotFound,
            "Rotation.SecretNotFound",
        ),
        (
            400,
            "AccessDeniedException",
            "not authorized to perform: secretsmanager:DescribeSecret",
            AwsErrorKind::Denied { kms: false },
            "Rotation.AccessDenied",
        ),
        (
            400,
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
            AwsErrorKind::Denied { kms: false },
            "Rotation.AccessDenied",
        ),
        (
            400,
            "DecryptionFailure",
            "Secrets Manager can't decrypt the protected secret text using the provided KMS key.",
            AwsErrorKind::Denied { kms: true },
            "Rotation.AccessDenied",
        ),
        (400, "ThrottlingException", "Rate exceeded", AwsErrorKind::Throttled, "Rotation.TransientAws"),
        (
            500,
            "InternalServiceError",
            "An error occurred on the server side.",
            AwsErrorKind::Unavailable,
            "Rotation.TransientAws",
        ),
        (503, "SomeCodeNobodyListed", "try later", AwsErrorKind::Unavailable, "Rotation.TransientAws"),
        (
            400,
            "InvalidRequestException",
            "You can't perform this operation on the secret because it was marked for deletion.",
            AwsErrorKind::Rejected,
            "Rotation.SecretStore",
        ),
    ] {
        let err = answering(status, code, message).describe("my-secret").await.unwrap_err();
        assert_eq!(
            (err.service, err.kind, err.code.as_deref()),
            (Service::SecretsManager, kind, Some(code)),
            "{status} {code}"
        );
        assert!(err.to_string().contains(message), "{err}");
        assert_eq!(RotationError::Store(err).error_type(), error_type, "{code}");
    }
}

#[tokio::test]
async fn a_missing_version_is_no_value_not_an_error() {
    let store = answering(
        400,
        "ResourceNotFoundException",
        "Secrets Manager can't find the specified secret value for staging label: AWSPENDING",
    );
    assert_eq!(store.get("my-secret", Stage::Pending, Some("token")).await.unwrap(), None);
}
