"""A prompt's history as typed data: one timeline of versions, reviews, deployments, label moves and
model changes, the series charted over it, and the shifts in those series with the change each lines
up with. Pure: the web pages and `prompt-review history` build it from storage or git, then render it."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from enum import Enum

from typing import Annotated, NamedTuple

from pydantic import AfterValidator, BaseModel, ConfigDict, model_validator

SCHEMA = "prompt-review/history@1"


class EventKind(str, Enum):
    VERSION = "version"  # a new version reached the default branch (a merge or a push)
    REVIEW = "review"  # a PR's review of the prompt (evals verdict, pass rates, semantic changes)
    DEPLOY = "deploy"  # a label moved to a version
    ROLLBACK = "rollback"  # a label was restored to its previous version
    MODEL = "model"  # the model serving or tested with the prompt changed
    ROLLOUT = "rollout"  # a rollout started, stepped, paused, resumed or was aborted (with the guard's reason)
    SHIFT = "shift"  # a metric moved: a change point


def _utc(value: datetime | None) -> datetime | None:
    """Storage may hand back naive UTC times (SQLite); every time here is aware, so they compare."""
    return value.replace(tzinfo=timezone.utc) if value is not None and value.tzinfo is None else value


UTC = Annotated[datetime, AfterValidator(_utc)]


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Event(Frozen):
    at: UTC | None
    kind: EventKind
    title: str
    version: str | None = None  # 12-hex version the event is about
    pr: int | None = None
    commit: str | None = None  # the default-branch commit a version appeared at
    label: str | None = None
    verdict: str | None = None  # success | failure | neutral … (reviews, versions)
    details: tuple[str, ...] = ()  # semantic changes, moves, why


class Point(NamedTuple):
    """A bucket of a series. A named tuple, not a model: a year of charts is tens of thousands of points
    a page, and validating each as a model was most of the page's time (bench/ui.py)."""

    at: datetime
    value: float


class Series(Frozen):
    """One metric of one version (and arm) over time — what a rollups table gives per bucket."""

    metric: str  # volume | error_rate | latency_ms | a score name
    version: str | None = None
    arm: str | None = None
    model: str | None = None
    points: tuple[Point, ...] = ()

    @model_validator(mode="after")
    def _aware(self) -> "Series":
        if any(p.at.tzinfo is None for p in self.points):
            object.__setattr__(self, "points", tuple(Point(_utc(p.at) or p.at, p.value) for p in self.points))
        return self


class VersionScore(Frozen):
    """Eval pass rate of one version on one suite (from the review of the PR that made it)."""

    version: str
    suite: str
    pass_rate: float | None
    pr: int | None = None


class Shift(Frozen):
    metric: str
    at: UTC
    before: float
    after: float
    near: str | None  # the version/model change it lines up with, in words
    text: str


class LabelState(Frozen):
    label: str
    version: str


class RolloutState(Frozen):
    """An open (running or paused) rollout of the prompt: a label split between two versions."""

    id: int
    label: str
    state: str  # running | paused
    percent: float  # the candidate's share
    steps: tuple[float, ...]
    control: str  # 12-hex versions
    candidate: str
    pr: int | None = None
    started_at: UTC
    next_step_at: UTC | None = None
    last_decision: str | None = None  # the guard's last words ("watching: 1,200 calls per arm, …")

    @property
    def step(self) -> int:
        """1-based position of the current percentage among the steps."""
        return sum(1 for s in self.steps if s <= self.percent)


class Timeline(Frozen):
    schema_: str = SCHEMA
    repo: str
    path: str
    labels: tuple[LabelState, ...] = ()
    rollouts: tuple[RolloutState, ...] = ()
    events: tuple[Event, ...] = ()
    scores: tuple[VersionScore, ...] = ()
    series: tuple[Series, ...] = ()
    shifts: tuple[Shift, ...] = ()
    source: str = "service"  # service | git


# --- change points -------------------------------------------------------------------------------

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
MIN_SIDE = 5  # points on each side of a candidate change


def change_point(values: list[float], min_side: int = MIN_SIDE, z: float = 4.0) -> int | None:
    """The index where the series' mean shifts most (one binary-segmentation step, running sums),
    or None when no split moves the mean by more than `z` standard errors of the noise around it."""
    n = len(values)
    if n < 2 * min_side:
        return None
    prefix = [0.0]
    squares = [0.0]
    for v in values:
        prefix.append(prefix[-1] + v)
        squares.append(squares[-1] + v * v)
    best, best_i = 0.0, None
    for i in range(min_side, n - min_side + 1):
        left, right = prefix[i] / i, (prefix[n] - prefix[i]) / (n - i)
        var = ((squares[i] - i * left * left) + (squares[n] - squares[i] - (n - i) * right * right)) / max(n - 2, 1)
        se = math.sqrt(max(var, 1e-12) * (1 / i + 1 / (n - i)))
        score = abs(right - left) / se
        if score > best:
            best, best_i = score, i
    return best_i if best >= z else None


def _ago(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 48 * 60:
        return f"{minutes // 60} h {minutes % 60} min" if minutes % 60 else f"{minutes // 60} h"
    return f"{minutes // 1440} days"


CAUSES = (EventKind.VERSION, EventKind.DEPLOY, EventKind.ROLLBACK, EventKind.MODEL, EventKind.ROLLOUT)


def nearest_change(at: datetime, events: tuple[Event, ...] | list[Event]) -> Event | None:
    """The latest version, deployment, rollback, rollout step or model change at or before `at`."""
    before = [e for e in events if e.kind in CAUSES and e.at is not None and e.at <= at]
    return max(before, key=lambda e: e.at) if before else None  # type: ignore[arg-type, return-value]


def _amount(metric: str, before: float, after: float) -> str:
    delta = after - before
    word = "rose" if delta > 0 else "dropped"
    if metric.endswith("_rate") or 0 <= before <= 1 and 0 <= after <= 1 and metric not in ("volume",):
        return f"{word} {abs(delta) * 100:.0f} pts"
    if metric.endswith("_ms"):
        return f"{word} {abs(delta):.0f} ms"
    return f"{word} {abs(delta):.3g}"


def combined(series: tuple[Series, ...] | list[Series]) -> list[Series]:
    """Per metric with several versions/arms: all traffic as one series (volume summed, the rest averaged
    per bucket) — a version switch is a shift of the whole, not within any one version's series."""
    out = []
    for metric in dict.fromkeys(s.metric for s in series):
        parts = [s for s in series if s.metric == metric]
        if len(parts) < 2:
            continue
        buckets: dict[datetime, list[float]] = {}
        for s in parts:
            for p in s.points:
                buckets.setdefault(p.at, []).append(p.value)
        points = tuple(Point(at, sum(v) if metric == "volume" else sum(v) / len(v))
                       for at, v in sorted(buckets.items()))
        out.append(Series(metric=metric, points=points))
    return out


def shifts(series: tuple[Series, ...] | list[Series], events: tuple[Event, ...] | list[Event]) -> tuple[Shift, ...]:
    """A shift per series whose mean moved (and per metric over all versions), named after the nearest
    earlier version/model change."""
    out = []
    for s in [*series, *combined(series)]:
        values = [p.value for p in s.points]
        i = change_point(values)
        if i is None:
            continue
        before, after = sum(values[:i]) / i, sum(values[i:]) / (len(values) - i)
        at = s.points[i].at
        cause = nearest_change(at, events)
        near = f"{_ago(at - cause.at)} after {cause.title}" if cause and cause.at else None
        who = s.metric + (f" (version {s.version}" + (f", arm {s.arm}" if s.arm else "") + ")" if s.version else " (all versions)")
        text = f"{who} {_amount(s.metric, before, after)} at {at:%Y-%m-%d %H:%M}" + (f", {near}" if near else "")
        out.append(Shift(metric=s.metric, at=at, before=before, after=after, near=near, text=text))
    return tuple(sorted(out, key=lambda x: x.at))


def with_shifts(t: Timeline) -> Timeline:
    found = shifts(t.series, t.events)
    marks = tuple(Event(at=s.at, kind=EventKind.SHIFT, title=s.text) for s in found)
    events = tuple(sorted((*t.events, *marks), key=lambda e: (e.at is None, e.at or _EPOCH)))
    return t.model_copy(update={"shifts": found, "events": events})


# --- text ---------------------------------------------------------------------------------------

def render_text(t: Timeline) -> str:
    """The timeline for a terminal: plain lines, newest last, no escapes."""
    lines = [f"{t.repo} {t.path}" if t.repo else t.path]
    if t.labels:
        lines.append("labels: " + ", ".join(f"{x.label} → {x.version}" for x in t.labels))
    if t.scores:
        lines.append("eval pass rate per version:")
        for s in t.scores:
            rate = "—" if s.pass_rate is None else f"{s.pass_rate * 100:.0f}%"
            lines.append(f"  {s.version}  {s.suite}  {rate}" + (f"  (#{s.pr})" if s.pr else ""))
    for r in t.rollouts:
        lines.append(f"rollout #{r.id} of {r.label} ({r.state}): {r.candidate} {r.percent:g}%, {r.control} "
                     f"{100 - r.percent:g}% — step {r.step} of {len(r.steps)}"
                     + (f"; guard: {r.last_decision}" if r.last_decision else ""))
    if t.shifts:
        lines.append("shifts:")
        lines.extend(f"  {s.text}" for s in t.shifts)
    lines.append("timeline:")
    for e in t.events:
        when = f"{e.at:%Y-%m-%d %H:%M}" if e.at else "                "
        verdict = f" [{e.verdict}]" if e.verdict else ""
        lines.append(f"  {when}  {e.kind.value:<8}  {e.title}{verdict}")
        lines.extend(f"{'':30}- {d}" for d in e.details)
    if not t.events:
        lines.append("  (nothing recorded yet)")
    return "\n".join(lines) + "\n"
