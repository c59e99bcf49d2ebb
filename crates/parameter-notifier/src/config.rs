//! The function's settings, from the environment.

use common::ConfigError;
use common::env::{self, Lookup};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The SNS topic notifications go to (`TOPIC_ARN`).
    pub topic_arn: String,
    /// Only parameters under `/<prefix>/` are handled (`PARAMETER_PREFIX`; all when unset).
    pub prefix: Option<String>,
    /// The path the hygiene audit covers (`AUDIT_PATH`, default `/<prefix>/`); `None`: no audit.
    pub audit_path: Option<String>,
    /// The parameter that keeps the last audit's digest (`AUDIT_STATE_PARAMETER`); `None`: every
    /// audit with findings notifies.
    pub audit_state: Option<String>,
}

impl Config {
    /// # Errors
    /// A [`ConfigError`] naming the variable.
    pub fn from_lookup(lookup: &impl Lookup) -> Result<Self, ConfigError> {
        let topic_arn = notification::topic_arn(lookup)?;
        let prefix = env::optional(lookup, "PARAMETER_PREFIX")
            .map(|p| p.trim_matches('/').to_owned())
            .filter(|p| !p.is_empty());
        let audit_path = match env::optional(lookup, "AUDIT_PATH") {
            Some(path) => Some(audit_path(&path).ok_or_else(|| {
                ConfigError::new("AUDIT_PATH", "must be a parameter path such as /my-app/ or /my-app/dev/")
            })?),
            None => prefix.as_ref().map(|p| format!("/{p}/")),
        };
        let audit_state = env::optional(lookup, "AUDIT_STATE_PARAMETER");
        if let (Some(state), Some(path)) = (&audit_state, &audit_path)
            && (!crate::event::is_parameter_name(state)
                || !state.starts_with('/')
                || state.starts_with(path.as_str()))
        {
            return Err(ConfigError::new(
                "AUDIT_STATE_PARAMETER",
                "must be a full parameter name outside the audited path (the stack owns it)",
            ));
        }
        Ok(Self { topic_arn, prefix, audit_path, audit_state })
    }

    /// # Errors
    /// A [`ConfigError`] naming the variable.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(&env::ProcessEnv)
    }

    /// The audited path and the state parameter, as the audit uses them.
    #[must_use]
    pub fn audit(&self) -> Option<(&str, Option<&str>)> {
        self.audit_path.as_deref().map(|p| (p, self.audit_state.as_deref()))
    }

    #[must_use]
    pub fn covers(&self, name: &str) -> bool {
        self.prefix.as_ref().is_none_or(|p| {
            name.strip_prefix('/')
                .and_then(|rest| rest.strip_prefix(p.as_str()))
                .is_some_and(|rest| rest.starts_with('/'))
        })
    }
}

/// `path` as the audit lists it: `/a/b/`, of Parameter Store's characters, never `/` or `/aws/`.
fn audit_path(path: &str) -> Option<String> {
    let trimmed = path.trim().trim_matches('/');
    let ok = !trimmed.is_empty()
        && crate::event::is_parameter_name(trimmed)
        && !trimmed.split('/').any(|s| s.is_empty() || s == "." || s == "..")
        && !trimmed.to_ascii_lowercase().starts_with("aws");
    ok.then(|| format!("/{trimmed}/"))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn the_audit_covers_its_path_and_keeps_its_state_outside_it() {
        let topic = ("TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:alerts");
        let c = Config::from_lookup(&HashMap::from([topic, ("PARAMETER_PREFIX", "/my-app")])).unwrap();
        assert_eq!(c.audit(), Some(("/my-app/", None)));
        let c = Config::from_lookup(&HashMap::from([
            topic,
            ("AUDIT_PATH", "/my-app/dev"),
            ("AUDIT_STATE_PARAMETER", "/config-keeper/my-app/dev/parameter-audit"),
        ]))
        .unwrap();
        assert_eq!(c.audit(), Some(("/my-app/dev/", Some("/config-keeper/my-app/dev/parameter-audit"))));
        assert!(Config::from_lookup(&HashMap::from([topic])).unwrap().audit().is_none());
        for (key, bad) in [
            ("AUDIT_PATH", "/"),
            ("AUDIT_PATH", "/aws/service/"),
            ("AUDIT_PATH", "/a/../b"),
            ("AUDIT_PATH", "/a b/"),
            ("AUDIT_STATE_PARAMETER", "/my-app/dev/state"),
            ("AUDIT_STATE_PARAMETER", "state"),
        ] {
            let err =
                Config::from_lookup(&HashMap::from([topic, ("AUDIT_PATH", "/my-app/dev/"), (key, bad)]))
                    .unwrap_err();
            assert_eq!(err.key, key, "{bad}");
        }
    }
}
