//! What can go wrong in a rotation, each with a stable `errorType`.

use common::aws::{AwsError, AwsErrorKind};
use common::{ConfigError, ErrorKind};

use crate::ports::{Credentials, DbError, Stage};
use crate::secret::SecretError;

#[derive(Debug, thiserror::Error)]
pub enum RotationError {
    #[error(transparent)]
    Configuration(#[from] ConfigError),
    #[error("invalid rotation event: {0}")]
    InvalidEvent(String),
    #[error("rotation is not enabled for secret {secret}")]
    NotEnabled { secret: String },
    #[error("version {token} is not a version of secret {secret}")]
    UnknownVersion { secret: String, token: String },
    #[error("version {token} of secret {secret} is not AWSPENDING")]
    NotPending { secret: String, token: String },
    #[error("unknown step {0:?}: expected createSecret, setSecret, testSecret or finishSecret")]
    UnknownStep(String),
    #[error("secret {secret} has no {stage} value")]
    MissingValue { secret: String, stage: Stage },
    #[error("the {which} secret is invalid: {source}")]
    InvalidSecret { which: Credentials, source: SecretError },
    #[error(
        "secret {secret} has no engine: a non-database secret rotates the keys named in ROTATE_KEYS, which is not set"
    )]
    NoRotateKeys { secret: String },
    #[error("the pending secret does not match: {0}")]
    Mismatch(String),
    #[error("this function may not {action} secret {secret}: it is not in {variable}")]
    NotAllowed { action: &'static str, secret: String, variable: &'static str },
    #[error(
        "the secret's user {user:?} is the master user or its clone ({master:?}, {master:?}_clone): a secret may not make the master act on itself"
    )]
    MasterUser { user: String, master: String },
    #[error("cannot log in with the {which} credentials: {source}")]
    Login { which: Credentials, source: DbError },
    #[error("{source} (with the {which} credentials)")]
    Database { which: Credentials, source: DbError },
    #[error(
        "the secret's host {host} is not an endpoint of the master secret's {database} (per the RDS API)"
    )]
    NotSameDatabase { host: String, database: String },
    /// A failed RDS API call.
    #[error(transparent)]
    Rds(AwsError),
    /// An `aws:rds:*` tag that names no RDS database.
    #[error("RDS look-up failed: {0}")]
    RdsTag(String),
    #[error("testSecret: {0}")]
    TestFailed(String),
    /// A failed Secrets Manager call.
    #[error(transparent)]
    Store(#[from] AwsError),
}

impl RotationError {
    /// Wraps a database error met while using the `which` credentials.
    pub(crate) fn db(which: Credentials, source: DbError) -> Self {
        match source {
            DbError::LoginFailed { .. } => Self::Login { which, source },
            other => Self::Database { which, source: other },
        }
    }
}

impl ErrorKind for RotationError {
    fn error_type(&self) -> &'static str {
        match self {
            Self::Configuration(_) | Self::NoRotateKeys { .. } => "Rotation.InvalidConfiguration",
            Self::InvalidEvent(_) => "Rotation.InvalidEvent",
            Self::NotEnabled { .. } => "Rotation.NotEnabled",
            Self::UnknownVersion { .. } => "Rotation.UnknownVersion",
            Self::NotPending { .. } => "Rotation.NotPending",
            Self::UnknownStep(_) => "Rotation.UnknownStep",
            Self::MissingValue { .. } => "Rotation.MissingValue",
            Self::InvalidSecret { source: SecretError::UnsupportedEngine(_), .. } => {
                "Rotation.UnsupportedEngine"
            }
            Self::InvalidSecret { .. } => "Rotation.InvalidSecret",
            Self::Mismatch(_) => "Rotation.PendingMismatch",
            Self::NotAllowed { .. } | Self::MasterUser { .. } => "Rotation.NotAllowed",
            Self::Login { .. } => "Rotation.DatabaseLogin",
            Self::Database { source, .. } => match source {
                DbError::LoginFailed { .. } => "Rotation.DatabaseLogin",
                DbError::Unreachable { .. } => "Rotation.DatabaseUnreachable",
                DbError::Tls { .. } => "Rotation.Tls",
                DbError::PermissionDenied { .. } => "Rotation.PermissionDenied",
                DbError::Timeout { .. } => "Rotation.DatabaseTimeout",
                DbError::Other { .. } => "Rotation.Database",
            },
            Self::TestFailed(_) => "Rotation.TestFailed",
            Self::NotSameDatabase { .. } => "Rotation.HostMismatch",
            Self::RdsTag(_) => "Rotation.RdsLookup",
            Self::Rds(e) | Self::Store(e) => match (e.kind, matches!(self, Self::Rds(_))) {
                (AwsErrorKind::NotFound, true) => "Rotation.RdsNotFound",
                (AwsErrorKind::NotFound, false) => "Rotation.SecretNotFound",
                (AwsErrorKind::Denied { .. }, _) => "Rotation.AccessDenied",
                (AwsErrorKind::Throttled | AwsErrorKind::Unavailable, _) => "Rotation.TransientAws",
                (AwsErrorKind::Rejected, true) => "Rotation.RdsLookup",
                (AwsErrorKind::Rejected, false) => "Rotation.SecretStore",
            },
        }
    }
}

impl From<RotationError> for lambda_runtime::Diagnostic {
    fn from(err: RotationError) -> Self {
        common::diagnostic(&err)
    }
}
