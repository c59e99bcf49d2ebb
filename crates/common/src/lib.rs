//! Plumbing shared by the project's Lambda functions, and nothing else: tracing set-up, typed
//! environment configuration, the AWS SDK configuration loader, a redacting secret type and the
//! mapping of errors to Lambda diagnostics. Domain code lives in the function crates.

pub mod aws;
pub mod diagnostic;
pub mod env;
pub mod invocation;
pub mod logging;
pub mod sdk;
pub mod secret;
#[cfg(feature = "testing")]
pub mod testing;

pub use diagnostic::{ErrorKind, diagnostic};
pub use env::{ConfigError, Lookup};
pub use logging::init_tracing;
pub use sdk::{SdkFailure, aws_sdk_config};
pub use secret::SecretString;
