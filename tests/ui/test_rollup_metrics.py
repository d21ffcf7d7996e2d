"""The prompt page's production metrics come from the telemetry rollups: spans ingested for a prompt
version show up as volume, error rate, latency and score series per version and arm."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

from bot.release import telemetry
from bot.service.db import make_engine
from bot.service.migrate import upgrade
from bot.ui.metrics import RollupMetrics

REPO = "acme/support-bot"


def _spans(n: int, version: str, arm: str, success: float, errors_every: int) -> telemetry.Batch:
    now = time.time_ns()
    spans = [telemetry.SpanFacts({"prompt_review.prompt.path": "p.md", "prompt_review.prompt.version": version,
                                  "prompt_review.arm": arm}, [("task_success", success, "")],
                                 now - 20_000_000, now, i % errors_every == 0, (0, 0, i)) for i in range(n)]
    return telemetry.aggregate_spans(REPO, spans)


def test_rollups_become_per_version_series_for_the_prompt_page(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    upgrade(engine)
    telemetry.store_batch(engine, _spans(40, "aaaaaaaaaaaa", "control", 1.0, 10))
    telemetry.store_batch(engine, _spans(10, "bbbbbbbbbbbb", "candidate", 0.0, 2))
    now = datetime.now(timezone.utc)
    series = RollupMetrics(engine).series(REPO, "p.md", now - timedelta(hours=1), now + timedelta(minutes=1), 60)
    by = {(s.metric, s.version): s for s in series}
    assert sum(p.value for p in by[("volume", "aaaaaaaaaaaa")].points) == 40
    assert sum(p.value for p in by[("volume", "bbbbbbbbbbbb")].points) == 10
    assert by[("error_rate", "bbbbbbbbbbbb")].points[0].value == 0.5
    assert by[("task_success", "aaaaaaaaaaaa")].points[0].value == 1.0
    assert by[("task_success", "bbbbbbbbbbbb")].points[0].value == 0.0
    assert by[("latency_ms", "aaaaaaaaaaaa")].points[0].value > 0
    assert {s.arm for s in series if s.version == "bbbbbbbbbbbb"} == {"candidate"}
    assert RollupMetrics(engine).series(REPO, "other.md", now - timedelta(hours=1), now, 60) == []
