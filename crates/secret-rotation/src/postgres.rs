//! The PostgreSQL adapter: tokio-postgres over rustls, with certificate verification against the
//! Amazon RDS CA bundle (in the binary), the system roots and an optional CA file.
//!
//! Passwords never travel in plaintext: logins use SCRAM, and a new password is sent as the hash
//! the server would store (a SCRAM-SHA-256 verifier, or an md5 hash where the server's
//! `password_encryption` says md5 or it predates SCRAM), so the server's statement log never
//! holds it.
//!
//! No startup parameter beyond user, database and `application_name`: connection poolers refuse
//! others (`PgBouncer`'s default answers `options` with "unsupported startup parameter", RDS Proxy
//! with "doesn't support command-line options"). The statement time-out is a `SET LOCAL` in the
//! transaction of each change, which holds for that transaction only, behind `PgBouncer` in any
//! pool mode and behind RDS Proxy (where a `SET` pins the short rotation session, harmlessly);
//! the client's own timer bounds every statement too.

use std::fmt::Write as _;
use std::future::Future;
use std::time::Duration;

use common::SecretString;
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, NoTls};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::dbconfig::DbConfig;
use crate::ports::{CloneSync, Database, DbError, Login, Session};
use crate::secret::Tls;

/// PostgreSQL through tokio-postgres.
#[derive(Debug, Clone)]
pub struct Postgres {
    config: DbConfig,
}

impl Postgres {
    #[must_use]
    pub fn new(config: DbConfig) -> Self {
        Self { config }
    }
}

/// A logged-in PostgreSQL session.
#[derive(Debug)]
pub struct PgSession {
    client: Client,
    /// The session user, whose own password `set_own_password` changes (md5 salts with it).
    user: String,
    timeout: Duration,
}

/// How the server stores passwords, so that a new one is sent in that form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PasswordHash {
    Scram,
    Md5,
}

impl PasswordHash {
    /// From `password_encryption` and `server_version_num`: servers before 10 know only md5 (their
    /// `password_encryption` is `on` or `off`).
    #[must_use]
    pub fn of(password_encryption: &str, server_version_num: u32) -> Self {
        if server_version_num < 100_000 || password_encryption.eq_ignore_ascii_case("md5") {
            Self::Md5
        } else {
            Self::Scram
        }
    }

    /// What the server stores for `user`'s `password`: never the password itself.
    #[must_use]
    pub fn hash(self, user: &str, password: &SecretString) -> String {
        match self {
            Self::Scram => postgres_protocol::password::scram_sha_256(password.expose().as_bytes()),
            Self::Md5 => postgres_protocol::password::md5(password.expose().as_bytes(), user),
        }
    }
}

impl Database for Postgres {
    type Session = PgSession;

    async fn connect(&self, login: &Login) -> Result<PgSession, DbError> {
        let mut pg = tokio_postgres::Config::new();
        pg.host(&login.host)
            .port(login.port)
            .user(&login.username)
            .password(login.password.expose())
            .dbname(&login.dbname)
            .application_name("secret-rotation")
            .connect_timeout(self.config.connect_timeout);
        let attempt = async {
            match login.tls {
                Tls::Verify => {
                    pg.ssl_mode(tokio_postgres::config::SslMode::Require);
                    let (client, connection) =
                        pg.connect(MakeRustlsConnect::new((*self.config.tls).clone())).await?;
                    tokio::spawn(connection);
                    Ok(client)
                }
                Tls::Disabled => {
                    pg.ssl_mode(tokio_postgres::config::SslMode::Disable);
                    let (client, connection) = pg.connect(NoTls).await?;
                    tokio::spawn(connection);
                    Ok(client)
                }
            }
        };
        let client = self.config.connecting(login, attempt, |e| classify(e, login)).await?;
        Ok(PgSession { client, user: login.username.clone(), timeout: self.config.statement_timeout })
    }
}

impl PgSession {
    /// Runs a statement under the statement time-out, on the client's clock too: a server (or a
    /// pooler) that ignores `statement_timeout` cannot hold a step past it.
    async fn within<T>(
        &self,
        fut: impl Future<Output = Result<T, tokio_postgres::Error>>,
    ) -> Result<T, DbError> {
        let deadline = self.timeout + Duration::from_secs(1);
        match tokio::time::timeout(deadline, fut).await {
            Ok(result) => result.map_err(|e| classify_statement(&e)),
            Err(_) => Err(DbError::Timeout { detail: format!("no answer within {} s", deadline.as_secs()) }),
        }
    }

    /// How this server stores passwords for this session (`password_encryption` may be set per
    /// role or database, so it is asked in the session that sets the password).
    async fn password_hash(&self) -> Result<PasswordHash, DbError> {
        let row = self
            .within(self.client.query_one(
                "SELECT current_setting('password_encryption'), current_setting('server_version_num')::int4",
                &[],
            ))
            .await?;
        let version: i32 = row.get(1);
        Ok(PasswordHash::of(row.get(0), u32::try_from(version).unwrap_or(0)))
    }

    /// Runs `statements` in one transaction under the statement time-out, with `hash` (which they
    /// may carry) scrubbed from any error.
    async fn transaction(&self, statements: &str, hash: &str) -> Result<(), DbError> {
        let sql = format!(
            "BEGIN; SET LOCAL statement_timeout = {}; {statements} COMMIT;",
            self.timeout.as_millis()
        );
        let result = self.within(self.client.batch_execute(&sql)).await.map_err(|e| e.scrubbed(&[hash]));
        if result.is_err() {
            let _ = self.client.batch_execute("ROLLBACK").await;
        }
        result
    }

    async fn user_exists(&self, user: &str) -> Result<bool, DbError> {
        let rows = self
            .within(self.client.query("SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1", &[&user]))
            .await?;
        Ok(!rows.is_empty())
    }

    /// The role's attributes that the clone's upkeep reads, `None` when it does not exist.
    async fn role(&self, name: &str) -> Result<Option<Role>, DbError> {
        let rows = self
            .within(self.client.query(
                "SELECT rolinherit, rolcanlogin, rolsuper, rolcreaterole FROM pg_catalog.pg_roles WHERE rolname = $1",
                &[&name],
            ))
            .await?;
        Ok(rows.first().map(|row| Role {
            inherit: row.get(0),
            login: row.get(1),
            superuser: row.get(2),
            creates_roles: row.get(3),
        }))
    }

    /// Whether the session user holds `role` with ADMIN OPTION (PostgreSQL 16 and later ask it of
    /// a CREATEROLE user that grants the role or changes its password).
    async fn has_admin_on(&self, role: &str) -> Result<bool, DbError> {
        let row = self
            .within(self.client.query_one(
                "SELECT pg_catalog.pg_has_role(current_user, $1::text, 'MEMBER WITH ADMIN OPTION')",
                &[&role],
            ))
            .await?;
        Ok(row.get(0))
    }

    async fn is_member(&self, member: &str, role: &str) -> Result<bool, DbError> {
        let rows = self
            .within(self.client.query(
                "SELECT 1 FROM pg_catalog.pg_auth_members m \
                 JOIN pg_catalog.pg_roles r ON r.oid = m.roleid \
                 JOIN pg_catalog.pg_roles u ON u.oid = m.member \
                 WHERE u.rolname = $1 AND r.rolname = $2",
                &[&member, &role],
            ))
            .await?;
        Ok(!rows.is_empty())
    }
}

/// A role's attributes, as `pg_roles` gives them.
#[derive(Debug, Clone, Copy)]
#[expect(clippy::struct_excessive_bools, reason = "pg_roles' own boolean columns")]
struct Role {
    inherit: bool,
    login: bool,
    superuser: bool,
    creates_roles: bool,
}

impl Session for PgSession {
    async fn set_own_password(&mut self, password: &SecretString) -> Result<(), DbError> {
        let hash = self.password_hash().await?.hash(&self.user, password);
        let sql = format!("ALTER ROLE CURRENT_USER PASSWORD {};", quote_literal(&hash));
        self.transaction(&sql, &hash).await
    }

    async fn set_password(&mut self, user: &str, password: &SecretString) -> Result<(), DbError> {
        let hash = self.password_hash().await?.hash(user, password);
        let sql = format!("ALTER ROLE {} PASSWORD {};", quote_ident(user)?, quote_literal(&hash));
        self.transaction(&sql, &hash).await
    }

    /// The clone becomes a member of the user, inheriting its privileges (AWS's functions do
    /// the same): what the user owns, what was granted to it directly, and its role
    /// memberships, including those given after the clone was made. Checked and repaired on
    /// every rotation, in one transaction.
    async fn sync_clone(
        &mut self,
        clone: &str,
        base: &str,
        clone_password: &SecretString,
    ) -> Result<CloneSync, DbError> {
        let (clone_ident, base_ident) = (quote_ident(clone)?, quote_ident(base)?);
        if !self.user_exists(base).await? {
            return Err(DbError::Other {
                detail: format!("role {base:?} does not exist, so no clone can be made of it"),
            });
        }
        let role = self.role(clone).await?;
        let mut sync = CloneSync::default();
        let mut sql = String::new();
        let mut hash = String::new();
        match role.map(|r| r.inherit) {
            None => {
                hash = self.password_hash().await?.hash(clone, clone_password);
                let _ = write!(
                    sql,
                    " CREATE ROLE {clone_ident} WITH LOGIN INHERIT PASSWORD {};",
                    quote_literal(&hash)
                );
                sync.created = true;
            }
            Some(false) => {
                let _ = write!(sql, " ALTER ROLE {clone_ident} INHERIT;");
                sync.changes += 1;
            }
            Some(true) => {}
        }
        if sync.created || !self.is_member(clone, base).await? {
            let _ = write!(sql, " GRANT {base_ident} TO {clone_ident};");
            sync.changes += 1;
        }
        if !sync.created && sync.changes == 0 {
            return Ok(sync);
        }
        self.transaction(&sql, &hash).await.map(|()| sync)
    }

    async fn clone_drift(&mut self, clone: &str, base: &str) -> Result<Option<Vec<String>>, DbError> {
        let Some(role) = self.role(clone).await? else { return Ok(None) };
        let mut drift = Vec::new();
        if !role.login {
            drift.push(format!("{clone} cannot log in (NOLOGIN)"));
        }
        if !role.inherit {
            drift.push(format!("{clone} is NOINHERIT: it cannot use what {base} may without SET ROLE"));
        }
        if !self.is_member(clone, base).await? {
            drift.push(format!("{clone} is not a member of {base}"));
        }
        Ok(Some(drift))
    }

    async fn missing_privileges(&mut self, base: &str, clone: &str) -> Result<Vec<String>, DbError> {
        let me = self.whoami().await?;
        let Some(master) = self.role(&me).await? else {
            return Err(DbError::Other { detail: format!("role {me:?} is not in pg_roles") });
        };
        if master.superuser {
            return Ok(Vec::new());
        }
        let mut missing = Vec::new();
        if !master.creates_roles {
            missing.push(format!("CREATEROLE (ALTER ROLE {} CREATEROLE)", quote_ident(&me)?));
        }
        let row = self
            .within(self.client.query_one("SELECT current_setting('server_version_num')::int4", &[]))
            .await?;
        let version: i32 = row.get(0);
        for role in [base, clone] {
            let Some(attributes) = self.role(role).await? else { continue };
            if attributes.superuser {
                missing.push(format!("SUPERUSER: {role} is a superuser, which only a superuser may change"));
            } else if version >= 160_000 && !self.has_admin_on(role).await? {
                missing.push(format!(
                    "ADMIN OPTION on {role} (GRANT {} TO {} WITH ADMIN OPTION)",
                    quote_ident(role)?,
                    quote_ident(&me)?
                ));
            }
        }
        Ok(missing)
    }

    async fn whoami(&mut self) -> Result<String, DbError> {
        let row = self.within(self.client.query_one("SELECT current_user::text", &[])).await?;
        Ok(row.get(0))
    }

    /// The extended protocol takes one statement only, and the transaction is read-only and
    /// rolled back: `TEST_QUERY` can neither chain a second statement nor write.
    async fn read_only_query(&mut self, sql: &str) -> Result<(), DbError> {
        let begin = format!("BEGIN READ ONLY; SET LOCAL statement_timeout = {};", self.timeout.as_millis());
        self.within(self.client.batch_execute(&begin)).await?;
        let result = self.within(self.client.query(sql, &[])).await;
        let rollback = self.within(self.client.batch_execute("ROLLBACK")).await;
        result?;
        rollback
    }
}

/// `"name"` with inner quotes doubled: any user name becomes one identifier, never SQL.
///
/// # Errors
/// When the name holds a NUL character, which no identifier may.
pub(crate) fn quote_ident(name: &str) -> Result<String, DbError> {
    if name.contains('\0') || name.is_empty() {
        return Err(DbError::Other {
            detail: "an identifier cannot be empty or hold a NUL character".into(),
        });
    }
    Ok(format!("\"{}\"", name.replace('"', "\"\"")))
}

/// A string literal that means exactly `value`, whatever `standard_conforming_strings` says.
#[must_use]
pub(crate) fn quote_literal(value: &str) -> String {
    if value.contains('\\') {
        format!("E'{}'", value.replace('\\', "\\\\").replace('\'', "''"))
    } else {
        format!("'{}'", value.replace('\'', "''"))
    }
}

fn classify(e: &tokio_postgres::Error, login: &Login) -> DbError {
    let detail = common::diagnostic::message_chain(e);
    if let Some(code) = e.code() {
        if *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION && detail.contains("no encryption") {
            return DbError::Tls {
                host: login.host.clone(),
                port: login.port,
                detail: format!("the server requires TLS, but the secret says \"ssl\": false ({detail})"),
            };
        }
        // PgBouncer answers a wrong password with a protocol violation: "SASL authentication failed".
        if *code == SqlState::INVALID_PASSWORD
            || *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION
            || (*code == SqlState::PROTOCOL_VIOLATION && detail.contains("authentication failed"))
        {
            return DbError::LoginFailed { user: login.username.clone(), detail };
        }
        return classify_code(code, detail);
    }
    let lower = detail.to_ascii_lowercase();
    if lower.contains("certificate")
        || lower.contains("tls")
        || lower.contains("ssl")
        || lower.contains("handshake")
    {
        DbError::Tls { host: login.host.clone(), port: login.port, detail }
    } else if lower.contains("timeout") || lower.contains("timed out") {
        DbError::Unreachable { host: login.host.clone(), port: login.port, detail }
    } else if lower.contains("password") || lower.contains("authentication") || lower.contains("scram") {
        DbError::LoginFailed { user: login.username.clone(), detail }
    } else {
        DbError::Unreachable { host: login.host.clone(), port: login.port, detail }
    }
}

fn classify_statement(e: &tokio_postgres::Error) -> DbError {
    let detail = common::diagnostic::message_chain(e);
    match e.code() {
        Some(code) => classify_code(code, detail),
        None if e.is_closed() => DbError::Other { detail: format!("the connection closed: {detail}") },
        None => DbError::Other { detail },
    }
}

fn classify_code(code: &SqlState, detail: String) -> DbError {
    if *code == SqlState::INSUFFICIENT_PRIVILEGE {
        DbError::PermissionDenied { detail }
    } else if *code == SqlState::QUERY_CANCELED || *code == SqlState::LOCK_NOT_AVAILABLE {
        DbError::Timeout { detail }
    } else {
        DbError::Other { detail }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_quoted_whole() {
        assert_eq!(quote_ident("app").unwrap(), "\"app\"");
        assert_eq!(quote_ident("app\"; DROP ROLE x; --").unwrap(), "\"app\"\"; DROP ROLE x; --\"");
        assert!(quote_ident("a\0b").is_err());
        assert!(quote_ident("").is_err());
    }

    #[test]
    fn literals_are_quoted_whole() {
        assert_eq!(quote_literal("it's"), "'it''s'");
        assert_eq!(quote_literal("a\\'b"), "E'a\\\\''b'");
    }

    #[test]
    fn verifiers_hide_the_password_and_are_salted() {
        let pw = SecretString::new("correct horse battery staple");
        let (a, b) = (PasswordHash::Scram.hash("app", &pw), PasswordHash::Scram.hash("app", &pw));
        assert!(a.starts_with("SCRAM-SHA-256$4096:"), "{a}");
        assert_ne!(a, b, "a fresh salt every time");
        assert!(!a.contains("horse"));
    }

    #[test]
    fn md5_servers_get_an_md5_hash_salted_with_the_user() {
        assert_eq!(PasswordHash::of("scram-sha-256", 150_018), PasswordHash::Scram);
        assert_eq!(PasswordHash::of("md5", 150_018), PasswordHash::Md5);
        assert_eq!(PasswordHash::of("on", 90_624), PasswordHash::Md5, "9.6 knows no SCRAM");
        // SELECT 'md5' || md5('secret' || 'app')
        assert_eq!(
            PasswordHash::Md5.hash("app", &SecretString::new("secret")),
            "md56a422f785c9e20873908ce25d1736ae2"
        );
    }
}
