"""Where the prompt page's production metrics come from: a small interface, so the page does not know
how telemetry is stored. The rollups of the telemetry issue (per-minute, per prompt, version, model,
label and arm) plug in by implementing `MetricsSource`; until a source is wired, the page says that no
production metrics are recorded and shows the rest of the history."""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from typing import Protocol

from sqlalchemy import JSON, BigInteger, Float, String, column, func, select, table
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql.expression import TableClause

from bot.service.db import UTCDateTime
from bot.ui import rollup_levels
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
    """The telemetry rollups (bot/release/tables.py: one row per prompt, version, model, label, arm and
    minute; bot/ui/rollup_levels.py: the same per hour and per day) read into at most `buckets` points per
    (metric, version, arm). The chart spans the prompt's data inside the window, read from the coarsest
    level that still gives it enough points: a year is a few hundred day rows, three days are minutes."""

    def __init__(self, engine: Engine, levels: tuple[rollup_levels.Level, ...] | None = None):
        self.engine = engine
        self._levels = levels  # None: the levels whose tables this database has (looked up once)

    def levels(self) -> tuple[rollup_levels.Level, ...]:
        if self._levels is None:
            self._levels = rollup_levels.present(self.engine) or (rollup_levels.MINUTE,)
        return self._levels

    def span(self, conn: Connection, repo: str, path: str, start: datetime, end: datetime) -> tuple[datetime, datetime] | None:
        """Where the prompt's data starts and ends inside [start, end], found coarse to fine: each level
        narrows the window the next, finer one is asked about (a few rows each, never a year of minutes)."""
        lo, hi = start, end
        found = False
        for level in sorted(self.levels(), key=lambda lv: lv.width, reverse=True):
            t = _table(level.table)
            first, last = conn.execute(select(func.min(t.c.minute), func.max(t.c.minute))
                                       .where(t.c.repo == repo, t.c.path == path,
                                              t.c.minute >= _floor(lo, level.width), t.c.minute <= hi)).one()
            if first is None:
                return None if not found else (lo, hi)
            found = True
            lo, hi = max(lo, _utc(first)), min(hi, _utc(last) + level.width - timedelta(microseconds=1))
            if hi - lo > level.beyond and level.width > rollup_levels.MINUTE.width:
                break  # this level is fine enough for the span: no need to ask the finer ones
        return lo, hi

    def series(self, repo: str, path: str, start: datetime, end: datetime, buckets: int) -> list[Series]:
        start, end = _utc(start), _utc(end)
        with self.engine.connect() as conn:
            found = self.span(conn, repo, path, start, end)
            if found is None:
                return []
            lo, hi = found
            level = rollup_levels.for_span(hi - lo, self.levels())
            lo = _floor(lo, level.width)
            width = level.width.total_seconds()
            step = max(1, math.ceil((hi - lo).total_seconds() / max(1, buckets) / width)) * width
            t = _table(level.table)
            rows = conn.execute(select(t.c.version, t.c.arm, t.c.minute, t.c.calls, t.c.errors, t.c.latency_n,
                                       t.c.latency_sum, t.c.scores)
                                .where(t.c.repo == repo, t.c.path == path, t.c.minute >= lo, t.c.minute <= hi)).all()
        sums: dict[tuple[str, str, int], dict[str, float]] = defaultdict(lambda: defaultdict(float))
        origin = lo.timestamp()
        for version, arm, minute, calls, errors, lat_n, lat_sum, scores in rows:
            b = int((_utc(minute).timestamp() - origin) // step)
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
            at = lo + timedelta(seconds=b * step)
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


def _table(name: str) -> TableClause:
    """A rollups level by name: the three tables share their columns."""
    return table(name, column("repo", String()), column("path", String()), column("version", String()),
                 column("arm", String()), column("minute", UTCDateTime()), column("calls", BigInteger()),
                 column("errors", BigInteger()), column("latency_n", BigInteger()), column("latency_sum", Float()),
                 column("scores", JSON()))


def _floor(at: datetime, width: timedelta) -> datetime:
    seconds = int(width.total_seconds())
    return datetime.fromtimestamp(int(at.timestamp()) // seconds * seconds, timezone.utc)


def _utc(at: datetime) -> datetime:
    return at.replace(tzinfo=timezone.utc) if at.tzinfo is None else at.astimezone(timezone.utc)
