"""Tables of telemetry rollups and guarded rollouts (created by migrations 0004 and 0005). Rollups are
counters per series and minute, hour and day — raw spans are never stored; a rollout is a label split
between two versions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Float, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.service.db import Base, UTCDateTime, utcnow


class RollupColumns:
    """The columns of a rollup row: one series (repo, prompt, version, model, label, arm) in one time bucket.
    '' stands for "not given". The bucket column is named `minute` at every resolution: it holds the start
    (UTC) of the minute, hour or day the row covers."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    repo: Mapped[str] = mapped_column(String(300))
    path: Mapped[str] = mapped_column(String(1000))
    version: Mapped[str] = mapped_column(String(64))
    model: Mapped[str] = mapped_column(String(200))
    label: Mapped[str] = mapped_column(String(63))
    arm: Mapped[str] = mapped_column(String(20))
    minute: Mapped[datetime] = mapped_column(UTCDateTime())
    calls: Mapped[int] = mapped_column(BigInteger, default=0)
    errors: Mapped[int] = mapped_column(BigInteger, default=0)
    latency_n: Mapped[int] = mapped_column(BigInteger, default=0)
    latency_sum: Mapped[float] = mapped_column(Float, default=0.0)  # milliseconds
    latency_sumsq: Mapped[float] = mapped_column(Float, default=0.0)
    latency_hist: Mapped[list] = mapped_column(JSON, default=list)  # counts per bucket of telemetry.LATENCY_BOUNDS_MS
    tokens_in: Mapped[int] = mapped_column(BigInteger, default=0)
    tokens_out: Mapped[int] = mapped_column(BigInteger, default=0)
    cost_usd: Mapped[float] = mapped_column(Float, default=0.0)
    scores: Mapped[dict] = mapped_column(JSON, default=dict)  # name → {n, sum, sumsq, hist}
    fingerprints: Mapped[list] = mapped_column(JSON, default=list)  # system_fingerprint values seen (a few)


def _rollup_args(table: str) -> tuple:
    return (UniqueConstraint("repo", "path", "version", "model", "label", "arm", "minute", name=f"uq_{table}_series_minute"),
            Index(f"ix_{table}_repo_label_path", "repo", "label", "path", "minute"))


class Rollup(RollupColumns, Base):
    """Per minute (migration 0004)."""

    __tablename__ = "telemetry_rollups"
    __table_args__ = _rollup_args(__tablename__)


class RollupHour(RollupColumns, Base):
    """Per hour: the same series, `minute` holds the start of the hour (migration 0005). The history pages
    read one prompt over a range through (repo, path, minute) (migration 0006)."""

    __tablename__ = "telemetry_rollups_hour"
    __table_args__ = (*_rollup_args(__tablename__), Index(f"ix_{__tablename__}_repo_path_minute", "repo", "path", "minute"))


class RollupDay(RollupColumns, Base):
    """Per day (UTC): `minute` holds midnight UTC of the day (migration 0005), indexed like the hours (0006)."""

    __tablename__ = "telemetry_rollups_day"
    __table_args__ = (*_rollup_args(__tablename__), Index(f"ix_{__tablename__}_repo_path_minute", "repo", "path", "minute"))


class Rollout(Base):
    """A label split between the current (control) and a new (candidate) version of some prompts."""

    __tablename__ = "rollouts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    repo: Mapped[str] = mapped_column(String(300))
    label: Mapped[str] = mapped_column(String(63))
    commit_sha: Mapped[str] = mapped_column(String(64))  # where the candidate versions come from
    state: Mapped[str] = mapped_column(String(20))  # running | paused | aborted | completed
    percent: Mapped[float] = mapped_column(Float)  # the candidate's share now
    steps: Mapped[list] = mapped_column(JSON)  # increasing percentages ending at 100
    interval_seconds: Mapped[float] = mapped_column(Float)
    moves: Mapped[list] = mapped_column(JSON)  # [{path, from, to}] full blob shas
    actor: Mapped[str] = mapped_column(String(200))
    pr: Mapped[int | None] = mapped_column(Integer, nullable=True)  # the PR that introduced the candidate
    p_values: Mapped[dict] = mapped_column(JSON, default=dict)  # metric → running minimum (always-valid)
    directions: Mapped[dict | None] = mapped_column(JSON, nullable=True)  # metric → lower | higher (repo config at start; migration 0005)
    last_decision: Mapped[str | None] = mapped_column(Text, nullable=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    step_started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (Index("ix_rollouts_repo_label_state", "repo", "label", "state"), Index("ix_rollouts_state", "state"))
