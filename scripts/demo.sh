#!/usr/bin/env bash
# The end-to-end demo (run through `make demo`, which starts the local stack and stops it after):
# builds the functions (arm64 zips for the stack, native binaries to run them here), then
# scripts/demo.py deploys the stack into moto for dev and prod, seeds the parameters, runs the
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

printf '\033[1m== Building the functions: arm64 zips for the stack, native binaries to run them here\033[0m\n'
cargo lambda build --release --arm64 --output-format zip --locked "${packages[@]}" 2>&1 | tail -n 2
for fn in "${functions[@]}"; do printf '   %-22s %s bytes\n' "$fn" "$(stat -c %s "$target/lambda/$fn/bootstrap.zip")"; done
cargo build --locked "${packages[@]}" 2>&1 | tail -n 1
printf '   (%d s)\n' $((SECONDS - started))

python3 scripts/demo.py --target "$target" --logs "$STACK_DIR/demo-logs"
