"""The moto wrapper's correction is needed (moto's own shape is not AWS's) and makes AWS's shape."""

import datetime
import importlib.util
import json
import pathlib

from moto.ssm import models

POLICIES = json.dumps([
    {"Type": "Expiration", "Version": "1.0", "Attributes": {"Timestamp": "2026-12-14T09:00:00.000Z"}},
    {"Type": "NoChangeNotification", "Version": "1.0", "Attributes": {"After": "20", "Unit": "Days"}},
])


def parameter():
    return models.Parameter(
        account_id="123456789012", name="/my-app/dev/api-token", value="v", parameter_type="String",
        description=None, allowed_pattern=None, keyid=None,
        last_modified_date=datetime.datetime.now(), version=1, data_type="text",
        tier="Advanced", policies=POLICIES,
    )


def test_moto_alone_returns_policy_objects_where_aws_returns_strings():
    original = models.Parameter.response_object
    policies = original(parameter())["Policies"]
    assert not isinstance(policies[0]["PolicyText"], str), "moto fixed this: the wrapper may go"


def test_the_wrapper_returns_aws_shape():
    spec = importlib.util.spec_from_file_location("moto_server", pathlib.Path(__file__).parents[1] / "moto_server.py")
    wrapper = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(wrapper)
    try:
        policies = parameter().response_object()["Policies"]
        assert [p["PolicyType"] for p in policies] == ["Expiration", "NoChangeNotification"]
        assert all(isinstance(p["PolicyText"], str) for p in policies)
        assert json.loads(policies[0]["PolicyText"])["Attributes"]["Timestamp"] == "2026-12-14T09:00:00.000Z"
        assert parameter().describe_response_object()["Policies"] == policies
    finally:
        models.Parameter.response_object = wrapper._moto_response_object
