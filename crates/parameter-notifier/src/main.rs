use lambda_runtime::service_fn;
use notification::sns::SnsNotifier;
use parameter_notifier::aws::SsmDirectory;
use parameter_notifier::{Config, Handler};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    common::init_tracing();
    let config = Config::from_env().inspect_err(|err| {
        tracing::error!(error_type = "Notify.InvalidConfiguration", error = %err, "cold start failed");
    })?;
    let sdk = common::aws_sdk_config().await;
    let handler = Handler::new(SsmDirectory::new(&sdk), SnsNotifier::new(&sdk, config.topic_arn.clone()), config);
    lambda_runtime::run(service_fn(|event| parameter_notifier::handle(&handler, event))).await
}
