use common::invocation::{init_failed, serve};
use secret_rotation::aws::SecretsManager;
use secret_rotation::dbconfig::DbConfig;
use secret_rotation::engines::Engines;
use secret_rotation::mysql::MySql;
use secret_rotation::password::PasswordPolicy;
use secret_rotation::postgres::Postgres;
use secret_rotation::rds::Rds;
use secret_rotation::settings::Settings;
use secret_rotation::{RotationError, Rotator};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    common::init_tracing();
    let env = common::env::ProcessEnv;
    let configured =
        PasswordPolicy::from_lookup(&env).and_then(|policy| Ok((policy, DbConfig::from_lookup(&env)?, Settings::from_lookup(&env)?)));
    let (policy, db, settings) = match configured {
        Ok(configured) => configured,
        Err(err) => return Err(init_failed(&RotationError::Configuration(err)).await),
    };
    let sdk = common::aws_sdk_config().await;
    let rotator = Rotator::new(SecretsManager::new(&sdk), Engines { postgres: Postgres::new(db.clone()), mysql: MySql::new(db) }, policy)
        .with_rds(Rds::new(&sdk))
        .with_settings(settings);
    serve(|event| secret_rotation::handle(&rotator, event)).await
}
