//! An in-memory [`Notifier`] for the functions' tests.

use std::sync::Mutex;

use crate::{Notification, Notifier, NotifyError};

/// Records what it is given; fails the next publish when `fail` holds an error.
#[derive(Debug, Default)]
pub struct FakeNotifier {
    pub sent: Mutex<Vec<Notification>>,
    pub fail: Mutex<Option<NotifyError>>,
}

impl FakeNotifier {
    #[must_use]
    #[allow(clippy::missing_panics_doc)]
    pub fn sent(&self) -> Vec<Notification> {
        self.sent.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }
}

impl Notifier for &FakeNotifier {
    async fn publish(&self, notice: &Notification) -> Result<String, NotifyError> {
        if let Some(err) = self.fail.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take() {
            return Err(err);
        }
        let mut sent = self.sent.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        sent.push(notice.clone());
        Ok(format!("message-{}", sent.len()))
    }
}
