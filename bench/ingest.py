"""Telemetry ingestion: OTLP/HTTP spans posted to POST /v1/traces of `prompt-review serve` (its own process),
protobuf and JSON, in batches like an OpenTelemetry BatchSpanProcessor sends (512 spans), from several
concurrent senders; prints spans/s, the CPU the server used for them (spans per CPU-second: on a shared
machine the wall rate says how busy the machine was as much as how fast the service is) and the rollup
rows written (the issue's target: ≥ 20,000 spans/s into SQLite and PostgreSQL). Also the same work without
HTTP (decode + aggregate + store), and what writing the hour and day rollups costs beside the minutes.

Run: .venv/bin/python bench/ingest.py [--seconds 5 --senders 4 --batch 512 --database-url postgresql+psycopg://…]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import psutil
from google.protobuf.json_format import MessageToDict
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

from bot.release import store, telemetry
from bot.service.db import make_engine
from bot.service.migrate import upgrade

REPO = "acme/support-bot"


def kv(key: str, value) -> KeyValue:
    if isinstance(value, str):
        return KeyValue(key=key, value=AnyValue(string_value=value))
    if isinstance(value, int):
        return KeyValue(key=key, value=AnyValue(int_value=value))
    return KeyValue(key=key, value=AnyValue(double_value=value))


def request(batch: int, offset: int = 0) -> ExportTraceServiceRequest:
    """`batch` spans over 16 series (4 prompts × 2 arms × 2 models), as the SDK or an instrumented app sends."""
    now = time.time_ns()
    spans = []
    for i in range(batch):
        n = offset + i
        attrs = [kv("prompt_review.repo", REPO), kv("prompt_review.prompt.path", f"prompts/p{n % 4}.md"),
                 kv("prompt_review.prompt.version", f"{n % 4:012x}"), kv("prompt_review.label", "production"),
                 kv("prompt_review.arm", ("control", "candidate")[(n // 4) % 2]),
                 kv("gen_ai.request.model", "gpt-4o-mini"), kv("gen_ai.response.model", ("gpt-4o-mini", "gpt-4o")[(n // 8) % 2]),
                 kv("gen_ai.usage.input_tokens", 120 + n % 50), kv("gen_ai.usage.output_tokens", 40 + n % 20),
                 kv("prompt_review.cost_usd", 0.0003), kv("prompt_review.score.task_success", float(n % 5 != 0))]
        spans.append(Span(trace_id=os.urandom(16), span_id=os.urandom(8), name="chat", kind=Span.SPAN_KIND_CLIENT,
                          start_time_unix_nano=now - 200_000_000 - n, end_time_unix_nano=now - n, attributes=attrs))
    return ExportTraceServiceRequest(resource_spans=[ResourceSpans(scope_spans=[ScopeSpans(spans=spans)])])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def load(url: str, token: str, body: bytes, content_type: str, spans_per_request: int, seconds: float, senders: int) -> tuple[float, int]:
    sent = [0] * senders
    errors = [0] * senders
    stop = time.perf_counter() + seconds

    def sender(k: int) -> None:
        with httpx.Client(timeout=30, headers={"Authorization": f"Bearer {token}", "Content-Type": content_type}) as c:
            while time.perf_counter() < stop:
                r = c.post(url + "/v1/traces", content=body)
                if r.status_code == 200:
                    sent[k] += spans_per_request
                else:
                    errors[k] += 1
    threads = [threading.Thread(target=sender, args=(k,)) for k in range(senders)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(sent) / (time.perf_counter() - start), sum(errors)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--senders", type=int, default=4)
    p.add_argument("--batch", type=int, default=512)
    p.add_argument("--database-url", default=None, help="default: a SQLite file in a temporary directory")
    args = p.parse_args()
    proto = request(args.batch)
    bodies = {"protobuf": (proto.SerializeToString(), "application/x-protobuf"),
              "json": (json.dumps(MessageToDict(proto)).encode(), "application/json")}

    with tempfile.TemporaryDirectory() as tmp:
        db_url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        engine = make_engine(db_url)
        upgrade(engine)
        _, token = store.create_token(engine, REPO, "write", "bench")
        kind = engine.dialect.name

        # without HTTP: decode + aggregate + one transaction per request
        for name, (body, _) in bodies.items():
            start_cpu, start, n = time.process_time(), time.perf_counter(), 0
            while time.perf_counter() - start < min(2.0, args.seconds):
                telemetry.store_batch(engine, telemetry.aggregate_otlp(REPO, body, protobuf=name == "protobuf"))
                n += args.batch
            print(f"in process ({kind}), {name:8}: {n / (time.perf_counter() - start):9,.0f} spans/s, "
                  f"{n / (time.process_time() - start_cpu):,.0f} spans per CPU-second (decode + aggregate + store, one thread, "
                  f"one transaction per request)")

        # what the hour and day rows cost: the same transaction with the minute table alone, then all three
        batch = telemetry.aggregate_otlp(REPO, bodies["protobuf"][0], protobuf=True)
        costs = {}
        for label, resolutions in (("minute", (telemetry.Resolution.MINUTE,)), ("minute+hour+day", tuple(telemetry.Resolution))):
            start_cpu, start, n = time.process_time(), time.perf_counter(), 0
            while time.perf_counter() - start < min(2.0, args.seconds):
                telemetry.store_batch(engine, batch, resolutions=resolutions)
                n += 1
            costs[label] = (time.process_time() - start_cpu) / n * 1000
        print(f"store only ({kind}), one transaction of {len(batch.deltas)} series-minutes: minute table "
              f"{costs['minute']:.2f} ms CPU, minute+hour+day {costs['minute+hour+day']:.2f} ms CPU")

        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("PROMPT_REVIEW_")}
        env.update(PROMPT_REVIEW_DATABASE_URL=db_url, PROMPT_REVIEW_LOG_LEVEL="WARNING",
                   PROMPT_REVIEW_CREDENTIALS_PATH=str(Path(tmp) / "none.env"))
        server = subprocess.Popen([sys.executable, "-m", "bot", "serve", "--port", str(port)], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit("serve did not start")
                time.sleep(0.2)
            process = psutil.Process(server.pid)
            for name, (body, ctype) in bodies.items():
                before = process.cpu_times()
                rate, errors = load(url, token, body, ctype, args.batch, args.seconds, args.senders)
                after = process.cpu_times()
                cpu = (after.user + after.system) - (before.user + before.system)
                per_cpu = rate * args.seconds / cpu if cpu > 0 else float("nan")
                print(f"serve ({kind}), OTLP {name:8}: {rate:9,.0f} spans/s  ({args.senders} senders, {args.batch} spans "
                      f"per request, {len(body):,} bytes; {errors} errors)  target ≥ 20,000: {'met' if rate >= 20000 else 'NOT met'}"
                      f"; the server used {cpu / args.seconds:.2f} CPU cores: {per_cpu:,.0f} spans per CPU-second")
        finally:
            server.terminate()
            server.wait(10)
        rows = telemetry.rollups(engine, REPO)
        print(f"rollup rows: {len(rows)} for {sum(r.calls for r in rows):,} spans (series × minutes, not traffic)")
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
