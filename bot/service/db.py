"""Storage: SQLAlchemy 2 tables and engine set-up for SQLite (default) and PostgreSQL.

The schema itself is created by Alembic migrations (bot/service/migrations), applied at start.
"""

from __future__ import annotations

import threading
from datetime import datetime, timezone

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    create_engine,
    event,
    text,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention={"ix": "ix_%(table_name)s_%(column_0_name)s", "uq": "uq_%(table_name)s_%(column_0_name)s"})


class UTCDateTime(DateTime):
    """Timezone-aware timestamps that come back aware on SQLite too."""

    cache_ok = True

    def __init__(self) -> None:
        super().__init__(timezone=True)

    def result_processor(self, dialect, coltype):
        parent = super().result_processor(dialect, coltype)

        def process(value):
            if parent is not None:
                value = parent(value)
            if value is not None and value.tzinfo is None:
                value = value.replace(tzinfo=timezone.utc)
            return value

        return process


class Delivery(Base):
    __tablename__ = "deliveries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    delivery_id: Mapped[str] = mapped_column(String(100), unique=True)
    event: Mapped[str] = mapped_column(String(100))
    action: Mapped[str | None] = mapped_column(String(100), nullable=True)
    repo: Mapped[str | None] = mapped_column(String(300), nullable=True)
    pr: Mapped[int | None] = mapped_column(Integer, nullable=True)
    outcome: Mapped[str] = mapped_column(String(40))  # queued | recorded | ignored | duplicate
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Job(Base):
    __tablename__ = "jobs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(40))  # review | approval | accept_regression
    key: Mapped[str] = mapped_column(String(400))  # owner/repo#pr — one running job per key
    repo: Mapped[str] = mapped_column(String(300))
    pr: Mapped[int] = mapped_column(Integer)
    installation_id: Mapped[int] = mapped_column(Integer)
    head_sha: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(20), default="queued")  # queued running done dead superseded cancelled
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    available_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    worker: Mapped[str | None] = mapped_column(String(200), nullable=True)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    superseded_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    check_runs: Mapped[dict] = mapped_column(JSON, default=dict)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    delivery_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    __table_args__ = (
        # Both keep intake and claims independent of the backlog (migration 0002): a PR's own jobs by
        # (key, state); the oldest queued job by walking (state, id).
        Index("ix_jobs_key_state", "key", "state"),
        Index("ix_jobs_state_id", "state", "id"),
        # At most one running job per PR: the database, not the workers' politeness, guarantees it.
        Index(
            "uq_jobs_one_running_per_key",
            "key",
            unique=True,
            sqlite_where=text("state = 'running'"),
            postgresql_where=text("state = 'running'"),
        ),
    )


class EvalResult(Base):
    __tablename__ = "eval_results"
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ReviewRecord(Base):
    __tablename__ = "reviews"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    repo: Mapped[str] = mapped_column(String(300))
    pr: Mapped[int] = mapped_column(Integer)
    base_sha: Mapped[str] = mapped_column(String(64))
    head_sha: Mapped[str] = mapped_column(String(64))
    prompt_hashes: Mapped[dict] = mapped_column(JSON, default=dict)
    models: Mapped[list] = mapped_column(JSON, default=list)
    pass_rates: Mapped[dict] = mapped_column(JSON, default=dict)
    conclusion: Mapped[str] = mapped_column(String(40))
    evals_blocking: Mapped[bool] = mapped_column(Boolean, default=False)
    snapshot: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)  # versioned JSON ReviewResult (bot.core.snapshot), written by us only
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (Index("ix_reviews_repo_pr", "repo", "pr"),)


class AuditEntry(Base):
    __tablename__ = "audit"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    repo: Mapped[str] = mapped_column(String(300))
    pr: Mapped[int] = mapped_column(Integer)
    head_sha: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(60))
    actor: Mapped[str] = mapped_column(String(100))
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Installation(Base):
    __tablename__ = "installations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    account: Mapped[str] = mapped_column(String(200))
    repos: Mapped[list] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class KeyValue(Base):
    """Small bits of service state, e.g. how far failed-delivery recovery got."""

    __tablename__ = "service_state"
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[dict] = mapped_column(JSON, default=dict)


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection, _record):  # WAL: readers never block the writer
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        _serialize_writers(engine)
        return engine
    # prepare_threshold=None: psycopg would prepare a statement after 5 runs, and PostgreSQL may then
    # keep a plan made while the tables were small (a sequential scan of jobs) long after the backlog
    # grew: intake slowed from 4 to 58 ms a batch within seconds on a fresh database. Planning each
    # time costs a little CPU on the server and keeps the plans right for the tables as they are.
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20, connect_args={"prepare_threshold": None})


_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


def _serialize_writers(engine: Engine) -> None:
    """SQLite takes one writer at a time, and a writer that finds the database locked sleeps in
    growing steps (up to 100 ms) before looking again. Threads of one process therefore queue for a
    Python lock before their first write of a transaction and hand it over the moment they commit,
    so the web intake never sleeps behind a worker's claim. (pysqlite opens a transaction at the
    first write, so read-only work never takes the lock.)"""
    lock = threading.Lock()

    @event.listens_for(engine, "before_cursor_execute")
    def _take(conn, _cursor, statement, _parameters, _context, _executemany):
        info = conn.connection.info
        if not info.get("writing") and statement.lstrip()[:7].upper().startswith(_WRITES):
            lock.acquire()
            info["writing"] = True

    def _give(dbapi_connection_info: dict) -> None:
        if dbapi_connection_info.pop("writing", False):
            lock.release()

    @event.listens_for(engine, "commit")
    def _committed(conn):
        conn.connection.commit()  # commit now, so the next writer never finds the file still locked
        _give(conn.connection.info)

    @event.listens_for(engine, "rollback")
    def _rolled_back(conn):
        conn.connection.rollback()
        _give(conn.connection.info)

    @event.listens_for(engine.pool, "reset")
    def _reset(_dbapi_connection, record, _reset_state=None):
        _give(record.info)
