"""`serve` runs web and workers in one interpreter: while deliveries wait to be stored, the embedded
workers hold back, so acknowledging deliveries comes before reviewing them — but never for longer
than max_yield_seconds at a time, so a flood delays reviews and cannot stop them."""

from __future__ import annotations

import threading
import time

from bot.service.metrics import Metrics
from bot.service.run import build_service
from bot.service.worker import Worker
from tests.service.harness import settings_for, wait_for


class _Polls:
    """Stands in for the worker's claim: records when the worker went looking for a job."""

    def __init__(self):
        self.at: list[float] = []

    def __call__(self) -> bool:
        self.at.append(time.monotonic())
        return False


def _worker(tmp_path, busy: threading.Event, max_yield: float) -> tuple[Worker, _Polls, threading.Thread]:
    settings = settings_for(f"sqlite:///{tmp_path / 'w.db'}", "http://127.0.0.1:9", "unused")
    worker = Worker(settings, engine=None, app=None, metrics=Metrics(), env={})  # type: ignore[arg-type]
    polls = _Polls()
    worker.run_once = polls  # type: ignore[method-assign]
    worker.intake_busy = busy.is_set
    worker.max_yield_seconds = max_yield
    thread = threading.Thread(target=worker.run_forever, daemon=True)
    return worker, polls, thread


def test_workers_claim_nothing_while_deliveries_wait_and_resume_when_intake_is_quiet(tmp_path):
    busy = threading.Event()
    busy.set()
    worker, polls, thread = _worker(tmp_path, busy, max_yield=30.0)
    thread.start()
    try:
        time.sleep(0.5)  # the poll interval is 0.05 s: an unrestrained worker would have looked ~10 times
        assert polls.at == []
        quiet_from = time.monotonic()
        busy.clear()
        wait_for(lambda: len(polls.at) >= 3, timeout=5, what="the worker looking for work again")
        assert polls.at[0] >= quiet_from
    finally:
        worker.stop()
        thread.join(timeout=5)


def test_a_flood_of_deliveries_delays_reviews_but_cannot_stop_them(tmp_path):
    busy = threading.Event()
    busy.set()  # and never cleared
    worker, polls, thread = _worker(tmp_path, busy, max_yield=0.2)
    started = time.monotonic()
    thread.start()
    try:
        wait_for(lambda: len(polls.at) >= 3, timeout=10, what="the worker looking for work despite the flood")
        gaps = [b - a for a, b in zip([started, *polls.at], polls.at)]
        assert all(gap >= 0.15 for gap in gaps), gaps  # each look for work came after holding back
    finally:
        worker.stop()
        thread.join(timeout=5)


def test_serve_wires_its_embedded_workers_to_the_webhook_writer(tmp_path):
    service = build_service(settings_for(f"sqlite:///{tmp_path / 's.db'}", "http://127.0.0.1:9", "unused"), env={},
                            require_app=False)
    try:
        app = service.web_app(with_workers=True)
        assert service.intake_busy is not None and service.intake_busy.__self__ is app.webhook.writer
        web_only = build_service(settings_for(f"sqlite:///{tmp_path / 'w.db'}", "http://127.0.0.1:9", "unused"), env={},
                                 require_app=False)
        web_only.web_app(with_workers=False)
        assert web_only.intake_busy is None  # `web` has no workers to hold back
        web_only.engine.dispose()
    finally:
        service.engine.dispose()
