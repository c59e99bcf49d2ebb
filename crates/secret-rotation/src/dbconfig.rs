//! Connection settings shared by the database adapters: the trusted certificate authorities
//! (the Amazon RDS bundle in the binary, the system roots, an optional CA file) and time-outs.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use common::env::{self, ConfigError, Lookup};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use crate::ports::{DbError, Login};

/// The Amazon RDS certificate authorities (global bundle), shipped in the binary.
const RDS_CA_BUNDLE: &[u8] = include_bytes!("../certs/rds-global-bundle.pem");

/// Database connection settings shared by the engines' adapters, read once at cold start.
#[derive(Clone)]
pub struct DbConfig {
    pub tls: Arc<rustls::ClientConfig>,
    /// The trusted certificate authorities, for adapters that build their own TLS set-up.
    pub roots: Arc<Vec<CertificateDer<'static>>>,
    pub connect_timeout: Duration,
    pub statement_timeout: Duration,
    /// How many of `roots` the TLS root store accepted.
    pub trusted_roots: usize,
}

impl std::fmt::Debug for DbConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DbConfig")
            .field("trusted_roots", &self.trusted_roots)
            .field("connect_timeout", &self.connect_timeout)
            .field("statement_timeout", &self.statement_timeout)
            .finish_non_exhaustive()
    }
}

impl DbConfig {
    /// Runs a connection attempt under the connect time-out, plus a second so that the driver's
    /// own timer answers first when it can; a database that never answers becomes `Unreachable`.
    ///
    /// # Errors
    /// The attempt's error, sorted by `classify`, or `Unreachable` on the time-out.
    pub(crate) async fn connecting<T, E>(
        &self,
        login: &Login,
        attempt: impl Future<Output = Result<T, E>>,
        classify: impl FnOnce(&E) -> DbError,
    ) -> Result<T, DbError> {
        let deadline = self.connect_timeout + Duration::from_secs(1);
        match tokio::time::timeout(deadline, attempt).await {
            Ok(result) => result.map_err(|e| classify(&e)),
            Err(_) => Err(DbError::Unreachable {
                host: login.host.clone(),
                port: login.port,
                detail: format!("no answer within {} s", deadline.as_secs()),
            }),
        }
    }

    /// Reads `DB_CONNECT_TIMEOUT_SECONDS` (default 5), `DB_STATEMENT_TIMEOUT_SECONDS` (default 5),
    /// `DB_CA_BUNDLE` (a PEM file of extra CAs) and `DB_SYSTEM_ROOTS` (default true).
    ///
    /// # Errors
    /// When a value is invalid or the CA file cannot be read.
    pub fn from_lookup(lookup: &impl Lookup) -> Result<Self, ConfigError> {
        let connect_timeout =
            Duration::from_secs(env::ranged_or(lookup, "DB_CONNECT_TIMEOUT_SECONDS", 5, 1, 300)?);
        let statement_timeout =
            Duration::from_secs(env::ranged_or(lookup, "DB_STATEMENT_TIMEOUT_SECONDS", 5, 1, 300)?);
        let mut certs: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(RDS_CA_BUNDLE).filter_map(Result::ok).collect();
        if env::flag_or(lookup, "DB_SYSTEM_ROOTS", true)? {
            certs.extend(system_roots(lookup));
        }
        if let Some(path) = env::optional(lookup, "DB_CA_BUNDLE") {
            let pem = std::fs::read(&path)
                .map_err(|e| ConfigError::new("DB_CA_BUNDLE", format!("cannot read {path}: {e}")))?;
            let extra: Vec<_> = CertificateDer::pem_slice_iter(&pem).filter_map(Result::ok).collect();
            if extra.is_empty() {
                return Err(ConfigError::new("DB_CA_BUNDLE", format!("{path} holds no PEM certificate")));
            }
            certs.extend(extra);
        }
        let mut roots = rustls::RootCertStore::empty();
        let (trusted, _) = roots.add_parsable_certificates(certs.iter().cloned());
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| ConfigError::new("DB_CA_BUNDLE", format!("TLS set-up failed: {e}")))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Self {
            tls: Arc::new(tls),
            roots: Arc::new(certs),
            connect_timeout,
            statement_timeout,
            trusted_roots: trusted,
        })
    }
}

/// Where distributions keep their bundle of trusted roots: Amazon Linux and RHEL (Lambda's
/// `provided.al2023`), Debian and Ubuntu, Alpine, SUSE.
const SYSTEM_BUNDLES: &[&str] = &[
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/ssl/cert.pem",
    "/etc/ssl/ca-bundle.pem",
];

/// The system's trusted roots: `SSL_CERT_FILE`, else the first bundle file found, else whatever
/// `rustls-native-certs` finds. One file is read, not a folder of hundreds (5 ms off a cold start).
fn system_roots(lookup: &impl Lookup) -> Vec<CertificateDer<'static>> {
    let candidates = env::optional(lookup, "SSL_CERT_FILE")
        .into_iter()
        .chain(SYSTEM_BUNDLES.iter().map(|p| (*p).to_owned()));
    for path in candidates {
        if let Ok(pem) = std::fs::read(&path) {
            let certs: Vec<_> = CertificateDer::pem_slice_iter(&pem).filter_map(Result::ok).collect();
            if !certs.is_empty() {
                return certs;
            }
        }
    }
    rustls_native_certs::load_native_certs().certs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rds_bundle_is_in_the_binary() {
        let n = CertificateDer::pem_slice_iter(RDS_CA_BUNDLE).filter_map(Result::ok).count();
        assert!(n > 100, "{n} certificates");
        let config =
            DbConfig::from_lookup(&std::collections::HashMap::from([("DB_SYSTEM_ROOTS", "false")])).unwrap();
        assert_eq!((config.trusted_roots, config.roots.len()), (n, n));
    }
}
