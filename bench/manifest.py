"""The manifest endpoint under load: GET /v1/repos/{owner}/{repo}/manifest with a repo token against
`prompt-review serve` (SQLite, its own process), offered at fixed rates (open loop) with and without
If-None-Match; prints throughput, p50 and p99 (the issue's target: p99 < 10 ms at 1,000 requests/s).

Run: .venv/bin/python bench/manifest.py [--rates 250,500,1000 --seconds 5 --prompts 20]

On a machine shared with other work the p99 mostly measures the scheduler; the server's CPU time per
request (psutil) is printed beside it as the figure those neighbours cannot inflate.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil

from bot.core.release import Move, Plan
from bot.release import store
from bot.service.db import make_engine
from bot.service.migrate import upgrade

REPO = "acme/support-bot"


def seed(db_url: str, prompts: int) -> str:
    engine = make_engine(db_url)
    upgrade(engine)
    moves = []
    for i in range(prompts):
        sha = f"{i:040x}"
        store.store_blob(engine, REPO, sha, (f"---\nmodel: gpt-4o\ntemperature: 0.2\n---\nYou are agent {i}.\n" * 20).encode())
        moves.append(Move(f"prompts/p{i}.prompt", None, sha))
    store.apply(engine, REPO, Plan("production", "c" * 40, tuple(moves), False), kind="deploy", actor="bench", via="api", reason=None)
    _, token = store.create_token(engine, REPO, "read", "bench")
    engine.dispose()
    return token


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Connection:
    """One keep-alive HTTP/1.1 connection speaking just enough of the protocol for GET: the load generator
    must cost far less CPU per request than the server it measures (httpx costs about as much)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader, self.writer = reader, writer

    async def get(self, request: bytes) -> int:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if length:
            await self.reader.readexactly(length)
        return status


async def run_rate(host: str, port: int, request: bytes, rate: int, seconds: float,
                   connections: int = 64) -> tuple[list[float], int, float]:
    """Open loop: request i is due at start + i/rate whatever the answers before it; its latency counts
    from when it was due, so time spent waiting for a free connection (queueing) counts too."""
    idle: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(connections):
        idle.put_nowait(Connection(*await asyncio.open_connection(host, port)))
    latencies: list[float] = []
    errors = 0

    async def one(due: float) -> None:
        nonlocal errors
        conn = await idle.get()
        try:
            if await conn.get(request) not in (200, 304):
                errors += 1
            idle.put_nowait(conn)
        except (OSError, asyncio.IncompleteReadError, ValueError):
            errors += 1
            idle.put_nowait(Connection(*await asyncio.open_connection(host, port)))
        latencies.append(time.perf_counter() - due)

    tasks = []
    start = time.perf_counter()
    for i in range(int(rate * seconds)):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(due)))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - start
    while not idle.empty():
        idle.get_nowait().writer.close()
    return latencies, errors, elapsed


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rates", default="250,500,1000")
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--prompts", type=int, default=20)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db_url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        token = seed(db_url, args.prompts)
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("PROMPT_REVIEW_")}
        env.update(PROMPT_REVIEW_DATABASE_URL=db_url, PROMPT_REVIEW_LOG_LEVEL="WARNING",
                   PROMPT_REVIEW_CREDENTIALS_PATH=str(Path(tmp) / "none.env"))
        server = subprocess.Popen([sys.executable, "-m", "bot", "serve", "--port", str(port)], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(200):
                try:
                    if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            url = f"{base}/v1/repos/{REPO}/manifest?label=production"
            auth = {"Authorization": f"Bearer {token}"}
            first = httpx.get(url, headers=auth)
            assert first.status_code == 200, first.text
            tag = first.headers["etag"]
            served = psutil.Process(server.pid)  # its CPU time per request: a figure other processes cannot inflate
            print(f"manifest: {args.prompts} prompts, {len(first.content):,} bytes; serve (SQLite), {args.seconds:g} s per rate; "
                  f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (the client shares them)")
            path = f"/v1/repos/{REPO}/manifest?label=production"
            for label, headers in (("200 full body", auth), ("304 If-None-Match", {**auth, "If-None-Match": tag})):
                request = (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                           + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n").encode()
                for rate in (int(r) for r in args.rates.split(",")):
                    cpu_before = sum(served.cpu_times()[:2])
                    gc.disable()  # the client's own collection pauses would be counted as the server's latency
                    try:
                        lat, errors, elapsed = asyncio.run(run_rate("127.0.0.1", port, request, rate, args.seconds))
                    finally:
                        gc.enable()
                    cpu = (sum(served.cpu_times()[:2]) - cpu_before) / max(1, len(lat))
                    lat.sort()
                    p99 = lat[int(len(lat) * 0.99) - 1] * 1000
                    print(f"  {label:18} offered {rate:5}/s  served {len(lat) / elapsed:7.0f}/s  "
                          f"p50 {statistics.median(lat) * 1000:6.1f} ms  p99 {p99:7.1f} ms  errors {errors}  "
                          f"server CPU {cpu * 1e6:5.0f} µs/request")
        finally:
            server.terminate()
            server.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
