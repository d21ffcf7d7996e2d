"""Webhook intake under load: signed deliveries at concurrency 50 against `serve` (SQLite) and
`web` (PostgreSQL), next to a bare FastAPI endpoint answering 202 in the same run.

Prints deliveries/s, p50/p99 ack latency, the ratio to the bare endpoint and the server's RSS idle
and under load. Each server is its own uvicorn process, so the figures include real HTTP.
Run: .venv/bin/python bench/webhook_load.py [--n 3000 --c 50 --pg-url postgresql+psycopg://...]
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
class Figures:
    name: str
    n: int
    ok: int
    wall: float
    p50_ms: float
    p99_ms: float
    rss_idle_mb: float
    rss_peak_mb: float

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


async def blast(url: str, n: int, c: int) -> tuple[list[float], int, float]:
    bodies = []
    for i in range(n):
        body = json.dumps(payload(i + 1)).encode()
        bodies.append((body, {"X-GitHub-Event": "pull_request", "X-GitHub-Delivery": str(uuid.uuid4()),
                              "Content-Type": "application/json", "X-Hub-Signature-256": sign(SECRET, body)}))
    latencies: list[float] = []
    ok = 0
    queue: asyncio.Queue = asyncio.Queue()
    for item in bodies:
        queue.put_nowait(item)
    limits = httpx.Limits(max_connections=c, max_keepalive_connections=c)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        async def one_sender():
            nonlocal ok
            while not queue.empty():
                body, headers = queue.get_nowait()
                t = time.perf_counter()
                r = await client.post(url, content=body, headers=headers)
                latencies.append(time.perf_counter() - t)
                ok += r.status_code in (200, 202)
        start_t = time.perf_counter()
        await asyncio.gather(*(one_sender() for _ in range(c)))
        wall = time.perf_counter() - start_t
    return latencies, ok, wall


def measure(name: str, cmd: list[str], env: dict, port: int, n: int, c: int, workdir: Path) -> Figures:
    proc = start(cmd, env, port, workdir / f"{name.split()[0]}.log")
    try:
        ps = psutil.Process(proc.pid)
        asyncio.run(blast(f"http://127.0.0.1:{port}/webhook", 200, c))  # warm-up
        time.sleep(0.5)
        idle = ps.memory_info().rss
        peak = [idle]
        stop = threading.Event()

        def sample():
            while not stop.wait(0.05):
                peak[0] = max(peak[0], ps.memory_info().rss)
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        latencies, ok, wall = asyncio.run(blast(f"http://127.0.0.1:{port}/webhook", n, c))
        stop.set()
        sampler.join()
        q = statistics.quantiles(latencies, n=100)
        return Figures(name, n, ok, wall, q[49] * 1000, q[98] * 1000, idle / 2**20, peak[0] / 2**20)
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
    ap.add_argument("--n", type=int, default=3000, help="deliveries per target")
    ap.add_argument("--c", type=int, default=50, help="concurrent senders")
    ap.add_argument("--pg-url", default=os.environ.get("PROMPT_REVIEW_TEST_POSTGRES_URL"))
    args = ap.parse_args()
    key = generate_private_key().decode()
    py = sys.executable
    results: list[Figures] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "bare_app.py").write_text(BARE_APP)
        port = free_port()
        results.append(measure("bare FastAPI 202", [py, "-m", "uvicorn", "--app-dir", tmp, "bare_app:app", "--port", str(port),
                                                    "--log-level", "warning", "--no-access-log"],
                               dict(os.environ), port, args.n, args.c, work))
        port = free_port()
        results.append(measure("serve (SQLite)", [py, "-m", "bot", "serve", "--port", str(port)],
                               service_env(f"sqlite:///{work / 'load.db'}", key), port, args.n, args.c, work))
        if args.pg_url:
            admin = create_engine(args.pg_url, isolation_level="AUTOCOMMIT")
            name = "bench_" + uuid.uuid4().hex[:8]
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            try:
                port = free_port()
                results.append(measure("web (PostgreSQL)", [py, "-m", "bot", "web", "--port", str(port)],
                                       service_env(f"{args.pg_url.rpartition('/')[0]}/{name}", key), port, args.n, args.c, work))
            finally:
                with admin.connect() as conn:
                    conn.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
                admin.dispose()
        else:
            print("note: no PostgreSQL URL (--pg-url or PROMPT_REVIEW_TEST_POSTGRES_URL); skipping `web` on PostgreSQL")
    bare = results[0]
    print(f"{args.n} signed deliveries per target, concurrency {args.c}")
    print(f"{'target':<20} {'ok':>6} {'deliv/s':>9} {'×bare':>6} {'p50 ms':>8} {'p99 ms':>8} {'RSS idle':>9} {'RSS load':>9}")
    for f in results:
        print(f"{f.name:<20} {f.ok:>6} {f.rate:>9.0f} {f.rate / bare.rate:>6.2f} {f.p50_ms:>8.1f} {f.p99_ms:>8.1f}"
              f" {f.rss_idle_mb:>7.0f}MB {f.rss_peak_mb:>7.0f}MB")
    print("targets: p99 ack < 50 ms, throughput ≥ 0.5× bare, RSS < 200 MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
