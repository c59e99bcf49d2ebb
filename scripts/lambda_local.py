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

With --serve-invoke it serves instead a minimal Lambda Invoke API (moto cannot run function code):
`POST /2015-03-31/functions/{name}/invocations` runs the built binary the function's name ends with
(`my-app-dev-secret-rotation` or its ARN -> secret-rotation), kept warm between invocations, and
answers as Lambda does (the function's response; an error with `X-Amz-Function-Error: Unhandled`).
Point an SDK at it with AWS_ENDPOINT_URL_LAMBDA:

    scripts/lambda_local.py --serve-invoke secret-rotation=target/debug/secret-rotation --env-file .stack/stack.env
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
        # The ARN each invocation's context carries (the local stack's account and region).
        self.function_arn = "arn:aws:lambda:us-east-1:123456789012:function:local"


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
                "Lambda-Runtime-Invoked-Function-Arn": rt.function_arn,
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


class QuietServer(ThreadingHTTPServer):
    """A function process that ends drops its long-poll for the next event: not an error."""

    def handle_error(self, request, client_address) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def serve(handler) -> tuple[ThreadingHTTPServer, int]:
    port = free_port()
    server = QuietServer(("127.0.0.1", port), handler)
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
        self.rt.function_arn = f"arn:aws:lambda:{env.get('AWS_REGION', 'us-east-1')}:123456789012:function:{name}"
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


class InvokeApi:
    """Lambda's Invoke API over built binaries: `binaries` maps a binary's name to its path; a
    function whose name is that name or ends with `-<name>` runs it. One invocation at a time per
    function, as a function with reserved concurrency 1 would."""

    def __init__(self, binaries: dict, env: dict, logs=None) -> None:
        self.binaries, self.env, self.logs = binaries, env, logs
        self.running: dict = {}
        self.lock = threading.Lock()
        self.invocations: list = []

    def binary_for(self, function: str) -> str | None:
        name = urllib.parse.unquote(function)
        if ":function:" in name:
            name = name.split(":function:", 1)[1].split(":")[0]
        for binary in self.binaries:
            if name == binary or name.endswith("-" + binary):
                return binary
        return None

    def invoke(self, binary: str, body: bytes) -> dict:
        with self.lock:
            fn = self.running.get(binary)
            if fn is None or fn.proc.poll() is not None:
                fn = self.running[binary] = LocalFunction(self.binaries[binary], self.env, logs=self.logs)
            result = fn.invoke(body)
            self.invocations.append({"function": binary, "outcome": result["outcome"], "latency_ms": result["latency_ms"]})
            return result

    def close(self) -> None:
        for fn in self.running.values():
            fn.close()


def invoke_handler(api: InvokeApi):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_args) -> None:
            pass

        def _reply(self, status: int, body: bytes, headers: dict | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b"{}"
            parts = urllib.parse.urlsplit(self.path).path.strip("/").split("/")
            if len(parts) != 4 or parts[:2] != ["2015-03-31", "functions"] or parts[3] != "invocations":
                return self._reply(404, b'{"message": "not an Invoke request"}', {"x-amzn-ErrorType": "UnknownOperationException"})
            if self.headers.get("X-Amz-Invocation-Type", "RequestResponse") != "RequestResponse":
                return self._reply(400, b'{"message": "only RequestResponse is served here"}',
                                   {"x-amzn-ErrorType": "InvalidParameterValueException"})
            binary = api.binary_for(parts[2])
            if binary is None:
                message = json.dumps({"Type": "User", "message": f"Function not found: {parts[2]}"}).encode()
                return self._reply(404, message, {"x-amzn-ErrorType": "ResourceNotFoundException"})
            try:
                result = api.invoke(binary, body)
            except RuntimeError as e:  # the process died or never answered: Lambda reports it the same way
                error = json.dumps({"errorType": "Runtime.ExitError", "errorMessage": str(e)}).encode()
                return self._reply(200, error, {"X-Amz-Function-Error": "Unhandled", "X-Amz-Executed-Version": "$LATEST"})
            headers = {"X-Amz-Executed-Version": "$LATEST"}
            if result["outcome"] == "error":
                headers["X-Amz-Function-Error"] = "Unhandled"
            return self._reply(200, json.dumps(result["payload"]).encode(), headers)

    return Handler


def serve_invoke_api(binaries: dict, env: dict, logs=None) -> tuple[ThreadingHTTPServer, str, InvokeApi]:
    """Starts the Invoke API on a free loopback port; returns the server, its URL and the API."""
    api = InvokeApi(binaries, env, logs)
    server, port = serve(invoke_handler(api))
    return server, f"http://127.0.0.1:{port}", api


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
    ap.add_argument("--binary", help="the built function to run (not with --serve-invoke)")
    ap.add_argument("--serve-invoke", action="append", default=[], metavar="NAME=BINARY",
                    help="serve Lambda's Invoke API for these built functions until interrupted")
    ap.add_argument("--env-file", action="append", default=[], help="KEY=VALUE lines (the local stack's env file)")
    ap.add_argument("--env", action="append", default=[], help="KEY=VALUE for the function")
    ap.add_argument("--event", action="append", default=[], help="event file; repeat for several invocations")
    ap.add_argument("--repeat", type=int, default=1, help="invoke the event list this many times")
    ap.add_argument("--count-aws", action="store_true", help="count AWS API calls through a proxy")
    ap.add_argument("--report", help="write the measurements as JSON to this file")
    ap.add_argument("--quiet", action="store_true", help="print neither responses nor the function's logs")
    ap.add_argument("--logs", help="write the function's log lines to this file instead of standard error")
    args = ap.parse_args()
    if args.serve_invoke:
        binaries = dict(pair.split("=", 1) for pair in args.serve_invoke)
        sink = open(args.logs, "w") if args.logs else None  # noqa: SIM115 -- the functions write to it until the end
        server, url, api = serve_invoke_api(binaries, function_env(args.env_file, args.env), sink)
        print(f"AWS_ENDPOINT_URL_LAMBDA={url}", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
        finally:
            api.close()
            server.shutdown()
        return 0
    if not args.binary or not args.event:
        ap.error("--binary and --event are required (or --serve-invoke)")

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
