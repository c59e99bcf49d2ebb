//! In-memory fakes of the ports, with fault injection, for unit tests only.

use std::collections::HashMap;
use std::sync::Mutex;

use common::SecretString;
use common::aws::{AwsError, AwsErrorKind, Service};

use crate::ports::{
    AWSCURRENT, AWSPENDING, AWSPREVIOUS, CloneSync, Database, DbError, Login, RdsApi, RdsDatabase,
    RdsEndpoint, RdsTarget, RotationInfo, SecretMeta, SecretStore, Session, Stage,
};

fn sm_error(kind: AwsErrorKind, code: &str, message: String) -> AwsError {
    AwsError::new(Service::SecretsManager, kind, Some(code), message)
}

/// When an injected fault fires: before the operation takes effect, or after (the effect stays,
/// but the caller sees an error, as when a Lambda dies or times out mid-call).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    Before,
    After,
}

#[derive(Debug, Default)]
pub struct Faults(Mutex<Vec<(&'static str, When)>>);

impl Faults {
    pub fn inject(&self, op: &'static str, when: When) {
        self.0.lock().unwrap().push((op, when));
    }

    fn take(&self, op: &str, when: When) -> bool {
        let mut faults = self.0.lock().unwrap();
        match faults.iter().position(|(o, w)| *o == op && *w == when) {
            Some(i) => {
                faults.remove(i);
                true
            }
            None => false,
        }
    }

    pub fn pending(&self) -> usize {
        self.0.lock().unwrap().len()
    }
}

#[derive(Debug, Clone, Default)]
pub struct Version {
    pub value: Option<String>,
    pub stages: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct FakeSecret {
    pub rotation_enabled: bool,
    pub tags: HashMap<String, String>,
    pub versions: HashMap<String, Version>,
    pub rotation: RotationInfo,
}

#[derive(Debug, Default)]
pub struct FakeStore {
    pub secrets: Mutex<HashMap<String, FakeSecret>>,
    pub faults: Faults,
    pub calls: Mutex<usize>,
    /// The secret ids whose values were read, in order.
    pub reads: Mutex<Vec<String>>,
}

impl FakeStore {
    pub fn add(&self, arn: &str, value: &str) {
        let mut versions = HashMap::new();
        versions.insert(
            "v0".to_owned(),
            Version { value: Some(value.to_owned()), stages: vec![AWSCURRENT.to_owned()] },
        );
        self.secrets
            .lock()
            .unwrap()
            .insert(arn.to_owned(), FakeSecret { rotation_enabled: true, versions, ..FakeSecret::default() });
    }

    pub fn tag(&self, arn: &str, key: &str, value: &str) {
        self.secrets.lock().unwrap().get_mut(arn).unwrap().tags.insert(key.to_owned(), value.to_owned());
    }

    /// What the service does before createSecret: a new version id with AWSPENDING and no value.
    pub fn start_rotation(&self, arn: &str, token: &str) {
        let mut secrets = self.secrets.lock().unwrap();
        let secret = secrets.get_mut(arn).unwrap();
        for v in secret.versions.values_mut() {
            v.stages.retain(|s| s != AWSPENDING);
        }
        secret
            .versions
            .insert(token.to_owned(), Version { value: None, stages: vec![AWSPENDING.to_owned()] });
    }

    /// What the service does after finishSecret: removes AWSPENDING from the new current version.
    pub fn end_rotation(&self, arn: &str, token: &str) {
        let mut secrets = self.secrets.lock().unwrap();
        let v = secrets.get_mut(arn).unwrap().versions.get_mut(token).unwrap();
        if v.stages.iter().any(|s| s == AWSCURRENT) {
            v.stages.retain(|s| s != AWSPENDING);
        }
    }

    pub fn value(&self, arn: &str, stage: &str) -> Option<String> {
        let secrets = self.secrets.lock().unwrap();
        secrets
            .get(arn)?
            .versions
            .values()
            .find(|v| v.stages.iter().any(|s| s == stage))
            .and_then(|v| v.value.clone())
    }

    fn enter(&self, op: &'static str) -> Result<(), AwsError> {
        *self.calls.lock().unwrap() += 1;
        self.injected(op, When::Before)
    }

    fn leave(&self, op: &'static str) -> Result<(), AwsError> {
        self.injected(op, When::After)
    }

    /// The injected fault for `op` at `when`, if there is one: Secrets Manager's server error.
    fn injected(&self, op: &'static str, when: When) -> Result<(), AwsError> {
        if !self.faults.take(op, when) {
            return Ok(());
        }
        let at = if when == When::Before { "before" } else { "after" };
        Err(sm_error(AwsErrorKind::Unavailable, "InternalServiceError", format!("injected fault {at} {op}")))
    }
}

impl SecretStore for &FakeStore {
    async fn describe(&self, secret_id: &str) -> Result<SecretMeta, AwsError> {
        self.enter("describe")?;
        let secrets = self.secrets.lock().unwrap();
        let s = secrets.get(secret_id).ok_or_else(|| {
            sm_error(AwsErrorKind::NotFound, "ResourceNotFoundException", format!("{secret_id} not found"))
        })?;
        let meta = SecretMeta {
            arn: secret_id.to_owned(),
            rotation_enabled: s.rotation_enabled,
            versions: s
                .versions
                .iter()
                .filter(|(_, v)| !v.stages.is_empty())
                .map(|(k, v)| (k.clone(), v.stages.clone()))
                .collect(),
            tags: s.tags.clone(),
            rotation: s.rotation.clone(),
        };
        drop(secrets);
        self.leave("describe")?;
        Ok(meta)
    }

    async fn get(
        &self,
        secret_id: &str,
        stage: Stage,
        version_id: Option<&str>,
    ) -> Result<Option<SecretString>, AwsError> {
        self.enter("get")?;
        self.reads.lock().unwrap().push(secret_id.to_owned());
        let secrets = self.secrets.lock().unwrap();
        let s = secrets.get(secret_id).ok_or_else(|| {
            sm_error(AwsErrorKind::NotFound, "ResourceNotFoundException", format!("{secret_id} not found"))
        })?;
        let value = s
            .versions
            .iter()
            .find(|(id, v)| {
                version_id.is_none_or(|want| want == id.as_str())
                    && v.stages.iter().any(|st| st == stage.label())
            })
            .and_then(|(_, v)| v.value.clone())
            .map(SecretString::new);
        drop(secrets);
        self.leave("get")?;
        Ok(value)
    }

    async fn put_pending(
        &self,
        secret_id: &str,
        token: &str,
        value: &SecretString,
        _rotation_token: Option<&str>,
    ) -> Result<(), AwsError> {
        self.enter("put_pending")?;
        {
            let mut secrets = self.secrets.lock().unwrap();
            let s = secrets.get_mut(secret_id).ok_or_else(|| {
                sm_error(
                    AwsErrorKind::NotFound,
                    "ResourceNotFoundException",
                    format!("{secret_id} not found"),
                )
            })?;
            let v = s.versions.entry(token.to_owned()).or_default();
            match &v.value {
                Some(existing) if existing != value.expose() => {
                    return Err(sm_error(
                        AwsErrorKind::Rejected,
                        "ResourceExistsException",
                        "a version with this token has another value".into(),
                    ));
                }
                _ => v.value = Some(value.expose().to_owned()),
            }
            if !v.stages.iter().any(|s| s == AWSPENDING) {
                v.stages.push(AWSPENDING.to_owned());
            }
        }
        self.leave("put_pending")
    }

    async fn promote(&self, secret_id: &str, to_version: &str, from_version: &str) -> Result<(), AwsError> {
        self.enter("promote")?;
        {
            let mut secrets = self.secrets.lock().unwrap();
            let s = secrets.get_mut(secret_id).ok_or_else(|| {
                sm_error(
                    AwsErrorKind::NotFound,
                    "ResourceNotFoundException",
                    format!("{secret_id} not found"),
                )
            })?;
            if !s.versions.get(from_version).is_some_and(|v| v.stages.iter().any(|st| st == AWSCURRENT)) {
                return Err(sm_error(
                    AwsErrorKind::Rejected,
                    "InvalidParameterException",
                    "RemoveFromVersionId is not AWSCURRENT".into(),
                ));
            }
            for v in s.versions.values_mut() {
                v.stages.retain(|st| st != AWSPREVIOUS);
            }
            let from = s.versions.get_mut(from_version).unwrap();
            from.stages.retain(|st| st != AWSCURRENT);
            from.stages.push(AWSPREVIOUS.to_owned());
            s.versions.get_mut(to_version).unwrap().stages.push(AWSCURRENT.to_owned());
        }
        self.leave("promote")
    }
}

#[derive(Debug, Clone, Default)]
pub struct User {
    pub password: String,
    pub roles: Vec<String>,
    pub can_create_roles: bool,
}

#[derive(Debug, Default)]
pub struct FakeDb {
    pub users: Mutex<HashMap<String, User>>,
    pub faults: Faults,
    pub connections: Mutex<usize>,
    /// The `host:port` of every connection attempt, in order.
    pub hosts: Mutex<Vec<String>>,
    /// The user of every connection attempt, in order.
    pub logins: Mutex<Vec<String>>,
    pub down: Mutex<bool>,
    /// Test queries, and the roles (or users) whose members may run them.
    pub readable: Mutex<HashMap<String, Vec<String>>>,
}

impl FakeDb {
    pub fn add_user(&self, name: &str, password: &str, roles: &[&str], admin: bool) {
        let user = User {
            password: password.to_owned(),
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            can_create_roles: admin,
        };
        self.users.lock().unwrap().insert(name.to_owned(), user);
    }

    pub fn logs_in(&self, user: &str, password: &str) -> bool {
        self.users.lock().unwrap().get(user).is_some_and(|u| u.password == password)
    }

    /// Every role `user` is a member of, directly or through another role.
    pub fn effective_roles(users: &HashMap<String, User>, user: &str) -> Vec<String> {
        let mut found: Vec<String> = Vec::new();
        let mut todo = vec![user.to_owned()];
        while let Some(next) = todo.pop() {
            for role in users.get(&next).map(|u| u.roles.clone()).unwrap_or_default() {
                if !found.contains(&role) {
                    found.push(role.clone());
                    todo.push(role);
                }
            }
        }
        found.sort();
        found
    }

    /// Whether `user` can use everything `other` can: `other` itself and each of its roles.
    pub fn can_do_what(&self, user: &str, other: &str) -> bool {
        let users = self.users.lock().unwrap();
        let mine = Self::effective_roles(&users, user);
        mine.iter().any(|r| r == other)
            && Self::effective_roles(&users, other).iter().all(|r| mine.contains(r))
    }

    fn fault(&self, op: &'static str, when: When) -> Result<(), DbError> {
        if self.faults.take(op, when) {
            Err(DbError::Other { detail: format!("injected fault {when:?} {op}") })
        } else {
            Ok(())
        }
    }
}

#[derive(Debug)]
pub struct FakeSession<'a> {
    db: &'a FakeDb,
    user: String,
}

impl<'a> Database for &'a FakeDb {
    type Session = FakeSession<'a>;

    async fn connect(&self, login: &Login) -> Result<FakeSession<'a>, DbError> {
        *self.connections.lock().unwrap() += 1;
        self.hosts.lock().unwrap().push(format!("{}:{}", login.host, login.port));
        self.logins.lock().unwrap().push(login.username.clone());
        if *self.down.lock().unwrap() {
            return Err(DbError::Unreachable {
                host: login.host.clone(),
                port: login.port,
                detail: "connection refused".into(),
            });
        }
        self.fault("connect", When::Before)?;
        if !self.logs_in(&login.username, login.password.expose()) {
            return Err(DbError::LoginFailed {
                user: login.username.clone(),
                detail: "password authentication failed".into(),
            });
        }
        Ok(FakeSession { db: self, user: login.username.clone() })
    }
}

impl Session for FakeSession<'_> {
    async fn set_own_password(&mut self, password: &SecretString) -> Result<(), DbError> {
        self.db.fault("set_password", When::Before)?;
        self.db.users.lock().unwrap().get_mut(&self.user).unwrap().password = password.expose().to_owned();
        self.db.fault("set_password", When::After)
    }

    async fn set_password(&mut self, user: &str, password: &SecretString) -> Result<(), DbError> {
        self.db.fault("set_password", When::Before)?;
        {
            let mut users = self.db.users.lock().unwrap();
            if !users.get(&self.user).is_some_and(|u| u.can_create_roles) {
                return Err(DbError::PermissionDenied { detail: "must have CREATEROLE".into() });
            }
            users
                .get_mut(user)
                .ok_or_else(|| DbError::Other { detail: "role does not exist".into() })?
                .password = password.expose().to_owned();
        }
        self.db.fault("set_password", When::After)
    }

    async fn sync_clone(
        &mut self,
        clone: &str,
        base: &str,
        clone_password: &SecretString,
    ) -> Result<CloneSync, DbError> {
        self.db.fault("sync_clone", When::Before)?;
        let mut sync = CloneSync::default();
        {
            let mut users = self.db.users.lock().unwrap();
            if !users.get(&self.user).is_some_and(|u| u.can_create_roles) {
                return Err(DbError::PermissionDenied { detail: "must have CREATEROLE".into() });
            }
            if !users.contains_key(base) {
                return Err(DbError::Other { detail: "the base role does not exist".into() });
            }
            let entry = users.entry(clone.to_owned()).or_insert_with(|| {
                sync.created = true;
                User {
                    password: clone_password.expose().to_owned(),
                    roles: Vec::new(),
                    can_create_roles: false,
                }
            });
            if !entry.roles.iter().any(|r| r == base) {
                entry.roles.push(base.to_owned());
                sync.changes += 1;
            }
        }
        self.db.fault("sync_clone", When::After)?;
        Ok(sync)
    }

    async fn clone_drift(&mut self, clone: &str, base: &str) -> Result<Option<Vec<String>>, DbError> {
        let users = self.db.users.lock().unwrap();
        Ok(users.get(clone).map(|c| {
            if c.roles.iter().any(|r| r == base) {
                Vec::new()
            } else {
                vec![format!("{clone} is not a member of {base}")]
            }
        }))
    }

    async fn missing_privileges(&mut self, _base: &str, _clone: &str) -> Result<Vec<String>, DbError> {
        let users = self.db.users.lock().unwrap();
        if users.get(&self.user).is_some_and(|u| u.can_create_roles) {
            Ok(Vec::new())
        } else {
            Ok(vec!["CREATEROLE".to_owned()])
        }
    }

    async fn read_only_query(&mut self, sql: &str) -> Result<(), DbError> {
        self.db.fault("test_query", When::Before)?;
        let users = self.db.users.lock().unwrap();
        let allowed = self.db.readable.lock().unwrap().get(sql).cloned().unwrap_or_default();
        if allowed
            .iter()
            .any(|role| role == &self.user || FakeDb::effective_roles(&users, &self.user).contains(role))
        {
            Ok(())
        } else {
            Err(DbError::PermissionDenied { detail: format!("permission denied for {sql:?}") })
        }
    }

    async fn whoami(&mut self) -> Result<String, DbError> {
        self.db.fault("whoami", When::Before)?;
        Ok(self.user.clone())
    }
}

/// The RDS API in memory: databases by target, each with its engine, writer and other endpoints.
#[derive(Debug, Default)]
pub struct FakeRds {
    pub databases: Mutex<HashMap<RdsTarget, (RdsDatabase, Vec<RdsEndpoint>)>>,
    pub calls: Mutex<usize>,
    pub fail: Mutex<Option<AwsError>>,
}

impl FakeRds {
    pub fn add(&self, target: RdsTarget, engine: &str, host: &str, port: u16, others: &[(&str, u16)]) {
        let endpoint = RdsEndpoint { host: host.to_owned(), port };
        let mut all = vec![endpoint.clone()];
        all.extend(others.iter().map(|(h, p)| RdsEndpoint { host: (*h).to_owned(), port: *p }));
        self.databases
            .lock()
            .unwrap()
            .insert(target, (RdsDatabase { engine: engine.to_owned(), endpoint }, all));
    }

    fn find(&self, target: &RdsTarget) -> Result<(RdsDatabase, Vec<RdsEndpoint>), AwsError> {
        *self.calls.lock().unwrap() += 1;
        if let Some(err) = self.fail.lock().unwrap().clone() {
            return Err(err);
        }
        self.databases.lock().unwrap().get(target).cloned().ok_or_else(|| {
            AwsError::new(
                Service::Rds,
                AwsErrorKind::NotFound,
                Some("DBClusterNotFoundFault"),
                target.describe(),
            )
        })
    }
}

impl RdsApi for &FakeRds {
    async fn locate(&self, target: &RdsTarget) -> Result<RdsDatabase, AwsError> {
        self.find(target).map(|(db, _)| db)
    }

    async fn endpoints(&self, target: &RdsTarget) -> Result<Vec<RdsEndpoint>, AwsError> {
        self.find(target).map(|(_, all)| all)
    }
}

/// A network where every host resolves to 127.0.0.1 and every port answers, unless told otherwise.
#[derive(Debug, Default)]
pub struct FakeNetwork {
    /// Hosts that do not resolve.
    pub unknown_hosts: Mutex<Vec<String>>,
    /// Ports that do not answer.
    pub closed_ports: Mutex<Vec<u16>>,
}

impl crate::ports::Network for FakeNetwork {
    async fn resolve(&self, host: &str, port: u16) -> Result<Vec<std::net::SocketAddr>, String> {
        if self.unknown_hosts.lock().unwrap().iter().any(|h| h == host) {
            return Err("failed to lookup address information: Name or service not known".into());
        }
        Ok(vec![std::net::SocketAddr::from(([127, 0, 0, 1], port))])
    }

    async fn open(&self, addr: std::net::SocketAddr) -> Result<(), String> {
        if self.closed_ports.lock().unwrap().contains(&addr.port()) {
            return Err("Connection refused (os error 111)".into());
        }
        Ok(())
    }
}
