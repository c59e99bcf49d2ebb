#!/usr/bin/env python3
"""Seeds the local stack with the demo application's configuration.

For each environment (dev and prod): /my-app/<env>/db-url (String), /my-app/<env>/db-password
(SecureString under the customer-managed key alias/my-app-config), /my-app/<env>/feature-flags
(StringList), and a Secrets Manager secret my-app/<env>/db-credentials holding the credentials
of the PostgreSQL user app_<env> on the local stack's server (created here with the same
password), and my-app/<env>/mariadb-credentials for the MariaDB user app_<env>, ready for
`make rotate`. For the alternating-users strategy: my-app/<env>/db-master (a PostgreSQL master
user with CREATEROLE) and my-app/<env>/db-credentials-alternating (user appx_<env>, owner of a
table), and my-app/<env>/mariadb-master and my-app/<env>/mariadb-credentials-alternating.
Idempotent: each run sets fresh passwords everywhere.

Reads the endpoints from the local stack's env file (AWS_ENDPOINT_URL, PG_*).

With a deployed stack (make demo): --key ENV=KEY encrypts that environment's SecureString and
secrets under the stack's key instead, and --stack-owns-db-url leaves /my-app/<env>/db-url, a
parameter of the stack, alone.
"""
import argparse
import json
import os
import secrets
import subprocess
import sys

import boto3
from botocore.exceptions import ClientError

PREFIX = os.environ.get("PARAMETER_PREFIX", "/my-app").rstrip("/")
ALIAS = "alias/my-app-config"


def pg_user(name: str, password: str, attributes: str = "", then: str = "") -> None:
    """Creates or updates a PostgreSQL login role on the local stack's server, through psql."""
    ident = '"' + name.replace('"', '""') + '"'
    def quote(text: str) -> str:
        return "'" + text.replace("'", "''") + "'"

    sql = (f"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = {quote(name)}) "
           f"THEN CREATE ROLE {ident} LOGIN; END IF; END $$; ALTER ROLE {ident} {attributes} PASSWORD {quote(password)}; {then}")
    env = dict(os.environ, PGPASSWORD=os.environ["PG_PASSWORD"])
    subprocess.run(["psql", "-qX", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", os.environ["PG_PORT"], "-U", "postgres",
                    "-d", "postgres", "-c", sql], env=env, check=True, stdout=subprocess.DEVNULL)


def mariadb_user(name: str, password: str, then: str = "") -> None:
    """Creates or updates a MariaDB user on the local stack's server, through the mariadb client."""
    def quote(text: str) -> str:
        return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"

    account = f"{quote(name)}@'%'"
    sql = f"CREATE USER IF NOT EXISTS {account}; ALTER USER {account} IDENTIFIED BY {quote(password)}; {then}"
    subprocess.run(["mariadb", "--no-defaults", "-h", "127.0.0.1", "-P", os.environ["MARIADB_PORT"], "-u", os.environ["MARIADB_USER"],
                    f"-p{os.environ['MARIADB_PASSWORD']}", "-e", sql], check=True, stdout=subprocess.DEVNULL)


def put_secret(sm, name: str, value: str, key_id: str) -> None:
    try:
        sm.create_secret(Name=name, SecretString=value, KmsKeyId=key_id)
    except ClientError as e:
        if e.response["Error"]["Code"] != "ResourceExistsException":
            raise
        sm.put_secret_value(SecretId=name, SecretString=value)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--key", action="append", default=[], help="ENV=KEY: the KMS key for that environment")
    ap.add_argument("--stack-owns-db-url", action="store_true", help="do not put /<prefix>/<env>/db-url")
    args = ap.parse_args()
    keys = dict(k.split("=", 1) for k in args.key)
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
    default_key = key_id
    for env in ("dev", "prod"):
        key_id = keys.get(env, default_key)
        key_name = keys.get(env, ALIAS)
        base = f"{PREFIX}/{env}"
        password = secrets.token_urlsafe(18)
        if not args.stack_owns_db_url:
            ssm.put_parameter(Name=f"{base}/db-url", Type="String", Overwrite=True,
                              Value=f"postgres://app@db.{env}.example.internal:5432/app")
        ssm.put_parameter(Name=f"{base}/db-password", Type="SecureString", KeyId=key_name, Overwrite=True, Value=password)
        ssm.put_parameter(Name=f"{base}/feature-flags", Type="StringList", Overwrite=True,
                          Value="new-checkout,dark-mode" if env == "dev" else "dark-mode")
        user = f"app_{env}"
        pg_user(user, password)
        secret = json.dumps({"engine": "postgres", "host": "127.0.0.1", "port": int(os.environ["PG_PORT"]),
                             "username": user, "password": password, "dbname": "postgres"})
        name = f"{PREFIX.lstrip('/')}/{env}/db-credentials"
        put_secret(sm, name, secret, key_id)
        maria_password = secrets.token_urlsafe(18)
        mariadb_user(user, maria_password)
        put_secret(sm, f"{PREFIX.lstrip('/')}/{env}/mariadb-credentials",
                   json.dumps({"engine": "mariadb", "host": "127.0.0.1", "port": int(os.environ["MARIADB_PORT"]),
                               "username": user, "password": maria_password}), key_id)
        # Alternating users: a master each, and a user that owns a table (PostgreSQL) or holds
        # grants (MariaDB) that its clone must be able to use.
        name_prefix = PREFIX.lstrip('/')
        master, master_password = f"master_{env}", secrets.token_urlsafe(18)
        pg_user(master, master_password, "CREATEROLE")
        put_secret(sm, f"{name_prefix}/{env}/db-master", json.dumps({"engine": "postgres", "host": "127.0.0.1", "port": int(os.environ["PG_PORT"]),
                   "username": master, "password": master_password, "dbname": "postgres"}), key_id)
        master_arn = sm.describe_secret(SecretId=f"{name_prefix}/{env}/db-master")["ARN"]
        alt, alt_password = f"appx_{env}", secrets.token_urlsafe(18)
        pg_user(alt, alt_password, then=f"CREATE TABLE IF NOT EXISTS orders_{env} (id int); ALTER TABLE orders_{env} OWNER TO {alt};")
        put_secret(sm, f"{name_prefix}/{env}/db-credentials-alternating", json.dumps({"engine": "postgres", "host": "127.0.0.1",
                   "port": int(os.environ["PG_PORT"]), "username": alt, "password": alt_password, "dbname": "postgres", "masterarn": master_arn}), key_id)
        put_secret(sm, f"{name_prefix}/{env}/mariadb-master", json.dumps({"engine": "mariadb", "host": "127.0.0.1", "port": int(os.environ["MARIADB_PORT"]),
                   "username": os.environ["MARIADB_USER"], "password": os.environ["MARIADB_PASSWORD"]}), key_id)
        maria_master_arn = sm.describe_secret(SecretId=f"{name_prefix}/{env}/mariadb-master")["ARN"]
        maria_alt_password = secrets.token_urlsafe(18)
        mariadb_user(alt, maria_alt_password, then=f"CREATE DATABASE IF NOT EXISTS shop; GRANT SELECT, INSERT ON shop.* TO '{alt}'@'%';")
        put_secret(sm, f"{name_prefix}/{env}/mariadb-credentials-alternating", json.dumps({"engine": "mariadb", "host": "127.0.0.1",
                   "port": int(os.environ["MARIADB_PORT"]), "username": alt, "password": maria_alt_password, "masterarn": maria_master_arn}), key_id)
        print(f"seed: {'' if args.stack_owns_db_url else f'{base}/db-url, '}{base}/db-password (SecureString, {key_name}), {base}/feature-flags, "
              f"secrets {name} (PostgreSQL user {user}) and {PREFIX.lstrip('/')}/{env}/mariadb-credentials (MariaDB user {user})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
