"""Rollups at three resolutions, on SQLite and PostgreSQL: every batch lands in the minute, hour and day
tables in one transaction (the coarser rows are the sums of the finer ones, histograms and scores
included); a query's span picks the table; a database that already holds minute rollups gets its hour and
day rows from them when it is migrated, and migrating again rebuilds the same rows."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from alembic import command
from sqlalchemy import insert, text

from bot.release import telemetry
from bot.release.tables import Rollup, RollupDay
from bot.ui import rollup_levels
from bot.service.db import make_engine
from bot.service.migrate import alembic_config, upgrade

REPO = "acme/support-bot"
M, H, D = telemetry.Resolution.MINUTE, telemetry.Resolution.HOUR, telemetry.Resolution.DAY
# five minutes: two in one hour, one in the next hour of the same day, two in different hours of the next day
TIMES = [datetime(2026, 3, 1, 10, 5, 30, tzinfo=timezone.utc), datetime(2026, 3, 1, 10, 59, 1, tzinfo=timezone.utc),
         datetime(2026, 3, 1, 11, 0, 0, tzinfo=timezone.utc), datetime(2026, 3, 2, 0, 0, 59, tzinfo=timezone.utc),
         datetime(2026, 3, 2, 23, 59, 59, tzinfo=timezone.utc)]


def utc(t: datetime) -> datetime:
    """SQLite gives the stored UTC times back without a zone."""
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)


def ns(t: datetime) -> int:
    return int(t.timestamp()) * 1_000_000_000


def spans(at: datetime, n: int, arm: str = "control", fingerprint: str = "fp_a") -> list[telemetry.SpanFacts]:
    """n calls ending at `at`, latencies 5…(5+40n) ms, every third an error, task_success alternating."""
    return [telemetry.SpanFacts({"prompt_review.prompt.path": "p.md", "prompt_review.prompt.version": "aaaaaaaaaaaa",
                                 "prompt_review.arm": arm, "gen_ai.usage.input_tokens": 3,
                                 "gen_ai.openai.response.system_fingerprint": fingerprint},
                                [("task_success", float(i % 2), ""), ("thumbs", 0.25, "")][: 1 + i % 2],
                                ns(at) - (5 + 40 * i) * 1_000_000, ns(at), i % 3 == 0, (0, 0, i)) for i in range(n)]


def store(engine, at: datetime, n: int, **kw) -> None:
    telemetry.store_batch(engine, telemetry.aggregate_spans(REPO, spans(at, n, **kw)))


def totals(rows) -> dict:
    """What every resolution must agree on, summed over its rows."""
    out: dict = {"calls": 0, "errors": 0, "latency_n": 0, "tokens_in": 0, "hist": [0] * 12, "scores": {}, "fp": set()}
    for r in rows:
        out["calls"] += r.calls
        out["errors"] += r.errors
        out["latency_n"] += r.latency_n
        out["tokens_in"] += r.tokens_in
        out["hist"] = [a + b for a, b in zip(out["hist"], r.latency_hist)]
        for name, s in r.scores.items():
            cur = out["scores"].setdefault(name, [0, 0.0, [0] * 10])
            cur[0] += s["n"]
            cur[1] = round(cur[1] + s["sum"], 9)
            cur[2] = [a + b for a, b in zip(cur[2], s["hist"])]
        out["fp"] |= set(r.fingerprints)
    return out


def test_every_batch_is_written_per_minute_hour_and_day(database_url):
    engine = make_engine(database_url)
    upgrade(engine)
    for i, t in enumerate(TIMES):
        store(engine, t, 4 + i, fingerprint=f"fp_{i % 2}")
    store(engine, TIMES[0], 3, arm="candidate")  # another series in the same minute
    minutes, hours, days = (telemetry.rollups(engine, REPO, resolution=r) for r in (M, H, D))
    assert len(minutes) == 6 and len(hours) == 5 and len(days) == 3
    assert [(utc(r.minute), r.arm, r.calls) for r in hours] == [
        (datetime(2026, 3, 1, 10, tzinfo=timezone.utc), "candidate", 3),
        (datetime(2026, 3, 1, 10, tzinfo=timezone.utc), "control", 4 + 5),
        (datetime(2026, 3, 1, 11, tzinfo=timezone.utc), "control", 6),
        (datetime(2026, 3, 2, 0, tzinfo=timezone.utc), "control", 7),
        (datetime(2026, 3, 2, 23, tzinfo=timezone.utc), "control", 8)]
    assert [(utc(r.minute), r.arm, r.calls) for r in days] == [
        (datetime(2026, 3, 1, tzinfo=timezone.utc), "candidate", 3),
        (datetime(2026, 3, 1, tzinfo=timezone.utc), "control", 4 + 5 + 6),
        (datetime(2026, 3, 2, tzinfo=timezone.utc), "control", 7 + 8)]
    assert totals(minutes) == totals(hours) == totals(days)
    assert totals(days)["calls"] == 33 and totals(days)["fp"] == {"fp_0", "fp_1", "fp_a"}
    assert totals(days)["scores"]["thumbs"][0] > 0
    # a second batch into existing rows adds to all three (counters, histograms, scores)
    store(engine, TIMES[1], 10)
    minutes, hours, days = (telemetry.rollups(engine, REPO, resolution=r) for r in (M, H, D))
    assert totals(minutes) == totals(hours) == totals(days) and totals(days)["calls"] == 43
    engine.dispose()


def test_nothing_is_partially_stored_when_one_resolution_cannot_be_written(database_url):
    engine = make_engine(database_url)
    upgrade(engine)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE telemetry_rollups_day"))
    with pytest.raises(Exception):
        store(engine, TIMES[0], 5)
    assert telemetry.rollups(engine, REPO, resolution=M) == []
    assert telemetry.rollups(engine, REPO, resolution=H) == []
    engine.dispose()


def test_the_span_of_a_chart_picks_the_level():
    pick = lambda days, levels=rollup_levels.LEVELS: rollup_levels.for_span(timedelta(days=days), levels).table  # noqa: E731
    assert pick(0) == pick(1) == pick(3) == "telemetry_rollups"
    assert pick(3.01) == pick(30) == pick(60) == "telemetry_rollups_hour"
    assert pick(60.01) == pick(3650) == "telemetry_rollups_day"
    assert pick(-1) == "telemetry_rollups"
    assert pick(365, (rollup_levels.MINUTE,)) == "telemetry_rollups"  # a database migrated before the coarse tables
    assert pick(365, (rollup_levels.MINUTE, rollup_levels.HOUR)) == "telemetry_rollups_hour"


def test_buckets_start_at_the_minute_hour_and_day():
    start = datetime(2025, 6, 1, 12, 34, tzinfo=timezone.utc)
    assert telemetry.bucket_start(start, H) == datetime(2025, 6, 1, 12, tzinfo=timezone.utc)
    assert telemetry.bucket_start(start, D) == datetime(2025, 6, 1, tzinfo=timezone.utc)
    assert telemetry.bucket_start(start.replace(second=59), M) == start


def _minute_row(t: datetime, arm: str, calls: int, score: float) -> dict:
    hist = [0] * 12
    hist[3] = calls
    return {"repo": REPO, "path": "p.md", "version": "aaaaaaaaaaaa", "model": "m", "label": "production", "arm": arm,
            "minute": t.replace(second=0), "calls": calls, "errors": 1, "latency_n": calls, "latency_sum": 80.0 * calls,
            "latency_sumsq": 6400.0 * calls, "latency_hist": hist, "tokens_in": 10, "tokens_out": 2, "cost_usd": 0.5,
            "scores": {"task_success": {"n": calls, "sum": score * calls, "sumsq": score * calls,
                                        "hist": [0] * 9 + [calls]}}, "fingerprints": [f"fp_{calls % 3}"]}


def test_a_database_with_minute_rollups_gets_its_hour_and_day_rows_when_migrated_and_again_the_same(database_url):
    engine = make_engine(database_url)
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0004")  # a database from before the hour and day tables
        connection.execute(insert(Rollup.__table__), [_minute_row(t, arm, 5 + i, 1.0)
                                                      for i, t in enumerate(TIMES) for arm in ("control", "candidate")])
    upgrade(engine)
    minutes, hours, days = (telemetry.rollups(engine, REPO, resolution=r) for r in (M, H, D))
    assert len(minutes) == 10 and len(hours) == 10 - 2 and len(days) == 4
    assert totals(minutes) == totals(hours) == totals(days)
    assert [(utc(r.minute), r.arm, r.calls, r.errors, r.cost_usd) for r in days if r.arm == "control"] == [
        (datetime(2026, 3, 1, tzinfo=timezone.utc), "control", 5 + 6 + 7, 3, 1.5),
        (datetime(2026, 3, 2, tzinfo=timezone.utc), "control", 8 + 9, 2, 1.0)]
    before = [(type(r).__name__, r.minute, r.arm, r.calls, r.latency_hist, r.scores, r.fingerprints) for r in hours + days]

    with engine.begin() as connection:  # down and up again: the backfill rebuilds, it does not add twice
        config.attributes["connection"] = connection
        command.downgrade(config, "0004")
    upgrade(engine)
    hours, days = (telemetry.rollups(engine, REPO, resolution=r) for r in (H, D))
    assert [(type(r).__name__, r.minute, r.arm, r.calls, r.latency_hist, r.scores, r.fingerprints)
            for r in hours + days] == before
    # and ingestion goes on adding to the backfilled rows
    store(engine, TIMES[0], 4)
    assert sum(r.calls for r in telemetry.rollups(engine, REPO, resolution=D)) == totals(days)["calls"] + 4
    assert isinstance(days[0], RollupDay)
    engine.dispose()
