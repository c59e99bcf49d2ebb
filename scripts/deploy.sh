#!/usr/bin/env bash
# Packages, deploys and operates the CloudFormation stack (cloudformation/template.yaml), with
# the AWS CLI. Against the local stack when AWS_ENDPOINT_URL is set (scripts/with-stack.sh sets it
# from .stack/stack.env), against the account of the current AWS credentials when it is not.
#
#   scripts/deploy.sh package                 upload the functions' zips, write the code location
#   scripts/deploy.sh deploy                  package, then create or update the stack
#   scripts/deploy.sh outputs                 print the stack's outputs
#   scripts/deploy.sh destroy                 delete the stack (the key and the secret are retained)
#   scripts/deploy.sh logs                    print (FOLLOW=1: and follow) the logs of function FN
#   scripts/deploy.sh invoke                  invoke the deployed function FN with EVENT (an account only)
#   scripts/deploy.sh put-secure-parameter    put /<prefix>/<env>/NAME as a SecureString under the stack's key
#   scripts/deploy.sh put-policy-parameter    the same, advanced tier, with expiration and notification policies
#
# Settings (environment): ENV (dev|prod, default dev), APP_PREFIX (default my-app), STACK
# (default <prefix>-<env>), CODE_BUCKET (default <prefix>-lambda-artifacts-<account>-<region>,
# created when missing), PARAMS (more parameter overrides, "Key=Value Key='Value with spaces'"), FN, NAME, VALUE
# (read from standard input when unset), SINCE (logs, default 30m), FOLLOW.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# The project's AWS CLI and Python first on PATH (scripts/tools.sh).
# shellcheck source=scripts/tools.sh
. "$root/scripts/tools.sh"
tools_on_path

FUNCTIONS=(config-reader secret-rotation parameter-notifier certificate-notifier rotation-health)
ENV="${ENV:-dev}"
APP_PREFIX="${APP_PREFIX:-my-app}"
STACK="${STACK:-$APP_PREFIX-$ENV}"
TEMPLATE="$root/cloudformation/template.yaml"
target="${CARGO_TARGET_DIR:-$root/target}"
out="$target/cloudformation"

say() { printf '[deploy] %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

case "$ENV" in dev|prod) ;; *) die "ENV must be dev or prod, not '$ENV'" ;; esac
command -v aws >/dev/null || die "the AWS CLI is missing: run make setup"

# The local stack is a moto server on loopback; anything else is a real account.
local_stack=0
case "${AWS_ENDPOINT_URL:-}" in
    http://127.0.0.1:*|http://localhost:*) local_stack=1 ;;
    "") ;;
    *) die "AWS_ENDPOINT_URL=$AWS_ENDPOINT_URL is not the local stack; unset it to deploy to an account" ;;
esac
region="${AWS_REGION:-${AWS_DEFAULT_REGION:-$(aws configure get region 2>/dev/null || true)}}"
[ -n "$region" ] || die "no region: set AWS_REGION"
export AWS_REGION="$region" AWS_DEFAULT_REGION="$region"
where() { if [ "$local_stack" = 1 ]; then echo "the local stack ($AWS_ENDPOINT_URL)"; else echo "account $(account) in $region"; fi; }
account() { aws sts get-caller-identity --query Account --output text; }

stack_output() { # key
    aws cloudformation describe-stacks --stack-name "$STACK" \
        --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue" --output text
}

sha256() { sha256sum "$1" | cut -d' ' -f1; }

# A zip holding an executable `bootstrap` that only says what it is: deployable into moto (which
# never runs it), never into an account.
placeholder_zip() { # function dest
    python3 - "$1" "$2" <<'PY'
import sys, zipfile
info = zipfile.ZipInfo("bootstrap", date_time=(2020, 1, 1, 0, 0, 0))
info.external_attr = 0o755 << 16
with zipfile.ZipFile(sys.argv[2], "w") as z:
    z.writestr(info, f"#!/bin/sh\necho 'placeholder for {sys.argv[1]}: build it with make build' >&2\nexit 1\n")
PY
}

ensure_bucket() { # bucket
    local bucket="$1"
    if aws s3api head-bucket --bucket "$bucket" >/dev/null 2>&1; then return; fi
    say "creating the artifacts bucket s3://$bucket (private, encrypted)"
    if [ "$region" = us-east-1 ]; then
        aws s3api create-bucket --bucket "$bucket" >/dev/null
    else
        aws s3api create-bucket --bucket "$bucket" --create-bucket-configuration "LocationConstraint=$region" >/dev/null
    fi
    aws s3api put-public-access-block --bucket "$bucket" --public-access-block-configuration \
        BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true
    aws s3api put-bucket-encryption --bucket "$bucket" --server-side-encryption-configuration \
        '{"Rules":[{"ApplyServerSideEncryptionByDefault":{"SSEAlgorithm":"AES256"}}]}'
}

# Uploads each function's zip under a prefix named by the zips' contents (a new build is a new
# location, so CloudFormation updates the functions; the same build uploads nothing new) and
# writes CodeBucket and CodeKeyPrefix to $out/$STACK.code for deploy.
package() {
    mkdir -p "$out"
    local zips=() fn zip sums="" placeholders=()
    for fn in "${FUNCTIONS[@]}"; do
        zip="$target/lambda/$fn/bootstrap.zip"
        if [ ! -f "$zip" ]; then
            [ "$local_stack" = 1 ] || die "$zip is missing: run make build first (an account gets real code only)"
            zip="$out/placeholder-$fn.zip"
            placeholder_zip "$fn" "$zip"
            placeholders+=("$fn")
        fi
        zips+=("$zip")
        sums+="$fn $(sha256 "$zip")"$'\n'
    done
    if [ "${#placeholders[@]}" -gt 0 ]; then
        say "PLACEHOLDER CODE for ${placeholders[*]}: no target/lambda/<function>/bootstrap.zip (make build);"
        say "  the local stack accepts it because moto never runs a function's code; an account never gets it"
    fi
    local prefix; prefix="code/$(printf '%s' "$sums" | sha256sum | cut -c1-16)"
    local bucket="${CODE_BUCKET:-$APP_PREFIX-lambda-artifacts-$(account)-$region}"
    ensure_bucket "$bucket"
    local i=0
    for fn in "${FUNCTIONS[@]}"; do
        local key="$prefix/$fn/bootstrap.zip"
        if aws s3api head-object --bucket "$bucket" --key "$key" >/dev/null 2>&1; then
            say "s3://$bucket/$key is already there"
        else
            aws s3 cp --only-show-errors "${zips[$i]}" "s3://$bucket/$key"
            say "uploaded s3://$bucket/$key ($(stat -c %s "${zips[$i]}") bytes)"
        fi
        i=$((i + 1))
    done
    printf 'CodeBucket=%s\nCodeKeyPrefix=%s\n' "$bucket" "$prefix" >"$out/$STACK.code"
    say "code location for $STACK in $out/$STACK.code"
}

deploy() {
    package
    local overrides=("Environment=$ENV" "AppPrefix=$APP_PREFIX")
    mapfile -t -O 2 overrides < "$out/$STACK.code"
    # Shell-quoted, so that a value may hold spaces: PARAMS='RotationScheduleExpression="rate(7 days)"'.
    [ -z "${PARAMS:-}" ] || mapfile -t -O "${#overrides[@]}" overrides < <(python3 -c \
        'import shlex, sys; print("\n".join(shlex.split(sys.argv[1])))' "$PARAMS")
    say "deploying $STACK ($ENV, prefix /$APP_PREFIX/) to $(where)"
    local started=$SECONDS
    if [ "$local_stack" = 1 ]; then
        deploy_local "${overrides[@]}"
    else
        # The template goes through the artifacts bucket too: a template body is limited to 51,200 bytes.
        local bucket; bucket="$(sed -n 's/^CodeBucket=//p' "$out/$STACK.code")"
        aws cloudformation deploy --template-file "$TEMPLATE" --stack-name "$STACK" \
            --s3-bucket "$bucket" --s3-prefix "templates/$STACK" \
            --capabilities CAPABILITY_IAM --no-fail-on-empty-changeset \
            --tags "app=$APP_PREFIX" "environment=$ENV" \
            --parameter-overrides "${overrides[@]}" || die "aws cloudformation deploy failed"
    fi
    say "deployed $STACK in $((SECONDS - started)) s"
    outputs
}

# moto runs change sets (aws cloudformation deploy) without computing the stack's outputs, and
# loses track of resources that an update replaces (a later delete leaves them behind). On the
# local stack a deploy is therefore a fresh CreateStack, after deleting the previous stack.
deploy_local() { # Key=Value...
    if aws cloudformation describe-stacks --stack-name "$STACK" >/dev/null 2>&1; then
        say "local stack: replacing $STACK (moto cannot update a stack reliably)"
        destroy
    fi
    local params="$out/$STACK.parameters.json"
    python3 - "$@" >"$params" <<'PY'
import json, sys
print(json.dumps([{"ParameterKey": k, "ParameterValue": v} for k, v in (a.split("=", 1) for a in sys.argv[1:])]))
PY
    aws cloudformation create-stack --stack-name "$STACK" --template-body "file://$TEMPLATE" \
        --capabilities CAPABILITY_IAM --parameters "file://$params" \
        --tags "Key=app,Value=$APP_PREFIX" "Key=environment,Value=$ENV" --output text >/dev/null
    aws cloudformation wait stack-create-complete --stack-name "$STACK"
}

outputs() {
    aws cloudformation describe-stacks --stack-name "$STACK" \
        --query 'Stacks[0].Outputs[].[OutputKey,OutputValue]' --output text | sort | awk -F'\t' '{ printf "%-24s %s\n", $1, $2 }'
}

destroy() {
    say "deleting $STACK from $(where) (the KMS key and the database secret are retained)"
    aws cloudformation delete-stack --stack-name "$STACK"
    aws cloudformation wait stack-delete-complete --stack-name "$STACK"
    if [ "$local_stack" = 1 ]; then
        # moto deletes a stack but leaves its log groups and key alias behind, and a new stack
        # could not create them again: remove them as CloudFormation would have.
        local fn
        for fn in "${FUNCTIONS[@]}"; do
            aws logs delete-log-group --log-group-name "/aws/lambda/$APP_PREFIX-$ENV-$fn" 2>/dev/null || true
        done
        aws kms delete-alias --alias-name "alias/$APP_PREFIX-$ENV" 2>/dev/null || true
    fi
    say "deleted $STACK"
}

logs() {
    local fn="${FN:?FN=<function> (one of ${FUNCTIONS[*]})}"
    python3 - "/aws/lambda/$APP_PREFIX-$ENV-$fn" "${SINCE:-30m}" "${FOLLOW:-0}" <<'PY'
import sys, time
import boto3
group, since, follow = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
start = int((time.time() - int(since[:-1]) * units[since[-1]]) * 1000)
logs, seen = boto3.client("logs"), set()
while True:
    for page in logs.get_paginator("filter_log_events").paginate(logGroupName=group, startTime=start):
        for e in page["events"]:
            if e["eventId"] not in seen:
                seen.add(e["eventId"])
                start = max(start, e["timestamp"])
                print(e["message"].rstrip("\n"), flush=True)
    if not follow:
        break
    time.sleep(2)
PY
}

invoke() {
    local fn="${FN:?FN=<function>}" event="${EVENT:-events/${FN}/default.json}" answer
    [ "$local_stack" = 0 ] || die "moto cannot run a function's code: use make invoke (the built binary on the local stack)"
    answer="$(mktemp)"
    aws lambda invoke --function-name "$APP_PREFIX-$ENV-$fn" --payload "fileb://$event" \
        --query '[StatusCode, FunctionError]' --output text "$answer"
    cat "$answer"; echo
    rm -f "$answer"
}

# Writes the value to a private temporary file for the CLI (file://), so it never appears in the
# process list or the shell history.
value_file() {
    local f; f="$(mktemp)"; chmod 600 "$f"
    if [ -n "${VALUE:-}" ]; then
        printf '%s' "$VALUE" >"$f"
    else
        [ -t 0 ] && printf 'value of %s: ' "$1" >&2
        local v; IFS= read -rs v || true; [ -t 0 ] && echo >&2
        printf '%s' "$v" >"$f"
    fi
    [ -s "$f" ] || { rm -f "$f"; die "empty value for $1"; }
    echo "$f"
}

parameter_name() {
    local name="${NAME:?NAME=<name> under /$APP_PREFIX/$ENV/}"
    case "$name" in /*) echo "$name" ;; *) echo "/$APP_PREFIX/$ENV/$name" ;; esac
}

# CloudFormation cannot create SecureString parameters: they are put here, under the stack's key.
put_secure_parameter() { # extra put-parameter arguments...
    local name key f
    name="$(parameter_name)"
    case "$name" in "/$APP_PREFIX/$ENV/"*) ;; *) die "$name is outside /$APP_PREFIX/$ENV/" ;; esac
    key="$(stack_output KeyArn)"
    if [ -z "$key" ] || [ "$key" = None ]; then die "stack $STACK has no KeyArn output: deploy it first"; fi
    f="$(value_file "$name")"
    local rc=0
    # shellcheck disable=SC2016 # the backticks are JMESPath literals, for the AWS CLI, not the shell
    aws ssm put-parameter --name "$name" --type SecureString --key-id "$key" --value "file://$f" \
        --overwrite "$@" --query 'join(``, [`version `, to_string(Version), `, tier `, Tier])' --output text || rc=$?
    rm -f "$f"
    [ "$rc" = 0 ] || die "put-parameter failed ($rc)"
    say "put $name (SecureString, key $key)"
}

put_policy_parameter() {
    local expire_days="${EXPIRE_DAYS:-30}" expires
    expires="$(date -u -d "+$expire_days days" +%Y-%m-%dT%H:%M:%S.000Z)"
    local policies
    policies="[{\"Type\":\"Expiration\",\"Version\":\"1.0\",\"Attributes\":{\"Timestamp\":\"$expires\"}},"
    policies+="{\"Type\":\"ExpirationNotification\",\"Version\":\"1.0\",\"Attributes\":{\"Before\":\"${NOTIFY_BEFORE_DAYS:-15}\",\"Unit\":\"Days\"}},"
    policies+="{\"Type\":\"NoChangeNotification\",\"Version\":\"1.0\",\"Attributes\":{\"After\":\"${NO_CHANGE_DAYS:-20}\",\"Unit\":\"Days\"}}]"
    put_secure_parameter --tier Advanced --policies "$policies"
    say "policies: expires $expires, notifies ${NOTIFY_BEFORE_DAYS:-15} days before, and after ${NO_CHANGE_DAYS:-20} days without change"
}

case "${1:-}" in
    package) package ;;
    deploy) deploy ;;
    outputs) outputs ;;
    destroy) destroy ;;
    logs) logs ;;
    invoke) invoke ;;
    put-secure-parameter) put_secure_parameter ;;
    put-policy-parameter) put_policy_parameter ;;
    *) echo "usage: $0 package|deploy|outputs|destroy|logs|invoke|put-secure-parameter|put-policy-parameter" >&2; exit 2 ;;
esac
