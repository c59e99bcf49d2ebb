use certificate_notifier::aws::AcmDirectory;
use certificate_notifier::{Config, Handler};
use lambda_runtime::service_fn;
use notification::sns::SnsNotifier;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    common::init_tracing();
    let config = Config::from_env().inspect_err(|err| {
        tracing::error!(error_type = "Notify.InvalidConfiguration", error = %err, "cold start failed");
    })?;
    let sdk = common::aws_sdk_config().await;
    let handler = Handler::new(AcmDirectory::new(&sdk), SnsNotifier::new(&sdk, config.topic_arn.clone()), config);
    lambda_runtime::run(service_fn(|event| certificate_notifier::handle(&handler, event))).await
}
