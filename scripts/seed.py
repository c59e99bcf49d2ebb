#!/usr/bin/env python3
"""Seeds the local stack with the demo application's configuration.

For each environment (dev and prod): /my-app/<env>/db-url (String), /my-app/<env>/db-password
(SecureString under the customer-managed key alias/my-app-config), /my-app/<env>/feature-flags
(StringList), and a Secrets Manager secret my-app/<env>/db-credentials. Idempotent.

Reads the endpoint from AWS_ENDPOINT_URL (the local stack's env file sets it).
"""
import json
import os
import secrets
import sys

import boto3
from botocore.exceptions import ClientError

PREFIX = os.environ.get("PARAMETER_PREFIX", "/my-app").rstrip("/")
ALIAS = "alias/my-app-config"


def main() -> int:
    if not os.environ.get("AWS_ENDPOINT_URL"):
        print("seed: AWS_ENDPOINT_URL is not set; start the local stack (make stack-up) and source its env file", file=sys.stderr)
        return 1
    kms = boto3.client("kms")
    ssm = boto3.client("ssm")
    sm = boto3.client("secretsmanager")
    aliases = {a["AliasName"]: a.get("TargetKeyId") for a in kms.list_aliases()["Aliases"]}
    key_id = aliases.get(ALIAS)
    if not key_id:
        key_id = kms.create_key(Description="my-app configuration (local demo)")["KeyMetadata"]["KeyId"]
        kms.create_alias(AliasName=ALIAS, TargetKeyId=key_id)
    for env in ("dev", "prod"):
        base = f"{PREFIX}/{env}"
        password = secrets.token_urlsafe(18)
        ssm.put_parameter(Name=f"{base}/db-url", Type="String", Overwrite=True,
                          Value=f"postgres://app@db.{env}.example.internal:5432/app")
        ssm.put_parameter(Name=f"{base}/db-password", Type="SecureString", KeyId=ALIAS, Overwrite=True, Value=password)
        ssm.put_parameter(Name=f"{base}/feature-flags", Type="StringList", Overwrite=True,
                          Value="new-checkout,dark-mode" if env == "dev" else "dark-mode")
        secret = json.dumps({"engine": "postgres", "host": f"db.{env}.example.internal", "port": 5432,
                             "username": "app", "password": password, "dbname": "app"})
        name = f"{PREFIX.lstrip('/')}/{env}/db-credentials"
        try:
            sm.create_secret(Name=name, SecretString=secret, KmsKeyId=key_id)
        except ClientError as e:
            if e.response["Error"]["Code"] != "ResourceExistsException":
                raise
            sm.put_secret_value(SecretId=name, SecretString=secret)
        print(f"seed: {base}/db-url, {base}/db-password (SecureString, {ALIAS}), {base}/feature-flags, secret {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
