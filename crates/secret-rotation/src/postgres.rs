//! The PostgreSQL adapter: tokio-postgres over rustls, with certificate verification against the
//! Amazon RDS CA bundle (in the binary), the system roots and an optional CA file.
//!
//! Passwords never travel in plaintext: logins use SCRAM, and a new password is sent as a
//! SCRAM-SHA-256 verifier computed here, so the server's statement log never holds it.

use std::fmt::Write as _;

use common::SecretString;
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, NoTls};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::dbconfig::DbConfig;
use crate::ports::{Database, DbError, Login, Session};
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
            .connect_timeout(self.config.connect_timeout)
            .options(format!("-c statement_timeout={}", self.config.statement_timeout.as_millis()));
        let attempt = async {
            match login.tls {
                Tls::Verify => {
                    pg.ssl_mode(tokio_postgres::config::SslMode::Require);
                    let (client, connection) = pg.connect(MakeRustlsConnect::new((*self.config.tls).clone())).await?;
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
        Ok(PgSession { client })
    }
}

impl Session for PgSession {
    async fn set_own_password(&mut self, password: &SecretString) -> Result<(), DbError> {
        let verifier = verifier(password);
        let sql = format!("ALTER ROLE CURRENT_USER PASSWORD {}", quote_literal(&verifier));
        self.client.batch_execute(&sql).await.map_err(|e| classify_statement(&e).scrubbed(&[&verifier]))
    }

    async fn set_password(&mut self, user: &str, password: &SecretString) -> Result<(), DbError> {
        let verifier = verifier(password);
        let sql = format!("ALTER ROLE {} PASSWORD {}", quote_ident(user)?, quote_literal(&verifier));
        self.client.batch_execute(&sql).await.map_err(|e| classify_statement(&e).scrubbed(&[&verifier]))
    }

    async fn user_exists(&mut self, user: &str) -> Result<bool, DbError> {
        let rows = self
            .client
            .query("SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1", &[&user])
            .await
            .map_err(|e| classify_statement(&e))?;
        Ok(!rows.is_empty())
    }

    async fn create_user_like(&mut self, user: &str, like: &str, password: &SecretString) -> Result<(), DbError> {
        let memberships: Vec<String> = self
            .client
            .query(
                "SELECT r.rolname::text FROM pg_catalog.pg_auth_members m \
                 JOIN pg_catalog.pg_roles r ON r.oid = m.roleid \
                 JOIN pg_catalog.pg_roles u ON u.oid = m.member \
                 WHERE u.rolname = $1 ORDER BY 1",
                &[&like],
            )
            .await
            .map_err(|e| classify_statement(&e))?
            .iter()
            .map(|row| row.get(0))
            .collect();
        let user_ident = quote_ident(user)?;
        let verifier = verifier(password);
        let mut sql = format!("BEGIN; CREATE ROLE {user_ident} WITH LOGIN PASSWORD {};", quote_literal(&verifier));
        for role in &memberships {
            let _ = write!(sql, " GRANT {} TO {user_ident};", quote_ident(role)?);
        }
        sql.push_str(" COMMIT;");
        let result = self.client.batch_execute(&sql).await.map_err(|e| classify_statement(&e).scrubbed(&[&verifier]));
        if result.is_err() {
            let _ = self.client.batch_execute("ROLLBACK").await;
        }
        result
    }

    async fn whoami(&mut self) -> Result<String, DbError> {
        let row = self.client.query_one("SELECT current_user::text", &[]).await.map_err(|e| classify_statement(&e))?;
        Ok(row.get(0))
    }
}

/// A SCRAM-SHA-256 verifier with a fresh random salt: what the server stores, never the password.
fn verifier(password: &SecretString) -> String {
    postgres_protocol::password::scram_sha_256(password.expose().as_bytes())
}

/// `"name"` with inner quotes doubled: any user name becomes one identifier, never SQL.
///
/// # Errors
/// When the name holds a NUL character, which no identifier may.
pub fn quote_ident(name: &str) -> Result<String, DbError> {
    if name.contains('\0') || name.is_empty() {
        return Err(DbError::Other { detail: "an identifier cannot be empty or hold a NUL character".into() });
    }
    Ok(format!("\"{}\"", name.replace('"', "\"\"")))
}

/// A string literal that means exactly `value`, whatever `standard_conforming_strings` says.
#[must_use]
pub fn quote_literal(value: &str) -> String {
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
        if *code == SqlState::INVALID_PASSWORD || *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION {
            return DbError::LoginFailed { user: login.username.clone(), detail };
        }
        return classify_code(code, detail);
    }
    let lower = detail.to_ascii_lowercase();
    if lower.contains("certificate") || lower.contains("tls") || lower.contains("ssl") || lower.contains("handshake") {
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
        let (a, b) = (verifier(&pw), verifier(&pw));
        assert!(a.starts_with("SCRAM-SHA-256$4096:"), "{a}");
        assert_ne!(a, b, "a fresh salt every time");
        assert!(!a.contains("horse"));
    }
}
