"""The durable queue on SQLite and PostgreSQL: leases, coalescing per PR, retries, one runner per PR."""

from __future__ import annotations

import threading
from datetime import timedelta


from sqlalchemy import event

from bot.service import queue
from bot.service.db import make_engine, utcnow
from bot.service.migrate import is_current, upgrade


def job(sha: str, pr: int = 1, kind: str = "review") -> queue.NewJob:
    return queue.NewJob(kind, "acme/bot", pr, 99, sha, {"action": "synchronize"})


def test_migrations_are_idempotent_and_current(engine):
    upgrade(engine)
    assert is_current(engine)


def test_delivery_and_job_are_stored_once_per_delivery_id(engine):
    opened = queue.DeliveryRecord("d1", "pull_request", "opened", "acme/bot", 1, "queued", (job("a"),))
    assert queue.store_deliveries(engine, [opened]) == [True]
    assert queue.store_deliveries(engine, [opened]) == [False]
    assert queue.counts_by_state(engine) == {"queued": 1}


def test_newer_head_supersedes_queued_work_for_the_same_pr(engine):
    queue.enqueue(engine, job("a"))
    queue.enqueue(engine, job("b"))
    queue.enqueue(engine, job("x", pr=2))
    assert queue.counts_by_state(engine) == {"queued": 2, "superseded": 1}
    claimed = {queue.claim(engine, "w", 30).head_sha, queue.claim(engine, "w", 30).head_sha}
    assert claimed == {"b", "x"}


def test_newer_head_asks_running_work_to_stop(engine):
    queue.enqueue(engine, job("a"))
    running = queue.claim(engine, "w1", 30)
    assert queue.cancel_requested(engine, running.id) is None
    queue.enqueue(engine, job("b"))
    assert queue.cancel_requested(engine, running.id) == queue.StopRequest(queue.StopCause.NEWER_HEAD, "b")


def test_only_one_job_per_pr_runs_at_a_time(engine):
    queue.enqueue(engine, job("a"))
    first = queue.claim(engine, "w1", 30)
    queue.enqueue(engine, job("a", kind="approval"))
    assert queue.claim(engine, "w2", 30) is None  # the approval waits for the review of the same PR
    queue.finish(engine, first.id, "w1")
    second = queue.claim(engine, "w2", 30)
    assert second is not None and second.kind == "approval"


def test_expired_lease_is_reclaimed_by_another_worker(engine):
    queue.enqueue(engine, job("a"))
    first = queue.claim(engine, "dead-worker", 30)
    assert queue.claim(engine, "w2", 30) is None
    later = utcnow() + timedelta(seconds=31)
    again = queue.claim(engine, "w2", 30, now=later)
    assert again is not None and again.id == first.id and again.attempts == 2
    assert queue.cancel_requested(engine, first.id, "dead-worker") == queue.StopRequest(queue.StopCause.LOST)  # it must stop if it wakes up
    assert not queue.heartbeat(engine, first.id, "dead-worker", 30)
    assert queue.cancel_requested(engine, first.id, "w2") is None
    assert not queue.finish(engine, first.id, "dead-worker")  # the old worker can no longer complete it
    assert queue.finish(engine, first.id, "w2")


def test_failed_job_is_retried_after_its_backoff(engine):
    queue.enqueue(engine, job("a"))
    claimed = queue.claim(engine, "w", 30)
    queue.retry_later(engine, claimed.id, "w", "GitHub 502", delay_seconds=60)
    assert queue.claim(engine, "w", 30) is None
    retried = queue.claim(engine, "w", 30, now=utcnow() + timedelta(seconds=61))
    assert retried.id == claimed.id and retried.attempts == 2


def test_closing_the_pr_cancels_queued_and_running_work(engine):
    queue.enqueue(engine, job("a"))
    running = queue.claim(engine, "w", 30)
    queue.enqueue(engine, job("a", pr=1, kind="approval"))
    queue.store_deliveries(engine, [queue.DeliveryRecord("close", "pull_request", "closed", "acme/bot", 1, "recorded",
                                                         cancel_key="acme/bot#1")])
    assert queue.cancel_requested(engine, running.id) == queue.StopRequest(queue.StopCause.CLOSED)
    assert queue.counts_by_state(engine).get("queued", 0) == 0


def test_concurrent_claimers_never_take_the_same_job(engine):
    for n in range(40):
        queue.enqueue(engine, job(f"s{n}", pr=n))
    taken: list[int] = []
    lock = threading.Lock()

    def claimer(name):
        while (claimed := queue.claim(engine, name, 30)) is not None:
            with lock:
                taken.append(claimed.id)

    threads = [threading.Thread(target=claimer, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(taken) == 40 and len(set(taken)) == 40


def test_intake_and_claims_never_scan_or_sort_the_backlog(tmp_path):
    """SQLite plans without statistics: each statement of storing a delivery and of claiming must find
    a PR's jobs (or the oldest queued one) through an index, never walk or sort every queued job —
    otherwise intake slows in proportion to the backlog (it did: 0.3 → 1.9 ms a delivery at 12,000 jobs)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'plan.db'}")
    upgrade(engine)
    seen: list[tuple[str, object]] = []

    @event.listens_for(engine, "before_cursor_execute")
    def capture(_conn, _cursor, statement, parameters, _context, executemany):
        if " jobs" in statement:
            seen.append((statement, parameters[0] if executemany else parameters))

    queue.store_deliveries(engine, [
        queue.DeliveryRecord("d1", "pull_request", "synchronize", "acme/bot", 1, "queued", (job("a"),)),
        queue.DeliveryRecord("d2", "pull_request", "closed", "acme/bot", 2, "recorded", cancel_key="acme/bot#2"),
    ])
    claimed = queue.claim(engine, "w", 60)
    queue.finish(engine, claimed.id, "w")
    event.remove(engine, "before_cursor_execute", capture)
    plans = {}
    with engine.connect() as conn:
        for statement, parameters in seen:
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
            plans[statement] = [row[-1] for row in rows]
    engine.dispose()
    assert len(plans) >= 5, plans  # cancel, supersede, insert-unless-queued, claim, finish
    for statement, steps in plans.items():
        for step in steps:
            assert not step.startswith("SCAN jobs") and not step.startswith("SCAN twin"), (statement, steps)
            batch_in_arrival_order = "INSERT INTO jobs" in statement and "ORDER BY c.n" in statement  # sorts the batch only
            assert "TEMP B-TREE" not in step or batch_in_arrival_order, (statement, steps)
            if "(state=?)" in step:  # walking jobs by state is only for the claim's lookups, which stop at the first
                assert statement.startswith("UPDATE") and "ORDER BY cand.id" in statement, (statement, steps)


def test_intake_looks_prs_up_by_index_on_a_fresh_postgresql_database(pg_database_url):
    """A new database under a burst has no statistics yet. PostgreSQL then guessed few queued jobs and
    hash-joined the batch against every queued one (a bitmap scan by state per statement), so intake
    slowed with the backlog (bench/webhook_load.py: 2.5k instead of 5.6k deliveries/s)."""
    engine = make_engine(pg_database_url)
    upgrade(engine)
    try:
        for b in range(40):  # a 2,000-job backlog, never analyzed
            queue.store_deliveries(engine, [
                queue.DeliveryRecord(f"b{b}-{i}", "pull_request", "opened", "acme/bot", 1000 + 50 * b + i, "queued",
                                     (job(f"{b:020x}{i:020x}", pr=1000 + 50 * b + i),)) for i in range(50)])
        seen: list[tuple[str, object]] = []

        @event.listens_for(engine, "before_cursor_execute")
        def capture(_conn, _cursor, statement, parameters, _context, _executemany):
            seen.append((statement, parameters))

        queue.store_deliveries(engine, [
            queue.DeliveryRecord("p1", "pull_request", "synchronize", "acme/bot", 1000, "queued", (job("f" * 40, pr=1000),)),
            queue.DeliveryRecord("c1", "pull_request", "closed", "acme/bot", 1001, "recorded", cancel_key="acme/bot#1001"),
        ])
        event.remove(engine, "before_cursor_execute", capture)
        with engine.connect() as conn:
            cursor = conn.connection.driver_connection.cursor()
            plans = {}
            for statement, parameters in seen:
                cursor.execute("EXPLAIN " + statement, parameters)
                plans[statement] = [row[0] for row in cursor.fetchall()]
            conn.rollback()
        assert len(plans) == 4, list(plans)  # deliveries, cancel, supersede, insert unless queued
        for statement, plan in plans.items():
            text_ = "\n".join(plan)
            for shape in ("Seq Scan on jobs", "Bitmap Heap Scan on jobs", "Hash Semi Join", "Hash Anti Join", "Hash Join"):
                assert shape not in text_, (statement, text_)
    finally:
        engine.dispose()


def test_only_errors_a_retry_can_fix_are_retried():
    import httpx
    from sqlalchemy.exc import OperationalError

    from bot.github.client import GitHubError
    from bot.service.worker import transient

    assert transient(GitHubError(502, "GET", "/x", "bad gateway")) and transient(GitHubError(429, "POST", "/x", "slow down"))
    assert transient(OperationalError("SELECT 1", {}, Exception("server closed the connection")))
    assert transient(httpx.ConnectError("refused"))
    assert not transient(GitHubError(422, "POST", "/x", "invalid"))
    assert not transient(KeyError("head"))  # a bug fails the same way every time: dead at once, with the error
    assert not transient(TypeError("unsupported operand"))
