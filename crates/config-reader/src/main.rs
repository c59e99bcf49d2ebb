use common::invocation::{init_failed, serve};
use config_reader::aws::SsmSource;
use config_reader::error::ReadError;
use config_reader::{Config, Reader};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    common::init_tracing();
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(err) => return Err(init_failed(&ReadError::Configuration(err)).await),
    };
    let sdk = common::aws_sdk_config().await;
    let reader = Reader::new(SsmSource::new(&sdk), config);
    serve(|event| config_reader::handle_payload(&reader, event)).await
}
