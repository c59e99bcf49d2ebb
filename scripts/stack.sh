#!/usr/bin/env bash
# The local stack: a moto server (the AWS API), PostgreSQL (15 to 17, TLS + SCRAM), a PgBouncer in front
# of it (TLS + SCRAM, PgBouncer's defaults) and MariaDB (TLS), each on 127.0.0.1 and a free port,
# with data under a temporary folder.
#
#   scripts/stack.sh up       start (does nothing when the stack is already up and healthy)
#   scripts/stack.sh down     stop what `up` started, by PID, and remove its data
#   scripts/stack.sh status   say whether it is up
#
# Endpoints and credentials go to one env file ($STACK_DIR/stack.env, default .stack/stack.env)
# that the tests, the demo, the benchmark and `cargo lambda invoke` read.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STACK_DIR="${STACK_DIR:-$root/.stack}"
ENV_FILE="$STACK_DIR/stack.env"
# shellcheck source=scripts/tools.sh
. "$root/scripts/tools.sh"
tools_on_path
PYTHON="${PYTHON:-python3}"

say() { printf '[stack] %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

pg_bin() { # initdb|pg_ctl of the highest installed server from 17 down to 15 (scripts/tools.sh)
    local d
    d="$(pg_bindir)" || die "no PostgreSQL server (15 to 17) found: run 'make setup', or set PG_BINDIR"
    echo "$d/$1"
}

pgbouncer_bin() {
    local b
    for b in "$(command -v pgbouncer 2>/dev/null || true)" /usr/sbin/pgbouncer; do
        [ -n "$b" ] && [ -x "$b" ] && { echo "$b"; return; }
    done
    die "PgBouncer not found: run 'make setup'"
}

as_postgres() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_ports() {
    "$PYTHON" - "$1" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
}

wait_tcp() { # port seconds
    local deadline=$((SECONDS + $2))
    until (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; do
        [ "$SECONDS" -lt "$deadline" ] || return 1
        sleep 0.05
    done
}

alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }

healthy() {
    [ -f "$ENV_FILE" ] || return 1
    # shellcheck disable=SC1090,SC2153 # the *_PID and *_PORT variables come from the env file
    ( set -a; . "$ENV_FILE"; set +a
      alive "$MOTO_PID" && alive "$PG_PID" && alive "$MARIADB_PID" && alive "${PGBOUNCER_PID:-}" &&
      wait_tcp "$MOTO_PORT" 1 && wait_tcp "$PG_PORT" 1 && wait_tcp "$MARIADB_PORT" 1 && wait_tcp "$PGBOUNCER_PORT" 1 )
}

make_certs() { # dir
    local d="$1"
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=local-stack test CA" \
        -keyout "$d/ca.key" -out "$d/ca.pem" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
        -keyout "$d/server.key" -out "$d/server.csr" 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' > "$d/server.ext"
    openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
        -days 2 -out "$d/server.pem" -extfile "$d/server.ext" 2>/dev/null
    rm -f "$d/server.csr" "$d/server.ext" "$d/ca.srl" "$d/ca.key"
}

random_password() { "$PYTHON" -c 'import secrets; print(secrets.token_urlsafe(24))'; }

start_moto() { # port log
    # moto's server, with parameter policies in AWS's shape (scripts/moto_server.py says why).
    "$PYTHON" "$root/scripts/moto_server.py" -H 127.0.0.1 -p "$1" >"$2" 2>&1 &
    echo $!
}

start_postgres() { # data port ca-dir password log
    local data="$1" port="$2" certs="$3" password="$4" log="$5"
    local pw; pw="$(mktemp)"; printf '%s\n' "$password" > "$pw"
    mkdir -p "$data"
    if [ "$(id -u)" = 0 ]; then chown postgres: "$data" "$pw"; fi
    as_postgres "$(pg_bin initdb)" -D "$data" -U postgres --pwfile="$pw" -N -A scram-sha-256 \
        --auth-local=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$log" 2>&1 || { cat "$log" >&2; rm -f "$pw"; return 1; }
    rm -f "$pw"
    cp "$certs/server.pem" "$data/server.crt"; cp "$certs/server.key" "$data/server.key"; cp "$certs/ca.pem" "$data/root.crt"
    chmod 600 "$data/server.key"
    if [ "$(id -u)" = 0 ]; then chown postgres: "$data/server.crt" "$data/server.key" "$data/root.crt"; fi
    cat >>"$data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$data'
ssl = on
ssl_cert_file = 'server.crt'
ssl_key_file = 'server.key'
password_encryption = 'scram-sha-256'
fsync = off
synchronous_commit = off
full_page_writes = off
log_statement = 'all'
log_connections = on
log_destination = 'stderr'
logging_collector = off
CONF
    # Members of the role ssl_required may connect with TLS only (tests prove "ssl": false fails for them).
    # Members of the role md5_users log in with method md5, so a password stored as an md5 hash works
    # for them (a SCRAM-stored one still does: md5 falls back to SCRAM). First match wins: the
    # ssl_required reject comes before any other hostnossl line.
    cat >"$data/pg_hba.conf" <<HBA
local     all all                        scram-sha-256
hostssl   all +md5_users 127.0.0.1/32    md5
hostssl   all all 127.0.0.1/32           scram-sha-256
hostnossl all +ssl_required 127.0.0.1/32 reject
hostnossl all +md5_users 127.0.0.1/32    md5
hostnossl all all 127.0.0.1/32           scram-sha-256
HBA
    as_postgres "$(pg_bin pg_ctl)" -D "$data" -l "$data/server.log" -w -t 30 start >>"$log" 2>&1 \
        || { cat "$log" "$data/server.log" >&2; return 1; }
    PGPASSWORD="$password" psql -qX -h "$data" -p "$port" -U postgres -d postgres \
        -c 'CREATE ROLE ssl_required NOLOGIN' -c 'CREATE ROLE md5_users NOLOGIN' >>"$log" 2>&1 \
        || { cat "$log" >&2; return 1; }
    head -n 1 "$data/postmaster.pid"
}

start_pgbouncer() { # dir port pg-port ca-dir postgres-password log
    # PgBouncer's defaults for everything a client can notice (pool_mode = session, no
    # ignore_startup_parameters, so a client sending `options` is refused as in production).
    # Users come from the server through auth_query (tests create them on the fly); SCRAM
    # pass-through lets PgBouncer log them in to the server with the client's SCRAM proof.
    local dir="$1" port="$2" pg_port="$3" certs="$4" password="$5" log="$6"
    mkdir -p "$dir"
    printf '"postgres" "%s"\n' "$password" >"$dir/userlist.txt"
    chmod 600 "$dir/userlist.txt"
    cat >"$dir/pgbouncer.ini" <<INI
[databases]
* = host=127.0.0.1 port=$pg_port

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir = $dir
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
auth_type = scram-sha-256
auth_file = $dir/userlist.txt
auth_user = postgres
client_tls_sslmode = require
client_tls_cert_file = $certs/server.pem
client_tls_key_file = $certs/server.key
server_tls_sslmode = verify-full
server_tls_ca_file = $certs/ca.pem
INI
    if [ "$(id -u)" = 0 ]; then chown -R postgres: "$dir"; fi
    as_postgres "$(pgbouncer_bin)" -d -q "$dir/pgbouncer.ini" >"$log" 2>&1 \
        || { cat "$log" "$dir/pgbouncer.log" >&2 2>/dev/null; return 1; }
    # The daemon listens before it writes its pid file: wait for both.
    local pid="" deadline=$((SECONDS + 10))
    until pid="$(cat "$dir/pgbouncer.pid" 2>/dev/null)" && alive "$pid" && wait_tcp "$port" 1; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            echo "$pid"  # what `down` is to stop
            cat "$log" "$dir/pgbouncer.log" >&2 2>/dev/null
            return 1
        fi
        sleep 0.05
    done
    echo "$pid"
}

start_mariadb() { # data port ca-dir password log
    local data="$1" port="$2" certs="$3" password="$4" log="$5"
    local installdb server client
    installdb="$(command -v mariadb-install-db || true)"
    server="$(command -v mariadbd || echo /usr/sbin/mariadbd)"
    client="$(command -v mariadb || true)"
    if [ -z "$installdb" ] || [ ! -x "$server" ] || [ -z "$client" ]; then die "MariaDB server not found: run 'make setup'"; fi
    mkdir -p "$data"
    "$installdb" --no-defaults --datadir="$data/db" --user="$(id -un)" --auth-root-authentication-method=normal \
        --skip-test-db >"$log" 2>&1 || { cat "$log" >&2; return 1; }
    "$server" --no-defaults --datadir="$data/db" --user="$(id -un)" --bind-address=127.0.0.1 --port="$port" \
        --socket="$data/mariadb.sock" --pid-file="$data/mariadb.pid" --log-error="$data/server.log" \
        --ssl-ca="$certs/ca.pem" --ssl-cert="$certs/server.pem" --ssl-key="$certs/server.key" \
        --skip-name-resolve --innodb-flush-log-at-trx-commit=0 --innodb-buffer-pool-size=32M \
        --general-log=1 --general-log-file="$data/general.log" >>"$log" 2>&1 &
    local pid=$!
    local deadline=$((SECONDS + 30))
    until [ -S "$data/mariadb.sock" ] && "$client" --no-defaults --socket="$data/mariadb.sock" -uroot -e 'SELECT 1' >/dev/null 2>&1; do
        alive "$pid" || { cat "$log" "$data/server.log" >&2; return 1; }
        [ "$SECONDS" -lt "$deadline" ] || { say "MariaDB did not start in 30 s"; return 1; }
        sleep 0.1
    done
    "$client" --no-defaults --socket="$data/mariadb.sock" -uroot <<SQL
CREATE USER 'admin'@'127.0.0.1' IDENTIFIED BY '$password';
GRANT ALL PRIVILEGES ON *.* TO 'admin'@'127.0.0.1' WITH GRANT OPTION;
CREATE USER 'admin'@'localhost' IDENTIFIED BY '$password';
GRANT ALL PRIVILEGES ON *.* TO 'admin'@'localhost' WITH GRANT OPTION;
FLUSH PRIVILEGES;
SQL
    echo "$pid"
}

up() {
    if healthy; then say "already up ($ENV_FILE)"; return 0; fi
    down quiet
    pg_bin initdb >/dev/null; pgbouncer_bin >/dev/null  # a missing server fails here, before anything starts
    mkdir -p "$STACK_DIR"
    local tmp; tmp="$(mktemp -d "${TMPDIR:-/tmp}/local-stack.XXXXXX")"
    chmod 755 "$tmp"
    local moto_port pg_port maria_port pgb_port
    read -r moto_port pg_port maria_port pgb_port <<<"$(free_ports 4)"
    mkdir -p "$tmp/certs"; make_certs "$tmp/certs"; chmod 644 "$tmp/certs/"*
    local pg_password maria_password
    pg_password="$(random_password)"; maria_password="$(random_password)"

    local moto_pid; moto_pid="$(start_moto "$moto_port" "$STACK_DIR/moto.log")"
    # Record what is starting at once, so `down` can stop it even if a later step fails.
    printf 'STACK_TMP=%s\nMOTO_PID=%s\n' "$tmp" "$moto_pid" >"$STACK_DIR/pids"
    start_postgres "$tmp/pg" "$pg_port" "$tmp/certs" "$pg_password" "$STACK_DIR/postgres.log" >"$tmp/pg.pid" &
    local pg_job=$!
    start_mariadb "$tmp/mariadb" "$maria_port" "$tmp/certs" "$maria_password" "$STACK_DIR/mariadb.log" >"$tmp/mariadb.pid" &
    local maria_job=$!
    local failed=0
    wait "$pg_job" || failed=1
    wait "$maria_job" || failed=1
    printf 'PG_PID=%s\nPG_DATA=%s\nMARIADB_PID=%s\n' "$(cat "$tmp/pg.pid")" "$tmp/pg" "$(cat "$tmp/mariadb.pid")" >>"$STACK_DIR/pids"
    wait_tcp "$moto_port" 20 || { cat "$STACK_DIR/moto.log" >&2; failed=1; }
    if [ "$failed" = 0 ]; then
        local pgb_pid
        pgb_pid="$(start_pgbouncer "$tmp/pgbouncer" "$pgb_port" "$pg_port" "$tmp/certs" "$pg_password" "$STACK_DIR/pgbouncer.log")" || failed=1
        printf 'PGBOUNCER_PID=%s\n' "${pgb_pid:-}" >>"$STACK_DIR/pids"
    fi
    if [ "$failed" = 1 ]; then down quiet; die "the local stack did not start (logs in $STACK_DIR)"; fi
    # moto cannot run Lambda code; its no-Docker Lambda backend lets RotateSecret work as the service does.
    "$PYTHON" - "$moto_port" <<'PY'
import json, sys, urllib.request
req = urllib.request.Request(f"http://127.0.0.1:{sys.argv[1]}/moto-api/config",
                             data=json.dumps({"lambda": {"use_docker": False}}).encode(),
                             headers={"Content-Type": "application/json"}, method="POST")
urllib.request.urlopen(req, timeout=10).read()
PY
    # A placeholder rotation function in moto: RotateSecret needs one to create the AWSPENDING
    # version as the service does. moto never runs its code; the tests and `make rotate` run ours.
    AWS_ENDPOINT_URL="http://127.0.0.1:$moto_port" AWS_DEFAULT_REGION=us-east-1 AWS_ACCESS_KEY_ID=testing \
        AWS_SECRET_ACCESS_KEY=testing "$PYTHON" - <<'PY'
import io, json, zipfile
import boto3
iam, lam = boto3.client("iam"), boto3.client("lambda")
trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
role = iam.create_role(RoleName="secret-rotation-local", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
code = io.BytesIO()
with zipfile.ZipFile(code, "w") as z:
    z.writestr("bootstrap", "#!/bin/sh\n")
lam.create_function(FunctionName="secret-rotation", Runtime="provided.al2023", Role=role, Handler="bootstrap",
                    Code={"ZipFile": code.getvalue()}, Architectures=["arm64"])
PY
    # shellcheck disable=SC1091
    . "$STACK_DIR/pids"
    cat >"$ENV_FILE.tmp" <<ENV
# Written by scripts/stack.sh: the local stack's endpoints and (throw-away) credentials.
AWS_ENDPOINT_URL=http://127.0.0.1:$moto_port
AWS_REGION=us-east-1
AWS_DEFAULT_REGION=us-east-1
AWS_ACCESS_KEY_ID=testing
AWS_SECRET_ACCESS_KEY=testing
MOTO_PORT=$moto_port
MOTO_PID=$MOTO_PID
PG_HOST=127.0.0.1
PG_PORT=$pg_port
PG_USER=postgres
PG_PASSWORD=$pg_password
PG_CA_FILE=$tmp/certs/ca.pem
PG_PID=$PG_PID
PG_LOG=$tmp/pg/server.log
PG_MAJOR=$("$(pg_bin pg_ctl)" --version | sed -n 's/^pg_ctl (PostgreSQL) \([0-9]*\).*/\1/p')
PGBOUNCER_PORT=$pgb_port
PGBOUNCER_PID=$PGBOUNCER_PID
PGBOUNCER_LOG=$tmp/pgbouncer/pgbouncer.log
MARIADB_HOST=127.0.0.1
MARIADB_PORT=$maria_port
MARIADB_USER=admin
MARIADB_PASSWORD=$maria_password
MARIADB_CA_FILE=$tmp/certs/ca.pem
MARIADB_PID=$MARIADB_PID
MARIADB_GENERAL_LOG=$tmp/mariadb/general.log
STACK_TMP=$tmp
ROTATION_LAMBDA_ARN=arn:aws:lambda:us-east-1:123456789012:function:secret-rotation
ENV
    mv "$ENV_FILE.tmp" "$ENV_FILE"
    say "up: moto :$moto_port, postgres :$pg_port (TLS, SCRAM), pgbouncer :$pgb_port (TLS, SCRAM), mariadb :$maria_port (TLS); env in $ENV_FILE"
}

stop_pid() {
    local pid="$1"
    alive "$pid" || return 0
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do alive "$pid" || return 0; sleep 0.05; done
    kill -9 "$pid" 2>/dev/null || true
}

down() {
    local quiet="${1:-}"
    [ -f "$STACK_DIR/pids" ] || { rm -f "$ENV_FILE"; [ -n "$quiet" ] || say "not running"; return 0; }
    local MOTO_PID="" PG_PID="" PG_DATA="" MARIADB_PID="" PGBOUNCER_PID="" STACK_TMP=""
    # shellcheck disable=SC1091
    . "$STACK_DIR/pids"
    # PgBouncer first: it would otherwise keep reconnecting to the server being stopped.
    [ -n "$PGBOUNCER_PID" ] && stop_pid "$PGBOUNCER_PID"
    if alive "$PG_PID" && [ -n "$PG_DATA" ]; then
        as_postgres "$(pg_bin pg_ctl)" -D "$PG_DATA" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    for pid in "$PG_PID" "$MARIADB_PID" "$MOTO_PID"; do [ -n "$pid" ] && stop_pid "$pid"; done
    case "$STACK_TMP" in */local-stack.*) rm -rf "$STACK_TMP" ;; esac
    rm -f "$STACK_DIR/pids" "$ENV_FILE"
    [ -n "$quiet" ] || say "down"
}

case "${1:-}" in
    up) up ;;
    down) down ;;
    status) if healthy; then say "up ($ENV_FILE)"; else say "down"; exit 1; fi ;;
    *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
