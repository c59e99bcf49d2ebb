//! The rotation function against the local stack's MariaDB (TLS on) and moto: both strategies,
//! host patterns and grants copied to the clone, hostile names, certificate verification, and the
//! server's general log and the function's logs free of every new password.
//!
//! Needs the local stack (`make stack-up`; `make test` starts it). Fails, never skips, without it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns

mod support;

use std::collections::HashMap;

use common::invocation::observe;
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
        let mut env: HashMap<&str, &str> = [
            ("DB_CA_BUNDLE", self.local.get("MARIADB_CA_FILE")),
            ("DB_SYSTEM_ROOTS", "false"),
            ("DB_CONNECT_TIMEOUT_SECONDS", "2"),
        ]
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
            .query(format!(
                "SHOW GRANTS FOR {}@{}",
                secret_rotation::mysql::quote(user),
                secret_rotation::mysql::quote(host)
            ))
            .await
            .unwrap();
        grants.sort();
        grants
    }

    async fn hosts(&mut self, user: &str) -> Vec<String> {
        let mut hosts: Vec<String> =
            self.admin.exec("SELECT Host FROM mysql.user WHERE User = ?", (user,)).await.unwrap();
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
                observe(rotator.handle(&event(step, arn, &token)))
                    .await
                    .unwrap_or_else(|e| panic!("{step}: {e}"));
            }
        }
        self.end_rotation(arn, &token).await;
    }

    /// Runs `sql` as `secret`'s user over TLS, as the application would.
    async fn as_user(&self, secret: &Value, sql: &str) -> Result<(), String> {
        let ca = std::path::PathBuf::from(self.local.get("MARIADB_CA_FILE"));
        let opts = mysql_async::OptsBuilder::default()
            .ip_or_hostname("127.0.0.1")
            .tcp_port(self.local.get("MARIADB_PORT").parse().unwrap())
            .user(Some(secret["username"].as_str().unwrap()))
            .pass(Some(secret["password"].as_str().unwrap()))
            .prefer_socket(false)
            .ssl_opts(mysql_async::SslOpts::default().with_root_certs(vec![ca.into()]));
        let mut conn = mysql_async::Conn::new(opts).await.map_err(|e| e.to_string())?;
        conn.query_drop(sql).await.map_err(|e| e.to_string())
    }

    /// What `mysql.user` says of `user@host`: TLS requirement, a resource limit, default role.
    async fn account(&mut self, user: &str, host: &str) -> (String, u64, String) {
        self.admin
            .exec_first(
                "SELECT CAST(ssl_type AS CHAR), CAST(max_user_connections AS UNSIGNED), default_role FROM mysql.user WHERE User = ? AND Host = ?",
                (user, host),
            )
            .await
            .unwrap()
            .unwrap()
    }

    fn master_secret(&self) -> Value {
        json!({"engine": "mariadb", "host": "127.0.0.1", "port": self.local.get("MARIADB_PORT"), "username": self.local.get("MARIADB_USER"), "password": self.local.get("MARIADB_PASSWORD")})
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
    assert_eq!(
        (current["username"].as_str(), current["team"].as_str()),
        (Some(user.as_str()), Some("payments"))
    );
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
        let expected: Vec<String> = s
            .grants(&user, host)
            .await
            .iter()
            .filter(|g| !g.starts_with("GRANT USAGE"))
            .map(|g| g.replace(&user, &clone))
            .collect();
        let copied: Vec<String> =
            s.grants(&clone, host).await.into_iter().filter(|g| !g.starts_with("GRANT USAGE")).collect();
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
    let untrusting = s.rotator(
        DbConfig::from_lookup(&HashMap::from([
            ("DB_SYSTEM_ROOTS", "false"),
            ("DB_CONNECT_TIMEOUT_SECONDS", "2"),
        ]))
        .unwrap(),
    );
    let token = s.start_rotation(&arn).await;
    let event = |step: &str| event(step, &arn, &token);
    observe(untrusting.handle(&event("createSecret"))).await.unwrap();
    let err = observe(untrusting.handle(&event("setSecret"))).await.unwrap_err();
    assert_eq!(err.error_type(), "Rotation.Tls", "an unknown CA fails: {err}");
    assert!(s.logs_in(&s.secret_json(&other, "T-pw-1")).await, "nothing changed");
}

#[tokio::test]
async fn the_clone_keeps_tls_limits_default_roles_and_follows_the_users_grants_on_mariadb() {
    let mut s = Stack::new().await;
    s.sql("CREATE DATABASE IF NOT EXISTS shop").await;
    let (user, role, table) = (unique("req"), unique("readr"), unique("t"));
    s.sql(&format!("CREATE TABLE shop.{table} (id int)")).await;
    s.sql(&format!("CREATE ROLE {role}")).await;
    s.sql(&format!("GRANT SELECT ON shop.{table} TO {role}")).await;
    s.sql(&format!(
        "CREATE USER '{user}'@'%' IDENTIFIED BY 'Req-pw-1' REQUIRE SSL WITH MAX_USER_CONNECTIONS 7"
    ))
    .await;
    s.sql(&format!("GRANT {role} TO '{user}'@'%'")).await;
    s.sql(&format!("SET DEFAULT ROLE {role} FOR '{user}'@'%'")).await;
    s.sql(&format!("GRANT INSERT ON shop.{table} TO '{user}'@'%'")).await;
    let master_arn = s.create_secret(&s.master_secret()).await;
    let mut secret = s.secret_json(&user, "Req-pw-1");
    secret["masterarn"] = master_arn.into();
    let arn = s.create_secret(&secret).await;
    let rotator = s.rotator(s.config(&[]));
    let clone = format!("{user}_clone");
    let app = format!("INSERT INTO shop.{table} VALUES (1)");
    let read = format!("SELECT * FROM shop.{table}");

    s.rotate(&rotator, &arn).await;
    let first = s.value(&arn, "AWSCURRENT").await;
    assert_eq!(first["username"], clone.as_str());
    assert_eq!(
        s.account(&clone, "%").await,
        ("ANY".to_owned(), 7, role.clone()),
        "REQUIRE SSL, the limit and the default role"
    );
    s.as_user(&first, &app).await.expect("the clone inserts as the user does");
    s.as_user(&first, &read).await.expect("the clone reads through its default role");
    assert!(s.logs_in(&s.value(&arn, "AWSPREVIOUS").await).await);

    // The user's grants change after the first rotation: the next one brings the clone in line.
    s.sql(&format!("GRANT UPDATE ON shop.{table} TO '{user}'@'%'")).await;
    s.sql(&format!("REVOKE INSERT ON shop.{table} FROM '{user}'@'%'")).await;
    s.sql(&format!("ALTER USER '{user}'@'%' WITH MAX_USER_CONNECTIONS 9")).await;
    s.rotate(&rotator, &arn).await;
    let second = s.value(&arn, "AWSCURRENT").await;
    assert_eq!(second["username"], user.as_str());
    s.as_user(&second, &read).await.expect("the application's queries as AWSCURRENT");
    assert!(s.logs_in(&first).await, "the clone, AWSPREVIOUS, still logs in");
    s.as_user(&first, &format!("UPDATE shop.{table} SET id = 2")).await.expect("the clone got the new grant");
    let err = s.as_user(&first, &app).await.unwrap_err();
    assert!(err.contains("denied"), "the clone lost the revoked grant: {err}");
    assert_eq!(s.account(&clone, "%").await.1, 9, "and the new limit");
}

#[tokio::test]
async fn a_grant_refused_midway_is_completed_by_the_retry_on_mariadb() {
    let mut s = Stack::new().await;
    s.sql("CREATE DATABASE IF NOT EXISTS shop").await;
    s.sql("CREATE DATABASE IF NOT EXISTS vault").await;
    let (master, user, table) = (unique("mst"), unique("half"), unique("v"));
    s.sql(&format!("CREATE TABLE vault.{table} (id int)")).await;
    s.sql(&format!("CREATE USER '{master}'@'%' IDENTIFIED BY 'Mst-pw-1'")).await;
    s.sql(&format!("GRANT CREATE USER, RELOAD ON *.* TO '{master}'@'%'")).await;
    s.sql(&format!("GRANT SELECT, UPDATE ON mysql.* TO '{master}'@'%'")).await;
    s.sql(&format!("GRANT SELECT ON shop.* TO '{master}'@'%' WITH GRANT OPTION")).await;
    s.sql(&format!("CREATE USER '{user}'@'%' IDENTIFIED BY 'Half-pw-1'")).await;
    s.sql(&format!("GRANT SELECT ON shop.* TO '{user}'@'%'")).await;
    s.sql(&format!("GRANT SELECT ON vault.* TO '{user}'@'%'")).await;
    let mut master_secret = s.secret_json(&master, "Mst-pw-1");
    master_secret.as_object_mut().unwrap().remove("dbname");
    let master_arn = s.create_secret(&master_secret).await;
    let mut secret = s.secret_json(&user, "Half-pw-1");
    secret["masterarn"] = master_arn.into();
    let arn = s.create_secret(&secret).await;
    let rotator = s.rotator(s.config(&[]));
    let token = s.start_rotation(&arn).await;
    observe(rotator.handle(&event("createSecret", &arn, &token))).await.unwrap();
    let err = observe(rotator.handle(&event("setSecret", &arn, &token))).await.unwrap_err();
    assert_eq!(err.error_type(), "Rotation.PermissionDenied", "the master may not grant on vault: {err}");
    let clone = format!("{user}_clone");
    assert_eq!(s.hosts(&clone).await, ["%"], "the clone was left half-made");
    assert!(s.logs_in(&s.value(&arn, "AWSCURRENT").await).await, "AWSCURRENT still logs in");

    s.sql(&format!("GRANT SELECT ON vault.* TO '{master}'@'%' WITH GRANT OPTION")).await;
    for step in ["setSecret", "testSecret", "finishSecret"] {
        observe(rotator.handle(&event(step, &arn, &token))).await.unwrap_or_else(|e| panic!("{step}: {e}"));
    }
    s.end_rotation(&arn, &token).await;
    let expected: Vec<String> = s
        .grants(&user, "%")
        .await
        .iter()
        .filter(|g| !g.starts_with("GRANT USAGE"))
        .map(|g| g.replace(&user, &clone))
        .collect();
    let copied: Vec<String> =
        s.grants(&clone, "%").await.into_iter().filter(|g| !g.starts_with("GRANT USAGE")).collect();
    assert_eq!(copied, expected, "the retry completed the clone");
    let current = s.value(&arn, "AWSCURRENT").await;
    assert_eq!(current["username"], clone.as_str());
    s.as_user(&current, &format!("SELECT * FROM vault.{table}"))
        .await
        .expect("the clone reads vault as the user does");
}

/// The statements MariaDB's general log holds after `offset` for the sessions of `users`: each
/// session's `Connect` line names its user and its thread id.
fn statements_by(log: &str, offset: usize, users: &[&str]) -> Vec<String> {
    let tail = &log[offset..];
    let thread = |line: &str, kinds: &[&str]| {
        let words: Vec<&str> = line.split_whitespace().collect();
        words
            .iter()
            .position(|w| kinds.contains(w))
            .and_then(|i| i.checked_sub(1))
            .map(|i| words[i].to_owned())
    };
    let threads: Vec<String> = tail
        .lines()
        .filter(|l| users.iter().any(|u| l.contains(&format!("{u}@"))))
        .filter_map(|l| thread(l, &["Connect"]))
        .collect();
    tail.lines()
        .filter(|l| thread(l, &["Query", "Execute"]).is_some_and(|t| threads.contains(&t)))
        .filter_map(|l| l.split_once(" Query\t").or_else(|| l.split_once(" Execute\t")))
        .map(|(_, statement)| statement.trim().to_owned())
        .collect()
}

#[tokio::test]
async fn the_doctor_reads_only_and_lists_a_drifted_clone_and_a_weak_master_on_mariadb() {
    use std::time::Duration;

    use secret_rotation::network::TcpNetwork;
    use secret_rotation::{Check, Status};

    let mut s = Stack::new().await;
    s.sql("CREATE DATABASE IF NOT EXISTS shop").await;
    let (user, table, weak) = (unique("doc"), unique("t"), unique("weak"));
    s.sql(&format!("CREATE TABLE shop.{table} (id int)")).await;
    s.sql(&format!("CREATE USER '{user}'@'%' IDENTIFIED BY 'Doc-pw-1'")).await;
    s.sql(&format!("GRANT SELECT ON shop.{table} TO '{user}'@'%'")).await;
    let master_arn = s.create_secret(&s.master_secret()).await;
    let mut secret = s.secret_json(&user, "Doc-pw-1");
    secret["masterarn"] = master_arn.into();
    let arn = s.create_secret(&secret).await;
    let rotator = s.rotator(s.config(&[]));
    s.rotate(&rotator, &arn).await;
    let network = TcpNetwork::new(Duration::from_secs(2));
    let clone = format!("{user}_clone");

    let log_path = s.local.get("MARIADB_GENERAL_LOG").to_owned();
    let offset = std::fs::read_to_string(&log_path).unwrap().len();
    let report = rotator.doctor(&network, &arn, None, 0).await.unwrap();
    assert!(report.ok, "{report:#?}");
    assert_eq!(report.finding(Check::CloneDrift).map(|f| f.status), Some(Status::Pass), "{report:#?}");
    let master = s.local.get("MARIADB_USER").to_owned();
    let statements = statements_by(&std::fs::read_to_string(&log_path).unwrap(), offset, &[&clone, &master]);
    assert!(statements.len() >= 3, "the doctor's sessions are in the log: {statements:#?}");
    let writes = [
        "INSERT",
        "UPDATE",
        "DELETE",
        "CREATE",
        "ALTER",
        "GRANT",
        "REVOKE",
        "DROP",
        "SET PASSWORD",
        "SET DEFAULT",
    ];
    for statement in &statements {
        let upper = statement.to_uppercase();
        assert!(!writes.iter().any(|w| upper.starts_with(w)), "the doctor wrote: {statement}");
    }

    s.sql(&format!("REVOKE SELECT ON shop.{table} FROM '{clone}'@'%'")).await;
    s.sql(&format!("GRANT INSERT ON shop.{table} TO '{clone}'@'%'")).await;
    let before = s.grants(&clone, "%").await;
    let report = rotator.doctor(&network, &arn, None, 0).await.unwrap();
    let drift = report.finding(Check::CloneDrift).unwrap();
    assert_eq!(drift.status, Status::Fail, "the clone is AWSCURRENT: {drift:?}");
    assert!(drift.detail.contains("lacks: GRANT SELECT"), "{drift:?}");
    assert!(drift.detail.contains("has more: GRANT INSERT"), "{drift:?}");
    assert_eq!(s.grants(&clone, "%").await, before, "the doctor repaired nothing");

    // A master that may create users but not pass privileges on.
    s.sql(&format!("CREATE USER '{weak}'@'%' IDENTIFIED BY 'Weak-pw-1'")).await;
    s.sql(&format!("GRANT CREATE USER ON *.* TO '{weak}'@'%'")).await;
    s.sql(&format!("GRANT SELECT ON mysql.* TO '{weak}'@'%'")).await;
    s.sql(&format!("GRANT SELECT ON shop.* TO '{weak}'@'%'")).await;
    let weak_arn = s.create_secret(&s.secret_json(&weak, "Weak-pw-1")).await;
    let mut secret = s.value(&arn, "AWSCURRENT").await;
    secret["masterarn"] = weak_arn.into();
    let arn = s.create_secret(&secret).await;
    let report = rotator.doctor(&network, &arn, None, 0).await.unwrap();
    let privileges = report.finding(Check::MasterPrivileges).unwrap_or_else(|| panic!("{report:#?}"));
    assert_eq!(privileges.status, Status::Fail, "{report:#?}");
    assert!(privileges.detail.contains("GRANT OPTION"), "{privileges:?}");
    assert!(!privileges.detail.contains("CREATE USER"), "{privileges:?}");
    assert!(!serde_json::to_string(&report).unwrap().contains("Weak-pw-1"));
}
