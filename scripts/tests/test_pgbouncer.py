"""The stack's PgBouncer behaves as production's: users created on the server log in through it with
SCRAM, and a client sending the `options` startup parameter is refused (PostgreSQL accepts it)."""

import os
import secrets
import subprocess
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def env() -> dict[str, str]:
    path = os.environ.get("STACK_ENV_FILE")
    assert path and Path(path).is_file(), "the local stack is not up: run through make test or scripts/with-stack.sh"
    values = {}
    for line in Path(path).read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            values[key] = value
    assert values.get("PGBOUNCER_PORT"), f"{path} has no PGBOUNCER_PORT"
    return values


def psql(env: dict[str, str], port: str, user: str, password: str, sql: str, options: str | None = None):
    child = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    child.update(PGPASSWORD=password, PGCONNECT_TIMEOUT="10")
    if options is not None:
        child["PGOPTIONS"] = options
    dsn = (f"host={env['PG_HOST']} port={port} dbname=postgres user={user} "
           f"sslmode=verify-full sslrootcert={env['PG_CA_FILE']}")
    return subprocess.run(["psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", "-d", dsn, "-c", sql],
                          env=child, capture_output=True, text=True, timeout=30)


@pytest.fixture
def user(env):
    """A login role created on the server after PgBouncer started, as the rotation tests create theirs."""
    name, password = f"pgb_{secrets.token_hex(6)}", secrets.token_urlsafe(18)
    admin = (env, env["PG_PORT"], env["PG_USER"], env["PG_PASSWORD"])
    done = psql(*admin, f"CREATE ROLE {name} LOGIN PASSWORD '{password}'")
    assert done.returncode == 0, done.stderr
    yield name, password
    psql(*admin, f"DROP ROLE IF EXISTS {name}")


def test_a_user_created_on_the_server_logs_in_through_pgbouncer_with_scram(env, user):
    name, password = user
    done = psql(env, env["PGBOUNCER_PORT"], name, password, "SELECT current_user")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == name
    wrong = psql(env, env["PGBOUNCER_PORT"], name, password + "x", "SELECT 1")
    assert wrong.returncode != 0 and "authentication failed" in wrong.stderr, wrong.stderr


def test_pgbouncer_refuses_the_options_startup_parameter_that_postgres_accepts(env, user):
    name, password = user
    options = "-c statement_timeout=5000"
    direct = psql(env, env["PG_PORT"], name, password, "SHOW statement_timeout", options=options)
    assert direct.returncode == 0 and direct.stdout.strip() == "5s", direct.stderr
    pooled = psql(env, env["PGBOUNCER_PORT"], name, password, "SELECT 1", options=options)
    assert pooled.returncode != 0
    assert "unsupported startup parameter: options" in pooled.stderr, pooled.stderr
    # What a client does instead: SET after connecting.
    after = psql(env, env["PGBOUNCER_PORT"], name, password, "SET statement_timeout = 5000; SHOW statement_timeout")
    assert after.returncode == 0 and after.stdout.strip().splitlines()[-1] == "5s", after.stderr
