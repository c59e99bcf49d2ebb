#!/usr/bin/env bash
# `make watch`: `cargo lambda watch` over the five functions on the local stack (run through
# scripts/with-stack.sh, which exports the stack's endpoints and credentials). Invoke them with
# `make invoke-watch FN=... EVENT=...` (cargo lambda invoke).
#
# Each function's own settings are cargo lambda's per-function environment, the
# [package.metadata.lambda.env] table of its Cargo.toml. What depends on ENV or on the running stack
# is added here, through the environment that cargo lambda passes on to the functions; none of it is
# in the metadata, because cargo lambda lets the metadata win over --env-var:
#   - DEV_OR_PROD, and the paths and the secret of ENV (the local stack's application is my-app),
#     unless the caller's environment already sets them;
#   - DB_CA_BUNDLE: the local databases' CA, so that the rotation function verifies their TLS;
#   - AWS_ENDPOINT_URL_LAMBDA: watch's own Invoke API, where rotation health's sweep finds the
#     rotation function (DOCTOR_FUNCTION=secret-rotation) running under the same watch.
# The notifiers' topic, local-notifications, is created in moto (their metadata names its ARN).
# Arguments are passed on to cargo lambda watch.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
: "${STACK_ENV_FILE:?run through make watch}" "${PG_CA_FILE:?}"
env="${ENV:-dev}"
port="${WATCH_PORT:-9000}"
case "$env" in
    dev | prod) ;;
    *) echo "watch: ENV must be dev or prod, not $env" >&2; exit 2 ;;
esac
expected="arn:aws:sns:${AWS_REGION}:123456789012:local-notifications"
topic="$(python3 -c 'import boto3; print(boto3.client("sns").create_topic(Name="local-notifications")["TopicArn"])')"
if [ "$topic" != "$expected" ]; then
    echo "watch: the local topic is $topic, not $expected as the notifiers' metadata says" >&2
    exit 1
fi
# ENV's values, unless the caller's environment sets one.
: "${AUDIT_PATH:=/my-app/$env/}" "${AUDIT_STATE_PARAMETER:=/config-keeper/my-app-$env/parameter-audit}"
: "${SECRETS:=my-app/$env/db-credentials}" "${STATE_PATH:=/config-keeper/my-app-$env/rotation-health}"
export DEV_OR_PROD="$env" AUDIT_PATH AUDIT_STATE_PARAMETER SECRETS STATE_PATH \
    DB_CA_BUNDLE="$PG_CA_FILE" AWS_ENDPOINT_URL_LAMBDA="http://127.0.0.1:$port"
echo "watch: ENV=$env on 127.0.0.1:$port; notifications go to $topic" >&2
exec cargo lambda watch --invoke-address 127.0.0.1 --invoke-port "$port" "$@"
