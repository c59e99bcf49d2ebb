use common::invocation::{init_failed, serve};
use notification::HandlerError;
use notification::sns::SnsNotifier;
use parameter_notifier::aws::SsmDirectory;
use parameter_notifier::{Config, Handler};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    common::init_tracing();
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(err) => return Err(init_failed(&HandlerError::Configuration(err)).await),
    };
    let sdk = common::aws_sdk_config().await;
    let handler =
        Handler::new(SsmDirectory::new(&sdk), SnsNotifier::new(&sdk, config.topic_arn.clone()), config);
    serve(|event| parameter_notifier::handle(&handler, event)).await
}
