#!/usr/bin/env bash
# Installs what a fresh Debian or Ubuntu machine lacks for the tests, the demo and the build, as
# root or through sudo, and nothing into the system's Python:
#   apt: python3 and python3-venv, the distribution's PostgreSQL server (15 to 17), MariaDB,
#        PgBouncer, openssl and shellcheck, each only when missing;
#   the Python tools in virtual environments of the project (scripts/tools.sh says where), from
#        lock files pinned with hashes (requirements-dev.lock; checkov in its own,
#        requirements-checkov.lock), with `pip install --require-hashes --only-binary=:all:`;
#   Rust: the aarch64 target of the pinned toolchain, and cargo-deny (built once, a few minutes).
# Safe to run again: each step checks first and does nothing when it is already satisfied.
# SETUP_SKIP_RUST=1 runs the system and Python steps only (a machine without rustup); SETUP_FOR=demo
# stops after the Python tools (what `make demo` needs).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# shellcheck source=scripts/tools.sh
. "$root/scripts/tools.sh"

say() { printf '[setup] %s\n' "$*"; }
die() { say "error: $*" >&2; exit 1; }

# apt, as root or through sudo; the package index is refreshed once, before the first install.
as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"
    elif command -v sudo >/dev/null 2>&1; then sudo "$@"
    else die "'$*' needs root: run setup as root or install sudo"
    fi
}
apt_updated=0
apt_install() {
    command -v apt-get >/dev/null 2>&1 || die "no apt-get: install $* by hand (setup knows Debian and Ubuntu)"
    say "installing $* (apt)"
    if [ "$apt_updated" = 0 ]; then as_root apt-get update -qq; apt_updated=1; fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
# A server package may start a system-wide instance; the local stack runs its own, so stop and
# disable that one.
quiet_services() {
    local s
    for s in "$@"; do
        if [ -d /run/systemd/system ]; then as_root systemctl disable --now "$s" >/dev/null 2>&1 || true
        elif command -v service >/dev/null 2>&1; then as_root service "$s" stop >/dev/null 2>&1 || true
        fi
        if command -v update-rc.d >/dev/null 2>&1; then as_root update-rc.d "$s" disable >/dev/null 2>&1 || true; fi
    done
}

# The Python that makes the virtual environments: the first python3 on PATH that is not one of them.
base_python() {
    local d dirs
    IFS=: read -ra dirs <<<"$PATH"
    for d in "${dirs[@]}"; do
        case "$d" in "$PYTHON_VENV/bin" | "$CHECKOV_VENV/bin") continue ;; esac
        if [ -x "$d/python3" ]; then echo "$d/python3"; return 0; fi
    done
    return 1
}

# System packages, in one apt transaction.
packages=()
python="$(base_python)" || { packages+=(python3 python3-venv); python=/usr/bin/python3; }
# The distribution's own PostgreSQL server (Debian 12: 15, Ubuntu 24.04: 16, Debian 13: 17).
pg_bindir >/dev/null || packages+=(postgresql)
command -v psql >/dev/null 2>&1 || packages+=(postgresql-client)
# A MariaDB server for the rotation tests (the local stack starts its own instance).
if ! { command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ]; } || ! command -v mariadb-install-db >/dev/null 2>&1; then
    packages+=(mariadb-server mariadb-client)
fi
# PgBouncer in front of the stack's PostgreSQL, with PgBouncer's defaults, so that it refuses what
# production's PgBouncer refuses (e.g. the `options` startup parameter).
command -v pgbouncer >/dev/null 2>&1 || [ -x /usr/sbin/pgbouncer ] || packages+=(pgbouncer)
# openssl: the local stack makes its TLS certificates with it, and the certificate tests and the
# demo make the certificates they import into ACM.
command -v openssl >/dev/null 2>&1 || packages+=(openssl)
# For `make test`, ShellCheck in the distribution's version (Debian 12 and Ubuntu 24.04: 0.9.0,
# Debian 13: 0.10.0): no arm64 build of it is on PyPI, so it cannot be in the lock.
command -v shellcheck >/dev/null 2>&1 || packages+=(shellcheck)
if [ "${#packages[@]}" -gt 0 ]; then
    apt_install "${packages[@]}"
    case " ${packages[*]} " in *" postgresql "*) quiet_services postgresql ;; esac
    case " ${packages[*]} " in *" mariadb-server "*) quiet_services mariadb ;; esac
    case " ${packages[*]} " in *" pgbouncer "*) quiet_services pgbouncer pgbouncer.socket ;; esac
    pg_bindir >/dev/null || die "no PostgreSQL server from 15 to 17 after installing postgresql (PG_BINDIR names another)"
fi

# The Python tools. A virtual environment is (re)made from scratch when it is missing, broken, or
# was installed from another version of its lock file; otherwise nothing happens.
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || die "$python is older than Python 3.11, which the lock files are resolved for"
lock_sum() { sha256sum "$1" | cut -d' ' -f1; }
venv_ready() { # venv lock
    [ -x "$1/bin/python" ] && [ "$(cat "$1/.lock.sha256" 2>/dev/null)" = "$(lock_sum "$2")" ] && "$1/bin/python" -c '' 2>/dev/null
}
make_venv() { # venv lock what
    local venv="$1" lock="$2"
    venv_ready "$venv" "$lock" && return 0
    say "installing $3 into $venv (pip --require-hashes -r $lock)"
    rm -rf "$venv"
    mkdir -p "$(dirname "$venv")"
    # Debian and Ubuntu ship the venv module's pip apart, in python3-venv.
    if ! "$python" -m venv "$venv" >/dev/null 2>&1; then
        rm -rf "$venv"
        apt_install python3-venv
        "$python" -m venv "$venv"
    fi
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
        --require-hashes --only-binary=:all: -r "$lock"
    lock_sum "$lock" >"$venv/.lock.sha256"
}
make_venv "$PYTHON_VENV" requirements-dev.lock "the Python tools"
# SETUP_FOR=demo (make demo): only what the demo runs. checkov, the arm64 target and cargo-deny
# serve make test and make build, and cost minutes on a first run.
if [ "${SETUP_FOR:-}" = demo ]; then
    say "ready (for the demo: checkov, the arm64 target and cargo-deny come with make test or make build)"
    exit 0
fi
# checkov in its own: its pins of boto3 and packaging conflict with moto's, awscli's and pytest's.
make_venv "$CHECKOV_VENV" requirements-checkov.lock checkov

if [ "${SETUP_SKIP_RUST:-0}" != 1 ]; then
    # The Rust toolchain pinned in rust-toolchain.toml, with the arm64 target Lambda runs on.
    toolchain="$(sed -n 's/^channel *= *"\(.*\)"/\1/p' rust-toolchain.toml)"
    if ! rustup target list --toolchain "$toolchain" --installed 2>/dev/null | grep -qx aarch64-unknown-linux-gnu; then
        say "adding aarch64-unknown-linux-gnu to toolchain $toolchain"
        rustup target add --toolchain "$toolchain" aarch64-unknown-linux-gnu
    fi
    # cargo-deny for `make test`'s licence, ban and source checks (deny.toml). Built in a
    # temporary directory, not the project's build directory.
    if [ "$(cargo deny --version 2>/dev/null)" != "cargo-deny $CARGO_DENY_VERSION" ]; then
        say "building cargo-deny $CARGO_DENY_VERSION (cargo install --locked: a few minutes, once)"
        env -u CARGO_TARGET_DIR cargo install --quiet --locked "cargo-deny@$CARGO_DENY_VERSION"
    fi
fi
say "ready"
