//! The doctor: a read-only preflight of one secret, run where the rotation function runs, so that
//! what would make a rotation fail (or never start) is found before it does.
//!
//! It reads the secret's metadata and values, asks the RDS API, resolves and opens the database's
//! address, and logs in; it runs no statement that writes and writes no secret version. Each
//! check ends in a [`Finding`]; a check that cannot run (a time-out, access denied) is a finding
//! too, never a crash. No secret value appears in a finding or a log line.

use std::time::Instant;

use common::aws::{AwsError, AwsErrorKind};
use serde::Serialize;

use super::{Kind, Rotator, login};
use crate::error::RotationError;
use crate::locate;
use crate::ports::{CURRENT, Database, DbError, Network, RdsApi, SecretMeta, SecretStore, Session, Stage};
use crate::secret::{self, DbSecret, Strategy, Tls};

/// What the doctor checks, as its report names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Check {
    SecretsManagerApi,
    RotationEnabled,
    RotationFunction,
    RotationSchedule,
    StuckRotation,
    Secret,
    RdsApi,
    Dns,
    Port,
    Tls,
    CurrentLogin,
    TestQuery,
    MasterLogin,
    MasterPrivileges,
    CloneDrift,
}

/// How a check went: `fail` makes the report not `ok`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Warn,
    Fail,
}

/// One check's result: what was found and, when it is not a pass, what to do.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub check: Check,
    pub status: Status,
    pub detail: String,
    pub fix: String,
    /// How long the check's call took, for the checks that time one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub elapsed_ms: Option<f64>,
}

/// The doctor's answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub secret: String,
    pub ok: bool,
    pub findings: Vec<Finding>,
}

impl Report {
    /// The finding of `check`, if the doctor got that far.
    #[must_use]
    pub fn finding(&self, check: Check) -> Option<&Finding> {
        self.findings.iter().find(|f| f.check == check)
    }
}

/// The findings so far.
#[derive(Debug, Default)]
struct Findings(Vec<Finding>);

impl Findings {
    fn add(&mut self, check: Check, status: Status, detail: impl Into<String>, fix: impl Into<String>) {
        self.0.push(Finding { check, status, detail: detail.into(), fix: fix.into(), elapsed_ms: None });
    }

    fn pass(&mut self, check: Check, detail: impl Into<String>) {
        self.add(check, Status::Pass, detail, "");
    }

    fn timed(&mut self, started: Instant) {
        if let Some(last) = self.0.last_mut() {
            last.elapsed_ms = Some((started.elapsed().as_secs_f64() * 1000.0 * 10.0).round() / 10.0);
        }
    }

    fn report(self, secret: &str) -> Report {
        let ok = self.0.iter().all(|f| f.status != Status::Fail);
        Report { secret: secret.to_owned(), ok, findings: self.0 }
    }
}

/// What to do about an AWS call that failed, by its kind.
fn aws_fix(err: &AwsError, action: &str) -> String {
    match err.kind {
        AwsErrorKind::Denied { kms: true } => {
            "allow the function's role kms:Decrypt on the secret's KMS key (key policy and role)".into()
        }
        AwsErrorKind::Denied { kms: false } => format!("allow the function's role {action} on this resource"),
        AwsErrorKind::NotFound => "check the name or ARN (and the region)".into(),
        AwsErrorKind::Throttled => "retry later; look for another caller spending the account's quota".into(),
        AwsErrorKind::Unavailable => "a function in a VPC needs a route to the service: an interface VPC \
             endpoint (with private DNS) or a NAT gateway, and security groups that allow 443"
            .into(),
        AwsErrorKind::Rejected => "read the error: the request was refused as it stands".into(),
    }
}

/// A Unix time as `2026-12-02T16:03:07Z`.
fn when(secs: i64) -> String {
    use aws_sdk_secretsmanager::primitives::{DateTime, DateTimeFormat};
    DateTime::from_secs(secs).fmt(DateTimeFormat::DateTime).unwrap_or_else(|_| secs.to_string())
}

/// `arn:aws:lambda:<region>:<account>:function:<name>`, without a version or alias qualifier.
fn unqualified(arn: &str) -> String {
    arn.split(':').take(7).collect::<Vec<_>>().join(":")
}

impl<S: SecretStore + Sync, D: Database + Sync, R: RdsApi + Sync> Rotator<S, D, R> {
    /// Examines `secret_id` as a rotation by this function (`function_arn`, when known) would
    /// meet it at `now` (Unix seconds), through `network`, and reports what it found.
    ///
    /// # Errors
    /// [`RotationError::NotAllowed`] when the allow-lists leave the secret out (the doctor
    /// examines only what the function may rotate), and [`RotationError::InvalidEvent`] for an
    /// empty id. Everything else is a finding.
    pub async fn doctor<N: Network + Sync>(
        &self,
        network: &N,
        secret_id: &str,
        function_arn: Option<&str>,
        now: i64,
    ) -> Result<Report, RotationError> {
        if secret_id.is_empty() || secret_id.len() > 2048 {
            return Err(RotationError::InvalidEvent("SecretId must be a secret name or ARN".into()));
        }
        let listed = self.settings.allowed_secrets.as_ref().is_none_or(|list| list.admits(secret_id));
        let refused = |secret: &str| RotationError::NotAllowed {
            action: "examine",
            secret: secret.to_owned(),
            variable: "ALLOWED_SECRETS",
        };
        let mut found = Findings::default();
        let started = Instant::now();
        let meta = match self.store.describe(secret_id).await {
            Ok(meta) => meta,
            Err(_) if !listed => return Err(refused(secret_id)),
            Err(err) => {
                found.add(
                    Check::SecretsManagerApi,
                    Status::Fail,
                    format!("DescribeSecret failed: {err}"),
                    aws_fix(&err, "secretsmanager:DescribeSecret"),
                );
                found.timed(started);
                return Ok(found.report(secret_id));
            }
        };
        if !listed && self.settings.allowed_secrets.as_ref().is_some_and(|list| !list.admits(&meta.arn)) {
            return Err(refused(&meta.arn));
        }
        found.pass(Check::SecretsManagerApi, "DescribeSecret answered");
        found.timed(started);
        common::invocation::note("secret_arn", meta.arn.as_str());
        rotation_settings(&mut found, &meta, function_arn, now);
        stuck_rotation(&mut found, &meta);
        self.examine_database(&mut found, network, &meta).await;
        Ok(found.report(&meta.arn))
    }

    /// The checks that read the secret's value: its shape, where its database is, the network,
    /// TLS and the logins.
    async fn examine_database<N: Network + Sync>(
        &self,
        found: &mut Findings,
        network: &N,
        meta: &SecretMeta,
    ) {
        let arn = meta.arn.as_str();
        let value = match self.store.get(arn, Stage::Current, None).await {
            Ok(Some(value)) => value,
            Ok(None) => {
                return found.add(
                    Check::Secret,
                    Status::Fail,
                    "AWSCURRENT has no value",
                    "put the credentials as the secret's value (aws secretsmanager put-secret-value)",
                );
            }
            Err(err) => {
                return found.add(
                    Check::Secret,
                    Status::Fail,
                    format!("GetSecretValue of AWSCURRENT failed: {err}"),
                    aws_fix(&err, "secretsmanager:GetSecretValue"),
                );
            }
        };
        if meta.rds_target().ok().flatten().is_some() {
            let started = Instant::now();
            match self.locator.locate(meta).await {
                Ok(_) => found.pass(Check::RdsApi, "the RDS API names the database's engine and endpoint"),
                Err(err) => found.add(
                    Check::RdsApi,
                    Status::Fail,
                    err.to_string(),
                    "allow the function's role rds:DescribeDBInstances and rds:DescribeDBClusters, and give \
                     it a route to the RDS API (VPC endpoint or NAT)",
                ),
            }
            found.timed(started);
        }
        let current = match self.classify(meta, &value, CURRENT).await {
            Ok(Kind::Generic) if self.settings.rotate_keys.is_empty() => {
                return found.add(
                    Check::Secret,
                    Status::Fail,
                    "a non-database secret (no engine), and ROTATE_KEYS names no key to rotate",
                    "set ROTATE_KEYS to the keys that get new values, or add the database fields",
                );
            }
            Ok(Kind::Generic) => {
                return found.pass(
                    Check::Secret,
                    format!(
                        "a non-database secret: rotation gives new values to {}",
                        self.settings.rotate_keys.join(", ")
                    ),
                );
            }
            Ok(Kind::Database(current)) => current,
            Err(err) => {
                return found.add(
                    Check::Secret,
                    Status::Fail,
                    err.to_string(),
                    "make AWSCURRENT's JSON hold engine, host, username and password (port, dbname, \
                     masterarn as the strategy needs); the README lists the fields",
                );
            }
        };
        found.pass(
            Check::Secret,
            format!(
                "{} secret for user {:?} at {}:{}, strategy {}",
                current.engine.as_str(),
                current.username,
                current.host,
                current.port,
                current.strategy.as_str()
            ),
        );
        if !reachable(found, network, &current.host, current.port).await {
            return;
        }
        self.examine_login(found, &current).await;
        if let Strategy::AlternatingUsers { master_arn } = &current.strategy {
            self.examine_master(found, master_arn, &current).await;
        }
    }

    /// AWSCURRENT logs in (over verified TLS) and runs `TEST_QUERY`.
    async fn examine_login(&self, found: &mut Findings, current: &DbSecret) {
        let started = Instant::now();
        match self.db.connect(&login(current, &current.dbname)).await {
            Ok(mut session) => {
                found.pass(Check::CurrentLogin, format!("AWSCURRENT logs in as {:?}", current.username));
                found.timed(started);
                tls_finding(found, current);
                if let Some(query) = &self.settings.test_query {
                    match session.read_only_query(query).await {
                        Ok(()) => found.pass(Check::TestQuery, "TEST_QUERY runs as the user"),
                        Err(e) => found.add(
                            Check::TestQuery,
                            Status::Fail,
                            e.scrubbed(&[current.password.expose()]).to_string(),
                            "grant the user what TEST_QUERY reads, or change TEST_QUERY",
                        ),
                    }
                }
            }
            Err(err) => {
                login_failed(found, current, &err.scrubbed(&[current.password.expose()]));
                found.timed(started);
            }
        }
    }

    /// Alternating users: the master logs in, holds what the clone's upkeep needs, and the
    /// clone (when it exists) can do what the user can.
    async fn examine_master(&self, found: &mut Findings, master_arn: &str, current: &DbSecret) {
        if let Some(list) = &self.settings.allowed_masters
            && !list.admits(master_arn)
        {
            return found.add(
                Check::MasterLogin,
                Status::Fail,
                format!(
                    "the master secret {master_arn} is not in ALLOWED_MASTER_SECRETS: rotation will refuse it"
                ),
                "add the master secret to the stack's allowed master secrets, or fix masterarn",
            );
        }
        let master = match self.master(master_arn).await {
            Ok((master, _)) => master,
            Err(err) => {
                return found.add(
                    Check::MasterLogin,
                    Status::Fail,
                    format!("the master secret cannot be used: {err}"),
                    "allow the function's role secretsmanager:GetSecretValue (and kms:Decrypt) on the \
                     master secret, and check its JSON",
                );
            }
        };
        let (base, clone) = secret::alternating_pair(&current.username);
        if [&base, &clone].iter().any(|user| {
            **user == master.username || **user == format!("{}{}", master.username, secret::CLONE_SUFFIX)
        }) {
            return found.add(
                Check::MasterLogin,
                Status::Fail,
                format!("the secret's user {base:?} is the master user or its clone: rotation refuses it"),
                "give the application its own user; never rotate the master through an application secret",
            );
        }
        if !locate::same_host(&master, current) {
            found.add(
                Check::MasterLogin,
                Status::Warn,
                format!(
                    "the master secret names host {}, the secret {}: rotation accepts this only when the RDS \
                     API says both reach the same database",
                    master.host, current.host
                ),
                "use the same endpoint in both secrets",
            );
        }
        let started = Instant::now();
        let mut session = match self.db.connect(&login(&master, &current.dbname)).await {
            Ok(session) => session,
            Err(err) => {
                found.add(
                    Check::MasterLogin,
                    Status::Fail,
                    format!("the master user does not log in: {}", err.scrubbed(&[master.password.expose()])),
                    "fix the master secret's credentials (for an RDS-managed master, let RDS rotate it first)",
                );
                return found.timed(started);
            }
        };
        found.pass(Check::MasterLogin, format!("the master user {:?} logs in", master.username));
        found.timed(started);
        examine_clone(found, &mut session, &base, &clone, current).await;
    }
}

/// What the master user may do, and how the clone differs from the user, read in the master's
/// session.
async fn examine_clone<T: Session>(
    found: &mut Findings,
    session: &mut T,
    base: &str,
    clone: &str,
    current: &DbSecret,
) {
    match session.missing_privileges(base, clone).await {
        Ok(missing) if missing.is_empty() => {
            found.pass(Check::MasterPrivileges, "the master user may create the clone and set passwords");
        }
        Ok(missing) => found.add(
            Check::MasterPrivileges,
            Status::Fail,
            format!("the master user lacks: {}", missing.join("; ")),
            "grant the master user what is listed",
        ),
        Err(err) => found.add(
            Check::MasterPrivileges,
            Status::Warn,
            format!("could not read the master user's privileges: {err}"),
            "",
        ),
    }
    match session.clone_drift(clone, base).await {
        Ok(None) => {
            found.pass(Check::CloneDrift, format!("no {clone:?} yet: the first rotation creates it"));
        }
        Ok(Some(drift)) if drift.is_empty() => {
            found.pass(Check::CloneDrift, format!("{clone:?} can do what {base:?} can"));
        }
        Ok(Some(drift)) => found.add(
            Check::CloneDrift,
            // While the clone is AWSCURRENT, the application is using what it lacks.
            if current.username == clone { Status::Fail } else { Status::Warn },
            format!("{clone:?} differs from {base:?}: {}", drift.join("; ")),
            "the next rotation brings the clone in line with the user; to do it now, rotate: \
                 aws secretsmanager rotate-secret --secret-id <secret>",
        ),
        Err(err) => found.add(
            Check::CloneDrift,
            Status::Warn,
            format!("could not compare the clone with the user: {err}"),
            "",
        ),
    }
}

/// Rotation switched on, run by this function, on a schedule, and not overdue.
fn rotation_settings(found: &mut Findings, meta: &SecretMeta, function_arn: Option<&str>, now: i64) {
    let rotation = &meta.rotation;
    if meta.rotation_enabled {
        found.pass(Check::RotationEnabled, "rotation is on");
    } else {
        found.add(
            Check::RotationEnabled,
            Status::Fail,
            "rotation is off: the secret never rotates",
            format!(
                "aws secretsmanager rotate-secret --secret-id {} --rotation-lambda-arn <this function's ARN> \
                 --rotation-rules '{{\"ScheduleExpression\": \"rate(30 days)\"}}'",
                meta.arn
            ),
        );
    }
    match (rotation.lambda_arn.as_deref(), function_arn) {
        (None, _) => found.add(
            Check::RotationFunction,
            if meta.rotation_enabled { Status::Fail } else { Status::Warn },
            "no rotation function is set",
            "set this function as the secret's rotation function (rotate-secret --rotation-lambda-arn)",
        ),
        (Some(set), Some(me)) if unqualified(set) != unqualified(me) => found.add(
            Check::RotationFunction,
            Status::Warn,
            format!("rotation runs {set}, not this function ({me})"),
            "point the secret's rotation at this function, or run the doctor of the function it uses",
        ),
        (Some(set), Some(_)) => {
            found.pass(Check::RotationFunction, format!("rotation runs this function ({set})"));
        }
        (Some(set), None) => found.pass(Check::RotationFunction, format!("rotation runs {set}")),
    }
    let schedule = match (&rotation.schedule_expression, rotation.automatically_after_days) {
        (Some(expression), _) => Some(format!("schedule {expression}")),
        (None, Some(days)) => Some(format!("every {days} days")),
        (None, None) => None,
    };
    let window = rotation.window.as_deref().map(|w| format!(", window {w}")).unwrap_or_default();
    let Some(schedule) = schedule else {
        if meta.rotation_enabled {
            found.add(
                Check::RotationSchedule,
                Status::Warn,
                "rotation is on without a schedule",
                "give it one: rotate-secret --rotation-rules '{\"ScheduleExpression\": \"rate(30 days)\"}'",
            );
        }
        return;
    };
    let last = rotation
        .last_rotated
        .map_or_else(|| "never rotated".to_owned(), |t| format!("last rotated {}", when(t)));
    // Without NextRotationDate, the next rotation is due a schedule's days after the last one, and
    // a day later it is late whatever the window.
    let due = rotation
        .next_rotation
        .or_else(|| Some(rotation.last_rotated? + rotation.automatically_after_days? * 86_400 + 86_400));
    match due {
        Some(due) if meta.rotation_enabled && due < now => found.add(
            Check::RotationSchedule,
            Status::Fail,
            format!("{schedule}{window}; {last}; overdue since {}", when(due)),
            "rotations are not happening: look at the function's errors (errorType) and the secret's \
             CloudTrail events (RotationFailed, RotationAbandoned)",
        ),
        Some(due) => {
            found
                .pass(Check::RotationSchedule, format!("{schedule}{window}; {last}; next due {}", when(due)));
        }
        None if rotation.last_rotated.is_none() && meta.rotation_enabled => found.add(
            Check::RotationSchedule,
            Status::Warn,
            format!("{schedule}{window}; never rotated"),
            format!(
                "rotate once now to prove it works: aws secretsmanager rotate-secret --secret-id {}",
                meta.arn
            ),
        ),
        None => found.pass(Check::RotationSchedule, format!("{schedule}{window}; {last}")),
    }
}

/// An AWSPENDING label on a version other than AWSCURRENT's: a rotation under way, or one left
/// unfinished, which makes Secrets Manager refuse every later rotation.
fn stuck_rotation(found: &mut Findings, meta: &SecretMeta) {
    let current = meta.version_with(Stage::Current);
    let pending = meta.version_with(Stage::Pending).filter(|v| Some(*v) != current);
    match pending {
        None => found.pass(Check::StuckRotation, "no rotation is pending"),
        Some(version) => found.add(
            Check::StuckRotation,
            Status::Fail,
            format!(
                "version {version} carries AWSPENDING: a rotation is under way or was left unfinished, and \
                 every later rotation is refused until it ends"
            ),
            format!(
                "if no rotation is running: aws secretsmanager update-secret-version-stage --secret-id {} \
                 --version-stage AWSPENDING --remove-from-version-id {version}",
                meta.arn
            ),
        ),
    }
}

/// The host resolves and its port answers, each within the time-out.
async fn reachable<N: Network + Sync>(found: &mut Findings, network: &N, host: &str, port: u16) -> bool {
    let started = Instant::now();
    let addrs = match network.resolve(host, port).await {
        Ok(addrs) if !addrs.is_empty() => addrs,
        result => {
            let why = result.err().unwrap_or_else(|| "no address".into());
            found.add(
                Check::Dns,
                Status::Fail,
                format!("{host} does not resolve: {why}"),
                "check the host name; in a VPC, the subnets need DNS resolution (enableDnsSupport), and a \
                 private hosted zone must be associated with the VPC",
            );
            found.timed(started);
            return false;
        }
    };
    found.pass(Check::Dns, format!("{host} resolves to {}", addrs[0].ip()));
    found.timed(started);
    let started = Instant::now();
    if let Err(why) = network.open(addrs[0]).await {
        found.add(
            Check::Port,
            Status::Fail,
            format!("{}:{port} does not answer: {why}", addrs[0].ip()),
            format!(
                "allow the function's security group to the database's on port {port} (and back), and check \
                 the database is running and listening there"
            ),
        );
        found.timed(started);
        return false;
    }
    found.pass(Check::Port, format!("{}:{port} accepts connections", addrs[0].ip()));
    found.timed(started);
    true
}

fn tls_finding(found: &mut Findings, current: &DbSecret) {
    match current.tls {
        Tls::Verify => found.pass(
            Check::Tls,
            format!("TLS verified: the certificate chains to a trusted CA and names {}", current.host),
        ),
        Tls::Disabled => found.add(
            Check::Tls,
            Status::Warn,
            "the secret says \"ssl\": false: passwords cross the network in plaintext",
            "remove \"ssl\": false and trust the server's CA (DB_CA_FILE, or the RDS bundle built in)",
        ),
    }
}

/// A login with AWSCURRENT that failed, as the finding of the check it points at.
fn login_failed(found: &mut Findings, current: &DbSecret, err: &DbError) {
    let (check, fix) = match err {
        DbError::Tls { .. } => (
            Check::Tls,
            "trust the server's CA (DB_CA_FILE, or the RDS bundle built in) and use the host name its \
             certificate names",
        ),
        DbError::LoginFailed { .. } => (
            Check::CurrentLogin,
            "AWSCURRENT's password is not the user's: put the working password in the secret, or restore the \
             user's password; no rotation can start until AWSCURRENT logs in",
        ),
        DbError::Unreachable { .. } | DbError::Timeout { .. } => (
            Check::CurrentLogin,
            "the port answers but the database does not complete a login in time: check the server (or \
             pooler) and the time-outs",
        ),
        DbError::PermissionDenied { .. } | DbError::Other { .. } => {
            (Check::CurrentLogin, "read the error: the database refused the session")
        }
    };
    found.add(check, Status::Fail, format!("AWSCURRENT ({:?}): {err}", current.username), fix);
}

#[cfg(test)]
mod tests {
    use common::ErrorKind;

    use super::super::tests::{ARN, MASTER, alternating, policy, rotate, single_user};
    use super::*;
    use crate::fakes::{FakeNetwork, FakeStore};
    use crate::ports::RotationInfo;
    use crate::settings::{AllowList, Settings};

    const FUNCTION: &str = "arn:aws:lambda:us-east-1:123456789012:function:my-app-dev-rotation";
    const NOW: i64 = 1_796_000_000;

    fn scheduled(store: &FakeStore, arn: &str, last_rotated: i64) {
        store.secrets.lock().unwrap().get_mut(arn).unwrap().rotation = RotationInfo {
            lambda_arn: Some(FUNCTION.into()),
            automatically_after_days: Some(30),
            window: Some("3h".into()),
            last_rotated: Some(last_rotated),
            ..RotationInfo::default()
        };
    }

    fn statuses(report: &Report) -> Vec<(Check, Status)> {
        report.findings.iter().map(|f| (f.check, f.status)).collect()
    }

    fn status(report: &Report, check: Check) -> Option<Status> {
        report.finding(check).map(|f| f.status)
    }

    #[tokio::test]
    async fn a_healthy_alternating_secret_passes_every_check_and_nothing_changes() {
        let (store, db) = alternating();
        scheduled(&store, ARN, NOW - 86_400);
        let rotator = Rotator::new(&store, &db, policy());
        rotate(&rotator, &store, "t1", 0).await;
        let before = format!("{:?}{:?}", store.secrets.lock().unwrap(), db.users.lock().unwrap());
        let report = rotator.doctor(&FakeNetwork::default(), ARN, Some(FUNCTION), NOW).await.unwrap();
        assert!(report.ok, "{report:#?}");
        assert_eq!(report.secret, ARN);
        let expected = [
            Check::SecretsManagerApi,
            Check::RotationEnabled,
            Check::RotationFunction,
            Check::RotationSchedule,
            Check::StuckRotation,
            Check::Secret,
            Check::Dns,
            Check::Port,
            Check::CurrentLogin,
            Check::Tls,
            Check::MasterLogin,
            Check::MasterPrivileges,
            Check::CloneDrift,
        ];
        assert_eq!(statuses(&report), expected.map(|c| (c, Status::Pass)), "{report:#?}");
        let after = format!("{:?}{:?}", store.secrets.lock().unwrap(), db.users.lock().unwrap());
        assert_eq!(before, after, "the doctor changed nothing");
        let json = serde_json::to_string(&report).unwrap();
        let current: serde_json::Value =
            serde_json::from_str(&store.value(ARN, "AWSCURRENT").unwrap()).unwrap();
        for secret in [current["password"].as_str().unwrap(), "master-Password-1", "old-Password-1"] {
            assert!(!json.contains(secret), "no secret value in the report");
        }
        assert!(json.contains(r#""check":"clone-drift","status":"pass""#), "{json}");
    }

    #[tokio::test]
    async fn each_broken_setting_is_a_failing_finding_with_a_fix() {
        let (store, db) = alternating();
        scheduled(&store, ARN, NOW - 40 * 86_400);
        {
            let mut secrets = store.secrets.lock().unwrap();
            let secret = secrets.get_mut(ARN).unwrap();
            secret.rotation_enabled = true;
            secret.versions.insert(
                "stuck-1".into(),
                crate::fakes::Version { value: Some("{}".into()), stages: vec!["AWSPENDING".into()] },
            );
        }
        db.users.lock().unwrap().get_mut("master").unwrap().can_create_roles = false;
        db.users.lock().unwrap().get_mut("app").unwrap().password = "changed-by-hand".into();
        let rotator = Rotator::new(&store, &db, policy());
        let report = rotator.doctor(&FakeNetwork::default(), ARN, Some(FUNCTION), NOW).await.unwrap();
        assert!(!report.ok);
        for check in
            [Check::RotationSchedule, Check::StuckRotation, Check::CurrentLogin, Check::MasterPrivileges]
        {
            let finding = report.finding(check).unwrap_or_else(|| panic!("{check:?}: {report:#?}"));
            assert_eq!(finding.status, Status::Fail, "{finding:?}");
            assert!(!finding.fix.is_empty(), "{finding:?}");
        }
        let stuck = report.finding(Check::StuckRotation).unwrap();
        assert!(stuck.fix.contains("--remove-from-version-id stuck-1"), "{stuck:?}");
        assert!(report.finding(Check::RotationSchedule).unwrap().detail.contains("overdue since"));
        assert_eq!(status(&report, Check::MasterLogin), Some(Status::Pass));

        store.secrets.lock().unwrap().get_mut(ARN).unwrap().rotation_enabled = false;
        let report = rotator.doctor(&FakeNetwork::default(), ARN, Some(FUNCTION), NOW).await.unwrap();
        assert_eq!(status(&report, Check::RotationEnabled), Some(Status::Fail));
        assert_eq!(status(&report, Check::RotationSchedule), Some(Status::Pass), "not overdue when off");
    }

    #[tokio::test]
    async fn the_network_is_checked_before_any_login() {
        let (store, db) = single_user();
        let rotator = Rotator::new(&store, &db, policy());
        let network = FakeNetwork::default();
        network.closed_ports.lock().unwrap().push(5432);
        let report = rotator.doctor(&network, ARN, None, NOW).await.unwrap();
        assert_eq!(status(&report, Check::Dns), Some(Status::Pass));
        assert_eq!(status(&report, Check::Port), Some(Status::Fail));
        assert!(report.finding(Check::CurrentLogin).is_none(), "no login tried: {report:#?}");
        network.unknown_hosts.lock().unwrap().push("db.internal".into());
        let report = rotator.doctor(&network, ARN, None, NOW).await.unwrap();
        assert_eq!(status(&report, Check::Dns), Some(Status::Fail));
        assert!(report.finding(Check::Port).is_none());
        assert_eq!(*db.connections.lock().unwrap(), 0);
    }

    #[tokio::test]
    async fn a_drifted_clone_and_its_own_failures_are_findings() {
        let (store, db) = alternating();
        let rotator = Rotator::new(&store, &db, policy());
        rotate(&rotator, &store, "t1", 0).await;
        // The clone is AWSCURRENT after one rotation: its drift is what the application meets.
        db.users.lock().unwrap().get_mut("app_clone").unwrap().roles.clear();
        let report = rotator.doctor(&FakeNetwork::default(), ARN, None, NOW).await.unwrap();
        let drift = report.finding(Check::CloneDrift).unwrap();
        assert_eq!(drift.status, Status::Fail, "{drift:?}");
        assert!(drift.detail.contains("not a member of app"), "{drift:?}");

        store.faults.inject("describe", crate::fakes::When::Before);
        let report = rotator.doctor(&FakeNetwork::default(), ARN, None, NOW).await.unwrap();
        assert_eq!(statuses(&report), [(Check::SecretsManagerApi, Status::Fail)]);
        assert!(report.findings[0].elapsed_ms.is_some());
    }

    #[tokio::test]
    async fn the_allow_lists_apply_and_a_refused_secret_is_never_read() {
        let (store, db) = alternating();
        let rotator = Rotator::new(&store, &db, policy()).with_settings(Settings {
            allowed_secrets: Some(AllowList::new(&["other"])),
            ..Settings::default()
        });
        let err = rotator.doctor(&FakeNetwork::default(), ARN, None, NOW).await.unwrap_err();
        assert_eq!(err.error_type(), "Rotation.NotAllowed");
        assert!(store.reads.lock().unwrap().is_empty());

        let rotator = Rotator::new(&store, &db, policy()).with_settings(Settings {
            allowed_masters: Some(AllowList::new(&["other"])),
            ..Settings::default()
        });
        let report = rotator.doctor(&FakeNetwork::default(), ARN, None, NOW).await.unwrap();
        assert_eq!(status(&report, Check::MasterLogin), Some(Status::Fail));
        assert!(!store.reads.lock().unwrap().iter().any(|id| id == MASTER), "the master secret is not read");
    }
}
