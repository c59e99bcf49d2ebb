"""Another application's stack consuming this one's database URL from Parameter Store through an
SSM parameter type (cloudformation/examples/consumer.yaml), deployed into the local stack's moto
next to the main stack. The main stack comes from test_event_patterns.py's fixture, imported: pytest
gives this module its own instance, deployed by scripts/deploy.sh before these tests and destroyed
after them, so the parameter changed here is never the one the event-pattern proof sees.

moto resolves SSM parameter types as CloudFormation does at create and update, which is what
these tests hold it to. Two differences they step around: moto keeps the resolved value as the
stack's parameter value where CloudFormation keeps the name, so an update that keeps the previous
value (UsePreviousValue) is refused as "no updates" and the update here names the parameter again;
and a parameter that does not exist fails the create with an internal error where CloudFormation
answers with a ValidationError, so the test of that case asserts only that nothing was created.
Needs the local stack (run through make test, or scripts/with-stack.sh): it never skips.
"""
from __future__ import annotations

from pathlib import Path

import botocore.exceptions
import pytest
from botocore.config import Config
from botocore.parsers import ResponseParserError
from test_event_patterns import ENV, SESSION, client, deployed  # noqa: F401 - deployed: the main stack's fixture

TEMPLATE = (Path(__file__).resolve().parents[1] / "examples" / "consumer.yaml").read_text()
STACK = "consumer-dev"
DB_URL = "/my-app/dev/db-url"  # the main stack's DatabaseUrlParameter, and the consumer's Default
PUBLIC = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"


def outputs(name: str) -> dict[str, str]:
    stack = client("cloudformation").describe_stacks(StackName=name)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def value(name: str) -> str:
    return client("ssm").get_parameter(Name=name)["Parameter"]["Value"]


@pytest.fixture(scope="module")
def consumer(deployed):  # noqa: F811 - the imported fixture
    """The consumer stack with its defaults (Environment=dev, DatabaseUrl=/my-app/dev/db-url)."""
    assert deployed["resources"]["DatabaseUrlParameter"] == DB_URL, "the main stack names its database URL otherwise"
    cf = client("cloudformation")
    cf.create_stack(StackName=STACK, TemplateBody=TEMPLATE, Parameters=[{"ParameterKey": "Environment", "ParameterValue": "dev"}])
    cf.get_waiter("stack_create_complete").wait(StackName=STACK, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    yield STACK
    cf.delete_stack(StackName=STACK)


def test_the_consumer_gets_the_main_stacks_database_url(consumer):
    current = value(DB_URL)
    assert "://" in current, "the main stack's parameter holds no URL"
    assert outputs(consumer)["DatabaseUrl"] == current
    assert value("/consumer/dev/db-url") == current  # the consumer's own resource carries it


def test_a_public_parameter_resolves_as_an_image_id(consumer):
    ami = value(PUBLIC)
    assert ami.startswith("ami-")
    assert outputs(consumer)["AmazonLinuxAmi"] == ami


def test_a_changed_parameter_reaches_the_consumer_at_its_next_update_only(consumer):
    before = outputs(consumer)["DatabaseUrl"]
    changed = before.replace("://", "://changed-", 1)
    assert changed != before
    client("ssm").put_parameter(Name=DB_URL, Value=changed, Type="String", Overwrite=True)

    # resolved once, at the create: the stack and its resource still hold the old value
    assert outputs(consumer)["DatabaseUrl"] == before
    assert value("/consumer/dev/db-url") == before

    cf = client("cloudformation")
    cf.update_stack(StackName=consumer, TemplateBody=TEMPLATE, Parameters=[
        {"ParameterKey": "Environment", "ParameterValue": "dev"},
        {"ParameterKey": "DatabaseUrl", "ParameterValue": DB_URL},  # named again: see the module's docstring
    ])
    cf.get_waiter("stack_update_complete").wait(StackName=consumer, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    assert outputs(consumer)["DatabaseUrl"] == changed
    assert value("/consumer/dev/db-url") == changed


def test_a_parameter_that_does_not_exist_fails_the_create(deployed):  # noqa: F811 - the imported fixture
    name = "consumer-prod"
    # one attempt: moto's failure is an HTTP 500, which the SDK would otherwise retry
    cf = SESSION.client("cloudformation", endpoint_url=ENV["AWS_ENDPOINT_URL"], config=Config(retries={"total_max_attempts": 1}))
    parameters = [{"ParameterKey": "Environment", "ParameterValue": "prod"},
                  {"ParameterKey": "DatabaseUrl", "ParameterValue": "/my-app/prod/no-such-parameter"}]
    # AWS refuses the create (ValidationError); a create that started would end in a rollback (the
    # waiter's error); moto answers with an HTTP 500 page, which the SDK cannot parse.
    refused = (botocore.exceptions.ClientError, botocore.exceptions.WaiterError, ResponseParserError)
    try:
        with pytest.raises(refused):
            cf.create_stack(StackName=name, TemplateBody=TEMPLATE, Parameters=parameters)
            cf.get_waiter("stack_create_complete").wait(StackName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
        stacks = [s["StackName"] for s in cf.list_stacks()["StackSummaries"] if s["StackStatus"] != "DELETE_COMPLETE"]
        assert name not in stacks
        ssm = client("ssm")
        with pytest.raises(ssm.exceptions.ParameterNotFound):
            ssm.get_parameter(Name="/consumer/prod/db-url")
    finally:
        if any(s["StackName"] == name and s["StackStatus"] != "DELETE_COMPLETE" for s in cf.list_stacks()["StackSummaries"]):
            cf.delete_stack(StackName=name)
