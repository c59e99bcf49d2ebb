#!/usr/bin/env bash
# The benchmark (run through `make bench`, which starts the local stack). Reports, for the config
# reader: cold start (process start to first response) and init, warm latency with and without
# the cache, peak memory, AWS calls per cold and warm invocation (counted by a proxy), and the
# arm64 deployment zip size. Timings come from a native release build on this machine.
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
cargo build --release --locked -p config-reader --bin config-reader
cargo lambda build --release --arm64 --output-format zip --locked -p config-reader
bin="$target/release/config-reader"
zip="$target/lambda/config-reader/bootstrap.zip"

for i in $(seq 1 "$runs"); do
    python3 scripts/lambda-local.py --binary "$bin" --env-file "$STACK_ENV_FILE" --env DEV_OR_PROD=dev \
        --event events/config-reader/default.json --repeat "$warm" --count-aws --quiet --report "$out/cached-$i.json"
done
python3 scripts/lambda-local.py --binary "$bin" --env-file "$STACK_ENV_FILE" --env DEV_OR_PROD=dev --env CACHE_TTL_SECONDS=0 \
    --event events/config-reader/default.json --repeat "$warm" --count-aws --quiet --report "$out/uncached.json"
python3 scripts/lambda-local.py --binary "$bin" --env-file "$STACK_ENV_FILE" --env DEV_OR_PROD=dev \
    --event events/config-reader/path.json --repeat 3 --count-aws --quiet --report "$out/path.json"

python3 - "$out" "$runs" "$zip" <<'PY'
import json, os, statistics, sys
out, runs, zip_path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
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
print(f"\nraw figures: {out}/summary.json")
PY
