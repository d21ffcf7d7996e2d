"""Start the real service (web + workers) and the GitHub simulator on loopback, for end-to-end tests."""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from bot.serving import RunningServer, free_port, start_in_thread
from bot.service.run import Service, build_service
from bot.settings import Settings
from bot.simulator import Simulator, start

SECRET = "It's a Secret to Everybody"


def wait_for(condition, timeout: float, what: str):
    """Poll `condition` until it is truthy (and return its value); fail naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout}s")
        time.sleep(0.05)


@dataclass
class Stack:
    sim: Simulator
    sim_server: RunningServer
    service: Service
    web: RunningServer

    def wait_idle(self, timeout: float = 180.0) -> None:
        """Until no job is queued or running (what a user would wait for before looking)."""
        from bot.service import queue

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            counts = queue.counts_by_state(self.service.engine)
            if not counts.get("queued") and not counts.get("running"):
                return
            time.sleep(0.05)
        raise TimeoutError(f"jobs still pending after {timeout}s: {queue.counts_by_state(self.service.engine)}")


def settings_for(db_url: str, api_url: str, private_key: str, **overrides) -> Settings:
    values = dict(
        app_id=1,
        private_key=private_key,
        webhook_secret=SECRET,
        github_api_url=api_url,
        database_url=db_url,
        poll_interval_seconds=0.05,
        job_retry_base_seconds=0.1,
        redeliver_interval_seconds=0,
        worker_concurrency=2,
        backfill_commits=0,  # tests that want the install-time versions backfill ask for it
    )
    values.update(overrides)
    return Settings(**values)


@contextmanager
def stack(tmp_path: Path, db_url: str | None = None, env: dict | None = None, workers: int | None = 2, **overrides):
    port = free_port()
    sim = Simulator(webhook_url=f"http://127.0.0.1:{port}/webhook", webhook_secret=SECRET, app_id=1)
    sim_server = start(sim)
    settings = settings_for(db_url or f"sqlite:///{tmp_path / 'service.db'}", sim_server.url, sim.private_key_pem.decode(), **overrides)
    service = build_service(settings, env=env or {})
    web = start_in_thread(service.web_app(with_workers=False), port=port)
    if workers:
        service.start_workers(workers)
    try:
        yield Stack(sim, sim_server, service, web)
    finally:
        service.stop()
        web.stop()
        sim_server.stop()
        service.engine.dispose()


def post_webhook(url: str, body: bytes, event: str = "ping", delivery: str = "d-1", signature: str | None = None) -> httpx.Response:
    headers = {"X-GitHub-Event": event, "X-GitHub-Delivery": delivery, "Content-Type": "application/json"}
    if signature is not None:
        headers["X-Hub-Signature-256"] = signature
    return httpx.post(url + "/webhook", content=body, headers=headers, timeout=30)
