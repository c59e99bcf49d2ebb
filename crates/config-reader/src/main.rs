use config_reader::aws::SsmSource;
use config_reader::{Config, Reader};
use lambda_runtime::service_fn;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    common::init_tracing();
    let config = Config::from_env().inspect_err(|err| {
        tracing::error!(error_type = "Config.InvalidConfiguration", error = %err, "cold start failed");
    })?;
    let sdk = common::aws_sdk_config().await;
    let reader = Reader::new(SsmSource::new(&sdk), config);
    lambda_runtime::run(service_fn(|event| config_reader::handle(&reader, event))).await
}
