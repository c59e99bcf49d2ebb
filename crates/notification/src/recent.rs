//! The event ids a warm function has already notified for. EventBridge delivers at least once
//! and retries a failed invocation; a repeat of an id published within the window is dropped.
//! The window lives in memory (no database): across cold starts, a FIFO topic's
//! `MessageDeduplicationId` (the event id) covers the same case.

use std::collections::VecDeque;
use std::sync::Mutex;

#[derive(Debug)]
pub struct RecentIds {
    ids: Mutex<VecDeque<String>>,
    capacity: usize,
}

impl RecentIds {
    #[must_use]
    pub fn new(capacity: usize) -> Self {
        Self { ids: Mutex::new(VecDeque::with_capacity(capacity)), capacity }
    }

    /// Whether `id` was already recorded.
    #[must_use]
    pub fn seen(&self, id: &str) -> bool {
        !id.is_empty()
            && self.ids.lock().unwrap_or_else(std::sync::PoisonError::into_inner).iter().any(|i| i == id)
    }

    /// Records `id` (after a successful publish), forgetting the oldest beyond the capacity.
    pub fn record(&self, id: &str) {
        if id.is_empty() || self.capacity == 0 {
            return;
        }
        let mut ids = self.ids.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if ids.len() == self.capacity {
            ids.pop_front();
        }
        ids.push_back(id.to_owned());
    }
}

impl Default for RecentIds {
    fn default() -> Self {
        Self::new(1024)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_up_to_its_capacity() {
        let r = RecentIds::new(2);
        assert!(!r.seen("a"));
        r.record("a");
        r.record("b");
        assert!(r.seen("a") && r.seen("b"));
        r.record("c");
        assert!(!r.seen("a") && r.seen("c"));
        r.record("");
        assert!(!r.seen(""));
    }
}
