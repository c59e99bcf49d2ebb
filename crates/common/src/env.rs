//! Typed configuration from environment variables.
//!
//! Configuration structs implement `from_lookup(lookup)`, where `lookup` answers "what is the value
//! of this variable"; `from_env` passes [`std::env::var`]. Tests pass a map and never touch the
//! process environment.

use std::collections::HashMap;
use std::fmt::Display;
use std::str::FromStr;

/// Where configuration values come from.
pub trait Lookup {
    fn get(&self, key: &str) -> Option<String>;
}

impl<F> Lookup for F
where
    F: Fn(&str) -> Option<String>,
{
    fn get(&self, key: &str) -> Option<String> {
        self(key)
    }
}

impl<H: std::hash::BuildHasher> Lookup for HashMap<String, String, H> {
    fn get(&self, key: &str) -> Option<String> {
        HashMap::get(self, key).cloned()
    }
}

impl<H: std::hash::BuildHasher> Lookup for HashMap<&str, &str, H> {
    fn get(&self, key: &str) -> Option<String> {
        HashMap::get(self, key).map(|v| (*v).to_owned())
    }
}

/// The process environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnv;

impl Lookup for ProcessEnv {
    fn get(&self, key: &str) -> Option<String> {
        std::env::var(key).ok()
    }
}

/// A variable that is missing or does not parse. The message names the variable and what it
/// accepts; it repeats the offending value, so never use it for secret variables.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid configuration: {key}: {reason}")]
pub struct ConfigError {
    pub key: String,
    pub reason: String,
}

impl ConfigError {
    pub fn new(key: impl Into<String>, reason: impl Into<String>) -> Self {
        Self { key: key.into(), reason: reason.into() }
    }
}

/// The value of `key`, trimmed; `None` when unset or blank.
pub fn optional(lookup: &impl Lookup, key: &str) -> Option<String> {
    lookup.get(key).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// The value of `key`, or an error saying it must be set.
///
/// # Errors
/// When the variable is unset or blank.
pub fn required(lookup: &impl Lookup, key: &str) -> Result<String, ConfigError> {
    optional(lookup, key).ok_or_else(|| ConfigError::new(key, "must be set"))
}

/// `key` parsed as `T`, or `default` when unset.
///
/// # Errors
/// When the value does not parse.
pub fn parsed_or<T>(lookup: &impl Lookup, key: &str, default: T) -> Result<T, ConfigError>
where
    T: FromStr,
    T::Err: Display,
{
    match optional(lookup, key) {
        None => Ok(default),
        Some(raw) => raw.parse().map_err(|e| ConfigError::new(key, format!("{raw:?} does not parse: {e}"))),
    }
}

/// An integer in `min..=max`, or `default` when unset.
///
/// # Errors
/// When the value is not an integer or lies outside the range.
pub fn ranged_or(
    lookup: &impl Lookup,
    key: &str,
    default: u64,
    min: u64,
    max: u64,
) -> Result<u64, ConfigError> {
    let value = parsed_or(lookup, key, default)?;
    if (min..=max).contains(&value) {
        Ok(value)
    } else {
        Err(ConfigError::new(key, format!("{value} is outside {min}..={max}")))
    }
}

/// A boolean flag: `true`/`false`, `1`/`0`, `yes`/`no` (any case), or `default` when unset.
///
/// # Errors
/// On any other value: a typo must not silently mean "off".
pub fn flag_or(lookup: &impl Lookup, key: &str, default: bool) -> Result<bool, ConfigError> {
    match optional(lookup, key).map(|v| v.to_ascii_lowercase()) {
        None => Ok(default),
        Some(v) => match v.as_str() {
            "true" | "1" | "yes" | "on" => Ok(true),
            "false" | "0" | "no" | "off" => Ok(false),
            _ => Err(ConfigError::new(key, format!("{v:?} is not a boolean (true/false)"))),
        },
    }
}

/// A comma-separated list, items trimmed and blanks dropped; `default` when unset.
pub fn list_or(lookup: &impl Lookup, key: &str, default: &[&str]) -> Vec<String> {
    match optional(lookup, key) {
        None => default.iter().map(|s| (*s).to_owned()).collect(),
        Some(raw) => raw.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&'static str, &'static str)]) -> HashMap<&'static str, &'static str> {
        pairs.iter().copied().collect()
    }

    #[test]
    fn required_rejects_unset_and_blank() {
        let env = map(&[("A", "  x "), ("B", "  ")]);
        assert_eq!(required(&env, "A").unwrap(), "x");
        assert_eq!(required(&env, "B").unwrap_err().key, "B");
        assert_eq!(required(&env, "C").unwrap_err().to_string(), "invalid configuration: C: must be set");
    }

    #[test]
    fn ranged_checks_bounds_and_syntax() {
        let env = map(&[("N", "301"), ("BAD", "ten"), ("OK", "7")]);
        assert!(ranged_or(&env, "N", 1, 0, 300).unwrap_err().reason.contains("outside"));
        assert!(ranged_or(&env, "BAD", 1, 0, 300).unwrap_err().reason.contains("does not parse"));
        assert_eq!(ranged_or(&env, "OK", 1, 0, 300).unwrap(), 7);
        assert_eq!(ranged_or(&env, "UNSET", 5, 0, 300).unwrap(), 5);
    }

    #[test]
    fn flags_accept_only_clear_values() {
        let env = map(&[("T", "TRUE"), ("F", "0"), ("X", "ture")]);
        assert!(flag_or(&env, "T", false).unwrap());
        assert!(!flag_or(&env, "F", true).unwrap());
        assert!(flag_or(&env, "X", false).is_err());
        assert!(flag_or(&env, "UNSET", true).unwrap());
    }

    #[test]
    fn lists_split_on_commas() {
        let env = map(&[("L", " a, ,b ,c")]);
        assert_eq!(list_or(&env, "L", &[]), ["a", "b", "c"]);
        assert_eq!(list_or(&env, "UNSET", &["d"]), ["d"]);
    }
}
