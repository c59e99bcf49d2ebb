use certificate_notifier::aws::AcmDirectory;
use certificate_notifier::{Config, Handler};
use common::invocation::{init_failed, serve};
use notification::HandlerError;
use notification::sns::SnsNotifier;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    common::init_tracing();
    let mut config = match Config::from_env() {
        Ok(config) => config,
        Err(err) => return Err(init_failed(&HandlerError::Configuration(err)).await),
    };
    let sdk = common::aws_sdk_config().await;
    let acm = AcmDirectory::new(&sdk);
    certificate_notifier::check_account(&acm, &mut config).await;
    let handler = Handler::new(acm, SnsNotifier::new(&sdk, config.topic_arn.clone()), config);
    serve(|event| certificate_notifier::handle(&handler, event)).await
}
