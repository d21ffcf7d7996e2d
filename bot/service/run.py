"""Process entry points: `serve` (web + embedded worker), `web`, `worker`."""

from __future__ import annotations

import gc
import logging
import os
import sys
import threading
from collections.abc import Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from bot import logs
from bot.github.client import GitHubApp
from bot.revalidate.triggers import schedule_pass
from bot.service.db import make_engine, utcnow
from bot.service.metrics import Metrics
from bot.service.migrate import upgrade
from bot.service.recovery import redeliver_failed
from bot.service.web import create_web_app
from bot.service.worker import Worker
from bot.settings import SETUP_HINT, Settings, SettingsError, load_settings

log = logging.getLogger("prompt_review")


@dataclass
class Service:
    settings: Settings
    engine: Engine
    metrics: Metrics
    github: GitHubApp | None
    workers: list[Worker] = field(default_factory=list)
    threads: list[threading.Thread] = field(default_factory=list)
    stop_event: threading.Event = field(default_factory=threading.Event)
    recover_now: threading.Event = field(default_factory=threading.Event)
    intake_busy: Callable[[], bool] | None = None  # set by web_app for `serve`'s embedded workers

    def start_workers(self, count: int | None = None) -> None:
        assert self.github is not None
        for _ in range(count or self.settings.worker_concurrency):
            worker = Worker(self.settings, self.engine, self.github, self.metrics, env=self.env)
            worker.on_recovered = self.recover_now.set
            worker.intake_busy = self.intake_busy
            thread = threading.Thread(target=worker.run_forever, name=f"worker-{len(self.workers)}", daemon=True)
            self.workers.append(worker)
            self.threads.append(thread)
            thread.start()
        if self.settings.redeliver_interval_seconds > 0:
            thread = threading.Thread(target=self._recovery_loop, name="recovery", daemon=True)
            self.threads.append(thread)
            thread.start()
        if self.settings.revalidate_interval_seconds > 0:
            thread = threading.Thread(target=self._revalidate_loop, name="revalidate-schedule", daemon=True)
            self.threads.append(thread)
            thread.start()
        if self.settings.rollout_guard_interval_seconds > 0:
            thread = threading.Thread(target=self._guard_loop, name="rollout-guard", daemon=True)
            self.threads.append(thread)
            thread.start()

    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))

    def _recovery_loop(self) -> None:
        # On start, every interval, and as soon as a worker finds the database back after an outage
        # (deliveries refused with 503 meanwhile are waiting on GitHub's side to be redelivered).
        github = self.github
        assert github is not None  # started by start_workers, which needs it
        while not self.stop_event.is_set():
            try:
                redeliver_failed(github, self.engine)
            except Exception as exc:
                log.warning("failed-delivery recovery pass did not complete: %s", exc)
            self.recover_now.wait(self.settings.redeliver_interval_seconds)
            self.recover_now.clear()

    clock: Callable[[], datetime] = utcnow  # what time the schedule is read at (tests move it)

    def _revalidate_loop(self) -> None:
        # Every process with workers looks; the firing is claimed once in the database, so one run is queued.
        while not self.stop_event.is_set():
            try:
                schedule_pass(self.github, self.engine, self.clock())  # type: ignore[arg-type]
            except Exception as exc:
                log.warning("re-validation schedule pass did not complete: %s", exc)
            self.stop_event.wait(self.settings.revalidate_interval_seconds)

    def _guard_loop(self) -> None:
        # The rollout guard: abort or advance every running rollout, each interval (bot/release/rollout.py).
        from bot.release.service import Release

        release = Release(self.engine, self.github, self.settings.github_web_url)  # type: ignore[arg-type]
        while not self.stop_event.wait(self.settings.rollout_guard_interval_seconds):
            try:
                release.guard_tick()
            except Exception as exc:
                log.warning("rollout guard pass did not complete: %s", exc)

    def stop(self) -> None:
        self.stop_event.set()
        self.recover_now.set()
        for worker in self.workers:
            worker.stop()
        for thread in self.threads:
            thread.join(timeout=30)

    def web_app(self, with_workers: bool):
        @asynccontextmanager
        async def lifespan(_app):
            self.start_workers()
            try:
                yield
            finally:
                self.stop()

        app = create_web_app(self.settings, self.engine, self.metrics, lifespan=lifespan if with_workers else None)
        if with_workers:  # one interpreter: the embedded workers give way to a burst of deliveries
            self.intake_busy = app.webhook.writer.busy
        return app


def build_service(settings: Settings, env: Mapping[str, str] | None = None, require_app: bool = True) -> Service:
    """Engine, migrations, metrics and the GitHub App client, from validated settings."""
    for secret in (settings.webhook_secret, settings.private_key):
        logs.register_secret(secret)
    engine = make_engine(settings.database_url)
    try:
        upgrade(engine)
    except SQLAlchemyError as exc:
        raise SettingsError(f"PROMPT_REVIEW_DATABASE_URL: cannot open or migrate the database ({type(exc).__name__}: {exc.__cause__ or exc})") from None
    metrics = Metrics()
    github = None
    if settings.app_id is not None and settings.private_key_pem():
        github = GitHubApp(
            settings.app_id,
            settings.private_key_pem(),  # type: ignore[arg-type]
            settings.github_api_url,
            timeout=settings.github_timeout_seconds,
            on_call=lambda method, endpoint, status: metrics.github_calls.labels(method, endpoint, str(status)).inc(),
        )
    return Service(settings=settings, engine=engine, metrics=metrics, github=github, env=dict(env if env is not None else os.environ))


def _freeze_startup_objects() -> None:
    """Exempt everything built at start (modules, the app, SQLAlchemy's tables) from the cyclic GC.
    Otherwise each full collection walks them all: pauses of 50–80 ms that set the service's p99 ack
    latency under load (bench/webhook_load.py, closed loop: p99 67 → 14 ms, 5.6k → 6.8k deliveries/s)."""
    gc.collect()
    gc.freeze()


def run(verb: str, host: str | None, port: int | None) -> int:
    try:
        settings = load_settings(require_app=False)
        if verb == "worker" or settings.app_id is not None or settings.private_key or settings.private_key_path:
            settings = load_settings(require_app=True)  # partly configured: say exactly what is missing
        if verb == "web" and not settings.webhook_secret:
            raise SettingsError(f"missing PROMPT_REVIEW_WEBHOOK_SECRET: without it every delivery would be refused ({SETUP_HINT})")
        logs.configure(settings.log_format, settings.log_level)
        service = build_service(settings)
    except SettingsError as exc:
        print(f"prompt-review {verb}: configuration error: {exc}", file=sys.stderr)
        return 2
    if verb == "serve" and not settings.configured:
        # A fresh install: serve /setup so the App can be created, but run no workers yet.
        log.warning("GitHub App not configured yet: open http://%s:%s/setup to create it", host or "127.0.0.1", port or 8000)
        verb = "web"
    _freeze_startup_objects()
    if verb == "worker":
        log.info("worker process started")
        service.start_workers()
        try:
            while not service.stop_event.wait(1.0):
                pass
        except KeyboardInterrupt:
            pass
        service.stop()
        return 0
    # Imported here, not at the top: `worker` serves no HTTP, and uvicorn adds ~50 ms of imports
    # (`python -X importtime -c "import fastapi, sqlalchemy; import uvicorn"`).
    import uvicorn

    app = service.web_app(with_workers=verb == "serve")
    uvicorn.run(app, host=host or "127.0.0.1", port=port or 8000, log_level=settings.log_level.lower(), access_log=False)
    return 0
