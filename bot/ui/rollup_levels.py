"""The telemetry rollups at three levels — per minute (`telemetry_rollups`), per hour and per day — and
which one a chart reads. The hour and day tables have exactly the minute table's columns; their bucket
column keeps the name `minute` and holds the start of the hour or day (UTC). Ingestion writes all three in
one transaction; a chart of a year reads 365 day rows instead of 525,600 minute rows.

The tables are bot.release.tables' RollupHour and RollupDay (migrations 0005, 0006). `rebuild_coarse` exists
for tests and bench/ui.py, which write minute rows directly and fill the coarse tables from them."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import cast

from sqlalchemy import Table, delete, insert, inspect, select
from sqlalchemy.engine import Engine

from bot.release.tables import Rollup, RollupDay, RollupHour


@dataclass(frozen=True)
class Level:
    table: str
    width: timedelta  # one row's bucket
    beyond: timedelta  # read this level when the chart spans more than this


MINUTE = Level("telemetry_rollups", timedelta(minutes=1), timedelta(0))
HOUR = Level("telemetry_rollups_hour", timedelta(hours=1), timedelta(days=3))
DAY = Level("telemetry_rollups_day", timedelta(days=1), timedelta(days=60))
LEVELS = (MINUTE, HOUR, DAY)  # finest first


def for_span(span: timedelta, available: tuple[Level, ...] = LEVELS) -> Level:
    """The coarsest level that still gives the chart enough points for `span` (> 3 days: hours,
    > 60 days: days), among the levels this database has."""
    fitting = [lv for lv in available if span > lv.beyond] or [MINUTE]
    return max(fitting, key=lambda lv: lv.width)


def present(engine: Engine) -> tuple[Level, ...]:
    """The levels whose table exists in this database (a database migrated before the coarse tables were
    added still charts, from minute rows)."""
    names = set(inspect(engine).get_table_names())
    return tuple(lv for lv in LEVELS if lv.table in names)


# --- for tests and the bench (the service fills these tables at ingestion; migration 0005 backfilled them) ---

COARSE_TABLES = (cast(Table, RollupHour.__table__), cast(Table, RollupDay.__table__))  # declared as FromClause
SUMMED = ("calls", "errors", "latency_n", "latency_sum", "latency_sumsq", "tokens_in", "tokens_out", "cost_usd")


def rebuild_coarse(engine: Engine) -> None:
    """Fill the hour and day tables from the minute rows (SQLite; tests and bench). Latency histograms and
    scores are summed in Python per bucket, as ingestion does."""
    for level, table in ((HOUR, COARSE_TABLES[0]), (DAY, COARSE_TABLES[1])):
        seconds = int(level.width.total_seconds())
        rows: dict[tuple, dict] = {}
        with engine.connect() as conn:
            for r in conn.execute(select(Rollup.__table__)).mappings():
                at = r["minute"] if r["minute"].tzinfo else r["minute"].replace(tzinfo=timezone.utc)
                start = datetime.fromtimestamp(int(at.timestamp()) // seconds * seconds, timezone.utc)
                key = (r["repo"], r["path"], r["version"], r["model"], r["label"], r["arm"], start)
                acc = rows.setdefault(key, {"calls": 0, "errors": 0, "latency_n": 0, "latency_sum": 0.0,
                                            "latency_sumsq": 0.0, "latency_hist": [], "tokens_in": 0, "tokens_out": 0,
                                            "cost_usd": 0.0, "scores": defaultdict(lambda: {"n": 0, "sum": 0.0, "sumsq": 0.0}),
                                            "fingerprints": set()})
                for name in SUMMED:
                    acc[name] += r[name]
                hist = list(r["latency_hist"] or [])
                acc["latency_hist"] = [a + b for a, b in zip(acc["latency_hist"], hist)] if acc["latency_hist"] else hist
                for name, sc in (r["scores"] or {}).items():
                    for part in ("n", "sum", "sumsq"):
                        acc["scores"][name][part] += sc.get(part, 0)
                acc["fingerprints"] |= set(r["fingerprints"] or [])
        with engine.begin() as c:
            c.execute(delete(table))
            if rows:
                c.execute(insert(table), [
                    {"repo": k[0], "path": k[1], "version": k[2], "model": k[3], "label": k[4], "arm": k[5], "minute": k[6],
                     **{n: v for n, v in acc.items() if n not in ("scores", "fingerprints")},
                     "scores": dict(acc["scores"]), "fingerprints": sorted(acc["fingerprints"])}
                    for k, acc in rows.items()])
