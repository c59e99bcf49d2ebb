#!/usr/bin/env bash
# Installs what a fresh machine lacks for the tests, the demo and the build: the pinned Python
# tools (moto, awscli, cfn-lint, cargo-lambda, pytest; checkov in its own virtual environment),
# the aarch64 Rust target, a MariaDB server and PgBouncer.
# Safe to run again: each step checks first and does nothing when it is already satisfied.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

say() { printf '[setup] %s\n' "$*"; }

# Python tools, pinned. pip skips the index when every pin is already satisfied.
if ! python3 - "$root/requirements-dev.txt" <<'PY'
import sys
from importlib.metadata import version, PackageNotFoundError
ok = True
for line in open(sys.argv[1]):
    line = line.split("#", 1)[0].strip()
    if not line:
        continue
    name, want = line.split("==")
    name = name.split("[")[0]
    try:
        have = version(name)
    except PackageNotFoundError:
        have = None
    if have != want:
        print(f"[setup] {name}: have {have}, want {want}")
        ok = False
sys.exit(0 if ok else 1)
PY
then
    say "installing pinned Python tools"
    python3 -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
fi

# checkov (the template's security scanner) in its own virtual environment: its pins of boto3 and
# packaging conflict with moto's, awscli's and pytest's.
checkov_venv="${CHECKOV_VENV:-${CARGO_TARGET_DIR:-$root/target}/tools/checkov}"
checkov_want="$(sed -n 's/^checkov==\([^ #]*\).*/\1/p' requirements-checkov.txt)"
checkov_have="$("$checkov_venv/bin/python" -c 'from importlib.metadata import version; print(version("checkov"))' 2>/dev/null || true)"
if [ "$checkov_have" != "$checkov_want" ]; then
    say "installing checkov $checkov_want into its own virtual environment ($checkov_venv)"
    python3 -m venv "$checkov_venv"
    "$checkov_venv/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements-checkov.txt
fi

# The Rust toolchain pinned in rust-toolchain.toml, with the arm64 target Lambda runs on.
toolchain="$(sed -n 's/^channel *= *"\(.*\)"/\1/p' rust-toolchain.toml)"
if ! rustup target list --toolchain "$toolchain" --installed 2>/dev/null | grep -qx aarch64-unknown-linux-gnu; then
    say "adding aarch64-unknown-linux-gnu to toolchain $toolchain"
    rustup target add --toolchain "$toolchain" aarch64-unknown-linux-gnu
fi

# A MariaDB server for the rotation tests (the local stack starts its own instance).
if ! command -v mariadbd >/dev/null 2>&1 && [ ! -x /usr/sbin/mariadbd ]; then
    say "installing mariadb-server (apt)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends mariadb-server mariadb-client >/dev/null
    # The package may start a system-wide server; the local stack runs its own, so stop that one.
    if command -v service >/dev/null 2>&1; then service mariadb stop >/dev/null 2>&1 || true; fi
fi

# PgBouncer in front of the stack's PostgreSQL: the local stack starts its own, with PgBouncer's
# defaults, so that it refuses what production's PgBouncer refuses (e.g. the `options` startup parameter).
if ! command -v pgbouncer >/dev/null 2>&1 && [ ! -x /usr/sbin/pgbouncer ]; then
    say "installing pgbouncer (apt)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends pgbouncer >/dev/null
    # The package may start and enable a system-wide PgBouncer on port 6432; stop and disable it.
    if command -v service >/dev/null 2>&1; then service pgbouncer stop >/dev/null 2>&1 || true; fi
    if [ -d /run/systemd/system ]; then systemctl disable --now pgbouncer.service pgbouncer.socket >/dev/null 2>&1 || true; fi
    if command -v update-rc.d >/dev/null 2>&1; then update-rc.d pgbouncer disable >/dev/null 2>&1 || true; fi
fi

# PostgreSQL 15 server binaries (the machine image usually has them).
if ! command -v initdb >/dev/null 2>&1 && [ ! -x /usr/lib/postgresql/15/bin/initdb ]; then
    say "installing postgresql-15 (apt)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends postgresql-15 >/dev/null
fi
# openssl: the local stack makes its TLS certificates with it, and the certificate tests and the
# demo make the certificates they import into ACM.
if ! command -v openssl >/dev/null 2>&1; then
    say "installing openssl (apt)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends openssl >/dev/null
fi
say "ready"
