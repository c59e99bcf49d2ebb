#!/usr/bin/env bash
# Runs a command with the local stack up and its env file exported. Starts the stack when it is
# not running and then stops it afterwards; a stack that was already up is left as it was.
# KEEP_STACK=1 leaves a stack this script started running.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# The project's Python tools first on PATH, for the stack and the command (scripts/tools.sh).
# shellcheck source=scripts/tools.sh
. "$root/scripts/tools.sh"
tools_on_path
STACK_DIR="${STACK_DIR:-$root/.stack}"
export STACK_DIR
started=0
if ! "$root/scripts/stack.sh" status >/dev/null 2>&1; then
    "$root/scripts/stack.sh" up
    started=1
fi
cleanup() {
    if [ "$started" = 1 ] && [ "${KEEP_STACK:-0}" != 1 ]; then "$root/scripts/stack.sh" down; fi
}
trap cleanup EXIT
set -a
# shellcheck disable=SC1091
. "$STACK_DIR/stack.env"
set +a
export STACK_ENV_FILE="$STACK_DIR/stack.env"
"$@"
