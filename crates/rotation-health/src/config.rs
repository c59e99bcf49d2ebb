//! The function's settings, from the environment.

use common::ConfigError;
use common::env::{self, Lookup};

use crate::model::SecretRef;

pub const SCHEDULED_RULE_DEFAULT: &str = "secretsmanager-scheduled-rotation-success-check";
pub const PERIODIC_RULE_DEFAULT: &str = "secretsmanager-secret-periodic-rotation";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The SNS topic notifications go to (`TOPIC_ARN`).
    pub topic_arn: String,
    /// The stack's secrets (`SECRETS`, ARNs or names, comma-separated).
    pub secrets: Vec<SecretRef>,
    /// A `StringList` parameter naming more secrets (`SECRETS_PARAMETER`, optional).
    pub secrets_parameter: Option<String>,
    /// The rotation function whose doctor the sweep asks (`DOCTOR_FUNCTION`, a name or ARN).
    pub doctor_function: String,
    /// Where states are kept (`STATE_PATH`, a Parameter Store path such as
    /// `/config-keeper/my-app-dev/rotation-health`).
    pub state_path: String,
    /// The Config rule names (`SCHEDULED_ROTATION_RULE`, `PERIODIC_ROTATION_RULE`): conformance
    /// packs and Security Hub prefix them.
    pub scheduled_rule: String,
    pub periodic_rule: String,
}

fn parameter_path(lookup: &impl Lookup, key: &str) -> Result<String, ConfigError> {
    let path = env::required(lookup, key)?;
    let valid = path.starts_with('/')
        && !path.ends_with('/')
        && !path.contains("//")
        && path.bytes().all(|b| b.is_ascii_alphanumeric() || b"/_.-".contains(&b));
    let reserved = path[1..].to_ascii_lowercase().starts_with("aws")
        || path[1..].to_ascii_lowercase().starts_with("ssm");
    if !valid || reserved {
        return Err(ConfigError::new(
            key,
            "must be a Parameter Store path: /a/b, of a-z A-Z 0-9 _ . - and /, not starting with /aws or /ssm",
        ));
    }
    Ok(path)
}

impl Config {
    /// # Errors
    /// A [`ConfigError`] naming the variable.
    pub fn from_lookup(lookup: &impl Lookup) -> Result<Self, ConfigError> {
        let secrets = env::list_or(lookup, "SECRETS", &[]).iter().map(|s| SecretRef::new(s)).collect();
        let secrets_parameter = match env::optional(lookup, "SECRETS_PARAMETER") {
            None => None,
            Some(_) => Some(parameter_path(lookup, "SECRETS_PARAMETER")?),
        };
        let doctor_function = env::required(lookup, "DOCTOR_FUNCTION")?;
        if doctor_function.contains(char::is_whitespace) {
            return Err(ConfigError::new("DOCTOR_FUNCTION", "must be a function name or ARN"));
        }
        Ok(Self {
            topic_arn: notification::topic_arn(lookup)?,
            secrets,
            secrets_parameter,
            doctor_function,
            state_path: parameter_path(lookup, "STATE_PATH")?,
            scheduled_rule: env::optional(lookup, "SCHEDULED_ROTATION_RULE")
                .unwrap_or_else(|| SCHEDULED_RULE_DEFAULT.to_owned()),
            periodic_rule: env::optional(lookup, "PERIODIC_ROTATION_RULE")
                .unwrap_or_else(|| PERIODIC_RULE_DEFAULT.to_owned()),
        })
    }

    /// # Errors
    /// A [`ConfigError`] naming the variable.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(&env::ProcessEnv)
    }

    /// Where the sweep keeps `secret`'s health.
    #[must_use]
    pub fn sweep_state(&self, secret: &SecretRef) -> String {
        format!("{}/sweep/{}", self.state_path, secret.key())
    }

    /// Where the open alert of `secret`'s rotation events is kept.
    #[must_use]
    pub fn event_state(&self, secret: &SecretRef) -> String {
        format!("{}/events/{}", self.state_path, secret.key())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::HashMap;

    use super::*;

    pub(crate) const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:alerts";

    pub(crate) fn env(extra: &[(&'static str, &'static str)]) -> HashMap<&'static str, &'static str> {
        let mut env = HashMap::from([
            ("TOPIC_ARN", TOPIC),
            (
                "SECRETS",
                "arn:aws:secretsmanager:us-east-1:123456789012:secret:my-app/dev/db-credentials-AbC123",
            ),
            ("DOCTOR_FUNCTION", "my-app-dev-secret-rotation"),
            ("STATE_PATH", "/config-keeper/my-app-dev/rotation-health"),
        ]);
        env.extend(extra.iter().copied());
        env
    }

    #[test]
    fn reads_the_settings_with_their_defaults() {
        let c = Config::from_lookup(&env(&[])).unwrap();
        assert_eq!(c.secrets[0].name, "my-app/dev/db-credentials");
        assert_eq!(
            (c.scheduled_rule.as_str(), c.periodic_rule.as_str()),
            (SCHEDULED_RULE_DEFAULT, PERIODIC_RULE_DEFAULT)
        );
        assert_eq!(
            c.sweep_state(&c.secrets[0]),
            "/config-keeper/my-app-dev/rotation-health/sweep/my-app_2Fdev_2Fdb-credentials"
        );
        assert_eq!(c.secrets_parameter, None);
        let c = Config::from_lookup(&env(&[
            ("SECRETS_PARAMETER", "/ops/rotation-health-secrets"),
            ("SECRETS", ""),
        ]))
        .unwrap();
        assert_eq!(
            (c.secrets_parameter.as_deref(), c.secrets.len()),
            (Some("/ops/rotation-health-secrets"), 0)
        );
    }

    #[test]
    fn refuses_what_would_fail_later() {
        for (key, bad) in [
            ("STATE_PATH", "config-keeper/x"),
            ("STATE_PATH", "/aws-config-keeper/x"),
            ("STATE_PATH", "/x/"),
            ("STATE_PATH", "/x y"),
            ("SECRETS_PARAMETER", "ops list"),
            ("DOCTOR_FUNCTION", "a b"),
            ("DOCTOR_FUNCTION", ""),
            ("TOPIC_ARN", "alerts"),
        ] {
            let err = Config::from_lookup(&env(&[(key, bad)])).unwrap_err();
            assert_eq!(err.key, key, "{bad}");
        }
    }
}
