//! The reader: resolves names, serves them from the cache, fetches the rest in batches, and
//! builds the response. Generic over [`ParameterSource`] and [`Clock`], so it is tested with fakes.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use common::invocation::{Reported, note};
use serde::{Deserialize, Serialize};

use crate::cache::{Clock, SystemClock, TtlCache};
use crate::config::{Config, MAX_NAMES_PER_REQUEST, ReadMode};
use crate::error::ReadError;
use crate::name::{Environment, ParameterRef, SECRETS_MANAGER_REFERENCE};
use crate::source::{MAX_BATCH, Parameter, ParameterSource, ParameterType};

/// Most entries the cache keeps (parameters and trees).
const CACHE_CAPACITY: usize = 1024;
/// `GetParametersByPath` returns at most 10 parameters a page: this allows 10,000.
const MAX_PAGES: usize = 1000;

/// An invocation. Every field is optional: `{}` reads what the deployment configured.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Request {
    /// Names to read instead of the configured ones (relative to `/<prefix>/<env>/` or full).
    #[serde(default)]
    pub names: Option<Vec<String>>,
    /// `names` or `path`; the deployment's `READ_MODE` when absent.
    #[serde(default)]
    pub mode: Option<ReadMode>,
    /// Skip the cache for this invocation (the fresh values are cached). At most once per
    /// `REFRESH_INTERVAL_SECONDS` for the same names; more often, the cache answers.
    #[serde(default)]
    pub refresh: bool,
}

/// What the function returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Response {
    pub environment: Environment,
    /// `/<prefix>/<env>/`.
    pub scope: String,
    pub mode: ReadMode,
    pub parameters: Vec<ParameterView>,
    /// How many parameters came from the cache.
    pub cache_hits: usize,
    /// How many Parameter Store calls this invocation made.
    pub aws_calls: u64,
    /// True when `refresh` was asked for but the same names were refreshed less than
    /// `REFRESH_INTERVAL_SECONDS` ago: the cache answered instead.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub refresh_limited: bool,
}

impl Reported for Response {
    fn outcome(&self) -> &'static str {
        "read"
    }
}

/// One parameter in the response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ParameterView {
    /// The full name.
    pub name: String,
    /// The name relative to the scope (`db-url`, `nested/key`), or the full name of a reference.
    pub key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selector: Option<String>,
    #[serde(rename = "type")]
    pub kind: ParameterType,
    pub version: i64,
    pub last_modified: Option<String>,
    /// The value; `None` for a SecureString unless the deployment exposes them.
    pub value: Option<String>,
    /// True when `value` was withheld.
    pub redacted: bool,
}

/// The reader, built once at cold start and shared by warm invocations.
#[derive(Debug)]
pub struct Reader<S, C = SystemClock> {
    source: S,
    config: Config,
    clock: C,
    parameters: TtlCache<Parameter>,
    trees: TtlCache<Vec<Parameter>>,
    calls: AtomicU64,
    /// When each set of names (or the tree) was last read with `refresh`.
    refreshed: Mutex<HashMap<String, Instant>>,
}

impl<S: ParameterSource + Sync> Reader<S, SystemClock> {
    pub fn new(source: S, config: Config) -> Self {
        Self::with_clock(source, config, SystemClock)
    }
}

impl<S: ParameterSource + Sync, C: Clock + Sync> Reader<S, C> {
    pub fn with_clock(source: S, config: Config, clock: C) -> Self {
        let ttl = config.cache_ttl;
        Self {
            source,
            config,
            clock,
            parameters: TtlCache::new(ttl, CACHE_CAPACITY),
            trees: TtlCache::new(ttl, CACHE_CAPACITY),
            calls: AtomicU64::new(0),
            refreshed: Mutex::new(HashMap::new()),
        }
    }

    #[must_use]
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Handles one invocation.
    ///
    /// # Errors
    /// A [`ReadError`] saying what is wrong; nothing is cached from a failed call.
    pub async fn read(&self, request: &Request) -> Result<Response, ReadError> {
        let calls_before = self.calls.load(Ordering::Relaxed);
        let mode = request.mode.unwrap_or(self.config.mode);
        if mode == ReadMode::Path && self.config.mode == ReadMode::Names && !self.config.allow_path_requests {
            return Err(ReadError::NotAllowed {
                reason:
                    "this function reads its configured names; mode \"path\" would widen that to the whole \
                         environment (set ALLOW_PATH_REQUESTS=true to allow it)"
                        .into(),
            });
        }
        let mut refresh_limited = false;
        let result = match mode {
            ReadMode::Names => match request.names.as_deref().map(|n| self.resolve(n)).transpose() {
                Ok(asked) => {
                    let refs = asked.unwrap_or_else(|| self.config.names.clone());
                    let refresh = request.refresh && self.may_refresh(&refs, &mut refresh_limited);
                    self.read_names(&refs, refresh).await
                }
                Err(e) => Err(e),
            },
            ReadMode::Path => {
                if request.names.is_some() {
                    Err(ReadError::InvalidRequest {
                        reason: "\"names\" and mode \"path\" exclude each other".into(),
                    })
                } else {
                    let refresh = request.refresh && self.may_refresh(&[], &mut refresh_limited);
                    self.read_path(refresh).await
                }
            }
        };
        let aws_calls = self.calls.load(Ordering::Relaxed) - calls_before;
        let environment = self.config.scope.environment();
        note("environment", environment.as_str());
        note("mode", mode.as_str());
        note("aws_calls", aws_calls);
        if refresh_limited {
            note("refresh_limited", true);
        }
        let (found, cache_hits) = result?;
        let names = found.iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join(",");
        note("parameters", found.len());
        note("names", names);
        note("cache_hits", cache_hits);
        Ok(Response {
            environment,
            scope: self.config.scope.root().to_owned(),
            mode,
            parameters: found.iter().map(|p| self.view(p)).collect(),
            cache_hits,
            aws_calls,
            refresh_limited,
        })
    }

    /// Whether `refs` (the tree when empty) may bypass the cache now: not when the same set was
    /// refreshed less than `REFRESH_INTERVAL_SECONDS` ago, so that a caller asking for `refresh`
    /// in a loop cannot spend the account's Parameter Store throughput (shared by every
    /// application in the account and region). Sets `limited` when it may not.
    fn may_refresh(&self, refs: &[ParameterRef], limited: &mut bool) -> bool {
        let interval = self.config.refresh_interval;
        if interval.is_zero() {
            return true;
        }
        let mut names: Vec<String> = refs.iter().map(ParameterRef::request_name).collect();
        names.sort_unstable();
        let key = if names.is_empty() { self.config.scope.root().to_owned() } else { names.join(",") };
        let now = self.clock.now();
        let mut last = self.refreshed.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if last.get(&key).is_some_and(|at| now.saturating_duration_since(*at) < interval) {
            *limited = true;
            return false;
        }
        if last.len() >= CACHE_CAPACITY {
            last.retain(|_, at| now.saturating_duration_since(*at) < interval);
        }
        if last.len() < CACHE_CAPACITY {
            last.insert(key, now);
            true
        } else {
            // Every slot holds a refresh of the last interval: many distinct sets at once.
            *limited = true;
            false
        }
    }

    async fn read_names(
        &self,
        refs: &[ParameterRef],
        refresh: bool,
    ) -> Result<(Vec<Parameter>, usize), ReadError> {
        let now = self.clock.now();
        let mut found: HashMap<String, Parameter> = HashMap::new();
        let mut to_fetch = Vec::new();
        for r in refs {
            let key = r.request_name();
            match (!refresh).then(|| self.parameters.get(&key, now)).flatten() {
                Some(p) => {
                    found.insert(key, p);
                }
                None => to_fetch.push(key),
            }
        }
        let cache_hits = found.len();
        let mut missing = Vec::new();
        // SecureStrings are decrypted only when the response will carry them, or for a Secrets
        // Manager reference (which Parameter Store reads only with decryption); otherwise they
        // come back encrypted and are redacted, and KMS is never asked.
        let expose = self.config.expose_secure_values;
        let (references, plain): (Vec<String>, Vec<String>) =
            to_fetch.iter().cloned().partition(|k| !expose && k.starts_with(SECRETS_MANAGER_REFERENCE));
        let batches = references
            .chunks(MAX_BATCH)
            .map(|c| (c, true))
            .chain(plain.chunks(MAX_BATCH).map(|c| (c, expose)));
        for (chunk, decrypt) in batches {
            self.calls.fetch_add(1, Ordering::Relaxed);
            let batch = self
                .source
                .get_parameters(chunk, decrypt)
                .await
                .map_err(|e| ReadError::from_source(e, self.config.scope.root()))?;
            missing.extend(batch.missing);
            let fetched_at = self.clock.now();
            for (key, p) in batch.found {
                self.parameters.put(key.clone(), p.clone(), fetched_at);
                found.insert(key, p);
            }
        }
        // A name Parameter Store neither returned nor listed as invalid is missing too.
        for key in &to_fetch {
            if !found.contains_key(key) && !missing.contains(key) {
                missing.push(key.clone());
            }
        }
        if !missing.is_empty() {
            return Err(ReadError::MissingParameters { names: missing });
        }
        let ordered = refs.iter().filter_map(|r| found.remove(&r.request_name())).collect();
        Ok((ordered, cache_hits))
    }

    async fn read_path(&self, refresh: bool) -> Result<(Vec<Parameter>, usize), ReadError> {
        let root = self.config.scope.root();
        if !refresh && let Some(tree) = self.trees.get(root, self.clock.now()) {
            let hits = tree.len();
            return Ok((tree, hits));
        }
        let mut all = Vec::new();
        let mut token: Option<String> = None;
        let mut seen = HashSet::new();
        for _ in 0..MAX_PAGES {
            self.calls.fetch_add(1, Ordering::Relaxed);
            let page = self
                .source
                .get_parameters_by_path(root, token.as_deref(), self.config.expose_secure_values)
                .await
                .map_err(|e| ReadError::from_source(e, root))?;
            all.extend(page.parameters);
            match page.next_token {
                None => {
                    all.sort_by(|a, b| a.name.cmp(&b.name));
                    self.trees.put(root.to_owned(), all.clone(), self.clock.now());
                    return Ok((all, 0));
                }
                Some(next) => {
                    if !seen.insert(next.clone()) {
                        return Err(ReadError::Pagination {
                            path: root.to_owned(),
                            reason: "Parameter Store repeated a page token".into(),
                        });
                    }
                    token = Some(next);
                }
            }
        }
        Err(ReadError::Pagination { path: root.to_owned(), reason: format!("more than {MAX_PAGES} pages") })
    }

    fn resolve(&self, names: &[String]) -> Result<Vec<ParameterRef>, ReadError> {
        if names.is_empty() {
            return Err(ReadError::InvalidRequest {
                reason: "\"names\" is empty; leave it out to read the configured names".into(),
            });
        }
        if names.len() > MAX_NAMES_PER_REQUEST {
            return Err(ReadError::InvalidRequest {
                reason: format!("{} names asked for, at most {MAX_NAMES_PER_REQUEST}", names.len()),
            });
        }
        let mut refs = Vec::with_capacity(names.len());
        let mut errors = Vec::new();
        for raw in names {
            match self.config.scope.resolve(raw) {
                Ok(r) if !refs.contains(&r) => refs.push(r),
                Ok(_) => {}
                Err(e) => errors.push(e),
            }
        }
        if errors.is_empty() { Ok(refs) } else { Err(ReadError::Names { errors }) }
    }

    fn view(&self, p: &Parameter) -> ParameterView {
        let redacted = p.kind.is_secure() && !self.config.expose_secure_values;
        let key = p.name.strip_prefix(self.config.scope.root()).unwrap_or(&p.name).to_owned();
        ParameterView {
            name: p.name.clone(),
            key,
            selector: p.selector.clone(),
            kind: p.kind,
            version: p.version,
            last_modified: p.last_modified.clone(),
            value: (!redacted).then(|| p.value.expose().to_owned()),
            redacted,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    use common::ErrorKind;
    use common::aws::{AwsError, AwsErrorKind, Service};

    use super::*;
    use crate::fakes::{Call, FakeClock, FakeSource};

    fn config(pairs: &[(&str, &str)]) -> Config {
        let mut map: HashMap<&str, &str> = [("DEV_OR_PROD", "dev")].into_iter().collect();
        map.extend(pairs.iter().copied());
        Config::from_lookup(&map).unwrap()
    }

    fn reader(
        source: &Arc<FakeSource>,
        pairs: &[(&str, &str)],
    ) -> (Reader<Arc<FakeSource>, Arc<FakeClock>>, Arc<FakeClock>) {
        let clock = Arc::new(FakeClock(Mutex::new(Instant::now())));
        (Reader::with_clock(Arc::clone(source), config(pairs), Arc::clone(&clock)), clock)
    }

    fn classic() -> Arc<FakeSource> {
        FakeSource::with(&[
            ("/my-app/dev/db-url", ParameterType::String, "postgres://db.dev:5432/app"),
            ("/my-app/dev/db-password", ParameterType::SecureString, "dev-password-s3cr3t"),
            ("/my-app/prod/db-url", ParameterType::String, "postgres://db.prod:5432/app"),
            ("/my-app/prod/db-password", ParameterType::SecureString, "prod-password-s3cr3t"),
        ])
    }

    fn names(r: &[&str]) -> Request {
        Request { names: Some(r.iter().map(|s| (*s).to_owned()).collect()), ..Request::default() }
    }

    #[tokio::test]
    async fn reads_the_configured_names_in_one_call_and_redacts_secure_strings() {
        let source = classic();
        let (reader, _) = reader(&source, &[]);
        let response = reader.read(&Request::default()).await.unwrap();
        assert_eq!(
            source.calls(),
            [Call::Get(vec!["/my-app/dev/db-url".into(), "/my-app/dev/db-password".into()])]
        );
        assert_eq!(response.environment, Environment::Dev);
        assert_eq!(response.aws_calls, 1);
        let [url, password] = response.parameters.as_slice() else { panic!("two parameters") };
        assert_eq!(
            (url.key.as_str(), url.value.as_deref(), url.redacted),
            ("db-url", Some("postgres://db.dev:5432/app"), false)
        );
        assert_eq!(
            (password.key.as_str(), password.value.as_deref(), password.redacted),
            ("db-password", None, true)
        );
        assert_eq!(password.kind, ParameterType::SecureString);
        let json = serde_json::to_string(&response).unwrap();
        assert!(!json.contains("s3cr3t"), "{json}");
    }

    #[tokio::test]
    async fn prod_reads_prod_only() {
        let source = classic();
        let (reader, _) = reader(&source, &[("DEV_OR_PROD", "prod"), ("EXPOSE_SECURE_VALUES", "true")]);
        let response = reader.read(&Request::default()).await.unwrap();
        let values: Vec<_> = response.parameters.iter().map(|p| p.value.clone().unwrap()).collect();
        assert_eq!(values, ["postgres://db.prod:5432/app", "prod-password-s3cr3t"]);
        let err = reader.read(&names(&["/my-app/dev/db-url"])).await.unwrap_err();
        assert_eq!(err.error_type(), "Config.NameOutOfScope");
        assert_eq!(source.calls().len(), 1, "a refused name makes no call");
    }

    #[tokio::test]
    async fn warm_invocations_inside_the_ttl_make_no_calls() {
        let source = classic();
        let (reader, clock) = reader(&source, &[]);
        reader.read(&Request::default()).await.unwrap();
        clock.advance(Duration::from_secs(299));
        let warm = reader.read(&Request::default()).await.unwrap();
        assert_eq!((warm.aws_calls, warm.cache_hits), (0, 2));
        assert_eq!(source.calls().len(), 1);
        clock.advance(Duration::from_secs(1));
        let expired = reader.read(&Request::default()).await.unwrap();
        assert_eq!((expired.aws_calls, expired.cache_hits), (1, 0));
        let refreshed = reader.read(&Request { refresh: true, ..Request::default() }).await.unwrap();
        assert_eq!(refreshed.aws_calls, 1);
    }

    #[tokio::test]
    async fn only_uncached_names_are_fetched() {
        let source = classic();
        source.put("/my-app/dev/feature-flags", ParameterType::StringList, "a,b");
        let (reader, _) = reader(&source, &[]);
        reader.read(&Request::default()).await.unwrap();
        let r = reader.read(&names(&["db-url", "feature-flags"])).await.unwrap();
        assert_eq!((r.aws_calls, r.cache_hits), (1, 1));
        assert_eq!(source.calls()[1], Call::Get(vec!["/my-app/dev/feature-flags".into()]));
        assert_eq!(r.parameters[1].value.as_deref(), Some("a,b"));
    }

    #[tokio::test]
    async fn a_zero_ttl_never_caches() {
        let source = classic();
        let (reader, _) = reader(&source, &[("CACHE_TTL_SECONDS", "0")]);
        reader.read(&Request::default()).await.unwrap();
        assert_eq!(reader.read(&Request::default()).await.unwrap().aws_calls, 1);
    }

    #[tokio::test]
    async fn many_names_go_in_batches_of_ten() {
        let source = classic();
        let many: Vec<String> = (0..23).map(|i| format!("p{i:02}")).collect();
        for n in &many {
            source.put(&format!("/my-app/dev/{n}"), ParameterType::String, n);
        }
        let (reader, _) = reader(&source, &[]);
        let refs: Vec<&str> = many.iter().map(String::as_str).collect();
        let r = reader.read(&names(&refs)).await.unwrap();
        let sizes: Vec<usize> =
            source.calls().iter().map(|c| if let Call::Get(n) = c { n.len() } else { 0 }).collect();
        assert_eq!(sizes, [10, 10, 3]);
        assert_eq!(r.parameters.len(), 23);
        assert_eq!(r.parameters[22].key, "p22", "order of the request is kept");
    }

    #[tokio::test]
    async fn every_missing_name_is_listed_and_nothing_failed_is_cached() {
        let source = classic();
        let mut asked: Vec<String> = (0..12).map(|i| format!("absent-{i}")).collect();
        asked.push("db-url".into());
        let (reader, _) = reader(&source, &[]);
        let refs: Vec<&str> = asked.iter().map(String::as_str).collect();
        let err = reader.read(&names(&refs)).await.unwrap_err();
        assert_eq!(err.error_type(), "Config.MissingParameter");
        let ReadError::MissingParameters { names: missing } = &err else { panic!("{err}") };
        assert_eq!(missing.len(), 12);
        assert!(err.to_string().contains("/my-app/dev/absent-11"));
        source.put("/my-app/dev/absent-0", ParameterType::String, "now here");
        let err = reader.read(&names(&["absent-0", "absent-1"])).await.unwrap_err();
        let ReadError::MissingParameters { names: missing } = &err else { panic!("{err}") };
        assert_eq!(missing, &["/my-app/dev/absent-1".to_owned()]);
        assert!(reader.read(&names(&["absent-0", "db-url"])).await.is_ok());
    }

    #[tokio::test]
    async fn selectors_are_passed_through() {
        let source = classic();
        let (reader, _) = reader(&source, &[]);
        let r = reader.read(&names(&["db-url:1"])).await.unwrap();
        assert_eq!(source.calls(), [Call::Get(vec!["/my-app/dev/db-url:1".into()])]);
        assert_eq!(r.parameters[0].selector.as_deref(), Some(":1"));
        let err = reader.read(&names(&["db-url:7"])).await.unwrap_err();
        assert_eq!(err.error_type(), "Config.MissingParameter");
    }

    #[tokio::test]
    async fn bad_names_are_all_reported_without_a_call() {
        let source = classic();
        let (reader, _) = reader(&source, &[]);
        let err = reader
            .read(&names(&["../prod/db-url", "/my-app/prod/db-url", "ok-name", "a b"]))
            .await
            .unwrap_err();
        let ReadError::Names { errors } = &err else { panic!("{err}") };
        assert_eq!(errors.len(), 3);
        assert_eq!(err.error_type(), "Config.MalformedName");
        assert!(source.calls().is_empty());
        let too_many: Vec<String> = (0..=MAX_NAMES_PER_REQUEST).map(|i| format!("n{i}")).collect();
        let refs: Vec<&str> = too_many.iter().map(String::as_str).collect();
        assert_eq!(reader.read(&names(&refs)).await.unwrap_err().error_type(), "Config.InvalidRequest");
        assert_eq!(reader.read(&names(&[])).await.unwrap_err().error_type(), "Config.InvalidRequest");
    }

    #[tokio::test]
    async fn source_errors_map_to_stable_types_and_are_not_cached() {
        let source = classic();
        let (reader, _) = reader(&source, &[]);
        let cases = [
            (AwsErrorKind::Denied { kms: false }, Some("AccessDeniedException"), "no", "Config.AccessDenied"),
            (
                AwsErrorKind::Denied { kms: true },
                Some("AccessDeniedException"),
                "kms:Decrypt",
                "Config.KmsDecryptDenied",
            ),
            (AwsErrorKind::Throttled, Some("ThrottlingException"), "Rate exceeded", "Config.Throttled"),
            (AwsErrorKind::Rejected, Some("ValidationException"), "bad name", "Config.RequestRefused"),
            (AwsErrorKind::NotFound, Some("ParameterNotFound"), "no such parameter", "Config.RequestRefused"),
            (AwsErrorKind::Unavailable, None, "the request timed out", "Config.Unavailable"),
        ];
        for (kind, code, message, error_type) in cases {
            source.fail(Some(AwsError::new(Service::Ssm, kind, code, message)));
            let err = reader.read(&Request::default()).await.unwrap_err();
            assert_eq!(err.error_type(), error_type, "{err}");
            let diagnostic: lambda_runtime::Diagnostic = err.into();
            assert_eq!(diagnostic.error_type, error_type);
        }
        source.fail(None);
        let ok = reader.read(&Request::default()).await.unwrap();
        assert_eq!(ok.aws_calls, 1, "the failures left nothing in the cache");
    }

    #[tokio::test]
    async fn path_mode_follows_every_page_and_caches_the_tree() {
        let source = classic();
        for i in 0..27 {
            source.put(&format!("/my-app/dev/tree/k{i:02}"), ParameterType::String, "v");
        }
        let (reader, _) = reader(&source, &[("READ_MODE", "path")]);
        let r = reader.read(&Request::default()).await.unwrap();
        assert_eq!(r.parameters.len(), 29, "27 + db-url + db-password, nothing from prod");
        assert_eq!(r.aws_calls, 3);
        assert_eq!(
            source.calls(),
            [Call::Path(None), Call::Path(Some("10".into())), Call::Path(Some("20".into()))]
        );
        assert!(r.parameters.iter().all(|p| p.name.starts_with("/my-app/dev/")));
        assert!(r.parameters.iter().any(|p| p.key == "tree/k26"));
        let warm = reader.read(&Request::default()).await.unwrap();
        assert_eq!((warm.aws_calls, warm.parameters.len()), (0, 29));
        let mixed = reader
            .read(&Request { mode: Some(ReadMode::Path), names: Some(vec!["x".into()]), refresh: false })
            .await;
        assert_eq!(mixed.unwrap_err().error_type(), "Config.InvalidRequest");
    }

    #[tokio::test]
    async fn a_repeated_page_token_stops_the_loop() {
        let source = Arc::new(FakeSource { repeat_token: true, ..FakeSource::default() });
        source.put("/my-app/dev/a", ParameterType::String, "v");
        let (reader, _) = reader(&source, &[("READ_MODE", "path")]);
        let err = reader.read(&Request::default()).await.unwrap_err();
        assert!(matches!(err, ReadError::Pagination { .. }), "{err}");
        assert_eq!(source.calls().len(), 2);
    }

    #[tokio::test]
    async fn secure_strings_are_decrypted_only_when_the_response_carries_them() {
        let source = classic();
        source.put(
            "/aws/reference/secretsmanager/my-app/dev/db-credentials",
            ParameterType::SecureString,
            "{\"password\":\"x\"}",
        );
        let (reader, _) = reader(&source, &[]);
        let r = reader.read(&Request::default()).await.unwrap();
        assert_eq!(*source.decrypted.lock().unwrap(), [false], "redacted anyway: KMS is not asked");
        assert!(r.parameters[1].redacted && r.parameters[1].value.is_none());
        let reference = "/aws/reference/secretsmanager/my-app/dev/db-credentials";
        reader.read(&Request { refresh: true, ..names(&["db-url", reference]) }).await.unwrap();
        assert_eq!(
            *source.decrypted.lock().unwrap(),
            [false, true, false],
            "a reference needs decryption, in a call of its own"
        );
        let exposed = classic();
        let (reader, _) = self::reader(&exposed, &[("EXPOSE_SECURE_VALUES", "true")]);
        let r = reader.read(&Request::default()).await.unwrap();
        assert_eq!(*exposed.decrypted.lock().unwrap(), [true]);
        assert_eq!(r.parameters[1].value.as_deref(), Some("dev-password-s3cr3t"));
        let (path_reader, _) = self::reader(&exposed, &[("READ_MODE", "path")]);
        path_reader.read(&Request::default()).await.unwrap();
        assert_eq!(exposed.decrypted.lock().unwrap().last(), Some(&false));
    }

    #[tokio::test]
    async fn refresh_is_limited_per_set_of_names() {
        let source = classic();
        let (reader, clock) = reader(&source, &[]);
        let refresh = Request { refresh: true, ..Request::default() };
        let first = reader.read(&refresh).await.unwrap();
        assert_eq!((first.aws_calls, first.refresh_limited), (1, false));
        for _ in 0..50 {
            let again = reader.read(&refresh).await.unwrap();
            assert_eq!((again.aws_calls, again.cache_hits, again.refresh_limited), (0, 2, true));
        }
        assert!(
            serde_json::to_string(&reader.read(&refresh).await.unwrap())
                .unwrap()
                .contains("\"refreshLimited\":true")
        );
        let other = reader.read(&Request { refresh: true, ..names(&["db-url"]) }).await.unwrap();
        assert_eq!(
            (other.aws_calls, other.refresh_limited),
            (1, false),
            "another set of names has its own limit"
        );
        clock.advance(Duration::from_secs(10));
        assert_eq!(reader.read(&refresh).await.unwrap().aws_calls, 1, "after the interval");
        assert_eq!(source.calls().len(), 3);
        assert!(!serde_json::to_string(&first).unwrap().contains("refreshLimited"));
    }

    #[tokio::test]
    async fn a_request_cannot_widen_names_to_the_tree() {
        let source = classic();
        let (reader, _) = reader(&source, &[]);
        let err =
            reader.read(&Request { mode: Some(ReadMode::Path), ..Request::default() }).await.unwrap_err();
        assert_eq!(err.error_type(), "Config.RequestNotAllowed");
        assert!(err.to_string().contains("ALLOW_PATH_REQUESTS"), "{err}");
        assert!(source.calls().is_empty());
        let (open, _) = self::reader(&source, &[("ALLOW_PATH_REQUESTS", "true")]);
        assert_eq!(
            open.read(&Request { mode: Some(ReadMode::Path), ..Request::default() })
                .await
                .unwrap()
                .parameters
                .len(),
            2
        );
        let (tree, _) = self::reader(&source, &[("READ_MODE", "path")]);
        let narrowed =
            tree.read(&Request { mode: Some(ReadMode::Names), ..names(&["db-url"]) }).await.unwrap();
        assert_eq!(narrowed.parameters.len(), 1, "narrowing is always allowed");
    }

    #[tokio::test]
    async fn configured_public_parameters_are_read_with_the_environments_own() {
        let ami = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64";
        let source = classic();
        source.put(ami, ParameterType::String, "ami-0123456789abcdef0");
        source.put("/aws/service/other/x", ParameterType::String, "y");
        let (reader, _) = reader(&source, &[("PUBLIC_PARAMETERS", ami)]);
        let r = reader.read(&Request::default()).await.unwrap();
        let got: Vec<_> = r.parameters.iter().map(|p| (p.key.as_str(), p.value.as_deref())).collect();
        assert_eq!(
            got,
            [
                ("db-url", Some("postgres://db.dev:5432/app")),
                ("db-password", None),
                (ami, Some("ami-0123456789abcdef0"))
            ]
        );
        assert_eq!(r.aws_calls, 1, "one GetParameters for all three");
        let err = reader.read(&names(&["/aws/service/other/x"])).await.unwrap_err();
        assert_eq!(err.error_type(), "Config.NameOutOfScope", "only the configured public parameters");
        let (plain, _) = self::reader(&source, &[]);
        assert_eq!(plain.read(&names(&[ami])).await.unwrap_err().error_type(), "Config.NameOutOfScope");
    }
}
