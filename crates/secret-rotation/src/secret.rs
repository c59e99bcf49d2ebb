//! The database secret's JSON: RDS-compatible fields read into types, every other key kept as it
//! was. Error messages name the field and what it must be, never its value.

use common::SecretString;
use serde_json::{Map, Value};

/// PostgreSQL's limit on identifiers (NAMEDATALEN - 1), in bytes.
pub(crate) const POSTGRES_MAX_IDENTIFIER: usize = 63;
/// MySQL's limit on user names, in characters (MariaDB allows 80; the lower limit keeps a secret
/// portable between the two).
pub(crate) const MYSQL_MAX_USERNAME: usize = 32;
/// Secrets Manager's limit on a secret value.
pub(crate) const MAX_SECRET_BYTES: usize = 65_536;
/// What an alternating user's other name ends with.
pub(crate) const CLONE_SUFFIX: &str = "_clone";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Postgres,
    /// MySQL, MariaDB and Aurora MySQL: one wire protocol; the adapter asks the server which it is.
    MySql,
}

impl Engine {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Postgres => "postgres",
            Self::MySql => "mysql",
        }
    }

    fn default_port(self) -> u16 {
        match self {
            Self::Postgres => 5432,
            Self::MySql => 3306,
        }
    }

    fn default_dbname(self) -> &'static str {
        match self {
            Self::Postgres => "postgres",
            Self::MySql => "",
        }
    }

    fn max_username(self) -> usize {
        match self {
            Self::Postgres => POSTGRES_MAX_IDENTIFIER,
            Self::MySql => MYSQL_MAX_USERNAME,
        }
    }

    fn name_len(self, name: &str) -> usize {
        match self {
            Self::Postgres => name.len(),
            Self::MySql => name.chars().count(),
        }
    }
}

/// Whether the connection uses TLS. Only an explicit `"ssl": false` turns it off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tls {
    /// TLS with certificate and host name verification.
    Verify,
    /// Plaintext, because the secret says `"ssl": false`.
    Disabled,
}

/// How credentials rotate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Strategy {
    /// The user changes its own password.
    SingleUser,
    /// The master secret (`masterarn`) alternates between `user` and `user_clone`.
    AlternatingUsers { master_arn: String },
}

impl Strategy {
    #[must_use]
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::SingleUser => "single-user",
            Self::AlternatingUsers { .. } => "alternating-users",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("the secret value is not a JSON object")]
    NotJson,
    #[error("the secret value is {0} bytes, over Secrets Manager's {MAX_SECRET_BYTES}")]
    TooLarge(usize),
    #[error("the secret has no {0:?} field")]
    Missing(&'static str),
    #[error("the secret's {field:?} field {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error(
        "engine {0:?} is not supported (supported: postgres, mysql, mariadb, aurora-postgresql, aurora-mysql, and generic secrets without an engine)"
    )]
    UnsupportedEngine(String),
    #[error("the secret has no {0:?} key to rotate (ROTATE_KEYS names it)")]
    MissingKey(String),
    #[error("the secret's {0:?} key is not a string")]
    KeyNotString(String),
    #[error(
        "the secret has no {0:?} field and no aws:rds:primaryDBInstanceArn or aws:rds:primaryDBClusterArn tag to find its database by (a non-database secret says \"engine\": \"generic\")"
    )]
    NotLocated(&'static str),
}

/// Where the RDS API says an RDS-managed secret's database is: used for the fields the secret
/// itself does not carry (RDS keeps only `username` and `password` in it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Located {
    pub engine: Engine,
    pub host: String,
    pub port: u16,
}

/// The engine RDS (or a secret) names.
///
/// # Errors
/// [`SecretError::UnsupportedEngine`] for engines this function cannot rotate.
pub(crate) fn engine_named(name: &str) -> Result<Engine, SecretError> {
    match name {
        "postgres" | "postgresql" | "aurora-postgresql" => Ok(Engine::Postgres),
        "mysql" | "mariadb" | "aurora-mysql" | "aurora" => Ok(Engine::MySql),
        other => Err(SecretError::UnsupportedEngine(other.chars().take(64).collect())),
    }
}

fn invalid(field: &'static str, reason: impl Into<String>) -> SecretError {
    SecretError::Invalid { field, reason: reason.into() }
}

/// A parsed database secret. `Debug` shows where it points, never the password or the raw JSON.
#[derive(Clone)]
pub(crate) struct DbSecret {
    fields: Map<String, Value>,
    pub engine: Engine,
    pub host: String,
    pub port: u16,
    pub username: String,
    pub password: SecretString,
    pub dbname: String,
    pub tls: Tls,
    pub strategy: Strategy,
}

impl std::fmt::Debug for DbSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DbSecret")
            .field("engine", &self.engine)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("username", &self.username)
            .field("dbname", &self.dbname)
            .field("tls", &self.tls)
            .field("strategy", &self.strategy)
            .finish_non_exhaustive()
    }
}

impl DbSecret {
    /// Parses a secret value.
    ///
    /// # Errors
    /// A [`SecretError`] naming the first field that is missing or wrong.
    pub fn parse(value: &SecretString) -> Result<Self, SecretError> {
        Self::parse_located(value, None)
    }

    /// Parses a secret value, taking the engine, host and port from `located` where the secret
    /// has none (an RDS-managed secret).
    ///
    /// # Errors
    /// A [`SecretError`] naming the first field that is missing or wrong.
    pub(crate) fn parse_located(
        value: &SecretString,
        located: Option<&Located>,
    ) -> Result<Self, SecretError> {
        if value.len() > MAX_SECRET_BYTES {
            return Err(SecretError::TooLarge(value.len()));
        }
        // serde_json's syntax errors carry positions only; its type errors would quote values,
        // so fields are read by hand below.
        let fields: Map<String, Value> = match serde_json::from_str::<Value>(value.expose()) {
            Ok(Value::Object(map)) => map,
            _ => return Err(SecretError::NotJson),
        };
        let engine = match (fields.get("engine"), located) {
            (None | Some(Value::Null), Some(at)) => at.engine,
            (None | Some(Value::Null), None) => return Err(SecretError::Missing("engine")),
            (Some(Value::String(e)), _) => engine_named(e)?,
            (Some(_), _) => return Err(invalid("engine", "must be a string")),
        };
        let host = match (fields.get("host"), located) {
            (None | Some(Value::Null), Some(at)) => at.host.clone(),
            _ => required_string(&fields, "host")?,
        };
        if host.len() > 253 || !host.chars().all(|c| c.is_ascii_alphanumeric() || ".-:_[]".contains(c)) {
            return Err(invalid("host", "must be a host name or IP address"));
        }
        let port = match fields.get("port") {
            None | Some(Value::Null) => located.map_or(engine.default_port(), |at| at.port),
            Some(Value::Number(n)) => n
                .as_u64()
                .and_then(|p| u16::try_from(p).ok())
                .filter(|p| *p > 0)
                .ok_or_else(|| invalid("port", "must be a port number (1-65535)"))?,
            Some(Value::String(s)) => s
                .trim()
                .parse::<u16>()
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| invalid("port", "must be a port number (1-65535)"))?,
            Some(_) => return Err(invalid("port", "must be a number or a numeric string")),
        };
        let username = required_string(&fields, "username")?;
        if engine.name_len(&username) > engine.max_username() {
            return Err(invalid(
                "username",
                format!("is longer than {}'s limit of {}", engine.as_str(), engine.max_username()),
            ));
        }
        if username.contains('\0') {
            return Err(invalid("username", "contains a NUL character"));
        }
        let password = match fields.get("password") {
            Some(Value::String(p)) if !p.is_empty() => SecretString::new(p.clone()),
            Some(Value::String(_)) => return Err(invalid("password", "is empty")),
            None => return Err(SecretError::Missing("password")),
            Some(_) => return Err(invalid("password", "must be a string")),
        };
        if password.expose().contains('\0') {
            return Err(invalid("password", "contains a NUL character"));
        }
        let dbname = match fields.get("dbname") {
            None | Some(Value::Null) => engine.default_dbname().to_owned(),
            Some(Value::String(s)) if !s.is_empty() && !s.contains('\0') => s.clone(),
            Some(_) => return Err(invalid("dbname", "must be a non-empty string")),
        };
        let tls = match fields.get("ssl") {
            None | Some(Value::Null) => Tls::Verify,
            Some(Value::Bool(b)) => {
                if *b {
                    Tls::Verify
                } else {
                    Tls::Disabled
                }
            }
            Some(Value::String(s)) => match s.to_ascii_lowercase().as_str() {
                "true" => Tls::Verify,
                "false" => Tls::Disabled,
                _ => return Err(invalid("ssl", "must be true or false")),
            },
            Some(_) => return Err(invalid("ssl", "must be true or false")),
        };
        let strategy = match fields.get("masterarn") {
            None | Some(Value::Null) => Strategy::SingleUser,
            Some(Value::String(arn)) if arn.starts_with("arn:") && arn.contains(":secretsmanager:") => {
                Strategy::AlternatingUsers { master_arn: arn.clone() }
            }
            Some(_) => return Err(invalid("masterarn", "must be the ARN of a Secrets Manager secret")),
        };
        Ok(Self { fields, engine, host, port, username, password, dbname, tls, strategy })
    }

    /// This secret's JSON with another username and password; every other key and value type is kept.
    #[must_use]
    pub(crate) fn with_credentials(&self, username: &str, password: &SecretString) -> SecretString {
        let mut fields = self.fields.clone();
        fields.insert("username".into(), Value::String(username.to_owned()));
        fields.insert("password".into(), Value::String(password.expose().to_owned()));
        SecretString::new(Value::Object(fields).to_string())
    }

    /// The same secret with another password (an older version's, for the same user).
    #[must_use]
    pub(crate) fn with_password(&self, password: SecretString) -> Self {
        Self { password, ..self.clone() }
    }

    /// The user the next version belongs to: the same for single user; for alternating users the
    /// other of `name` and `name_clone`, within the engine's limit on names.
    ///
    /// # Errors
    /// When `name_clone` would be longer than the engine allows.
    pub(crate) fn pending_username(&self) -> Result<String, SecretError> {
        match self.strategy {
            Strategy::SingleUser => Ok(self.username.clone()),
            Strategy::AlternatingUsers { .. } => match self.username.strip_suffix(CLONE_SUFFIX) {
                Some(base) if !base.is_empty() => Ok(base.to_owned()),
                _ => {
                    let clone = format!("{}{CLONE_SUFFIX}", self.username);
                    if self.engine.name_len(&clone) > self.engine.max_username() {
                        return Err(invalid(
                            "username",
                            format!(
                                "leaves no room for the {CLONE_SUFFIX} suffix within {}'s limit of {}",
                                self.engine.as_str(),
                                self.engine.max_username()
                            ),
                        ));
                    }
                    Ok(clone)
                }
            },
        }
    }
}

/// The user and its clone, from either of the two names: `(app, app_clone)` for `app` and for
/// `app_clone`.
#[must_use]
pub(crate) fn alternating_pair(username: &str) -> (String, String) {
    match username.strip_suffix(CLONE_SUFFIX) {
        Some(base) if !base.is_empty() => (base.to_owned(), username.to_owned()),
        _ => (username.to_owned(), format!("{username}{CLONE_SUFFIX}")),
    }
}

/// Whether `value` is a non-database secret: a JSON object with `"engine": "generic"`, or
/// without `engine`, `host` and `password` (an API key, a token). Such secrets rotate by new
/// values for configured keys (`ROTATE_KEYS`). A secret with a password but no engine is taken
/// for database credentials that lack their engine, so that a missing field never turns a
/// database rotation into one that changes the secret but not the database.
#[must_use]
pub(crate) fn is_generic(value: &SecretString) -> bool {
    match serde_json::from_str::<Value>(value.expose()) {
        Ok(Value::Object(fields)) => match fields.get("engine") {
            None | Some(Value::Null) => !fields.contains_key("host") && !fields.contains_key("password"),
            Some(Value::String(e)) => e == "generic",
            Some(_) => false,
        },
        _ => false,
    }
}

/// A non-database secret with a new value, from `generate`, for each of `keys`; every other key
/// is kept. Each key must already be in the secret with a string value, so that a typo in
/// `ROTATE_KEYS` fails instead of adding a key nobody reads.
///
/// # Errors
/// When the value is not a JSON object, or a key is missing or not a string.
pub(crate) fn with_new_values(
    value: &SecretString,
    keys: &[String],
    mut generate: impl FnMut() -> SecretString,
) -> Result<SecretString, SecretError> {
    if value.len() > MAX_SECRET_BYTES {
        return Err(SecretError::TooLarge(value.len()));
    }
    let Ok(Value::Object(mut fields)) = serde_json::from_str::<Value>(value.expose()) else {
        return Err(SecretError::NotJson);
    };
    for key in keys {
        match fields.get(key) {
            Some(Value::String(_)) => {
                fields.insert(key.clone(), Value::String(generate().expose().to_owned()));
            }
            None => return Err(SecretError::MissingKey(key.clone())),
            Some(_) => return Err(SecretError::KeyNotString(key.clone())),
        }
    }
    Ok(SecretString::new(Value::Object(fields).to_string()))
}

fn required_string(fields: &Map<String, Value>, field: &'static str) -> Result<String, SecretError> {
    match fields.get(field) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.clone()),
        Some(Value::String(_)) => Err(invalid(field, "is empty")),
        None | Some(Value::Null) => Err(SecretError::Missing(field)),
        Some(_) => Err(invalid(field, "must be a string")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = r#"{"engine":"postgres","host":"db.example.internal","port":5432,"username":"app","password":"Secret-Pw-1","dbname":"shop","extra":{"keep":[1,2]},"ssl":true}"#;

    fn parse(json: &str) -> Result<DbSecret, SecretError> {
        DbSecret::parse(&SecretString::new(json))
    }

    fn with(key: &str, value: Value) -> String {
        let mut v: Value = serde_json::from_str(BASE).unwrap();
        v[key] = value;
        v.to_string()
    }

    fn without(key: &str) -> String {
        let mut v: Value = serde_json::from_str(BASE).unwrap();
        v.as_object_mut().unwrap().remove(key);
        v.to_string()
    }

    #[test]
    fn parses_an_rds_secret_and_keeps_unknown_keys() {
        let s = parse(BASE).unwrap();
        assert_eq!(
            (s.host.as_str(), s.port, s.username.as_str(), s.dbname.as_str()),
            ("db.example.internal", 5432, "app", "shop")
        );
        assert_eq!((s.tls, s.strategy.clone()), (Tls::Verify, Strategy::SingleUser));
        let next = s.with_credentials("app", &SecretString::new("new-pw"));
        let v: Value = serde_json::from_str(next.expose()).unwrap();
        assert_eq!(v["extra"], serde_json::json!({"keep": [1, 2]}));
        assert_eq!(v["port"], 5432, "the port stays a number");
        assert_eq!(v["password"], "new-pw");
        let string_port = parse(&with("port", "6432".into())).unwrap();
        assert_eq!(string_port.port, 6432);
        let v: Value =
            serde_json::from_str(string_port.with_credentials("app", &SecretString::new("x")).expose())
                .unwrap();
        assert_eq!(v["port"], "6432", "a string port stays a string");
    }

    #[test]
    fn generic_secrets_get_new_values_for_their_keys_only() {
        let value = SecretString::new(r#"{"api_key":"old-key","client_id":"c-1","limits":{"rpm":60}}"#);
        assert!(is_generic(&value));
        assert!(is_generic(&SecretString::new(r#"{"engine":"generic","token":"t"}"#)));
        assert!(!is_generic(&SecretString::new(BASE)));
        assert!(!is_generic(&SecretString::new("not json")));
        let mut n = 0;
        let next = with_new_values(&value, &["api_key".to_owned()], || {
            n += 1;
            SecretString::new(format!("new-{n}"))
        })
        .unwrap();
        let v: Value = serde_json::from_str(next.expose()).unwrap();
        assert_eq!(v, serde_json::json!({"api_key": "new-1", "client_id": "c-1", "limits": {"rpm": 60}}));
        let err = with_new_values(&value, &["apikey".to_owned()], || SecretString::new("x")).unwrap_err();
        assert_eq!(err, SecretError::MissingKey("apikey".into()));
        let err = with_new_values(&value, &["limits".to_owned()], || SecretString::new("x")).unwrap_err();
        assert_eq!(err, SecretError::KeyNotString("limits".into()));
        assert!(!err.to_string().contains("60"));
    }

    #[test]
    fn debug_never_shows_the_password() {
        let shown = format!("{:?}", parse(BASE).unwrap());
        assert!(!shown.contains("Secret-Pw-1"), "{shown}");
        assert!(shown.contains("db.example.internal"));
    }

    #[test]
    fn defaults_port_dbname_and_tls() {
        let s = parse(r#"{"engine":"postgres","host":"h","username":"u","password":"p"}"#).unwrap();
        assert_eq!((s.port, s.dbname.as_str(), s.tls), (5432, "postgres", Tls::Verify));
        assert_eq!(parse(&with("ssl", false.into())).unwrap().tls, Tls::Disabled);
        assert_eq!(parse(&with("ssl", "FALSE".into())).unwrap().tls, Tls::Disabled);
    }

    #[test]
    fn each_missing_field_is_named() {
        for field in ["engine", "host", "username", "password"] {
            let err = parse(&without(field)).unwrap_err();
            assert_eq!(
                err,
                SecretError::Missing(match field {
                    "engine" => "engine",
                    "host" => "host",
                    "username" => "username",
                    _ => "password",
                })
            );
        }
    }

    #[test]
    fn wrong_values_are_refused_without_repeating_them() {
        let cases = [
            with("port", 70000.into()),
            with("port", "54x".into()),
            with("port", true.into()),
            with("username", 12.into()),
            with("username", "x".repeat(64).into()),
            with("password", "".into()),
            with("ssl", "maybe".into()),
            with("host", "evil host; rm".into()),
            with("masterarn", "not-an-arn".into()),
            with("engine", "oracle-ee-with-secret".into()),
        ];
        for json in &cases {
            let err = parse(json).unwrap_err().to_string();
            for fragment in ["70000", "54x", "maybe", "evil", "not-an-arn", "Secret-Pw-1"] {
                assert!(!err.contains(fragment) || json.contains("oracle"), "{err}");
            }
        }
        assert!(matches!(
            parse(&with("engine", "sqlserver-ee".into())),
            Err(SecretError::UnsupportedEngine(_))
        ));
        let mysql = parse(r#"{"engine":"mariadb","host":"h","username":"u","password":"p"}"#).unwrap();
        assert_eq!((mysql.engine, mysql.port, mysql.dbname.as_str()), (Engine::MySql, 3306, ""));
        assert_eq!(parse("not json").unwrap_err(), SecretError::NotJson);
        assert_eq!(parse("[1]").unwrap_err(), SecretError::NotJson);
        assert!(matches!(parse(&"x".repeat(MAX_SECRET_BYTES + 1)), Err(SecretError::TooLarge(_))));
    }

    #[test]
    fn alternating_users_toggle_the_clone_suffix_within_the_limit() {
        let arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:master-AbCdEf";
        let s = parse(&with("masterarn", arn.into())).unwrap();
        assert_eq!(s.strategy, Strategy::AlternatingUsers { master_arn: arn.into() });
        assert_eq!(s.pending_username().unwrap(), "app_clone");
        let mut v: Value = serde_json::from_str(&with("masterarn", arn.into())).unwrap();
        v["username"] = "app_clone".into();
        assert_eq!(parse(&v.to_string()).unwrap().pending_username().unwrap(), "app");
        v["username"] = "u".repeat(58).into();
        assert!(parse(&v.to_string()).unwrap().pending_username().is_err(), "58 + 6 > 63");
        v["username"] = "u".repeat(57).into();
        assert_eq!(parse(&v.to_string()).unwrap().pending_username().unwrap().len(), 63);
        assert_eq!(parse(BASE).unwrap().pending_username().unwrap(), "app");
    }
}
