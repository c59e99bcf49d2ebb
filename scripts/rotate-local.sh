#!/usr/bin/env bash
# `make rotate`: seeds the demo secrets (my-app/<env>/db-credentials and their PostgreSQL users)
# when the secret to rotate does not exist yet, then rotates it with the built function.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
: "${STACK_ENV_FILE:?run through make rotate}"
secret="${1:-my-app/dev/db-credentials}"
target="${CARGO_TARGET_DIR:-$root/target}"
if ! python3 -c 'import sys, boto3; boto3.client("secretsmanager").describe_secret(SecretId=sys.argv[1])' "$secret" 2>/dev/null; then
    python3 scripts/seed.py
fi
mkdir -p "$STACK_DIR/demo-logs"
python3 scripts/rotate.py --binary "$target/debug/secret-rotation" --secret "$secret" --env-file "$STACK_ENV_FILE" \
    --env "DB_CA_BUNDLE=$PG_CA_FILE" --logs "$STACK_DIR/demo-logs/secret-rotation.log"
