#!/usr/bin/env bash
# The end-to-end demo on the local stack (run through `make demo`, which starts the stack):
# seeds /my-app/dev/* and /my-app/prod/*, builds the functions, runs the built config reader as
# Lambda would, for dev and for prod, printing what it read, then rotates the dev PostgreSQL
# and MariaDB secrets with the built rotation function, driven as Secrets Manager drives it.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
: "${STACK_ENV_FILE:?run through make demo}"
target="${CARGO_TARGET_DIR:-$root/target}"
logs="$STACK_DIR/demo-logs"; mkdir -p "$logs"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "Seeding the local stack's Parameter Store and Secrets Manager"
python3 scripts/seed.py

step "Building the config reader and the rotation function"
cargo build --locked -p config-reader --bin config-reader -p secret-rotation --bin secret-rotation
bin="$target/debug/config-reader"

run() { # env log-name events...
    local env="$1" name="$2"; shift 2
    local args=()
    for e in "$@"; do args+=(--event "$e"); done
    python3 scripts/lambda_local.py --binary "$bin" --env-file "$STACK_ENV_FILE" --env "DEV_OR_PROD=$env" \
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

step "Rotating my-app/dev/db-credentials (PostgreSQL, TLS verified, SCRAM) as Secrets Manager would"
python3 scripts/rotate.py --binary "$target/debug/secret-rotation" --secret my-app/dev/db-credentials \
    --env-file "$STACK_ENV_FILE" --env "DB_CA_BUNDLE=$PG_CA_FILE" --logs "$logs/secret-rotation.log"
step "Rotating my-app/dev/mariadb-credentials (MariaDB, TLS verified, only the password's hash sent)"
python3 scripts/rotate.py --binary "$target/debug/secret-rotation" --secret my-app/dev/mariadb-credentials \
    --env-file "$STACK_ENV_FILE" --env "DB_CA_BUNDLE=$MARIADB_CA_FILE" --logs "$logs/secret-rotation.log"

step "The new AWSCURRENT credentials log in"
python3 - <<'PY'
import json, os, subprocess, boto3
s = json.loads(boto3.client("secretsmanager").get_secret_value(SecretId="my-app/dev/db-credentials", VersionStage="AWSCURRENT")["SecretString"])
out = subprocess.run(["psql", "-qtAX", f"host={s['host']} port={s['port']} user={s['username']} dbname={s['dbname']} "
                      f"sslmode=verify-full sslrootcert={os.environ['PG_CA_FILE']}", "-c",
                      "SELECT current_user || ' over ' || (SELECT version FROM pg_stat_ssl WHERE pid = pg_backend_pid())"],
                     env=dict(os.environ, PGPASSWORD=s["password"]), check=True, capture_output=True, text=True)
print(f"psql as {s['username']} with the rotated password: {out.stdout.strip()}")
m = json.loads(boto3.client("secretsmanager").get_secret_value(SecretId="my-app/dev/mariadb-credentials", VersionStage="AWSCURRENT")["SecretString"])
out = subprocess.run(["mariadb", "--no-defaults", "-h", m["host"], "-P", str(m["port"]), "-u", m["username"], f"-p{m['password']}",
                      f"--ssl-ca={os.environ['MARIADB_CA_FILE']}", "--ssl-verify-server-cert", "-N", "-B", "-e",
                      "SELECT CONCAT(CURRENT_USER(), ' over ', VARIABLE_VALUE) FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME = 'Ssl_version'"],
                     check=True, capture_output=True, text=True)
print(f"mariadb as {m['username']} with the rotated password: {out.stdout.strip()}")
PY

step "The functions' JSON logs (no secret value in them) are in $logs"
tail -n 1 "$logs/dev.log"
tail -n 1 "$logs/secret-rotation.log"
