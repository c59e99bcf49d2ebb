//! The rotation function against the local stack: moto as Secrets Manager (`RotateSecret` creates
//! the AWSPENDING version as the service does) and PostgreSQL (the distribution's, 15 to 17) with TLS and SCRAM. Each test
//! drives the four steps like the service, with its own users and secrets.
//!
//! Needs the local stack (`make stack-up`; `make test` starts it). Fails, never skips, without it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns

mod support;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::invocation::observe;
use common::testing::{LocalStack, LogCapture};
use common::{ErrorKind, SecretString};
use secret_rotation::aws::SecretsManager;
use secret_rotation::dbconfig::DbConfig;
use secret_rotation::password::PasswordPolicy;
use secret_rotation::ports::{Database, DbError, Login};
use secret_rotation::postgres::Postgres;
use secret_rotation::secret::Tls;
use secret_rotation::settings::Settings;
use secret_rotation::{Outcome, Rotator};
use serde_json::{Value, json};
use support::{STEPS, Service, event, unique};
use tracing::instrument::WithSubscriber;

struct Stack {
    local: LocalStack,
    svc: Service,
    admin: tokio_postgres::Client,
}

impl std::ops::Deref for Stack {
    type Target = Service;

    fn deref(&self) -> &Service {
        &self.svc
    }
}

impl Stack {
    async fn new() -> Self {
        let stack = LocalStack::load();
        let svc = Service::new(&stack);
        let admin = support::postgres_admin(&stack).await;
        Self { local: stack, svc, admin }
    }

    fn postgres(&self, extra: &[(&str, &str)]) -> Postgres {
        let mut env: HashMap<&str, &str> = [
            ("DB_CA_BUNDLE", self.local.get("PG_CA_FILE")),
            ("DB_SYSTEM_ROOTS", "false"),
            ("DB_CONNECT_TIMEOUT_SECONDS", "2"),
            ("DB_STATEMENT_TIMEOUT_SECONDS", "5"),
        ]
        .into_iter()
        .collect();
        env.extend(extra.iter().copied());
        Postgres::new(DbConfig::from_lookup(&env).unwrap())
    }

    fn rotator(&self, extra: &[(&str, &str)]) -> Rotator<SecretsManager, Postgres> {
        let policy = PasswordPolicy::from_lookup(&HashMap::<&str, &str>::new()).unwrap();
        let settings =
            Settings::from_lookup(&extra.iter().copied().collect::<HashMap<&str, &str>>()).unwrap();
        Rotator::new(SecretsManager::from_client(self.sm.clone()), self.postgres(extra), policy)
            .with_settings(settings)
    }

    /// A rotator that trusts neither the stack's CA nor the system's roots.
    fn untrusting_rotator(&self) -> Rotator<SecretsManager, Postgres> {
        let policy = PasswordPolicy::from_lookup(&HashMap::<&str, &str>::new()).unwrap();
        let env: HashMap<&str, &str> =
            [("DB_SYSTEM_ROOTS", "false"), ("DB_CONNECT_TIMEOUT_SECONDS", "2")].into_iter().collect();
        Rotator::new(
            SecretsManager::from_client(self.sm.clone()),
            Postgres::new(DbConfig::from_lookup(&env).unwrap()),
            policy,
        )
    }

    /// Runs `sql` as `secret`'s user, as the application would.
    async fn as_user(&self, secret: &Value, sql: &str) -> Result<(), String> {
        let conn = format!(
            "host=127.0.0.1 port={} user='{}' password='{}' dbname=postgres sslmode=disable",
            self.local.get("PG_PORT"),
            secret["username"].as_str().unwrap().replace('\'', "\\'"),
            secret["password"].as_str().unwrap().replace('\\', "\\\\").replace('\'', "\\'")
        );
        let (client, connection) =
            tokio_postgres::connect(&conn, tokio_postgres::NoTls).await.map_err(|e| e.to_string())?;
        tokio::spawn(connection);
        client.batch_execute(sql).await.map_err(|e| format!("{e:?}"))
    }

    /// A master user (CREATEROLE) and its secret.
    async fn master(&self) -> String {
        let master = unique("master");
        self.create_user(&master, "Master-pw-1", &[], "CREATEROLE").await;
        self.create_secret(&self.secret_json(&master, "Master-pw-1")).await
    }

    async fn sql(&self, sql: &str) {
        self.admin.batch_execute(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    async fn create_user(&self, name: &str, password: &str, roles: &[&str], attributes: &str) {
        let ident = format!("\"{}\"", name.replace('"', "\"\""));
        let literal = format!("'{}'", password.replace('\'', "''"));
        self.sql(&format!("CREATE ROLE {ident} WITH LOGIN PASSWORD {literal} {attributes}")).await;
        for role in roles {
            self.sql(&format!("GRANT \"{role}\" TO {ident}")).await;
        }
    }

    async fn memberships(&self, user: &str) -> Vec<String> {
        let rows = self
            .admin
            .query(
                "SELECT r.rolname::text FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = $1 ORDER BY 1",
                &[&user],
            )
            .await
            .unwrap();
        rows.iter().map(|r| r.get(0)).collect()
    }

    async fn role_exists(&self, name: &str) -> bool {
        !self.admin.query("SELECT 1 FROM pg_roles WHERE rolname = $1", &[&name]).await.unwrap().is_empty()
    }

    fn secret_json(&self, user: &str, password: &str) -> Value {
        json!({
            "engine": "postgres",
            "host": "127.0.0.1",
            "port": self.local.get("PG_PORT"),
            "username": user,
            "password": password,
            "dbname": "postgres",
            "app": {"team": "payments", "tags": [1, 2]}
        })
    }

    async fn logs_in(&self, secret: &Value) -> bool {
        let port = match &secret["port"] {
            Value::String(p) => p.parse().unwrap(),
            other => u16::try_from(other.as_u64().unwrap()).unwrap(),
        };
        let login = Login {
            engine: secret_rotation::secret::Engine::Postgres,
            host: "127.0.0.1".into(),
            port,
            username: secret["username"].as_str().unwrap().into(),
            password: SecretString::new(secret["password"].as_str().unwrap()),
            dbname: "postgres".into(),
            tls: Tls::Verify,
        };
        match self.postgres(&[]).connect(&login).await {
            Ok(_) => true,
            Err(DbError::LoginFailed { .. }) => false,
            Err(e) => panic!("login check failed: {e}"),
        }
    }

    /// Runs every step as the service does, each twice, checking after each one that AWSCURRENT
    /// or (single user, between setSecret and finishSecret) AWSPENDING logs in.
    async fn rotate(&self, rotator: &Rotator<SecretsManager, Postgres>, arn: &str) -> String {
        let token = self.start_rotation(arn).await;
        for step in STEPS {
            for _ in 0..2 {
                observe(rotator.handle(&event(step, arn, &token)))
                    .await
                    .unwrap_or_else(|e| panic!("{step}: {e}"));
            }
            let current = self.value(arn, "AWSCURRENT").await;
            let ok = self.logs_in(&current).await
                || (step != "createSecret" && self.logs_in(&self.value(arn, "AWSPENDING").await).await);
            assert!(ok, "after {step} neither AWSCURRENT nor AWSPENDING logs in");
        }
        self.end_rotation(arn, &token).await;
        token
    }
}

#[tokio::test]
async fn single_user_rotation_end_to_end() {
    let s = Stack::new().await;
    let group = unique("readers");
    s.sql(&format!("CREATE ROLE {group} NOLOGIN")).await;
    let user = unique("app");
    let old = "Old-pw-1!x";
    s.create_user(&user, old, &[&group], "").await;
    let arn = s.create_secret(&s.secret_json(&user, old)).await;
    let logs = LogCapture::default();
    let rotator = s.rotator(&[]);
    s.rotate(&rotator, &arn).with_subscriber(logs.subscriber()).await;

    let current = s.value(&arn, "AWSCURRENT").await;
    let previous = s.value(&arn, "AWSPREVIOUS").await;
    let new_password = current["password"].as_str().unwrap().to_owned();
    assert_eq!(current["username"], user.as_str());
    assert_eq!(current["app"], json!({"team": "payments", "tags": [1, 2]}), "unknown keys kept");
    assert_eq!(current["port"], s.local.get("PG_PORT"), "a string port stays a string");
    assert_eq!(new_password.len(), 32);
    assert_eq!(previous["password"], old);
    assert!(s.logs_in(&current).await);
    assert!(!s.logs_in(&previous).await, "the previous password stops working");
    assert_eq!(s.memberships(&user).await, [group]);

    let server_log = std::fs::read_to_string(s.local.get("PG_LOG")).unwrap();
    assert!(server_log.contains("PASSWORD 'SCRAM-SHA-256$4096:"), "the statement log shows a verifier");
    assert!(!server_log.contains(&new_password), "the new password is not in the server's statement log");
    logs.assert_free_of(&[old, &new_password]);
    assert!(logs.text().contains("\"step\":\"finishSecret\""));
}

#[tokio::test]
async fn alternating_users_create_the_clone_with_memberships_then_alternate() {
    let s = Stack::new().await;
    let group = unique("writers");
    s.sql(&format!("CREATE ROLE {group} NOLOGIN")).await;
    let master = unique("master");
    s.create_user(&master, "Master-pw-1", &[], "CREATEROLE").await;
    let master_arn = s.create_secret(&s.secret_json(&master, "Master-pw-1")).await;
    let user = unique("svc");
    s.create_user(&user, "Svc-pw-1", &[&group], "").await;
    let mut secret = s.secret_json(&user, "Svc-pw-1");
    secret["masterarn"] = master_arn.clone().into();
    let arn = s.create_secret(&secret).await;
    let logs = LogCapture::default();
    let rotator = s.rotator(&[]);

    s.rotate(&rotator, &arn).with_subscriber(logs.subscriber()).await;
    let first = s.value(&arn, "AWSCURRENT").await;
    let clone = format!("{user}_clone");
    assert_eq!(first["username"], clone.as_str());
    assert_eq!(first["masterarn"], master_arn.as_str());
    assert!(s.logs_in(&first).await);
    assert!(s.logs_in(&secret).await, "the old user keeps working until the next rotation");
    assert_eq!(s.memberships(&clone).await, std::slice::from_ref(&user), "the clone is a member of the user");
    let inherits: bool =
        s.admin.query_one("SELECT pg_has_role($1, $2, 'USAGE')", &[&clone, &group]).await.unwrap().get(0);
    assert!(inherits, "the clone can use the user's memberships");

    s.rotate(&rotator, &arn).with_subscriber(logs.subscriber()).await;
    let second = s.value(&arn, "AWSCURRENT").await;
    assert_eq!(second["username"], user.as_str());
    assert!(s.logs_in(&second).await);
    assert!(!s.logs_in(&secret).await, "the original password is gone");
    assert!(s.logs_in(&first).await, "the clone, now AWSPREVIOUS, still logs in");
    logs.assert_free_of(&[
        "Svc-pw-1",
        "Master-pw-1",
        first["password"].as_str().unwrap(),
        second["password"].as_str().unwrap(),
    ]);
}

#[tokio::test]
async fn hostile_user_names_and_passwords_rotate_safely() {
    let s = Stack::new().await;
    let victim = unique("victim");
    s.sql(&format!("CREATE ROLE {victim} NOLOGIN")).await;
    let user = format!("a\"; DROP ROLE {victim}; --'\\");
    let password = "p'w\"\\; DROP TABLE x; --";
    s.create_user(&user, password, &[], "").await;
    let arn = s.create_secret(&s.secret_json(&user, password)).await;
    s.rotate(&s.rotator(&[]), &arn).await;
    let current = s.value(&arn, "AWSCURRENT").await;
    assert_eq!(current["username"], user.as_str());
    assert!(s.logs_in(&current).await);
    assert!(s.role_exists(&victim).await, "nothing in the name was executed");

    let master = unique("master");
    s.create_user(&master, "Master-pw-2", &[], "CREATEROLE").await;
    let master_arn = s.create_secret(&s.secret_json(&master, "Master-pw-2")).await;
    let user2 = format!("b\"; DROP ROLE {victim}; --");
    s.create_user(&user2, "Pw-2", &[], "").await;
    let mut secret = s.secret_json(&user2, "Pw-2");
    secret["masterarn"] = master_arn.into();
    let arn2 = s.create_secret(&secret).await;
    s.rotate(&s.rotator(&[]), &arn2).await;
    assert!(s.role_exists(&format!("{user2}_clone")).await);
    assert!(s.role_exists(&victim).await);
}

#[tokio::test]
async fn a_step_that_died_midway_converges_on_retry() {
    let s = Stack::new().await;
    let user = unique("app");
    s.create_user(&user, "Old-pw-2", &[], "").await;
    let arn = s.create_secret(&s.secret_json(&user, "Old-pw-2")).await;
    let rotator = s.rotator(&[]);
    let token = s.start_rotation(&arn).await;
    observe(rotator.handle(&event("createSecret", &arn, &token))).await.unwrap();
    let pending = s.value(&arn, "AWSPENDING").await;
    // setSecret's ALTER ROLE ran, then the function died before answering.
    let verifier_sql = format!(
        "ALTER ROLE \"{user}\" PASSWORD '{}'",
        pending["password"].as_str().unwrap().replace('\'', "''")
    );
    s.sql(&verifier_sql).await;
    assert!(!s.logs_in(&s.value(&arn, "AWSCURRENT").await).await);
    assert_eq!(
        observe(rotator.handle(&event("setSecret", &arn, &token))).await.unwrap(),
        Outcome::AlreadyDone
    );
    observe(rotator.handle(&event("testSecret", &arn, &token))).await.unwrap();
    // finishSecret's stage move happened, then the function died.
    let current_version =
        s.sm.describe_secret()
            .secret_id(&arn)
            .send()
            .await
            .unwrap()
            .version_ids_to_stages
            .unwrap()
            .into_iter()
            .find(|(_, stages)| stages.iter().any(|st| st == "AWSCURRENT"))
            .unwrap()
            .0;
    s.sm.update_secret_version_stage()
        .secret_id(&arn)
        .version_stage("AWSCURRENT")
        .move_to_version_id(&token)
        .remove_from_version_id(current_version)
        .send()
        .await
        .unwrap();
    assert_eq!(
        observe(rotator.handle(&event("finishSecret", &arn, &token))).await.unwrap(),
        Outcome::AlreadyCurrent
    );
    s.end_rotation(&arn, &token).await;
    assert!(s.logs_in(&s.value(&arn, "AWSCURRENT").await).await);
}

#[tokio::test]
async fn tls_is_verified_and_never_silently_dropped() {
    let s = Stack::new().await;
    let user = unique("tlsonly");
    s.create_user(&user, "Tls-pw-1", &["ssl_required"], "").await;
    let mut plaintext = s.secret_json(&user, "Tls-pw-1");
    plaintext["ssl"] = false.into();
    let arn = s.create_secret(&plaintext).await;
    let rotator = s.rotator(&[]);
    let token = s.start_rotation(&arn).await;
    observe(rotator.handle(&event("createSecret", &arn, &token))).await.unwrap();
    let err = observe(rotator.handle(&event("setSecret", &arn, &token))).await.unwrap_err();
    assert_eq!(err.error_type(), "Rotation.Tls", "{err}");
    assert!(err.to_string().contains("requires TLS"), "{err}");

    let user2 = unique("app");
    s.create_user(&user2, "Tls-pw-2", &[], "").await;
    let arn2 = s.create_secret(&s.secret_json(&user2, "Tls-pw-2")).await;
    let untrusting = s.untrusting_rotator();
    let token2 = s.start_rotation(&arn2).await;
    observe(untrusting.handle(&event("createSecret", &arn2, &token2))).await.unwrap();
    let err = observe(untrusting.handle(&event("setSecret", &arn2, &token2))).await.unwrap_err();
    assert_eq!(err.error_type(), "Rotation.Tls", "an unknown CA fails: {err}");
    assert!(s.logs_in(&s.secret_json(&user2, "Tls-pw-2")).await, "nothing changed");
}

#[tokio::test]
async fn wrong_passwords_dead_databases_and_bad_secrets_change_nothing() {
    let logs = LogCapture::default();
    failures_change_nothing().with_subscriber(logs.subscriber()).await;
    logs.assert_free_of(&["Right-pw-1", "Wrong-pw-1"]);
    assert!(logs.text().contains("Rotation.DatabaseUnreachable"));
}

async fn failures_change_nothing() {
    let s = Stack::new().await;
    let rotator = s.rotator(&[]);
    let user = unique("app");
    s.create_user(&user, "Right-pw-1", &[], "").await;
    let arn = s.create_secret(&s.secret_json(&user, "Wrong-pw-1")).await;
    let token = s.start_rotation(&arn).await;
    observe(rotator.handle(&event("createSecret", &arn, &token))).await.unwrap();
    let err = observe(rotator.handle(&event("setSecret", &arn, &token))).await.unwrap_err();
    assert_eq!(err.error_type(), "Rotation.DatabaseLogin", "{err}");
    assert!(s.logs_in(&s.secret_json(&user, "Right-pw-1")).await);

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut down = s.secret_json(&user, "Right-pw-1");
    down["port"] = closed.into();
    let arn = s.create_secret(&down).await;
    let token = s.start_rotation(&arn).await;
    observe(rotator.handle(&event("createSecret", &arn, &token))).await.unwrap();
    let err = observe(rotator.handle(&event("setSecret", &arn, &token))).await.unwrap_err();
    assert_eq!(err.error_type(), "Rotation.DatabaseUnreachable", "{err}");

    // A black hole: the port accepts connections and never answers.
    let hole = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hole_port = hole.local_addr().unwrap().port();
    let held = tokio::spawn(async move {
        let mut kept = Vec::new();
        while let Ok((sock, _)) = hole.accept().await {
            kept.push(sock);
        }
    });
    let mut black = s.secret_json(&user, "Right-pw-1");
    black["port"] = hole_port.into();
    let arn = s.create_secret(&black).await;
    let token = s.start_rotation(&arn).await;
    observe(rotator.handle(&event("createSecret", &arn, &token))).await.unwrap();
    let started = Instant::now();
    let err = observe(rotator.handle(&event("setSecret", &arn, &token))).await.unwrap_err();
    assert_eq!(err.error_type(), "Rotation.DatabaseUnreachable", "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "failed within the connect timeout: {:?}",
        started.elapsed()
    );
    held.abort();

    for field in ["username", "password", "host", "engine"] {
        let mut broken = s.secret_json(&user, "Right-pw-1");
        broken.as_object_mut().unwrap().remove(field);
        let arn = s.create_secret(&broken).await;
        let token = s.start_rotation(&arn).await;
        let err = observe(rotator.handle(&event("createSecret", &arn, &token))).await.unwrap_err();
        // Without an engine, a secret with a host and password is still database credentials,
        // never taken for a non-database secret whose rotation would leave the database behind.
        assert_eq!(err.error_type(), "Rotation.InvalidSecret", "{field}: {err}");
        assert!(err.to_string().contains(field), "{err}");
        let pending =
            s.sm.get_secret_value()
                .secret_id(&arn)
                .version_id(&token)
                .version_stage("AWSPENDING")
                .send()
                .await;
        assert!(pending.is_err(), "{field}: nothing was stored");
    }
    let mut mysql = s.secret_json(&user, "Right-pw-1");
    mysql["engine"] = "sqlserver-ee".into();
    let arn = s.create_secret(&mysql).await;
    let token = s.start_rotation(&arn).await;
    assert_eq!(
        observe(rotator.handle(&event("createSecret", &arn, &token))).await.unwrap_err().error_type(),
        "Rotation.UnsupportedEngine"
    );
}

#[tokio::test]
async fn a_non_database_secret_rotates_its_keys_on_moto() {
    let s = Stack::new().await;
    let arn = s.create_secret(&json!({"api_key": "Old-api-key-1", "client_id": "svc-7", "quota": 500})).await;
    let logs = LogCapture::default();
    let rotator = s.rotator(&[]).with_rotate_keys(vec!["api_key".into()]);
    let token = s.start_rotation(&arn).await;
    async {
        for step in STEPS {
            for _ in 0..2 {
                observe(rotator.handle(&event(step, &arn, &token)))
                    .await
                    .unwrap_or_else(|e| panic!("{step}: {e}"));
            }
        }
    }
    .with_subscriber(logs.subscriber())
    .await;
    s.end_rotation(&arn, &token).await;
    let current = s.value(&arn, "AWSCURRENT").await;
    let new_key = current["api_key"].as_str().unwrap().to_owned();
    assert_ne!(new_key, "Old-api-key-1");
    assert_eq!((current["client_id"].as_str(), current["quota"].as_i64()), (Some("svc-7"), Some(500)));
    assert_eq!(s.value(&arn, "AWSPREVIOUS").await["api_key"], "Old-api-key-1");
    assert!(logs.text().contains("setSecret has nothing to set"));
    logs.assert_free_of(&["Old-api-key-1", &new_key]);
}

/// A rotation as the service drives it, then the application's own queries as AWSCURRENT, and
/// AWSPREVIOUS still logging in (alternating users).
async fn rotate_and_use(
    s: &Stack,
    rotator: &Rotator<SecretsManager, Postgres>,
    arn: &str,
    app_sql: &str,
) -> Value {
    s.rotate(rotator, arn).await;
    let current = s.value(arn, "AWSCURRENT").await;
    s.as_user(&current, app_sql)
        .await
        .unwrap_or_else(|e| panic!("the application's queries as {}: {e}", current["username"]));
    assert!(s.logs_in(&s.value(arn, "AWSPREVIOUS").await).await, "AWSPREVIOUS still logs in");
    current
}

#[tokio::test]
async fn the_clone_can_use_what_the_user_owns_and_was_granted_on_every_rotation() {
    let s = Stack::new().await;
    let master_arn = s.master().await;
    let user = unique("owner");
    s.create_user(&user, "Own-pw-1", &[], "").await;
    let (owned, granted, later) = (unique("orders"), unique("prices"), unique("audit"));
    // A table the user owns, one granted to it directly, and (later) a role given after the first rotation.
    s.sql(&format!("CREATE TABLE {owned} (id int); ALTER TABLE {owned} OWNER TO {user}")).await;
    s.sql(&format!("CREATE TABLE {granted} (id int); GRANT SELECT ON {granted} TO {user}")).await;
    let mut secret = s.secret_json(&user, "Own-pw-1");
    secret["masterarn"] = master_arn.into();
    let arn = s.create_secret(&secret).await;
    let rotator = s.rotator(&[]);
    let app_sql =
        format!("INSERT INTO {owned} VALUES (1); SELECT count(*) FROM {owned}; SELECT * FROM {granted}");

    let first = rotate_and_use(&s, &rotator, &arn, &app_sql).await;
    assert_eq!(first["username"], format!("{user}_clone"));
    s.as_user(&first, &format!("ALTER TABLE {owned} ADD COLUMN note text"))
        .await
        .expect("the clone acts as the owner");

    s.sql(&format!(
        "CREATE ROLE {later} NOLOGIN; CREATE TABLE {later}_t (id int); GRANT SELECT ON {later}_t TO {later}; GRANT {later} TO {user}"
    ))
    .await;
    // Someone tidied the clone's membership away: the next rotation repairs it.
    s.sql(&format!("REVOKE {user} FROM {user}_clone")).await;
    let second = rotate_and_use(&s, &rotator, &arn, &app_sql).await;
    assert_eq!(second["username"], user.as_str());
    let third = rotate_and_use(&s, &rotator, &arn, &format!("{app_sql}; SELECT * FROM {later}_t")).await;
    assert_eq!(
        third["username"],
        format!("{user}_clone"),
        "the clone, in line again, uses a role given after the first rotation"
    );
}

#[tokio::test]
async fn a_secret_cannot_turn_the_master_against_users_it_does_not_know() {
    let logs = LogCapture::default();
    async {
        let s = Stack::new().await;
        let master_arn = s.master().await;
        let master_name = s.value(&master_arn, "AWSCURRENT").await["username"].as_str().unwrap().to_owned();
        let victim = unique("victim");
        s.create_user(&victim, "Victim-pw-1", &[], "").await;
        let rotator = s.rotator(&[]);
        // A user whose password the writer of the secret does not know, its clone, the master
        // itself and the master's clone name (with the master's own password).
        let cases = [
            (victim.clone(), "Guessed-pw-1", "Rotation.DatabaseLogin"),
            (format!("{victim}_clone"), "Guessed-pw-1", "Rotation.DatabaseLogin"),
            (master_name.clone(), "Master-pw-1", "Rotation.NotAllowed"),
            (format!("{master_name}_clone"), "Master-pw-1", "Rotation.NotAllowed"),
        ];
        for (user, password, error_type) in cases {
            let mut secret = s.secret_json(&user, password);
            secret["masterarn"] = master_arn.clone().into();
            let arn = s.create_secret(&secret).await;
            let token = s.start_rotation(&arn).await;
            observe(rotator.handle(&event("createSecret", &arn, &token))).await.unwrap();
            let err = observe(rotator.handle(&event("setSecret", &arn, &token))).await.unwrap_err();
            assert_eq!(err.error_type(), error_type, "{user}: {err}");
        }
        assert!(
            s.logs_in(&s.secret_json(&victim, "Victim-pw-1")).await,
            "the victim's password is unchanged"
        );
        assert!(!s.role_exists(&format!("{victim}_clone")).await, "no clone of the victim");
        assert!(!s.role_exists(&format!("{master_name}_clone")).await, "no clone of the master");
        assert!(
            s.logs_in(&s.secret_json(&master_name, "Master-pw-1")).await,
            "the master's password is unchanged"
        );
    }
    .with_subscriber(logs.subscriber())
    .await;
    logs.assert_free_of(&["Victim-pw-1", "Guessed-pw-1", "Master-pw-1"]);
}

#[tokio::test]
async fn allow_lists_refuse_other_secrets_and_masters() {
    let s = Stack::new().await;
    let master_arn = s.master().await;
    let user = unique("app");
    s.create_user(&user, "Allow-pw-1", &[], "").await;
    let mut secret = s.secret_json(&user, "Allow-pw-1");
    secret["masterarn"] = master_arn.clone().into();
    let arn = s.create_secret(&secret).await;
    let token = s.start_rotation(&arn).await;
    let refused = s.rotator(&[("ALLOWED_SECRETS", "some/other-secret")]);
    let err = observe(refused.handle(&event("createSecret", &arn, &token))).await.unwrap_err();
    assert_eq!(err.error_type(), "Rotation.NotAllowed", "{err}");
    let only_secret = s.rotator(&[("ALLOWED_SECRETS", &arn), ("ALLOWED_MASTER_SECRETS", "none")]);
    observe(only_secret.handle(&event("createSecret", &arn, &token))).await.unwrap();
    let err = observe(only_secret.handle(&event("setSecret", &arn, &token))).await.unwrap_err();
    assert_eq!(err.error_type(), "Rotation.NotAllowed", "{err}");
    assert!(!s.role_exists(&format!("{user}_clone")).await);
    let both = s.rotator(&[("ALLOWED_SECRETS", &arn), ("ALLOWED_MASTER_SECRETS", &master_arn)]);
    for step in ["setSecret", "testSecret", "finishSecret"] {
        observe(both.handle(&event(step, &arn, &token))).await.unwrap_or_else(|e| panic!("{step}: {e}"));
    }
    s.end_rotation(&arn, &token).await;
    assert!(s.logs_in(&s.value(&arn, "AWSCURRENT").await).await);
}

#[tokio::test]
async fn md5_servers_get_an_md5_hash_and_the_user_logs_in() {
    let s = Stack::new().await;
    let user = unique("md5u");
    s.create_user(&user, "Md5-pw-1", &["md5_users"], "").await;
    s.sql(&format!("ALTER ROLE {user} SET password_encryption = 'md5'")).await;
    let arn = s.create_secret(&s.secret_json(&user, "Md5-pw-1")).await;
    s.rotate(&s.rotator(&[]), &arn).await;
    let current = s.value(&arn, "AWSCURRENT").await;
    let stored: String = s
        .admin
        .query_one("SELECT rolpassword FROM pg_authid WHERE rolname = $1", &[&user])
        .await
        .unwrap()
        .get(0);
    assert!(
        stored.starts_with("md5") && stored.len() == 35,
        "the server keeps an md5 hash: {}",
        &stored[..6]
    );
    assert!(s.logs_in(&current).await);
    let server_log = std::fs::read_to_string(s.local.get("PG_LOG")).unwrap();
    assert!(
        !server_log.contains(current["password"].as_str().unwrap()),
        "no plaintext password in the server's log"
    );
}

#[tokio::test]
async fn rotation_works_behind_pgbouncer_with_its_default_settings() {
    let s = Stack::new().await;
    let behind = |secret: &mut Value| secret["port"] = s.local.get("PGBOUNCER_PORT").into();
    // Single user.
    let user = unique("pgb");
    s.create_user(&user, "Pgb-pw-1", &[], "").await;
    let mut secret = s.secret_json(&user, "Pgb-pw-1");
    behind(&mut secret);
    let arn = s.create_secret(&secret).await;
    let rotator = s.rotator(&[("TEST_QUERY", "SELECT 1")]);
    s.rotate(&rotator, &arn).await;
    assert!(s.logs_in(&s.value(&arn, "AWSCURRENT").await).await);
    assert!(!s.logs_in(&s.value(&arn, "AWSPREVIOUS").await).await);
    // Alternating users, the master behind PgBouncer too.
    let master = unique("master");
    s.create_user(&master, "Master-pw-3", &[], "CREATEROLE").await;
    let mut master_secret = s.secret_json(&master, "Master-pw-3");
    behind(&mut master_secret);
    let master_arn = s.create_secret(&master_secret).await;
    let user = unique("pgba");
    s.create_user(&user, "Pgb-pw-2", &[], "").await;
    let mut secret = s.secret_json(&user, "Pgb-pw-2");
    behind(&mut secret);
    secret["masterarn"] = master_arn.into();
    let arn = s.create_secret(&secret).await;
    for expected in [format!("{user}_clone"), user.clone()] {
        s.rotate(&rotator, &arn).await;
        let current = s.value(&arn, "AWSCURRENT").await;
        assert_eq!(current["username"], expected.as_str());
        assert!(s.logs_in(&current).await);
        assert!(s.logs_in(&s.value(&arn, "AWSPREVIOUS").await).await);
    }
    let pgbouncer_log = std::fs::read_to_string(s.local.get("PGBOUNCER_LOG")).unwrap();
    assert!(!pgbouncer_log.contains("unsupported startup parameter"), "no startup parameter was refused");
}

#[tokio::test]
async fn test_query_runs_read_only_as_the_pending_user() {
    let s = Stack::new().await;
    let user = unique("tq");
    s.create_user(&user, "Tq-pw-1", &[], "").await;
    let table = unique("ledger");
    s.sql(&format!(
        "CREATE TABLE {table} (id int); INSERT INTO {table} VALUES (1); GRANT ALL ON {table} TO {user}"
    ))
    .await;
    let arn = s.create_secret(&s.secret_json(&user, "Tq-pw-1")).await;
    let select = format!("SELECT count(*) FROM {table}");
    s.rotate(&s.rotator(&[("TEST_QUERY", &select)]), &arn).await;
    for (query, why) in [
        (format!("DELETE FROM {table}"), "read-only transaction"),
        (format!("SELECT 1; DELETE FROM {table}"), "multiple commands"),
        ("SELECT * FROM pg_authid".to_owned(), "permission denied"),
    ] {
        let rotator = s.rotator(&[("TEST_QUERY", &query)]);
        let token = s.start_rotation(&arn).await;
        observe(rotator.handle(&event("createSecret", &arn, &token))).await.unwrap();
        // Single user: the query runs as the user before its password changes, so a query that
        // cannot pass fails the rotation while AWSCURRENT still logs in.
        let err = observe(rotator.handle(&event("setSecret", &arn, &token))).await.unwrap_err();
        assert_eq!(err.error_type(), "Rotation.TestFailed", "{query}: {err}");
        assert!(err.to_string().contains(why), "{query}: {err}");
        assert!(s.logs_in(&s.value(&arn, "AWSCURRENT").await).await, "{query}: nothing changed");
        s.end_rotation(&arn, &token).await;
    }
    let rows: i64 = s.admin.query_one(&format!("SELECT count(*) FROM {table}"), &[]).await.unwrap().get(0);
    assert_eq!(rows, 1, "nothing was written");
}

/// The lines PostgreSQL logged (`log_statement = 'all'`) after `offset` for sessions of `users`:
/// each session's `connection authorized` line names its user and its process id.
fn statements_by(log: &str, offset: usize, users: &[&str]) -> Vec<String> {
    let tail = &log[offset..];
    let pid = |line: &str| {
        line.split_once(" [").and_then(|(_, rest)| rest.split_once(']')).map(|(p, _)| p.to_owned())
    };
    let pids: Vec<String> = tail
        .lines()
        .filter(|l| users.iter().any(|u| l.contains(&format!("connection authorized: user={u} "))))
        .filter_map(pid)
        .collect();
    tail.lines()
        .filter(|l| pid(l).is_some_and(|p| pids.contains(&p)))
        .filter(|l| l.contains("statement: ") || l.contains("execute "))
        .map(str::to_owned)
        .collect()
}

fn doctor_status(
    report: &secret_rotation::Report,
    check: secret_rotation::Check,
) -> Option<secret_rotation::Status> {
    report.finding(check).map(|f| f.status)
}

#[tokio::test]
async fn the_doctor_finds_each_fault_for_real_and_writes_nothing() {
    use secret_rotation::network::TcpNetwork;
    use secret_rotation::{Check, Status};

    let s = Stack::new().await;
    let network = TcpNetwork::new(Duration::from_secs(2));
    let rotator = s.rotator(&[("TEST_QUERY", "SELECT 1")]);
    let master_arn = s.master().await;
    let master = s.value(&master_arn, "AWSCURRENT").await["username"].as_str().unwrap().to_owned();
    let user = unique("svc");
    s.create_user(&user, "Svc-pw-1", &[], "").await;
    let mut secret = s.secret_json(&user, "Svc-pw-1");
    secret["masterarn"] = master_arn.clone().into();
    let arn = s.create_secret(&secret).await;
    let now =
        i64::try_from(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs())
            .unwrap();

    // Never rotated: rotation is off, and there is no clone yet.
    let report = rotator.doctor(&network, &arn, None, now).await.unwrap();
    assert_eq!(doctor_status(&report, Check::RotationEnabled), Some(Status::Fail), "{report:#?}");
    assert_eq!(doctor_status(&report, Check::CurrentLogin), Some(Status::Pass), "{report:#?}");
    assert_eq!(doctor_status(&report, Check::Tls), Some(Status::Pass));
    assert_eq!(doctor_status(&report, Check::TestQuery), Some(Status::Pass));
    assert_eq!(doctor_status(&report, Check::MasterPrivileges), Some(Status::Pass), "{report:#?}");
    assert!(report.finding(Check::CloneDrift).unwrap().detail.contains("the first rotation creates it"));

    // Healthy after a rotation; then read-only, on the server's own statement log.
    s.rotate(&rotator, &arn).await;
    let log_path = s.local.get("PG_LOG");
    let offset = std::fs::read_to_string(log_path).unwrap().len();
    let logs = LogCapture::default();
    let report = rotator.doctor(&network, &arn, None, now).with_subscriber(logs.subscriber()).await.unwrap();
    assert!(report.ok, "{report:#?}");
    let clone = format!("{user}_clone");
    let statements =
        statements_by(&std::fs::read_to_string(log_path).unwrap(), offset, &[&user, &clone, &master]);
    assert!(statements.len() >= 3, "the doctor's sessions are in the log: {statements:#?}");
    let writes = ["INSERT", "UPDATE", "DELETE", "CREATE", "ALTER", "GRANT", "REVOKE", "DROP", "SET ROLE"];
    for line in &statements {
        let upper = line.to_uppercase();
        assert!(!writes.iter().any(|w| upper.contains(&format!("{w} "))), "the doctor wrote: {line}");
    }
    let current = s.value(&arn, "AWSCURRENT").await;
    let report_json = serde_json::to_string(&report).unwrap();
    for secret in ["Svc-pw-1", "Master-pw-1", current["password"].as_str().unwrap()] {
        assert!(!report_json.contains(secret));
    }
    logs.assert_free_of(&["Svc-pw-1", "Master-pw-1", current["password"].as_str().unwrap()]);

    // A drifted clone (AWSCURRENT now: a failure), a master that lost CREATEROLE, a stuck rotation.
    s.sql(&format!("REVOKE \"{user}\" FROM \"{clone}\"")).await;
    s.sql(&format!("ALTER ROLE \"{master}\" NOCREATEROLE")).await;
    let stuck = s.start_rotation(&arn).await;
    let report = rotator.doctor(&network, &arn, None, now).await.unwrap();
    assert!(!report.ok);
    let drift = report.finding(Check::CloneDrift).unwrap();
    assert_eq!(drift.status, Status::Fail, "{drift:?}");
    assert!(drift.detail.contains(&format!("{clone} is not a member of {user}")), "{drift:?}");
    let privileges = report.finding(Check::MasterPrivileges).unwrap();
    assert_eq!(privileges.status, Status::Fail);
    assert!(privileges.detail.contains("CREATEROLE"), "{privileges:?}");
    assert!(report.finding(Check::StuckRotation).unwrap().fix.contains(&stuck));
    assert_eq!(s.memberships(&clone).await, Vec::<String>::new(), "the doctor repaired nothing");
    s.end_rotation(&arn, &stuck).await;

    // AWSCURRENT's password changed by hand.
    s.sql(&format!("ALTER ROLE \"{clone}\" PASSWORD 'Changed-by-hand-1'")).await;
    let report = rotator.doctor(&network, &arn, None, now).await.unwrap();
    assert_eq!(doctor_status(&report, Check::CurrentLogin), Some(Status::Fail), "{report:#?}");
}

#[tokio::test]
async fn the_doctor_tells_a_closed_port_a_silent_port_and_an_untrusted_ca_apart() {
    use secret_rotation::network::TcpNetwork;
    use secret_rotation::{Check, Status};

    let s = Stack::new().await;
    let network = TcpNetwork::new(Duration::from_secs(2));
    let user = unique("app");
    s.create_user(&user, "Net-pw-1", &[], "").await;
    let now = 0;

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut secret = s.secret_json(&user, "Net-pw-1");
    secret["port"] = closed.into();
    let arn = s.create_secret(&secret).await;
    let report = s.rotator(&[]).doctor(&network, &arn, None, now).await.unwrap();
    assert_eq!(doctor_status(&report, Check::Dns), Some(Status::Pass));
    assert_eq!(doctor_status(&report, Check::Port), Some(Status::Fail), "{report:#?}");
    assert!(report.finding(Check::CurrentLogin).is_none());

    // Accepts the TCP connection, never says a word.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    secret["port"] = silent.local_addr().unwrap().port().into();
    let arn = s.create_secret(&secret).await;
    let started = Instant::now();
    let report = s.rotator(&[]).doctor(&network, &arn, None, now).await.unwrap();
    assert_eq!(doctor_status(&report, Check::Port), Some(Status::Pass));
    let login = report.finding(Check::CurrentLogin).unwrap();
    assert_eq!(login.status, Status::Fail, "{login:?}");
    assert!(started.elapsed() < Duration::from_secs(10), "bounded by the connect time-out");

    let arn = s.create_secret(&s.secret_json(&user, "Net-pw-1")).await;
    let untrusting = s.untrusting_rotator();
    let report = untrusting.doctor(&network, &arn, None, now).await.unwrap();
    assert_eq!(doctor_status(&report, Check::Tls), Some(Status::Fail), "{report:#?}");
    assert!(report.finding(Check::CurrentLogin).is_none());
}
