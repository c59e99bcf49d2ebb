//! The ports the rotation steps drive, in our own vocabulary: the secret store (Secrets Manager)
//! and the database. Adapters: [`crate::aws`] and [`crate::postgres`].

use std::collections::HashMap;
use std::future::Future;

use common::SecretString;
use common::aws::{AwsError, AwsErrorKind, Service};

pub const AWSCURRENT: &str = Stage::Current.label();
pub const AWSPENDING: &str = Stage::Pending.label();
pub const AWSPREVIOUS: &str = Stage::Previous.label();

/// The staging labels rotation reads and moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Current,
    Pending,
    Previous,
}

impl Stage {
    /// The label as Secrets Manager spells it.
    #[must_use]
    pub const fn label(self) -> &'static str {
        match self {
            Self::Current => "AWSCURRENT",
            Self::Pending => "AWSPENDING",
            Self::Previous => "AWSPREVIOUS",
        }
    }
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

/// Which credentials (or which answer) an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credentials {
    /// A version of the secret being rotated.
    Version(Stage),
    /// The master user's secret (alternating users).
    Master,
    /// What the RDS API said of the database.
    RdsApi,
}

impl std::fmt::Display for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Version(stage) => stage.fmt(f),
            Self::Master => f.write_str("master"),
            Self::RdsApi => f.write_str("RDS"),
        }
    }
}

pub(crate) const CURRENT: Credentials = Credentials::Version(Stage::Current);
pub(crate) const PENDING: Credentials = Credentials::Version(Stage::Pending);
pub(crate) const PREVIOUS: Credentials = Credentials::Version(Stage::Previous);

/// What `DescribeSecret` tells about a secret.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecretMeta {
    pub arn: String,
    pub rotation_enabled: bool,
    /// Version id → staging labels.
    pub versions: HashMap<String, Vec<String>>,
    /// The secret's tags: RDS names the database of a secret it manages in `aws:rds:*` tags.
    pub tags: HashMap<String, String>,
    /// How and when the secret rotates, for the doctor.
    pub rotation: RotationInfo,
}

/// What `DescribeSecret` says of a secret's rotation: the function, the schedule, and the last
/// and next rotation (Unix seconds).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RotationInfo {
    pub lambda_arn: Option<String>,
    pub automatically_after_days: Option<i64>,
    pub schedule_expression: Option<String>,
    /// The rotation window (`Duration`), e.g. `3h`.
    pub window: Option<String>,
    pub last_rotated: Option<i64>,
    pub next_rotation: Option<i64>,
}

impl SecretMeta {
    /// The version carrying `stage`, if any.
    #[must_use]
    pub(crate) fn version_with(&self, stage: Stage) -> Option<&str> {
        self.versions
            .iter()
            .find(|(_, stages)| stages.iter().any(|s| s == stage.label()))
            .map(|(id, _)| id.as_str())
    }

    #[must_use]
    pub(crate) fn stages_of(&self, version: &str) -> Option<&[String]> {
        self.versions.get(version).map(Vec::as_slice)
    }

    /// The RDS database named by the secret's `aws:rds:primaryDBInstanceArn` or
    /// `aws:rds:primaryDBClusterArn` tag (a secret that RDS manages), if it has one.
    ///
    /// # Errors
    /// When the tag is there but does not hold an RDS instance or cluster ARN: what is wrong, in
    /// words that never repeat the tag's value.
    pub(crate) fn rds_target(&self) -> Result<Option<RdsTarget>, String> {
        for (tag, kind) in [(TAG_RDS_CLUSTER, RdsKind::Cluster), (TAG_RDS_INSTANCE, RdsKind::Instance)] {
            if let Some(arn) = self.tags.get(tag) {
                return RdsTarget::from_arn(arn, kind).map(Some).ok_or_else(|| {
                    format!("the secret's {tag} tag is not the ARN of an RDS {}", kind.noun())
                });
            }
        }
        Ok(None)
    }
}

/// The two kinds of database the RDS API describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RdsKind {
    Instance,
    Cluster,
}

impl RdsKind {
    /// The resource type in an RDS ARN (`arn:aws:rds:<region>:<account>:<type>:<id>`).
    fn arn_type(self) -> &'static str {
        match self {
            Self::Instance => "db",
            Self::Cluster => "cluster",
        }
    }

    fn noun(self) -> &'static str {
        match self {
            Self::Instance => "instance",
            Self::Cluster => "cluster",
        }
    }
}

/// The tag RDS puts on the master secret it manages for a DB instance.
pub(crate) const TAG_RDS_INSTANCE: &str = "aws:rds:primaryDBInstanceArn";
/// The tag RDS puts on the master secret it manages for an Aurora or Multi-AZ DB cluster.
pub(crate) const TAG_RDS_CLUSTER: &str = "aws:rds:primaryDBClusterArn";

/// An RDS database, by identifier.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RdsTarget {
    Instance(String),
    Cluster(String),
}

impl RdsTarget {
    /// `arn:<partition>:rds:<region>:<account>:<kind>:<identifier>`, `kind` being `db` or `cluster`.
    fn from_arn(arn: &str, kind: RdsKind) -> Option<Self> {
        let parts: Vec<&str> = arn.split(':').collect();
        let [prefix, _partition, service, _region, _account, k, id] = parts.as_slice() else { return None };
        let valid_id =
            !id.is_empty() && id.len() <= 63 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        if *prefix != "arn" || *service != "rds" || *k != kind.arn_type() || !valid_id {
            return None;
        }
        let id = (*id).to_owned();
        Some(match kind {
            RdsKind::Instance => Self::Instance(id),
            RdsKind::Cluster => Self::Cluster(id),
        })
    }

    #[must_use]
    pub fn describe(&self) -> String {
        match self {
            Self::Instance(id) => format!("DB instance {id}"),
            Self::Cluster(id) => format!("DB cluster {id}"),
        }
    }
}

/// Where the RDS API says a database takes connections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RdsEndpoint {
    pub host: String,
    pub port: u16,
}

/// What the RDS API says about a database: its engine and its writer endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RdsDatabase {
    /// RDS's engine name: `postgres`, `aurora-postgresql`, `mysql`, `mariadb`, `aurora-mysql`, ...
    pub engine: String,
    pub endpoint: RdsEndpoint,
}

/// The RDS API, as rotation uses it for secrets that RDS manages.
pub trait RdsApi {
    /// The engine and writer endpoint of `target`.
    fn locate(&self, target: &RdsTarget) -> impl Future<Output = Result<RdsDatabase, AwsError>> + Send;

    /// Every endpoint that reaches `target`'s data: for a cluster its writer, reader and custom
    /// endpoints and its members; for an instance its own endpoint, its read replicas, and its
    /// cluster's endpoints if it belongs to one.
    fn endpoints(
        &self,
        target: &RdsTarget,
    ) -> impl Future<Output = Result<Vec<RdsEndpoint>, AwsError>> + Send;
}

/// For a function built without the RDS API: every look-up fails with a clear error.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoRds;

impl NoRds {
    fn refuse(target: &RdsTarget) -> AwsError {
        let message = format!("{} is named by a tag, but this function has no RDS client", target.describe());
        AwsError::new(Service::Rds, AwsErrorKind::Rejected, None, message)
    }
}

impl RdsApi for NoRds {
    async fn locate(&self, target: &RdsTarget) -> Result<RdsDatabase, AwsError> {
        Err(Self::refuse(target))
    }

    async fn endpoints(&self, target: &RdsTarget) -> Result<Vec<RdsEndpoint>, AwsError> {
        Err(Self::refuse(target))
    }
}

/// Secrets Manager, as the rotation steps use it. Reads always name a stage (or a version and
/// its stage): reads without one can be stale right after a stage moves.
pub trait SecretStore {
    fn describe(&self, secret_id: &str) -> impl Future<Output = Result<SecretMeta, AwsError>> + Send;

    /// The value of the version carrying `stage`, or of `version_id` if given (which must carry
    /// `stage`). `Ok(None)` when there is no such version or it has no value yet.
    fn get(
        &self,
        secret_id: &str,
        stage: Stage,
        version_id: Option<&str>,
    ) -> impl Future<Output = Result<Option<SecretString>, AwsError>> + Send;

    /// Stores `value` as version `token` with the AWSPENDING label. Idempotent for the same token and value.
    fn put_pending(
        &self,
        secret_id: &str,
        token: &str,
        value: &SecretString,
        rotation_token: Option<&str>,
    ) -> impl Future<Output = Result<(), AwsError>> + Send;

    /// Moves AWSCURRENT to `to_version` from `from_version` (which then becomes AWSPREVIOUS).
    fn promote(
        &self,
        secret_id: &str,
        to_version: &str,
        from_version: &str,
    ) -> impl Future<Output = Result<(), AwsError>> + Send;
}

/// Credentials to log in with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    pub engine: crate::secret::Engine,
    pub host: String,
    pub port: u16,
    pub username: String,
    pub password: SecretString,
    pub dbname: String,
    pub tls: crate::secret::Tls,
}

/// A failed database operation, sorted by what a person does about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DbError {
    /// The server rejected the user name or password.
    #[error("login refused for user {user:?}: {detail}")]
    LoginFailed { user: String, detail: String },
    #[error("database {host}:{port} unreachable: {detail}")]
    Unreachable { host: String, port: u16, detail: String },
    #[error("TLS with {host}:{port} failed: {detail}")]
    Tls { host: String, port: u16, detail: String },
    #[error("permission denied: {detail}")]
    PermissionDenied { detail: String },
    #[error("timed out: {detail}")]
    Timeout { detail: String },
    #[error("database error: {detail}")]
    Other { detail: String },
}

impl DbError {
    /// The same error with every occurrence of `secrets` in its text replaced by `***`: a server
    /// may quote the statement that failed, and a statement may carry a password or its hash.
    #[must_use]
    pub(crate) fn scrubbed(self, secrets: &[&str]) -> Self {
        let scrub = |mut text: String| {
            for secret in secrets.iter().filter(|s| !s.is_empty()) {
                text = text.replace(secret, "***");
            }
            text
        };
        match self {
            Self::LoginFailed { user, detail } => Self::LoginFailed { user, detail: scrub(detail) },
            Self::Unreachable { host, port, detail } => {
                Self::Unreachable { host, port, detail: scrub(detail) }
            }
            Self::Tls { host, port, detail } => Self::Tls { host, port, detail: scrub(detail) },
            Self::PermissionDenied { detail } => Self::PermissionDenied { detail: scrub(detail) },
            Self::Timeout { detail } => Self::Timeout { detail: scrub(detail) },
            Self::Other { detail } => Self::Other { detail: scrub(detail) },
        }
    }
}

/// A logged-in database session.
pub trait Session: Send {
    /// Changes the session user's own password.
    fn set_own_password(
        &mut self,
        password: &SecretString,
    ) -> impl Future<Output = Result<(), DbError>> + Send;
    /// Changes another user's password (needs the privilege to).
    fn set_password(
        &mut self,
        user: &str,
        password: &SecretString,
    ) -> impl Future<Output = Result<(), DbError>> + Send;
    /// Brings `clone` in line with `base`, so that it can do what `base` can: creates it with
    /// `clone_password` when it is missing (on MySQL and MariaDB, for each host pattern of
    /// `base`), then gives it what `base` has (PostgreSQL: membership in `base`; MySQL and
    /// MariaDB: privileges, roles, default roles, TLS requirements and resource limits), taking
    /// away what `base` no longer has. Idempotent: a clone left half-made is completed.
    fn sync_clone(
        &mut self,
        clone: &str,
        base: &str,
        clone_password: &SecretString,
    ) -> impl Future<Output = Result<CloneSync, DbError>> + Send;
    /// How `clone` differs from `base`, in words, without changing anything: what
    /// [`Session::sync_clone`] would do. `None` when the clone does not exist (yet).
    fn clone_drift(
        &mut self,
        clone: &str,
        base: &str,
    ) -> impl Future<Output = Result<Option<Vec<String>>, DbError>> + Send;
    /// What the session user lacks to make and keep `clone` in line with `base` and set its
    /// password (alternating users), in words; empty when it has all it needs. Reads only.
    fn missing_privileges(
        &mut self,
        base: &str,
        clone: &str,
    ) -> impl Future<Output = Result<Vec<String>, DbError>> + Send;
    /// Runs a query as the session user and returns that user's name.
    fn whoami(&mut self) -> impl Future<Output = Result<String, DbError>> + Send;
    /// Runs `sql`, one statement, in a read-only transaction that is rolled back.
    fn read_only_query(&mut self, sql: &str) -> impl Future<Output = Result<(), DbError>> + Send;
}

/// What [`Session::sync_clone`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CloneSync {
    /// The clone (or one of its host patterns) did not exist and was created.
    pub created: bool,
    /// Statements run to bring the clone in line (0: it already was).
    pub changes: usize,
}

/// The network between the function and a database, as the doctor probes it.
pub trait Network {
    /// The addresses `host` resolves to (`port` attached), or why it does not resolve.
    fn resolve(
        &self,
        host: &str,
        port: u16,
    ) -> impl Future<Output = Result<Vec<std::net::SocketAddr>, String>> + Send;
    /// Opens a TCP connection to `addr` and closes it, or says why it could not.
    fn open(&self, addr: std::net::SocketAddr) -> impl Future<Output = Result<(), String>> + Send;
}

/// Opens database sessions.
pub trait Database {
    type Session: Session;
    fn connect(&self, login: &Login) -> impl Future<Output = Result<Self::Session, DbError>> + Send;
}
