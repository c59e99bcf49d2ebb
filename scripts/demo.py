#!/usr/bin/env python3
"""The end-to-end demo on the local stack, as `make demo` runs it after building the functions.

1. Deploys the CloudFormation stack into moto for dev and for prod (scripts/deploy.sh).
2. Seeds each environment's parameters, the SecureString ones under that stack's KMS key.
3. Runs the config reader (the built binary, under the Lambda Runtime API) for dev and for prod.
4. Rotates the dev database secret against the local PostgreSQL through the four steps, then
   proves that the new password logs in and the old one no longer does.
5. Sends the sample parameter-policy and certificate events through the deployed rules (each
   rule's pattern, read back from moto, on a copy whose target is a queue: moto cannot invoke a
   Lambda function), hands each delivered event to its handler, and shows the notifications that
   arrived on the stack's topic (read through a queue subscribed to it).

Prints a short report with the time of each step. Needs the local stack's env in the environment
(scripts/with-stack.sh) and the built binaries (--target).
"""
import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import boto3

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import doctor
import eventbridge_proof
import lambda_local

ROOT = Path(__file__).resolve().parents[1]
PREFIX = "my-app"
BOLD, DIM, OFF = ("\033[1m", "\033[2m", "\033[0m") if sys.stdout.isatty() else ("", "", "")
TIMINGS = []


class Step:
    def __init__(self, title: str) -> None:
        self.title = title

    def __enter__(self):
        print(f"\n{BOLD}== {self.title}{OFF}", flush=True)
        self.started = time.perf_counter()
        return self

    def __exit__(self, kind, *_):
        took = time.perf_counter() - self.started
        TIMINGS.append((self.title, took, kind is None))
        print(f"{DIM}   ({took:.1f} s){OFF}", flush=True)
        return False


def say(text: str) -> None:
    print(f"   {text}", flush=True)


def deploy_sh(command: str, env_name: str, extra: dict | None = None, stdin: str | None = None) -> str:
    # The stack name and settings are the demo's own, whatever `make` or the shell exported.
    env = {k: v for k, v in os.environ.items() if k not in ("STACK", "PARAMS", "CODE_BUCKET", "NAME", "VALUE")}
    env.update(ENV=env_name, APP_PREFIX=PREFIX, STACK=f"{PREFIX}-{env_name}", **(extra or {}))
    done = subprocess.run([str(ROOT / "scripts/deploy.sh"), command], env=env, input=stdin, capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"demo: deploy.sh {command} ({env_name}) failed")
    return done.stdout


def outputs(stack: str) -> dict:
    out = boto3.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0].get("Outputs", [])
    return {o["OutputKey"]: o["OutputValue"] for o in out}


def run_function(binary: str, env: dict, events: list, logs) -> list:
    fn = lambda_local.LocalFunction(binary, lambda_local.function_env([], [f"{k}={v}" for k, v in env.items()]), logs=logs)
    try:
        return [fn.invoke(json.dumps(e).encode()) for e in events]
    finally:
        fn.close()


def psql_login(user: str, password: str) -> bool:
    conn = (f"host=127.0.0.1 port={os.environ['PG_PORT']} user={user} dbname=postgres "
            f"sslmode=verify-full sslrootcert={os.environ['PG_CA_FILE']}")
    done = subprocess.run(["psql", "-qtAX", conn, "-c", "SELECT 1"], env=dict(os.environ, PGPASSWORD=password),
                          capture_output=True, text=True)
    return done.returncode == 0


def make_certificate(domain: str, days: int) -> tuple[bytes, bytes]:
    with tempfile.TemporaryDirectory() as d:
        key, cert = f"{d}/key.pem", f"{d}/cert.pem"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={domain}",
                        "-days", str(days), "-keyout", key, "-out", cert], check=True, capture_output=True)
        return Path(cert).read_bytes(), Path(key).read_bytes()


def route_through_rules(stack: str, samples: dict) -> dict:
    """Each deployed rule's pattern, read back from moto, proven on the samples; returns, per
    rule, the samples it delivered."""
    events, sqs = boto3.client("events"), boto3.client("sqs")
    resources = boto3.client("cloudformation").describe_stack_resources(StackName=stack)["StackResources"]
    rules = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in resources if r.get("ResourceType") == "AWS::Events::Rule"}
    by_key = {eventbridge_proof.sample_key(e): name for name, e in samples.items()}
    delivered = {}
    for logical, physical in sorted(rules.items()):
        pattern = events.describe_rule(Name=physical.split("/")[-1].split("|")[-1]).get("EventPattern")
        if pattern is None:  # a schedule: no events to route
            continue
        got = eventbridge_proof.delivered(events, sqs, pattern, list(samples.values()))
        delivered[logical] = sorted(by_key.get(eventbridge_proof.sample_key(e), "?") for e in got)
    return delivered


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--target", required=True, help="the cargo target folder (debug binaries)")
    ap.add_argument("--logs", required=True, help="folder for the functions' JSON logs")
    args = ap.parse_args()
    def binary(name: str) -> str:
        return f"{args.target}/debug/{name}"

    def log(name: str):
        # Handed to the function's process, which writes to it after this call returns.
        return open(f"{args.logs}/{name}.log", "ab")

    os.makedirs(args.logs, exist_ok=True)
    base_env = {k: os.environ[k] for k in ("AWS_ENDPOINT_URL", "AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    started = time.perf_counter()

    stacks = {}
    for env_name in ("dev", "prod"):
        with Step(f"Deploying stack {PREFIX}-{env_name} into moto (cloudformation/template.yaml)"):
            deploy_sh("deploy", env_name)
            stacks[env_name] = outputs(f"{PREFIX}-{env_name}")
            o = stacks[env_name]
            say(f"key {o['KeyArn'].split('/')[-1]}, topic {o['TopicArn'].split(':')[-1]}")
            res = boto3.client("cloudformation").describe_stack_resources(StackName=f"{PREFIX}-{env_name}")["StackResources"]
            kinds = sorted({r.get("ResourceType", "?").split("::", 1)[-1] for r in res})
            say(f"{len(res)} resources: {', '.join(kinds)}")

    with Step("Seeding dev and prod: SecureString parameters under each stack's key, database users and secrets"):
        keys = [f"--key={e}={stacks[e]['KeyArn']}" for e in stacks]
        out = subprocess.run([sys.executable, str(ROOT / "scripts/seed.py"), "--stack-owns-db-url", *keys],
                             check=True, capture_output=True, text=True).stdout
        for line in out.splitlines():
            say(line.removeprefix("seed: "))
        deploy_sh("put-policy-parameter", "dev", {"NAME": "api-token", "EXPIRE_DAYS": "15"}, stdin=secrets.token_urlsafe(24))
        say(f"/{PREFIX}/dev/api-token: advanced tier, SecureString, expires in 15 days, with notification policies")

    for env_name in ("dev", "prod"):
        with Step(f"Config reader, DEV_OR_PROD={env_name}: its parameters, SecureString values decrypted and redacted"):
            events = [json.loads((ROOT / "events/config-reader/default.json").read_text()),
                      json.loads((ROOT / "events/config-reader/path.json").read_text())]
            results = run_function(binary("config-reader"), {**base_env, "DEV_OR_PROD": env_name, "PARAMETER_PREFIX": f"/{PREFIX}",
                                                                   "ALLOW_PATH_REQUESTS": "true"},
                                   events, log(f"config-reader-{env_name}"))
            for r, label in zip(results, ("the configured names (GetParameters)", "the whole tree (GetParametersByPath)"), strict=True):
                assert r["outcome"] == "response", r
                say(f"{label}, {r['payload']['awsCalls']} AWS call(s):")
                for p in r["payload"]["parameters"]:
                    value = p.get("value") if p.get("value") is not None else "(SecureString, redacted)"
                    say(f"  {p['name']:<34} {p['type']:<13} v{p['version']}  {value}")
            say(f"cold start {results[0]['latency_ms']:.1f} ms, then {results[1]['latency_ms']:.1f} ms")

    with Step(f"Rotating {PREFIX}/dev/db-credentials against PostgreSQL (TLS verified), the four steps as Secrets Manager drives them"):
        sm = boto3.client("secretsmanager")
        before = json.loads(sm.get_secret_value(SecretId=f"{PREFIX}/dev/db-credentials", VersionStage="AWSCURRENT")["SecretString"])
        done = subprocess.run([sys.executable, str(ROOT / "scripts/rotate.py"), "--binary", binary("secret-rotation"),
                               "--secret", f"{PREFIX}/dev/db-credentials", "--env", f"DB_CA_BUNDLE={os.environ['PG_CA_FILE']}",
                               "--logs", f"{args.logs}/secret-rotation.log"], capture_output=True, text=True)
        if done.returncode != 0:
            sys.stderr.write(done.stdout + done.stderr)
            raise SystemExit("demo: the rotation failed")
        for line in done.stdout.splitlines():
            say(line)
        after = json.loads(sm.get_secret_value(SecretId=f"{PREFIX}/dev/db-credentials", VersionStage="AWSCURRENT")["SecretString"])
        new_ok, old_ok = psql_login(after["username"], after["password"]), psql_login(before["username"], before["password"])
        say(f"new password logs in as {after['username']}: {'yes' if new_ok else 'NO'}; old password: {'still logs in' if old_ok else 'refused'}")
        assert new_ok and not old_ok, "the rotation must leave only the new password working"

    with Step("The rotation doctor (read-only): a healthy secret, then one whose master lost a privilege and whose rotation is stuck"):
        sm = boto3.client("secretsmanager")
        ca = {"DB_CA_BUNDLE": os.environ["PG_CA_FILE"], "DB_CONNECT_TIMEOUT_SECONDS": "3"}

        def examine(secret_id: str) -> dict:
            answer = run_function(binary("secret-rotation"), ca, [{"Action": "doctor", "SecretId": secret_id}],
                                  log("secret-rotation-doctor"))[0]
            assert answer["outcome"] == "response", answer
            return answer["payload"]

        healthy = examine(f"{PREFIX}/dev/db-credentials")
        counts = {s: sum(f["status"] == s for f in healthy["findings"]) for s in ("pass", "warn", "fail")}
        say(f"{PREFIX}/dev/db-credentials: ok={str(healthy['ok']).lower()}, {counts['pass']} pass, "
            f"{counts['warn']} warn, {counts['fail']} fail")
        alternating = f"{PREFIX}/dev/db-credentials-alternating"
        admin = (f"host=127.0.0.1 port={os.environ['PG_PORT']} user=postgres dbname=postgres sslmode=verify-full "
                 f"sslrootcert={os.environ['PG_CA_FILE']}")

        def as_admin(sql: str) -> None:
            subprocess.run(["psql", "-qtAX", admin, "-c", sql], env=dict(os.environ, PGPASSWORD=os.environ["PG_PASSWORD"]),
                           check=True, capture_output=True)

        as_admin("ALTER ROLE master_dev NOCREATEROLE")
        stuck = sm.rotate_secret(SecretId=alternating, RotationLambdaARN=os.environ["ROTATION_LAMBDA_ARN"],
                                 RotationRules={"AutomaticallyAfterDays": 30})["VersionId"]
        try:
            broken = examine(alternating)
            for line in doctor.table(broken).splitlines():
                say(line)
            failed = {f["check"] for f in broken["findings"] if f["status"] == "fail"}
            assert not broken["ok"] and {"master-privileges", "stuck-rotation"} <= failed, broken
        finally:
            as_admin("ALTER ROLE master_dev CREATEROLE")
            sm.update_secret_version_stage(SecretId=alternating, VersionStage="AWSPENDING", RemoveFromVersionId=stuck)
        say("the doctor changed nothing: both faults were put right by hand afterwards")

    with Step("Sample events through the deployed rules to the handlers, notifications from the topic"):
        stack = f"{PREFIX}-dev"
        topic = stacks["dev"]["TopicArn"]
        sqs, sns, acm = boto3.client("sqs"), boto3.client("sns"), boto3.client("acm")
        inbox = sqs.create_queue(QueueName=f"demo-inbox-{uuid.uuid4().hex[:8]}")["QueueUrl"]
        inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        # moto's CloudFormation skips AWS::SNS::Subscription: the demo subscribes its own queue.
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=inbox_arn)
        cert, key = make_certificate("api.example.com", 14)
        cert_arn = acm.import_certificate(Certificate=cert, PrivateKey=key)["CertificateArn"]
        say(f"imported a certificate for api.example.com that expires in 14 days: {cert_arn.split('/')[-1]}")
        samples = {}
        for path in sorted([*ROOT.glob("events/*-notifier/*.json"), *ROOT.glob("events/rotation-health/*.json")]):
            if path.name in ("default.json", "sweep.json"):  # a copy of another sample; the sweep's input, no event
                continue
            e = json.loads(path.read_text())
            if e["source"] == "aws.acm" and e["resources"]:
                e["resources"] = [cert_arn]
            if e["source"] == "aws.config" and e["detail"].get("resourceId", "").startswith("arn:aws:acm"):
                e["detail"]["resourceId"] = cert_arn
            samples[f"{path.parent.name}/{path.name}"] = e
        delivered = route_through_rules(stack, samples)
        routed = {name for names in delivered.values() for name in names}
        for logical, names in delivered.items():
            say(f"rule {logical}: {len(names)} events")
        say(f"not delivered (near misses): {', '.join(sorted(set(samples) - routed))}")
        handlers = {
            "parameter-notifier": {"TOPIC_ARN": topic, "PARAMETER_PREFIX": f"/{PREFIX}"},
            "certificate-notifier": {"TOPIC_ARN": topic, "EXPIRY_THRESHOLDS": "30,14,7,1", "CONFIG_RULE_NAME": "acm-certificate-expiration-check"},
            # rotation events of the dev secret (a RotationFailed opens an alert, the RotationSucceeded after it resolves it)
            "rotation-health": {"TOPIC_ARN": topic, "SECRETS": f"{PREFIX}/dev/db-credentials", "DOCTOR_FUNCTION": f"{PREFIX}-dev-secret-rotation",
                                "STATE_PATH": f"/config-keeper/{PREFIX}-dev/rotation-health"},
        }
        for fn, env in handlers.items():
            names = sorted(n for n in routed if n.startswith(fn))
            results = run_function(binary(fn), {**base_env, **env}, [samples[n] for n in names], log(fn))
            for name, r in zip(names, results, strict=True):
                if r["outcome"] == "response":
                    p = r["payload"]
                    say(f"{fn} {name.split('/')[1]:<32} {p['decision']:<10} {p['reason']}")
                else:
                    say(f"{fn} {name.split('/')[1]:<32} error      {r['payload'].get('errorType')}: {r['payload'].get('errorMessage', '')[:70]}")
        print(f"\n   {BOLD}Notifications on the topic{OFF} (as an email, chat or pager subscription gets them):")
        received, deadline = [], time.time() + 5
        while time.time() < deadline:
            msgs = sqs.receive_message(QueueUrl=inbox, MaxNumberOfMessages=10).get("Messages", [])
            if not msgs and received:
                break
            for m in msgs:
                received.append(json.loads(m["Body"]))
                sqs.delete_message(QueueUrl=inbox, ReceiptHandle=m["ReceiptHandle"])
        for body in received:
            attrs = {k: v["Value"] for k, v in body.get("MessageAttributes", {}).items()}
            say(f"[{attrs.get('severity', '?'):<8}] {body['Subject']}")
        if received:
            print(f"\n   {BOLD}One of them in full:{OFF}")
            for line in received[0]["Message"].splitlines():
                say(line)
        sqs.delete_queue(QueueUrl=inbox)
        assert received, "no notification arrived on the topic"

    print(f"\n{BOLD}== Report{OFF}")
    for title, took, ok in TIMINGS:
        print(f"   {'ok ' if ok else 'FAIL'} {took:6.1f} s  {title}")
    print(f"   total {time.perf_counter() - started:.1f} s; the functions' JSON logs are in {args.logs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
