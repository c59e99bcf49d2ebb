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
    *-notifier)
        if [[ " ${FNENV:-} " != *" TOPIC_ARN="* ]]; then
            topic="$(python3 -c 'import boto3; print(boto3.client("sns").create_topic(Name="local-notifications")["TopicArn"])')"
            echo "invoke: publishing to $topic (set FNENV=\"TOPIC_ARN=...\" for another topic)" >&2
            args+=(--env "TOPIC_ARN=$topic")
        fi ;;
esac
for pair in ${FNENV:-}; do args+=(--env "$pair"); done
exec python3 "$root/scripts/lambda_local.py" --binary "$target/debug/$FN" --env-file "$STACK_ENV_FILE" "${args[@]}" --event "$EVENT"
