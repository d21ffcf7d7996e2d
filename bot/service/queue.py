"""The durable job queue: enqueue with the delivery in one transaction, claim with a lease,
coalesce per PR, retry with backoff, and a visible dead state.

One running job per PR key is guaranteed by a partial unique index; PostgreSQL claims use
FOR UPDATE SKIP LOCKED, SQLite relies on its single writer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from enum import Enum
from typing import cast

from sqlalchemy import Table, and_, bindparam, exists, func, insert, or_, select, text, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.service.db import Installation, Job, UTCDateTime, utcnow


@dataclass(frozen=True)
class NewJob:
    kind: str  # review | approval | accept_regression
    repo: str
    pr: int
    installation_id: int
    head_sha: str
    payload: dict

    @property
    def key(self) -> str:
        return f"{self.repo}#{self.pr}"


@dataclass(frozen=True)
class ClaimedJob:
    id: int
    kind: str
    key: str
    repo: str
    pr: int
    installation_id: int
    head_sha: str
    payload: dict
    attempts: int
    check_runs: dict
    delivery_id: str | None


@dataclass(frozen=True)
class DeliveryRecord:
    """A verified delivery and what it causes, ready to be stored."""

    delivery_id: str
    event: str
    action: str | None = None
    repo: str | None = None
    pr: int | None = None
    outcome: str = "recorded"
    jobs: tuple[NewJob, ...] = ()
    cancel_key: str | None = None
    installation: dict | None = None  # {"id", "account", "repos", "active", "added", "removed"}

    @property
    def pr_keys(self) -> list[str]:
        """The PRs (owner/repo#n) whose work this delivery changes."""
        return [*(job.key for job in self.jobs), *([self.cancel_key] if self.cancel_key else [])]


# Declarative classes type __table__ as any FromClause; these are plain tables (insert/update need one).
_JOB = cast(Table, Job.__table__)


def store_deliveries(engine: Engine, records: list[DeliveryRecord]) -> list[bool]:
    """Store deliveries and their jobs in ONE transaction, in arrival order (group commit).

    True for each record stored now, False for a delivery id seen before (GitHub redelivers;
    two web processes may race on the same id — the unique index decides, nobody fails).
    """
    with engine.begin() as conn:
        return write_deliveries(conn, records)


def write_deliveries(conn: Connection, records: list[DeliveryRecord]) -> list[bool]:
    """store_deliveries inside a transaction the caller holds."""
    now = utcnow()
    first = _first_of_each(records, lambda record: record.delivery_id)
    keys = sorted({key for record in records for key in record.pr_keys})
    inserted = _insert_deliveries(conn, first, keys, now) if records else set()
    fresh = []
    for record in records:
        fresh.append(record.delivery_id in inserted)
        inserted.discard(record.delivery_id)  # a repeat inside the batch is a duplicate too
    stored = [record for record, new in zip(records, fresh) if new]
    _apply_job_changes(conn, [op for record in stored for op in _job_changes(record.cancel_key, record.jobs, record.delivery_id)], now)
    for record in stored:
        if record.installation:
            _record_installation(conn, record.installation, now)
    return fresh


# --- storing a batch ------------------------------------------------------------------------------
# A batch's rows go to the database as ONE JSON document per statement and are read back there
# (PostgreSQL json_to_recordset, SQLite json_each). The statement text is the same for any batch size,
# a batch costs a few round trips whatever its size, and one json.dumps replaces the per-value work of
# SQLAlchemy and the driver, which was most of the writer's CPU.

def _rows(dialect: str, columns: str) -> str:
    """The FROM item `c`: the :rows document as rows with these columns ("name type, ...").

    (Not a leading WITH: every statement must start with INSERT or UPDATE, or pysqlite would not open
    the transaction before it and it would commit on its own.)"""
    if dialect == "postgresql":
        return f"json_to_recordset(CAST(:rows AS json)) AS c({columns})"
    names = [column.split()[0] for column in columns.split(", ")]
    return "(SELECT " + ", ".join(f"json_extract(value, '$.{n}') AS {n}" for n in names) + " FROM json_each(:rows)) AS c"


# A delivery's effect on the job queue, in the order it applies to one PR: cancel (closed), supersede
# (a newer head), then insert — unless the same work already waits, or unconditionally (accept_regression).
_CANCEL_OP, _SUPERSEDE_OP, _INSERT_UNLESS_QUEUED_OP, _INSERT_OP = range(4)
_JOB_ROW = "n int, kind text, key text, repo text, pr int, installation_id int, head_sha text, payload json, delivery_id text"


def _statements(dialect: str) -> dict:
    pg = dialect == "postgresql"

    def stop_work(queued_becomes: str, for_newer_head: bool) -> str:
        """A PR's work stops: queued jobs end as `queued_becomes`, running ones are told to stop; for a
        newer head (rows k, sha) only the jobs of other heads, which remember the sha; else (rows k) all.

        Each PR's jobs are looked up through the (key, state) index, whatever the planner thinks of
        the backlog: SQLite gets `key IN` rather than a join; PostgreSQL a LATERAL lookup per PR that
        OFFSET 0 keeps from being flattened into a hash join — which, with no statistics yet (a fresh
        database under a burst), it chose, scanning every queued job for each batch."""
        rows = _rows(dialect, "k text, sha text" if for_newer_head else "k text")
        # PostgreSQL joins each job to its PR's row; SQLite looks the sha up (a round names each PR once)
        sha = "c.sha" if pg else f"(SELECT c.sha FROM {rows} WHERE c.k = jobs.key)"
        set_ = (f"SET state = CASE WHEN jobs.state = 'queued' THEN '{queued_becomes}' ELSE jobs.state END,"
                " finished_at = CASE WHEN jobs.state = 'queued' THEN :now ELSE jobs.finished_at END,"
                " cancel_requested = CASE WHEN jobs.state = 'running' THEN true ELSE jobs.cancel_requested END,"
                f" superseded_by = {sha if for_newer_head else 'NULL'}")
        other_heads = f" AND jobs.head_sha <> {sha}" if for_newer_head else ""
        if pg:
            return (f"UPDATE jobs {set_} FROM (SELECT j.id, c.* FROM {rows} CROSS JOIN LATERAL"
                    " (SELECT jobs.id FROM jobs WHERE jobs.key = c.k AND jobs.state IN ('queued', 'running')"
                    f"{other_heads} OFFSET 0) AS j) AS c WHERE jobs.id = c.id AND jobs.state IN ('queued', 'running')")
        return (f"UPDATE jobs {set_} WHERE jobs.key IN (SELECT c.k FROM {rows})"
                f" AND jobs.state IN ('queued', 'running'){other_heads}")

    # Another web process may be storing deliveries for the same PRs right now: on PostgreSQL the PRs
    # are locked first, in a fixed order (two batches cannot deadlock), so superseding then sees their
    # jobs. Part of the delivery insert, as a round trip is what a batch costs. (SQLite: one writer.)
    lock_prs = (" CROSS JOIN (SELECT count(*) FROM (SELECT pg_advisory_xact_lock(h) FROM (SELECT DISTINCT"
                " hashtextextended(k, 0) AS h FROM unnest(CAST(:keys AS text[])) AS k ORDER BY h) AS prs) AS l) AS locked"
                if pg else " WHERE true")  # (SQLite needs a WHERE before ON CONFLICT in INSERT … SELECT)
    no_check_runs = "CAST('{}' AS json)" if pg else "'{}'"
    sql = {
        "deliveries": (
            "INSERT INTO deliveries (delivery_id, event, action, repo, pr, outcome, received_at)"
            " SELECT c.delivery_id, c.event, c.action, c.repo, c.pr, c.outcome, :now FROM "
            + _rows(dialect, "delivery_id text, event text, action text, repo text, pr int, outcome text")
            + lock_prs + " ON CONFLICT DO NOTHING RETURNING delivery_id"
        ),
        _CANCEL_OP: stop_work("cancelled", for_newer_head=False),  # the PR was closed
        _SUPERSEDE_OP: stop_work("superseded", for_newer_head=True),
        # Insert unless the same work (kind, PR, head) already waits — the check and the insert in one statement.
        _INSERT_UNLESS_QUEUED_OP: (
            "INSERT INTO jobs (kind, key, repo, pr, installation_id, head_sha, payload, delivery_id, state, attempts,"
            " available_at, cancel_requested, check_runs, created_at)"
            " SELECT c.kind, c.key, c.repo, c.pr, c.installation_id, c.head_sha, c.payload, c.delivery_id,"
            f" 'queued', 0, :now, false, {no_check_runs}, :now FROM "
            + _rows(dialect, _JOB_ROW)
            # (OFFSET 0: looked up per row by index, never turned into a hash anti-join over the backlog)
            + " WHERE NOT EXISTS (SELECT 1 FROM jobs AS twin WHERE twin.key = c.key AND twin.kind = c.kind"
            f" AND twin.state = 'queued' AND twin.head_sha = c.head_sha{' OFFSET 0' if pg else ''}) ORDER BY c.n"
        ),
    }
    return {name: text(statement).bindparams(bindparam("now", type_=UTCDateTime())) for name, statement in sql.items()}


_STATEMENTS = {dialect: _statements(dialect) for dialect in ("sqlite", "postgresql")}
_DELIVERY_FIELDS = ("delivery_id", "event", "action", "repo", "pr", "outcome")


def _insert_deliveries(conn: Connection, records: list[DeliveryRecord], keys: list[str], now: datetime) -> set[str]:
    """The delivery ids of `records` that were new (the unique index decides, nobody fails); on
    PostgreSQL the PRs in `keys` are locked until the transaction ends."""
    document = json.dumps([{name: getattr(record, name) for name in _DELIVERY_FIELDS} for record in records])
    parameters = {"rows": document, "now": now, **({"keys": keys} if conn.dialect.name == "postgresql" else {})}
    return set(conn.scalars(_STATEMENTS[conn.dialect.name]["deliveries"], parameters))


def _job_changes(cancel_key: str | None, jobs: tuple[NewJob, ...], delivery_id: str | None):
    """(operation, PR key, row) for each change these jobs make, in order."""
    if cancel_key:
        yield _CANCEL_OP, cancel_key, {"k": cancel_key}
    for job in jobs:
        if job.kind == "review":  # a newer head supersedes older work for the same PR
            yield _SUPERSEDE_OP, job.key, {"k": job.key, "sha": job.head_sha}
        row = {"kind": job.kind, "key": job.key, "repo": job.repo, "pr": job.pr, "installation_id": job.installation_id,
               "head_sha": job.head_sha, "payload": job.payload, "delivery_id": delivery_id}
        yield _INSERT_UNLESS_QUEUED_OP if job.kind in ("review", "approval") else _INSERT_OP, job.key, row


def _apply_job_changes(conn: Connection, changes, now: datetime) -> None:
    """Apply job changes with one statement per kind of change instead of one statement each.

    Changes are cut into rounds. Within a round each PR's changes only move forward through
    cancel → supersede → insert, so running all cancels, then all supersedes, then all inserts
    gives exactly what applying them one by one gives. A PR whose next change would go back
    (a second push in the same batch) starts a new round.
    """
    rounds: list[list[list[dict]]] = []
    reached: dict[str, int] = {}
    for op, key, row in changes:
        last = reached.get(key, -1)
        if not rounds or op < last or (op == last and op in (_CANCEL_OP, _SUPERSEDE_OP)):
            rounds.append([[], [], [], []])
            reached = {}
        rounds[-1][op].append(row)
        reached[key] = op
    statements = _STATEMENTS[conn.dialect.name]
    for round_ in rounds:
        for op, rows in enumerate(round_):
            if not rows:
                continue
            if op == _INSERT_OP:  # accept_regression: rare, and every press counts
                conn.execute(insert(_JOB), [{**row, "state": "queued", "attempts": 0, "available_at": now,
                                             "cancel_requested": False, "check_runs": {}, "created_at": now} for row in rows])
                continue
            if op == _INSERT_UNLESS_QUEUED_OP:
                # One statement does not see its own rows: the same work twice in a round goes in once,
                # as one by one the second would find the first (or the twin that kept it out) queued.
                rows = _first_of_each(rows, lambda row: (row["kind"], row["key"], row["head_sha"]))
                rows = [{**row, "n": n} for n, row in enumerate(rows)]
            conn.execute(statements[op], {"rows": json.dumps(rows), "now": now})


def _first_of_each(items: list, key) -> list:
    """`items` without repeats of key(item): the first of each, in order."""
    first: dict = {}
    for item in items:
        first.setdefault(key(item), item)
    return list(first.values())


def _record_installation(conn: Connection, info: dict, now: datetime) -> None:
    table = cast(Table, Installation.__table__)
    row = conn.execute(select(table.c.repos, table.c.account).where(table.c.id == info["id"])).one_or_none()
    repos = (set(row.repos or []) if row else set()) | set(info["repos"]) | set(info["added"])
    values = {"repos": sorted(repos - set(info["removed"])), "active": info["active"],
              "account": info["account"] or (row.account if row else ""), "updated_at": now}
    if row is None:
        conn.execute(insert(table), {"id": info["id"], **values})
    else:
        conn.execute(update(table).where(table.c.id == info["id"]).values(**values))


def enqueue(engine: Engine, job: NewJob) -> None:
    with engine.begin() as conn:
        _apply_job_changes(conn, _job_changes(None, (job,), None), utcnow())


def _runnable(t):
    """(queued and due, running but its worker's lease ran out) for jobs table (or alias) t."""
    return (and_(t.c.state == "queued", t.c.available_at <= bindparam("now")),
            and_(t.c.state == "running", t.c.lease_until < bindparam("now")))


def _claim_statement(skip_locked: bool):
    """Claiming is ONE statement: take the job the lookup picks, if still runnable, and return it.

    The lookup is two small index walks rather than one OR: each walks (state, id) and stops at the
    first hit, where the OR made the database sort the whole backlog on every claim. Abandoned work
    (lease ran out) goes first, then the oldest queued job whose PR has nothing running."""
    cand, other = _JOB.alias("cand"), _JOB.alias("other")
    queued, expired = _runnable(cand)
    busy = exists().where(other.c.key == cand.c.key, other.c.state == "running", other.c.id != cand.c.id)
    lookups = [select(cand.c.id).where(*where).order_by(cand.c.id).limit(1) for where in ((expired,), (queued, ~busy))]
    if skip_locked:  # PostgreSQL: workers claiming at once pass over each other's rows instead of waiting
        lookups = [lookup.with_for_update(skip_locked=True) for lookup in lookups]
    return (
        update(_JOB)
        .where(_JOB.c.id == func.coalesce(*(lookup.scalar_subquery() for lookup in lookups)), or_(*_runnable(_JOB)))
        .values(state="running", attempts=_JOB.c.attempts + 1, lease_until=bindparam("lease"), worker=bindparam("worker_"),
                started_at=bindparam("now"))
        .returning(*_JOB.c)
    )


_CLAIM = {"sqlite": _claim_statement(False), "postgresql": _claim_statement(True)}


def claim(engine: Engine, worker: str, lease_seconds: float, now: datetime | None = None) -> ClaimedJob | None:
    """Take a job whose worker's lease expired, else the oldest queued job whose PR is not busy."""
    statement = _CLAIM[engine.dialect.name]
    for _ in range(5):  # a lost race on the unique index (one running job per PR) just means: look again
        at = now or utcnow()
        try:
            with engine.begin() as conn:
                row = conn.execute(
                    statement, {"now": at, "lease": at + timedelta(seconds=lease_seconds), "worker_": worker}
                ).first()
        except IntegrityError:
            continue
        if row is None:
            return None
        return ClaimedJob(
            id=row.id,
            kind=row.kind,
            key=row.key,
            repo=row.repo,
            pr=row.pr,
            installation_id=row.installation_id,
            head_sha=row.head_sha,
            payload=dict(row.payload or {}),
            attempts=row.attempts,
            check_runs=dict(row.check_runs or {}),
            delivery_id=row.delivery_id,
        )
    return None


_OWNED = update(_JOB).where(_JOB.c.id == bindparam("id_"), _JOB.c.worker == bindparam("worker_"), _JOB.c.state == "running")


# Built once: composing `.values(...)` per call cost a worker more CPU than the update itself.
_HEARTBEAT = _OWNED.values(lease_until=bindparam("lease_until_"))
_FINISH = _OWNED.values(state=bindparam("state_"), lease_until=None, finished_at=bindparam("now_"),
                        last_error=bindparam("error_"))
_RETRY_LATER = _OWNED.values(state="queued", lease_until=None, last_error=bindparam("error_"),
                             available_at=bindparam("available_at_"))


def _update_owned(engine: Engine, statement, job_id: int, worker: str, **parameters) -> bool:
    """Change a running job only while this worker still holds it; False when it was re-claimed."""
    with engine.begin() as conn:
        result = conn.execute(statement, {"id_": job_id, "worker_": worker, **parameters})
        return result.rowcount == 1


def heartbeat(engine: Engine, job_id: int, worker: str, lease_seconds: float) -> bool:
    """Extend the lease; False when the job is no longer ours (re-claimed elsewhere)."""
    return _update_owned(engine, _HEARTBEAT, job_id, worker, lease_until_=utcnow() + timedelta(seconds=lease_seconds))


_STOP_STATE = select(_JOB.c.cancel_requested, _JOB.c.superseded_by, _JOB.c.state, _JOB.c.worker).where(_JOB.c.id == bindparam("id_"))


class StopCause(str, Enum):
    """Why a running job must stop; the worker branches on this, never on words."""

    NEWER_HEAD = "newer_head"  # a push superseded it (`sha` is the new head)
    CLOSED = "closed"  # the PR was closed, or the job was stopped otherwise
    DELETED = "deleted"  # its row is gone
    LOST = "lost"  # its lease ran out and another worker re-claimed it: only the holder may publish


@dataclass(frozen=True)
class StopRequest:
    cause: StopCause
    sha: str | None = None  # the newer head, for NEWER_HEAD

    def describe(self) -> str:
        """Plain words for check-run titles and logs."""
        return self.sha or self.cause.value


def cancel_requested(engine: Engine, job_id: int, worker: str | None = None) -> StopRequest | None:
    """Why this running job was told to stop, or None while it should go on. With `worker`, a job
    that worker no longer holds is LOST."""
    with engine.connect() as conn:
        row = conn.execute(_STOP_STATE, {"id_": job_id}).one_or_none()
    if row is None:
        return StopRequest(StopCause.DELETED)
    if worker is not None and row.worker != worker:
        return StopRequest(StopCause.LOST)
    if row.cancel_requested or row.state != "running":
        if row.superseded_by:
            return StopRequest(StopCause.NEWER_HEAD, row.superseded_by)
        return StopRequest(StopCause.CLOSED)
    return None


def save_check_runs(engine: Engine, job_id: int, check_runs: dict) -> None:
    with Session(engine) as session, session.begin():
        session.execute(update(Job).where(Job.id == job_id).values(check_runs=check_runs))


def finish(engine: Engine, job_id: int, worker: str, state: str = "done", error: str | None = None) -> bool:
    return _update_owned(engine, _FINISH, job_id, worker, state_=state, now_=utcnow(), error_=error)


def retry_later(engine: Engine, job_id: int, worker: str, error: str, delay_seconds: float) -> bool:
    return _update_owned(engine, _RETRY_LATER, job_id, worker, error_=error,
                         available_at_=utcnow() + timedelta(seconds=delay_seconds))


def superseded_runs(engine: Engine, key: str, head_sha: str) -> list[tuple[int, str, dict]]:
    """Check runs left by older jobs of this PR that were superseded or died before closing them."""
    with Session(engine) as session:
        rows = session.execute(
            select(Job.id, Job.head_sha, Job.check_runs).where(
                Job.key == key, Job.head_sha != head_sha, Job.state.in_(("superseded", "cancelled", "dead", "running"))
            )
        ).all()
    return [(r.id, r.head_sha, dict(r.check_runs or {})) for r in rows if r.check_runs]


def check_runs_of(engine: Engine, job_id: int) -> dict:
    """The check runs a job created (saved as it went), {} when none yet."""
    with Session(engine) as session:
        return dict(session.scalar(select(Job.check_runs).where(Job.id == job_id)) or {})


def clear_check_runs(engine: Engine, job_id: int) -> None:
    save_check_runs(engine, job_id, {})


def counts_by_state(engine: Engine) -> dict[str, int]:
    with Session(engine) as session:
        return dict(session.execute(select(Job.state, func.count()).group_by(Job.state)).all())


def oldest_queued_age(engine: Engine, now: datetime | None = None) -> float:
    now = now or utcnow()
    with Session(engine) as session:
        oldest = session.scalar(select(func.min(Job.created_at)).where(Job.state == "queued"))
    if oldest is None:
        return 0.0
    if oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=timezone.utc)
    return max(0.0, (now - oldest).total_seconds())
