//! The rotation function's configuration, read once at cold start from its environment: the
//! password policy, the database connections' settings, and what it may rotate and how.

use common::env::{ConfigError, Lookup, ProcessEnv};

use crate::dbconfig::DbConfig;
use crate::password::PasswordPolicy;
use crate::settings::Settings;

/// Everything the function reads from its environment.
#[derive(Debug, Clone)]
pub struct Config {
    /// `PASSWORD_LENGTH`, `EXCLUDE_*`, `REQUIRE_EACH_INCLUDED_TYPE`.
    pub policy: PasswordPolicy,
    /// `DB_*`: certificate authorities and time-outs.
    pub db: DbConfig,
    /// `ALLOWED_SECRETS`, `ALLOWED_MASTER_SECRETS`, `ROTATE_KEYS`, `TEST_QUERY`.
    pub settings: Settings,
}

impl Config {
    /// # Errors
    /// The first variable that is invalid, by name.
    pub fn from_lookup(lookup: &impl Lookup) -> Result<Self, ConfigError> {
        Ok(Self {
            policy: PasswordPolicy::from_lookup(lookup)?,
            db: DbConfig::from_lookup(lookup)?,
            settings: Settings::from_lookup(lookup)?,
        })
    }

    /// # Errors
    /// The first variable that is invalid, by name.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(&ProcessEnv)
    }
}
