#!/usr/bin/env bash
# The project's checks, as `make test` runs them: formatting, lints, every test (unit tests with
# fakes and integration tests against the local stack, which must be up), and the templates
# (cfn-lint, checkov, the template tests and the stack deployed into moto).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
[ -n "${STACK_ENV_FILE:-}" ] && [ -f "$STACK_ENV_FILE" ] || { echo "check: the local stack is not up (run via make test)" >&2; exit 1; }
echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy --all-targets -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo test"
cargo test --workspace --locked
templates=""
if [ -d cloudformation ]; then
    templates=$(find cloudformation -type f \( -name '*.yaml' -o -name '*.yml' -o -name '*.json' \) | sort)
fi
if [ -n "$templates" ]; then
    echo "== cfn-lint"
    # shellcheck disable=SC2086
    cfn-lint $templates
fi
echo "== local stack tools (pytest)"
PYTHONDONTWRITEBYTECODE=1 python3 -m pytest -p no:cacheprovider -q scripts/tests
if [ -f cloudformation/template.yaml ]; then
    # The template's own checks: a security scanner, the least-privilege rules over the parsed
    # template, then the stack deployed into the local stack's moto with each rule's event pattern
    # proven against the sample events (cloudformation/tests).
    echo "== checkov"
    started=$SECONDS
    "${CHECKOV_VENV:-${CARGO_TARGET_DIR:-$root/target}/tools/checkov}/bin/checkov" -f cloudformation/template.yaml \
        --framework cloudformation --quiet --compact --skip-download
    # checkov cannot read a statement list holding an Fn::If and skips that role's IAM checks:
    # scan the template as deployed too, with the defaults and with every option turned on.
    resolved="$(mktemp -d)"
    python3 cloudformation/tests/resolve_template.py "$resolved/defaults.json"
    python3 cloudformation/tests/resolve_template.py "$resolved/options.json" Tracing=Active \
        DatabaseSecretArn=arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf \
        DatabaseSecretKmsKeyArn=arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555 \
        MasterSecretArn=arn:aws:secretsmanager:us-east-1:123456789012:secret:master-AbCdEf \
        RotationSubnetIds=subnet-0123456789abcdef0 RotationVpcId=vpc-0123456789abcdef0 \
        CreateSecretsManagerEndpoint=true CreateRdsEndpoint=true
    for t in "$resolved"/*.json; do
        "${CHECKOV_VENV:-${CARGO_TARGET_DIR:-$root/target}/tools/checkov}/bin/checkov" -f "$t" \
            --framework cloudformation --quiet --compact --skip-download
    done
    rm -rf "$resolved"
    echo "checkov: $((SECONDS - started)) s"
    echo "== template tests and event-pattern proof (pytest; deploys into the local stack)"
    PYTHONDONTWRITEBYTECODE=1 python3 -m pytest -p no:cacheprovider -q cloudformation/tests
fi
