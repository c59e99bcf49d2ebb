use lambda_runtime::service_fn;
use secret_rotation::Rotator;
use secret_rotation::aws::SecretsManager;
use secret_rotation::dbconfig::DbConfig;
use secret_rotation::engines::Engines;
use secret_rotation::mysql::MySql;
use secret_rotation::password::PasswordPolicy;
use secret_rotation::postgres::Postgres;
use secret_rotation::rds::Rds;
use secret_rotation::settings::Settings;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    common::init_tracing();
    let env = common::env::ProcessEnv;
    let (policy, db, settings) = PasswordPolicy::from_lookup(&env)
        .and_then(|policy| Ok((policy, DbConfig::from_lookup(&env)?, Settings::from_lookup(&env)?)))
        .inspect_err(|err| tracing::error!(error_type = "Rotation.InvalidConfiguration", error = %err, "cold start failed"))?;
    let sdk = common::aws_sdk_config().await;
    let rotator = Rotator::new(SecretsManager::new(&sdk), Engines { postgres: Postgres::new(db.clone()), mysql: MySql::new(db) }, policy)
        .with_rds(Rds::new(&sdk))
        .with_settings(settings);
    lambda_runtime::run(service_fn(|event| secret_rotation::handle(&rotator, event))).await
}
