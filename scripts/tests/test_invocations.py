"""Each function's binary as Lambda runs it (scripts/lambda_local.py serves the Runtime API): a bad
configuration reaches Lambda's /init/error with the function's own errorType, and every log line of
an invocation carries its request id, X-Ray trace id, whether it was a cold start, and the
function's name. The debug binaries come from `cargo test` (make test builds them first)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TARGET = Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target")


def binary(name: str) -> str:
    path = TARGET / "debug" / name
    assert path.is_file(), f"{path} is missing: run cargo test (make test) first"
    return str(path)


def run(name: str, env: list[str], event: str, tmp_path: Path, repeat: int = 1) -> tuple[subprocess.CompletedProcess, list[dict]]:
    logs = tmp_path / f"{name}.log"
    args = [sys.executable, str(ROOT / "scripts/lambda_local.py"), "--binary", binary(name), "--event", str(ROOT / event),
            "--repeat", str(repeat), "--logs", str(logs)]
    if os.environ.get("STACK_ENV_FILE"):
        args += ["--env-file", os.environ["STACK_ENV_FILE"]]
    for e in env:
        args += ["--env", e]
    done = subprocess.run(args, capture_output=True, text=True, timeout=60)
    lines = [json.loads(line) for line in logs.read_text().splitlines() if line.startswith("{")]
    return done, lines


@pytest.mark.parametrize("name, env, event, error_type", [
    ("config-reader", ["DEV_OR_PROD=staging"], "events/config-reader/default.json", "Config.InvalidConfiguration"),
    ("secret-rotation", ["PASSWORD_LENGTH=0"], "events/secret-rotation/createSecret.json", "Rotation.InvalidConfiguration"),
    ("parameter-notifier", ["TOPIC_ARN="], "events/parameter-notifier/expiration.json", "Notify.InvalidConfiguration"),
    ("certificate-notifier", ["TOPIC_ARN="], "events/certificate-notifier/expired.json", "Notify.InvalidConfiguration"),
])
def test_a_bad_configuration_is_an_init_error_with_the_functions_type(name, env, event, error_type, tmp_path):
    done, lines = run(name, env, event, tmp_path)
    reported = [line for line in done.stdout.splitlines() + done.stderr.splitlines() if "init error:" in line]
    assert reported, f"no init error reached the Runtime API:\n{done.stdout}\n{done.stderr}"
    body = json.loads(reported[0].split("init error:", 1)[1])
    assert body["errorType"] == error_type
    failed = [line for line in lines if line.get("message") == "cold start failed"]
    assert failed and failed[0]["error_type"] == error_type


def test_every_line_of_an_invocation_carries_its_ids_and_whether_it_was_a_cold_start(tmp_path):
    assert os.environ.get("STACK_ENV_FILE"), "the local stack is not up: run through make test or scripts/with-stack.sh"
    # lambda_local.py names the function after its binary, as AWS_LAMBDA_FUNCTION_NAME.
    done, lines = run("config-reader", ["DEV_OR_PROD=dev"], "events/config-reader/default.json", tmp_path, repeat=2)
    invocations = [line for line in lines if "function_request_id" in line]
    assert len({line["function_request_id"] for line in invocations}) == 2, f"{done.stdout}\n{done.stderr}\n{lines}"
    order = list(dict.fromkeys(line["function_request_id"] for line in invocations))
    first, second = order
    assert all(line["cold_start"] is True for line in invocations if line["function_request_id"] == first)
    assert all(line["cold_start"] is False for line in invocations if line["function_request_id"] == second)
    assert all(line["xray_trace_id"].startswith("1-") for line in invocations)
    assert all(line["function_name"] == "config-reader" for line in lines)
