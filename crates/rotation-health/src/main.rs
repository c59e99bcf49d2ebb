use common::invocation::{init_failed, serve};
use notification::sns::SnsNotifier;
use rotation_health::aws::{LambdaDoctor, SsmParameters};
use rotation_health::{Config, Error, Handler};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    common::init_tracing();
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(err) => return Err(init_failed(&Error::Configuration(err)).await),
    };
    let sdk = common::aws_sdk_config().await;
    let parameters = SsmParameters::new(&sdk);
    let handler = Handler::new(
        LambdaDoctor::new(&sdk, config.doctor_function.clone()),
        parameters.clone(),
        parameters,
        SnsNotifier::new(&sdk, config.topic_arn.clone()),
        config,
    );
    serve(|event| rotation_health::handle(&handler, event)).await
}
