"""`make watch` as a user runs it: scripts/watch.sh starts `cargo lambda watch` on the local stack,
and each of the five functions answers one `cargo lambda invoke` with the settings of its Cargo.toml
metadata ([package.metadata.lambda.env]) and those watch.sh adds: the notifiers publish to the local
topic, the rotation function verifies the local database's TLS with the stack's CA, and rotation
health's sweep reaches the rotation function through watch's own Invoke API.

cargo lambda builds each function with `cargo run` on its first invocation: the binaries `make demo`
builds, not the test build's (the dev-dependencies turn on features of shared crates, such as
serde_json's preserve_order and the SDK HTTP client's test-util), so on an empty build directory
this test builds them once (2 to 3 minutes on 2 cores) and then reuses them. What the test creates
in moto it deletes, so the later tests (the stacks deployed into moto) start from the same state."""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import time
from pathlib import Path

import boto3
import pytest

ROOT = Path(__file__).resolve().parents[2]
SECRET = "watch-test/postgres"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def invoke(port: int, function: str, data: dict | str) -> dict:
    args = ["cargo", "lambda", "invoke", function, "--invoke-address", "127.0.0.1", "--invoke-port", str(port), "--output-format", "json"]
    if isinstance(data, str):
        args += ["--data-file", str(ROOT / data)]
    else:
        args += ["--data-ascii", json.dumps(data)]
    # The first invocation of a function builds it (cargo run): minutes at worst on a cold cache.
    done = subprocess.run(args, capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert done.returncode == 0, f"cargo lambda invoke {function} failed:\n{done.stdout}\n{done.stderr}"
    return json.loads(done.stdout)


@pytest.fixture
def stack():
    assert os.environ.get("STACK_ENV_FILE"), "the local stack is not up: run through make test or scripts/with-stack.sh"
    ssm, sm, sns, sqs = (boto3.client(name) for name in ("ssm", "secretsmanager", "sns", "sqs"))
    before = {p["Name"] for page in ssm.get_paginator("describe_parameters").paginate() for p in page["Parameters"]}
    url = f"postgresql://app@db.internal:5432/app-{secrets.token_hex(4)}"
    password = secrets.token_urlsafe(18)
    ssm.put_parameter(Name="/my-app/dev/db-url", Value=url, Type="String")
    ssm.put_parameter(Name="/my-app/dev/db-password", Value=password, Type="SecureString")
    # The stack's administrator, as a secret the doctor may examine: it only reads.
    sm.create_secret(Name=SECRET, SecretString=json.dumps({
        "engine": "postgres", "host": os.environ["PG_HOST"], "port": int(os.environ["PG_PORT"]),
        "username": os.environ["PG_USER"], "password": os.environ["PG_PASSWORD"], "dbname": "postgres"}))
    # Whatever reaches the local topic, the watched notifiers' included.
    topic = sns.create_topic(Name="local-notifications")["TopicArn"]
    queue = sqs.create_queue(QueueName=f"watch-test-{secrets.token_hex(4)}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    subscription = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn,
                                 Attributes={"RawMessageDelivery": "true"})["SubscriptionArn"]
    try:
        yield {"url": url, "password": password, "queue": queue}
    finally:
        sns.unsubscribe(SubscriptionArn=subscription)
        sqs.delete_queue(QueueUrl=queue)
        sm.delete_secret(SecretId=SECRET, ForceDeleteWithoutRecovery=True)
        after = {p["Name"] for page in ssm.get_paginator("describe_parameters").paginate() for p in page["Parameters"]}
        for name in sorted(after - before):
            ssm.delete_parameter(Name=name)


@pytest.fixture
def watch(tmp_path, stack):
    port = free_port()
    log = tmp_path / "watch.log"
    env = dict(os.environ, WATCH_PORT=str(port), ENV="dev", SECRETS=SECRET,
               STATE_PATH="/config-keeper/watch-test/rotation-health")
    with log.open("w") as out:
        process = subprocess.Popen([str(ROOT / "scripts/watch.sh")], cwd=ROOT, env=env, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, f"watch ended:\n{log.read_text()}"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, f"watch did not listen on {port}:\n{log.read_text()}"
                time.sleep(0.2)
        yield {"port": port, "log": log, **stack}
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_each_function_answers_an_invoke_under_watch(watch):
    port = watch["port"]

    reader = invoke(port, "config-reader", "events/config-reader/default.json")
    assert reader["environment"] == "dev", reader
    values = {p["name"]: p for p in reader["parameters"]}
    assert values["/my-app/dev/db-url"]["value"] == watch["url"], reader
    secure = values["/my-app/dev/db-password"]
    assert secure["redacted"] is True and secure["value"] is None, "a SecureString came back in clear"

    doctor = invoke(port, "secret-rotation", {"Action": "doctor", "SecretId": SECRET})
    status = {f["check"]: f["status"] for f in doctor["findings"]}
    # The CA reached the function: the login over verified TLS passes.
    assert status.get("tls") == "pass" and status.get("current-login") == "pass", doctor

    parameter = invoke(port, "parameter-notifier", "events/parameter-notifier/expiration.json")
    certificate = invoke(port, "certificate-notifier", "events/certificate-notifier/expired.json")
    for answer in (parameter, certificate):
        assert answer["decision"] == "notified" and answer["message_id"], answer

    sweep = invoke(port, "rotation-health", "events/rotation-health/sweep.json")
    swept = {s["secret"]: s for s in sweep["secrets"]}
    # The doctor's answer came back through watch's Invoke API (a failure to invoke would be a
    # Health.* error type instead of a status).
    assert SECRET in swept and "failed" not in swept[SECRET]["done"], sweep

    received = []
    deadline = time.monotonic() + 20
    sqs = boto3.client("sqs")
    while len(received) < 3 and time.monotonic() < deadline:
        got = sqs.receive_message(QueueUrl=watch["queue"], MaxNumberOfMessages=10, WaitTimeSeconds=1)
        received += [m["Body"] for m in got.get("Messages", [])]
    assert len(received) >= 3, f"the topic got {len(received)} notifications: {received}"

    log = watch["log"].read_text()
    assert watch["password"] not in log and os.environ["PG_PASSWORD"] not in log, "a secret value reached watch's output"
