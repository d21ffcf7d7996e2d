"""The prompt page's production metrics come from the telemetry rollups: spans ingested for a prompt
version show up as volume, error rate, latency and score series per version and arm."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

from sqlalchemy import update
from sqlalchemy.orm import Session

from bot.release import telemetry
from bot.release.tables import Rollup
from bot.service.db import make_engine
from bot.service.migrate import upgrade
from bot.ui import rollup_levels
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


def _row(at: datetime, version: str, calls: int, success: float) -> Rollup:
    return Rollup(repo=REPO, path="p.md", version=version, model="gpt-4o", label="production", arm="", minute=at,
                  calls=calls, errors=1, latency_n=calls, latency_sum=calls * 400.0, latency_sumsq=0.0, latency_hist=[],
                  tokens_in=0, tokens_out=0, cost_usd=0.0, fingerprints=[],
                  scores={"task_success": {"n": calls, "sum": calls * success, "sumsq": 0.0}})


def _engine_with(url: str, rows: list[Rollup], coarse: bool = True):
    engine = make_engine(url)
    upgrade(engine)
    if not coarse:  # a database as it was before migration 0005
        with engine.begin() as c:
            for t in rollup_levels.COARSE_TABLES:
                t.drop(c)
    with Session(engine) as s, s.begin():
        s.add_all(rows)
    if coarse:
        rollup_levels.rebuild_coarse(engine)
    return engine


NOW = datetime(2026, 6, 1, tzinfo=timezone.utc)


def test_a_long_chart_reads_the_day_rollups_and_keeps_every_call(database_url):
    # 200 days with one busy minute each at 06:00 and 18:00: the minute table alone cannot say how a bucket
    # of days sums without reading every minute; the day table holds the same totals in 200 rows.
    rows = [_row(NOW - timedelta(days=d, hours=h), "aaaaaaaaaaaa" if d > 100 else "bbbbbbbbbbbb", 10, 0.9)
            for d in range(1, 201) for h in (6, 18)]
    engine = _engine_with(database_url, rows)
    day = rollup_levels.COARSE_TABLES[1]
    with engine.begin() as c:  # the day table is what is read: change it and the chart follows
        c.execute(update(day).where(day.c.minute == datetime(2026, 5, 27, tzinfo=timezone.utc)).values(calls=day.c.calls + 1000))
    series = RollupMetrics(engine).series(REPO, "p.md", NOW - timedelta(days=365), NOW, 360)
    volume = {s.version: s for s in series if s.metric == "volume"}
    assert sum(p.value for s in volume.values() for p in s.points) == 200 * 2 * 10 + 1000
    steps = {b.at - a.at for s in volume.values() for a, b in zip(s.points, s.points[1:])}
    assert min(steps) >= timedelta(days=1)
    assert volume["aaaaaaaaaaaa"].points[0].at >= NOW - timedelta(days=201)  # the chart starts where the data does
    success = [s for s in series if s.metric == "task_success"]
    assert all(abs(p.value - 0.9) < 1e-9 for s in success for p in s.points)


def test_a_few_days_of_data_are_charted_by_the_hour_and_two_days_by_the_minute(database_url):
    rows = [_row(NOW - timedelta(minutes=m), "aaaaaaaaaaaa", 5, 1.0) for m in range(0, 10 * 24 * 60, 30)]
    engine = _engine_with(database_url, rows)
    ten_days = RollupMetrics(engine).series(REPO, "p.md", NOW - timedelta(days=365), NOW + timedelta(minutes=1), 360)
    volume = next(s for s in ten_days if s.metric == "volume")
    assert 100 <= len(volume.points) <= 360 and sum(p.value for p in volume.points) == len(rows) * 5
    assert {b.at - a.at for a, b in zip(volume.points, volume.points[1:])} == {timedelta(hours=1)}
    two_days = RollupMetrics(engine).series(REPO, "p.md", NOW - timedelta(days=2), NOW + timedelta(minutes=1), 360)
    volume = next(s for s in two_days if s.metric == "volume")
    assert max(b.at - a.at for a, b in zip(volume.points, volume.points[1:])) < timedelta(hours=1)  # minute rows
    assert sum(p.value for p in volume.points) == 5 * (2 * 24 * 2 + 1)


def test_without_the_coarse_tables_the_chart_is_read_from_minute_rows(database_url):
    rows = [_row(NOW - timedelta(days=d), "aaaaaaaaaaaa", 3, 0.5) for d in range(1, 90)]
    engine = _engine_with(database_url, rows, coarse=False)
    series = RollupMetrics(engine).series(REPO, "p.md", NOW - timedelta(days=365), NOW, 360)
    volume = next(s for s in series if s.metric == "volume")
    assert sum(p.value for p in volume.points) == 89 * 3

