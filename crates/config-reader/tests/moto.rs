//! The config reader against the local stack's moto server: real SDK calls, a KMS key, String and
//! SecureString parameters for both environments, pagination, a Secrets Manager reference,
//! selectors, missing names, and captured logs free of every secret value.
//!
//! Needs the local stack (`make stack-up`; `make test` starts it). Fails, never skips, without it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_sdk_ssm::types::ParameterType as SsmType;
use common::ErrorKind;
use common::invocation::observe;
use common::testing::{LocalStack, LogCapture};
use config_reader::aws::SsmSource;
use config_reader::source::ParameterType;
use config_reader::{Config, ReadError, Reader, Request, Response};
use tracing::instrument::WithSubscriber;

/// One isolated application on the shared moto server: its own prefix, key and secrets.
struct App {
    stack: LocalStack,
    prefix: String,
    secrets: Vec<String>,
}

const TREE_SIZE: usize = 27;

impl App {
    async fn seed() -> Self {
        let stack = LocalStack::load();
        let sdk = stack.sdk_config();
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
        let prefix = format!("/it-{}-{nanos}", std::process::id());
        let kms = aws_sdk_kms::Client::new(&sdk);
        let key = kms.create_key().description("config-reader integration test").send().await.unwrap();
        let key_id = key.key_metadata.unwrap().key_id;
        let ssm = aws_sdk_ssm::Client::new(&sdk);
        let mut secrets = Vec::new();
        for env in ["dev", "prod"] {
            let password = format!("{env}-pw-{nanos}-Zq9!");
            put(
                &ssm,
                &format!("{prefix}/{env}/db-url"),
                SsmType::String,
                &format!("postgres://db.{env}.internal:5432/app"),
                None,
            )
            .await;
            put(
                &ssm,
                &format!("{prefix}/{env}/db-password"),
                SsmType::SecureString,
                &password,
                Some(&key_id),
            )
            .await;
            secrets.push(password);
        }
        // A second version of dev's db-url, the first labelled `stable`.
        put(
            &ssm,
            &format!("{prefix}/dev/db-url"),
            SsmType::String,
            "postgres://db-v2.dev.internal:5432/app",
            None,
        )
        .await;
        ssm.label_parameter_version()
            .name(format!("{prefix}/dev/db-url"))
            .parameter_version(1)
            .labels("stable")
            .send()
            .await
            .unwrap();
        for i in 0..TREE_SIZE {
            let kind = if i % 3 == 0 { SsmType::SecureString } else { SsmType::String };
            let value = format!("tree-value-{i}-{nanos}");
            put(
                &ssm,
                &format!("{prefix}/dev/tree/level-{}/k{i:02}", i % 4),
                kind.clone(),
                &value,
                (kind == SsmType::SecureString).then_some(key_id.as_str()),
            )
            .await;
            if kind == SsmType::SecureString {
                secrets.push(value);
            }
        }
        let secret_json = format!(r#"{{"username":"app","password":"sm-pw-{nanos}-Xy7#"}}"#);
        let sm = aws_sdk_secretsmanager::Client::new(&sdk);
        for env in ["dev", "prod"] {
            let created = sm
                .create_secret()
                .name(format!("{}/{env}/db-credentials", &prefix[1..]))
                .secret_string(&secret_json)
                .send()
                .await;
            // The name is this test's own: "already exists" is the SDK's retry of a first attempt
            // that moto completed late (moto ignores the request's idempotency token).
            if let Err(e) = created {
                let code = aws_sdk_secretsmanager::error::ProvideErrorMetadata::code(&e).map(str::to_owned);
                assert_eq!(code.as_deref(), Some("ResourceExistsException"), "{e:?}");
            }
        }
        secrets.push(format!("sm-pw-{nanos}-Xy7#"));
        Self { stack, prefix, secrets }
    }

    fn reader(&self, env: &[(&str, &str)]) -> Reader<SsmSource> {
        let mut map: HashMap<&str, &str> = [("PARAMETER_PREFIX", self.prefix.as_str())].into_iter().collect();
        map.extend(env.iter().copied());
        let config = Config::from_lookup(&map).unwrap();
        Reader::new(SsmSource::from_client(aws_sdk_ssm::Client::new(&self.stack.sdk_config())), config)
    }

    fn secret_refs(&self) -> Vec<&str> {
        self.secrets.iter().map(String::as_str).collect()
    }
}

async fn put(ssm: &aws_sdk_ssm::Client, name: &str, kind: SsmType, value: &str, key: Option<&str>) {
    ssm.put_parameter()
        .name(name)
        .r#type(kind)
        .value(value)
        .set_key_id(key.map(str::to_owned))
        .overwrite(true)
        .send()
        .await
        .unwrap();
}

fn values(r: &Response) -> Vec<(String, Option<String>)> {
    r.parameters.iter().map(|p| (p.key.clone(), p.value.clone())).collect()
}

fn names(list: &[&str]) -> Request {
    Request { names: Some(list.iter().map(|s| (*s).to_owned()).collect()), ..Request::default() }
}

#[tokio::test]
async fn each_environment_reads_its_own_parameters_and_redacts_secure_strings() {
    let app = App::seed().await;
    let logs = LogCapture::default();
    async {
        for (env, password) in [("dev", &app.secrets[0]), ("prod", &app.secrets[1])] {
            let reader = app.reader(&[("DEV_OR_PROD", env)]);
            let r = observe(reader.read(&Request::default())).await.unwrap();
            assert_eq!(r.scope, format!("{}/{env}/", app.prefix));
            assert_eq!(r.aws_calls, 1, "one GetParameters call for both names");
            let url = if env == "dev" {
                "postgres://db-v2.dev.internal:5432/app".to_owned()
            } else {
                format!("postgres://db.{env}.internal:5432/app")
            };
            assert_eq!(values(&r), [("db-url".to_owned(), Some(url)), ("db-password".to_owned(), None)]);
            assert_eq!(r.parameters[1].kind, ParameterType::SecureString);
            assert!(r.parameters[1].redacted);
            assert_eq!(r.parameters[0].version, if env == "dev" { 2 } else { 1 });
            assert!(
                r.parameters[0].last_modified.as_deref().is_some_and(|t| t.ends_with('Z')),
                "{:?}",
                r.parameters[0].last_modified
            );
            assert!(!serde_json::to_string(&r).unwrap().contains(password.as_str()));

            let exposing = app.reader(&[("DEV_OR_PROD", env), ("EXPOSE_SECURE_VALUES", "true")]);
            let r = observe(exposing.read(&Request::default())).await.unwrap();
            assert_eq!(r.parameters[1].value.as_deref(), Some(password.as_str()), "decrypted through KMS");
            let other = if env == "dev" { "prod" } else { "dev" };
            let err = observe(exposing.read(&names(&[&format!("{}/{other}/db-password", app.prefix)])))
                .await
                .unwrap_err();
            assert_eq!(err.error_type(), "Config.NameOutOfScope");
        }
    }
    .with_subscriber(logs.subscriber())
    .await;
    logs.assert_free_of(&app.secret_refs());
    let outcome = logs.text().lines().filter(|l| l.contains("\"outcome\":\"read\"")).count();
    assert_eq!(outcome, 4, "one outcome line per successful read: {}", logs.text());
}

#[tokio::test]
async fn path_mode_pages_through_the_whole_tree() {
    let app = App::seed().await;
    let logs = LogCapture::default();
    let reader =
        app.reader(&[("DEV_OR_PROD", "dev"), ("READ_MODE", "path"), ("EXPOSE_SECURE_VALUES", "true")]);
    let r = reader.read(&Request::default()).with_subscriber(logs.subscriber()).await.unwrap();
    assert_eq!(r.parameters.len(), TREE_SIZE + 2);
    assert!(r.aws_calls >= 3, "{} calls for {} parameters at 10 a page", r.aws_calls, TREE_SIZE + 2);
    assert!(r.parameters.iter().all(|p| p.name.starts_with(&format!("{}/dev/", app.prefix))));
    let k26 = r.parameters.iter().find(|p| p.key == "tree/level-2/k26").unwrap();
    assert!(k26.value.as_deref().unwrap().starts_with("tree-value-26-"));
    let k00 = r.parameters.iter().find(|p| p.key == "tree/level-0/k00").unwrap();
    assert_eq!(k00.kind, ParameterType::SecureString);
    assert!(
        k00.value.as_deref().unwrap().starts_with("tree-value-0-"),
        "SecureStrings decrypted in path mode"
    );
    let warm = reader.read(&Request::default()).with_subscriber(logs.subscriber()).await.unwrap();
    assert_eq!((warm.aws_calls, warm.parameters.len()), (0, TREE_SIZE + 2));
    logs.assert_free_of(&app.secret_refs());
}

#[tokio::test]
async fn secrets_manager_references_selectors_and_the_cache() {
    let app = App::seed().await;
    let logs = LogCapture::default();
    async {
        let reader = app.reader(&[("DEV_OR_PROD", "dev"), ("EXPOSE_SECURE_VALUES", "true")]);
        let reference = format!("/aws/reference/secretsmanager/{}/dev/db-credentials", &app.prefix[1..]);
        let r = reader.read(&names(&[&reference, "db-url:1", "db-url:stable", "db-url"])).await.unwrap();
        assert_eq!(r.aws_calls, 1);
        let secret = r.parameters[0].value.as_deref().unwrap();
        assert!(secret.contains(app.secrets.last().unwrap().as_str()), "the reference reads the secret");
        assert_eq!(r.parameters[0].kind, ParameterType::SecureString);
        assert_eq!(r.parameters[1].value.as_deref(), Some("postgres://db.dev.internal:5432/app"));
        assert_eq!(r.parameters[1].selector.as_deref(), Some(":1"));
        assert_eq!(r.parameters[2].value.as_deref(), Some("postgres://db.dev.internal:5432/app"));
        assert_eq!(r.parameters[2].selector.as_deref(), Some(":stable"));
        assert_eq!(r.parameters[3].value.as_deref(), Some("postgres://db-v2.dev.internal:5432/app"));

        let warm = reader.read(&names(&[&reference, "db-url:stable"])).await.unwrap();
        assert_eq!(
            (warm.aws_calls, warm.cache_hits),
            (0, 2),
            "a warm invocation inside the TTL makes no call"
        );

        let prod_reference =
            format!("/aws/reference/secretsmanager/{}/prod/db-credentials", &app.prefix[1..]);
        let err = reader.read(&names(&[&prod_reference])).await.unwrap_err();
        assert_eq!(err.error_type(), "Config.NameOutOfScope");
    }
    .with_subscriber(logs.subscriber())
    .await;
    logs.assert_free_of(&app.secret_refs());
}

#[tokio::test]
async fn missing_names_are_all_listed_and_not_cached() {
    let app = App::seed().await;
    let logs = LogCapture::default();
    async {
        let reader = app.reader(&[
            ("DEV_OR_PROD", "dev"),
            ("PARAMETER_NAMES", "db-url,api-key,feature-flags,db-password"),
        ]);
        let err = observe(reader.read(&Request::default())).await.unwrap_err();
        assert_eq!(err.error_type(), "Config.MissingParameter");
        let ReadError::MissingParameters { names: missing } = &err else { panic!("{err}") };
        assert_eq!(missing.len(), 2, "{missing:?}");
        assert!(missing.contains(&format!("{}/dev/api-key", app.prefix)));
        assert!(missing.contains(&format!("{}/dev/feature-flags", app.prefix)));
        let version_err = observe(reader.read(&names(&["db-url:9", "db-url:nolabel"]))).await.unwrap_err();
        assert_eq!(version_err.error_type(), "Config.MissingParameter", "{version_err}");

        // Creating the missing parameters makes the next invocation succeed: nothing failed was cached.
        let ssm = aws_sdk_ssm::Client::new(&app.stack.sdk_config());
        put(&ssm, &format!("{}/dev/api-key", app.prefix), SsmType::String, "k", None).await;
        put(&ssm, &format!("{}/dev/feature-flags", app.prefix), SsmType::StringList, "a,b", None).await;
        let r = observe(reader.read(&Request::default())).await.unwrap();
        assert_eq!(r.parameters.len(), 4);
        assert_eq!(r.parameters[2].kind, ParameterType::StringList);
        assert_eq!(r.cache_hits, 2, "the two found before were cached");
    }
    .with_subscriber(logs.subscriber())
    .await;
    logs.assert_free_of(&app.secret_refs());
    assert!(logs.text().contains("Config.MissingParameter"));
}

#[tokio::test]
async fn hostile_names_make_no_call() {
    let app = App::seed().await;
    let reader = app.reader(&[("DEV_OR_PROD", "dev")]);
    for (name, error_type) in [
        ("../prod/db-password", "Config.MalformedName"),
        ("/other-app/dev/db-password", "Config.NameOutOfScope"),
        ("db-password\u{0}", "Config.MalformedName"),
        ("/aws/reference/secretsmanager/other/prod/x", "Config.NameOutOfScope"),
    ] {
        let err = reader.read(&names(&[name])).await.unwrap_err();
        assert_eq!(err.error_type(), error_type, "{name:?}: {err}");
    }
    let r = reader.read(&Request::default()).await.unwrap();
    assert_eq!(r.aws_calls, 1, "the refusals made no call and cached nothing");
}

/// AWS's public parameters (here the latest Amazon Linux 2023 AMI id, which moto publishes as
/// AWS does) are read with the environment's own when configured, and only those.
#[tokio::test]
async fn configured_public_parameters_are_read_and_others_refused() {
    let app = App::seed().await;
    let ami = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64";
    let reader = app.reader(&[("DEV_OR_PROD", "dev"), ("PUBLIC_PARAMETERS", ami)]);
    let r = reader.read(&Request::default()).await.unwrap();
    assert_eq!(r.aws_calls, 1, "one GetParameters for the environment's names and the public one");
    let public = r.parameters.iter().find(|p| p.name == ami).expect("the public parameter");
    assert_eq!(public.key, ami);
    assert!(public.value.as_deref().is_some_and(|v| v.starts_with("ami-")), "{public:?}");
    let other = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64";
    assert_eq!(reader.read(&names(&[other])).await.unwrap_err().error_type(), "Config.NameOutOfScope");
}
