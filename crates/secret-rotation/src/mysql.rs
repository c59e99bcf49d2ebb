//! The MySQL / MariaDB adapter: `mysql_async` over rustls, verifying the server's certificate
//! against the same roots as PostgreSQL (the Amazon RDS bundle, the system roots, `DB_CA_BUNDLE`).
//!
//! On MariaDB a new password travels only as its `mysql_native_password` hash (`SET PASSWORD = '*…'`,
//! `IDENTIFIED BY PASSWORD '*…'`), so the general log never holds it; a user changes its own
//! password with `SET PASSWORD`, which needs no privilege. MySQL 8 has no hashed form for its
//! default `caching_sha2_password` plugin: there the password is sent in `ALTER USER …
//! IDENTIFIED BY`, over TLS, and MySQL itself rewrites it as `<secret>` in its logs.

use std::fmt::Write as _;
use std::future::Future;
use std::time::Duration;

use aws_lc_rs::digest;
use common::SecretString;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, OptsBuilder, SslOpts};

use crate::dbconfig::DbConfig;
use crate::ports::{Database, DbError, Login, Session};
use crate::secret::Tls;

/// Which server the session talks to: the statements differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    MariaDb,
    MySql,
}

/// MySQL and MariaDB through `mysql_async`.
#[derive(Debug, Clone)]
pub struct MySql {
    config: DbConfig,
    /// The trusted roots in DER, as `mysql_async` takes them.
    roots: Vec<Vec<u8>>,
}

impl MySql {
    #[must_use]
    pub fn new(config: DbConfig) -> Self {
        let roots = config.roots.iter().map(|c| c.to_vec()).collect();
        Self { config, roots }
    }
}

/// A logged-in MySQL or MariaDB session.
#[derive(Debug)]
pub struct MySession {
    conn: Conn,
    flavor: Flavor,
    timeout: Duration,
}

impl Database for MySql {
    type Session = MySession;

    async fn connect(&self, login: &Login) -> Result<MySession, DbError> {
        let mut opts = OptsBuilder::default()
            .ip_or_hostname(login.host.clone())
            .tcp_port(login.port)
            .user(Some(login.username.clone()))
            .pass(Some(login.password.expose().to_owned()))
            .db_name((!login.dbname.is_empty()).then(|| login.dbname.clone()))
            .prefer_socket(false)
            .stmt_cache_size(0);
        if login.tls == Tls::Verify {
            let roots = self.roots.iter().map(|der| der.clone().into()).collect();
            opts = opts.ssl_opts(SslOpts::default().with_root_certs(roots).with_disable_built_in_roots(true));
        }
        let mut conn = self.config.connecting(login, Conn::new(opts), |e| classify_connect(e, login)).await?;
        let timeout = self.config.statement_timeout;
        let version: Option<String> = within(timeout, conn.query_first("SELECT VERSION()")).await?;
        let flavor = if version.is_some_and(|v| v.contains("MariaDB")) { Flavor::MariaDb } else { Flavor::MySql };
        // Backslashes in literals are escapes, whatever the server's default: quote() relies on it.
        within(timeout, conn.query_drop("SET SESSION sql_mode = REPLACE(@@SESSION.sql_mode, 'NO_BACKSLASH_ESCAPES', '')")).await?;
        Ok(MySession { conn, flavor, timeout })
    }
}

async fn within<T>(timeout: Duration, fut: impl Future<Output = Result<T, mysql_async::Error>>) -> Result<T, DbError> {
    match tokio::time::timeout(timeout, fut).await {
        Ok(result) => result.map_err(|e| classify_statement(&e)),
        Err(_) => Err(DbError::Timeout { detail: format!("no answer within {} s", timeout.as_secs()) }),
    }
}

impl MySession {
    async fn hosts_of(&mut self, user: &str) -> Result<Vec<String>, DbError> {
        within(self.timeout, self.conn.exec("SELECT Host FROM mysql.user WHERE User = ?", (user,))).await
    }
}

impl Session for MySession {
    async fn set_own_password(&mut self, password: &SecretString) -> Result<(), DbError> {
        let sql = set_own_password_sql(self.flavor, password);
        within(self.timeout, self.conn.query_drop(sql)).await.map_err(|e| scrub(e, password))
    }

    async fn set_password(&mut self, user: &str, password: &SecretString) -> Result<(), DbError> {
        let hosts = self.hosts_of(user).await?;
        for host in hosts {
            let sql = set_password_sql(self.flavor, user, &host, password);
            within(self.timeout, self.conn.query_drop(sql)).await.map_err(|e| scrub(e, password))?;
        }
        Ok(())
    }

    async fn user_exists(&mut self, user: &str) -> Result<bool, DbError> {
        Ok(!self.hosts_of(user).await?.is_empty())
    }

    async fn create_user_like(&mut self, user: &str, like: &str, password: &SecretString) -> Result<(), DbError> {
        let hosts = self.hosts_of(like).await?;
        if hosts.is_empty() {
            return Err(DbError::Other { detail: format!("user {like:?} does not exist, so its grants cannot be copied") });
        }
        for host in &hosts {
            let grants: Vec<String> =
                within(self.timeout, self.conn.query(format!("SHOW GRANTS FOR {}@{}", quote(like), quote(host)))).await?;
            within(self.timeout, self.conn.query_drop(create_user_sql(self.flavor, user, host, password)))
                .await
                .map_err(|e| scrub(e, password))?;
            for grant in grants {
                if let Some(sql) = regrant(&grant, like, host, user) {
                    within(self.timeout, self.conn.query_drop(sql)).await?;
                }
            }
        }
        Ok(())
    }

    async fn whoami(&mut self) -> Result<String, DbError> {
        let who: Option<String> = within(self.timeout, self.conn.query_first("SELECT CURRENT_USER()")).await?;
        let who = who.unwrap_or_default();
        Ok(who.rsplit_once('@').map_or(who.as_str(), |(user, _)| user).to_owned())
    }
}

/// An error from a statement that carried `password`, with the password, its quoted form and its
/// hash taken out of the server's message.
fn scrub(err: DbError, password: &SecretString) -> DbError {
    let quoted = quote(password.expose());
    err.scrubbed(&[&quoted[1..quoted.len() - 1], password.expose(), &native_hash(password)])
}

/// A string literal that means exactly `value` (the session has `NO_BACKSLASH_ESCAPES` off).
#[must_use]
pub fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\0' => out.push_str("\\0"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\u{1a}' => out.push_str("\\Z"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// The `mysql_native_password` hash, `*` and the upper-case hex of SHA1(SHA1(password)): what the
/// server stores, and all a MariaDB statement needs.
#[must_use]
pub fn native_hash(password: &SecretString) -> String {
    let inner = digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, password.expose().as_bytes());
    let outer = digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, inner.as_ref());
    let mut hex = String::with_capacity(41);
    hex.push('*');
    for b in outer.as_ref() {
        let _ = write!(hex, "{b:02X}");
    }
    hex
}

#[must_use]
pub fn set_own_password_sql(flavor: Flavor, password: &SecretString) -> String {
    match flavor {
        Flavor::MariaDb => format!("SET PASSWORD = {}", quote(&native_hash(password))),
        Flavor::MySql => format!("ALTER USER CURRENT_USER() IDENTIFIED BY {}", quote(password.expose())),
    }
}

#[must_use]
pub fn set_password_sql(flavor: Flavor, user: &str, host: &str, password: &SecretString) -> String {
    match flavor {
        Flavor::MariaDb => format!("SET PASSWORD FOR {}@{} = {}", quote(user), quote(host), quote(&native_hash(password))),
        Flavor::MySql => format!("ALTER USER {}@{} IDENTIFIED BY {}", quote(user), quote(host), quote(password.expose())),
    }
}

#[must_use]
pub fn create_user_sql(flavor: Flavor, user: &str, host: &str, password: &SecretString) -> String {
    match flavor {
        Flavor::MariaDb => format!("CREATE USER {}@{} IDENTIFIED BY PASSWORD {}", quote(user), quote(host), quote(&native_hash(password))),
        Flavor::MySql => format!("CREATE USER {}@{} IDENTIFIED BY {}", quote(user), quote(host), quote(password.expose())),
    }
}

/// One line of `SHOW GRANTS FOR template@host`, granted to `user@host` instead. The usage line is
/// skipped (CREATE USER made the account) and any `IDENTIFIED BY PASSWORD` is dropped; `WITH
/// GRANT OPTION` and `WITH ADMIN OPTION` are kept. The grantee is found by its exact quoted form,
/// so a user name holding " TO " cannot mislead it.
#[must_use]
pub fn regrant(line: &str, template: &str, host: &str, user: &str) -> Option<String> {
    if line.starts_with("GRANT USAGE ON *.* TO ") {
        return None;
    }
    let grantees = [
        format!(" TO `{}`@`{}`", template.replace('`', "``"), host.replace('`', "``")),
        format!(" TO '{}'@'{}'", template.replace('\'', "\\'"), host.replace('\'', "\\'")),
        format!(" TO {}@{}", quote(template), quote(host)),
    ];
    let (head, tail) = grantees.iter().find_map(|g| line.rfind(g.as_str()).map(|i| (&line[..i], &line[i + g.len()..])))?;
    let mut sql = format!("{head} TO {}@{}", quote(user), quote(host));
    for option in [" WITH GRANT OPTION", " WITH ADMIN OPTION"] {
        if tail.contains(option) {
            sql.push_str(option);
        }
    }
    Some(sql)
}

fn classify_connect(e: &mysql_async::Error, login: &Login) -> DbError {
    let detail = common::diagnostic::message_chain(e);
    match e {
        mysql_async::Error::Server(s) if s.code == 1045 => DbError::LoginFailed { user: login.username.clone(), detail },
        // Logged in, but refused the secret's database.
        mysql_async::Error::Server(s) if s.code == 1044 => DbError::PermissionDenied { detail },
        mysql_async::Error::Server(s) if s.code == 3159 => DbError::Tls {
            host: login.host.clone(),
            port: login.port,
            detail: format!("the server requires TLS, but the secret says \"ssl\": false ({detail})"),
        },
        mysql_async::Error::Io(mysql_async::IoError::Tls(_))
        | mysql_async::Error::Driver(mysql_async::DriverError::NoClientSslFlagFromServer) => {
            DbError::Tls { host: login.host.clone(), port: login.port, detail }
        }
        mysql_async::Error::Io(_) => {
            // rustls's verdicts arrive wrapped in I/O errors.
            let lower = detail.to_ascii_lowercase();
            if ["certificate", "tls", "handshake", "unknownissuer"].iter().any(|w| lower.contains(w)) {
                DbError::Tls { host: login.host.clone(), port: login.port, detail }
            } else {
                DbError::Unreachable { host: login.host.clone(), port: login.port, detail }
            }
        }
        other => classify_statement(other),
    }
}

fn classify_statement(e: &mysql_async::Error) -> DbError {
    let detail = common::diagnostic::message_chain(e);
    match e {
        // Access denied for a statement: no privilege, no CREATE USER, no GRANT OPTION.
        mysql_async::Error::Server(s) if [1044, 1045, 1142, 1143, 1227, 1410].contains(&s.code) => DbError::PermissionDenied { detail },
        mysql_async::Error::Server(s) if [1969, 3024].contains(&s.code) => DbError::Timeout { detail },
        _ => DbError::Other { detail },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pw() -> SecretString {
        SecretString::new("n3w'P\\ass")
    }

    #[test]
    fn literals_escape_quotes_backslashes_and_controls() {
        assert_eq!(quote("it's"), "'it\\'s'");
        assert_eq!(quote("a\\b"), "'a\\\\b'");
        assert_eq!(quote("x\0y\n"), "'x\\0y\\n'");
        assert_eq!(quote("app'@'%'; DROP USER root; --"), "'app\\'@\\'%\\'; DROP USER root; --'");
    }

    #[test]
    fn errors_from_password_statements_are_scrubbed() {
        let server = DbError::Other { detail: format!("You have an error near '{}' at line 1", quote(pw().expose())) };
        let scrubbed = scrub(server, &pw()).to_string();
        assert!(!scrubbed.contains("n3w"), "{scrubbed}");
        assert!(scrubbed.contains("***"), "{scrubbed}");
        let hashed = scrub(DbError::PermissionDenied { detail: format!("denied for {}", native_hash(&pw())) }, &pw()).to_string();
        assert!(!hashed.contains(&native_hash(&pw())), "{hashed}");
    }

    #[test]
    fn the_native_hash_matches_the_servers() {
        // SELECT PASSWORD('password') on MariaDB and MySQL 5.7.
        assert_eq!(native_hash(&SecretString::new("password")), "*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19");
    }

    #[test]
    fn mariadb_statements_carry_only_the_hash() {
        let hash = native_hash(&pw());
        for sql in [
            set_own_password_sql(Flavor::MariaDb, &pw()),
            set_password_sql(Flavor::MariaDb, "app", "%", &pw()),
            create_user_sql(Flavor::MariaDb, "app_clone", "10.0.%", &pw()),
        ] {
            assert!(sql.contains(&hash), "{sql}");
            assert!(!sql.contains("n3w"), "{sql}");
        }
        assert_eq!(set_own_password_sql(Flavor::MariaDb, &pw()), format!("SET PASSWORD = '{hash}'"));
        assert_eq!(
            create_user_sql(Flavor::MariaDb, "app_clone", "%", &pw()),
            format!("CREATE USER 'app_clone'@'%' IDENTIFIED BY PASSWORD '{hash}'")
        );
    }

    #[test]
    fn mysql_statements_use_alter_user() {
        assert_eq!(set_own_password_sql(Flavor::MySql, &pw()), "ALTER USER CURRENT_USER() IDENTIFIED BY 'n3w\\'P\\\\ass'");
        assert_eq!(set_password_sql(Flavor::MySql, "app", "%", &pw()), "ALTER USER 'app'@'%' IDENTIFIED BY 'n3w\\'P\\\\ass'");
        assert_eq!(create_user_sql(Flavor::MySql, "a'b", "h", &pw()), "CREATE USER 'a\\'b'@'h' IDENTIFIED BY 'n3w\\'P\\\\ass'");
    }

    #[test]
    fn grants_are_retargeted_exactly() {
        assert_eq!(regrant("GRANT USAGE ON *.* TO `app`@`%` IDENTIFIED BY PASSWORD '*ABC'", "app", "%", "app_clone"), None);
        assert_eq!(
            regrant("GRANT SELECT, INSERT ON `shop`.* TO `app`@`%`", "app", "%", "app_clone").unwrap(),
            "GRANT SELECT, INSERT ON `shop`.* TO 'app_clone'@'%'"
        );
        assert_eq!(
            regrant("GRANT ALL PRIVILEGES ON `db`.`t` TO `app`@`10.%` WITH GRANT OPTION", "app", "10.%", "app_clone").unwrap(),
            "GRANT ALL PRIVILEGES ON `db`.`t` TO 'app_clone'@'10.%' WITH GRANT OPTION"
        );
        assert_eq!(regrant("GRANT `readers` TO `app`@`%`", "app", "%", "x").unwrap(), "GRANT `readers` TO 'x'@'%'");
        assert_eq!(
            regrant("GRANT SELECT ON `d`.* TO 'app'@'%'", "app", "%", "c").unwrap(),
            "GRANT SELECT ON `d`.* TO 'c'@'%'",
            "MySQL 5.7 quotes with single quotes"
        );
        let hostile = "a TO `b`@`%` x";
        assert_eq!(
            regrant(&format!("GRANT SELECT ON `d`.* TO `{}`@`%`", hostile.replace('`', "``")), hostile, "%", "c").unwrap(),
            "GRANT SELECT ON `d`.* TO 'c'@'%'"
        );
        assert_eq!(regrant("GRANT SELECT ON `d`.* TO `other`@`%`", "app", "%", "c"), None);
    }
}
