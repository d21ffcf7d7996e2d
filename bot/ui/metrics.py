"""Where the prompt page's production metrics come from: a small interface, so the page does not know
how telemetry is stored. The rollups of the telemetry issue (per-minute, per prompt, version, model,
label and arm) plug in by implementing `MetricsSource`; until a source is wired, the page says that no
production metrics are recorded and shows the rest of the history."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta, timezone
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bot.release.tables import Rollup
from bot.ui.timeline import Point, Series

METRICS = ("volume", "error_rate", "latency_ms")  # then every score the app reports, by name


class MetricsSource(Protocol):
    def series(self, repo: str, path: str, start: datetime, end: datetime, buckets: int) -> list[Series]:
        """Per (metric, version, arm) series of `path` between `start` and `end`, aggregated into at most
        `buckets` points (a year of minutes must not reach the browser as 525,600 points). Naive times are
        taken as UTC. A source should keep coarser roll-ups (hour, day) and read the coarsest whose step fits a bucket:
        aggregating a year of minute rows on each page view takes seconds."""
        ...


class NoMetrics:
    """No telemetry recorded (or no rollups table in this database yet)."""

    def series(self, repo: str, path: str, start: datetime, end: datetime, buckets: int) -> list[Series]:
        return []


class StaticMetrics:
    """Series given up front (tests, demos): filtered to the prompt and the window."""

    def __init__(self, by_prompt: dict[tuple[str, str], list[Series]]):
        self.by_prompt = by_prompt

    def series(self, repo: str, path: str, start: datetime, end: datetime, buckets: int) -> list[Series]:
        out = []
        for s in self.by_prompt.get((repo, path), []):
            points = tuple(p for p in s.points if start <= p.at <= end)
            out.append(s.model_copy(update={"points": points}))
        return out


class RollupMetrics:
    """The telemetry rollups (bot/release/tables.py, one row per prompt, version, model, label, arm and
    minute) read into at most `buckets` points per (metric, version, arm). Minute rows are summed per
    bucket in SQL-side order; a year of minutes for one prompt is read in one query."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def series(self, repo: str, path: str, start: datetime, end: datetime, buckets: int) -> list[Series]:
        start, end = _utc(start), _utc(end)
        step = max((end - start).total_seconds() / max(1, buckets), 60.0)
        with Session(self.engine) as session:
            rows = session.execute(
                select(Rollup.version, Rollup.arm, Rollup.minute, Rollup.calls, Rollup.errors, Rollup.latency_n,
                       Rollup.latency_sum, Rollup.scores)
                .where(Rollup.repo == repo, Rollup.path == path, Rollup.minute >= start, Rollup.minute <= end)
            ).all()
        sums: dict[tuple[str, str, int], dict[str, float]] = defaultdict(lambda: defaultdict(float))
        for version, arm, minute, calls, errors, lat_n, lat_sum, scores in rows:
            b = int((_utc(minute) - start).total_seconds() // step)
            acc = sums[(version, arm, b)]
            acc["calls"] += calls
            acc["errors"] += errors
            acc["lat_n"] += lat_n
            acc["lat_sum"] += lat_sum
            for name, s in (scores or {}).items():
                if isinstance(s, dict):
                    acc[f"score_n:{name}"] += float(s.get("n", 0))
                    acc[f"score_sum:{name}"] += float(s.get("sum", 0.0))
        points: dict[tuple[str, str, str], list[Point]] = defaultdict(list)
        for (version, arm, b), acc in sorted(sums.items()):
            at = start + timedelta(seconds=b * step)
            key = (version, arm)
            points[("volume", *key)].append(Point(at, acc["calls"]))
            if acc["calls"]:
                points[("error_rate", *key)].append(Point(at, acc["errors"] / acc["calls"]))
            if acc["lat_n"]:
                points[("latency_ms", *key)].append(Point(at, acc["lat_sum"] / acc["lat_n"]))
            for name in [k.split(":", 1)[1] for k in acc if k.startswith("score_n:")]:
                if acc[f"score_n:{name}"]:
                    points[(name, *key)].append(Point(at, acc[f"score_sum:{name}"] / acc[f"score_n:{name}"]))
        return [Series(metric=m, version=v, arm=a or None, points=tuple(p)) for (m, v, a), p in points.items()]


def _utc(at: datetime) -> datetime:
    return at.replace(tzinfo=timezone.utc) if at.tzinfo is None else at.astimezone(timezone.utc)
