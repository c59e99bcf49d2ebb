"""The stack deployed into the local stack's moto by scripts/deploy.sh (as `make deploy` does), and
each deployed rule's event pattern proven against the sample events in events/.

moto fails a whole PutEvents call when a matching rule targets a Lambda function, so each pattern
is read back from the deployed rule (DescribeRule) and copied onto a rule of a separate event bus
whose target is an SQS queue; the samples are put on that bus, and the queue says which matched.
Needs the local stack (run through make test, or scripts/with-stack.sh): it never skips.
"""
from __future__ import annotations

import collections
import json
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from template_rules import policy

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
import eventbridge_proof  # noqa: E402

# EventBridge events only: events/rotation-health/sweep.json is the sweep's constant input, not an event.
SAMPLES = sorted(p for p in [*(ROOT / "events").glob("*-notifier/*.json"), *(ROOT / "events").glob("rotation-health/*.json")]
                 if "source" in json.loads(p.read_text()))
STACK = "my-app-dev"  # the sample events use the prefix my-app: the default

# Which samples each rule must deliver; every other sample (near misses included) must not arrive.
EXPECTED = {
    "ParameterPolicyActionRule": {
        "parameter-notifier/default.json", "parameter-notifier/expiration.json",
        "parameter-notifier/expiration-notification.json", "parameter-notifier/no-change-notification.json",
    },
    "ParameterChangeRule": {
        "parameter-notifier/change-create.json", "parameter-notifier/change-update.json",
        "parameter-notifier/change-delete.json", "parameter-notifier/change-label.json",
    },
    "CertificateEventsRule": {
        "certificate-notifier/default.json", "certificate-notifier/approaching-expiration.json",
        "certificate-notifier/expired.json", "certificate-notifier/renewal-action-required.json",
        "certificate-notifier/available.json", "certificate-notifier/revoked.json",
        # well-formed for EventBridge (the handler reports its DaysToExpiry): it is delivered
        "certificate-notifier/malformed.json",
    },
    "CertificateComplianceRule": {
        "certificate-notifier/config-compliant.json", "certificate-notifier/config-noncompliant.json",
    },
    "RotationEventsRule": {
        "rotation-health/default.json", "rotation-health/rotation-failed.json", "rotation-health/rotation-abandoned.json",
        "rotation-health/rotation-succeeded.json", "rotation-health/test-rotation-failed.json",
        "rotation-health/test-rotation-succeeded.json",
        # well-formed for EventBridge (the handler reports the missing SecretId): it is delivered
        "rotation-health/malformed.json",
    },
    "RotationComplianceRule": {
        "rotation-health/config-scheduled-noncompliant.json", "rotation-health/config-scheduled-compliant.json",
        "rotation-health/config-periodic-noncompliant.json",
    },
}
NEAR_MISSES = {"parameter-notifier/other-prefix.json", "parameter-notifier/unknown-detail-type.json",
               "parameter-notifier/malformed.json", "certificate-notifier/config-other-rule.json",
               # rotation starting calls for nothing; an API call is not a service event; another Config rule
               "rotation-health/rotation-started.json", "rotation-health/test-rotation-started.json",
               "rotation-health/api-call-rotate-secret.json", "rotation-health/config-other-rule.json"}


def stack_env() -> dict[str, str]:
    path = os.environ.get("STACK_ENV_FILE")
    assert path and Path(path).is_file(), "the local stack is not up: run through make test or scripts/with-stack.sh"
    env = {}
    for line in Path(path).read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            env[key] = value
    assert env.get("AWS_ENDPOINT_URL", "").startswith("http://127.0.0.1:"), f"{path} has no local AWS_ENDPOINT_URL"
    return env


ENV = stack_env()
SESSION = boto3.Session(aws_access_key_id=ENV["AWS_ACCESS_KEY_ID"], aws_secret_access_key=ENV["AWS_SECRET_ACCESS_KEY"],
                        region_name=ENV["AWS_REGION"])


def client(name: str):
    return SESSION.client(name, endpoint_url=ENV["AWS_ENDPOINT_URL"])


def deploy_script(command: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("APP_PREFIX", "STACK", "PARAMS", "CODE_BUCKET")}
    env.update(ENV, ENV="dev", STACK=STACK)
    done = subprocess.run([str(ROOT / "scripts/deploy.sh"), command], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"deploy.sh {command} failed:\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def deployed():
    """The stack, deployed as make deploy does, and deleted afterwards."""
    done = deploy_script("deploy")
    cf = client("cloudformation")
    stack = cf.describe_stacks(StackName=STACK)["Stacks"][0]
    # moto lists the resource types it skips (secrets, alarms, queue policies) as empty entries
    resources = {r["LogicalResourceId"]: r.get("PhysicalResourceId")
                 for r in cf.describe_stack_resources(StackName=STACK)["StackResources"] if "LogicalResourceId" in r}
    yield {"log": done.stderr, "outputs": {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])},
           "resources": resources, "status": stack["StackStatus"]}
    deploy_script("destroy")


key = eventbridge_proof.sample_key


def samples() -> dict[str, dict]:
    return {f"{p.parent.name}/{p.name}": json.loads(p.read_text()) for p in SAMPLES}


def deliveries(pattern: str) -> collections.Counter:
    """The keys of the samples that a rule with `pattern` delivers."""
    return collections.Counter(key(e) for e in eventbridge_proof.delivered(client("events"), client("sqs"), pattern, list(samples().values())))


def expected_keys(files: set[str]) -> collections.Counter:
    all_samples = samples()
    return collections.Counter(key(all_samples[f]) for f in files)


def test_the_table_names_real_samples_and_keeps_near_misses_out():
    names = set(samples())
    for rule, files in EXPECTED.items():
        assert files <= names, f"{rule}: {files - names} are not sample files"
        assert not files & NEAR_MISSES, rule
    assert names >= NEAR_MISSES


def test_the_stack_deploys_into_moto(deployed):
    assert deployed["status"] == "CREATE_COMPLETE"
    assert {"ConfigReaderArn", "SecretRotationArn", "ParameterNotifierArn", "CertificateNotifierArn", "RotationHealthArn", "TopicArn",
            "KeyArn"} <= set(deployed["outputs"])
    assert deployed["outputs"]["KeyArn"].startswith("arn:aws:kms:")
    # without the functions' zips, placeholder code is uploaded, and the output says so
    if not all((Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "lambda" / f / "bootstrap.zip").is_file()
               for f in ("config-reader", "secret-rotation", "parameter-notifier", "certificate-notifier", "rotation-health")):
        assert "PLACEHOLDER CODE" in deployed["log"]


def test_by_default_the_stack_creates_no_network_resources(deployed):
    # the rotation function runs outside any VPC, and no endpoint or security group is created
    # (test_rotation_network.py deploys them, and sees them in the same listing)
    network = {"RotationSecurityGroup", "RotationEndpointSecurityGroup", "RotationEndpointIngress", "SecretsManagerEndpoint", "RdsEndpoint"}
    assert not network & set(deployed["resources"])
    assert {"SecretRotation", "SecretRotationRole", "SecretRotationPermission"} <= set(deployed["resources"])


@pytest.mark.parametrize("role", ["ConfigReaderRole", "SecretRotationRole", "ParameterNotifierRole", "CertificateNotifierRole",
                                  "RotationHealthRole"])
def test_by_default_no_role_may_write_to_xray(deployed, role):
    # Tracing defaults to PassThrough: the X-Ray statement is left out of every role
    # (test_rotation_network.py deploys with Tracing=Active and sees it). moto keeps a statement
    # left out with AWS::NoValue as None.
    iam = client("iam")
    name = deployed["resources"][role]
    statements = [s for p in iam.list_role_policies(RoleName=name)["PolicyNames"]
                  for s in policy(iam.get_role_policy(RoleName=name, PolicyName=p)["PolicyDocument"])["Statement"] if s is not None]
    assert any("logs:PutLogEvents" in s["Action"] for s in statements), f"{role}: its policy was not read"
    assert [s for s in statements if "xray:" in json.dumps(s["Action"])] == []


@pytest.mark.parametrize("rule", sorted(EXPECTED))
def test_deployed_rule_targets_its_function_with_retries_and_a_dead_letter_queue(deployed, rule):
    events = client("events")
    function = {"ParameterPolicyActionRule": "ParameterNotifierArn", "ParameterChangeRule": "ParameterNotifierArn",
                "CertificateEventsRule": "CertificateNotifierArn", "CertificateComplianceRule": "CertificateNotifierArn",
                "RotationEventsRule": "RotationHealthArn", "RotationComplianceRule": "RotationHealthArn"}[rule]
    targets = events.list_targets_by_rule(Rule=deployed["resources"][rule])["Targets"]
    assert [t["Arn"] for t in targets] == [deployed["outputs"][function]]
    assert targets[0]["RetryPolicy"]["MaximumRetryAttempts"] > 0
    assert targets[0]["DeadLetterConfig"]["Arn"].endswith(":my-app-dev-rule-dlq")


@pytest.mark.parametrize("rule", sorted(EXPECTED))
def test_deployed_pattern_matches_exactly_its_samples(deployed, rule):
    pattern = client("events").describe_rule(Name=deployed["resources"][rule])["EventPattern"]
    got = deliveries(pattern)
    want = expected_keys(EXPECTED[rule])
    by_key = {key(e): f for f, e in samples().items()}
    assert got == want, (f"{rule} {pattern}\n  missing: {sorted(by_key[k] for k in want - got)}"
                         f"\n  unexpected: {sorted(by_key[k] for k in got - want)}")


def test_the_proof_tells_a_wrong_pattern_apart(deployed):
    """The same harness with the policy rule's pattern pointed at another prefix: the other-prefix
    sample arrives and the application's do not, so a passing proof is not an accident of the harness."""
    pattern = json.loads(client("events").describe_rule(Name=deployed["resources"]["ParameterPolicyActionRule"])["EventPattern"])
    pattern["detail"]["parameter-name"] = [{"prefix": "/other-app/"}]
    got = deliveries(json.dumps(pattern))
    assert got == expected_keys({"parameter-notifier/other-prefix.json"})


def test_the_sweep_is_scheduled_with_its_constant_input(deployed):
    """The daily sweep: a schedule, no pattern, the function as target with {"Action": "sweep"}, a
    retry policy and the rules' dead-letter queue."""
    events = client("events")
    name = deployed["resources"]["RotationHealthSweepRule"]
    rule = events.describe_rule(Name=name)
    assert rule["ScheduleExpression"] == "cron(0 6 * * ? *)" and "EventPattern" not in rule
    targets = events.list_targets_by_rule(Rule=name)["Targets"]
    assert [t["Arn"] for t in targets] == [deployed["outputs"]["RotationHealthArn"]]
    assert json.loads(targets[0]["Input"]) == json.loads((ROOT / "events/rotation-health/sweep.json").read_text())
    assert targets[0]["RetryPolicy"]["MaximumRetryAttempts"] > 0
    assert targets[0]["DeadLetterConfig"]["Arn"].endswith(":my-app-dev-rule-dlq")
