"""Rollups under concurrent writers, on SQLite and PostgreSQL: no update is lost when several processes'
requests add to the same series-minute at once, and a new series-minute created twice at once is one row."""

from __future__ import annotations

import threading
import time

from bot.release import telemetry
from bot.service.db import make_engine
from bot.service.migrate import upgrade

REPO = "acme/support-bot"


def batch(n: int, version: str = "aaaaaaaaaaaa") -> telemetry.Batch:
    now = time.time_ns()
    spans = [telemetry.SpanFacts({"prompt_review.prompt.path": "p.md", "prompt_review.prompt.version": version,
                                  "prompt_review.arm": "control", "gen_ai.usage.input_tokens": 2},
                                 [("task_success", 1.0, "")], now - 5_000_000, now, i % 10 == 0, (0, 0, i)) for i in range(n)]
    return telemetry.aggregate_spans(REPO, spans)


def test_concurrent_writers_lose_nothing(database_url):
    engine = make_engine(database_url)
    upgrade(engine)
    errors: list[Exception] = []

    def writer():
        try:
            for _ in range(10):
                telemetry.store_batch(engine, batch(50))
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=writer) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    rows = telemetry.rollups(engine, REPO)
    assert sum(r.calls for r in rows) == 3000 and sum(r.errors for r in rows) == 300
    assert sum(r.tokens_in for r in rows) == 6000
    assert sum(r.scores["task_success"]["n"] for r in rows) == 3000
    assert len(rows) <= 2  # one series; two rows only across a minute boundary
    engine.dispose()


def test_concurrent_writers_of_many_series_and_minutes_neither_deadlock_nor_lose_anything(database_url):
    """Each batch touches 12 series over two minutes — rows at three resolutions, some new, some shared
    with every other writer (the hour and day rows): the writers take their row locks in one order."""
    import random

    engine = make_engine(database_url)
    upgrade(engine)
    errors: list[Exception] = []
    base = (time.time_ns() // 3_600_000_000_000) * 3_600_000_000_000 + 10 * 60_000_000_000  # 10 minutes into an hour

    def many(seed: int) -> telemetry.Batch:
        rng = random.Random(seed)
        spans = []
        for i in range(60):
            series = rng.randrange(12)
            end = base + rng.randrange(2) * 60_000_000_000 + 1_000_000
            spans.append(telemetry.SpanFacts({"prompt_review.prompt.path": f"p{series % 4}.md",
                                              "prompt_review.prompt.version": f"{series:012x}",
                                              "prompt_review.arm": ("control", "candidate", "")[series % 3]},
                                             [("task_success", 1.0, "")], end - 5_000_000, end, False, (0, 0, i)))
        rng.shuffle(spans)
        return telemetry.aggregate_spans(REPO, spans)

    def writer(k: int):
        try:
            for j in range(8):
                telemetry.store_batch(engine, many(k * 100 + j))
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for resolution in telemetry.Resolution:
        rows = telemetry.rollups(engine, REPO, resolution=resolution)
        assert sum(r.calls for r in rows) == 6 * 8 * 60
        assert sum(r.scores["task_success"]["n"] for r in rows) == 6 * 8 * 60
    assert len(telemetry.rollups(engine, REPO, resolution=telemetry.Resolution.HOUR)) == 12
    engine.dispose()
