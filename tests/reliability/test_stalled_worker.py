"""A worker that stalls past its lease (a long GC pause, a frozen VM, a database outage longer than
the lease) and wakes up after another worker re-claimed its job must stop without publishing: the
PR gets one review, not two racing ones."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.service import queue
from bot.service.db import ReviewRecord, utcnow
from bot.service.worker import Worker
from tests.reliability.common import (APPROVAL_CHECK, BAD_PROMPT, EVALS_CHECK, REPO, assert_nothing_left_in_progress,
                                      bot_comments, tiny_stack)
from tests.service.harness import wait_for


def test_worker_waking_after_its_job_was_reclaimed_does_not_publish_a_second_review(tmp_path, model):
    with tiny_stack(tmp_path, model.url, workers=1, job_lease_seconds=30) as s:
        (stalled,) = s.service.workers
        httpx.post(model.url + "/_control/faults", json={"delay_ms": 1500, "count": 8}).raise_for_status()
        pr = s.sim.open_pull(REPO, "slow", {"prompts/greet.txt": BAD_PROMPT}, "Slow", "dave")
        stats = lambda: httpx.get(model.url + "/_control/stats").json()["requests"]  # noqa: E731
        wait_for(lambda: stats() > 0, 30, "the first worker never reached its evals")

        # The first worker is now "stalled" inside its model calls. Past its lease, a second worker
        # takes the job over (as the first's lease had run out) and completes the review.
        rescuer = Worker(s.service.settings, s.service.engine, s.service.github, s.service.metrics, env=s.service.env)
        job = queue.claim(s.service.engine, rescuer.name, 30, now=utcnow() + timedelta(seconds=31))
        assert job is not None and job.attempts == 2
        rescuer._run(job)

        wait_for(lambda: s.service.metrics.jobs.labels("review", "lost")._value.get() == 1, 60,
                 "the stalled worker never noticed it lost the job")
        s.wait_idle()
        with Session(s.service.engine) as session:
            reviews = session.scalars(select(ReviewRecord).where(ReviewRecord.head_sha == pr.head_sha)).all()
        assert len(reviews) == 1, "the stalled worker published a second review"
        runs = s.sim.check_runs(REPO, pr.head_sha)
        assert sorted(r.name for r in runs) == [APPROVAL_CHECK, EVALS_CHECK]
        assert {r.name: r.conclusion for r in runs}[EVALS_CHECK] == "failure"
        assert len(bot_comments(s.sim, pr.number)) == 1
        assert_nothing_left_in_progress(s.sim)
        assert stalled.name != rescuer.name
