"""The rotation function's network and trust options, deployed into the local stack's moto by
scripts/deploy.sh (as `make deploy` does with PARAMS): a VPC with two subnets and a database-route
security group is created in moto, and the stack is deployed into it with both interface endpoints,
an existing secret with its own KMS key, a master secret, and X-Ray active tracing (Tracing=Active).

What moto cannot show is covered by test_template.py over the parsed template: the function's
VpcConfig, environment and invoke permission (with its no-Docker Lambda backend the Lambda API does
not see functions that CloudFormation created), security group egress (moto keeps the default
allow-all rule), the RotationSchedule (skipped), the Rules (not evaluated) and the functions'
TracingConfig (moto's CloudFormation drops it, and its Lambda API does not list the functions).
Needs the local stack (run through make test, or scripts/with-stack.sh): it never skips.
"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import boto3
import pytest
from template_rules import policy

ROOT = Path(__file__).resolve().parents[2]
STACK = "my-app-prod"  # not the event-pattern proof's my-app-dev: both modules deploy
SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:app/prod/db-AbCdEf"
MASTER_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-0123-AbCdEf"
KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def stack_env() -> dict[str, str]:
    path = os.environ.get("STACK_ENV_FILE")
    assert path and Path(path).is_file(), "the local stack is not up: run through make test or scripts/with-stack.sh"
    env = dict(line.split("=", 1) for line in Path(path).read_text().splitlines() if "=" in line and not line.startswith("#"))
    assert env.get("AWS_ENDPOINT_URL", "").startswith("http://127.0.0.1:"), f"{path} has no local AWS_ENDPOINT_URL"
    return env


ENV = stack_env()


def client(name: str):
    return boto3.client(name, endpoint_url=ENV["AWS_ENDPOINT_URL"], region_name=ENV["AWS_REGION"],
                        aws_access_key_id=ENV["AWS_ACCESS_KEY_ID"], aws_secret_access_key=ENV["AWS_SECRET_ACCESS_KEY"])


def deploy_script(command: str, params: str = "") -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("APP_PREFIX", "STACK", "PARAMS", "CODE_BUCKET")}
    env.update(ENV, ENV="prod", STACK=STACK, PARAMS=params)
    done = subprocess.run([str(ROOT / "scripts/deploy.sh"), command], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"deploy.sh {command} failed:\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def network():
    """A VPC like an application's: two private subnets and the group that routes to the database."""
    ec2 = client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.42.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.42.{i}.0/24")["Subnet"]["SubnetId"] for i in (1, 2)]
    database_route = ec2.create_security_group(GroupName="database-route", Description="to the database", VpcId=vpc)["GroupId"]
    yield {"vpc": vpc, "subnets": subnets, "database_route": database_route}
    # moto leaves a deleted stack's VPC endpoints behind: remove them with the VPC
    endpoints = [e["VpcEndpointId"] for e in ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["VpcEndpoints"]]
    if endpoints:
        ec2.delete_vpc_endpoints(VpcEndpointIds=endpoints)
    ec2.delete_security_group(GroupId=database_route)
    for subnet in subnets:
        ec2.delete_subnet(SubnetId=subnet)
    ec2.delete_vpc(VpcId=vpc)


@pytest.fixture(scope="module")
def deployed(network):
    params = " ".join([
        f"RotationVpcId={network['vpc']}", f"RotationSubnetIds={','.join(network['subnets'])}",
        f"RotationSecurityGroupIds={network['database_route']}",
        "CreateSecretsManagerEndpoint=true", "CreateRdsEndpoint=true",
        f"DatabaseSecretArn={SECRET_ARN}", f"DatabaseSecretKmsKeyArn={KEY_ARN}", f"MasterSecretArn={MASTER_ARN}",
        "RotationWindow=2h", "Tracing=Active",
    ])
    deploy_script("deploy", params)
    cf = client("cloudformation")
    stack = cf.describe_stacks(StackName=STACK)["Stacks"][0]
    resources = {r["LogicalResourceId"]: r.get("PhysicalResourceId")
                 for r in cf.describe_stack_resources(StackName=STACK)["StackResources"] if "LogicalResourceId" in r}
    yield {"status": stack["StackStatus"], "outputs": {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])},
           "resources": resources}
    deploy_script("destroy")


def groups_in(vpc: str) -> dict[str, dict[str, Any]]:
    return {g["GroupId"]: g for g in client("ec2").describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["SecurityGroups"]}


def test_the_stack_deploys_with_the_network_options(deployed):
    assert deployed["status"] == "CREATE_COMPLETE"
    assert deployed["outputs"]["SecretArn"] == SECRET_ARN
    assert {"RotationSecurityGroup", "RotationEndpointSecurityGroup", "RotationEndpointIngress",
            "SecretsManagerEndpoint", "RdsEndpoint"} <= set(deployed["resources"])
    assert "DatabaseSecret" not in deployed["resources"]


def test_the_endpoints_are_private_interface_endpoints_in_the_rotation_subnets(deployed, network):
    endpoints = client("ec2").describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [network["vpc"]]}])["VpcEndpoints"]
    by_service = {e["ServiceName"]: e for e in endpoints}
    assert set(by_service) == {"com.amazonaws.us-east-1.secretsmanager", "com.amazonaws.us-east-1.rds"}
    endpoint_group = deployed["resources"]["RotationEndpointSecurityGroup"]
    for service, e in by_service.items():
        assert e["VpcEndpointType"] == "Interface", service
        assert e["PrivateDnsEnabled"] is True, service
        assert sorted(e["SubnetIds"]) == sorted(network["subnets"]), service
        assert [g["GroupId"] for g in e["Groups"]] == [endpoint_group], service
        statements = policy(e["PolicyDocument"])["Statement"]
        assert all(s["Condition"]["StringEquals"]["aws:PrincipalAccount"] == "123456789012" for s in statements), service


def test_only_the_stacks_rotation_group_may_reach_the_endpoints(deployed, network):
    groups = groups_in(network["vpc"])
    endpoint_group, rotation_group = deployed["resources"]["RotationEndpointSecurityGroup"], deployed["resources"]["RotationSecurityGroup"]
    assert {endpoint_group, rotation_group, network["database_route"]} <= set(groups)
    ingress = groups[endpoint_group]["IpPermissions"]
    assert [(p["IpProtocol"], p["FromPort"], p["ToPort"]) for p in ingress] == [("tcp", 443, 443)]
    assert [pair["GroupId"] for pair in ingress[0]["UserIdGroupPairs"]] == [rotation_group]
    assert ingress[0]["IpRanges"] == [] and ingress[0].get("Ipv6Ranges", []) == []
    # the given database-route group is left as it was
    assert groups[network["database_route"]]["IpPermissions"] == []


def role_statements(role: str) -> list[dict[str, Any]]:
    """The statements of a deployed role's inline policies (moto keeps an AWS::NoValue statement as None)."""
    iam = client("iam")
    return [s for name in iam.list_role_policies(RoleName=role)["PolicyNames"]
            for s in policy(iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"])["Statement"] if s is not None]


def test_the_rotation_role_gets_the_vpc_actions_and_the_secrets_own_key(deployed):
    role = deployed["resources"]["SecretRotationRole"]
    statements = role_statements(role)
    by_sid = {s["Sid"]: s for s in statements}
    ec2_actions = {a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"]) if a.startswith("ec2:")}
    assert ec2_actions == {"ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets",
                           "ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"}
    key = by_sid["UseTheSecretsKeyThroughSecretsManager"]
    assert key["Resource"] == KEY_ARN
    assert key["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert key["Condition"] == {"StringEquals": {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com",
                                                 "kms:EncryptionContext:SecretARN": SECRET_ARN}}
    assert by_sid["RotateItsSecret"]["Resource"] == SECRET_ARN
    assert by_sid["ReadTheMasterSecret"]["Resource"] == MASTER_ARN


@pytest.mark.parametrize("role", ["ConfigReaderRole", "SecretRotationRole", "ParameterNotifierRole", "CertificateNotifierRole"])
def test_with_active_tracing_each_role_may_write_its_traces_and_nothing_more_of_xray(deployed, role):
    xray = [s for s in role_statements(deployed["resources"][role])
            if any(a.startswith("xray:") for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"]))]
    assert xray == [{"Sid": "WriteTracesHasNoResource", "Effect": "Allow",
                     "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], "Resource": "*"}]
