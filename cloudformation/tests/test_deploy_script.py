"""scripts/deploy.sh refuses what would deploy the wrong thing, before any AWS call: placeholder code
to an account, an endpoint that is not the local stack, an unknown environment, a SecureString
outside the stack's path. (Its successful path is test_event_patterns.py's deploy into moto.)"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run(command: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k not in ("ENV", "APP_PREFIX", "STACK", "NAME", "VALUE")}
    # No credentials and an unreachable proxy: an AWS call would fail fast, with another message.
    base.update(AWS_REGION="us-east-1", AWS_ACCESS_KEY_ID="none", AWS_SECRET_ACCESS_KEY="none", AWS_EC2_METADATA_DISABLED="true",
                HTTPS_PROXY="http://127.0.0.1:9", HTTP_PROXY="http://127.0.0.1:9", CARGO_TARGET_DIR=str(tmp_path))
    base.update(env)
    return subprocess.run([str(ROOT / "scripts/deploy.sh"), command], env=base, capture_output=True, text=True, timeout=60)


def test_an_account_never_gets_placeholder_code(tmp_path):
    done = run("package", tmp_path)
    assert done.returncode != 0
    assert "config-reader/bootstrap.zip is missing: run make build first" in done.stderr
    assert "PLACEHOLDER" not in done.stderr
    assert not list(tmp_path.rglob("placeholder-*.zip"))


def test_an_endpoint_other_than_the_local_stack_is_refused(tmp_path):
    done = run("deploy", tmp_path, AWS_ENDPOINT_URL="https://example.com")
    assert done.returncode != 0
    assert "is not the local stack" in done.stderr


def test_the_environment_is_dev_or_prod(tmp_path):
    done = run("deploy", tmp_path, ENV="staging")
    assert done.returncode != 0
    assert "ENV must be dev or prod" in done.stderr


def test_a_secure_parameter_outside_the_stacks_path_is_refused(tmp_path):
    done = run("put-secure-parameter", tmp_path, NAME="/my-app/prod/db-password", VALUE="x")
    assert done.returncode != 0
    assert "/my-app/prod/db-password is outside /my-app/dev/" in done.stderr
