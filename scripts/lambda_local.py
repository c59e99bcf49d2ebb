#!/usr/bin/env python3
"""Runs a built Lambda binary for real, on this machine, and invokes it with sample events.

It serves the Lambda Runtime API (the protocol the `lambda_runtime` crate speaks on AWS) on a free
loopback port, starts the binary with AWS_LAMBDA_RUNTIME_API pointing at it, hands it each event
and prints each response or error. It also measures what the benchmark reports:

- cold start: process start to the first response (init + first invocation), and init alone
  (process start to the runtime's first request for work);
- warm latency of every later invocation (event handed out to response received);
- peak memory (VmHWM of the process);
- AWS API calls per invocation, counted by a pass-through proxy in front of AWS_ENDPOINT_URL
  (--count-aws), independently of what the function reports about itself.

    scripts/lambda_local.py --binary target/debug/config-reader --env-file .stack/stack.env \
        --env DEV_OR_PROD=dev --event events/config-reader/default.json
"""
import argparse
import http.client
import json
import os
import queue
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

PREFIX = "/2018-06-01/runtime"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Runtime:
    """The state shared by the Runtime API server and the driver."""

    def __init__(self) -> None:
        self.events: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self.results: queue.Queue[tuple[str, str, bytes, float]] = queue.Queue()
        self.first_next_at: float | None = None
        self.handed_out: dict[str, float] = {}
        self.init_error: bytes | None = None


def runtime_handler(rt: Runtime):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_args) -> None:  # keep the demo's output clean
            pass

        def setup(self) -> None:
            super().setup()
            # Without it, Nagle's algorithm and delayed ACKs add ~40 ms to every exchange.
            self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def _reply(self, status: int, body: bytes = b"", headers: dict | None = None) -> None:
            self.send_response(status)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            if self.path != f"{PREFIX}/invocation/next":
                self._reply(404)
                return
            if rt.first_next_at is None:
                rt.first_next_at = time.perf_counter()
            request_id, body = rt.events.get()
            rt.handed_out[request_id] = time.perf_counter()
            deadline_ms = int((time.time() + 30) * 1000)
            self._reply(200, body, {
                "Content-Type": "application/json",
                "Lambda-Runtime-Aws-Request-Id": request_id,
                "Lambda-Runtime-Deadline-Ms": str(deadline_ms),
                "Lambda-Runtime-Invoked-Function-Arn": "arn:aws:lambda:us-east-1:123456789012:function:local",
                "Lambda-Runtime-Trace-Id": "Root=1-00000000-000000000000000000000000;Sampled=0",
            })

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                body = self._read_chunked()
            now = time.perf_counter()
            parts = self.path[len(PREFIX):].strip("/").split("/")
            if parts[:2] == ["init", "error"]:
                rt.init_error = body
                self._reply(202, b'{"status":"OK"}')
                rt.results.put(("init-error", "", body, now))
                return
            if len(parts) == 3 and parts[0] == "invocation" and parts[2] in ("response", "error"):
                self._reply(202, b'{"status":"OK"}')
                rt.results.put((parts[2], parts[1], body, now))
                return
            self._reply(404)

        def _read_chunked(self) -> bytes:
            out = b""
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    return out
                out += self.rfile.read(size)
                self.rfile.readline()

    return Handler


class Counter:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.count = 0
        self.operations: list[str] = []

    def add(self, operation: str) -> None:
        with self.lock:
            self.count += 1
            self.operations.append(operation)


def proxy_handler(upstream: str, counter: Counter):
    target = urllib.parse.urlsplit(upstream)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_args) -> None:
            pass

        def setup(self) -> None:
            super().setup()
            self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def _forward(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            counter.add(self.headers.get("X-Amz-Target") or f"{self.command} {self.path.split('?')[0]}")
            conn = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
            conn.connect()
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "keep-alive")}
            conn.request(self.command, self.path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            self.send_response(resp.status)
            for k, v in resp.getheaders():
                if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            conn.close()

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward

    return Handler


def serve(handler) -> tuple[ThreadingHTTPServer, int]:
    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, port


def read_env_file(path: str) -> dict:
    out = {}
    with open(path) as f:
        for raw in f:
            line = raw.strip()
            if line and not line.startswith("#") and "=" in line:
                k, v = line.split("=", 1)
                out[k.strip()] = v.strip()
    return out


def peak_rss_kib(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


class LocalFunction:
    """A built Lambda binary running under this Runtime API, invoked one event at a time."""

    def __init__(self, binary: str, env: dict, count_aws: bool = False, logs=None) -> None:
        self.binary = binary
        self.rt = Runtime()
        self.server, port = serve(runtime_handler(self.rt))
        self.counter = Counter()
        self.proxy = None
        env = dict(env)
        if count_aws:
            if not env.get("AWS_ENDPOINT_URL"):
                raise SystemExit("lambda_local: counting AWS calls needs AWS_ENDPOINT_URL")
            self.proxy, proxy_port = serve(proxy_handler(env["AWS_ENDPOINT_URL"], self.counter))
            env["AWS_ENDPOINT_URL"] = f"http://127.0.0.1:{proxy_port}"
        name = os.path.basename(binary)
        env.update({
            "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{port}",
            "AWS_LAMBDA_FUNCTION_NAME": name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": "local",
        })
        self.started = time.perf_counter()
        self.proc = subprocess.Popen([binary], env=env, stdout=logs or sys.stderr, stderr=logs or sys.stderr)
        self.invocations = 0
        self.peak_rss_kib = None

    def invoke(self, body: bytes, timeout: float = 60) -> dict:
        """Hands `body` to the function and waits for its answer. The first invocation's latency
        runs from process start (the cold start); later ones from when the event is handed out."""
        request_id = str(uuid.uuid4())
        calls_before = self.counter.count
        queued = time.perf_counter()
        self.rt.events.put((request_id, body))
        while True:
            try:
                kind, rid, payload, at = self.rt.results.get(timeout=0.05)
                break
            except queue.Empty:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"{self.binary} exited with {self.proc.returncode} before answering") from None
                if time.perf_counter() - queued > timeout:
                    raise RuntimeError(f"{self.binary} did not answer in {timeout} s") from None
        if kind == "init-error":
            raise RuntimeError(f"init error: {payload.decode(errors='replace')}")
        handed = self.rt.handed_out.get(rid, queued)
        first = self.invocations == 0
        self.invocations += 1
        return {
            "outcome": kind,
            "payload": json.loads(payload) if payload else None,
            "latency_ms": round((at - (self.started if first else handed)) * 1000, 3),
            "aws_calls": self.counter.count - calls_before if self.proxy else None,
            "operations": self.counter.operations[calls_before:] if self.proxy else None,
        }

    @property
    def init_ms(self):
        return round((self.rt.first_next_at - self.started) * 1000, 3) if self.rt.first_next_at else None

    def close(self) -> None:
        self.peak_rss_kib = peak_rss_kib(self.proc.pid)
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.server.shutdown()
        if self.proxy:
            self.proxy.shutdown()


def function_env(env_files: list, pairs: list) -> dict:
    env = dict(os.environ)
    for path in env_files:
        env.update(read_env_file(path))
    for pair in pairs:
        k, _, v = pair.partition("=")
        env[k] = v
    return env


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", required=True)
    ap.add_argument("--env-file", action="append", default=[], help="KEY=VALUE lines (the local stack's env file)")
    ap.add_argument("--env", action="append", default=[], help="KEY=VALUE for the function")
    ap.add_argument("--event", action="append", required=True, help="event file; repeat for several invocations")
    ap.add_argument("--repeat", type=int, default=1, help="invoke the event list this many times")
    ap.add_argument("--count-aws", action="store_true", help="count AWS API calls through a proxy")
    ap.add_argument("--report", help="write the measurements as JSON to this file")
    ap.add_argument("--quiet", action="store_true", help="print neither responses nor the function's logs")
    ap.add_argument("--logs", help="write the function's log lines to this file instead of standard error")
    args = ap.parse_args()

    # The function's process writes to it until the end.
    log_sink = open(args.logs, "w") if args.logs else (subprocess.DEVNULL if args.quiet else None)  # noqa: SIM115
    fn = LocalFunction(args.binary, function_env(args.env_file, args.env), args.count_aws, log_sink)
    invocations = []
    failed = False
    try:
        events = [(path, Path(path).read_bytes()) for path in args.event] * args.repeat
        for path, body in events:
            try:
                result = fn.invoke(body)
            except RuntimeError as e:
                print(f"lambda_local: {e}", file=sys.stderr)
                return 1
            record = {"event": path, "outcome": result["outcome"], "latency_ms": result["latency_ms"], "aws_calls": result["aws_calls"]}
            invocations.append(record)
            failed |= result["outcome"] == "error"
            if not args.quiet:
                print(f"--> {path}: {result['outcome']} in {result['latency_ms']} ms")
                print(json.dumps(result["payload"], indent=2))
    finally:
        fn.close()
    warm = sorted(r["latency_ms"] for r in invocations[1:])
    report = {
        "binary": args.binary,
        "binary_bytes": os.path.getsize(args.binary),
        "init_ms": fn.init_ms,
        "cold_start_ms": invocations[0]["latency_ms"] if invocations else None,
        "warm_ms": {
            "count": len(warm),
            "p50": warm[len(warm) // 2] if warm else None,
            "p90": warm[int(len(warm) * 0.9)] if warm else None,
            "max": warm[-1] if warm else None,
        },
        "peak_rss_kib": fn.peak_rss_kib,
        "aws_calls_cold": invocations[0]["aws_calls"] if invocations else None,
        "aws_calls_warm_max": max((r["aws_calls"] or 0) for r in invocations[1:]) if args.count_aws and len(invocations) > 1 else None,
        "invocations": invocations,
    }
    if args.report:
        with open(args.report, "w") as f:
            json.dump(report, f, indent=2)
    return 1 if failed and not args.quiet else 0


if __name__ == "__main__":
    sys.exit(main())
