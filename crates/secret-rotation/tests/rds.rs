//! RDS-managed secrets against the local stack: moto's RDS API for the look-ups (instances,
//! read replicas, Aurora clusters and their reader endpoints), moto's Secrets Manager with the
//! `aws:rds:*` tags RDS puts on the secrets it manages, and the local PostgreSQL (15 to 17) for the
//! logins. moto's endpoints are names under `rds.amazonaws.com` that do not resolve here, so the
//! tests' database adapter connects to the local server in their place, after checking that the
//! rotation asked for exactly the endpoint the RDS API gave. RDS API refusals that moto cannot
//! produce (IAM denial, throttling) come from an HTTP layer answering as RDS does.
//!
//! Needs the local stack (`make stack-up`; `make test` starts it). Fails, never skips, without it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns

mod support;

use std::collections::HashMap;
use std::sync::Mutex;

use aws_sdk_secretsmanager::types::Tag;
use common::ErrorKind;
use common::aws::{AwsErrorKind, Service as AwsService};
use common::invocation::observe;
use common::testing::{Answer, LocalStack, LogCapture, fake_aws};
use secret_rotation::aws::SecretsManager;
use secret_rotation::dbconfig::DbConfig;
use secret_rotation::password::PasswordPolicy;
use secret_rotation::ports::{Database, DbError, Login, RdsApi, RdsEndpoint, RdsTarget};
use secret_rotation::postgres::Postgres;
use secret_rotation::rds::Rds;
use secret_rotation::{Outcome, Rotator};
use serde_json::{Value, json};
use support::{STEPS, Service, event, unique};
use tracing::instrument::WithSubscriber;

/// The local PostgreSQL in place of the RDS endpoints the tests created in moto.
struct Loopback {
    inner: Postgres,
    endpoints: Vec<String>,
    asked: Mutex<Vec<String>>,
}

impl Database for Loopback {
    type Session = <Postgres as Database>::Session;

    async fn connect(&self, login: &Login) -> Result<Self::Session, DbError> {
        assert!(
            self.endpoints.contains(&login.host),
            "a login to {} is not one of the RDS endpoints {:?}",
            login.host,
            self.endpoints
        );
        self.asked.lock().unwrap().push(login.host.clone());
        let mut local = login.clone();
        "127.0.0.1".clone_into(&mut local.host);
        self.inner.connect(&local).await
    }
}

struct Stack {
    local: LocalStack,
    svc: Service,
    rds: aws_sdk_rds::Client,
    admin: tokio_postgres::Client,
    port: u16,
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
        let rds = aws_sdk_rds::Client::new(&local.sdk_config());
        let admin = support::postgres_admin(&local).await;
        let port = local.get("PG_PORT").parse().unwrap();
        Self { local, svc, rds, admin, port }
    }

    fn rotator(&self, endpoints: &[&str]) -> Rotator<SecretsManager, Loopback, Rds> {
        let env: HashMap<&str, &str> = [
            ("DB_CA_BUNDLE", self.local.get("PG_CA_FILE")),
            ("DB_SYSTEM_ROOTS", "false"),
            ("DB_CONNECT_TIMEOUT_SECONDS", "2"),
            ("DB_STATEMENT_TIMEOUT_SECONDS", "5"),
        ]
        .into_iter()
        .collect();
        let db = Loopback {
            inner: Postgres::new(DbConfig::from_lookup(&env).unwrap()),
            endpoints: endpoints.iter().map(|e| (*e).to_owned()).collect(),
            asked: Mutex::new(Vec::new()),
        };
        let policy = PasswordPolicy::from_lookup(&HashMap::<&str, &str>::new()).unwrap();
        Rotator::new(SecretsManager::from_client(self.sm.clone()), db, policy)
            .with_rds(Rds::from_client(self.rds.clone()))
    }

    /// A PostgreSQL instance in moto's RDS API on the local server's port: (ARN, endpoint).
    async fn instance(&self, id: &str) -> (String, String) {
        let out = self
            .rds
            .create_db_instance()
            .db_instance_identifier(id)
            .engine("postgres")
            .db_instance_class("db.t4g.micro")
            .allocated_storage(20)
            .master_username("postgres")
            .master_user_password("Not-Used-1")
            .port(i32::from(self.port))
            .send()
            .await
            .unwrap();
        let instance = out.db_instance.unwrap();
        (instance.db_instance_arn.unwrap(), instance.endpoint.unwrap().address.unwrap())
    }

    async fn replica(&self, id: &str, source: &str) -> String {
        let out = self
            .rds
            .create_db_instance_read_replica()
            .db_instance_identifier(id)
            .source_db_instance_identifier(source)
            .send()
            .await
            .unwrap();
        out.db_instance.unwrap().endpoint.unwrap().address.unwrap()
    }

    /// An Aurora PostgreSQL cluster on the local server's port: (ARN, writer endpoint, reader endpoint).
    async fn cluster(&self, id: &str) -> (String, String, String) {
        let out = self
            .rds
            .create_db_cluster()
            .db_cluster_identifier(id)
            .engine("aurora-postgresql")
            .master_username("postgres")
            .master_user_password("Not-Used-1")
            .port(i32::from(self.port))
            .send()
            .await
            .unwrap();
        let c = out.db_cluster.unwrap();
        (c.db_cluster_arn.unwrap(), c.endpoint.unwrap(), c.reader_endpoint.unwrap())
    }

    async fn sql(&self, sql: &str) {
        self.admin.batch_execute(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    async fn role_exists(&self, name: &str) -> bool {
        !self.admin.query("SELECT 1 FROM pg_roles WHERE rolname = $1", &[&name]).await.unwrap().is_empty()
    }

    /// A secret as RDS manages it: username and password only, tagged with its database.
    async fn managed_secret(&self, user: &str, password: &str, tag: Option<(&str, &str)>) -> String {
        let mut req = self
            .sm
            .create_secret()
            .name(unique("rds-managed-"))
            .secret_string(json!({"username": user, "password": password}).to_string());
        if let Some((key, value)) = tag {
            req = req.tags(Tag::builder().key(key).value(value).build());
        }
        req.send().await.unwrap().arn.unwrap()
    }

    fn app_secret(&self, host: &str, user: &str, password: &str, master_arn: &str) -> Value {
        json!({"engine": "postgres", "host": host, "port": self.port, "username": user, "password": password, "dbname": "postgres", "masterarn": master_arn})
    }

    async fn logs_in(&self, user: &str, password: &str) -> bool {
        let (client, connection) = match tokio_postgres::connect(
            &format!(
                "host=127.0.0.1 port={} user={user} password={password} dbname=postgres sslmode=disable",
                self.port
            ),
            tokio_postgres::NoTls,
        )
        .await
        {
            Ok(pair) => pair,
            Err(e) if e.as_db_error().is_some() => return false,
            Err(e) => panic!("login check failed: {e}"),
        };
        tokio::spawn(connection);
        client.simple_query("SELECT 1").await.is_ok()
    }

    /// Every step, each twice, as the service drives them.
    async fn rotate<D: Database + Sync>(&self, rotator: &Rotator<SecretsManager, D, Rds>, arn: &str) {
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

    /// A master user that can create roles, and an application user.
    async fn users(&self) -> (String, String) {
        let (master, app) = (unique("rdsm"), unique("rdsa"));
        self.sql(&format!("CREATE ROLE \"{master}\" WITH LOGIN CREATEROLE PASSWORD 'Master-Pw-1'")).await;
        self.sql(&format!("CREATE ROLE \"{app}\" WITH LOGIN PASSWORD 'App-Pw-1'")).await;
        (master, app)
    }
}

#[tokio::test]
async fn the_adapter_reads_instances_replicas_and_clusters_from_the_rds_api() {
    let s = Stack::new().await;
    let (primary, replica, other, cluster) = (unique("pg-"), unique("pg-"), unique("pg-"), unique("aurora-"));
    let (_, primary_host) = s.instance(&primary).await;
    let replica_host = s.replica(&replica, &primary).await;
    let (_, other_host) = s.instance(&other).await;
    let (_, writer, reader) = s.cluster(&cluster).await;
    let rds = Rds::from_client(s.rds.clone());

    let found = rds.locate(&RdsTarget::Instance(primary.clone())).await.unwrap();
    assert_eq!(
        (found.engine.as_str(), found.endpoint.clone()),
        ("postgres", RdsEndpoint { host: primary_host.clone(), port: s.port })
    );
    let hosts: Vec<String> = rds
        .endpoints(&RdsTarget::Instance(primary.clone()))
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.host)
        .collect();
    assert!(hosts.contains(&primary_host) && hosts.contains(&replica_host), "{hosts:?}");
    assert!(!hosts.contains(&other_host), "{hosts:?}");

    let found = rds.locate(&RdsTarget::Cluster(cluster.clone())).await.unwrap();
    assert_eq!(
        (found.engine.as_str(), found.endpoint.host.as_str(), found.endpoint.port),
        ("aurora-postgresql", writer.as_str(), s.port)
    );
    let hosts: Vec<String> = rds
        .endpoints(&RdsTarget::Cluster(cluster.clone()))
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.host)
        .collect();
    assert!(hosts.contains(&writer) && hosts.contains(&reader), "{hosts:?}");
    assert!(!hosts.contains(&primary_host), "{hosts:?}");

    for target in [RdsTarget::Instance(unique("missing-")), RdsTarget::Cluster(unique("missing-"))] {
        assert_eq!(rds.locate(&target).await.unwrap_err().kind, AwsErrorKind::NotFound, "{target:?}");
        assert_eq!(rds.endpoints(&target).await.unwrap_err().kind, AwsErrorKind::NotFound, "{target:?}");
    }
}

#[tokio::test]
async fn an_rds_managed_master_secret_rotates_a_user_that_connects_through_a_read_replica() {
    let s = Stack::new().await;
    let (master, app) = s.users().await;
    let (primary, replica) = (unique("pg-"), unique("pg-"));
    let (primary_arn, primary_host) = s.instance(&primary).await;
    let replica_host = s.replica(&replica, &primary).await;
    let master_arn =
        s.managed_secret(&master, "Master-Pw-1", Some(("aws:rds:primaryDBInstanceArn", &primary_arn))).await;
    let arn = s.create_secret(&s.app_secret(&replica_host, &app, "App-Pw-1", &master_arn)).await;

    let rotator = s.rotator(&[&primary_host, &replica_host]);
    let logs = LogCapture::default();
    s.rotate(&rotator, &arn).with_subscriber(logs.subscriber()).await;

    let current = s.value(&arn, "AWSCURRENT").await;
    assert_eq!(current["username"], format!("{app}_clone"));
    assert_eq!(current["host"], replica_host.as_str(), "the secret still points at the replica");
    assert!(s.logs_in(&format!("{app}_clone"), current["password"].as_str().unwrap()).await);
    assert!(s.logs_in(&app, "App-Pw-1").await, "the previous user keeps working");
    let asked = rotator_asked(&rotator);
    assert!(
        asked.iter().any(|h| h == &primary_host),
        "the master changes the password on the primary: {asked:?}"
    );
    assert!(asked.iter().any(|h| h == &replica_host), "testSecret logs in through the replica: {asked:?}");
    logs.assert_free_of(&[current["password"].as_str().unwrap(), "Master-Pw-1", "App-Pw-1"]);
    assert!(logs.text().contains("database found through the RDS API"), "{}", logs.text());
}

fn rotator_asked<S, R>(rotator: &Rotator<S, Loopback, R>) -> Vec<String> {
    rotator.database().asked.lock().unwrap().clone()
}

#[tokio::test]
async fn an_aurora_master_secret_accepts_the_clusters_reader_endpoint_and_refuses_an_unrelated_host() {
    let s = Stack::new().await;
    let (master, app) = s.users().await;
    let (cluster, elsewhere) = (unique("aurora-"), unique("pg-"));
    let (cluster_arn, writer, reader) = s.cluster(&cluster).await;
    let (_, other_host) = s.instance(&elsewhere).await;
    let master_arn =
        s.managed_secret(&master, "Master-Pw-1", Some(("aws:rds:primaryDBClusterArn", &cluster_arn))).await;

    let arn = s.create_secret(&s.app_secret(&reader, &app, "App-Pw-1", &master_arn)).await;
    let rotator = s.rotator(&[&writer, &reader]);
    s.rotate(&rotator, &arn).await;
    let current = s.value(&arn, "AWSCURRENT").await;
    assert!(s.logs_in(current["username"].as_str().unwrap(), current["password"].as_str().unwrap()).await);

    // The same master for a secret on a database outside its cluster: refused before any login.
    let (_, stranger) = s.users().await;
    let arn = s.create_secret(&s.app_secret(&other_host, &stranger, "App-Pw-1", &master_arn)).await;
    let rotator = s.rotator(&[]);
    let token = s.start_rotation(&arn).await;
    assert_eq!(observe(rotator.handle(&event("createSecret", &arn, &token))).await.unwrap(), Outcome::Done);
    let err = observe(rotator.handle(&event("setSecret", &arn, &token))).await.unwrap_err();
    assert_eq!(err.error_type(), "Rotation.HostMismatch");
    assert!(err.to_string().contains(&other_host) && err.to_string().contains(&cluster), "{err}");
    assert!(!s.role_exists(&format!("{stranger}_clone")).await);
    assert!(s.logs_in(&stranger, "App-Pw-1").await);
}

#[tokio::test]
async fn an_rds_managed_secret_rotates_its_own_password_single_user() {
    let s = Stack::new().await;
    let (master, _) = s.users().await;
    let id = unique("pg-");
    let (instance_arn, host) = s.instance(&id).await;
    let arn =
        s.managed_secret(&master, "Master-Pw-1", Some(("aws:rds:primaryDBInstanceArn", &instance_arn))).await;
    let rotator = s.rotator(&[&host]);
    s.rotate(&rotator, &arn).await;
    let current = s.value(&arn, "AWSCURRENT").await;
    let mut keys: Vec<&String> = current.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["password", "username"], "the secret keeps the shape RDS gave it");
    assert!(s.logs_in(&master, current["password"].as_str().unwrap()).await);
    assert!(!s.logs_in(&master, "Master-Pw-1").await, "the previous password stops working");
}

#[tokio::test]
async fn missing_or_dangling_tags_fail_with_clear_errors_and_change_nothing() {
    let s = Stack::new().await;
    let (master, app) = s.users().await;
    let id = unique("pg-");
    let (_, host) = s.instance(&id).await;

    // A master secret with username and password only, and no tag to find its database by.
    let untagged = s.managed_secret(&master, "Master-Pw-1", None).await;
    let arn = s.create_secret(&s.app_secret(&host, &app, "App-Pw-1", &untagged)).await;
    let rotator = s.rotator(&[&host]);
    let token = s.start_rotation(&arn).await;
    observe(rotator.handle(&event("createSecret", &arn, &token))).await.unwrap();
    let err = observe(rotator.handle(&event("setSecret", &arn, &token))).await.unwrap_err();
    assert_eq!(err.error_type(), "Rotation.InvalidSecret");
    assert!(err.to_string().contains("aws:rds:primaryDBInstanceArn"), "{err}");

    // A secret of its own that is tagged with an instance RDS does not know.
    let gone = format!("arn:aws:rds:us-east-1:123456789012:db:{}", unique("gone-"));
    let arn = s.managed_secret(&master, "Master-Pw-1", Some(("aws:rds:primaryDBInstanceArn", &gone))).await;
    let token = s.start_rotation(&arn).await;
    let err = observe(rotator.handle(&event("createSecret", &arn, &token))).await.unwrap_err();
    assert_eq!(err.error_type(), "Rotation.RdsNotFound");
    assert!(s.logs_in(&master, "Master-Pw-1").await);
    assert!(rotator_asked(&rotator).is_empty(), "no login was attempted");
}

/// An RDS client whose HTTP layer answers every request with `status` and an RDS (query
/// protocol) error.
fn refusing_rds(status: u16, code: &'static str) -> Rds {
    Rds::new(&fake_aws(move |_| {
        Answer::xml_error(status, "http://rds.amazonaws.com/doc/2014-10-31/", code, "refused for the test")
    }))
}

#[tokio::test]
async fn rds_api_refusals_are_sorted_for_the_rotation_error_types() {
    let target = RdsTarget::Cluster("shop".into());
    for (status, code, kind) in [
        (403, "AccessDenied", AwsErrorKind::Denied { kms: false }),
        (400, "Throttling", AwsErrorKind::Throttled),
        (404, "DBClusterNotFoundFault", AwsErrorKind::NotFound),
        (503, "SomethingNewAndUnlisted", AwsErrorKind::Unavailable),
        (400, "InvalidParameterCombination", AwsErrorKind::Rejected),
    ] {
        let err = refusing_rds(status, code).locate(&target).await.unwrap_err();
        assert_eq!(
            (err.service, err.kind, err.code.as_deref()),
            (AwsService::Rds, kind, Some(code)),
            "{status} {code}"
        );
    }
}
