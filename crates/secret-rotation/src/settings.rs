//! What the function may do, read once at cold start: the secrets it may rotate and the master
//! secrets it may act as (`ALLOWED_SECRETS`, `ALLOWED_MASTER_SECRETS`), the keys of non-database
//! secrets it rotates (`ROTATE_KEYS`) and the read-only statement testSecret runs (`TEST_QUERY`).

use common::env::{self, ConfigError, Lookup};

/// The most a `TEST_QUERY` may hold: one statement, not a script.
pub(crate) const MAX_TEST_QUERY: usize = 4096;

/// The secrets an allow-list admits, by ARN or by name. `None` as a list means "not set": any
/// secret is admitted (IAM still decides).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowList {
    entries: Vec<String>,
}

impl AllowList {
    /// Reads a comma-separated list of secret ARNs or names; `none` admits nothing. Unset or
    /// empty: `None`.
    ///
    /// # Errors
    /// When an entry is neither a Secrets Manager ARN nor a plausible secret name.
    pub fn from_lookup(lookup: &impl Lookup, key: &str) -> Result<Option<Self>, ConfigError> {
        let Some(raw) = env::optional(lookup, key) else { return Ok(None) };
        if raw.trim().eq_ignore_ascii_case("none") {
            return Ok(Some(Self::default()));
        }
        let entries = env::list_or(lookup, key, &[]);
        for entry in &entries {
            let valid = if entry.starts_with("arn:") {
                secret_name(entry).is_some()
            } else {
                entry.len() <= 512
                    && entry.chars().all(|c| c.is_ascii_alphanumeric() || "/_+=.@-".contains(c))
            };
            if !valid {
                return Err(ConfigError::new(
                    key,
                    "each entry must be a Secrets Manager secret ARN or name (or `none`)",
                ));
            }
        }
        Ok(Some(Self { entries }))
    }

    #[cfg(test)]
    pub(crate) fn new(entries: &[&str]) -> Self {
        Self { entries: entries.iter().map(|e| (*e).to_owned()).collect() }
    }

    /// Whether the secret `id` (an ARN, or a name) is on the list, by its ARN or by its name.
    #[must_use]
    pub(crate) fn admits(&self, id: &str) -> bool {
        let name = if id.starts_with("arn:") { secret_name(id) } else { Some(id) };
        self.entries.iter().any(|entry| entry == id || name.is_some_and(|n| entry == n))
    }
}

/// The name in a secret's ARN: `arn:<partition>:secretsmanager:<region>:<account>:secret:<name>-<6 characters>`.
#[must_use]
pub(crate) fn secret_name(arn: &str) -> Option<&str> {
    let mut parts = arn.splitn(7, ':');
    let (Some("arn"), Some(_), Some("secretsmanager"), Some(_), Some(_), Some("secret"), Some(rest)) =
        (parts.next(), parts.next(), parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let (name, suffix) = rest.rsplit_once('-')?;
    (!name.is_empty() && suffix.len() == 6 && suffix.chars().all(|c| c.is_ascii_alphanumeric()))
        .then_some(name)
}

/// The rotation function's settings beyond the password policy and the database connections.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    /// `ALLOWED_SECRETS`: the secrets this function may rotate.
    pub allowed_secrets: Option<AllowList>,
    /// `ALLOWED_MASTER_SECRETS`: the master secrets it may log in with (alternating users).
    pub allowed_masters: Option<AllowList>,
    /// `ROTATE_KEYS`: the keys of non-database secrets that get new values.
    pub rotate_keys: Vec<String>,
    /// `TEST_QUERY`: a read-only statement testSecret runs as the pending user.
    pub test_query: Option<String>,
}

impl Settings {
    /// Reads `ALLOWED_SECRETS`, `ALLOWED_MASTER_SECRETS`, `ROTATE_KEYS` and `TEST_QUERY`.
    ///
    /// # Errors
    /// When an allow-list entry is not a secret ARN or name, or `TEST_QUERY` is too long or holds
    /// a NUL character.
    pub fn from_lookup(lookup: &impl Lookup) -> Result<Self, ConfigError> {
        let test_query =
            env::optional(lookup, "TEST_QUERY").map(|q| q.trim().trim_end_matches(';').trim().to_owned());
        if let Some(query) = &test_query
            && (query.is_empty() || query.len() > MAX_TEST_QUERY || query.contains('\0'))
        {
            return Err(ConfigError::new(
                "TEST_QUERY",
                format!("must be one read-only statement of at most {MAX_TEST_QUERY} bytes"),
            ));
        }
        Ok(Self {
            allowed_secrets: AllowList::from_lookup(lookup, "ALLOWED_SECRETS")?,
            allowed_masters: AllowList::from_lookup(lookup, "ALLOWED_MASTER_SECRETS")?,
            rotate_keys: env::list_or(lookup, "ROTATE_KEYS", &[]),
            test_query,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    const ARN: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:my-app/dev/db-credentials-AbCdEf";

    #[test]
    fn names_come_out_of_arns() {
        assert_eq!(secret_name(ARN), Some("my-app/dev/db-credentials"));
        assert_eq!(secret_name("arn:aws:secretsmanager:us-east-1:1:secret:a-b-c-XyZ123"), Some("a-b-c"));
        assert_eq!(secret_name("arn:aws:rds:us-east-1:1:db:x-AbCdEf"), None);
        assert_eq!(secret_name("arn:aws:secretsmanager:us-east-1:1:secret:noSuffix"), None);
    }

    #[test]
    fn allow_lists_admit_by_arn_or_name_and_nothing_else() {
        let by_name = AllowList::new(&["my-app/dev/db-credentials"]);
        assert!(by_name.admits(ARN));
        assert!(by_name.admits("my-app/dev/db-credentials"));
        assert!(!by_name.admits("my-app/prod/db-credentials"));
        assert!(!by_name.admits(&ARN.replace("dev", "prod")));
        let by_arn = AllowList::new(&[ARN]);
        assert!(by_arn.admits(ARN));
        assert!(
            !by_arn.admits(&ARN.replace("AbCdEf", "ZzZzZz")),
            "a deleted and re-created secret has another ARN"
        );
        assert!(!AllowList::default().admits(ARN));
    }

    #[test]
    fn settings_read_their_variables() {
        let env: HashMap<String, String> = [
            ("ALLOWED_SECRETS", format!("{ARN}, other-secret")),
            ("ALLOWED_MASTER_SECRETS", "none".to_owned()),
            ("ROTATE_KEYS", "api_key".to_owned()),
            ("TEST_QUERY", " SELECT 1 FROM orders LIMIT 1; ".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let s = Settings::from_lookup(&env).unwrap();
        assert!(s.allowed_secrets.as_ref().unwrap().admits("other-secret"));
        assert_eq!(s.allowed_masters, Some(AllowList::default()), "`none` admits no master");
        assert_eq!(s.test_query.as_deref(), Some("SELECT 1 FROM orders LIMIT 1"));
        assert_eq!(Settings::from_lookup(&HashMap::<&str, &str>::new()).unwrap(), Settings::default());
        for (key, bad) in
            [("ALLOWED_SECRETS", "arn:aws:s3:::bucket"), ("ALLOWED_SECRETS", "a b"), ("TEST_QUERY", ";")]
        {
            let err = Settings::from_lookup(&HashMap::from([(key, bad)])).unwrap_err();
            assert!(err.to_string().contains(key), "{err}");
        }
    }
}
