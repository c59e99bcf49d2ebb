use common::invocation::{init_failed, serve};
use secret_rotation::aws::SecretsManager;
use secret_rotation::engines::Engines;
use secret_rotation::mysql::MySql;
use secret_rotation::network::TcpNetwork;
use secret_rotation::postgres::Postgres;
use secret_rotation::rds::Rds;
use secret_rotation::{Config, RotationError, Rotator};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    common::init_tracing();
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(err) => return Err(init_failed(&RotationError::Configuration(err)).await),
    };
    let sdk = common::aws_sdk_config().await;
    let network = TcpNetwork::new(config.db.connect_timeout);
    let databases = Engines { postgres: Postgres::new(config.db.clone()), mysql: MySql::new(config.db) };
    let rotator = Rotator::new(SecretsManager::new(&sdk), databases, config.policy)
        .with_rds(Rds::new(&sdk))
        .with_settings(config.settings);
    serve(|event| secret_rotation::handle(&rotator, &network, event)).await
}
