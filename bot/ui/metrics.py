"""Where the prompt page's production metrics come from: a small interface, so the page does not know
how telemetry is stored. The rollups of the telemetry issue (per-minute, per prompt, version, model,
label and arm) plug in by implementing `MetricsSource`; until a source is wired, the page says that no
production metrics are recorded and shows the rest of the history."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from bot.ui.timeline import Series

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
