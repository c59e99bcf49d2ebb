#!/usr/bin/env bash
# `make invoke`: runs the built function FN once with EVENT against the local stack (run through
# scripts/with-stack.sh), as Lambda would. The notifiers publish to TOPIC_ARN: unless FNENV sets
# it, a topic "local-notifications" is created in moto for them. FNENV adds "KEY=VALUE ..." to the
# function's environment.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
: "${STACK_ENV_FILE:?run through make invoke}" "${FN:?}" "${EVENT:?}"
target="${CARGO_TARGET_DIR:-$root/target}"
args=(--env "DEV_OR_PROD=${ENV:-dev}")
case "$FN" in
    *-notifier|rotation-health)
        if [[ " ${FNENV:-} " != *" TOPIC_ARN="* ]]; then
            topic="$(python3 -c 'import boto3; print(boto3.client("sns").create_topic(Name="local-notifications")["TopicArn"])')"
            echo "invoke: publishing to $topic (set FNENV=\"TOPIC_ARN=...\" for another topic)" >&2
            args+=(--env "TOPIC_ARN=$topic")
        fi ;;
esac
if [ "$FN" = rotation-health ]; then
    # The stack's settings, for the local stack: the dev secret, the built rotation function (the
    # sweep reaches it through scripts/lambda_local.py's Invoke API: AWS_ENDPOINT_URL_LAMBDA).
    args+=(--env "SECRETS=my-app/dev/db-credentials" --env "DOCTOR_FUNCTION=my-app-dev-secret-rotation"
           --env "STATE_PATH=/config-keeper/my-app-dev/rotation-health")
fi
for pair in ${FNENV:-}; do args+=(--env "$pair"); done
exec python3 "$root/scripts/lambda_local.py" --binary "$target/debug/$FN" --env-file "$STACK_ENV_FILE" "${args[@]}" --event "$EVENT"
