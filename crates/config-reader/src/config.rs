//! The function's configuration, read once at cold start.

use std::time::Duration;

use common::env::{self, ConfigError, Lookup};

use crate::name::{Environment, NameError, ParameterRef, SECRETS_MANAGER_REFERENCE, Scope};

/// How the function reads when an invocation does not say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ReadMode {
    /// The configured names, with one `GetParameters` call per 10 names.
    Names,
    /// The whole `/<prefix>/<env>/` tree, with `GetParametersByPath`.
    Path,
}

impl ReadMode {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Names => "names",
            Self::Path => "path",
        }
    }
}

impl std::str::FromStr for ReadMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "names" => Ok(Self::Names),
            "path" => Ok(Self::Path),
            other => Err(format!("{other:?} is not a read mode: expected \"names\" or \"path\"")),
        }
    }
}

pub const DEFAULT_PREFIX: &str = "/my-app";
pub const DEFAULT_NAMES: &[&str] = &["db-url", "db-password"];
pub const DEFAULT_CACHE_TTL_SECONDS: u64 = 300;
/// How often one set of names may be read with `refresh: true` (seconds).
pub const DEFAULT_REFRESH_INTERVAL_SECONDS: u64 = 10;
/// Most names one invocation may ask for.
pub const MAX_NAMES_PER_REQUEST: usize = 100;

#[derive(Debug, Clone)]
pub struct Config {
    pub scope: Scope,
    /// The names read when an invocation names none.
    pub names: Vec<ParameterRef>,
    pub mode: ReadMode,
    pub cache_ttl: Duration,
    /// Whether responses carry SecureString values. Off unless the deployment turns it on.
    pub expose_secure_values: bool,
    /// Whether a request may ask for `mode: path` when the deployment reads names.
    pub allow_path_requests: bool,
    /// A `refresh: true` of the same names within this interval is served from the cache.
    pub refresh_interval: Duration,
}

impl Config {
    /// Reads the configuration from the process environment.
    ///
    /// # Errors
    /// See [`Config::from_lookup`].
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(&env::ProcessEnv)
    }

    /// Reads and validates:
    /// - `DEV_OR_PROD` (required): `dev` or `prod`, nothing else;
    /// - `PARAMETER_PREFIX` (default `/my-app`);
    /// - `PARAMETER_NAMES` (default `db-url,db-password`): relative or full names inside the
    ///   environment, with optional `:version` / `:label`, or Secrets Manager references;
    /// - `READ_MODE` (`names` or `path`, default `names`);
    /// - `CACHE_TTL_SECONDS` (0 to 86400, default 300; 0 disables the cache);
    /// - `EXPOSE_SECURE_VALUES` (default false);
    /// - `PUBLIC_PARAMETERS` (default none): `/aws/service/...` public parameters read with the
    ///   names (and the only ones a request may name);
    /// - `ALLOW_PATH_REQUESTS` (default false): whether a request may widen `names` to `path`;
    /// - `REFRESH_INTERVAL_SECONDS` (0 to 3600, default 10): how often one set of names may
    ///   bypass the cache.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the first variable that is missing or invalid.
    pub fn from_lookup(lookup: &impl Lookup) -> Result<Self, ConfigError> {
        let environment: Environment = env::required(lookup, "DEV_OR_PROD")?
            .parse()
            .map_err(|reason: String| ConfigError::new("DEV_OR_PROD", reason))?;
        let prefix = env::optional(lookup, "PARAMETER_PREFIX").unwrap_or_else(|| DEFAULT_PREFIX.to_owned());
        let raw_names = env::list_or(lookup, "PARAMETER_NAMES", DEFAULT_NAMES);
        let references: Vec<String> = raw_names
            .iter()
            .filter(|n| n.starts_with(SECRETS_MANAGER_REFERENCE))
            .map(|n| n.split_once(':').map_or(n.as_str(), |(path, _)| path).to_owned())
            .collect();
        let public = env::list_or(lookup, "PUBLIC_PARAMETERS", &[]);
        let scope = Scope::new(&prefix, environment)
            .map_err(|e| ConfigError::new("PARAMETER_PREFIX", e.to_string()))?
            .with_allowed_references(references)
            .with_public_parameters(&public)
            .map_err(|e| ConfigError::new("PUBLIC_PARAMETERS", e.to_string()))?;
        let mut names = Vec::with_capacity(raw_names.len() + public.len());
        for raw in raw_names.iter().chain(&public) {
            let resolved = scope
                .resolve(raw)
                .map_err(|e: NameError| ConfigError::new("PARAMETER_NAMES", e.to_string()))?;
            if !names.contains(&resolved) {
                names.push(resolved);
            }
        }
        if names.len() > MAX_NAMES_PER_REQUEST {
            return Err(ConfigError::new(
                "PARAMETER_NAMES",
                format!("{} names, at most {MAX_NAMES_PER_REQUEST}", names.len()),
            ));
        }
        let mode = env::parsed_or(lookup, "READ_MODE", ReadMode::Names)?;
        if mode == ReadMode::Names && names.is_empty() {
            return Err(ConfigError::new(
                "PARAMETER_NAMES",
                "names no parameter; set names or READ_MODE=path",
            ));
        }
        let cache_ttl = Duration::from_secs(env::ranged_or(
            lookup,
            "CACHE_TTL_SECONDS",
            DEFAULT_CACHE_TTL_SECONDS,
            0,
            86_400,
        )?);
        let expose_secure_values = env::flag_or(lookup, "EXPOSE_SECURE_VALUES", false)?;
        let allow_path_requests = env::flag_or(lookup, "ALLOW_PATH_REQUESTS", false)?;
        let refresh_interval = Duration::from_secs(env::ranged_or(
            lookup,
            "REFRESH_INTERVAL_SECONDS",
            DEFAULT_REFRESH_INTERVAL_SECONDS,
            0,
            3600,
        )?);
        Ok(Self {
            scope,
            names,
            mode,
            cache_ttl,
            expose_secure_values,
            allow_path_requests,
            refresh_interval,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<&str, &str> = pairs.iter().copied().collect();
        Config::from_lookup(&map)
    }

    #[test]
    fn defaults_for_dev() {
        let c = config(&[("DEV_OR_PROD", "dev")]).unwrap();
        assert_eq!(c.scope.root(), "/my-app/dev/");
        let names: Vec<_> = c.names.iter().map(ParameterRef::request_name).collect();
        assert_eq!(names, ["/my-app/dev/db-url", "/my-app/dev/db-password"]);
        assert_eq!(c.mode, ReadMode::Names);
        assert_eq!(c.cache_ttl, Duration::from_mins(5));
        assert!(!c.expose_secure_values);
    }

    #[test]
    fn environment_is_required_and_strict() {
        assert_eq!(config(&[]).unwrap_err().key, "DEV_OR_PROD");
        for bad in ["staging", "Prod", "production", "DEV"] {
            let err = config(&[("DEV_OR_PROD", bad)]).unwrap_err();
            assert_eq!(err.key, "DEV_OR_PROD", "{bad}");
            assert!(err.reason.contains("expected \"dev\" or \"prod\""), "{err}");
        }
    }

    #[test]
    fn custom_prefix_names_and_mode() {
        let c = config(&[
            ("DEV_OR_PROD", "prod"),
            ("PARAMETER_PREFIX", "/shop/"),
            ("PARAMETER_NAMES", "api-key, db-url:3, /aws/reference/secretsmanager/shared-db, api-key"),
            ("READ_MODE", "path"),
            ("CACHE_TTL_SECONDS", "0"),
            ("EXPOSE_SECURE_VALUES", "true"),
        ])
        .unwrap();
        let names: Vec<_> = c.names.iter().map(ParameterRef::request_name).collect();
        assert_eq!(
            names,
            ["/shop/prod/api-key", "/shop/prod/db-url:3", "/aws/reference/secretsmanager/shared-db"]
        );
        assert_eq!(c.mode, ReadMode::Path);
        assert_eq!(c.cache_ttl, Duration::ZERO);
        assert!(c.expose_secure_values);
    }

    #[test]
    fn configured_names_outside_the_environment_fail_the_cold_start() {
        let err = config(&[("DEV_OR_PROD", "dev"), ("PARAMETER_NAMES", "/my-app/prod/db-url")]).unwrap_err();
        assert_eq!(err.key, "PARAMETER_NAMES");
        assert!(err.reason.contains("outside"), "{err}");
        assert_eq!(
            config(&[("DEV_OR_PROD", "dev"), ("PARAMETER_NAMES", "../prod/x")]).unwrap_err().key,
            "PARAMETER_NAMES"
        );
        assert_eq!(
            config(&[("DEV_OR_PROD", "dev"), ("PARAMETER_PREFIX", "/aws")]).unwrap_err().key,
            "PARAMETER_PREFIX"
        );
    }

    #[test]
    fn public_parameters_are_read_with_the_names() {
        let ami = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64";
        let c = config(&[("DEV_OR_PROD", "dev"), ("PUBLIC_PARAMETERS", ami)]).unwrap();
        let names: Vec<_> = c.names.iter().map(ParameterRef::request_name).collect();
        assert_eq!(names, ["/my-app/dev/db-url", "/my-app/dev/db-password", ami]);
        for bad in ["/my-app/prod/db-url", "ami-id", "/aws/reference/secretsmanager/x"] {
            let err = config(&[("DEV_OR_PROD", "dev"), ("PUBLIC_PARAMETERS", bad)]).unwrap_err();
            assert_eq!(err.key, "PUBLIC_PARAMETERS", "{bad}");
        }
        let c = config(&[("DEV_OR_PROD", "dev")]).unwrap();
        assert!(!c.allow_path_requests);
        assert_eq!(c.refresh_interval, Duration::from_secs(10));
        assert_eq!(
            config(&[("DEV_OR_PROD", "dev"), ("REFRESH_INTERVAL_SECONDS", "3601")]).unwrap_err().key,
            "REFRESH_INTERVAL_SECONDS"
        );
    }

    #[test]
    fn bad_values_name_their_variable() {
        assert_eq!(config(&[("DEV_OR_PROD", "dev"), ("READ_MODE", "all")]).unwrap_err().key, "READ_MODE");
        assert_eq!(
            config(&[("DEV_OR_PROD", "dev"), ("CACHE_TTL_SECONDS", "-1")]).unwrap_err().key,
            "CACHE_TTL_SECONDS"
        );
        assert_eq!(
            config(&[("DEV_OR_PROD", "dev"), ("CACHE_TTL_SECONDS", "90000")]).unwrap_err().key,
            "CACHE_TTL_SECONDS"
        );
        assert_eq!(
            config(&[("DEV_OR_PROD", "dev"), ("EXPOSE_SECURE_VALUES", "maybe")]).unwrap_err().key,
            "EXPOSE_SECURE_VALUES"
        );
        assert_eq!(
            config(&[("DEV_OR_PROD", "dev"), ("PARAMETER_NAMES", " , ")]).unwrap_err().key,
            "PARAMETER_NAMES"
        );
        assert!(config(&[("DEV_OR_PROD", "dev"), ("PARAMETER_NAMES", " , "), ("READ_MODE", "path")]).is_ok());
    }
}
