//! Finding the database: where an RDS-managed secret's database is (the RDS API, its answer
//! reused for a few minutes), and whether a secret's host is an endpoint of the master's database.
//! Step sequencing stays in [`crate::rotation`].

use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::error::RotationError;
use crate::ports::{Credentials, RdsApi, RdsDatabase, RdsTarget, SecretMeta};
use crate::secret::{self, DbSecret, Located};

/// How long an RDS look-up is reused: longer than a rotation's four steps, short enough that a
/// changed endpoint or port is seen by the next rotation.
const LOCATED_TTL: Duration = Duration::from_mins(5);

/// The RDS API, with its last answer.
#[derive(Debug)]
pub(crate) struct Locator<R> {
    rds: R,
    /// What the RDS API last said, for a few minutes: the steps of one rotation come seconds
    /// apart in the same warm process, and RDS's `Describe*` calls have tight rate limits.
    located: Mutex<Option<(RdsTarget, Instant, RdsDatabase)>>,
}

impl<R> Locator<R> {
    pub(crate) fn new(rds: R) -> Self {
        Self { rds, located: Mutex::new(None) }
    }
}

impl<R: RdsApi + Sync> Locator<R> {
    /// The RDS API's answer for `target`, from the last few minutes' if there is one.
    async fn locate_target(&self, target: &RdsTarget) -> Result<RdsDatabase, RotationError> {
        let cached = self.located.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        if let Some((t, at, found)) = cached
            && t == *target
            && at.elapsed() < LOCATED_TTL
        {
            return Ok(found);
        }
        let found = self.rds.locate(target).await.map_err(RotationError::Rds)?;
        *self.located.lock().unwrap_or_else(std::sync::PoisonError::into_inner) =
            Some((target.clone(), Instant::now(), found.clone()));
        Ok(found)
    }

    /// Where an RDS-managed secret's database is, from the RDS API; `None` for other secrets.
    pub(crate) async fn locate(&self, meta: &SecretMeta) -> Result<Option<Located>, RotationError> {
        let Some(target) = meta.rds_target().map_err(RotationError::RdsTag)? else { return Ok(None) };
        let found = self.locate_target(&target).await?;
        let engine = secret::engine_named(&found.engine)
            .map_err(|source| RotationError::InvalidSecret { which: Credentials::RdsApi, source })?;
        tracing::info!(secret_arn = %meta.arn, rds = %target.describe(), engine = %found.engine, host = %found.endpoint.host, port = found.endpoint.port, "database found through the RDS API");
        Ok(Some(Located { engine, host: found.endpoint.host, port: found.endpoint.port }))
    }

    /// Checks that `pending`'s host is the master's, or an endpoint of the RDS database the
    /// master secret names (`target`): an Aurora reader or custom endpoint, a cluster member, a
    /// read replica. The master then changes the password on the writer.
    pub(crate) async fn check_host(
        &self,
        master: &DbSecret,
        target: Option<RdsTarget>,
        pending: &DbSecret,
    ) -> Result<(), RotationError> {
        let Some(target) = target else {
            return Err(RotationError::Mismatch(
                "the master secret's host or port differs from the pending secret's, and the master secret names no RDS database to check them against".into(),
            ));
        };
        let endpoints = self.rds.endpoints(&target).await.map_err(RotationError::Rds)?;
        if !endpoints.iter().any(|e| e.host.eq_ignore_ascii_case(&pending.host) && e.port == pending.port) {
            return Err(RotationError::NotSameDatabase {
                host: format!("{}:{}", pending.host, pending.port),
                database: target.describe(),
            });
        }
        tracing::info!(
            host = %pending.host,
            rds = %target.describe(),
            master_host = %master.host,
            "the secret's host is an endpoint of the master's database: the master changes the password on the writer"
        );
        Ok(())
    }
}

/// Whether `master` and `pending` name the same host and port.
pub(crate) fn same_host(master: &DbSecret, pending: &DbSecret) -> bool {
    master.host.eq_ignore_ascii_case(&pending.host) && master.port == pending.port
}
