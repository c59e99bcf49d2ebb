#!/usr/bin/env python3
"""Runs the rotation function's doctor on one secret and prints its report as a table.

    scripts/doctor.py local --binary target/debug/secret-rotation --env-file .stack/stack.env \
        --env DB_CA_BUNDLE=... --secret my-app/dev/db-credentials
    scripts/doctor.py deployed --function my-app-dev-secret-rotation --secret my-app/dev/db-credentials

`local` runs the built binary under scripts/lambda_local.py against the local stack; `deployed`
invokes the deployed function with the caller's AWS credentials. Either way the function answers
`{"Action": "doctor", "SecretId": ...}` with `{"secret", "ok", "findings": [...]}`, which reads
nothing it may not and changes nothing. Exit status: 0 when the report is ok, 1 when a check
failed, 2 when the doctor could not run (its error is printed).
"""
import argparse
import json
import sys
import textwrap
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

MARKS = {"pass": "ok", "warn": "WARN", "fail": "FAIL"}


def table(report: dict, width: int = 100) -> str:
    """The report as text: one row a finding, the detail and the fix wrapped under it."""
    lines = [f"secret: {report['secret']}", f"ok:     {str(report['ok']).lower()}", ""]
    for f in report["findings"]:
        took = f" ({f['elapsed_ms']:.0f} ms)" if f.get("elapsed_ms") is not None else ""
        lines.append(f"{MARKS.get(f['status'], f['status']):<5} {f['check']:<18} {f['detail']}{took}"[:width * 4])
        for label, text in (("fix", f.get("fix", "")),):
            if text and f["status"] != "pass":
                wrapped = textwrap.wrap(text, width - 26, break_long_words=False, break_on_hyphens=False) or [""]
                lines.append(f"{'':<24}{label}: {wrapped[0]}")
                lines.extend(f"{'':<29}{more}" for more in wrapped[1:])
    return "\n".join(lines)


def run_local(args) -> dict:
    from lambda_local import LocalFunction, function_env

    env = function_env(args.env_file, args.env)
    logs = open(args.logs, "w") if args.logs else None  # noqa: SIM115 - the function writes until close
    fn = LocalFunction(args.binary, env, logs=logs)
    try:
        result = fn.invoke(json.dumps({"Action": "doctor", "SecretId": args.secret}).encode())
    finally:
        fn.close()
    if result["outcome"] != "response":
        raise SystemExit(f"doctor: the function failed: {json.dumps(result['payload'])}") from None
    return result["payload"]


def run_deployed(args) -> dict:
    import boto3

    answer = boto3.client("lambda").invoke(
        FunctionName=args.function,
        Payload=json.dumps({"Action": "doctor", "SecretId": args.secret}).encode(),
    )
    payload = json.loads(answer["Payload"].read() or b"null")
    if answer.get("FunctionError"):
        raise SystemExit(f"doctor: the function failed: {json.dumps(payload)}")
    return payload


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="where", required=True)
    local = sub.add_parser("local", help="the built binary against the local stack")
    local.add_argument("--binary", required=True)
    local.add_argument("--env-file", action="append", default=[])
    local.add_argument("--env", action="append", default=[])
    local.add_argument("--logs", help="write the function's log lines here")
    deployed = sub.add_parser("deployed", help="the deployed function")
    deployed.add_argument("--function", required=True)
    for p in (local, deployed):
        p.add_argument("--secret", required=True)
        p.add_argument("--json", action="store_true", help="print the report as JSON")
    args = ap.parse_args()
    try:
        report = run_local(args) if args.where == "local" else run_deployed(args)
    except SystemExit as e:
        print(e, file=sys.stderr)
        return 2
    print(json.dumps(report, indent=2) if args.json else table(report))
    return 0 if report.get("ok") else 1


if __name__ == "__main__":
    sys.exit(main())
