#!/usr/bin/env bash
# Proves setup's system and Python steps on clean installs of the releases the README names:
# for each, mmdebstrap builds a root file system from the distribution's own archive (minbase,
# plus what a stock server has and setup expects: python3, ca-certificates, sudo), the project's
# files are copied in, and inside it (chroot, in a mount namespace of its own):
#   1. `SETUP_SKIP_RUST=1 scripts/setup.sh` (no Rust toolchain can be installed there): as root on
#      Debian 12, through sudo as an unprivileged user on Debian 13 and Ubuntu 24.04. It must
#      install python3-venv, the distribution's PostgreSQL server, MariaDB, PgBouncer and the
#      hashed locks;
#   2. setup again, which must do nothing but say "ready";
#   3. the tools answer from the virtual environments (pip check, versions, cargo lambda's zig),
#      the system's Python is left without them, and the local stack (scripts/stack.sh: moto from
#      the environment, the PostgreSQL server setup found, PgBouncer, MariaDB) starts and stops.
# Takes minutes and downloads the releases' packages and the Python wheels: not part of
# `make test`; run it as root with `make verify-setup` (RELEASES="bookworm trixie noble" by
# default). Work and logs go to $CARGO_TARGET_DIR/verify-setup; a summary with timings ends it.
# Each root file system (about 2.5 GB) is removed once verified, or on failure, unless KEEP_ROOTFS=1.
# It runs on Debian (the host needs apt, mmdebstrap, unshare and chroot).
# shellcheck disable=SC2016 # single quotes on purpose: dpkg-query formats, and a script run in the chroot
set -euo pipefail
shopt -s inherit_errexit
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
RELEASES="${RELEASES:-bookworm trixie noble}"
work="${VERIFY_DIR:-${CARGO_TARGET_DIR:-$root/target}/verify-setup}"
DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
DEBIAN_SECURITY="${DEBIAN_SECURITY:-http://deb.debian.org/debian-security}"
UBUNTU_MIRROR="${UBUNTU_MIRROR:-http://archive.ubuntu.com/ubuntu}"
UBUNTU_SECURITY="${UBUNTU_SECURITY:-http://security.ubuntu.com/ubuntu}"

say() { printf '[verify-setup] %s\n' "$*"; }
die() { say "error: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root: mmdebstrap and chroot need it"
if ! command -v mmdebstrap >/dev/null 2>&1; then
    say "installing mmdebstrap (apt)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mmdebstrap >/dev/null
fi
mkdir -p "$work"
summary=/dev/null  # each release's: $work/<release>.summary.txt
record() { printf '%s\n' "$*" | tee -a "$summary"; }

# Ubuntu's archive key, from Debian's own package of it (ubuntu-keyring, Debian 13), so
# the Ubuntu root file system is verified by a key that Debian's archive signature vouches for.
ubuntu_keyring() {
    local keyring="$work/ubuntu-archive-keyring.gpg"
    [ -s "$keyring" ] && { echo "$keyring"; return; }
    local apt="$work/apt-trixie"
    rm -rf "$apt"; mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/deb"
    echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $DEBIAN_MIRROR trixie main" >"$apt/sources.list"
    local opts=(-o "Dir::Etc::SourceList=$apt/sources.list" -o Dir::Etc::SourceParts=/dev/null -o APT::Sandbox::User=root
                -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache")
    apt-get "${opts[@]}" update -qq >&2
    (cd "$apt/deb" && apt-get "${opts[@]}" download -qq ubuntu-keyring >&2)
    dpkg-deb -x "$apt"/deb/ubuntu-keyring_*.deb "$apt/x"
    cp "$apt/x/usr/share/keyrings/ubuntu-archive-keyring.gpg" "$keyring"
    echo "$keyring"
}

# The checks run inside the root file system after setup, as the user who ran it.
read -r -d '' inside_checks <<'SH' || true
set -euo pipefail
root=/src
cd "$root"
. scripts/tools.sh
venv="$PYTHON_VENV"
"$venv/bin/python" -m pip check >/dev/null
"$CHECKOV_VENV/bin/python" -m pip check >/dev/null
echo "python: $("$venv/bin/python" -c 'import sys; print(sys.version.split()[0])') (the venvs' base: $(readlink -f "$venv/bin/python"))"
echo "pip in the venvs: $("$venv/bin/python" -m pip --version | cut -d' ' -f2)"
echo "tools: $("$venv/bin/pytest" --version 2>&1) | $("$venv/bin/aws" --version 2>&1 | cut -d' ' -f1) | cfn-lint $("$venv/bin/cfn-lint" --version 2>&1 | awk '{print $NF}') | $("$venv/bin/cargo-lambda" lambda --version 2>&1 | cut -d' ' -f1-2) | ziglang $("$venv/bin/python" -m ziglang version) | $("$venv/bin/ruff" --version) | shellcheck $(shellcheck --version | sed -n 's/^version: //p') (apt) | uv $("$venv/bin/uv" --version | cut -d' ' -f2) | checkov $("$CHECKOV_VENV/bin/checkov" --version)"
echo "moto in the venv: $("$venv/bin/python" -c 'import moto; print(moto.__version__)')"
if /usr/bin/python3 -c 'import boto3' 2>/dev/null || /usr/bin/python3 -m pip --version >/dev/null 2>&1; then
    echo "the system's Python has boto3 or pip"; exit 1
fi
echo "system python3: $(/usr/bin/python3 --version 2>&1), without pip or the tools"
d="$(pg_bindir)"
echo "PostgreSQL server: $d ($("$d/postgres" --version))"
echo "MariaDB: $(/usr/sbin/mariadbd --version | sed 's/ *for debian-linux-gnu.*//; s/^.*Ver //')"
echo "PgBouncer: $(/usr/sbin/pgbouncer --version | head -n 1)"
echo "openssl: $(openssl version | cut -d' ' -f1-2)"
export STACK_DIR=/tmp/verify-stack
started=$(date +%s.%N)
scripts/stack.sh up 2>&1 | tail -n 1
grep -E '^(PG_MAJOR)=' "$STACK_DIR/stack.env"
scripts/stack.sh down 2>&1
echo "stack up and down: $(awk -v s="$started" -v e="$(date +%s.%N)" 'BEGIN{printf "%.1f", e - s}') s"
SH

# Runs a command in the root file system, in its own mount namespace (the mounts go with it),
# with a clean environment, as root or (user != root) as that user.
in_rootfs() { # dir user command
    unshare --mount --propagation private -- bash -c '
        dir="$1" user="$2" cmd="$3"
        mount --bind /dev "$dir/dev"; mount -t tmpfs shm "$dir/dev/shm"
        mount -t devpts devpts "$dir/dev/pts" -o newinstance,ptmxmode=0666 2>/dev/null || true
        mount -t proc proc "$dir/proc"; mount -t sysfs sys "$dir/sys" 2>/dev/null || true; mount -t tmpfs tmp "$dir/tmp"
        envs=(env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 TERM=dumb ${PIP_CERT:+PIP_CERT=/etc/ssl/certs/ca-certificates.crt})
        if [ "$user" = root ]; then exec chroot "$dir" "${envs[@]}" HOME=/root bash -c "$cmd"; fi
        exec chroot "$dir" runuser -u "$user" -- "${envs[@]}" HOME="/home/$user" bash -c "$cmd"
    ' _ "$1" "$2" "$3" 2>&1
}

# Removes a root file system, after making sure nothing is mounted below it (the mounts live in
# in_rootfs's own namespace and end with it; this guards against one that did not).
remove_rootfs() {
    [ -d "$1" ] || return 0
    if grep -qF " $1/" /proc/self/mounts; then die "something is still mounted below $1: not removing it"; fi
    rm -rf "$1"
}
current=""
cleanup() { if [ -n "$current" ] && [ "${KEEP_ROOTFS:-0}" != 1 ]; then remove_rootfs "$current"; fi; }
trap cleanup EXIT

elapsed() { awk -v s="$1" -v e="$(date +%s.%N)" 'BEGIN{printf "%.0f", e - s}'; }

verify() { # release
    local release="$1" dir="$work/$1" log="$work/$1.log" user=root include=python3,ca-certificates trust="none added"
    local sources=() keyring=()
    case "$release" in
        bookworm | trixie)
            sources=("deb $DEBIAN_MIRROR $release main" "deb $DEBIAN_MIRROR $release-updates main"
                     "deb $DEBIAN_SECURITY $release-security main")
            [ "$release" = bookworm ] || user=dev ;;
        noble)
            keyring=(--keyring="$(ubuntu_keyring)")
            # apt too: Ubuntu gives it priority important, not required, so minbase leaves it out.
            include="$include,ubuntu-keyring,apt"
            sources=("deb $UBUNTU_MIRROR noble main universe" "deb $UBUNTU_MIRROR noble-updates main universe"
                     "deb $UBUNTU_SECURITY noble-security main universe")
            user=dev ;;
        *) die "unknown release $release (bookworm, trixie or noble)" ;;
    esac
    [ "$user" = root ] || include="$include,sudo"
    summary="$work/$release.summary.txt"
    : >"$summary"
    say "$release: building a clean root file system (mmdebstrap, minbase + $include)"
    remove_rootfs "$dir"
    current="$dir"
    local t; t=$(date +%s.%N)
    mmdebstrap --mode=root --variant=minbase --include="$include" "${keyring[@]}" \
        "$release" "$dir" "${sources[@]}" >"$log" 2>&1 || { tail -n 20 "$log" >&2; die "$release: mmdebstrap failed ($log)"; }
    local t_rootfs; t_rootfs=$(elapsed "$t")
    # As on a booted system whose init starts a package's service; the chroot has no init, so the
    # packages' scripts are told not to start any.
    printf '#!/bin/sh\nexit 101\n' >"$dir/usr/sbin/policy-rc.d"; chmod 755 "$dir/usr/sbin/policy-rc.d"
    cp /etc/resolv.conf "$dir/etc/resolv.conf"
    echo "127.0.1.1 $(hostname)" >>"$dir/etc/hosts"  # sudo looks the host's name up
    # Where PyPI is reached through a TLS-inspecting proxy whose certificate authority the host
    # trusts (/usr/local/share/ca-certificates, PIP_CERT), the root file system is given the same
    # trust; a machine without such a proxy needs none of it.
    if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
        cp /usr/local/share/ca-certificates/*.crt "$dir/usr/local/share/ca-certificates/"
        chroot "$dir" update-ca-certificates >/dev/null 2>&1
        trust="the host's local certificate authorities ($(find /usr/local/share/ca-certificates -name '*.crt' -printf '%f\n' | sort | paste -sd' '))"
    fi
    local os; os="$(sed -n 's/^PRETTY_NAME="\(.*\)"$/\1/p' "$dir/etc/os-release")"
    mkdir -p "$dir/src"
    git ls-files -z | tar --null --ignore-failed-read -T - -cf - 2>/dev/null | tar -xf - -C "$dir/src"
    if [ "$user" != root ]; then
        chroot "$dir" useradd -m -s /bin/bash "$user"
        echo "$user ALL=(ALL) NOPASSWD: ALL" >"$dir/etc/sudoers.d/$user"; chmod 440 "$dir/etc/sudoers.d/$user"
        chroot "$dir" chown -R "$user:$user" /src
    fi
    local had_venv; had_venv=$(chroot "$dir" dpkg-query -W -f='${Status}' python3-venv 2>/dev/null | grep -c 'ok installed' || true)

    say "$release: setup, first run (as $user)"
    t=$(date +%s.%N)
    if ! in_rootfs "$dir" "$user" 'cd /src && SETUP_SKIP_RUST=1 scripts/setup.sh' | tee -a "$log" | sed 's/^/    /'; then
        die "$release: setup failed ($log)"
    fi
    local t_first; t_first=$(elapsed "$t")
    say "$release: setup, second run"
    t=$(date +%s.%N)
    local second; second="$(in_rootfs "$dir" "$user" 'cd /src && SETUP_SKIP_RUST=1 scripts/setup.sh')" || die "$release: second setup failed"
    local t_second; t_second=$(awk -v s="$t" -v e="$(date +%s.%N)" 'BEGIN{printf "%.1f", e - s}')
    printf '%s\n' "$second" | sed 's/^/    /'
    [ "$second" = "[setup] ready" ] || die "$release: the second run did something: $second"
    local venv_pkg; venv_pkg=$(chroot "$dir" dpkg-query -W -f='${Package} ${Version}' python3-venv 2>/dev/null || true)
    if [ "$had_venv" != 0 ] || [ -z "$venv_pkg" ]; then die "$release: python3-venv was there before setup, or is not after it"; fi

    say "$release: the tools, the system's Python and the local stack"
    local checks; checks="$(in_rootfs "$dir" "$user" "$inside_checks")" || { printf '%s\n' "$checks" >&2; die "$release: checks failed"; }
    printf '%s\n' "$checks" | sed 's/^/    /'
    record "== $os ($release, $(dpkg --print-architecture)), setup as $user$([ "$user" = root ] || echo ' through sudo')"
    record "  trusted for PyPI besides the release's own: $trust"
    record "  root file system: ${t_rootfs} s; setup first run: ${t_first} s; second run: ${t_second} s (\"[setup] ready\" only)"
    record "  installed by setup: $venv_pkg (absent before), $(chroot "$dir" dpkg-query -W -f='${Package} ${Version}\n' \
        postgresql mariadb-server pgbouncer shellcheck 2>/dev/null | paste -sd, | sed 's/,/, /g')"
    printf '%s\n' "$checks" | sed 's/^/  /' >>"$summary"
    cleanup
    current=""
}

for release in $RELEASES; do verify "$release"; done
say "all verified; summaries in $work/<release>.summary.txt"
for release in $RELEASES; do cat "$work/$release.summary.txt"; done
