//! What the rotation integration tests share: Secrets Manager on the local stack's moto, driven
//! as the service drives a rotation.

use std::sync::atomic::{AtomicUsize, Ordering};

use aws_sdk_secretsmanager::types::RotationRulesType;
use common::testing::LocalStack;
use secret_rotation::RotationEvent;
use serde_json::Value;

pub const STEPS: [&str; 4] = ["createSecret", "setSecret", "testSecret", "finishSecret"];

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A name no other test uses, short enough for MySQL's 32-character user names with `_clone`.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}{}x{}", std::process::id() % 100_000, COUNTER.fetch_add(1, Ordering::SeqCst))
}

pub fn event(step: &str, arn: &str, token: &str) -> RotationEvent {
    RotationEvent {
        step: step.into(),
        secret_id: arn.into(),
        client_request_token: token.into(),
        rotation_token: None,
    }
}

/// Secrets Manager, as the tests and the service use it.
pub struct Service {
    pub sm: aws_sdk_secretsmanager::Client,
    rotation_lambda_arn: String,
}

impl Service {
    pub fn new(local: &LocalStack) -> Self {
        Self {
            sm: aws_sdk_secretsmanager::Client::new(&local.sdk_config()),
            rotation_lambda_arn: local.get("ROTATION_LAMBDA_ARN").to_owned(),
        }
    }

    pub async fn create_secret(&self, value: &Value) -> String {
        self.sm
            .create_secret()
            .name(unique("rotation-it-"))
            .secret_string(value.to_string())
            .send()
            .await
            .unwrap()
            .arn
            .unwrap()
    }

    /// `RotateSecret`, as the service starts a rotation: AWSPENDING on a new, empty version.
    pub async fn start_rotation(&self, arn: &str) -> String {
        let out = self
            .sm
            .rotate_secret()
            .secret_id(arn)
            .rotation_lambda_arn(&self.rotation_lambda_arn)
            .rotation_rules(RotationRulesType::builder().automatically_after_days(30).build())
            .send()
            .await
            .unwrap();
        out.version_id.unwrap()
    }

    /// What the service does after finishSecret: removes the AWSPENDING label.
    pub async fn end_rotation(&self, arn: &str, token: &str) {
        self.sm
            .update_secret_version_stage()
            .secret_id(arn)
            .version_stage("AWSPENDING")
            .remove_from_version_id(token)
            .send()
            .await
            .unwrap();
    }

    pub async fn value(&self, arn: &str, stage: &str) -> Value {
        let out = self.sm.get_secret_value().secret_id(arn).version_stage(stage).send().await.unwrap();
        serde_json::from_str(&out.secret_string.unwrap()).unwrap()
    }
}

/// A session on the local PostgreSQL as its superuser, to set up users and check on them.
#[allow(dead_code)] // the MariaDB tests share this module
pub async fn postgres_admin(local: &LocalStack) -> tokio_postgres::Client {
    let conn = format!(
        "host=127.0.0.1 port={} user=postgres password={} dbname=postgres sslmode=disable",
        local.get("PG_PORT"),
        local.get("PG_PASSWORD")
    );
    let (admin, connection) = tokio_postgres::connect(&conn, tokio_postgres::NoTls)
        .await
        .expect("connect to the local PostgreSQL as postgres");
    tokio::spawn(connection);
    admin
}
