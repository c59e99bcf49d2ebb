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
use crate::ports::{CloneSync, Database, DbError, Login, Session};
use crate::secret::Tls;

/// Which server the session talks to: the statements differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flavor {
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
        let flavor =
            if version.is_some_and(|v| v.contains("MariaDB")) { Flavor::MariaDb } else { Flavor::MySql };
        // Backslashes in literals are escapes, whatever the server's default: quote() relies on it.
        within(
            timeout,
            conn.query_drop("SET SESSION sql_mode = REPLACE(@@SESSION.sql_mode, 'NO_BACKSLASH_ESCAPES', '')"),
        )
        .await?;
        Ok(MySession { conn, flavor, timeout })
    }
}

async fn within<T>(
    timeout: Duration,
    fut: impl Future<Output = Result<T, mysql_async::Error>>,
) -> Result<T, DbError> {
    match tokio::time::timeout(timeout, fut).await {
        Ok(result) => result.map_err(|e| classify_statement(&e)),
        Err(_) => Err(DbError::Timeout { detail: format!("no answer within {} s", timeout.as_secs()) }),
    }
}

/// What `mysql.user` says of one account (one user name at one host pattern), beyond its
/// privileges: what the clone must share with the user.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Account {
    pub host: String,
    /// The authentication plugin (`mysql_native_password`, `ed25519`, `caching_sha2_password`, ...).
    pub plugin: String,
    /// `REQUIRE`: `''` (none), `ANY` (SSL), `X509` or `SPECIFIED` (issuer, subject, cipher).
    pub ssl_type: String,
    pub ssl_cipher: String,
    pub x509_issuer: String,
    pub x509_subject: String,
    /// Resource limits: queries, updates and connections an hour, simultaneous connections.
    pub limits: [u64; 4],
    /// Default roles: MariaDB's one role (host empty), or MySQL's `(user, host)` list.
    pub default_roles: Vec<(String, String)>,
}

impl Account {
    /// The same attributes, compared without the host and plugin.
    fn same_attributes(&self, other: &Self) -> bool {
        (&self.ssl_type, &self.ssl_cipher, &self.x509_issuer, &self.x509_subject, self.limits)
            == (&other.ssl_type, &other.ssl_cipher, &other.x509_issuer, &other.x509_subject, other.limits)
    }
}

const ACCOUNT_COLUMNS: &str = "Host, plugin, CAST(ssl_type AS CHAR), CAST(ssl_cipher AS CHAR), CAST(x509_issuer AS CHAR), \
     CAST(x509_subject AS CHAR), CAST(max_questions AS CHAR), CAST(max_updates AS CHAR), CAST(max_connections AS CHAR), \
     CAST(max_user_connections AS CHAR)";

impl MySession {
    /// Every account of `user`, one per host pattern, with its attributes.
    async fn accounts_of(&mut self, user: &str) -> Result<Vec<Account>, DbError> {
        let sql = match self.flavor {
            Flavor::MariaDb => {
                format!("SELECT {ACCOUNT_COLUMNS}, default_role FROM mysql.user WHERE User = ? ORDER BY Host")
            }
            Flavor::MySql => {
                format!("SELECT {ACCOUNT_COLUMNS}, '' FROM mysql.user WHERE User = ? ORDER BY Host")
            }
        };
        let rows: Vec<mysql_async::Row> = within(self.timeout, self.conn.exec(sql, (user,))).await?;
        let text =
            |row: &mysql_async::Row, i: usize| row.get::<Option<String>, _>(i).flatten().unwrap_or_default();
        let mut accounts = Vec::with_capacity(rows.len());
        for row in &rows {
            let mut account = Account {
                host: text(row, 0),
                plugin: text(row, 1),
                ssl_type: text(row, 2),
                ssl_cipher: text(row, 3),
                x509_issuer: text(row, 4),
                x509_subject: text(row, 5),
                limits: [6, 7, 8, 9].map(|i| text(row, i).parse().unwrap_or(0)),
                default_roles: Vec::new(),
            };
            let default_role = text(row, 10);
            if !default_role.is_empty() {
                account.default_roles.push((default_role, String::new()));
            }
            if self.flavor == Flavor::MySql {
                account.default_roles = within(
                    self.timeout,
                    self.conn.exec(
                        "SELECT DEFAULT_ROLE_USER, DEFAULT_ROLE_HOST FROM mysql.default_roles WHERE USER = ? AND HOST = ? ORDER BY 1, 2",
                        (user, &account.host),
                    ),
                )
                .await?;
            }
            accounts.push(account);
        }
        Ok(accounts)
    }

    /// `SHOW GRANTS` of `user@host`, each line retargeted to `clone@host` (the usage line and
    /// default roles left out: attributes and default roles are set apart).
    async fn grants_as(&mut self, user: &str, host: &str, clone: &str) -> Result<Vec<String>, DbError> {
        let lines: Vec<String> =
            within(self.timeout, self.conn.query(format!("SHOW GRANTS FOR {}@{}", quote(user), quote(host))))
                .await?;
        Ok(lines.iter().filter_map(|line| regrant(line, user, host, clone)).collect())
    }

    /// The session user's authentication plugin, from its own `SHOW GRANTS` (which every user
    /// may read): `None` for a password hash (`mysql_native_password`).
    async fn own_plugin(&mut self) -> Result<Option<String>, DbError> {
        let lines: Vec<String> = within(self.timeout, self.conn.query("SHOW GRANTS")).await?;
        Ok(lines.iter().find_map(|line| plugin_in_grant(line)))
    }

    async fn run(&mut self, sql: String) -> Result<(), DbError> {
        within(self.timeout, self.conn.query_drop(sql)).await
    }

    /// How the clone's account at `account`'s host pattern (`mine`, if it exists) differs from
    /// the user's. Reads only.
    async fn drift_at(
        &mut self,
        account: &Account,
        mine: Option<&Account>,
        base: &str,
        clone: &str,
    ) -> Result<AccountDrift, DbError> {
        let wanted = self.grants_as(base, &account.host, clone).await?;
        let have =
            if mine.is_some() { self.grants_as(clone, &account.host, clone).await? } else { Vec::new() };
        Ok(AccountDrift {
            missing: mine.is_none(),
            plugin: mine.is_some_and(|m| m.plugin != account.plugin),
            attributes: mine.is_none_or(|m| !m.same_attributes(account)),
            extra: have
                .iter()
                .filter(|line| !wanted.contains(line) && revoke(line).is_some())
                .cloned()
                .collect(),
            lacking: wanted.iter().filter(|line| !have.contains(line)).cloned().collect(),
            default_roles: mine.is_none_or(|m| m.default_roles != account.default_roles)
                && (mine.is_some() || !account.default_roles.is_empty()),
            wanted,
        })
    }
}

/// What differs between the clone and the user at one host pattern.
#[derive(Debug, Default)]
#[expect(clippy::struct_excessive_bools, reason = "each flag is one independent difference")]
struct AccountDrift {
    /// The clone has no account at this host pattern.
    missing: bool,
    /// Another authentication plugin.
    plugin: bool,
    /// Other TLS requirements or resource limits.
    attributes: bool,
    /// Grant lines the clone has and the user does not.
    extra: Vec<String>,
    /// Grant lines the user has and the clone does not.
    lacking: Vec<String>,
    /// Every grant line of the user, retargeted to the clone.
    wanted: Vec<String>,
    /// Other default roles.
    default_roles: bool,
}

impl AccountDrift {
    /// The differences in words (grant lines name privileges, never a password).
    fn describe(&self, clone: &str, host: &str) -> Vec<String> {
        if self.missing {
            return vec![format!("{clone} has no account at host {host:?}")];
        }
        let mut words = Vec::new();
        if self.plugin {
            words.push(format!("{clone}@{host}: another authentication plugin"));
        }
        if self.attributes {
            words.push(format!("{clone}@{host}: other TLS requirements (REQUIRE) or resource limits"));
        }
        words.extend(self.lacking.iter().map(|line| format!("{clone}@{host} lacks: {line}")));
        words.extend(self.extra.iter().map(|line| format!("{clone}@{host} has more: {line}")));
        if self.default_roles {
            words.push(format!("{clone}@{host}: other default roles"));
        }
        words
    }
}

impl Session for MySession {
    async fn set_own_password(&mut self, password: &SecretString) -> Result<(), DbError> {
        let plugin = if self.flavor == Flavor::MariaDb { self.own_plugin().await? } else { None };
        let sql = set_own_password_sql(self.flavor, plugin.as_deref(), password);
        self.run(sql).await.map_err(|e| scrub(e, password))
    }

    async fn set_password(&mut self, user: &str, password: &SecretString) -> Result<(), DbError> {
        for account in self.accounts_of(user).await? {
            let sql = set_password_sql(self.flavor, user, &account.host, &account.plugin, password);
            self.run(sql).await.map_err(|e| scrub(e, password))?;
        }
        Ok(())
    }

    /// For every host pattern of `base`: the clone's account (created when missing), its
    /// plugin, TLS requirements and resource limits, its privileges and roles (granted when
    /// missing, revoked when `base` no longer has them), and its default roles. Every statement
    /// is idempotent and the whole is run on every rotation, so a clone left half-made (a GRANT
    /// refused, a time-out) is completed by the retry.
    async fn sync_clone(
        &mut self,
        clone: &str,
        base: &str,
        clone_password: &SecretString,
    ) -> Result<CloneSync, DbError> {
        let accounts = self.accounts_of(base).await?;
        if accounts.is_empty() {
            return Err(DbError::Other {
                detail: format!("user {base:?} does not exist, so no clone can be made of it"),
            });
        }
        let existing = self.accounts_of(clone).await?;
        let mut sync = CloneSync::default();
        for account in &accounts {
            let host = account.host.as_str();
            let mine = existing.iter().find(|a| a.host == host);
            let drift = self.drift_at(account, mine, base, clone).await?;
            let mut statements = Vec::new();
            if drift.missing {
                sync.created = true;
                statements.push(create_user_sql(self.flavor, clone, host, &account.plugin, clone_password));
            }
            if drift.plugin {
                statements.push(set_password_sql(self.flavor, clone, host, &account.plugin, clone_password));
            }
            if drift.attributes {
                statements.push(alter_attributes_sql(clone, account));
            }
            for sql in statements {
                sync.changes += 1;
                self.run(sql).await.map_err(|e| scrub(e, clone_password))?;
            }
            for line in &drift.extra {
                if let Some(sql) = revoke(line) {
                    sync.changes += 1;
                    self.run(sql).await?;
                }
            }
            // After a revoke, every wanted line again: a revoked line may have overlapped one.
            let grants = if drift.extra.is_empty() { &drift.lacking } else { &drift.wanted };
            for line in grants {
                sync.changes += 1;
                self.run(line.clone()).await?;
            }
            if drift.default_roles {
                sync.changes += 1;
                self.run(default_roles_sql(self.flavor, clone, host, &account.default_roles)).await?;
            }
        }
        Ok(sync)
    }

    async fn clone_drift(&mut self, clone: &str, base: &str) -> Result<Option<Vec<String>>, DbError> {
        let existing = self.accounts_of(clone).await?;
        if existing.is_empty() {
            return Ok(None);
        }
        let mut words = Vec::new();
        for account in self.accounts_of(base).await? {
            let mine = existing.iter().find(|a| a.host == account.host);
            let drift = self.drift_at(&account, mine, base, clone).await?;
            words.extend(drift.describe(clone, &account.host));
        }
        Ok(Some(words))
    }

    /// The global privileges the clone's upkeep uses: reading `mysql.user`, `CREATE USER`, and
    /// `GRANT OPTION` to pass on the user's privileges (which the master must hold too).
    async fn missing_privileges(&mut self, _base: &str, _clone: &str) -> Result<Vec<String>, DbError> {
        let lines: Vec<String> = within(self.timeout, self.conn.query("SHOW GRANTS")).await?;
        let global: Vec<&str> = lines
            .iter()
            .filter_map(|line| line.split_once(" ON *.* TO "))
            .flat_map(|(privileges, rest)| {
                let grant_option = rest.contains("WITH GRANT OPTION").then_some("GRANT OPTION");
                privileges.trim_start_matches("GRANT ").split(", ").chain(grant_option)
            })
            .collect();
        let all = global.contains(&"ALL PRIVILEGES");
        let mut missing = Vec::new();
        for (privilege, why) in [
            ("CREATE USER", "to create the clone and change its password"),
            ("GRANT OPTION", "to give the clone what the user has (WITH GRANT OPTION)"),
        ] {
            let held = global.contains(&privilege) || (all && privilege != "GRANT OPTION");
            if !held {
                missing.push(format!("{privilege} ON *.* ({why})"));
            }
        }
        let readable =
            within(self.timeout, self.conn.query_drop("SELECT 1 FROM mysql.user WHERE 1 = 0")).await;
        if let Err(DbError::PermissionDenied { .. }) = readable {
            missing.push("SELECT ON mysql.user (to read the user's accounts and attributes)".to_owned());
        } else {
            readable?;
        }
        Ok(missing)
    }

    async fn whoami(&mut self) -> Result<String, DbError> {
        let who: Option<String> =
            within(self.timeout, self.conn.query_first("SELECT CURRENT_USER()")).await?;
        let who = who.unwrap_or_default();
        Ok(who.rsplit_once('@').map_or(who.as_str(), |(user, _)| user).to_owned())
    }

    /// A prepared statement holds one statement only, and the transaction is read-only and
    /// rolled back: `TEST_QUERY` can neither chain a second statement nor write.
    async fn read_only_query(&mut self, sql: &str) -> Result<(), DbError> {
        self.run("START TRANSACTION READ ONLY".to_owned()).await?;
        let result = within(self.timeout, self.conn.exec_drop(sql, ())).await;
        let rollback = self.run("ROLLBACK".to_owned()).await;
        result?;
        rollback
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
pub(crate) fn native_hash(password: &SecretString) -> String {
    let inner = digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, password.expose().as_bytes());
    let outer = digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, inner.as_ref());
    let mut hex = String::with_capacity(41);
    hex.push('*');
    for b in outer.as_ref() {
        let _ = write!(hex, "{b:02X}");
    }
    hex
}

/// Whether `plugin` takes a `mysql_native_password` hash (MariaDB's default plugin).
fn is_native(plugin: &str) -> bool {
    plugin.is_empty() || plugin == "mysql_native_password"
}

/// A plugin name as SQL: a bare identifier, which plugin names are.
fn plugin_ident(plugin: &str) -> String {
    if !plugin.is_empty() && plugin.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        plugin.to_owned()
    } else {
        format!("`{}`", plugin.replace('`', "``"))
    }
}

/// The plugin a `SHOW GRANTS` line names (`... IDENTIFIED VIA ed25519 USING '...'`), if any
/// other than a native password hash.
#[must_use]
pub(crate) fn plugin_in_grant(line: &str) -> Option<String> {
    let (_, after) = line.split_once(" IDENTIFIED VIA ")?;
    let plugin: String = after
        .trim_start_matches('`')
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    (!is_native(&plugin)).then_some(plugin)
}

/// The session user's new password. MariaDB: the native hash, or for another plugin
/// `PASSWORD()`, which hashes with that plugin. MySQL: `ALTER USER CURRENT_USER()`, which a user
/// may run on itself without reading `mysql.user` (the plugin is then the server's to keep).
#[must_use]
pub(crate) fn set_own_password_sql(flavor: Flavor, plugin: Option<&str>, password: &SecretString) -> String {
    match (flavor, plugin) {
        (Flavor::MariaDb, None) => format!("SET PASSWORD = {}", quote(&native_hash(password))),
        (Flavor::MariaDb, Some(_)) => format!("SET PASSWORD = PASSWORD({})", quote(password.expose())),
        (Flavor::MySql, _) => format!("ALTER USER CURRENT_USER() IDENTIFIED BY {}", quote(password.expose())),
    }
}

/// The `IDENTIFIED ...` clause that gives an account `password` with `plugin`: MariaDB's native
/// plugin takes the hash, another plugin hashes with `PASSWORD()`; MySQL names the plugin when
/// there is one.
fn identified(flavor: Flavor, plugin: &str, password: &SecretString) -> String {
    match flavor {
        Flavor::MariaDb if is_native(plugin) => {
            format!("IDENTIFIED BY PASSWORD {}", quote(&native_hash(password)))
        }
        Flavor::MariaDb => {
            format!("IDENTIFIED VIA {} USING PASSWORD({})", plugin_ident(plugin), quote(password.expose()))
        }
        Flavor::MySql if plugin.is_empty() => format!("IDENTIFIED BY {}", quote(password.expose())),
        Flavor::MySql => format!("IDENTIFIED WITH {} BY {}", plugin_ident(plugin), quote(password.expose())),
    }
}

/// Another account's new password, keeping its plugin. MariaDB's native accounts take `SET
/// PASSWORD FOR`, which a master with `UPDATE` on the `mysql` database may run.
#[must_use]
pub(crate) fn set_password_sql(
    flavor: Flavor,
    user: &str,
    host: &str,
    plugin: &str,
    password: &SecretString,
) -> String {
    let account = format!("{}@{}", quote(user), quote(host));
    if flavor == Flavor::MariaDb && is_native(plugin) {
        return format!("SET PASSWORD FOR {account} = {}", quote(&native_hash(password)));
    }
    format!("ALTER USER {account} {}", identified(flavor, plugin, password))
}

/// A new account with the plugin of the account it clones.
#[must_use]
pub(crate) fn create_user_sql(
    flavor: Flavor,
    user: &str,
    host: &str,
    plugin: &str,
    password: &SecretString,
) -> String {
    format!("CREATE USER {}@{} {}", quote(user), quote(host), identified(flavor, plugin, password))
}

/// `ALTER USER user@<its host> REQUIRE ... WITH ...`: the TLS requirement and resource limits of
/// `like` (the same statement on MariaDB and MySQL).
#[must_use]
pub(crate) fn alter_attributes_sql(user: &str, like: &Account) -> String {
    let require = match like.ssl_type.to_ascii_uppercase().as_str() {
        "ANY" => "SSL".to_owned(),
        "X509" => "X509".to_owned(),
        "SPECIFIED" => {
            let parts: Vec<String> = [
                ("ISSUER", &like.x509_issuer),
                ("SUBJECT", &like.x509_subject),
                ("CIPHER", &like.ssl_cipher),
            ]
            .into_iter()
            .filter(|(_, value)| !value.is_empty())
            .map(|(what, value)| format!("{what} {}", quote(value)))
            .collect();
            if parts.is_empty() { "NONE".to_owned() } else { parts.join(" AND ") }
        }
        _ => "NONE".to_owned(),
    };
    let [queries, updates, connections, user_connections] = like.limits;
    format!(
        "ALTER USER {}@{} REQUIRE {require} WITH MAX_QUERIES_PER_HOUR {queries} MAX_UPDATES_PER_HOUR {updates} \
         MAX_CONNECTIONS_PER_HOUR {connections} MAX_USER_CONNECTIONS {user_connections}",
        quote(user),
        quote(&like.host)
    )
}

/// The default roles of `user@host`: MariaDB's `SET DEFAULT ROLE` (one role), MySQL's `ALTER USER
/// ... DEFAULT ROLE` (a list); `NONE` for none.
#[must_use]
pub(crate) fn default_roles_sql(
    flavor: Flavor,
    user: &str,
    host: &str,
    roles: &[(String, String)],
) -> String {
    let account = format!("{}@{}", quote(user), quote(host));
    match flavor {
        Flavor::MariaDb => match roles.first() {
            Some((role, _)) => format!("SET DEFAULT ROLE `{}` FOR {account}", role.replace('`', "``")),
            None => format!("SET DEFAULT ROLE NONE FOR {account}"),
        },
        Flavor::MySql if roles.is_empty() => format!("ALTER USER {account} DEFAULT ROLE NONE"),
        Flavor::MySql => {
            let list: Vec<String> = roles
                .iter()
                .map(|(role, role_host)| format!("{}@{}", quote(role), quote(role_host)))
                .collect();
            format!("ALTER USER {account} DEFAULT ROLE {}", list.join(", "))
        }
    }
}

/// The `REVOKE` that undoes a retargeted grant line (`GRANT <what> TO 'u'@'h' [WITH ... OPTION]`):
/// privileges with their grant option, or a role.
#[must_use]
pub(crate) fn revoke(line: &str) -> Option<String> {
    let what = line.strip_prefix("GRANT ")?;
    let (what, grantee_and_options) = what.rsplit_once(" TO ")?;
    let grantee = grantee_and_options.split(" WITH ").next()?;
    let grant_option = grantee_and_options.contains(" WITH GRANT OPTION");
    match what.find(" ON ") {
        Some(i) if grant_option && !what.starts_with('`') && !what.starts_with('\'') => {
            Some(format!("REVOKE {}, GRANT OPTION{} FROM {grantee}", &what[..i], &what[i..]))
        }
        _ => Some(format!("REVOKE {what} FROM {grantee}")),
    }
}

/// One line of `SHOW GRANTS FOR template@host`, granted to `user@host` instead. The usage line is
/// skipped (CREATE USER made the account) and any `IDENTIFIED BY PASSWORD` is dropped; `WITH
/// GRANT OPTION` and `WITH ADMIN OPTION` are kept. The grantee is found by its exact quoted form,
/// so a user name holding " TO " cannot mislead it.
#[must_use]
pub(crate) fn regrant(line: &str, template: &str, host: &str, user: &str) -> Option<String> {
    if line.starts_with("GRANT USAGE ON *.* TO ") {
        return None;
    }
    let grantees = [
        format!(" TO `{}`@`{}`", template.replace('`', "``"), host.replace('`', "``")),
        format!(" TO '{}'@'{}'", template.replace('\'', "\\'"), host.replace('\'', "\\'")),
        format!(" TO {}@{}", quote(template), quote(host)),
    ];
    let (head, tail) =
        grantees.iter().find_map(|g| line.rfind(g.as_str()).map(|i| (&line[..i], &line[i + g.len()..])))?;
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
        mysql_async::Error::Server(s) if s.code == 1045 => {
            DbError::LoginFailed { user: login.username.clone(), detail }
        }
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
        mysql_async::Error::Server(s) if [1044, 1045, 1142, 1143, 1227, 1410].contains(&s.code) => {
            DbError::PermissionDenied { detail }
        }
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
        let server =
            DbError::Other { detail: format!("You have an error near '{}' at line 1", quote(pw().expose())) };
        let scrubbed = scrub(server, &pw()).to_string();
        assert!(!scrubbed.contains("n3w"), "{scrubbed}");
        assert!(scrubbed.contains("***"), "{scrubbed}");
        let hashed =
            scrub(DbError::PermissionDenied { detail: format!("denied for {}", native_hash(&pw())) }, &pw())
                .to_string();
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
            set_own_password_sql(Flavor::MariaDb, None, &pw()),
            set_password_sql(Flavor::MariaDb, "app", "%", "mysql_native_password", &pw()),
            set_password_sql(Flavor::MariaDb, "app", "%", "", &pw()),
            create_user_sql(Flavor::MariaDb, "app_clone", "10.0.%", "mysql_native_password", &pw()),
        ] {
            assert!(sql.contains(&hash), "{sql}");
            assert!(!sql.contains("n3w"), "{sql}");
        }
        assert_eq!(set_own_password_sql(Flavor::MariaDb, None, &pw()), format!("SET PASSWORD = '{hash}'"));
        assert_eq!(
            create_user_sql(Flavor::MariaDb, "app_clone", "%", "mysql_native_password", &pw()),
            format!("CREATE USER 'app_clone'@'%' IDENTIFIED BY PASSWORD '{hash}'")
        );
    }

    #[test]
    fn mysql_statements_use_alter_user() {
        assert_eq!(
            set_own_password_sql(Flavor::MySql, None, &pw()),
            "ALTER USER CURRENT_USER() IDENTIFIED BY 'n3w\\'P\\\\ass'"
        );
        assert_eq!(
            set_password_sql(Flavor::MySql, "app", "%", "", &pw()),
            "ALTER USER 'app'@'%' IDENTIFIED BY 'n3w\\'P\\\\ass'"
        );
        assert_eq!(
            set_password_sql(Flavor::MySql, "app", "%", "caching_sha2_password", &pw()),
            "ALTER USER 'app'@'%' IDENTIFIED WITH caching_sha2_password BY 'n3w\\'P\\\\ass'",
            "the account keeps its plugin"
        );
        assert_eq!(
            create_user_sql(Flavor::MySql, "a'b", "h", "caching_sha2_password", &pw()),
            "CREATE USER 'a\\'b'@'h' IDENTIFIED WITH caching_sha2_password BY 'n3w\\'P\\\\ass'"
        );
        assert_eq!(
            create_user_sql(Flavor::MySql, "c", "%", "x`; DROP USER root; --", &pw()),
            "CREATE USER 'c'@'%' IDENTIFIED WITH `x``; DROP USER root; --` BY 'n3w\\'P\\\\ass'",
            "a plugin name is an identifier, never SQL"
        );
    }

    #[test]
    fn other_plugins_are_kept() {
        assert_eq!(
            plugin_in_grant("GRANT USAGE ON *.* TO `app`@`%` IDENTIFIED VIA ed25519 USING 'x'"),
            Some("ed25519".into())
        );
        assert_eq!(plugin_in_grant("GRANT USAGE ON *.* TO `app`@`%` IDENTIFIED BY PASSWORD '*ABC'"), None);
        assert_eq!(
            plugin_in_grant(
                "GRANT USAGE ON *.* TO `app`@`%` IDENTIFIED VIA mysql_native_password USING '*A'"
            ),
            None
        );
        assert_eq!(
            set_own_password_sql(Flavor::MariaDb, Some("ed25519"), &pw()),
            "SET PASSWORD = PASSWORD('n3w\\'P\\\\ass')"
        );
        assert_eq!(
            set_password_sql(Flavor::MariaDb, "app", "%", "ed25519", &pw()),
            "ALTER USER 'app'@'%' IDENTIFIED VIA ed25519 USING PASSWORD('n3w\\'P\\\\ass')"
        );
    }

    #[test]
    fn attributes_and_default_roles_are_copied_on_both_servers() {
        let mut account = Account {
            host: "10.%".into(),
            ssl_type: "ANY".into(),
            limits: [10, 20, 30, 4],
            ..Account::default()
        };
        assert_eq!(
            alter_attributes_sql("app_clone", &account),
            "ALTER USER 'app_clone'@'10.%' REQUIRE SSL WITH MAX_QUERIES_PER_HOUR 10 MAX_UPDATES_PER_HOUR 20 \
             MAX_CONNECTIONS_PER_HOUR 30 MAX_USER_CONNECTIONS 4"
        );
        account.ssl_type = "SPECIFIED".into();
        account.x509_issuer = "/CN=ca'".into();
        account.ssl_cipher = "ECDHE-RSA-AES256-GCM-SHA384".into();
        assert!(
            alter_attributes_sql("c", &account)
                .contains("REQUIRE ISSUER '/CN=ca\\'' AND CIPHER 'ECDHE-RSA-AES256-GCM-SHA384' WITH"),
            "{}",
            alter_attributes_sql("c", &account)
        );
        account.ssl_type = String::new();
        assert!(alter_attributes_sql("c", &account).contains("REQUIRE NONE WITH"));
        let roles = vec![("readers".to_owned(), String::new())];
        assert_eq!(
            default_roles_sql(Flavor::MariaDb, "c", "%", &roles),
            "SET DEFAULT ROLE `readers` FOR 'c'@'%'"
        );
        assert_eq!(default_roles_sql(Flavor::MariaDb, "c", "%", &[]), "SET DEFAULT ROLE NONE FOR 'c'@'%'");
        let roles = vec![("r1".to_owned(), "%".to_owned()), ("r2".to_owned(), "localhost".to_owned())];
        assert_eq!(
            default_roles_sql(Flavor::MySql, "c", "%", &roles),
            "ALTER USER 'c'@'%' DEFAULT ROLE 'r1'@'%', 'r2'@'localhost'"
        );
        assert_eq!(default_roles_sql(Flavor::MySql, "c", "%", &[]), "ALTER USER 'c'@'%' DEFAULT ROLE NONE");
    }

    #[test]
    fn grants_the_user_lost_are_revoked_with_their_grant_option() {
        assert_eq!(
            revoke("GRANT SELECT, INSERT ON `shop`.* TO 'c'@'%'").unwrap(),
            "REVOKE SELECT, INSERT ON `shop`.* FROM 'c'@'%'"
        );
        assert_eq!(
            revoke("GRANT SELECT ON `shop`.`t` TO 'c'@'10.%' WITH GRANT OPTION").unwrap(),
            "REVOKE SELECT, GRANT OPTION ON `shop`.`t` FROM 'c'@'10.%'"
        );
        assert_eq!(
            revoke("GRANT `readers` TO 'c'@'%' WITH ADMIN OPTION").unwrap(),
            "REVOKE `readers` FROM 'c'@'%'"
        );
        assert_eq!(
            revoke("GRANT `r`@`%` TO 'c'@'%'").unwrap(),
            "REVOKE `r`@`%` FROM 'c'@'%'",
            "MySQL 8 names a role with its host"
        );
        assert_eq!(revoke("SET DEFAULT ROLE `r` FOR 'c'@'%'"), None);
    }

    #[test]
    fn grants_are_retargeted_exactly() {
        assert_eq!(
            regrant("GRANT USAGE ON *.* TO `app`@`%` IDENTIFIED BY PASSWORD '*ABC'", "app", "%", "app_clone"),
            None
        );
        assert_eq!(
            regrant("GRANT SELECT, INSERT ON `shop`.* TO `app`@`%`", "app", "%", "app_clone").unwrap(),
            "GRANT SELECT, INSERT ON `shop`.* TO 'app_clone'@'%'"
        );
        assert_eq!(
            regrant(
                "GRANT ALL PRIVILEGES ON `db`.`t` TO `app`@`10.%` WITH GRANT OPTION",
                "app",
                "10.%",
                "app_clone"
            )
            .unwrap(),
            "GRANT ALL PRIVILEGES ON `db`.`t` TO 'app_clone'@'10.%' WITH GRANT OPTION"
        );
        assert_eq!(
            regrant("GRANT `readers` TO `app`@`%`", "app", "%", "x").unwrap(),
            "GRANT `readers` TO 'x'@'%'"
        );
        assert_eq!(
            regrant("GRANT SELECT ON `d`.* TO 'app'@'%'", "app", "%", "c").unwrap(),
            "GRANT SELECT ON `d`.* TO 'c'@'%'",
            "MySQL 5.7 quotes with single quotes"
        );
        let hostile = "a TO `b`@`%` x";
        assert_eq!(
            regrant(
                &format!("GRANT SELECT ON `d`.* TO `{}`@`%`", hostile.replace('`', "``")),
                hostile,
                "%",
                "c"
            )
            .unwrap(),
            "GRANT SELECT ON `d`.* TO 'c'@'%'"
        );
        assert_eq!(regrant("GRANT SELECT ON `d`.* TO `other`@`%`", "app", "%", "c"), None);
    }
}
