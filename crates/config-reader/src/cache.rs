//! The in-process cache shared by warm invocations. Only successful reads are stored.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The time source, so tests can move time without sleeping.
pub trait Clock {
    fn now(&self) -> Instant;
}

/// The monotonic system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// A map whose entries expire `ttl` after they were stored. A zero TTL disables it. At most
/// `capacity` entries: when full, expired entries go first, then the oldest.
#[derive(Debug)]
pub struct TtlCache<V> {
    ttl: Duration,
    capacity: usize,
    entries: Mutex<HashMap<String, (Instant, V)>>,
}

impl<V: Clone> TtlCache<V> {
    #[must_use]
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        Self { ttl, capacity, entries: Mutex::new(HashMap::new()) }
    }

    /// The value stored under `key` if it is younger than the TTL.
    pub fn get(&self, key: &str, now: Instant) -> Option<V> {
        if self.ttl.is_zero() {
            return None;
        }
        let entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        entries
            .get(key)
            .filter(|(at, _)| now.saturating_duration_since(*at) < self.ttl)
            .map(|(_, v)| v.clone())
    }

    pub fn put(&self, key: String, value: V, now: Instant) {
        if self.ttl.is_zero() || self.capacity == 0 {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if entries.len() >= self.capacity && !entries.contains_key(&key) {
            let ttl = self.ttl;
            entries.retain(|_, (at, _)| now.saturating_duration_since(*at) < ttl);
            if entries.len() >= self.capacity
                && let Some(oldest) = entries.iter().min_by_key(|(_, (at, _))| *at).map(|(k, _)| k.clone())
            {
                entries.remove(&oldest);
            }
        }
        entries.insert(key, (now, value));
    }

    #[cfg(test)]
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner).len()
    }

    #[cfg(test)]
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_after_the_ttl() {
        let cache = TtlCache::new(Duration::from_mins(5), 10);
        let t0 = Instant::now();
        cache.put("a".into(), 1, t0);
        assert_eq!(cache.get("a", t0 + Duration::from_secs(299)), Some(1));
        assert_eq!(cache.get("a", t0 + Duration::from_mins(5)), None);
        assert_eq!(cache.get("b", t0), None);
    }

    #[test]
    fn zero_ttl_disables_the_cache() {
        let cache = TtlCache::new(Duration::ZERO, 10);
        let t0 = Instant::now();
        cache.put("a".into(), 1, t0);
        assert_eq!(cache.get("a", t0), None);
        assert!(cache.is_empty());
    }

    #[test]
    fn capacity_evicts_expired_then_oldest() {
        let cache = TtlCache::new(Duration::from_secs(10), 2);
        let t0 = Instant::now();
        cache.put("a".into(), 1, t0);
        cache.put("b".into(), 2, t0 + Duration::from_secs(5));
        cache.put("c".into(), 3, t0 + Duration::from_secs(6));
        assert_eq!(cache.len(), 2);
        assert_eq!(cache.get("a", t0 + Duration::from_secs(6)), None, "oldest evicted");
        cache.put("d".into(), 4, t0 + Duration::from_secs(15));
        assert_eq!(cache.get("c", t0 + Duration::from_secs(15)), Some(3));
        assert_eq!(cache.get("d", t0 + Duration::from_secs(15)), Some(4));
        assert_eq!(cache.len(), 2, "expired b was dropped first");
    }
}
