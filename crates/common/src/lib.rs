//! Plumbing shared by the project's Lambda functions, and nothing else: one model of a failed AWS
//! call ([`aws`]), the way a function meets the runtime ([`invocation`]: typed cold-start
//! failures, the invocation span, diagnostics), JSON logs whose lines carry the invocation's ids
//! ([`logging`]), typed environment configuration, the AWS SDK configuration loader and a
//! redacting secret type. Domain code lives in the function crates.

pub mod aws;
pub mod diagnostic;
pub mod env;
#[cfg(feature = "testing")]
pub mod fuzz;
pub mod invocation;
pub mod logging;
pub mod payload;
pub mod sdk;
pub mod secret;
#[cfg(feature = "testing")]
pub mod testing;

pub use diagnostic::{ErrorKind, diagnostic};
pub use env::{ConfigError, Lookup};
pub use logging::init_tracing;
pub use sdk::aws_sdk_config;
pub use secret::SecretString;
