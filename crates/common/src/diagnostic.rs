//! Errors to Lambda diagnostics with a stable `errorType`.

use std::error::Error;
use std::fmt::Write as _;

use lambda_runtime::Diagnostic;

/// An error that knows the stable `errorType` it is reported under, e.g. `Config.MissingParameter`.
/// Alarms, metric filters and log queries key on it, so a value never changes once published.
pub trait ErrorKind: Error {
    fn error_type(&self) -> &'static str;
}

/// The Lambda diagnostic for `err`: its `errorType` and its message followed by its sources.
/// Error messages in this project never carry secret values, so the chain is safe to report.
pub fn diagnostic<E: ErrorKind>(err: &E) -> Diagnostic {
    Diagnostic { error_type: err.error_type().to_owned(), error_message: message_chain(err) }
}

/// `err`'s message and the messages of its sources, joined by `: `, without repeating a source
/// whose text the outer message already contains.
#[must_use]
pub fn message_chain(err: &dyn Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !text.is_empty() && !out.contains(&text) {
            let _ = write!(out, ": {text}");
        }
        source = cause.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer failed")]
    struct Outer(#[source] Inner);

    #[derive(Debug, thiserror::Error)]
    #[error("inner reason")]
    struct Inner;

    impl ErrorKind for Outer {
        fn error_type(&self) -> &'static str {
            "Test.Outer"
        }
    }

    #[test]
    fn diagnostic_carries_type_and_chain() {
        let d = diagnostic(&Outer(Inner));
        assert_eq!(d.error_type, "Test.Outer");
        assert_eq!(d.error_message, "outer failed: inner reason");
    }
}
