#!/usr/bin/env bash
# `make doctor`: seeds the demo secrets when the secret does not exist yet, then runs the built
# rotation function's doctor on it against the local stack (run through scripts/with-stack.sh).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
: "${STACK_ENV_FILE:?run through make doctor}" "${PG_CA_FILE:?}"
secret="${1:-my-app/dev/db-credentials}"
target="${CARGO_TARGET_DIR:-$root/target}"
if ! python3 -c 'import sys, boto3; boto3.client("secretsmanager").describe_secret(SecretId=sys.argv[1])' "$secret" 2>/dev/null; then
    python3 scripts/seed.py
fi
mkdir -p "$STACK_DIR/demo-logs"
exec python3 scripts/doctor.py local --binary "$target/debug/secret-rotation" --env-file "$STACK_ENV_FILE" \
    --env "DB_CA_BUNDLE=$PG_CA_FILE" --env DB_CONNECT_TIMEOUT_SECONDS=3 \
    --logs "$STACK_DIR/demo-logs/doctor.log" --secret "$secret"
