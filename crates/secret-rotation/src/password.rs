//! New passwords from a CSPRNG, under the same policy variables as AWS's rotation functions.

use common::SecretString;
use common::env::{self, ConfigError, Lookup};
use rand::seq::{IndexedRandom, SliceRandom};

const LOWERCASE: &str = "abcdefghijklmnopqrstuvwxyz";
const UPPERCASE: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const NUMBERS: &str = "0123456789";
/// The punctuation Secrets Manager's `GetRandomPassword` draws from.
const PUNCTUATION: &str = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

pub(crate) const DEFAULT_LENGTH: u64 = 32;
/// Characters AWS's rotation functions exclude by default: they break connection strings and shells.
pub(crate) const DEFAULT_EXCLUDE: &str = "/@\"'\\";
/// Secrets Manager's own limit on generated passwords.
pub(crate) const MAX_LENGTH: u64 = 4096;

/// Which characters a password may hold, and how long it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordPolicy {
    length: usize,
    /// Each included character class, after `EXCLUDE_CHARACTERS`.
    classes: Vec<Vec<char>>,
    require_each: bool,
}

impl PasswordPolicy {
    /// Reads `PASSWORD_LENGTH` (default 32), `EXCLUDE_CHARACTERS` (default `/@"'\`),
    /// `EXCLUDE_NUMBERS`, `EXCLUDE_PUNCTUATION`, `EXCLUDE_UPPERCASE`, `EXCLUDE_LOWERCASE`
    /// (default false) and `REQUIRE_EACH_INCLUDED_TYPE` (default true).
    ///
    /// # Errors
    /// When a value does not parse, or when the combination cannot produce a password: every
    /// class excluded, a required class emptied by `EXCLUDE_CHARACTERS`, or a length shorter
    /// than the number of required classes.
    pub fn from_lookup(lookup: &impl Lookup) -> Result<Self, ConfigError> {
        let length = env::ranged_or(lookup, "PASSWORD_LENGTH", DEFAULT_LENGTH, 1, MAX_LENGTH)?;
        // An explicitly empty EXCLUDE_CHARACTERS means "exclude nothing", unlike an unset one.
        let exclude: Vec<char> =
            lookup.get("EXCLUDE_CHARACTERS").unwrap_or_else(|| DEFAULT_EXCLUDE.to_owned()).chars().collect();
        let require_each = env::flag_or(lookup, "REQUIRE_EACH_INCLUDED_TYPE", true)?;
        let mut classes = Vec::new();
        for (key, set) in [
            ("EXCLUDE_LOWERCASE", LOWERCASE),
            ("EXCLUDE_UPPERCASE", UPPERCASE),
            ("EXCLUDE_NUMBERS", NUMBERS),
            ("EXCLUDE_PUNCTUATION", PUNCTUATION),
        ] {
            if env::flag_or(lookup, key, false)? {
                continue;
            }
            let class: Vec<char> = set.chars().filter(|c| !exclude.contains(c)).collect();
            if class.is_empty() {
                if require_each {
                    return Err(ConfigError::new(
                        "EXCLUDE_CHARACTERS",
                        format!(
                            "removes every character of a class that REQUIRE_EACH_INCLUDED_TYPE requires; set {key}=true instead"
                        ),
                    ));
                }
                continue;
            }
            classes.push(class);
        }
        if classes.is_empty() {
            return Err(ConfigError::new(
                "EXCLUDE_CHARACTERS",
                "the policy excludes every character: nothing is left to build a password from",
            ));
        }
        let length = usize::try_from(length).unwrap_or(usize::MAX);
        if require_each && length < classes.len() {
            return Err(ConfigError::new(
                "PASSWORD_LENGTH",
                format!("{length} is shorter than the {} character types it must include", classes.len()),
            ));
        }
        Ok(Self { length, classes, require_each })
    }

    /// A new password. `rand::rng()` is a CSPRNG (`ChaCha12`, seeded and reseeded from the OS).
    #[must_use]
    pub(crate) fn generate(&self) -> SecretString {
        let mut rng = rand::rng();
        let pool: Vec<char> = self.classes.iter().flatten().copied().collect();
        let mut chars: Vec<char> = Vec::with_capacity(self.length);
        if self.require_each {
            chars.extend(self.classes.iter().filter_map(|class| class.choose(&mut rng)));
        }
        while chars.len() < self.length {
            if let Some(c) = pool.choose(&mut rng) {
                chars.push(*c);
            }
        }
        chars.shuffle(&mut rng);
        SecretString::new(chars.into_iter().collect::<String>())
    }

    #[must_use]
    pub fn length(&self) -> usize {
        self.length
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use super::*;

    fn policy(pairs: &[(&str, &str)]) -> Result<PasswordPolicy, ConfigError> {
        let map: HashMap<&str, &str> = pairs.iter().copied().collect();
        PasswordPolicy::from_lookup(&map)
    }

    #[test]
    fn default_policy_is_32_characters_of_every_type_without_the_unsafe_ones() {
        let p = policy(&[]).unwrap();
        for _ in 0..200 {
            let pw = p.generate();
            let s = pw.expose();
            assert_eq!(s.chars().count(), 32);
            assert!(s.chars().any(|c| c.is_ascii_lowercase()));
            assert!(s.chars().any(|c| c.is_ascii_uppercase()));
            assert!(s.chars().any(|c| c.is_ascii_digit()));
            assert!(s.chars().any(|c| PUNCTUATION.contains(c)));
            assert!(!s.chars().any(|c| DEFAULT_EXCLUDE.contains(c)), "excluded character in a password");
        }
    }

    #[test]
    fn passwords_do_not_repeat_and_use_the_whole_pool() {
        let p = policy(&[]).unwrap();
        let passwords: HashSet<String> = (0..500).map(|_| p.generate().expose().to_owned()).collect();
        assert_eq!(passwords.len(), 500);
        let seen: HashSet<char> = passwords.iter().flat_map(|s| s.chars()).collect();
        let pool =
            LOWERCASE.len() + UPPERCASE.len() + NUMBERS.len() + PUNCTUATION.len() - DEFAULT_EXCLUDE.len();
        assert_eq!(seen.len(), pool, "500 × 32 draws reach every allowed character");
    }

    #[test]
    fn exclusions_are_honoured() {
        let p = policy(&[
            ("EXCLUDE_PUNCTUATION", "true"),
            ("EXCLUDE_UPPERCASE", "true"),
            ("PASSWORD_LENGTH", "64"),
            ("EXCLUDE_CHARACTERS", "abc0"),
        ])
        .unwrap();
        for _ in 0..100 {
            let pw = p.generate();
            assert_eq!(pw.len(), 64);
            assert!(
                pw.expose()
                    .chars()
                    .all(|c| (c.is_ascii_lowercase() || c.is_ascii_digit()) && !"abc0".contains(c))
            );
        }
        let p = policy(&[("EXCLUDE_CHARACTERS", "")]).unwrap();
        assert!(
            (0..300).any(|_| p.generate().expose().contains('/')),
            "an empty EXCLUDE_CHARACTERS excludes nothing"
        );
    }

    #[test]
    fn impossible_policies_fail_with_the_variable_named() {
        let all = [
            ("EXCLUDE_NUMBERS", "true"),
            ("EXCLUDE_PUNCTUATION", "true"),
            ("EXCLUDE_UPPERCASE", "true"),
            ("EXCLUDE_LOWERCASE", "true"),
        ];
        assert_eq!(policy(&all).unwrap_err().key, "EXCLUDE_CHARACTERS");
        assert_eq!(policy(&[("EXCLUDE_CHARACTERS", NUMBERS)]).unwrap_err().key, "EXCLUDE_CHARACTERS");
        assert!(policy(&[("EXCLUDE_CHARACTERS", NUMBERS), ("REQUIRE_EACH_INCLUDED_TYPE", "false")]).is_ok());
        assert_eq!(policy(&[("PASSWORD_LENGTH", "3")]).unwrap_err().key, "PASSWORD_LENGTH");
        assert_eq!(policy(&[("PASSWORD_LENGTH", "0")]).unwrap_err().key, "PASSWORD_LENGTH");
        assert_eq!(policy(&[("PASSWORD_LENGTH", "5000")]).unwrap_err().key, "PASSWORD_LENGTH");
        assert_eq!(policy(&[("EXCLUDE_NUMBERS", "yes please")]).unwrap_err().key, "EXCLUDE_NUMBERS");
        assert_eq!(
            policy(&[("PASSWORD_LENGTH", "3"), ("REQUIRE_EACH_INCLUDED_TYPE", "false")])
                .unwrap()
                .generate()
                .len(),
            3
        );
    }
}
