#!/usr/bin/env bash
# The end-to-end demo on the local stack (run through `make demo`, which starts the stack):
# seeds /my-app/dev/* and /my-app/prod/*, builds the config reader, and runs the built binary as
# Lambda would, for dev and for prod, printing what it read.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
: "${STACK_ENV_FILE:?run through make demo}"
target="${CARGO_TARGET_DIR:-$root/target}"
logs="$STACK_DIR/demo-logs"; mkdir -p "$logs"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "Seeding the local stack's Parameter Store and Secrets Manager"
python3 scripts/seed.py

step "Building the config reader"
cargo build --locked -p config-reader --bin config-reader
bin="$target/debug/config-reader"

run() { # env log-name events...
    local env="$1" name="$2"; shift 2
    local args=()
    for e in "$@"; do args+=(--event "$e"); done
    python3 scripts/lambda-local.py --binary "$bin" --env-file "$STACK_ENV_FILE" --env "DEV_OR_PROD=$env" \
        --logs "$logs/$name.log" "${args[@]}"
}

for env in dev prod; do
    step "DEV_OR_PROD=$env: the configured names (one GetParameters call), then the same again from the cache"
    run "$env" "$env" events/config-reader/default.json events/config-reader/default.json
    step "DEV_OR_PROD=$env: the whole /my-app/$env/ tree (GetParametersByPath)"
    run "$env" "$env-path" events/config-reader/path.json
done

step "DEV_OR_PROD=dev asked for prod's password: refused before any AWS call"
run dev refused events/config-reader/out-of-scope.json || true

step "DEV_OR_PROD=staging: the cold start fails with a clear error"
run staging staging events/config-reader/default.json 2>/dev/null || true
grep -h '"cold start failed"' "$logs/staging.log" || { echo "demo: expected a cold-start error" >&2; exit 1; }

step "The function's JSON logs (no value in them) are in $logs"
tail -n 2 "$logs/dev.log"
