#!/usr/bin/env bash
# The project's checks, as `make test` runs them: the hygiene checks (shellcheck, ruff, cargo
# deny), formatting, lints, every test (unit tests with fakes and integration tests against the
# local stack, which must be up), and the templates (cfn-lint, checkov, the template tests and the
# stack deployed into moto).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# shellcheck source=scripts/tools.sh
. "$root/scripts/tools.sh"
tools_on_path
if [ -z "${STACK_ENV_FILE:-}" ] || [ ! -f "$STACK_ENV_FILE" ]; then
    echo "check: the local stack is not up (run via make test)" >&2
    exit 1
fi

# Hygiene, first: seconds each, before the long tests. Each says what to do when it fails.
hygiene() { # name what-to-do command...
    local name="$1" fix="$2" started=$SECONDS
    shift 2
    echo "== $name"
    if ! "$@"; then
        echo "check: $name failed: $fix" >&2
        exit 1
    fi
    echo "$name: $((SECONDS - started)) s"
}
# Every shell script: *.sh, and any other file whose first line is a sh or bash shebang.
shell_scripts() {
    local f
    git ls-files --cached --others --exclude-standard | while IFS= read -r f; do
        [ -f "$f" ] || continue
        case "$f" in
            *.sh) echo "$f" ;;
            *) head -n 1 "$f" 2>/dev/null | grep -qE '^#!.*[/ ](ba|da)?sh( |$)' && echo "$f" ;;
        esac
    done
    return 0
}
for tool in shellcheck ruff; do
    command -v "$tool" >/dev/null || { echo "check: $tool is missing: run make setup" >&2; exit 1; }
done
mapfile -t scripts < <(shell_scripts)
hygiene "shellcheck $(shellcheck --version | sed -n 's/^version: //p') (${#scripts[@]} shell scripts)" \
    "fix the findings above, or disable one on its line with the reason (# shellcheck disable=SCxxxx # why)" \
    shellcheck -x "${scripts[@]}"
hygiene "$(ruff --version) (ruff.toml; every Python file)" \
    "fix the findings above (ruff check --fix does the safe ones), or add '# noqa: CODE' with the reason" \
    ruff check --quiet .
[ "$(cargo deny --version 2>/dev/null)" = "cargo-deny $CARGO_DENY_VERSION" ] \
    || { echo "check: cargo-deny $CARGO_DENY_VERSION is missing: run make setup" >&2; exit 1; }
# Errors only, with counts: the warnings (duplicate versions) are listed by `cargo deny check bans`.
hygiene "cargo deny $CARGO_DENY_VERSION (deny.toml: licences, bans, sources; no advisories, which need a network)" \
    "a licence to read and allow in deny.toml, a banned crate to remove, or a source outside crates.io (cargo deny check shows who pulls a crate in)" \
    cargo deny --log-level error --locked check --show-stats --hide-inclusion-graph licenses bans sources

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
    "$CHECKOV_VENV/bin/checkov" -f cloudformation/template.yaml \
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
        CreateSecretsManagerEndpoint=true CreateRdsEndpoint=true \
        RotationHealthSecretsParameter=/ops/rotation-health-secrets \
        ReaderPublicParameters=/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64 \
        AcmDaysBeforeExpiry=45
    for t in "$resolved"/*.json; do
        "$CHECKOV_VENV/bin/checkov" -f "$t" \
            --framework cloudformation --quiet --compact --skip-download
    done
    rm -rf "$resolved"
    echo "checkov: $((SECONDS - started)) s"
    echo "== template tests and event-pattern proof (pytest; deploys into the local stack)"
    PYTHONDONTWRITEBYTECODE=1 python3 -m pytest -p no:cacheprovider -q cloudformation/tests
fi
