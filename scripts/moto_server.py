"""The local stack's AWS API: moto's server, with one correction.

moto lists an advanced parameter's policies (DescribeParameters, GetParameterHistory) as
{"PolicyText": <the policy object>, "PolicyType": <the policy object>, "PolicyStatus": "Finished"};
AWS sends PolicyText as a JSON string and PolicyType as "Expiration", "ExpirationNotification" or
"NoChangeNotification", and the AWS SDK for Rust rejects the whole response otherwise. This
wrapper gives the policies AWS's shape, then runs moto's server with the same arguments.
"""

import contextlib
import json
import sys

from moto.ssm import models


def aws_policies(policies_json):
    """AWS's shape of a parameter's policies, from the JSON list stored with it."""
    out = []
    for stored in json.loads(policies_json):
        policy = stored
        if isinstance(stored, str):
            with contextlib.suppress(ValueError):
                policy = json.loads(stored)
        policy_type = policy.get("Type", "") if isinstance(policy, dict) else ""
        text = policy if isinstance(policy, str) else json.dumps(policy, separators=(",", ":"))
        out.append({"PolicyText": text, "PolicyType": policy_type, "PolicyStatus": "Pending"})
    return out


_moto_response_object = models.Parameter.response_object


def response_object(self, *args, **kwargs):
    r = _moto_response_object(self, *args, **kwargs)
    if self.policies and "Policies" in r:
        try:
            r["Policies"] = aws_policies(self.policies)
        except ValueError:
            r.pop("Policies", None)
    return r


models.Parameter.response_object = response_object

if __name__ == "__main__":
    from moto.server import main

    sys.exit(main(sys.argv[1:]))
