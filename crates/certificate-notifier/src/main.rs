use certificate_notifier::aws::AcmDirectory;
use certificate_notifier::{Config, Handler};
use common::invocation::{init_failed, serve};
use notification::HandlerError;
use notification::sns::SnsNotifier;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    common::init_tracing();
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(err) => return Err(init_failed(&HandlerError::Configuration(err)).await),
    };
    let sdk = common::aws_sdk_config().await;
    let acm = AcmDirectory::new(&sdk);
    // The account's DaysBeforeExpiry is read beside the first event's look-up, not here.
    let handler = Handler::new(acm, SnsNotifier::new(&sdk, config.topic_arn.clone()), config);
    serve(|event| certificate_notifier::handle(&handler, event)).await
}
