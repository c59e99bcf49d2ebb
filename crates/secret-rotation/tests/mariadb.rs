//! The rotation function against the local stack's MariaDB (TLS on) and moto: both strategies,
//! host patterns and grants copied to the clone, hostile names, certificate verification, and the
//! server's general log and the function's logs free of every new password.
//!
//! Needs the local stack (`make stack-up`; `make test` starts it). Fails, never skips, without it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns

mod support;

use std::collections::HashMap;

use common::testing::{LocalStack, LogCapture};
use common::{ErrorKind, SecretString};
use mysql_async::prelude::Queryable;
use secret_rotation::Rotator;
use secret_rotation::aws::SecretsManager;
use secret_rotation::dbconfig::DbConfig;
use secret_rotation::engines::Engines;
use secret_rotation::mysql::MySql;
use secret_rotation::password::PasswordPolicy;
use secret_rotation::ports::{Database, DbError, Login};
use secret_rotation::postgres::Postgres;
use secret_rotation::secret::{Engine, Tls};
use serde_json::{Value, json};
use support::{STEPS, Service, event, unique};
use tracing::instrument::WithSubscriber;

type FnRotator = Rotator<SecretsManager, Engines<Postgres, MySql>>;

struct Stack {
    local: LocalStack,
    svc: Service,
    admin: mysql_async::Conn,
}

impl std::ops::Deref for Stack {
    type Target = Service;

    fn deref(&self) -> &Service {
        &self.svc
    }
}

impl Stack {
    async fn new() -> Self {
        let local = LocalStack::load();
        let svc = Service::new(&local);
        let opts = mysql_async::OptsBuilder::default()
            .ip_or_hostname("127.0.0.1")
            .tcp_port(local.get("MARIADB_PORT").parse().unwrap())
            .user(Some(local.get("MARIADB_USER")))
            .pass(Some(local.get("MARIADB_PASSWORD")))
            .prefer_socket(false);
        let admin = mysql_async::Conn::new(opts).await.expect("connect to the local MariaDB as admin");
        Self { local, svc, admin }
    }

    fn config(&self, extra: &[(&str, &str)]) -> DbConfig {
        let mut env: HashMap<&str, &str> =
            [("DB_CA_BUNDLE", self.local.get("MARIADB_CA_FILE")), ("DB_SYSTEM_ROOTS", "false"), ("DB_CONNECT_TIMEOUT_SECONDS", "2")]
                .into_iter()
                .collect();
        env.extend(extra.iter().copied());
        DbConfig::from_lookup(&env).unwrap()
    }

    fn rotator(&self, config: DbConfig) -> FnRotator {
        let policy = PasswordPolicy::from_lookup(&HashMap::<&str, &str>::new()).unwrap();
        Rotator::new(
            SecretsManager::from_client(self.sm.clone()),
            Engines { postgres: Postgres::new(config.clone()), mysql: MySql::new(config) },
            policy,
        )
    }

    async fn sql(&mut self, sql: &str) {
        self.admin.query_drop(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    async fn grants(&mut self, user: &str, host: &str) -> Vec<String> {
        let mut grants: Vec<String> = self
            .admin
            .query(format!("SHOW GRANTS FOR {}@{}", secret_rotation::mysql::quote(user), secret_rotation::mysql::quote(host)))
            .await
            .unwrap();
        grants.sort();
        grants
    }

    async fn hosts(&mut self, user: &str) -> Vec<String> {
        let mut hosts: Vec<String> = self.admin.exec("SELECT Host FROM mysql.user WHERE User = ?", (user,)).await.unwrap();
        hosts.sort();
        hosts
    }

    fn secret_json(&self, user: &str, password: &str) -> Value {
        json!({"engine": "mariadb", "host": "127.0.0.1", "port": self.local.get("MARIADB_PORT").parse::<u16>().unwrap(), "username": user, "password": password, "dbname": "shop", "team": "payments"})
    }

    async fn rotate(&mut self, rotator: &FnRotator, arn: &str) {
        let token = self.start_rotation(arn).await;
        for step in STEPS {
            for _ in 0..2 {
                rotator.handle(&event(step, arn, &token)).await.unwrap_or_else(|e| panic!("{step}: {e}"));
            }
        }
        self.end_rotation(arn, &token).await;
    }

    async fn logs_in(&self, secret: &Value) -> bool {
        let login = Login {
            engine: Engine::MySql,
            host: "127.0.0.1".into(),
            port: self.local.get("MARIADB_PORT").parse().unwrap(),
            username: secret["username"].as_str().unwrap().into(),
            password: SecretString::new(secret["password"].as_str().unwrap()),
            dbname: String::new(),
            tls: Tls::Verify,
        };
        match MySql::new(self.config(&[])).connect(&login).await {
            Ok(_) => true,
            Err(DbError::LoginFailed { .. }) => false,
            Err(e) => panic!("login check failed: {e}"),
        }
    }
}

#[tokio::test]
async fn single_user_rotation_on_mariadb() {
    let mut s = Stack::new().await;
    s.sql("CREATE DATABASE IF NOT EXISTS shop").await;
    let user = unique("app");
    s.sql(&format!("CREATE USER '{user}'@'%' IDENTIFIED BY 'Old-pw-1'")).await;
    s.sql(&format!("GRANT SELECT ON shop.* TO '{user}'@'%'")).await;
    let arn = s.create_secret(&s.secret_json(&user, "Old-pw-1")).await;
    let logs = LogCapture::default();
    let rotator = s.rotator(s.config(&[]));
    s.rotate(&rotator, &arn).with_subscriber(logs.subscriber()).await;
    let current = s.value(&arn, "AWSCURRENT").await;
    let new_password = current["password"].as_str().unwrap().to_owned();
    assert_eq!((current["username"].as_str(), current["team"].as_str()), (Some(user.as_str()), Some("payments")));
    assert!(s.logs_in(&current).await);
    assert!(!s.logs_in(&s.secret_json(&user, "Old-pw-1")).await, "the previous password stops working");
    let general = std::fs::read_to_string(s.local.get("MARIADB_GENERAL_LOG")).unwrap();
    assert!(general.contains("SET PASSWORD = '*"), "the general log shows the hash");
    assert!(!general.contains(&new_password), "the new password is not in the server's general log");
    logs.assert_free_of(&["Old-pw-1", &new_password]);
}

#[tokio::test]
async fn alternating_users_copy_hosts_and_grants_on_mariadb() {
    let mut s = Stack::new().await;
    s.sql("CREATE DATABASE IF NOT EXISTS shop").await;
    let user = unique("svc");
    for host in ["%", "10.0.%"] {
        s.sql(&format!("CREATE USER '{user}'@'{host}' IDENTIFIED BY 'Svc-pw-1'")).await;
    }
    s.sql(&format!("GRANT SELECT, INSERT ON shop.* TO '{user}'@'%' WITH GRANT OPTION")).await;
    s.sql(&format!("GRANT SELECT ON shop.* TO '{user}'@'10.0.%'")).await;
    let master = json!({"engine": "mariadb", "host": "127.0.0.1", "port": s.local.get("MARIADB_PORT"), "username": s.local.get("MARIADB_USER"), "password": s.local.get("MARIADB_PASSWORD")});
    let master_arn = s.create_secret(&master).await;
    let mut secret = s.secret_json(&user, "Svc-pw-1");
    secret["masterarn"] = master_arn.into();
    let arn = s.create_secret(&secret).await;
    let logs = LogCapture::default();
    let rotator = s.rotator(s.config(&[]));

    s.rotate(&rotator, &arn).with_subscriber(logs.subscriber()).await;
    let first = s.value(&arn, "AWSCURRENT").await;
    let clone = format!("{user}_clone");
    assert_eq!(first["username"], clone.as_str());
    assert!(s.logs_in(&first).await);
    assert!(s.logs_in(&secret).await, "the old user keeps working until the next rotation");
    assert_eq!(s.hosts(&clone).await, s.hosts(&user).await, "the clone has the user's host patterns");
    for host in ["%", "10.0.%"] {
        let expected: Vec<String> =
            s.grants(&user, host).await.iter().filter(|g| !g.starts_with("GRANT USAGE")).map(|g| g.replace(&user, &clone)).collect();
        let copied: Vec<String> = s.grants(&clone, host).await.into_iter().filter(|g| !g.starts_with("GRANT USAGE")).collect();
        assert_eq!(copied, expected, "grants on {host}");
    }

    s.rotate(&rotator, &arn).with_subscriber(logs.subscriber()).await;
    let second = s.value(&arn, "AWSCURRENT").await;
    assert_eq!(second["username"], user.as_str());
    assert!(s.logs_in(&second).await);
    assert!(!s.logs_in(&secret).await);
    assert!(s.logs_in(&first).await, "the clone still logs in as AWSPREVIOUS");
    logs.assert_free_of(&[
        "Svc-pw-1",
        s.local.get("MARIADB_PASSWORD"),
        first["password"].as_str().unwrap(),
        second["password"].as_str().unwrap(),
    ]);
}

#[tokio::test]
async fn hostile_names_and_unknown_certificates_on_mariadb() {
    let mut s = Stack::new().await;
    let victim = unique("victim");
    s.sql(&format!("CREATE USER '{victim}'@'%' IDENTIFIED BY 'V-pw-1'")).await;
    let user = format!("a'\\\"; DROP USER {victim}");
    s.sql("CREATE DATABASE IF NOT EXISTS shop").await;
    s.sql(&format!("CREATE USER {}@'%' IDENTIFIED BY 'H-pw-1'", secret_rotation::mysql::quote(&user))).await;
    s.sql(&format!("GRANT SELECT ON shop.* TO {}@'%'", secret_rotation::mysql::quote(&user))).await;
    let arn = s.create_secret(&s.secret_json(&user, "H-pw-1")).await;
    s.rotate(&s.rotator(s.config(&[])), &arn).await;
    assert!(s.logs_in(&s.value(&arn, "AWSCURRENT").await).await);
    assert_eq!(s.hosts(&victim).await, ["%"], "nothing in the name was executed");

    let other = unique("tls");
    s.sql(&format!("CREATE USER '{other}'@'%' IDENTIFIED BY 'T-pw-1'")).await;
    s.sql(&format!("GRANT SELECT ON shop.* TO '{other}'@'%'")).await;
    let arn = s.create_secret(&s.secret_json(&other, "T-pw-1")).await;
    let untrusting =
        s.rotator(DbConfig::from_lookup(&HashMap::from([("DB_SYSTEM_ROOTS", "false"), ("DB_CONNECT_TIMEOUT_SECONDS", "2")])).unwrap());
    let token = s.start_rotation(&arn).await;
    let event = |step: &str| event(step, &arn, &token);
    untrusting.handle(&event("createSecret")).await.unwrap();
    let err = untrusting.handle(&event("setSecret")).await.unwrap_err();
    assert_eq!(err.error_type(), "Rotation.Tls", "an unknown CA fails: {err}");
    assert!(s.logs_in(&s.secret_json(&other, "T-pw-1")).await, "nothing changed");
}
