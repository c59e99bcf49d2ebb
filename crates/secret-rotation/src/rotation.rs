//! The four rotation steps, exactly as Secrets Manager drives them, generic over the secret store
//! and the database so that every path is tested with fakes and faults.
//!
//! Every step is idempotent, and a retry after a failure at any point converges: at every moment
//! either AWSCURRENT logs in, or the next retry of the failed step makes it so.

mod doctor;

pub use doctor::{Check, Finding, Report, Status};

use common::invocation::note;
use common::{ErrorKind, SecretString};
use serde::Deserialize;

use crate::error::RotationError;
use crate::locate::{self, Locator};
use crate::password::PasswordPolicy;
use crate::ports::{
    CURRENT, Credentials, Database, DbError, Login, NoRds, PENDING, PREVIOUS, RdsApi, RdsTarget, SecretMeta,
    SecretStore, Session, Stage,
};
use crate::secret::{self, DbSecret, Located, SecretError, Strategy, Tls};
use crate::settings::Settings;

/// The event Secrets Manager sends. The stock type drops `RotationToken`; unknown fields are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RotationEvent {
    pub step: String,
    pub secret_id: String,
    pub client_request_token: String,
    #[serde(default)]
    pub rotation_token: Option<String>,
}

/// The four steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Create,
    Set,
    Test,
    Finish,
}

impl Step {
    fn parse(step: &str) -> Result<Self, RotationError> {
        match step {
            "createSecret" => Ok(Self::Create),
            "setSecret" => Ok(Self::Set),
            "testSecret" => Ok(Self::Test),
            "finishSecret" => Ok(Self::Finish),
            other => Err(RotationError::UnknownStep(other.chars().take(64).collect())),
        }
    }

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "createSecret",
            Self::Set => "setSecret",
            Self::Test => "testSecret",
            Self::Finish => "finishSecret",
        }
    }
}

/// What a step did, for the log and the tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The token is already AWSCURRENT: the rotation is complete.
    AlreadyCurrent,
    /// The step had already been done (a retry).
    AlreadyDone,
    Done,
    /// testSecret on the copy of AWSCURRENT that `RotateSecret` makes to test the configuration,
    /// which did not log in: answered with success and a warning.
    ConfigurationTest,
}

impl common::invocation::Reported for Outcome {
    fn outcome(&self) -> &'static str {
        match self {
            Self::AlreadyCurrent => "already-current",
            Self::AlreadyDone => "already-done",
            Self::Done => "done",
            Self::ConfigurationTest => "configuration-test",
        }
    }
}

/// A secret value, read for what it is.
enum Kind {
    /// A non-database secret: new values for `ROTATE_KEYS`.
    Generic,
    Database(DbSecret),
}

/// The rotation function, built once at cold start.
#[derive(Debug)]
pub struct Rotator<S, D, R = NoRds> {
    store: S,
    db: D,
    /// The RDS API, for secrets that RDS manages (named by their `aws:rds:*` tags).
    locator: Locator<R>,
    policy: PasswordPolicy,
    /// Allow-lists, the keys of non-database secrets, the test query.
    settings: Settings,
}

impl<S, D> Rotator<S, D> {
    pub fn new(store: S, db: D, policy: PasswordPolicy) -> Self {
        Self { store, db, locator: Locator::new(NoRds), policy, settings: Settings::default() }
    }
}

impl<S, D, R> Rotator<S, D, R> {
    /// The database adapter the rotation logs in through.
    pub fn database(&self) -> &D {
        &self.db
    }

    /// Looks up RDS-managed secrets' databases (engine, host, port) through `rds`.
    pub fn with_rds<R2>(self, rds: R2) -> Rotator<S, D, R2> {
        Rotator {
            store: self.store,
            db: self.db,
            locator: Locator::new(rds),
            policy: self.policy,
            settings: self.settings,
        }
    }
}

impl<S: SecretStore + Sync, D: Database + Sync, R: RdsApi + Sync> Rotator<S, D, R> {
    /// The keys that non-database secrets (no `engine`, or `"engine": "generic"`) rotate.
    #[must_use]
    pub fn with_rotate_keys(mut self, keys: Vec<String>) -> Self {
        self.settings.rotate_keys = keys;
        self
    }

    /// The allow-lists, the keys of non-database secrets and the test query.
    #[must_use]
    pub fn with_settings(mut self, settings: Settings) -> Self {
        self.settings = settings;
        self
    }

    /// Runs one step for one event, with the guards in the service's order.
    ///
    /// # Errors
    /// A [`RotationError`]; Secrets Manager retries the step.
    pub async fn handle(&self, event: &RotationEvent) -> Result<Outcome, RotationError> {
        note("secret_arn", event.secret_id.as_str());
        note("token", event.client_request_token.as_str());
        self.run(event).await
    }

    async fn run(&self, event: &RotationEvent) -> Result<Outcome, RotationError> {
        let id = event.secret_id.as_str();
        let token = event.client_request_token.as_str();
        if id.is_empty() || token.is_empty() {
            return Err(RotationError::InvalidEvent(
                "SecretId and ClientRequestToken must not be empty".into(),
            ));
        }
        // An allow-list is checked on the event's id first, so that a secret outside it is refused
        // without a call when the list names it as the event does, and on its ARN after
        // DescribeSecret (which reads no value) otherwise.
        let listed = self.settings.allowed_secrets.as_ref().is_none_or(|list| list.admits(id));
        let meta = self.store.describe(id).await?;
        note("secret_arn", meta.arn.as_str());
        if !listed && self.settings.allowed_secrets.as_ref().is_some_and(|list| !list.admits(&meta.arn)) {
            return Err(RotationError::NotAllowed {
                action: "rotate",
                secret: meta.arn,
                variable: "ALLOWED_SECRETS",
            });
        }
        if !meta.rotation_enabled {
            return Err(RotationError::NotEnabled { secret: meta.arn });
        }
        let stages = meta
            .stages_of(token)
            .ok_or_else(|| RotationError::UnknownVersion { secret: meta.arn.clone(), token: token.into() })?;
        if stages.iter().any(|s| s == Stage::Current.label()) {
            tracing::info!(secret_arn = %meta.arn, token, "version is already AWSCURRENT: nothing to do");
            return Ok(Outcome::AlreadyCurrent);
        }
        if !stages.iter().any(|s| s == Stage::Pending.label()) {
            return Err(RotationError::NotPending { secret: meta.arn, token: token.into() });
        }
        let step = Step::parse(&event.step)?;
        note("step", step.as_str());
        let arn = meta.arn.as_str();
        match step {
            // Boxed: the steps' futures (SDK calls, database sessions) are large; one allocation
            // per step keeps every caller's future small.
            Step::Create => Box::pin(self.create(&meta, token, event.rotation_token.as_deref())).await,
            Step::Set => Box::pin(self.set(&meta, token)).await,
            Step::Test => Box::pin(self.test(&meta, token)).await,
            Step::Finish => {
                let current = meta
                    .version_with(Stage::Current)
                    .ok_or(RotationError::MissingValue { secret: arn.into(), stage: Stage::Current })?;
                self.store.promote(arn, token, current).await?;
                tracing::info!(
                    secret_arn = arn,
                    token,
                    previous = current,
                    "AWSCURRENT moved to the new version"
                );
                Ok(Outcome::Done)
            }
        }
    }

    async fn current_value(&self, arn: &str) -> Result<SecretString, RotationError> {
        self.store
            .get(arn, Stage::Current, None)
            .await?
            .ok_or(RotationError::MissingValue { secret: arn.into(), stage: Stage::Current })
    }

    async fn pending_value(&self, arn: &str, token: &str) -> Result<SecretString, RotationError> {
        self.store
            .get(arn, Stage::Pending, Some(token))
            .await?
            .ok_or(RotationError::MissingValue { secret: arn.into(), stage: Stage::Pending })
    }

    /// Reads `value` (the `which` version of the secret `meta` describes) as a database secret,
    /// completed from the RDS API for a secret RDS manages, or as a non-database secret.
    async fn classify(
        &self,
        meta: &SecretMeta,
        value: &SecretString,
        which: Credentials,
    ) -> Result<Kind, RotationError> {
        let located = self.locator.locate(meta).await?;
        if located.is_none() && secret::is_generic(value) {
            note("engine", "generic");
            note("strategy", "new-values");
            return Ok(Kind::Generic);
        }
        let parsed = DbSecret::parse_located(value, located.as_ref()).map_err(|source| {
            RotationError::InvalidSecret {
                which,
                source: match source {
                    SecretError::Missing(field @ ("engine" | "host")) => SecretError::NotLocated(field),
                    other => other,
                },
            }
        })?;
        note("engine", parsed.engine.as_str());
        note("strategy", parsed.strategy.as_str());
        Ok(Kind::Database(parsed))
    }

    async fn create(
        &self,
        meta: &SecretMeta,
        token: &str,
        rotation_token: Option<&str>,
    ) -> Result<Outcome, RotationError> {
        let arn = meta.arn.as_str();
        let value = self.current_value(arn).await?;
        let current = match self.classify(meta, &value, CURRENT).await? {
            Kind::Generic if self.settings.rotate_keys.is_empty() => {
                return Err(RotationError::NoRotateKeys { secret: arn.into() });
            }
            Kind::Generic => None,
            Kind::Database(parsed) => Some(parsed),
        };
        if self.store.get(arn, Stage::Pending, Some(token)).await?.is_some() {
            tracing::info!(secret_arn = arn, token, "the pending version already has a value");
            return Ok(Outcome::AlreadyDone);
        }
        let Some(current) = current else {
            let next = secret::with_new_values(&value, &self.settings.rotate_keys, || self.policy.generate())
                .map_err(|source| RotationError::InvalidSecret { which: CURRENT, source })?;
            self.store.put_pending(arn, token, &next, rotation_token).await?;
            tracing::info!(
                secret_arn = arn,
                token,
                engine = "generic",
                keys = self.settings.rotate_keys.join(","),
                "new values stored as AWSPENDING"
            );
            return Ok(Outcome::Done);
        };
        let username = current
            .pending_username()
            .map_err(|source| RotationError::InvalidSecret { which: CURRENT, source })?;
        let value = current.with_credentials(&username, &self.policy.generate());
        self.store.put_pending(arn, token, &value, rotation_token).await?;
        tracing::info!(
            secret_arn = arn,
            token,
            engine = current.engine.as_str(),
            strategy = current.strategy.as_str(),
            username,
            "new version stored as AWSPENDING"
        );
        Ok(Outcome::Done)
    }

    async fn set(&self, meta: &SecretMeta, token: &str) -> Result<Outcome, RotationError> {
        let arn = meta.arn.as_str();
        let value = self.current_value(arn).await?;
        let Kind::Database(current) = self.classify(meta, &value, CURRENT).await? else {
            tracing::info!(secret_arn = arn, token, "a non-database secret: setSecret has nothing to set");
            return Ok(Outcome::Done);
        };
        let pending = self.pending_value(arn, token).await?;
        let like_current = Located { engine: current.engine, host: current.host.clone(), port: current.port };
        let pending = DbSecret::parse_located(&pending, Some(&like_current))
            .map_err(|source| RotationError::InvalidSecret { which: PENDING, source })?;
        let expected_user = current
            .pending_username()
            .map_err(|source| RotationError::InvalidSecret { which: CURRENT, source })?;
        if pending.username != expected_user {
            return Err(stuck(
                arn,
                token,
                &format!("its username is {:?}, expected {expected_user:?}", pending.username),
            ));
        }
        if pending.host != current.host || pending.port != current.port || pending.engine != current.engine {
            return Err(stuck(arn, token, "its engine, host or port differs from AWSCURRENT's"));
        }
        // The strategy, and the master secret, come from AWSCURRENT: a pending version that
        // names another master was not made by this rotation's createSecret.
        if pending.strategy != current.strategy {
            return Err(stuck(
                arn,
                token,
                "its strategy or master secret (masterarn) differs from AWSCURRENT's",
            ));
        }
        if current.tls == Tls::Disabled || pending.tls == Tls::Disabled {
            tracing::warn!(secret_arn = arn, host = %pending.host, "the secret says \"ssl\": false: connecting without TLS");
        }
        match &current.strategy {
            Strategy::SingleUser => self.set_single_user(arn, &current, &pending).await,
            Strategy::AlternatingUsers { master_arn } => {
                self.set_alternating(arn, master_arn, &current, &pending).await
            }
        }
    }

    /// Logs in with AWSCURRENT (the usual case, one connection) and changes the password; if
    /// AWSCURRENT is refused, the password may already be the pending one (a retry after the
    /// change), else AWSPREVIOUS may still log in (someone restored it).
    async fn set_single_user(
        &self,
        arn: &str,
        current: &DbSecret,
        pending: &DbSecret,
    ) -> Result<Outcome, RotationError> {
        match self.db.connect(&login(current, &current.dbname)).await {
            Ok(mut session) => {
                // TEST_QUERY first, as the same user: one that cannot pass fails the rotation
                // before the password changes, while AWSCURRENT still logs in.
                self.test_query(&mut session, current).await?;
                session
                    .set_own_password(&pending.password)
                    .await
                    .map_err(|e| RotationError::db(CURRENT, e))?;
                tracing::info!(secret_arn = arn, username = %pending.username, "password changed by the user itself");
                return Ok(Outcome::Done);
            }
            Err(DbError::LoginFailed { .. }) => {}
            Err(e) => return Err(RotationError::db(CURRENT, e)),
        }
        match self.db.connect(&login(pending, &pending.dbname)).await {
            Ok(_) => {
                tracing::info!(secret_arn = arn, username = %pending.username, "the pending password already logs in");
                return Ok(Outcome::AlreadyDone);
            }
            Err(DbError::LoginFailed { .. }) => {}
            Err(e) => return Err(RotationError::db(PENDING, e)),
        }
        // AWSPREVIOUS only for the same user on the same database, and with AWSCURRENT's TLS
        // settings: an old version must not steer the login elsewhere, or off TLS.
        let previous = match self.store.get(arn, Stage::Previous, None).await? {
            Some(value) => DbSecret::parse_located(
                &value,
                Some(&Located { engine: current.engine, host: current.host.clone(), port: current.port }),
            )
            .ok()
            .filter(|p| {
                p.username == current.username
                    && p.host == current.host
                    && p.port == current.port
                    && p.engine == current.engine
            })
            .map(|p| current.with_password(p.password)),
            None => None,
        };
        let Some(previous) = previous else {
            return Err(RotationError::db(
                CURRENT,
                DbError::LoginFailed {
                    user: current.username.clone(),
                    detail: "neither AWSCURRENT nor AWSPENDING logs in, and there is no usable AWSPREVIOUS"
                        .into(),
                },
            ));
        };
        let mut session =
            self.db.connect(&login(&previous, &previous.dbname)).await.map_err(|e| match e {
                DbError::LoginFailed { user, .. } => RotationError::db(
                    CURRENT,
                    DbError::LoginFailed {
                        user,
                        detail: "none of AWSCURRENT, AWSPENDING and AWSPREVIOUS logs in".into(),
                    },
                ),
                other => RotationError::db(PREVIOUS, other),
            })?;
        session.set_own_password(&pending.password).await.map_err(|e| RotationError::db(PREVIOUS, e))?;
        tracing::info!(secret_arn = arn, username = %pending.username, "password changed after logging in with AWSPREVIOUS");
        Ok(Outcome::Done)
    }

    /// Alternating users: proves that the secret's own credentials log in, then logs in with the
    /// master secret (AWSCURRENT's `masterarn`), brings the clone in line with the user (creating
    /// it on the first rotation) and sets the pending user's password.
    async fn set_alternating(
        &self,
        arn: &str,
        master_arn: &str,
        current: &DbSecret,
        pending: &DbSecret,
    ) -> Result<Outcome, RotationError> {
        if let Some(list) = &self.settings.allowed_masters
            && !list.admits(master_arn)
        {
            return Err(RotationError::NotAllowed {
                action: "log in with master",
                secret: master_arn.to_owned(),
                variable: "ALLOWED_MASTER_SECRETS",
            });
        }
        let (master, target) = self.master(master_arn).await?;
        for user in [&current.username, &pending.username] {
            if *user == master.username || *user == format!("{}{}", master.username, secret::CLONE_SUFFIX) {
                return Err(RotationError::MasterUser {
                    user: user.clone(),
                    master: master.username.clone(),
                });
            }
        }
        if !locate::same_host(&master, pending) {
            let target = match target {
                Some(known) => known,
                None => self.store.describe(master_arn).await?.rds_target().map_err(RotationError::RdsTag)?,
            };
            self.locator.check_host(&master, target, pending).await?;
        }
        // Whoever can write the secret's value names the user the master acts on: the master acts
        // only for credentials that log in (AWSPENDING too: a retry after the password changed).
        self.prove(arn, current, pending).await?;
        let (base, clone) = secret::alternating_pair(&current.username);
        // The clone's password: the pending one when the clone is the pending user, else the
        // current one (the clone is AWSCURRENT and is being brought in line, not changed).
        let clone_password = if pending.username == clone { &pending.password } else { &current.password };
        let mut session = self
            .db
            .connect(&login(&master, &pending.dbname))
            .await
            .map_err(|e| RotationError::db(Credentials::Master, e))?;
        let sync = session
            .sync_clone(&clone, &base, clone_password)
            .await
            .map_err(|e| RotationError::db(Credentials::Master, e))?;
        if sync.created {
            tracing::info!(username = %clone, like = %base, changes = sync.changes, "clone created by the master user, with what the user can do");
        } else {
            tracing::info!(username = %clone, like = %base, changes = sync.changes, "clone brought in line with the user");
        }
        // Also right after creating it: on MySQL and MariaDB, host patterns that already existed
        // still hold an older password.
        session
            .set_password(&pending.username, &pending.password)
            .await
            .map_err(|e| RotationError::db(Credentials::Master, e))?;
        tracing::info!(username = %pending.username, "password changed by the master user");
        Ok(Outcome::Done)
    }

    /// Logs in with AWSCURRENT, or else AWSPENDING: the proof that whoever wrote the secret knows
    /// a working password of its user, before a master acts on that user's name.
    async fn prove(&self, arn: &str, current: &DbSecret, pending: &DbSecret) -> Result<(), RotationError> {
        match self.db.connect(&login(current, &current.dbname)).await {
            Ok(_) => return Ok(()),
            Err(DbError::LoginFailed { .. }) => {}
            Err(e) => return Err(RotationError::db(CURRENT, e)),
        }
        match self.db.connect(&login(pending, &pending.dbname)).await {
            Ok(_) => {
                tracing::info!(secret_arn = arn, username = %pending.username, "AWSCURRENT does not log in, AWSPENDING does: a retry");
                Ok(())
            }
            Err(DbError::LoginFailed { .. }) => Err(RotationError::db(
                CURRENT,
                DbError::LoginFailed {
                    user: current.username.clone(),
                    detail: "neither AWSCURRENT nor AWSPENDING logs in, so the master user was not used; fix the secret's credentials"
                        .into(),
                },
            )),
            Err(e) => Err(RotationError::db(PENDING, e)),
        }
    }

    /// The master secret, completed from the RDS API when RDS manages it, and the RDS database
    /// its tags name (`Some(None)`: it was described and names none; `None`: not described).
    async fn master(&self, master_arn: &str) -> Result<(DbSecret, Option<Option<RdsTarget>>), RotationError> {
        let value = self
            .store
            .get(master_arn, Stage::Current, None)
            .await?
            .ok_or(RotationError::MissingValue { secret: master_arn.into(), stage: Stage::Current })?;
        // The master's own fields first: a DescribeSecret and an RDS look-up only when it lacks
        // them (an RDS-managed master secret) or names another host.
        match DbSecret::parse(&value) {
            Ok(master) => Ok((master, None)),
            Err(SecretError::Missing(field @ ("engine" | "host"))) => {
                let meta = self.store.describe(master_arn).await?;
                let located = self.locator.locate(&meta).await?;
                if located.is_none() {
                    return Err(RotationError::InvalidSecret {
                        which: Credentials::Master,
                        source: SecretError::NotLocated(field),
                    });
                }
                let target = meta.rds_target().map_err(RotationError::RdsTag)?;
                let master = DbSecret::parse_located(&value, located.as_ref())
                    .map_err(|source| RotationError::InvalidSecret { which: Credentials::Master, source })?;
                Ok((master, Some(target)))
            }
            Err(source) => Err(RotationError::InvalidSecret { which: Credentials::Master, source }),
        }
    }

    async fn test(&self, meta: &SecretMeta, token: &str) -> Result<Outcome, RotationError> {
        let arn = meta.arn.as_str();
        let value = self.pending_value(arn, token).await?;
        let Kind::Database(pending) = self.classify(meta, &value, PENDING).await? else {
            tracing::info!(secret_arn = arn, token, "a non-database secret: testSecret has nothing to test");
            return Ok(Outcome::Done);
        };
        let tested = self.log_in_and_query(arn, token, &pending).await;
        let Err(err) = tested else { return Ok(Outcome::Done) };
        // RotateSecret without an immediate rotation (a schedule attached by CloudFormation,
        // say) tests the configuration: testSecret on an AWSPENDING copy of AWSCURRENT's value.
        // That version was never set, so its failure to log in says nothing of this rotation;
        // a real pending version always holds a new password, so this never excuses one.
        if self
            .store
            .get(arn, Stage::Current, None)
            .await?
            .is_some_and(|current| current.expose() == value.expose())
        {
            let error_type = err.error_type();
            tracing::warn!(
                secret_arn = arn,
                token,
                error_type,
                error = %err,
                "rotation configuration test: AWSPENDING is a copy of AWSCURRENT, which does not log in; \
                 the first rotation will fail until it does"
            );
            return Ok(Outcome::ConfigurationTest);
        }
        Err(err)
    }

    /// Logs in with the pending credentials, checks who the server says they are, and runs
    /// `TEST_QUERY` if there is one.
    async fn log_in_and_query(
        &self,
        arn: &str,
        token: &str,
        pending: &DbSecret,
    ) -> Result<(), RotationError> {
        let mut session = self
            .db
            .connect(&login(pending, &pending.dbname))
            .await
            .map_err(|e| RotationError::db(PENDING, e))?;
        let who = session.whoami().await.map_err(|e| RotationError::db(PENDING, e))?;
        if who != pending.username {
            return Err(RotationError::TestFailed(format!(
                "logged in as {who:?}, expected {:?}",
                pending.username
            )));
        }
        self.test_query(&mut session, pending).await?;
        tracing::info!(secret_arn = arn, token, username = %who, "the pending credentials log in and query");
        Ok(())
    }

    /// Runs `TEST_QUERY`, if set, in `session` (logged in as `secret`'s user).
    async fn test_query(&self, session: &mut D::Session, secret: &DbSecret) -> Result<(), RotationError> {
        let Some(query) = &self.settings.test_query else { return Ok(()) };
        session.read_only_query(query).await.map_err(|e| {
            RotationError::TestFailed(format!(
                "TEST_QUERY failed as {:?}: {}",
                secret.username,
                e.scrubbed(&[secret.password.expose()])
            ))
        })?;
        tracing::info!(username = %secret.username, "TEST_QUERY ran");
        Ok(())
    }
}

/// A pending version that this rotation's createSecret did not make: the error says how to
/// clear it, so that the next rotation starts afresh.
fn stuck(arn: &str, token: &str, reason: &str) -> RotationError {
    RotationError::Mismatch(format!(
        "{reason}. The AWSPENDING version was not made by this rotation's createSecret; clear it with \
         `aws secretsmanager update-secret-version-stage --secret-id {arn} --version-stage AWSPENDING --remove-from-version-id {token}` \
         and rotate again"
    ))
}

fn login(secret: &DbSecret, dbname: &str) -> Login {
    Login {
        engine: secret.engine,
        host: secret.host.clone(),
        port: secret.port,
        username: secret.username.clone(),
        password: SecretString::new(secret.password.expose()),
        dbname: dbname.to_owned(),
        tls: secret.tls,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use common::ErrorKind;

    use super::*;
    use crate::fakes::{FakeDb, FakeRds, FakeStore, When};
    use crate::ports::{AWSCURRENT, AWSPENDING, AWSPREVIOUS};
    use crate::ports::{TAG_RDS_CLUSTER, TAG_RDS_INSTANCE};
    use common::aws::{AwsError, AwsErrorKind, Service};

    pub(super) const ARN: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:app-AbCdEf";
    pub(super) const MASTER: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:master-GhIjKl";

    pub(super) fn policy() -> PasswordPolicy {
        PasswordPolicy::from_lookup(&HashMap::<&str, &str>::new()).unwrap()
    }

    fn secret(user: &str, password: &str, master: bool) -> String {
        let mut v = serde_json::json!({"engine": "postgres", "host": "db.internal", "port": 5432, "username": user, "password": password, "dbname": "app", "note": {"kept": true}});
        if master {
            v["masterarn"] = MASTER.into();
        }
        v.to_string()
    }

    pub(super) fn single_user() -> (FakeStore, FakeDb) {
        let store = FakeStore::default();
        store.add(ARN, &secret("app", "old-Password-1", false));
        let db = FakeDb::default();
        db.add_user("app", "old-Password-1", &["readers"], false);
        (store, db)
    }

    pub(super) fn alternating() -> (FakeStore, FakeDb) {
        let store = FakeStore::default();
        store.add(ARN, &secret("app", "old-Password-1", true));
        store.add(MASTER, &secret("master", "master-Password-1", false));
        let db = FakeDb::default();
        db.add_user("app", "old-Password-1", &["readers", "writers"], false);
        db.add_user("master", "master-Password-1", &[], true);
        (store, db)
    }

    fn event(step: &str, token: &str) -> RotationEvent {
        RotationEvent {
            step: step.into(),
            secret_id: ARN.into(),
            client_request_token: token.into(),
            rotation_token: None,
        }
    }

    const STEPS: [&str; 4] = ["createSecret", "setSecret", "testSecret", "finishSecret"];

    /// Drives a rotation as the service does, retrying a failed step up to `retries` times.
    pub(super) async fn rotate<R: RdsApi + Sync>(
        rotator: &Rotator<&FakeStore, &FakeDb, R>,
        store: &FakeStore,
        token: &str,
        retries: usize,
    ) -> Vec<Outcome> {
        store.start_rotation(ARN, token);
        let mut outcomes = Vec::new();
        for step in STEPS {
            let mut attempt = 0;
            loop {
                match rotator.handle(&event(step, token)).await {
                    Ok(o) => {
                        outcomes.push(o);
                        break;
                    }
                    Err(e) if attempt < retries => {
                        attempt += 1;
                        let _ = e;
                    }
                    Err(e) => panic!("{step} failed {attempt} times: {e}"),
                }
            }
        }
        store.end_rotation(ARN, token);
        outcomes
    }

    fn current(store: &FakeStore) -> serde_json::Value {
        serde_json::from_str(&store.value(ARN, AWSCURRENT).unwrap()).unwrap()
    }

    fn logs_in_with_current(store: &FakeStore, db: &FakeDb) -> bool {
        let c = current(store);
        db.logs_in(c["username"].as_str().unwrap(), c["password"].as_str().unwrap())
    }

    #[tokio::test]
    async fn single_user_rotation_changes_the_password_and_keeps_other_keys() {
        let (store, db) = single_user();
        let rotator = Rotator::new(&store, &db, policy());
        let outcomes = rotate(&rotator, &store, "t1", 0).await;
        assert_eq!(outcomes, [Outcome::Done; 4]);
        let c = current(&store);
        assert_eq!(c["username"], "app");
        assert_ne!(c["password"], "old-Password-1");
        assert_eq!(c["note"], serde_json::json!({"kept": true}));
        assert!(logs_in_with_current(&store, &db));
        assert!(!db.logs_in("app", "old-Password-1"), "the previous password stops working");
        let previous: serde_json::Value =
            serde_json::from_str(&store.value(ARN, AWSPREVIOUS).unwrap()).unwrap();
        assert_eq!(previous["password"], "old-Password-1");
        assert_eq!(*db.connections.lock().unwrap(), 2, "one connection for setSecret, one for testSecret");
    }

    #[tokio::test]
    async fn each_step_ends_in_one_outcome_line_naming_the_secret_and_never_its_values() {
        use common::invocation::observe;
        use common::testing::LogCapture;
        use tracing::instrument::WithSubscriber as _;

        let (store, db) = alternating();
        let rotator = Rotator::new(&store, &db, policy());
        store.start_rotation(ARN, "t1");
        let logs = LogCapture::default();
        async {
            observe(rotator.handle(&event("createSecret", "t1"))).await.unwrap();
            db.faults.inject("set_password", When::Before);
            observe(rotator.handle(&event("setSecret", "t1"))).await.unwrap_err();
        }
        .with_subscriber(logs.subscriber())
        .await;
        let outcomes: Vec<serde_json::Value> = logs
            .text()
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .filter(|l| l.get("outcome").is_some())
            .collect();
        assert_eq!(outcomes.len(), 2, "{}", logs.text());
        for (line, step, outcome) in
            [(&outcomes[0], "createSecret", "done"), (&outcomes[1], "setSecret", "failed")]
        {
            assert_eq!(
                (line["step"].as_str(), line["outcome"].as_str()),
                (Some(step), Some(outcome)),
                "{line}"
            );
            assert_eq!((line["secret_arn"].as_str(), line["token"].as_str()), (Some(ARN), Some("t1")));
            assert_eq!(
                (line["engine"].as_str(), line["strategy"].as_str()),
                (Some("postgres"), Some("alternating-users"))
            );
        }
        assert!(
            outcomes[1]["error_type"].as_str().is_some_and(|t| t.starts_with("Rotation.")),
            "{}",
            outcomes[1]
        );
        let pending: serde_json::Value =
            serde_json::from_str(&store.value(ARN, AWSPENDING).unwrap()).unwrap();
        logs.assert_free_of(&["old-Password-1", "master-Password-1", pending["password"].as_str().unwrap()]);
    }

    #[tokio::test]
    async fn every_step_run_twice_converges() {
        for (store, db) in [single_user(), alternating()] {
            let rotator = Rotator::new(&store, &db, policy());
            store.start_rotation(ARN, "t1");
            for step in STEPS {
                let first = rotator.handle(&event(step, "t1")).await.unwrap();
                let second = rotator.handle(&event(step, "t1")).await.unwrap();
                match step {
                    "createSecret" => assert_eq!((first, second), (Outcome::Done, Outcome::AlreadyDone)),
                    "finishSecret" => assert_eq!((first, second), (Outcome::Done, Outcome::AlreadyCurrent)),
                    _ => assert_eq!(first, Outcome::Done),
                }
                assert!(
                    second == Outcome::Done
                        || second == Outcome::AlreadyDone
                        || second == Outcome::AlreadyCurrent
                );
            }
            assert!(logs_in_with_current(&store, &db));
        }
    }

    #[tokio::test]
    async fn alternating_users_create_the_clone_then_alternate() {
        let (store, db) = alternating();
        let rotator = Rotator::new(&store, &db, policy());
        rotate(&rotator, &store, "t1", 0).await;
        let c = current(&store);
        assert_eq!(c["username"], "app_clone");
        assert!(logs_in_with_current(&store, &db));
        assert!(db.logs_in("app", "old-Password-1"), "the old user keeps working until the next rotation");
        assert!(db.can_do_what("app_clone", "app"), "the clone can do what the user can");
        assert!(!db.users.lock().unwrap()["app_clone"].can_create_roles);
        rotate(&rotator, &store, "t2", 0).await;
        assert_eq!(current(&store)["username"], "app");
        assert!(logs_in_with_current(&store, &db));
        assert!(!db.logs_in("app", "old-Password-1"));
        let clone_password = serde_json::from_str::<serde_json::Value>(
            &store.value(ARN, AWSPREVIOUS).unwrap(),
        )
        .unwrap()["password"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(db.logs_in("app_clone", &clone_password), "the clone still logs in as AWSPREVIOUS");
    }

    #[tokio::test]
    async fn a_membership_given_after_the_first_rotation_reaches_the_clone() {
        let (store, db) = alternating();
        let rotator = Rotator::new(&store, &db, policy());
        rotate(&rotator, &store, "t1", 0).await;
        db.users.lock().unwrap().get_mut("app").unwrap().roles.push("auditors".into());
        // Someone tidied up: the clone lost its membership in the user.
        db.users.lock().unwrap().get_mut("app_clone").unwrap().roles.clear();
        rotate(&rotator, &store, "t2", 0).await;
        assert!(
            db.can_do_what("app_clone", "app"),
            "repaired and in line, though the clone is now AWSPREVIOUS"
        );
        assert!(
            FakeDb::effective_roles(&db.users.lock().unwrap(), "app_clone").contains(&"auditors".to_owned())
        );
    }

    /// Runs createSecret, then setSecret, which must fail with `error_type`, the master never
    /// logging in and no user created or changed.
    async fn set_is_refused(
        store: &FakeStore,
        db: &FakeDb,
        rotator: &Rotator<&FakeStore, &FakeDb>,
        error_type: &str,
    ) -> String {
        store.start_rotation(ARN, "t1");
        rotator.handle(&event("createSecret", "t1")).await.unwrap();
        let users = db.users.lock().unwrap().clone();
        let err = rotator.handle(&event("setSecret", "t1")).await.unwrap_err();
        assert_eq!(err.error_type(), error_type, "{err}");
        let after = db.users.lock().unwrap().clone();
        assert_eq!(after.len(), users.len(), "no user created");
        for (name, user) in &users {
            assert_eq!(after[name].password, user.password, "{name} unchanged");
            assert_eq!(after[name].roles, user.roles, "{name} unchanged");
        }
        err.to_string()
    }

    #[tokio::test]
    async fn the_master_acts_only_for_credentials_that_log_in() {
        // Whoever can write the secret names a user whose password it does not know.
        let (store, db) = alternating();
        db.add_user("victim", "victim-Password-1", &["admins"], false);
        store.add(ARN, &secret("victim", "guessed-Password", true));
        let rotator = Rotator::new(&store, &db, policy());
        let err = set_is_refused(&store, &db, &rotator, "Rotation.DatabaseLogin").await;
        assert!(err.contains("master user was not used"), "{err}");
        assert!(!db.users.lock().unwrap().contains_key("victim_clone"));
        assert!(!db.logins.lock().unwrap().iter().any(|u| u == "master"), "the master never logged in");

        // The same for the clone of a user it does not know.
        store.add(ARN, &secret("victim_clone", "guessed-Password", true));
        set_is_refused(&store, &db, &rotator, "Rotation.DatabaseLogin").await;
        assert!(db.logs_in("victim", "victim-Password-1"));
    }

    #[tokio::test]
    async fn the_master_and_its_clone_name_are_refused_whatever_the_secret_says() {
        for user in ["master", "master_clone"] {
            let (store, db) = alternating();
            // Even with the master's own password: the master must not act on itself.
            db.add_user("master_clone", "master-Password-1", &[], false);
            store.add(ARN, &secret(user, "master-Password-1", true));
            let rotator = Rotator::new(&store, &db, policy());
            let err = set_is_refused(&store, &db, &rotator, "Rotation.NotAllowed").await;
            assert!(err.contains("\"master\""), "{err}");
            assert!(db.logins.lock().unwrap().is_empty(), "refused before any login");
        }
    }

    #[tokio::test]
    async fn the_master_comes_from_awscurrent_never_from_the_pending_version() {
        let (store, db) = alternating();
        let evil = "arn:aws:secretsmanager:us-east-1:123456789012:secret:evil-ZzZzZz";
        store.add(evil, &secret("master", "master-Password-1", false));
        let rotator = Rotator::new(&store, &db, policy());
        store.start_rotation(ARN, "t1");
        let mut pending: serde_json::Value =
            serde_json::from_str(&secret("app_clone", "new-Password-1", true)).unwrap();
        pending["masterarn"] = evil.into();
        (&store).put_pending(ARN, "t1", &SecretString::new(pending.to_string()), None).await.unwrap();
        let err = rotator.handle(&event("setSecret", "t1")).await.unwrap_err();
        assert_eq!(err.error_type(), "Rotation.PendingMismatch");
        assert!(
            err.to_string().contains("update-secret-version-stage")
                && err.to_string().contains("--remove-from-version-id t1"),
            "{err}"
        );
        assert!(!db.users.lock().unwrap().contains_key("app_clone"));
        assert!(store.reads.lock().unwrap().iter().all(|id| id != evil));
    }

    #[tokio::test]
    async fn allow_lists_refuse_other_secrets_before_any_value_is_read() {
        use crate::settings::AllowList;
        let (store, db) = alternating();
        let rotator = Rotator::new(&store, &db, policy()).with_settings(Settings {
            allowed_secrets: Some(AllowList::new(&["other"])),
            ..Settings::default()
        });
        store.start_rotation(ARN, "t1");
        let err = rotator.handle(&event("createSecret", "t1")).await.unwrap_err();
        assert_eq!(err.error_type(), "Rotation.NotAllowed");
        assert!(err.to_string().contains("ALLOWED_SECRETS"), "{err}");
        assert!(store.reads.lock().unwrap().is_empty(), "no value read");

        let by_name = Rotator::new(&store, &db, policy()).with_settings(Settings {
            allowed_secrets: Some(AllowList::new(&["app"])),
            ..Settings::default()
        });
        by_name.handle(&event("createSecret", "t1")).await.unwrap();

        let masters = Rotator::new(&store, &db, policy())
            .with_settings(Settings { allowed_masters: Some(AllowList::default()), ..Settings::default() });
        store.reads.lock().unwrap().clear();
        let err = masters.handle(&event("setSecret", "t1")).await.unwrap_err();
        assert_eq!(err.error_type(), "Rotation.NotAllowed");
        assert!(err.to_string().contains("ALLOWED_MASTER_SECRETS"), "{err}");
        assert!(store.reads.lock().unwrap().iter().all(|id| id != MASTER), "the master's value was not read");
        assert!(!db.users.lock().unwrap().contains_key("app_clone"));
        let allowed = Rotator::new(&store, &db, policy()).with_settings(Settings {
            allowed_masters: Some(AllowList::new(&["master"])),
            ..Settings::default()
        });
        allowed.handle(&event("setSecret", "t1")).await.unwrap();
    }

    #[tokio::test]
    async fn awsprevious_is_tried_only_for_the_same_user_and_database() {
        for (field, value) in [("host", "elsewhere.internal"), ("port", "6543"), ("username", "other")] {
            let (store, db) = single_user();
            db.add_user("other", "old-Password-0", &[], false);
            let mut previous: serde_json::Value =
                serde_json::from_str(&secret("app", "old-Password-0", false)).unwrap();
            previous[field] = value.into();
            // AWSCURRENT no longer logs in; AWSPREVIOUS holds what does, but points elsewhere.
            db.users.lock().unwrap().get_mut("app").unwrap().password = "old-Password-0".into();
            {
                let mut secrets = store.secrets.lock().unwrap();
                let versions = &mut secrets.get_mut(ARN).unwrap().versions;
                versions.insert(
                    "v-1".into(),
                    crate::fakes::Version {
                        value: Some(previous.to_string()),
                        stages: vec![AWSPREVIOUS.into()],
                    },
                );
            }
            let rotator = Rotator::new(&store, &db, policy());
            store.start_rotation(ARN, "t1");
            rotator.handle(&event("createSecret", "t1")).await.unwrap();
            let err = rotator.handle(&event("setSecret", "t1")).await.unwrap_err();
            assert_eq!(err.error_type(), "Rotation.DatabaseLogin", "{field}");
            assert!(
                db.hosts.lock().unwrap().iter().all(|h| h == "db.internal:5432"),
                "{field}: {:?}",
                db.hosts.lock().unwrap()
            );
            if field == "host" {
                // The same AWSPREVIOUS on the right host repairs it.
                previous[field] = "db.internal".into();
                store.secrets.lock().unwrap().get_mut(ARN).unwrap().versions.get_mut("v-1").unwrap().value =
                    Some(previous.to_string());
                rotator.handle(&event("setSecret", "t1")).await.unwrap();
            }
        }
    }

    #[tokio::test]
    async fn test_query_runs_as_the_pending_user_and_fails_the_test() {
        let (store, db) = alternating();
        db.readable.lock().unwrap().insert("SELECT 1 FROM orders".into(), vec!["writers".into()]);
        let with_query = |query: &str| {
            Rotator::new(&store, &db, policy())
                .with_settings(Settings { test_query: Some(query.into()), ..Settings::default() })
        };
        rotate(&with_query("SELECT 1 FROM orders"), &store, "t1", 0).await;
        assert_eq!(current(&store)["username"], "app_clone");
        store.start_rotation(ARN, "t2");
        let rotator = with_query("SELECT 1 FROM payroll");
        for step in ["createSecret", "setSecret"] {
            rotator.handle(&event(step, "t2")).await.unwrap();
        }
        let err = rotator.handle(&event("testSecret", "t2")).await.unwrap_err();
        assert_eq!(err.error_type(), "Rotation.TestFailed");
        assert!(err.to_string().contains("TEST_QUERY") && err.to_string().contains("\"app\""), "{err}");
        assert_eq!(current(&store)["username"], "app_clone", "nothing became AWSCURRENT");
    }

    #[tokio::test]
    async fn the_configuration_test_of_rotate_secret_passes_but_a_real_test_never_without_a_login() {
        for strategy in ["single", "alternating"] {
            let (store, db) = if strategy == "single" { single_user() } else { alternating() };
            let rotator = Rotator::new(&store, &db, policy());
            // What RotateSecret does without rotating at once: AWSPENDING on a copy of AWSCURRENT.
            store.start_rotation(ARN, "t0");
            let copy = store.value(ARN, AWSCURRENT).unwrap();
            (&store).put_pending(ARN, "t0", &SecretString::new(copy), None).await.unwrap();
            assert_eq!(
                rotator.handle(&event("testSecret", "t0")).await.unwrap(),
                Outcome::Done,
                "{strategy}: it logs in"
            );
            *db.down.lock().unwrap() = true;
            assert_eq!(
                rotator.handle(&event("testSecret", "t0")).await.unwrap(),
                Outcome::ConfigurationTest,
                "{strategy}"
            );
            *db.down.lock().unwrap() = false;

            // A real rotation whose new password does not log in fails, as it must.
            store.start_rotation(ARN, "t1");
            rotator.handle(&event("createSecret", "t1")).await.unwrap();
            let err = rotator.handle(&event("testSecret", "t1")).await.unwrap_err();
            assert_eq!(err.error_type(), "Rotation.DatabaseLogin", "{strategy}");
        }
    }

    #[tokio::test]
    async fn a_fault_before_or_inside_any_operation_is_repaired_by_a_retry() {
        let ops =
            ["describe", "get", "put_pending", "promote", "connect", "set_password", "sync_clone", "whoami"];
        for strategy in ["single", "alternating"] {
            for op in ops {
                for when in [When::Before, When::After] {
                    let (store, db) = if strategy == "single" { single_user() } else { alternating() };
                    if when == When::After && ["connect", "whoami"].contains(&op) {
                        continue;
                    }
                    if op == "sync_clone" && strategy == "single" {
                        continue;
                    }
                    store.faults.inject(op, when);
                    db.faults.inject(op, when);
                    let rotator = Rotator::new(&store, &db, policy());
                    rotate(&rotator, &store, "t1", 2).await;
                    if strategy == "alternating" {
                        // The first rotation creates the clone; the second changes a password.
                        rotate(&rotator, &store, "t2", 2).await;
                    }
                    let context = format!("{strategy} {op} {when:?}");
                    assert!(logs_in_with_current(&store, &db), "{context}");
                    assert_eq!(store.value(ARN, AWSPENDING), None, "{context}: AWSPENDING cleared");
                    assert_ne!(current(&store)["password"], "old-Password-1", "{context}");
                    assert!(store.faults.pending() + db.faults.pending() <= 1, "{context}: the fault fired");
                }
            }
        }
    }

    #[tokio::test]
    async fn guards_run_in_the_services_order() {
        let (store, db) = single_user();
        let rotator = Rotator::new(&store, &db, policy());
        let err = rotator.handle(&event("createSecret", "nope")).await.unwrap_err();
        assert_eq!(err.error_type(), "Rotation.UnknownVersion");
        assert_eq!(rotator.handle(&event("createSecret", "v0")).await.unwrap(), Outcome::AlreadyCurrent);
        store.start_rotation(ARN, "t1");
        let err = rotator.handle(&event("rotateEverything", "t1")).await.unwrap_err();
        assert_eq!(err.error_type(), "Rotation.UnknownStep");
        store.secrets.lock().unwrap().get_mut(ARN).unwrap().versions.get_mut("t1").unwrap().stages.clear();
        store
            .secrets
            .lock()
            .unwrap()
            .get_mut(ARN)
            .unwrap()
            .versions
            .get_mut("t1")
            .unwrap()
            .stages
            .push("CUSTOM".into());
        assert_eq!(
            rotator.handle(&event("createSecret", "t1")).await.unwrap_err().error_type(),
            "Rotation.NotPending"
        );
        store.secrets.lock().unwrap().get_mut(ARN).unwrap().rotation_enabled = false;
        assert_eq!(
            rotator.handle(&event("createSecret", "t1")).await.unwrap_err().error_type(),
            "Rotation.NotEnabled"
        );
    }

    #[tokio::test]
    async fn bad_secrets_and_databases_fail_with_clear_types_and_change_nothing() {
        let (store, db) = single_user();
        store.add(ARN, &serde_json::json!({"engine": "postgres", "host": "db", "password": "x"}).to_string());
        let rotator = Rotator::new(&store, &db, policy());
        store.start_rotation(ARN, "t1");
        let err = rotator.handle(&event("createSecret", "t1")).await.unwrap_err();
        assert_eq!(err.error_type(), "Rotation.InvalidSecret");
        assert!(err.to_string().contains("\"username\""), "{err}");
        assert_eq!(store.value(ARN, AWSPENDING), None, "nothing was stored");

        let (store, db) = single_user();
        store.add(ARN, &secret("app", "wrong-Password", false));
        let rotator = Rotator::new(&store, &db, policy());
        store.start_rotation(ARN, "t1");
        rotator.handle(&event("createSecret", "t1")).await.unwrap();
        let err = rotator.handle(&event("setSecret", "t1")).await.unwrap_err();
        assert_eq!(err.error_type(), "Rotation.DatabaseLogin");
        assert!(db.logs_in("app", "old-Password-1"), "the database is unchanged");

        let (store, db) = single_user();
        *db.down.lock().unwrap() = true;
        let rotator = Rotator::new(&store, &db, policy());
        store.start_rotation(ARN, "t1");
        rotator.handle(&event("createSecret", "t1")).await.unwrap();
        assert_eq!(
            rotator.handle(&event("setSecret", "t1")).await.unwrap_err().error_type(),
            "Rotation.DatabaseUnreachable"
        );
        *db.down.lock().unwrap() = false;
        rotator.handle(&event("setSecret", "t1")).await.unwrap();

        let (store, db) = alternating();
        db.users.lock().unwrap().get_mut("master").unwrap().can_create_roles = false;
        let rotator = Rotator::new(&store, &db, policy());
        store.start_rotation(ARN, "t1");
        rotator.handle(&event("createSecret", "t1")).await.unwrap();
        assert_eq!(
            rotator.handle(&event("setSecret", "t1")).await.unwrap_err().error_type(),
            "Rotation.PermissionDenied"
        );
    }

    #[tokio::test]
    async fn generic_secrets_rotate_their_keys_without_a_database() {
        let store = FakeStore::default();
        store.add(ARN, r#"{"api_key":"old-key-1","endpoint":"https://api.example.com","retries":3}"#);
        let db = FakeDb::default();
        let rotator = Rotator::new(&store, &db, policy()).with_rotate_keys(vec!["api_key".into()]);
        store.start_rotation(ARN, "t1");
        for step in STEPS {
            assert_eq!(rotator.handle(&event(step, "t1")).await.unwrap(), Outcome::Done, "{step}");
            let again = rotator.handle(&event(step, "t1")).await.unwrap();
            match step {
                "createSecret" => assert_eq!(again, Outcome::AlreadyDone),
                "finishSecret" => assert_eq!(again, Outcome::AlreadyCurrent),
                _ => assert_eq!(again, Outcome::Done, "{step} has nothing to do, twice"),
            }
        }
        let c = current(&store);
        assert_eq!(c["api_key"].as_str().unwrap().len(), 32);
        assert_ne!(c["api_key"], "old-key-1");
        assert_eq!(
            (c["endpoint"].as_str(), c["retries"].as_i64()),
            (Some("https://api.example.com"), Some(3))
        );
        assert_eq!(*db.connections.lock().unwrap(), 0, "no database is involved");

        let unconfigured = Rotator::new(&store, &db, policy());
        store.start_rotation(ARN, "t2");
        let err = unconfigured.handle(&event("createSecret", "t2")).await.unwrap_err();
        assert_eq!(err.error_type(), "Rotation.InvalidConfiguration");
        assert!(err.to_string().contains("ROTATE_KEYS"), "{err}");
        let typo = Rotator::new(&store, &db, policy()).with_rotate_keys(vec!["apikey".into()]);
        let err = typo.handle(&event("createSecret", "t2")).await.unwrap_err();
        assert_eq!(err.error_type(), "Rotation.InvalidSecret");
        assert!(err.to_string().contains("\"apikey\""), "{err}");
        assert_eq!(store.value(ARN, AWSPENDING), None, "nothing was stored");
    }

    #[tokio::test]
    async fn a_pending_secret_for_another_user_or_host_is_refused() {
        let (store, db) = single_user();
        let rotator = Rotator::new(&store, &db, policy());
        store.start_rotation(ARN, "t1");
        let other = SecretString::new(secret("admin", "x-Password-2", false));
        (&store).put_pending(ARN, "t1", &other, None).await.unwrap();
        assert_eq!(
            rotator.handle(&event("setSecret", "t1")).await.unwrap_err().error_type(),
            "Rotation.PendingMismatch"
        );
        assert!(db.logs_in("app", "old-Password-1"));
    }

    const WRITER: &str = "shop.cluster-abc.us-east-1.rds.amazonaws.com";
    const READER: &str = "shop.cluster-ro-abc.us-east-1.rds.amazonaws.com";

    /// An RDS-managed master secret (username and password only, tagged with its cluster) and an
    /// application secret that reaches the cluster through `app_host`.
    fn rds_managed(app_host: &str) -> (FakeStore, FakeDb, FakeRds) {
        let store = FakeStore::default();
        let app = serde_json::json!({"engine": "postgres", "host": app_host, "port": 5432, "username": "app", "password": "old-Password-1", "dbname": "app", "masterarn": MASTER});
        store.add(ARN, &app.to_string());
        store.add(MASTER, r#"{"username":"master","password":"master-Password-1"}"#);
        store.tag(MASTER, TAG_RDS_CLUSTER, "arn:aws:rds:us-east-1:123456789012:cluster:shop");
        let db = FakeDb::default();
        db.add_user("app", "old-Password-1", &["readers"], false);
        db.add_user("master", "master-Password-1", &[], true);
        let rds = FakeRds::default();
        rds.add(
            RdsTarget::Cluster("shop".into()),
            "aurora-postgresql",
            WRITER,
            5432,
            &[(READER, 5432), ("shop-1.abc.us-east-1.rds.amazonaws.com", 5432)],
        );
        (store, db, rds)
    }

    #[tokio::test]
    async fn an_rds_managed_master_secret_is_found_through_its_cluster_tag() {
        for app_host in [WRITER, READER] {
            let (store, db, rds) = rds_managed(app_host);
            let rotator = Rotator::new(&store, &db, policy()).with_rds(&rds);
            rotate(&rotator, &store, "t1", 0).await;
            assert_eq!(current(&store)["username"], "app_clone");
            assert!(logs_in_with_current(&store, &db));
            let hosts = db.hosts.lock().unwrap().clone();
            assert_eq!(
                hosts[0],
                format!("{app_host}:5432"),
                "AWSCURRENT proves itself where the secret points: {hosts:?}"
            );
            assert_eq!(hosts[1], format!("{WRITER}:5432"), "the master logs in on the writer: {hosts:?}");
            assert_eq!(
                hosts[2],
                format!("{app_host}:5432"),
                "testSecret logs in where the secret points: {hosts:?}"
            );
            assert_eq!(*db.logins.lock().unwrap(), ["app", "master", "app_clone"]);
            let expected_rds_calls = if app_host == WRITER { 1 } else { 2 };
            assert_eq!(*rds.calls.lock().unwrap(), expected_rds_calls, "{app_host}");
        }
    }

    #[tokio::test]
    async fn a_host_outside_the_masters_database_is_refused_and_nothing_changes() {
        let (store, db, rds) = rds_managed("other-db.abc.us-east-1.rds.amazonaws.com");
        let rotator = Rotator::new(&store, &db, policy()).with_rds(&rds);
        store.start_rotation(ARN, "t1");
        rotator.handle(&event("createSecret", "t1")).await.unwrap();
        let err = rotator.handle(&event("setSecret", "t1")).await.unwrap_err();
        assert_eq!(err.error_type(), "Rotation.HostMismatch");
        assert!(
            err.to_string().contains("other-db.abc") && err.to_string().contains("DB cluster shop"),
            "{err}"
        );
        assert_eq!(*db.connections.lock().unwrap(), 0, "no login before the host is checked");
        assert!(!db.users.lock().unwrap().contains_key("app_clone"));
    }

    #[tokio::test]
    async fn a_master_secret_without_engine_host_or_tags_is_refused_clearly() {
        let (store, db, rds) = rds_managed(WRITER);
        store.secrets.lock().unwrap().get_mut(MASTER).unwrap().tags.clear();
        let rotator = Rotator::new(&store, &db, policy()).with_rds(&rds);
        store.start_rotation(ARN, "t1");
        rotator.handle(&event("createSecret", "t1")).await.unwrap();
        let err = rotator.handle(&event("setSecret", "t1")).await.unwrap_err();
        assert_eq!(err.error_type(), "Rotation.InvalidSecret");
        assert!(err.to_string().contains("aws:rds:primaryDBClusterArn"), "{err}");
        assert_eq!(*rds.calls.lock().unwrap(), 0);

        // The same master with a tag that is not an RDS ARN.
        store.tag(MASTER, TAG_RDS_CLUSTER, "arn:aws:secretsmanager:us-east-1:123456789012:secret:x");
        let err = rotator.handle(&event("setSecret", "t1")).await.unwrap_err();
        assert_eq!(err.error_type(), "Rotation.RdsLookup");
        assert!(
            !err.to_string().contains("secretsmanager:us-east-1"),
            "the tag value is not repeated: {err}"
        );
    }

    #[tokio::test]
    async fn rds_api_errors_fail_the_step_with_their_type_and_a_retry_converges() {
        let (store, db, rds) = rds_managed(READER);
        let rotator = Rotator::new(&store, &db, policy()).with_rds(&rds);
        store.start_rotation(ARN, "t1");
        rotator.handle(&event("createSecret", "t1")).await.unwrap();
        for (err, error_type) in [
            (AwsErrorKind::NotFound, "Rotation.RdsNotFound"),
            (AwsErrorKind::Denied { kms: false }, "Rotation.AccessDenied"),
            (AwsErrorKind::Throttled, "Rotation.TransientAws"),
            (AwsErrorKind::Unavailable, "Rotation.TransientAws"),
            (AwsErrorKind::Rejected, "Rotation.RdsLookup"),
        ] {
            *rds.fail.lock().unwrap() = Some(AwsError::new(Service::Rds, err, None, "injected"));
            assert_eq!(rotator.handle(&event("setSecret", "t1")).await.unwrap_err().error_type(), error_type);
            assert!(!db.users.lock().unwrap().contains_key("app_clone"));
        }
        *rds.fail.lock().unwrap() = None;
        for step in ["setSecret", "testSecret", "finishSecret"] {
            rotator.handle(&event(step, "t1")).await.unwrap();
        }
        assert!(logs_in_with_current(&store, &db));
    }

    #[tokio::test]
    async fn an_rds_managed_secret_rotates_its_own_password_on_the_instance_its_tag_names() {
        let store = FakeStore::default();
        store.add(ARN, r#"{"username":"master","password":"master-Password-1"}"#);
        store.tag(ARN, TAG_RDS_INSTANCE, "arn:aws:rds:us-east-1:123456789012:db:orders");
        let db = FakeDb::default();
        db.add_user("master", "master-Password-1", &[], true);
        let rds = FakeRds::default();
        rds.add(
            RdsTarget::Instance("orders".into()),
            "postgres",
            "orders.abc.us-east-1.rds.amazonaws.com",
            6432,
            &[],
        );
        let rotator = Rotator::new(&store, &db, policy()).with_rds(&rds);
        rotate(&rotator, &store, "t1", 0).await;
        let value = current(&store);
        assert_eq!(
            value.as_object().unwrap().len(),
            2,
            "the secret keeps RDS's shape: {:?}",
            value.as_object().unwrap().keys()
        );
        assert!(logs_in_with_current(&store, &db));
        assert!(!db.logs_in("master", "master-Password-1"));
        assert!(db.hosts.lock().unwrap().iter().all(|h| h == "orders.abc.us-east-1.rds.amazonaws.com:6432"));
        assert_eq!(*rds.calls.lock().unwrap(), 1, "the three steps that need the database share one look-up");

        // Without its tag, the same secret is not taken for a non-database one.
        let untagged = FakeStore::default();
        untagged.add(ARN, r#"{"username":"master","password":"master-Password-1"}"#);
        let rotator =
            Rotator::new(&untagged, &db, policy()).with_rds(&rds).with_rotate_keys(vec!["password".into()]);
        untagged.start_rotation(ARN, "t2");
        let err = rotator.handle(&event("createSecret", "t2")).await.unwrap_err();
        assert_eq!(err.error_type(), "Rotation.InvalidSecret");
        assert!(err.to_string().contains("aws:rds:primaryDBInstanceArn"), "{err}");

        // An engine RDS reports but this function cannot rotate.
        rds.add(
            RdsTarget::Instance("orders".into()),
            "sqlserver-ee",
            "orders.abc.us-east-1.rds.amazonaws.com",
            1433,
            &[],
        );
        let rotator = Rotator::new(&store, &db, policy()).with_rds(&rds);
        store.start_rotation(ARN, "t3");
        assert_eq!(
            rotator.handle(&event("createSecret", "t3")).await.unwrap_err().error_type(),
            "Rotation.UnsupportedEngine"
        );
    }
}
