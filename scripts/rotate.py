#!/usr/bin/env python3
"""Drives a rotation on the local stack exactly as Secrets Manager does, with the built function.

1. RotateSecret on moto (its placeholder rotation function runs nothing) sets RotationEnabled and
   creates the new version id with AWSPENDING and no value, as the service does.
2. The built secret-rotation binary, under the Lambda Runtime API (scripts/lambda_local.py), gets
   createSecret, setSecret, testSecret and finishSecret with that token, one after another, in one
   warm process as on Lambda.
3. Like the service after finishSecret, the AWSPENDING label is removed.

Each step's outcome, time, AWS calls (counted by a proxy) and database connections (counted from
the servers' logs) are reported; --report writes them as JSON.

    scripts/rotate.py --binary target/debug/secret-rotation --secret my-app/dev/db-credentials
"""
import argparse
import json
import os
import sys
import time
from typing import ClassVar

import boto3

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lambda_local

STEPS = ["createSecret", "setSecret", "testSecret", "finishSecret"]


class ServerLogs:
    """Counts the connections the function opens, from the PostgreSQL log (log_connections) and
    the MariaDB general log, reading only what was written since the last count."""

    MARKERS: ClassVar[dict[str, bytes]] = {"PG_LOG": b"application_name=secret-rotation", "MARIADB_GENERAL_LOG": b" Connect\t"}

    def __init__(self, env: dict) -> None:
        self.paths = {k: env[k] for k in self.MARKERS if env.get(k) and os.path.exists(env[k])}
        self.offsets = {k: os.path.getsize(p) for k, p in self.paths.items()}

    def connections(self) -> int:
        total = 0
        for key, path in self.paths.items():
            with open(path, "rb") as f:
                f.seek(self.offsets[key])
                data = f.read()
            self.offsets[key] += len(data)
            total += data.count(self.MARKERS[key])
        return total


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", required=True)
    ap.add_argument("--secret", action="append", required=True, help="secret id or ARN; repeat to rotate several in one warm process")
    ap.add_argument("--rounds", type=int, default=1, help="rotate each secret this many times")
    ap.add_argument("--env-file", action="append", default=[])
    ap.add_argument("--env", action="append", default=[])
    ap.add_argument("--logs", help="the function's log lines go here (default: standard error)")
    ap.add_argument("--report", help="write the measurements as JSON here")
    ap.add_argument("--quiet", action="store_true")
    ap.add_argument("--no-count", action="store_true", help="no counting proxy in front of moto (for timings)")
    args = ap.parse_args()

    env = lambda_local.function_env(args.env_file, args.env)
    os.environ.update({k: v for k, v in env.items() if k.startswith("AWS_")})
    sm = boto3.client("secretsmanager")
    lambda_arn = env.get("ROTATION_LAMBDA_ARN")
    if not lambda_arn:
        print("rotate: ROTATION_LAMBDA_ARN is not set; start the local stack (make stack-up)", file=sys.stderr)
        return 2
    server_logs = ServerLogs(env)
    log_sink = open(args.logs, "a") if args.logs else None  # noqa: SIM115 # the function's process writes to it until the end
    fn = lambda_local.LocalFunction(args.binary, env, count_aws=not args.no_count, logs=log_sink)
    rotations = []
    ok = True
    try:
        for _ in range(args.rounds):
            for secret in args.secret:
                token = sm.rotate_secret(SecretId=secret, RotationLambdaARN=lambda_arn,
                                         RotationRules={"AutomaticallyAfterDays": 30})["VersionId"]
                arn = sm.describe_secret(SecretId=secret)["ARN"]
                server_logs.connections()
                started = time.perf_counter()
                steps = []
                for step in STEPS:
                    event = {"Step": step, "SecretId": arn, "ClientRequestToken": token}
                    result = fn.invoke(json.dumps(event).encode())
                    conns = server_logs.connections()
                    steps.append({"step": step, "outcome": result["outcome"], "ms": result["latency_ms"],
                                  "aws_calls": result["aws_calls"], "db_connections": conns,
                                  "error": result["payload"] if result["outcome"] == "error" else None})
                    if not args.quiet:
                        what = "ok" if result["outcome"] == "response" else f"FAILED {json.dumps(result['payload'])}"
                        calls = "" if args.no_count else f"{result['aws_calls']} AWS calls, "
                        print(f"rotate: {secret}: {step:<13} {what:<6} {result['latency_ms']:8.2f} ms  {calls}{conns} database connection(s)")
                    if result["outcome"] != "response":
                        ok = False
                        break
                wall_ms = round((time.perf_counter() - started) * 1000, 3)
                if ok:
                    # What the service does once finishSecret succeeded.
                    sm.update_secret_version_stage(SecretId=arn, VersionStage="AWSPENDING", RemoveFromVersionId=token)
                    stages = sm.describe_secret(SecretId=arn)["VersionIdsToStages"]
                    if "AWSCURRENT" not in stages.get(token, []):
                        print(f"rotate: {secret}: the new version is not AWSCURRENT", file=sys.stderr)
                        ok = False
                rotations.append({"secret": secret, "token": token, "wall_ms": wall_ms, "steps": steps})
                if not args.quiet:
                    print(f"rotate: {secret}: {'rotated' if ok else 'NOT rotated'} in {wall_ms:.1f} ms (version {token})")
                if not ok:
                    return 1
    finally:
        fn.close()
        if args.report:
            with open(args.report, "w") as f:
                json.dump({"init_ms": fn.init_ms, "peak_rss_kib": fn.peak_rss_kib, "binary_bytes": os.path.getsize(args.binary),
                           "rotations": rotations}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
