"""The durable job queue: enqueue with the delivery in one transaction, claim with a lease,
coalesce per PR, retry with backoff, and a visible dead state.

One running job per PR key is guaranteed by a partial unique index; PostgreSQL claims use
FOR UPDATE SKIP LOCKED, SQLite relies on its single writer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from bot.service.db import Delivery, Job, utcnow


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


def record_delivery(
    engine: Engine,
    delivery_id: str,
    event: str,
    action: str | None,
    repo: str | None,
    pr: int | None,
    outcome: str,
    jobs: list[NewJob] = (),  # type: ignore[assignment]
    cancel_key: str | None = None,
) -> bool:
    """Store a delivery and its jobs atomically. False when this delivery id was seen before."""
    with Session(engine) as session, session.begin():
        if session.scalar(select(Delivery.id).where(Delivery.delivery_id == delivery_id)) is not None:
            return False
        session.add(Delivery(delivery_id=delivery_id, event=event, action=action, repo=repo, pr=pr, outcome=outcome))
        if cancel_key:
            _cancel_key(session, cancel_key, reason=None)
        for job in jobs:
            _enqueue(session, job, delivery_id)
        try:
            session.flush()
        except IntegrityError:  # a concurrent insert of the same delivery id won
            session.rollback()
            return False
    return True


def _cancel_key(session: Session, key: str, reason: str | None) -> None:
    session.execute(
        update(Job).where(Job.key == key, Job.state == "queued").values(state="cancelled", superseded_by=reason, finished_at=utcnow())
    )
    session.execute(update(Job).where(Job.key == key, Job.state == "running").values(cancel_requested=True, superseded_by=reason))


def _enqueue(session: Session, job: NewJob, delivery_id: str | None) -> None:
    if job.kind == "review":
        # A newer head supersedes older work for the same PR: queued jobs are dropped, running ones told to stop.
        session.execute(
            update(Job)
            .where(Job.key == job.key, Job.state == "queued", Job.head_sha != job.head_sha)
            .values(state="superseded", superseded_by=job.head_sha, finished_at=utcnow())
        )
        session.execute(
            update(Job)
            .where(Job.key == job.key, Job.state == "running", Job.head_sha != job.head_sha)
            .values(cancel_requested=True, superseded_by=job.head_sha)
        )
        duplicate = session.scalar(
            select(Job.id).where(Job.key == job.key, Job.kind == "review", Job.state == "queued", Job.head_sha == job.head_sha)
        )
        if duplicate is not None:
            return
    elif job.kind == "approval":
        duplicate = session.scalar(
            select(Job.id).where(Job.key == job.key, Job.kind == "approval", Job.state == "queued", Job.head_sha == job.head_sha)
        )
        if duplicate is not None:
            return
    session.add(
        Job(
            kind=job.kind,
            key=job.key,
            repo=job.repo,
            pr=job.pr,
            installation_id=job.installation_id,
            head_sha=job.head_sha,
            payload=job.payload,
            delivery_id=delivery_id,
        )
    )


def enqueue(engine: Engine, job: NewJob) -> None:
    with Session(engine) as session, session.begin():
        _enqueue(session, job, None)


def claim(engine: Engine, worker: str, lease_seconds: float, now: datetime | None = None) -> ClaimedJob | None:
    """Take the oldest runnable job (or one whose worker's lease expired) for this worker."""
    for _ in range(5):  # a lost race on the unique index just means: look again
        now = now or utcnow()
        other = aliased(Job)
        busy_key = exists().where(and_(other.key == Job.key, other.state == "running", other.id != Job.id))
        runnable = or_(and_(Job.state == "queued", Job.available_at <= now), and_(Job.state == "running", Job.lease_until < now))
        candidate = select(Job.id).where(runnable, ~busy_key).order_by(Job.id).limit(1)
        try:
            with Session(engine) as session, session.begin():
                if engine.dialect.name == "postgresql":
                    candidate = candidate.with_for_update(skip_locked=True)
                job_id = session.scalar(candidate)
                if job_id is None:
                    return None
                result = session.execute(
                    update(Job)
                    .where(Job.id == job_id, runnable)
                    .values(
                        state="running",
                        attempts=Job.attempts + 1,
                        lease_until=now + timedelta(seconds=lease_seconds),
                        worker=worker,
                        started_at=now,
                    )
                    .returning(Job)
                )
                row = result.scalars().first()
                if row is None:
                    continue
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
        except IntegrityError:
            now = None
            continue
    return None


def _update_owned(engine: Engine, job_id: int, worker: str, **values) -> bool:
    """Change a running job only while this worker still holds it; False when it was re-claimed."""
    with Session(engine) as session, session.begin():
        result = session.execute(
            update(Job).where(Job.id == job_id, Job.worker == worker, Job.state == "running").values(**values)
        )
        return result.rowcount == 1


def heartbeat(engine: Engine, job_id: int, worker: str, lease_seconds: float) -> bool:
    """Extend the lease; False when the job is no longer ours (re-claimed elsewhere)."""
    return _update_owned(engine, job_id, worker, lease_until=utcnow() + timedelta(seconds=lease_seconds))


def cancel_requested(engine: Engine, job_id: int) -> str | None:
    """The newer head SHA (or 'closed') when this running job was told to stop; else None."""
    with Session(engine) as session:
        row = session.execute(select(Job.cancel_requested, Job.superseded_by, Job.state).where(Job.id == job_id)).one_or_none()
    if row is None:
        return "deleted"
    if row.cancel_requested or row.state != "running":
        return row.superseded_by or "closed"
    return None


def save_check_runs(engine: Engine, job_id: int, check_runs: dict) -> None:
    with Session(engine) as session, session.begin():
        session.execute(update(Job).where(Job.id == job_id).values(check_runs=check_runs))


def finish(engine: Engine, job_id: int, worker: str, state: str = "done", error: str | None = None) -> bool:
    return _update_owned(engine, job_id, worker, state=state, lease_until=None, finished_at=utcnow(), last_error=error)


def retry_later(engine: Engine, job_id: int, worker: str, error: str, delay_seconds: float) -> bool:
    return _update_owned(
        engine, job_id, worker,
        state="queued", lease_until=None, last_error=error, available_at=utcnow() + timedelta(seconds=delay_seconds),
    )


def superseded_runs(engine: Engine, key: str, head_sha: str) -> list[tuple[int, str, dict]]:
    """Check runs left by older jobs of this PR that were superseded or died before closing them."""
    with Session(engine) as session:
        rows = session.execute(
            select(Job.id, Job.head_sha, Job.check_runs).where(
                Job.key == key, Job.head_sha != head_sha, Job.state.in_(("superseded", "cancelled", "dead", "running"))
            )
        ).all()
    return [(r.id, r.head_sha, dict(r.check_runs or {})) for r in rows if r.check_runs]


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
        from datetime import timezone

        oldest = oldest.replace(tzinfo=timezone.utc)
    return max(0.0, (now - oldest).total_seconds())
