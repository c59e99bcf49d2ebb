//! The ports the rotation steps drive, in our own vocabulary: the secret store (Secrets Manager)
//! and the database. Adapters: [`crate::aws`] and [`crate::postgres`].

use std::collections::HashMap;
use std::future::Future;

use common::SecretString;

pub const AWSCURRENT: &str = "AWSCURRENT";
pub const AWSPENDING: &str = "AWSPENDING";
pub const AWSPREVIOUS: &str = "AWSPREVIOUS";

/// What `DescribeSecret` tells about a secret.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecretMeta {
    pub arn: String,
    pub rotation_enabled: bool,
    /// Version id → staging labels.
    pub versions: HashMap<String, Vec<String>>,
}

impl SecretMeta {
    /// The version carrying `stage`, if any.
    #[must_use]
    pub fn version_with(&self, stage: &str) -> Option<&str> {
        self.versions.iter().find(|(_, stages)| stages.iter().any(|s| s == stage)).map(|(id, _)| id.as_str())
    }

    #[must_use]
    pub fn stages_of(&self, version: &str) -> Option<&[String]> {
        self.versions.get(version).map(Vec::as_slice)
    }
}

/// A failed Secrets Manager call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("secret {0} not found")]
    NotFound(String),
    #[error("access denied by Secrets Manager or KMS: {0}")]
    AccessDenied(String),
    /// Throttling, time-outs, server errors: Secrets Manager retries the step.
    #[error("Secrets Manager unavailable: {0}")]
    Transient(String),
    #[error("Secrets Manager refused the request: {0}")]
    Refused(String),
}

/// Secrets Manager, as the rotation steps use it. Reads always name a stage (or a version and
/// its stage): reads without one can be stale right after a stage moves.
pub trait SecretStore {
    fn describe(&self, secret_id: &str) -> impl Future<Output = Result<SecretMeta, StoreError>> + Send;

    /// The value of the version carrying `stage`, or of `version_id` if given (which must carry
    /// `stage`). `Ok(None)` when there is no such version or it has no value yet.
    fn get(
        &self,
        secret_id: &str,
        stage: &str,
        version_id: Option<&str>,
    ) -> impl Future<Output = Result<Option<SecretString>, StoreError>> + Send;

    /// Stores `value` as version `token` with the AWSPENDING label. Idempotent for the same token and value.
    fn put_pending(
        &self,
        secret_id: &str,
        token: &str,
        value: &SecretString,
        rotation_token: Option<&str>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Moves AWSCURRENT to `to_version` from `from_version` (which then becomes AWSPREVIOUS).
    fn promote(&self, secret_id: &str, to_version: &str, from_version: &str) -> impl Future<Output = Result<(), StoreError>> + Send;
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
    pub fn scrubbed(self, secrets: &[&str]) -> Self {
        let scrub = |mut text: String| {
            for secret in secrets.iter().filter(|s| !s.is_empty()) {
                text = text.replace(secret, "***");
            }
            text
        };
        match self {
            Self::LoginFailed { user, detail } => Self::LoginFailed { user, detail: scrub(detail) },
            Self::Unreachable { host, port, detail } => Self::Unreachable { host, port, detail: scrub(detail) },
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
    fn set_own_password(&mut self, password: &SecretString) -> impl Future<Output = Result<(), DbError>> + Send;
    /// Changes another user's password (needs the privilege to).
    fn set_password(&mut self, user: &str, password: &SecretString) -> impl Future<Output = Result<(), DbError>> + Send;
    fn user_exists(&mut self, user: &str) -> impl Future<Output = Result<bool, DbError>> + Send;
    /// Creates `user` with `password` and the role memberships of `like`.
    fn create_user_like(&mut self, user: &str, like: &str, password: &SecretString) -> impl Future<Output = Result<(), DbError>> + Send;
    /// Runs a query as the session user and returns that user's name.
    fn whoami(&mut self) -> impl Future<Output = Result<String, DbError>> + Send;
}

/// Opens database sessions.
pub trait Database {
    type Session: Session;
    fn connect(&self, login: &Login) -> impl Future<Output = Result<Self::Session, DbError>> + Send;
}
