"""Where the prompt page's production metrics come from: a small interface, so the page does not know
how telemetry is stored. The rollups of the telemetry issue (per-minute, per prompt, version, model,
label and arm) plug in by implementing `MetricsSource`; until a source is wired, the page says that no
production metrics are recorded and shows the rest of the history."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Protocol

import pydantic_core
from sqlalchemy import BigInteger, Float, String, and_, column, func, or_, select, table
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


MAX_SERIES = 64  # (version, model, label, arm) of one prompt read one by one; past it, one range read


@dataclass(frozen=True)
class Span:
    start: datetime
    end: datetime
    series: list[tuple[str, str, str, str]] | None  # (version, model, label, arm) inside it; None: not known


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

    def span(self, conn: Connection, repo: str, path: str, start: datetime, end: datetime) -> Span | None:
        """Where the prompt's data starts and ends inside [start, end] and which series it has, found coarse
        to fine among the hour and day levels: each narrows the window the next is asked about. The minute
        table is asked only when there are no coarser ones (its indexes lead with the series, not the minute:
        a range of minutes over all of a prompt's series is a scan of every minute it ever had)."""
        lo, hi = start, end
        coarse = sorted((lv for lv in self.levels() if lv.width > rollup_levels.MINUTE.width), key=lambda lv: lv.width,
                        reverse=True) or [rollup_levels.MINUTE]
        for level in coarse:
            t = _table(level.table)
            first, last = conn.execute(select(func.min(t.c.minute), func.max(t.c.minute))
                                       .where(t.c.repo == repo, t.c.path == path,
                                              t.c.minute >= _floor(lo, level.width), t.c.minute <= hi)).one()
            if first is None:
                return None
            lo, hi = max(lo, _utc(first)), min(hi, _utc(last) + level.width - timedelta(microseconds=1))
            if hi - lo > level.beyond:
                break  # this level is fine enough for the span: no need to ask the finer ones
        if level is rollup_levels.MINUTE:
            return Span(lo, hi, None)
        keys = conn.execute(select(t.c.version, t.c.model, t.c.label, t.c.arm).distinct()
                            .where(t.c.repo == repo, t.c.path == path, t.c.minute >= _floor(lo, level.width),
                                   t.c.minute <= hi).limit(MAX_SERIES + 1)).all()
        return Span(lo, hi, [tuple(k) for k in keys] if len(keys) <= MAX_SERIES else None)

    def series(self, repo: str, path: str, start: datetime, end: datetime, buckets: int) -> list[Series]:
        start, end = _utc(start), _utc(end)
        with self.engine.connect() as conn:
            found = self.span(conn, repo, path, start, end)
            if found is None:
                return []
            lo, hi = found.start, found.end
            level = rollup_levels.for_span(hi - lo, self.levels())
            lo = _floor(lo, level.width)
            width = level.width.total_seconds()
            step = max(1, math.ceil((hi - lo).total_seconds() / max(1, buckets) / width)) * width
            t = _table(level.table)
            which = [t.c.repo == repo, t.c.path == path, t.c.minute >= lo, t.c.minute <= hi]
            if found.series is not None:  # each series a seek on the unique index (…, arm, minute)
                which.append(or_(*[and_(t.c.version == v, t.c.model == m, t.c.label == la, t.c.arm == a)
                                   for v, m, la, a in found.series]))
            rows = conn.execute(select(t.c.version, t.c.arm, t.c.minute, t.c.calls, t.c.errors, t.c.latency_n,
                                       t.c.latency_sum, t.c.scores).where(*which)).all()
        sums: dict[tuple[str, str, int], _Bucket] = {}
        origin = lo.timestamp()
        for version, arm, minute, calls, errors, lat_n, lat_sum, scores in rows:
            key = (version, arm, int((minute.timestamp() - origin) // step))  # aware: UTCDateTime
            acc = sums.get(key)
            if acc is None:
                acc = sums[key] = _Bucket()
            acc.calls += calls
            acc.errors += errors
            acc.lat_n += lat_n
            acc.lat_sum += lat_sum
            if scores:
                for name, sc in _scores(scores).items():
                    if isinstance(sc, dict):
                        both = acc.scores.setdefault(name, [0.0, 0.0])
                        both[0] += float(sc.get("n", 0))
                        both[1] += float(sc.get("sum", 0.0))
        points: dict[tuple[str, str, str], list[Point]] = defaultdict(list)
        for (version, arm, b), acc in sorted(sums.items()):
            at = lo + timedelta(seconds=b * step)
            points[("volume", version, arm)].append(Point(at, acc.calls))
            if acc.calls:
                points[("error_rate", version, arm)].append(Point(at, acc.errors / acc.calls))
            if acc.lat_n:
                points[("latency_ms", version, arm)].append(Point(at, acc.lat_sum / acc.lat_n))
            for name, (n, total) in acc.scores.items():
                if n:
                    points[(name, version, arm)].append(Point(at, total / n))
        return [Series(metric=m, version=v, arm=a or None, points=tuple(p)) for (m, v, a), p in points.items()]


class _Bucket:
    """One (version, arm) in one chart bucket: summed over the rows (minutes, models, labels) that fall in it."""

    __slots__ = ("calls", "errors", "lat_n", "lat_sum", "scores")

    def __init__(self) -> None:
        self.calls, self.errors, self.lat_n, self.lat_sum = 0, 0, 0, 0.0
        self.scores: dict[str, list[float]] = {}  # name → [n, sum]


def _table(name: str) -> TableClause:
    """A rollups level by name: the three tables share their columns."""
    return table(name, column("repo", String()), column("path", String()), column("version", String()),
                 column("model", String()), column("label", String()), column("arm", String()), column("minute", UTCDateTime()), column("calls", BigInteger()),
                 column("errors", BigInteger()), column("latency_n", BigInteger()), column("latency_sum", Float()),
                 column("scores", String()))  # decoded by _scores: the stdlib's json.loads was a third of a page


def _scores(value: str | dict) -> dict:
    """A row's scores: text on SQLite, already a dict where the driver decodes JSON (psycopg)."""
    if isinstance(value, dict):
        return value
    try:
        found = pydantic_core.from_json(value)
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def _floor(at: datetime, width: timedelta) -> datetime:
    seconds = int(width.total_seconds())
    return datetime.fromtimestamp(int(at.timestamp()) // seconds * seconds, timezone.utc)


def _utc(at: datetime) -> datetime:
    return at.replace(tzinfo=timezone.utc) if at.tzinfo is None else at.astimezone(timezone.utc)
