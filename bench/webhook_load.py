"""Webhook intake under load: signed deliveries at concurrency 50 against `serve` (SQLite) and
`web` (PostgreSQL), next to a bare FastAPI endpoint answering 202 in the same run.

Two runs per target, each server its own uvicorn process, so the figures include real HTTP:
- closed loop: 50 kept-alive connections each send the next delivery as soon as the last is
  answered — the most deliveries/s the server takes, as a ratio to the bare endpoint;
- open loop: deliveries offered at fixed rates (as GitHub sends them: nobody waits for our answer)
  — p50/p99 ack latency counted from when each delivery was due.
Plus the server's RSS idle and under load. The generator sends pre-built bytes over raw sockets so
it takes as little of the shared CPUs as possible.
Run: .venv/bin/python bench/webhook_load.py [--n 20000 --c 50 --rates 100,200,400 --pg-url postgresql+psycopg://...]
(PostgreSQL URL also from PROMPT_REVIEW_TEST_POSTGRES_URL; that leg is skipped without one.)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
from sqlalchemy import create_engine, text

from bot.github.signature import sign
from bot.serving import free_port
from bot.simulator.driver import generate_private_key

SECRET = "bench-webhook-secret"
OPEN_SECONDS = 10
BARE_APP = """
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
app = FastAPI()
@app.post("/webhook")
async def webhook(request: Request):
    await request.body()
    return JSONResponse({"outcome": "queued"}, status_code=202)
@app.get("/healthz")
def healthz():
    return {"status": "ok"}
"""


@dataclass(frozen=True)
class Figures:  # one run against one target
    name: str
    n: int
    ok: int
    wall: float
    p50_ms: float
    p99_ms: float
    rss_idle_mb: float
    rss_peak_mb: float
    drain_s: float | None = None  # after the closed loop: until its embedded workers had run every job

    @property
    def rate(self) -> float:
        return self.n / self.wall


def payload(i: int) -> dict:
    """A `pull_request.labeled` delivery on a same-repo PR: stored and queued as a job like any PR
    event, and the embedded worker finishes it without calling GitHub (labels only matter for forks)."""
    repo = {"full_name": "acme/load", "id": 1}
    return {
        "action": "labeled", "number": i, "repository": repo, "installation": {"id": 7},
        "sender": {"login": "dave"}, "label": {"name": "bench"},
        "pull_request": {"number": i, "user": {"login": "dave"}, "labels": [{"name": "bench"}], "draft": False,
                         "head": {"sha": uuid.uuid4().hex + "00000000", "ref": f"b{i}", "repo": repo},
                         "base": {"sha": "b" * 40, "ref": "main", "repo": repo}},
    }


def start(cmd: list[str], env: dict, port: int, log: Path) -> subprocess.Popen:
    proc = subprocess.Popen(cmd, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
        if proc.poll() is not None:
            break
    proc.kill()
    raise RuntimeError(f"server did not start: {cmd}\n{log.read_text(errors='replace')[-2000:]}")


def prepare(n: int, port: int) -> list[bytes]:
    """Every request as the exact bytes on the wire, built before the clock starts."""
    out = []
    for i in range(n):
        body = json.dumps(payload(i + 1)).encode()
        head = (f"POST /webhook HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
                f"X-GitHub-Event: pull_request\r\nX-GitHub-Delivery: {uuid.uuid4()}\r\n"
                f"X-Hub-Signature-256: {sign(SECRET, body)}\r\nContent-Length: {len(body)}\r\n\r\n")
        out.append(head.encode() + body)
    return out


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> int:
    """One request/response on a kept-alive HTTP/1.1 connection; the response status."""
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")), None)
    if length is None:
        raise RuntimeError(f"response without Content-Length: {head[:200]!r}")
    await reader.readexactly(length)
    return status


async def blast(port: int, requests: list[bytes], c: int, rate: float | None) -> tuple[list[float], int, float]:
    """Send `requests` over `c` kept-alive connections.

    rate=None: closed loop, each connection sends its next request as soon as the last is answered
    (the most the server can take; latency then is c / throughput by Little's law).
    rate=R: open loop, request i is due at i/R seconds; latency is measured from when it was due,
    so a server that falls behind is charged for the queueing it causes (no coordinated omission).
    """
    due: asyncio.Queue = asyncio.Queue()
    latencies: list[float] = []
    ok = 0

    async def connection() -> None:
        nonlocal ok
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while True:
                item = await due.get()
                if item is None:
                    return
                scheduled, request = item
                began = scheduled if scheduled is not None else time.perf_counter()
                status = await _exchange(reader, writer, request)
                latencies.append(time.perf_counter() - began)
                ok += status in (200, 202)
        finally:
            writer.close()

    start_t = time.perf_counter()
    tasks = [asyncio.create_task(connection()) for _ in range(c)]
    if rate is None:
        for request in requests:
            due.put_nowait((None, request))
    for i, request in enumerate(requests if rate is not None else ()):
        at = start_t + i / rate
        delay = at - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        due.put_nowait((at, request))
    for _ in tasks:
        due.put_nowait(None)
    await asyncio.gather(*tasks)
    return latencies, ok, time.perf_counter() - start_t


@dataclass(frozen=True)
class Target:
    name: str
    closed: Figures
    opened: dict[float, Figures]  # offered rate → figures


def _figures(name: str, latencies: list[float], ok: int, wall: float, idle: float, peak: float) -> Figures:
    q = statistics.quantiles(latencies, n=100)
    return Figures(name, len(latencies), ok, wall, q[49] * 1000, q[98] * 1000, idle / 2**20, peak / 2**20)


def drain(port: int, timeout: float = 300.0) -> float:
    """Seconds until the server's queue is empty (queued and running jobs, from its /metrics)."""
    began = time.perf_counter()
    while time.perf_counter() - began < timeout:
        text_ = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
        waiting = sum(float(line.rsplit(" ", 1)[1]) for line in text_.splitlines()
                      if line.startswith(("prompt_review_queue_depth ", 'prompt_review_jobs{state="running"}')))
        if waiting == 0:
            return time.perf_counter() - began
        time.sleep(0.2)
    raise RuntimeError(f"jobs still waiting after {timeout:.0f} s")


def measure(name: str, cmd: list[str], env: dict, n: int, c: int, rates: list[float], workdir: Path,
            workers: bool = False) -> Target:
    port = free_port()
    proc = start([*cmd, "--port", str(port)], env, port, workdir / f"{name.split()[0]}.log")
    try:
        ps = psutil.Process(proc.pid)
        asyncio.run(blast(port, prepare(300, port), c, None))  # warm-up: connections, caches, JIT-less imports
        time.sleep(0.5)
        idle = ps.memory_info().rss
        peak = [idle]
        stop = threading.Event()

        def sample():
            while not stop.wait(0.05):
                peak[0] = max(peak[0], ps.memory_info().rss)
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            closed = _figures(name, *asyncio.run(blast(port, prepare(n, port), c, None)), idle, peak[0])
            if workers:  # the embedded workers give way to a burst: how long until they caught up
                closed = Figures(**{**closed.__dict__, "drain_s": drain(port)})
            opened = {}
            for rate in rates:
                time.sleep(1.0)  # a pause between runs
                opened[rate] = _figures(name, *asyncio.run(blast(port, prepare(int(rate * OPEN_SECONDS), port), c, rate)),
                                        idle, peak[0])
        finally:
            stop.set()
            sampler.join()
        return Target(name, Figures(**{**closed.__dict__, "rss_peak_mb": peak[0] / 2**20}), opened)
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()


def service_env(db_url: str, key: str) -> dict:
    return {**os.environ, "PROMPT_REVIEW_APP_ID": "1", "PROMPT_REVIEW_PRIVATE_KEY": key,
            "PROMPT_REVIEW_WEBHOOK_SECRET": SECRET, "PROMPT_REVIEW_DATABASE_URL": db_url,
            "PROMPT_REVIEW_GITHUB_API_URL": f"http://127.0.0.1:{free_port()}",  # never called by these jobs
            "PROMPT_REVIEW_REDELIVER_INTERVAL_SECONDS": "0", "PROMPT_REVIEW_LOG_LEVEL": "WARNING"}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20000, help="deliveries per target in the closed-loop run")
    ap.add_argument("--c", type=int, default=50, help="concurrent connections")
    ap.add_argument("--rates", default="100,200,400", help="offered deliveries/s of the open-loop runs (10 s each)")
    ap.add_argument("--pg-url", default=os.environ.get("PROMPT_REVIEW_TEST_POSTGRES_URL"))
    args = ap.parse_args()
    rates = [float(r) for r in args.rates.split(",")]
    key = generate_private_key().decode()
    py = sys.executable
    results: list[Target] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "bare_app.py").write_text(BARE_APP)
        bare_cmd = [py, "-m", "uvicorn", "--app-dir", tmp, "bare_app:app", "--log-level", "warning", "--no-access-log"]
        results.append(measure("bare FastAPI 202", bare_cmd, dict(os.environ), args.n, args.c, rates, work))
        results.append(measure("serve (SQLite)", [py, "-m", "bot", "serve"],
                               service_env(f"sqlite:///{work / 'load.db'}", key), args.n, args.c, rates, work, workers=True))
        if args.pg_url:
            admin = create_engine(args.pg_url, isolation_level="AUTOCOMMIT")
            name = "bench_" + uuid.uuid4().hex[:8]
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            try:
                results.append(measure("web (PostgreSQL)", [py, "-m", "bot", "web"],
                                       service_env(f"{args.pg_url.rpartition('/')[0]}/{name}", key), args.n, args.c, rates, work))
            finally:
                with admin.connect() as conn:
                    conn.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
                admin.dispose()
        else:
            print("note: no PostgreSQL URL (--pg-url or PROMPT_REVIEW_TEST_POSTGRES_URL); skipping `web` on PostgreSQL")
    bare = results[0].closed
    print(f"{os.cpu_count()} CPUs shared by the load generator, the server and PostgreSQL")
    print(f"closed loop: {args.n} signed deliveries per target over {args.c} connections, each sent when the last was answered")
    print(f"{'target':<20} {'ok':>6} {'deliv/s':>9} {'×bare':>6} {'p50 ms':>8} {'p99 ms':>8} {'RSS idle':>9} {'RSS load':>9}")
    for t in results:
        f = t.closed
        print(f"{f.name:<20} {f.ok:>6} {f.rate:>9.0f} {f.rate / bare.rate:>6.2f} {f.p50_ms:>8.1f} {f.p99_ms:>8.1f}"
              f" {f.rss_idle_mb:>7.0f}MB {f.rss_peak_mb:>7.0f}MB")
    for t in results:
        if t.closed.drain_s is not None:
            print(f"{t.name}: its embedded workers hold back while deliveries wait to be stored; they had run all"
                  f" {t.closed.n} jobs {t.closed.drain_s:.1f} s after the last acknowledgement")
    print(f"open loop: deliveries offered at a fixed rate for {OPEN_SECONDS} s, up to {args.c} in flight;"
          " latency counted from when each was due")
    print(f"{'target':<20} " + " ".join(f"{f'{r:.0f}/s p50':>10} {'p99 ms':>7}" for r in rates))
    for t in results:
        print(f"{t.name:<20} " + " ".join(f"{t.opened[r].p50_ms:>10.1f} {t.opened[r].p99_ms:>7.1f}"
                                          + ("" if t.opened[r].ok == t.opened[r].n else f" ({t.opened[r].n - t.opened[r].ok} failed)")
                                          for r in rates))
    print("targets: p99 ack < 50 ms, throughput ≥ 0.5× bare, RSS < 200 MB"
          f" (closed-loop latency is bounded below by {args.c}/throughput — Little's law — so p99 is judged in the open loop)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
