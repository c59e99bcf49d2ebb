//! The function's settings, from the environment.

use common::ConfigError;
use common::env::{self, Lookup};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The SNS topic notifications go to (`TOPIC_ARN`).
    pub topic_arn: String,
    /// Only parameters under `/<prefix>/` are handled (`PARAMETER_PREFIX`; all when unset).
    pub prefix: Option<String>,
}

impl Config {
    /// # Errors
    /// A [`ConfigError`] naming the variable.
    pub fn from_lookup(lookup: &impl Lookup) -> Result<Self, ConfigError> {
        let topic_arn = notification::topic_arn(lookup)?;
        let prefix = env::optional(lookup, "PARAMETER_PREFIX")
            .map(|p| p.trim_matches('/').to_owned())
            .filter(|p| !p.is_empty());
        Ok(Self { topic_arn, prefix })
    }

    /// # Errors
    /// A [`ConfigError`] naming the variable.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(&env::ProcessEnv)
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
