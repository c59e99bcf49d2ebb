#!/usr/bin/env bash
# The benchmark (run through `make bench`, which starts the local stack). Reports, for the config
# reader: cold start (process start to first response) and init, warm latency with and without
# the cache, peak memory, AWS calls per cold and warm invocation (counted by a proxy); for the
# rotation function: a full four-step PostgreSQL rotation (wall time, database connections and AWS
# calls per rotation), cold start and peak memory; for the two notifiers: cold start, warm latency
# (each invocation enriches and publishes), peak memory and AWS calls; and each arm64 deployment
# zip's size. Timings come from native release builds on this machine.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
: "${STACK_ENV_FILE:?run through make bench}"
target="${CARGO_TARGET_DIR:-$root/target}"
out="$target/bench"; mkdir -p "$out"
runs="${BENCH_COLD_RUNS:-7}"
warm="${BENCH_WARM:-50}"

python3 scripts/seed.py >/dev/null
echo "bench: building (native release for timings, arm64 release zip for size)"
functions=(config-reader secret-rotation parameter-notifier certificate-notifier)
packages=(); for fn in "${functions[@]}"; do packages+=(-p "$fn"); done
cargo build --release --locked "${packages[@]}"
# The zips as `make build` makes them: the same five packages, so the same features and no rebuild.
zipped=(); for fn in config-reader secret-rotation parameter-notifier certificate-notifier rotation-health; do zipped+=(-p "$fn"); done
cargo lambda build --release --arm64 --output-format zip --locked "${zipped[@]}"
bin="$target/release/config-reader"
zip="$target/lambda/config-reader/bootstrap.zip"
rotation_runs="${BENCH_ROTATIONS:-20}"
rotate() { # report-name extra-args...
    local name="$1"; shift
    python3 scripts/rotate.py --binary "$target/release/secret-rotation" \
        --env-file "$STACK_ENV_FILE" --env "DB_CA_BUNDLE=$PG_CA_FILE" --logs "$out/secret-rotation.log" --quiet --report "$out/$name.json" "$@"
}
# Timings without the counting proxy (it adds a hop to every AWS call); counts with it.
for i in $(seq 1 "$runs"); do rotate "rotation-cold-$i" --secret my-app/dev/db-credentials --rounds 1 --no-count; done
rotate rotation-warm --secret my-app/dev/db-credentials --rounds "$rotation_runs" --no-count
rotate rotation-counted --secret my-app/dev/db-credentials --rounds 3
rotate mariadb-warm --secret my-app/dev/mariadb-credentials --rounds "$rotation_runs" --no-count
rotate mariadb-counted --secret my-app/dev/mariadb-credentials --rounds 3
# Alternating users: rounds in pairs, so that both the clone and the user get a new password.
rotate alternating-warm --secret my-app/dev/db-credentials-alternating --rounds "$rotation_runs" --no-count
rotate alternating-counted --secret my-app/dev/db-credentials-alternating --rounds 4
rotate mariadb-alternating-warm --secret my-app/dev/mariadb-credentials-alternating --rounds "$rotation_runs" --no-count
rotate mariadb-alternating-counted --secret my-app/dev/mariadb-credentials-alternating --rounds 4

# The doctor on the alternating PostgreSQL secret (two logins, the master's privileges, the
# clone's drift): cold, then warm, with its AWS calls counted.
printf '{"Action": "doctor", "SecretId": "my-app/dev/db-credentials-alternating"}' >"$out/doctor-event.json"
python3 scripts/lambda_local.py --binary "$target/release/secret-rotation" --env-file "$STACK_ENV_FILE" \
    --env "DB_CA_BUNDLE=$PG_CA_FILE" --event "$out/doctor-event.json" --repeat 10 --count-aws --quiet \
    --logs "$out/doctor.log" --report "$out/doctor.json"

for i in $(seq 1 "$runs"); do
    python3 scripts/lambda_local.py --binary "$bin" --env-file "$STACK_ENV_FILE" --env DEV_OR_PROD=dev \
        --event events/config-reader/default.json --repeat "$warm" --count-aws --quiet --report "$out/cached-$i.json"
done
python3 scripts/lambda_local.py --binary "$bin" --env-file "$STACK_ENV_FILE" --env DEV_OR_PROD=dev --env CACHE_TTL_SECONDS=0 \
    --event events/config-reader/default.json --repeat "$warm" --count-aws --quiet --report "$out/uncached.json"
python3 scripts/lambda_local.py --binary "$bin" --env-file "$STACK_ENV_FILE" --env DEV_OR_PROD=dev --env ALLOW_PATH_REQUESTS=true \
    --event events/config-reader/path.json --repeat 3 --count-aws --quiet --report "$out/path.json"

# The notifiers: a topic, an advanced parameter with policies and an imported certificate, and
# events with distinct ids (a repeated id is not published again), so that every warm invocation
# enriches (DescribeParameters / DescribeCertificate) and publishes.
python3 - "$out" "$warm" <<'PY'
import json, os, subprocess, sys, tempfile, boto3
out, warm = sys.argv[1], int(sys.argv[2])
topic = boto3.client("sns").create_topic(Name="bench-notifications")["TopicArn"]
open(f"{out}/topic-arn", "w").write(topic)
boto3.client("ssm").put_parameter(Name="/my-app/dev/bench-token", Value="x" * 24, Type="SecureString", Tier="Advanced", Overwrite=True,
    Policies=json.dumps([{"Type": "ExpirationNotification", "Version": "1.0", "Attributes": {"Before": "15", "Unit": "Days"}}]))
with tempfile.TemporaryDirectory() as d:
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=bench.example.com", "-days", "30",
                    "-keyout", f"{d}/k.pem", "-out", f"{d}/c.pem"], check=True, capture_output=True)
    cert = boto3.client("acm").import_certificate(Certificate=open(f"{d}/c.pem", "rb").read(), PrivateKey=open(f"{d}/k.pem", "rb").read())["CertificateArn"]
os.makedirs(f"{out}/events", exist_ok=True)
for fn, sample, edit in [
    ("parameter-notifier", "events/parameter-notifier/expiration-notification.json", lambda e: e["detail"].update({"parameter-name": "/my-app/dev/bench-token"})),
    ("certificate-notifier", "events/certificate-notifier/expired.json", lambda e: e.update({"resources": [cert]})),
]:
    for i in range(warm + 1):
        e = json.load(open(sample))
        edit(e)
        e["id"] = f"bench-{fn}-{i}"
        json.dump(e, open(f"{out}/events/{fn}-{i}.json", "w"))
PY
topic="$(cat "$out/topic-arn")"
for fn in parameter-notifier certificate-notifier; do
    events=(); for i in $(seq 0 "$warm"); do events+=(--event "$out/events/$fn-$i.json"); done
    for i in $(seq 1 "$runs"); do
        python3 scripts/lambda_local.py --binary "$target/release/$fn" --env-file "$STACK_ENV_FILE" --env "TOPIC_ARN=$topic" \
            --env PARAMETER_PREFIX=/my-app "${events[@]}" --count-aws --quiet --report "$out/$fn-$i.json" >/dev/null
    done
done

python3 - "$out" "$runs" "$zip" "$target/lambda/secret-rotation/bootstrap.zip" "$target/lambda" <<'PY'
import json, os, statistics, sys
out, runs, zip_path, rotation_zip, lambda_dir = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
cached = [json.load(open(f"{out}/cached-{i}.json")) for i in range(1, runs + 1)]
uncached = json.load(open(f"{out}/uncached.json"))
path = json.load(open(f"{out}/path.json"))
warm = sorted(r["latency_ms"] for c in cached for r in c["invocations"][1:])
unc = sorted(r["latency_ms"] for r in uncached["invocations"][1:])
pct = lambda xs, p: xs[min(len(xs) - 1, int(len(xs) * p))]
summary = {
    "cold_start_ms_median": statistics.median(c["cold_start_ms"] for c in cached),
    "cold_start_ms_max": max(c["cold_start_ms"] for c in cached),
    "init_ms_median": statistics.median(c["init_ms"] for c in cached),
    "warm_cached_ms_p50": pct(warm, 0.5), "warm_cached_ms_p99": pct(warm, 0.99),
    "warm_uncached_ms_p50": pct(unc, 0.5), "warm_uncached_ms_p99": pct(unc, 0.99),
    "peak_rss_mib": round(max(c["peak_rss_kib"] for c in cached + [uncached, path]) / 1024, 1),
    "aws_calls_cold": cached[0]["aws_calls_cold"],
    "aws_calls_warm_cached_max": max(c["aws_calls_warm_max"] for c in cached),
    "aws_calls_warm_uncached": uncached["aws_calls_warm_max"],
    "aws_calls_path_mode_cold": path["aws_calls_cold"],
    "arm64_zip_bytes": os.path.getsize(zip_path),
    "native_binary_bytes": cached[0]["binary_bytes"],
}
colds = [json.load(open(f"{out}/rotation-cold-{i}.json")) for i in range(1, runs + 1)]
warm_run = json.load(open(f"{out}/rotation-warm.json"))
counted = json.load(open(f"{out}/rotation-counted.json"))["rotations"]
rotations = warm_run["rotations"]
warm_rot = sorted(r["wall_ms"] for r in rotations[1:])
per_step = {s["step"]: max(r["steps"][i]["db_connections"] for r in rotations) for i, s in enumerate(rotations[0]["steps"])}
rotation = {
    "rotation_cold_start_ms_median": statistics.median(c["rotations"][0]["steps"][0]["ms"] for c in colds),
    "rotation_init_ms_median": statistics.median(c["init_ms"] for c in colds),
    "rotation_first_ms_median": statistics.median(c["rotations"][0]["wall_ms"] for c in colds),
    "rotation_warm_ms_p50": pct(warm_rot, 0.5), "rotation_warm_ms_max": warm_rot[-1],
    "rotation_warm_step_ms_p50": {s: statistics.median(r["steps"][i]["ms"] for r in rotations[1:]) for i, s in enumerate(per_step)},
    "rotation_db_connections": max(sum(s["db_connections"] for s in r["steps"]) for r in rotations),
    "rotation_db_connections_per_step_max": per_step,
    "rotation_aws_calls": max(sum(s["aws_calls"] for s in r["steps"]) for r in counted),
    "rotation_peak_rss_mib": round(max(c["peak_rss_kib"] for c in colds + [warm_run]) / 1024, 1),
    "rotation_arm64_zip_bytes": os.path.getsize(rotation_zip),
    "rotations": len(rotations),
}
maria = json.load(open(f"{out}/mariadb-warm.json"))["rotations"]
maria_counted = json.load(open(f"{out}/mariadb-counted.json"))["rotations"]
maria_warm = sorted(r["wall_ms"] for r in maria[1:])
rotation.update({
    "mariadb_rotation_warm_ms_p50": pct(maria_warm, 0.5), "mariadb_rotation_warm_ms_max": maria_warm[-1],
    "mariadb_rotation_db_connections": max(sum(s["db_connections"] for s in r["steps"]) for r in maria),
    "mariadb_rotation_aws_calls": max(sum(s["aws_calls"] for s in r["steps"]) for r in maria_counted),
})
for engine, name in (("postgres", "alternating"), ("mariadb", "mariadb-alternating")):
    runs_alt = json.load(open(f"{out}/{name}-warm.json"))["rotations"]
    counted_alt = json.load(open(f"{out}/{name}-counted.json"))["rotations"]
    warm_alt = sorted(r["wall_ms"] for r in runs_alt[1:])
    rotation[f"{engine}_alternating"] = {
        "warm_ms_p50": pct(warm_alt, 0.5), "warm_ms_max": warm_alt[-1],
        "step_ms_p50": {s["step"]: statistics.median(r["steps"][i]["ms"] for r in runs_alt[1:]) for i, s in enumerate(runs_alt[0]["steps"])},
        "db_connections": max(sum(s["db_connections"] for s in r["steps"]) for r in runs_alt),
        "db_connections_per_step_max": {s["step"]: max(r["steps"][i]["db_connections"] for r in runs_alt) for i, s in enumerate(runs_alt[0]["steps"])},
        "aws_calls": max(sum(s["aws_calls"] for s in r["steps"]) for r in counted_alt),
        "aws_calls_per_step_max": {s["step"]: max(r["steps"][i]["aws_calls"] for r in counted_alt) for i, s in enumerate(counted_alt[0]["steps"])},
    }
doc = json.load(open(f"{out}/doctor.json"))
doc_warm = sorted(i["latency_ms"] for i in doc["invocations"][1:])
rotation["doctor"] = {
    "cold_ms": doc["cold_start_ms"], "warm_ms_p50": pct(doc_warm, 0.5), "warm_ms_max": doc_warm[-1],
    "aws_calls": max(i["aws_calls"] for i in doc["invocations"]),
}
summary.update(rotation)
json.dump(summary, open(f"{out}/summary.json", "w"), indent=2)
rows = [
    ("cold start, process start to first response (median of %d)" % runs, f"{summary['cold_start_ms_median']:.1f} ms (max {summary['cold_start_ms_max']:.1f})", "< 50 ms"),
    ("init, process start to first /next", f"{summary['init_ms_median']:.1f} ms", ""),
    ("warm invocation, cached (p50 / p99)", f"{summary['warm_cached_ms_p50']:.2f} / {summary['warm_cached_ms_p99']:.2f} ms", ""),
    ("warm invocation, cache off (p50 / p99)", f"{summary['warm_uncached_ms_p50']:.2f} / {summary['warm_uncached_ms_p99']:.2f} ms", ""),
    ("peak memory (VmHWM)", f"{summary['peak_rss_mib']} MiB", "< 30 MB"),
    ("arm64 deployment zip", f"{summary['arm64_zip_bytes'] / 1e6:.2f} MB ({summary['arm64_zip_bytes']} bytes)", "< 4 MB"),
    ("AWS calls, cold invocation (2 names)", str(summary["aws_calls_cold"]), "1"),
    ("AWS calls, warm invocation inside the TTL", str(summary["aws_calls_warm_cached_max"]), "0"),
    ("AWS calls, warm invocation with the cache off", str(summary["aws_calls_warm_uncached"]), "1"),
    ("AWS calls, path mode cold (seeded tree)", str(summary["aws_calls_path_mode_cold"]), ""),
]
print("\nconfig-reader benchmark (local stack, moto on loopback)\n")
print(f"| {'measure':<58} | {'result':<28} | target |")
print(f"|{'-' * 60}|{'-' * 30}|--------|")
for name, value, goal in rows:
    print(f"| {name:<58} | {value:<28} | {goal:<6} |")
print(f"\nsecret-rotation benchmark (PostgreSQL {os.environ.get('PG_MAJOR', '?')}, TLS + SCRAM, moto; {len(rotations)} warm rotations in one process)\n")
rows = [
    (f"cold start, process start to createSecret's answer (median of {runs})", f"{rotation['rotation_cold_start_ms_median']:.1f} ms (init {rotation['rotation_init_ms_median']:.1f} ms)", "< 50 ms"),
    ("first full rotation, cold (median)", f"{rotation['rotation_first_ms_median']:.1f} ms", ""),
    ("full four-step rotation, warm (p50 / max)", f"{rotation['rotation_warm_ms_p50']:.1f} / {rotation['rotation_warm_ms_max']:.1f} ms", "< 100 ms"),
    ("  per step, warm p50 (create / set / test / finish)", " / ".join(f"{v:.1f}" for v in rotation["rotation_warm_step_ms_p50"].values()) + " ms", ""),
    ("database connections per rotation", f"{rotation['rotation_db_connections']} ({', '.join(f'{k} {v}' for k, v in per_step.items())})", "<= 1 a step"),
    ("AWS calls per rotation", str(rotation["rotation_aws_calls"]), ""),
    ("MariaDB (TLS): full rotation, warm (p50 / max)", f"{rotation['mariadb_rotation_warm_ms_p50']:.1f} / {rotation['mariadb_rotation_warm_ms_max']:.1f} ms", ""),
    ("MariaDB: database connections / AWS calls per rotation", f"{rotation['mariadb_rotation_db_connections']} / {rotation['mariadb_rotation_aws_calls']}", ""),
    *[row for engine, label in (("postgres", "PostgreSQL"), ("mariadb", "MariaDB")) for row in (
        (f"{label} alternating users: full rotation, warm (p50 / max)",
         f"{rotation[engine + '_alternating']['warm_ms_p50']:.1f} / {rotation[engine + '_alternating']['warm_ms_max']:.1f} ms", ""),
        (f"  per step, warm p50 (create / set / test / finish)",
         " / ".join(f"{v:.1f}" for v in rotation[engine + '_alternating']["step_ms_p50"].values()) + " ms", ""),
        (f"{label} alternating: connections / AWS calls per rotation",
         f"{rotation[engine + '_alternating']['db_connections']} ({', '.join(f'{k} {v}' for k, v in rotation[engine + '_alternating']['db_connections_per_step_max'].items())})"
         f" / {rotation[engine + '_alternating']['aws_calls']}", ""),
    )],
    ("doctor, alternating PostgreSQL secret: cold / warm p50 / max",
     f"{rotation['doctor']['cold_ms']:.1f} / {rotation['doctor']['warm_ms_p50']:.1f} / {rotation['doctor']['warm_ms_max']:.1f} ms", ""),
    ("doctor: AWS calls per invocation", str(rotation["doctor"]["aws_calls"]), ""),
    ("peak memory (VmHWM)", f"{rotation['rotation_peak_rss_mib']} MiB", "< 30 MB"),
    ("arm64 deployment zip", f"{rotation['rotation_arm64_zip_bytes'] / 1e6:.2f} MB ({rotation['rotation_arm64_zip_bytes']} bytes)", ""),
]
print(f"| {'measure':<58} | {'result':<40} | target |")
print(f"|{'-' * 60}|{'-' * 42}|--------|")
for name, value, goal in rows:
    print(f"| {name:<58} | {value:<40} | {goal:<6} |")
notifiers = {}
for fn in ("parameter-notifier", "certificate-notifier"):
    reports = [json.load(open(f"{out}/{fn}-{i}.json")) for i in range(1, runs + 1)]
    warm_ms = sorted(r["latency_ms"] for rep in reports for r in rep["invocations"][1:])
    notifiers[fn] = {
        "cold_start_ms_median": statistics.median(r["cold_start_ms"] for r in reports),
        "cold_start_ms_max": max(r["cold_start_ms"] for r in reports),
        "init_ms_median": statistics.median(r["init_ms"] for r in reports),
        "warm_ms_p50": pct(warm_ms, 0.5), "warm_ms_p99": pct(warm_ms, 0.99),
        "peak_rss_mib": round(max(r["peak_rss_kib"] for r in reports) / 1024, 1),
        "aws_calls_cold": reports[0]["aws_calls_cold"], "aws_calls_warm_max": max(r["aws_calls_warm_max"] for r in reports),
        "arm64_zip_bytes": os.path.getsize(f"{lambda_dir}/{fn}/bootstrap.zip"),
    }
summary["notifiers"] = notifiers
json.dump(summary, open(f"{out}/summary.json", "w"), indent=2)
print(f"\nnotifier benchmark (each invocation: one Describe call and one SNS Publish to moto, through the counting proxy; median of {runs} cold starts)\n")
print(f"| {'measure':<44} | {'parameter-notifier':<22} | {'certificate-notifier':<22} | target |")
print(f"|{'-' * 46}|{'-' * 24}|{'-' * 24}|--------|")
p, c = notifiers["parameter-notifier"], notifiers["certificate-notifier"]
for name, f, goal in [
    ("cold start, process start to first response", lambda n: f"{n['cold_start_ms_median']:.1f} ms (max {n['cold_start_ms_max']:.1f})", "< 50 ms"),
    ("init, process start to first /next", lambda n: f"{n['init_ms_median']:.1f} ms", ""),
    ("warm invocation (p50 / p99)", lambda n: f"{n['warm_ms_p50']:.2f} / {n['warm_ms_p99']:.2f} ms", ""),
    ("peak memory (VmHWM)", lambda n: f"{n['peak_rss_mib']} MiB", "< 30 MB"),
    ("AWS calls, cold / warm invocation", lambda n: f"{n['aws_calls_cold']} / {n['aws_calls_warm_max']}", ""),
    ("arm64 deployment zip", lambda n: f"{n['arm64_zip_bytes'] / 1e6:.2f} MB", ""),
]:
    print(f"| {name:<44} | {f(p):<22} | {f(c):<22} | {goal:<6} |")
print(f"\nraw figures: {out}/summary.json")
PY
