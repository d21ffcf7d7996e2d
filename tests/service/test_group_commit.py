"""Group commit: deliveries stored together in one transaction mean exactly what they would mean
stored one by one, and one bad delivery never fails the deliveries batched with it."""

from __future__ import annotations

import asyncio
import threading
import uuid

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from bot.service import queue
from bot.service.db import Delivery, Installation, Job, make_engine
from bot.service.groupcommit import DeliveryWriter
from bot.service.migrate import upgrade
from bot.service.queue import DeliveryRecord, NewJob


def review(delivery: str, sha: str, pr: int = 1) -> DeliveryRecord:
    job = NewJob("review", "acme/bot", pr, 99, sha, {"action": "synchronize"})
    return DeliveryRecord(delivery, "pull_request", "synchronize", "acme/bot", pr, "queued", (job,))


def jobs(engine) -> list[tuple[str, str]]:
    with Session(engine) as session:
        return [(r.head_sha, r.state) for r in session.scalars(select(Job).order_by(Job.id))]


def test_a_batch_keeps_arrival_order_so_the_later_head_wins(engine):
    assert queue.store_deliveries(engine, [review("d1", "a"), review("d2", "b"), review("d3", "c", pr=2)]) == [True, True, True]
    assert jobs(engine) == [("a", "superseded"), ("b", "queued"), ("c", "queued")]


def test_a_close_after_the_push_in_the_same_batch_cancels_it(engine):
    closed = DeliveryRecord("d2", "pull_request", "closed", "acme/bot", 1, "recorded", cancel_key="acme/bot#1")
    queue.store_deliveries(engine, [review("d1", "a"), closed])
    assert jobs(engine) == [("a", "cancelled")]


def test_repeated_delivery_ids_are_stored_once_inside_a_batch_and_across_batches(engine):
    assert queue.store_deliveries(engine, [review("d1", "a"), review("d1", "a")]) == [True, False]
    assert queue.store_deliveries(engine, [review("d1", "a"), review("d2", "a")]) == [False, True]
    with Session(engine) as session:
        assert session.scalars(select(Delivery.delivery_id).order_by(Delivery.id)).all() == ["d1", "d2"]
    assert jobs(engine) == [("a", "queued")]  # the same head twice is one piece of work


def test_installation_changes_are_stored_with_their_delivery(engine):
    info = {"id": 7, "account": "acme", "active": True, "repos": ["acme/a", "acme/b"], "added": [], "removed": []}
    later = {**info, "repos": [], "added": ["acme/c"], "removed": ["acme/a"]}
    queue.store_deliveries(engine, [DeliveryRecord("i1", "installation", "created", installation=info),
                                    DeliveryRecord("i2", "installation_repositories", "added", installation=later)])
    with Session(engine) as session:
        row = session.get(Installation, 7)
        assert (row.account, row.active, row.repos) == ("acme", True, ["acme/b", "acme/c"])


def test_one_unstorable_delivery_does_not_fail_the_others_batched_with_it(engine):
    writer = DeliveryWriter(engine, linger_seconds=0.5)  # the three surely share one transaction
    poisoned = DeliveryRecord("bad", None, "opened", "acme/bot", 2, "recorded")  # no event: the NOT NULL column refuses it

    async def burst():
        return await asyncio.gather(*(writer.store(r) for r in [review("d1", "a"), poisoned, review("d2", "b", pr=3)]),
                                    return_exceptions=True)

    first, bad, last = asyncio.run(burst())
    assert (first, last) == (True, True)
    assert isinstance(bad, Exception)
    assert sorted(jobs(engine)) == [("a", "queued"), ("b", "queued")]
    with Session(engine) as session:
        assert sorted(session.scalars(select(Delivery.delivery_id))) == ["d1", "d2"]  # nothing of the bad one


def test_many_concurrent_deliveries_are_all_stored_and_answered(engine):
    writer = DeliveryWriter(engine, max_batch=16)

    async def burst():
        return await asyncio.gather(*(writer.store(review(f"d{i}", f"{i:040x}", pr=i + 1)) for i in range(200)))

    assert asyncio.run(burst()) == [True] * 200
    assert len(jobs(engine)) == 200


def test_two_web_processes_storing_pushes_to_one_pr_at_once_leave_one_queued_review(pg_database_url):
    """Replica A has stored head `a` but not committed yet when replica B stores head `b`: B waits for
    A's transaction, so its superseding sees `a` — one queued review, for the newer head."""
    engine_a, engine_b = make_engine(pg_database_url), make_engine(pg_database_url)
    upgrade(engine_a)
    try:
        with engine_a.begin() as conn_a:
            queue.write_deliveries(conn_a, [review("d1", "a")])
            later = threading.Thread(target=queue.store_deliveries, args=(engine_b, [review("d2", "b")]))
            later.start()
            later.join(timeout=1.0)
            assert later.is_alive(), "replica B must wait for A's transaction on the same PR"
        later.join(timeout=30)
        assert jobs(engine_a) == [("a", "superseded"), ("b", "queued")]
    finally:
        engine_a.dispose()
        engine_b.dispose()


# --- a batch means exactly what its deliveries mean one by one -------------------------------------

def _deliveries(draw_ops: list[tuple], repo: str) -> list[DeliveryRecord]:
    out = []
    for n, (what, pr, sha) in enumerate(draw_ops):
        did = f"{repo}-{n}"
        if what == "closed":
            out.append(DeliveryRecord(did, "pull_request", "closed", repo, pr, "recorded", cancel_key=f"{repo}#{pr}"))
        elif what == "rerequested":  # one delivery, work for two PRs (and the same PR listed twice)
            jobs_ = tuple(NewJob("review", repo, p, 99, sha, {}) for p in (pr, 3 - pr, pr))
            out.append(DeliveryRecord(did, "check_suite", "rerequested", repo, pr, "queued", jobs_))
        else:
            job = NewJob(what, repo, pr, 99, sha, {})
            out.append(DeliveryRecord(did, "pull_request", "x", repo, pr, "queued", (job,)))
    return out


def _job_table(engine, repo: str) -> list[tuple]:
    with Session(engine) as session:
        # Per PR in arrival order; which of two PRs' jobs from one batch is claimed first is not a promise.
        rows = session.scalars(select(Job).where(Job.repo == repo).order_by(Job.pr, Job.id))
        return [(r.kind, r.pr, r.head_sha, r.state, r.cancel_requested, r.superseded_by) for r in rows]


_op = st.tuples(st.sampled_from(["review", "review", "approval", "accept_regression", "closed", "rerequested"]),
                st.sampled_from([1, 2]), st.sampled_from(["a" * 40, "b" * 40, "c" * 40]))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(_op, min_size=1, max_size=12), running_first=st.booleans())
def test_a_batch_leaves_the_same_jobs_as_its_deliveries_stored_one_by_one(engine, ops, running_first):
    """Whatever mix of pushes, closes, approvals and re-runs on two PRs arrives together — including a
    running review the batch must tell to stop — storing it as one batch (one executemany per kind of
    change) ends in exactly the job table that storing each delivery alone ends in."""
    tag = uuid.uuid4().hex[:8]
    batched, one_by_one = f"batch-{tag}/r", f"alone-{tag}/r"
    for repo in (batched, one_by_one):
        queue.store_deliveries(engine, [DeliveryRecord(f"{repo}-seed", "pull_request", "opened", repo, 1, "queued",
                                                       (NewJob("review", repo, 1, 99, "0" * 40, {}),))])
        if running_first:
            with engine.begin() as conn:
                conn.execute(update(Job).where(Job.repo == repo).values(state="running", worker="w"))
    assert queue.store_deliveries(engine, _deliveries(ops, batched)) == [True] * len(ops)
    for record in _deliveries(ops, one_by_one):
        queue.store_deliveries(engine, [record])
    assert _job_table(engine, batched) == _job_table(engine, one_by_one)


def test_the_writer_replaces_a_connection_the_database_dropped_without_failing_a_delivery(pg_database_url):
    """The writer keeps its connection between batches (no checkout ping). When PostgreSQL drops it —
    a restart, an idle timeout, an administrator — the next delivery is still stored, not answered 503."""
    engine = make_engine(pg_database_url)
    upgrade(engine)
    writer = DeliveryWriter(engine)
    try:
        assert asyncio.run(writer.store(review("d1", "a"))) is True
        with engine.connect() as admin:
            killed = admin.execute(text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )).scalar()
        assert killed >= 1  # the writer's connection was among them
        assert asyncio.run(writer.store(review("d2", "b"))) is True
        assert jobs(engine) == [("a", "superseded"), ("b", "queued")]
    finally:
        engine.dispose()
