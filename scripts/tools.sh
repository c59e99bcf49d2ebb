# shellcheck shell=bash
# Sourced by setup and the scripts (after they set $root): where the project's tools live, and the
# PostgreSQL server they use. `make setup` installs the tools; the Makefile exports the same paths.
#
# The Python tools live in two virtual environments under the build directory, beside the
# compiled code they serve: CI's fresh clones share a CARGO_TARGET_DIR outside the clone, so they
# reuse the environments as they reuse the build, and `make clean` removes both.
PYTHON_VENV="${PYTHON_VENV:-${CARGO_TARGET_DIR:-$root/target}/tools/venv}"
CHECKOV_VENV="${CHECKOV_VENV:-${CARGO_TARGET_DIR:-$root/target}/tools/checkov}"
# cargo-deny, built from crates.io by setup (`cargo install --locked`) when this version is missing.
CARGO_DENY_VERSION=0.20.2
export PYTHON_VENV CHECKOV_VENV CARGO_DENY_VERSION

# The project's Python tools first on PATH (python3, pytest, aws, cfn-lint, cargo-lambda, ruff), so
# `cargo lambda` finds its cross-linker through `python3 -m ziglang`.
tools_on_path() {
    case ":$PATH:" in
        *":$PYTHON_VENV/bin:"*) ;;
        *) PATH="$PYTHON_VENV/bin:$PATH" ;;
    esac
    export PATH
}

# The binaries folder of the PostgreSQL server the local stack runs: PG_BINDIR when set, else the
# highest major from 17 down to 15 that Debian's and Ubuntu's packages install, else the initdb
# on PATH (another layout). Prints nothing and fails when there is none.
pg_bindir() {
    local d
    for d in ${PG_BINDIR:+"$PG_BINDIR"} /usr/lib/postgresql/17/bin /usr/lib/postgresql/16/bin /usr/lib/postgresql/15/bin; do
        if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then echo "$d"; return 0; fi
    done
    d="$(command -v initdb 2>/dev/null)" || return 1
    d="$(dirname "$(readlink -f "$d")")"
    [ -x "$d/pg_ctl" ] && echo "$d"
}
