//! In-memory fakes of the ports, for unit tests only.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::SecretString;
use common::aws::AwsError;

use crate::cache::Clock;
use crate::source::{Batch, MAX_BATCH, Page, Parameter, ParameterSource, ParameterType};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    Get(Vec<String>),
    Path(Option<String>),
}

#[derive(Debug, Default)]
pub struct FakeSource {
    pub parameters: Mutex<BTreeMap<String, Parameter>>,
    pub calls: Mutex<Vec<Call>>,
    pub fail_with: Mutex<Option<AwsError>>,
    pub repeat_token: bool,
    /// Whether each call asked for decryption, in order.
    pub decrypted: Mutex<Vec<bool>>,
}

impl FakeSource {
    pub fn with(params: &[(&str, ParameterType, &str)]) -> Arc<Self> {
        let source = Self::default();
        for (name, kind, value) in params {
            source.put(name, *kind, value);
        }
        Arc::new(source)
    }

    pub fn put(&self, name: &str, kind: ParameterType, value: &str) {
        let p = Parameter {
            name: (*name).to_owned(),
            selector: None,
            kind,
            value: SecretString::new(value),
            version: 1,
            last_modified: Some("2026-11-01T00:00:00Z".into()),
        };
        self.parameters.lock().unwrap().insert((*name).to_owned(), p);
    }

    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    pub fn fail(&self, err: Option<AwsError>) {
        *self.fail_with.lock().unwrap() = err;
    }
}

impl ParameterSource for Arc<FakeSource> {
    async fn get_parameters(&self, names: &[String], decrypt: bool) -> Result<Batch, AwsError> {
        assert!(names.len() <= MAX_BATCH, "batch of {}", names.len());
        self.calls.lock().unwrap().push(Call::Get(names.to_vec()));
        self.decrypted.lock().unwrap().push(decrypt);
        if let Some(err) = self.fail_with.lock().unwrap().clone() {
            return Err(err);
        }
        let params = self.parameters.lock().unwrap();
        let mut batch = Batch::default();
        for n in names {
            let (name, selector) =
                n.split_once(':').map_or((n.as_str(), None), |(a, b)| (a, Some(format!(":{b}"))));
            match params.get(name) {
                Some(p) if selector.as_deref().is_none_or(|s| s == ":1") => {
                    batch.found.push((n.clone(), Parameter { selector, ..encrypted_unless(p, decrypt) }));
                }
                _ => batch.missing.push(n.clone()),
            }
        }
        Ok(batch)
    }

    async fn get_parameters_by_path(
        &self,
        path: &str,
        next_token: Option<&str>,
        decrypt: bool,
    ) -> Result<Page, AwsError> {
        self.calls.lock().unwrap().push(Call::Path(next_token.map(str::to_owned)));
        self.decrypted.lock().unwrap().push(decrypt);
        if let Some(err) = self.fail_with.lock().unwrap().clone() {
            return Err(err);
        }
        let params = self.parameters.lock().unwrap();
        let under: Vec<_> = params
            .values()
            .filter(|p| p.name.starts_with(path))
            .map(|p| encrypted_unless(p, decrypt))
            .collect();
        let start: usize = next_token.map_or(0, |t| t.parse().unwrap());
        let end = (start + MAX_BATCH).min(under.len());
        let next_token = if self.repeat_token {
            Some("0".to_owned())
        } else {
            (end < under.len()).then(|| end.to_string())
        };
        Ok(Page { parameters: under[start..end].to_vec(), next_token })
    }
}

/// A SecureString as Parameter Store returns it without decryption: its encrypted form.
fn encrypted_unless(p: &Parameter, decrypt: bool) -> Parameter {
    if decrypt || !p.kind.is_secure() {
        return p.clone();
    }
    Parameter {
        value: SecretString::new(format!("AQICAHh-encrypted-{}", p.value.expose().len())),
        ..p.clone()
    }
}

#[derive(Debug)]
pub struct FakeClock(pub Mutex<Instant>);

impl FakeClock {
    pub fn advance(&self, by: Duration) {
        *self.0.lock().unwrap() += by;
    }
}

impl Clock for Arc<FakeClock> {
    fn now(&self) -> Instant {
        *self.0.lock().unwrap()
    }
}
