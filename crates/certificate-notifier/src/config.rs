//! The function's settings, from the environment.

use common::ConfigError;
use common::env::{self, Lookup};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The SNS topic notifications go to (`TOPIC_ARN`).
    pub topic_arn: String,
    /// Days left at which a certificate that needs a person escalates, largest first
    /// (`EXPIRY_THRESHOLDS`, default `30,14,7,1`): the first crossed is a warning, the second
    /// high, the rest critical.
    pub thresholds: Vec<i64>,
    /// Days left by which ACM should have renewed an eligible certificate it issued
    /// (`RENEWAL_OVERDUE_DAYS`, default 45: ACM starts 60 days before expiry). Until then such a
    /// certificate is informational.
    pub renewal_overdue_days: i64,
    /// The AWS Config rule whose compliance changes this function handles (`CONFIG_RULE_NAME`).
    pub config_rule: String,
    /// The account's `DaysBeforeExpiry` when it is below the largest threshold (read with the
    /// first event): ACM's first expiry event then comes on that day, which counts as a crossing.
    pub first_event_day: Option<i64>,
}

impl Config {
    /// # Errors
    /// A [`ConfigError`] naming the variable.
    pub fn from_lookup(lookup: &impl Lookup) -> Result<Self, ConfigError> {
        let topic_arn = notification::topic_arn(lookup)?;
        let mut thresholds = Vec::new();
        for item in env::list_or(lookup, "EXPIRY_THRESHOLDS", &["30", "14", "7", "1"]) {
            let days = item.parse::<i64>().ok().filter(|d| (0..=365).contains(d));
            thresholds.push(days.ok_or_else(|| {
                ConfigError::new("EXPIRY_THRESHOLDS", "must be whole days from 0 to 365, comma-separated")
            })?);
        }
        thresholds.sort_unstable_by(|a, b| b.cmp(a));
        thresholds.dedup();
        if thresholds.is_empty() {
            return Err(ConfigError::new("EXPIRY_THRESHOLDS", "must name at least one day"));
        }
        let renewal_overdue_days =
            i64::try_from(env::ranged_or(lookup, "RENEWAL_OVERDUE_DAYS", 45, 0, 60)?).unwrap_or(45);
        let config_rule = env::optional(lookup, "CONFIG_RULE_NAME")
            .unwrap_or_else(|| "acm-certificate-expiration-check".to_owned());
        Ok(Self { topic_arn, thresholds, renewal_overdue_days, config_rule, first_event_day: None })
    }

    /// # Errors
    /// A [`ConfigError`] naming the variable.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(&env::ProcessEnv)
    }

    /// The largest threshold.
    #[must_use]
    pub fn largest_threshold(&self) -> i64 {
        self.thresholds.first().copied().unwrap_or_default()
    }

    /// Takes the account's `DaysBeforeExpiry` into account. When it is below the largest
    /// threshold, ACM never sends an event on that threshold's day: the returned warning says so,
    /// once, with the command that fixes it, and the first event ACM does send (on
    /// `DaysBeforeExpiry`) notifies as a crossing.
    pub fn with_days_before_expiry(&mut self, days: Option<i64>) -> Option<String> {
        let days = days?;
        let largest = self.largest_threshold();
        if days >= largest {
            return None;
        }
        self.first_event_day = Some(days);
        let beyond = if largest > MAX_DAYS_BEFORE_EXPIRY {
            format!(
                " (ACM allows at most {MAX_DAYS_BEFORE_EXPIRY}: thresholds above it are never reached by ACM's events)"
            )
        } else {
            String::new()
        };
        Some(format!(
            "ACM's expiry events start {days} days before expiry (the account's DaysBeforeExpiry), below the largest \
             threshold of {largest} days: the thresholds above {days} days never get an event of their own. Fix it with: \
             {}{beyond}",
            self.days_before_expiry_fix()
        ))
    }

    /// The command that gives the largest threshold an event of its own (ACM allows at most
    /// [`MAX_DAYS_BEFORE_EXPIRY`]).
    #[must_use]
    pub fn days_before_expiry_fix(&self) -> String {
        let fix = self.largest_threshold().min(MAX_DAYS_BEFORE_EXPIRY);
        format!(
            "aws acm put-account-configuration --expiry-events DaysBeforeExpiry={fix} --idempotency-token config-keeper \
             (or the stack's AcmDaysBeforeExpiry parameter)"
        )
    }
}

/// ACM's largest `DaysBeforeExpiry`.
pub const MAX_DAYS_BEFORE_EXPIRY: i64 = 45;

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn thresholds_are_sorted_and_checked() {
        let topic = ("TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:alerts");
        let c = Config::from_lookup(&HashMap::from([topic])).unwrap();
        assert_eq!((c.thresholds.as_slice(), c.renewal_overdue_days), ([30, 14, 7, 1].as_slice(), 45));
        let c = Config::from_lookup(&HashMap::from([topic, ("EXPIRY_THRESHOLDS", "7, 60,7")])).unwrap();
        assert_eq!(c.thresholds, [60, 7]);
        for bad in ["soon", "-1", "400", ","] {
            let err = Config::from_lookup(&HashMap::from([topic, ("EXPIRY_THRESHOLDS", bad)])).unwrap_err();
            assert!(err.to_string().contains("EXPIRY_THRESHOLDS"), "{bad}: {err}");
        }
        assert!(Config::from_lookup(&HashMap::from([("TOPIC_ARN", "alerts")])).is_err());
        assert!(Config::from_lookup(&HashMap::<&str, &str>::new()).is_err());
    }
}
