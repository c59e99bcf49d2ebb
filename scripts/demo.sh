#!/usr/bin/env bash
# The end-to-end demo (run through `make demo`, which starts the local stack and stops it after):
# builds the functions' native debug binaries, the only thing it runs (moto never runs a function's
# code, so the stack deployed into it gets the `make build` zips when they exist and placeholders
# otherwise), then scripts/demo.py deploys the stack into moto for dev and prod, seeds the parameters, runs the
# config reader, rotates the database secret against PostgreSQL, sends the sample events through
# the deployed rules and the handlers, and shows the notifications on the topic.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
: "${STACK_ENV_FILE:?run through make demo}"
target="${CARGO_TARGET_DIR:-$root/target}"
functions=(config-reader secret-rotation parameter-notifier certificate-notifier rotation-health)
packages=(); for fn in "${functions[@]}"; do packages+=(-p "$fn"); done
started=$SECONDS

printf '\033[1m== Building the functions: native binaries to run them here (make build makes the arm64 zips)\033[0m\n'
cargo build --locked "${packages[@]}" 2>&1 | tail -n 1
printf '   (%d s)\n' $((SECONDS - started))

python3 scripts/demo.py --target "$target" --logs "$STACK_DIR/demo-logs"
