//! The four rotation steps, exactly as Secrets Manager drives them, generic over the secret store
//! and the database so that every path is tested with fakes and faults.
//!
//! Every step is idempotent, and a retry after a failure at any point converges: at every moment
//! either AWSCURRENT logs in, or the next retry of the failed step makes it so.

use std::time::Instant;

use common::{ErrorKind, SecretString};
use serde::Deserialize;

use crate::error::RotationError;
use crate::password::PasswordPolicy;
use crate::ports::{AWSCURRENT, AWSPENDING, AWSPREVIOUS, Database, DbError, Login, SecretStore, Session};
use crate::secret::{self, DbSecret, Strategy, Tls};

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
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Self::AlreadyCurrent => "already-current",
            Self::AlreadyDone => "already-done",
            Self::Done => "done",
        }
    }
}

/// What a step learned about the secret, for its log line (success or failure).
#[derive(Debug, Default)]
struct Facts {
    secret_arn: Option<String>,
    engine: Option<&'static str>,
    strategy: Option<&'static str>,
}

impl Facts {
    fn learn(&mut self, secret: &DbSecret) {
        self.engine = Some(secret.engine.as_str());
        self.strategy = Some(secret.strategy.as_str());
    }

    fn learn_generic(&mut self) {
        self.engine = Some("generic");
        self.strategy = Some("new-values");
    }
}

/// The rotation function, built once at cold start.
#[derive(Debug)]
pub struct Rotator<S, D> {
    store: S,
    db: D,
    policy: PasswordPolicy,
    /// The keys of non-database secrets that get new values (`ROTATE_KEYS`).
    rotate_keys: Vec<String>,
}

impl<S: SecretStore + Sync, D: Database + Sync> Rotator<S, D> {
    pub fn new(store: S, db: D, policy: PasswordPolicy) -> Self {
        Self { store, db, policy, rotate_keys: Vec::new() }
    }

    /// The keys that non-database secrets (no `engine`, or `"engine": "generic"`) rotate.
    #[must_use]
    pub fn with_rotate_keys(mut self, keys: Vec<String>) -> Self {
        self.rotate_keys = keys;
        self
    }

    /// Runs one step for one event, with the guards in the service's order.
    ///
    /// # Errors
    /// A [`RotationError`]; Secrets Manager retries the step.
    pub async fn handle(&self, event: &RotationEvent) -> Result<Outcome, RotationError> {
        let started = Instant::now();
        let mut facts = Facts::default();
        let result = self.run(event, &mut facts).await;
        let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
        let (token, step) = (&event.client_request_token, &event.step);
        let secret_arn = facts.secret_arn.as_deref().unwrap_or(&event.secret_id);
        let (engine, strategy) = (facts.engine.unwrap_or(""), facts.strategy.unwrap_or(""));
        match &result {
            Ok(outcome) => {
                tracing::info!(step, secret_arn, token, engine, strategy, outcome = outcome.as_str(), elapsed_ms, "rotation step finished");
            }
            Err(err) => {
                let error_type = err.error_type();
                tracing::error!(step, secret_arn, token, engine, strategy, outcome = "failed", error_type, error = %err, elapsed_ms, "rotation step failed");
            }
        }
        result
    }

    async fn run(&self, event: &RotationEvent, facts: &mut Facts) -> Result<Outcome, RotationError> {
        let id = event.secret_id.as_str();
        let token = event.client_request_token.as_str();
        if id.is_empty() || token.is_empty() {
            return Err(RotationError::InvalidEvent("SecretId and ClientRequestToken must not be empty".into()));
        }
        let meta = self.store.describe(id).await?;
        facts.secret_arn = Some(meta.arn.clone());
        if !meta.rotation_enabled {
            return Err(RotationError::NotEnabled { secret: meta.arn });
        }
        let stages =
            meta.stages_of(token).ok_or_else(|| RotationError::UnknownVersion { secret: meta.arn.clone(), token: token.into() })?;
        if stages.iter().any(|s| s == AWSCURRENT) {
            tracing::info!(secret_arn = %meta.arn, token, "version is already AWSCURRENT: nothing to do");
            return Ok(Outcome::AlreadyCurrent);
        }
        if !stages.iter().any(|s| s == AWSPENDING) {
            return Err(RotationError::NotPending { secret: meta.arn, token: token.into() });
        }
        let step = Step::parse(&event.step)?;
        let arn = meta.arn.as_str();
        match step {
            Step::Create => self.create(arn, token, event.rotation_token.as_deref(), facts).await,
            Step::Set => self.set(arn, token, facts).await,
            Step::Test => self.test(arn, token, facts).await,
            Step::Finish => {
                let current = meta.version_with(AWSCURRENT).ok_or(RotationError::MissingValue { secret: arn.into(), stage: AWSCURRENT })?;
                self.store.promote(arn, token, current).await?;
                tracing::info!(secret_arn = arn, token, previous = current, "AWSCURRENT moved to the new version");
                Ok(Outcome::Done)
            }
        }
    }

    async fn current_value(&self, arn: &str) -> Result<SecretString, RotationError> {
        self.store.get(arn, AWSCURRENT, None).await?.ok_or(RotationError::MissingValue { secret: arn.into(), stage: AWSCURRENT })
    }

    async fn pending_value(&self, arn: &str, token: &str) -> Result<SecretString, RotationError> {
        self.store.get(arn, AWSPENDING, Some(token)).await?.ok_or(RotationError::MissingValue { secret: arn.into(), stage: AWSPENDING })
    }

    async fn pending(&self, arn: &str, token: &str) -> Result<DbSecret, RotationError> {
        DbSecret::parse(&self.pending_value(arn, token).await?).map_err(|source| RotationError::InvalidSecret { which: AWSPENDING, source })
    }

    async fn create(&self, arn: &str, token: &str, rotation_token: Option<&str>, facts: &mut Facts) -> Result<Outcome, RotationError> {
        let value = self.current_value(arn).await?;
        let generic = secret::is_generic(&value);
        if generic {
            facts.learn_generic();
            if self.rotate_keys.is_empty() {
                return Err(RotationError::NoRotateKeys { secret: arn.into() });
            }
        }
        let current = if generic {
            None
        } else {
            let parsed = DbSecret::parse(&value).map_err(|source| RotationError::InvalidSecret { which: AWSCURRENT, source })?;
            facts.learn(&parsed);
            Some(parsed)
        };
        if self.store.get(arn, AWSPENDING, Some(token)).await?.is_some() {
            tracing::info!(secret_arn = arn, token, "the pending version already has a value");
            return Ok(Outcome::AlreadyDone);
        }
        let Some(current) = current else {
            let next = secret::with_new_values(&value, &self.rotate_keys, || self.policy.generate())
                .map_err(|source| RotationError::InvalidSecret { which: AWSCURRENT, source })?;
            self.store.put_pending(arn, token, &next, rotation_token).await?;
            tracing::info!(
                secret_arn = arn,
                token,
                engine = "generic",
                keys = self.rotate_keys.join(","),
                "new values stored as AWSPENDING"
            );
            return Ok(Outcome::Done);
        };
        let username = current.pending_username().map_err(|source| RotationError::InvalidSecret { which: AWSCURRENT, source })?;
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

    async fn set(&self, arn: &str, token: &str, facts: &mut Facts) -> Result<Outcome, RotationError> {
        let value = self.current_value(arn).await?;
        if secret::is_generic(&value) {
            facts.learn_generic();
            tracing::info!(secret_arn = arn, token, "a non-database secret: setSecret has nothing to set");
            return Ok(Outcome::Done);
        }
        let current = DbSecret::parse(&value).map_err(|source| RotationError::InvalidSecret { which: AWSCURRENT, source })?;
        facts.learn(&current);
        let pending = self.pending(arn, token).await?;
        let expected_user = current.pending_username().map_err(|source| RotationError::InvalidSecret { which: AWSCURRENT, source })?;
        if pending.username != expected_user {
            return Err(RotationError::Mismatch(format!("its username is {:?}, expected {expected_user:?}", pending.username)));
        }
        if pending.host != current.host || pending.port != current.port || pending.engine != current.engine {
            return Err(RotationError::Mismatch("its engine, host or port differs from AWSCURRENT's".into()));
        }
        if current.tls == Tls::Disabled || pending.tls == Tls::Disabled {
            tracing::warn!(secret_arn = arn, host = %pending.host, "the secret says \"ssl\": false: connecting without TLS");
        }
        match &pending.strategy {
            Strategy::SingleUser => self.set_single_user(arn, &current, &pending).await,
            Strategy::AlternatingUsers { master_arn } => self.set_alternating(master_arn, &current, &pending).await,
        }
    }

    /// Logs in with AWSCURRENT (the usual case, one connection) and changes the password; if
    /// AWSCURRENT is refused, the password may already be the pending one (a retry after the
    /// change), else AWSPREVIOUS may still log in (someone restored it).
    async fn set_single_user(&self, arn: &str, current: &DbSecret, pending: &DbSecret) -> Result<Outcome, RotationError> {
        match self.db.connect(&login(current, &current.dbname)).await {
            Ok(mut session) => {
                session.set_own_password(&pending.password).await.map_err(|e| RotationError::db(AWSCURRENT, e))?;
                tracing::info!(secret_arn = arn, username = %pending.username, "password changed by the user itself");
                return Ok(Outcome::Done);
            }
            Err(DbError::LoginFailed { .. }) => {}
            Err(e) => return Err(RotationError::db(AWSCURRENT, e)),
        }
        match self.db.connect(&login(pending, &pending.dbname)).await {
            Ok(_) => {
                tracing::info!(secret_arn = arn, username = %pending.username, "the pending password already logs in");
                return Ok(Outcome::AlreadyDone);
            }
            Err(DbError::LoginFailed { .. }) => {}
            Err(e) => return Err(RotationError::db(AWSPENDING, e)),
        }
        let previous = match self.store.get(arn, AWSPREVIOUS, None).await? {
            Some(value) => DbSecret::parse(&value).ok().filter(|p| p.username == pending.username),
            None => None,
        };
        let Some(previous) = previous else {
            return Err(RotationError::db(
                AWSCURRENT,
                DbError::LoginFailed {
                    user: current.username.clone(),
                    detail: "neither AWSCURRENT nor AWSPENDING logs in, and there is no usable AWSPREVIOUS".into(),
                },
            ));
        };
        let mut session = self.db.connect(&login(&previous, &previous.dbname)).await.map_err(|e| match e {
            DbError::LoginFailed { user, .. } => RotationError::db(
                AWSCURRENT,
                DbError::LoginFailed { user, detail: "none of AWSCURRENT, AWSPENDING and AWSPREVIOUS logs in".into() },
            ),
            other => RotationError::db(AWSPREVIOUS, other),
        })?;
        session.set_own_password(&pending.password).await.map_err(|e| RotationError::db(AWSPREVIOUS, e))?;
        tracing::info!(secret_arn = arn, username = %pending.username, "password changed after logging in with AWSPREVIOUS");
        Ok(Outcome::Done)
    }

    /// Logs in with the master secret and sets the pending user's password, creating the user on
    /// the first rotation with the role memberships of the current user.
    async fn set_alternating(&self, master_arn: &str, current: &DbSecret, pending: &DbSecret) -> Result<Outcome, RotationError> {
        let value = self
            .store
            .get(master_arn, AWSCURRENT, None)
            .await?
            .ok_or(RotationError::MissingValue { secret: master_arn.into(), stage: AWSCURRENT })?;
        let master = DbSecret::parse(&value).map_err(|source| RotationError::InvalidSecret { which: "master", source })?;
        if master.host != pending.host || master.port != pending.port {
            return Err(RotationError::Mismatch("the master secret's host or port differs from the pending secret's".into()));
        }
        let mut session = self.db.connect(&login(&master, &pending.dbname)).await.map_err(|e| RotationError::db("master", e))?;
        let exists = session.user_exists(&pending.username).await.map_err(|e| RotationError::db("master", e))?;
        if exists {
            session.set_password(&pending.username, &pending.password).await.map_err(|e| RotationError::db("master", e))?;
            tracing::info!(username = %pending.username, "password changed by the master user");
        } else {
            session
                .create_user_like(&pending.username, &current.username, &pending.password)
                .await
                .map_err(|e| RotationError::db("master", e))?;
            tracing::info!(username = %pending.username, like = %current.username, "user created by the master user with the current user's role memberships");
        }
        Ok(Outcome::Done)
    }

    async fn test(&self, arn: &str, token: &str, facts: &mut Facts) -> Result<Outcome, RotationError> {
        let value = self.pending_value(arn, token).await?;
        if secret::is_generic(&value) {
            facts.learn_generic();
            tracing::info!(secret_arn = arn, token, "a non-database secret: testSecret has nothing to test");
            return Ok(Outcome::Done);
        }
        let pending = DbSecret::parse(&value).map_err(|source| RotationError::InvalidSecret { which: AWSPENDING, source })?;
        facts.learn(&pending);
        let mut session = self.db.connect(&login(&pending, &pending.dbname)).await.map_err(|e| RotationError::db(AWSPENDING, e))?;
        let who = session.whoami().await.map_err(|e| RotationError::db(AWSPENDING, e))?;
        if who != pending.username {
            return Err(RotationError::TestFailed(format!("logged in as {who:?}, expected {:?}", pending.username)));
        }
        tracing::info!(secret_arn = arn, token, username = %who, "the pending credentials log in and query");
        Ok(Outcome::Done)
    }
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
    use crate::fakes::{FakeDb, FakeStore, When};

    const ARN: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:app-AbCdEf";
    const MASTER: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:master-GhIjKl";

    fn policy() -> PasswordPolicy {
        PasswordPolicy::from_lookup(&HashMap::<&str, &str>::new()).unwrap()
    }

    fn secret(user: &str, password: &str, master: bool) -> String {
        let mut v = serde_json::json!({"engine": "postgres", "host": "db.internal", "port": 5432, "username": user, "password": password, "dbname": "app", "note": {"kept": true}});
        if master {
            v["masterarn"] = MASTER.into();
        }
        v.to_string()
    }

    fn single_user() -> (FakeStore, FakeDb) {
        let store = FakeStore::default();
        store.add(ARN, &secret("app", "old-Password-1", false));
        let db = FakeDb::default();
        db.add_user("app", "old-Password-1", &["readers"], false);
        (store, db)
    }

    fn alternating() -> (FakeStore, FakeDb) {
        let store = FakeStore::default();
        store.add(ARN, &secret("app", "old-Password-1", true));
        store.add(MASTER, &secret("master", "master-Password-1", false));
        let db = FakeDb::default();
        db.add_user("app", "old-Password-1", &["readers", "writers"], false);
        db.add_user("master", "master-Password-1", &[], true);
        (store, db)
    }

    fn event(step: &str, token: &str) -> RotationEvent {
        RotationEvent { step: step.into(), secret_id: ARN.into(), client_request_token: token.into(), rotation_token: None }
    }

    const STEPS: [&str; 4] = ["createSecret", "setSecret", "testSecret", "finishSecret"];

    /// Drives a rotation as the service does, retrying a failed step up to `retries` times.
    async fn rotate(rotator: &Rotator<&FakeStore, &FakeDb>, store: &FakeStore, token: &str, retries: usize) -> Vec<Outcome> {
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
        let previous: serde_json::Value = serde_json::from_str(&store.value(ARN, AWSPREVIOUS).unwrap()).unwrap();
        assert_eq!(previous["password"], "old-Password-1");
        assert_eq!(*db.connections.lock().unwrap(), 2, "one connection for setSecret, one for testSecret");
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
                assert!(second == Outcome::Done || second == Outcome::AlreadyDone || second == Outcome::AlreadyCurrent);
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
        assert_eq!(db.users.lock().unwrap()["app_clone"].roles, ["readers", "writers"]);
        rotate(&rotator, &store, "t2", 0).await;
        assert_eq!(current(&store)["username"], "app");
        assert!(logs_in_with_current(&store, &db));
        assert!(!db.logs_in("app", "old-Password-1"));
        let clone_password = serde_json::from_str::<serde_json::Value>(&store.value(ARN, AWSPREVIOUS).unwrap()).unwrap()["password"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(db.logs_in("app_clone", &clone_password), "the clone still logs in as AWSPREVIOUS");
    }

    #[tokio::test]
    async fn a_fault_before_or_inside_any_operation_is_repaired_by_a_retry() {
        let ops = ["describe", "get", "put_pending", "promote", "connect", "set_password", "create_user", "whoami"];
        for strategy in ["single", "alternating"] {
            for op in ops {
                for when in [When::Before, When::After] {
                    let (store, db) = if strategy == "single" { single_user() } else { alternating() };
                    if when == When::After && ["connect", "whoami"].contains(&op) {
                        continue;
                    }
                    if op == "create_user" && strategy == "single" {
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
        store.secrets.lock().unwrap().get_mut(ARN).unwrap().versions.get_mut("t1").unwrap().stages.push("CUSTOM".into());
        assert_eq!(rotator.handle(&event("createSecret", "t1")).await.unwrap_err().error_type(), "Rotation.NotPending");
        store.secrets.lock().unwrap().get_mut(ARN).unwrap().rotation_enabled = false;
        assert_eq!(rotator.handle(&event("createSecret", "t1")).await.unwrap_err().error_type(), "Rotation.NotEnabled");
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
        assert_eq!(rotator.handle(&event("setSecret", "t1")).await.unwrap_err().error_type(), "Rotation.DatabaseUnreachable");
        *db.down.lock().unwrap() = false;
        rotator.handle(&event("setSecret", "t1")).await.unwrap();

        let (store, db) = alternating();
        db.users.lock().unwrap().get_mut("master").unwrap().can_create_roles = false;
        let rotator = Rotator::new(&store, &db, policy());
        store.start_rotation(ARN, "t1");
        rotator.handle(&event("createSecret", "t1")).await.unwrap();
        assert_eq!(rotator.handle(&event("setSecret", "t1")).await.unwrap_err().error_type(), "Rotation.PermissionDenied");
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
        assert_eq!((c["endpoint"].as_str(), c["retries"].as_i64()), (Some("https://api.example.com"), Some(3)));
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
        assert_eq!(rotator.handle(&event("setSecret", "t1")).await.unwrap_err().error_type(), "Rotation.PendingMismatch");
        assert!(db.logs_in("app", "old-Password-1"));
    }
}
