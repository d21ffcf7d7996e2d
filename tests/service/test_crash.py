"""A worker process SIGKILLed mid-review: the job is re-claimed after its lease and completes
exactly once — one comment, two check runs, each created once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.core.result import COMMENT_MARKER
from bot.modelserver.app import create_app as create_model_app
from bot.serving import start_in_thread
from bot.service.db import Job
from tests.service.harness import SECRET, stack, wait_for
from tests.service.test_end_to_end import EXAMPLE, overlay

pytestmark = pytest.mark.slow


def spawn_worker(db_url: str, api_url: str, key: str, model_url: str, log: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "PROMPT_REVIEW_APP_ID": "1",
        "PROMPT_REVIEW_PRIVATE_KEY": key,
        "PROMPT_REVIEW_WEBHOOK_SECRET": SECRET,
        "PROMPT_REVIEW_GITHUB_API_URL": api_url,
        "PROMPT_REVIEW_DATABASE_URL": db_url,
        "PROMPT_REVIEW_JOB_LEASE_SECONDS": "3",
        "PROMPT_REVIEW_POLL_INTERVAL_SECONDS": "0.1",
        "PROMPT_REVIEW_WORKER_CONCURRENCY": "1",
        "PROMPT_REVIEW_REDELIVER_INTERVAL_SECONDS": "0",
        "OPENAI_BASE_URL": model_url + "/v1",
        "OPENAI_API_KEY": "sk-test-not-real",
    }
    return subprocess.Popen([sys.executable, "-m", "bot", "worker"], env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_sigkilled_worker_loses_nothing_and_duplicates_nothing(tmp_path, backend, request):
    db_url = f"sqlite:///{tmp_path / 'crash.db'}" if backend == "sqlite" else request.getfixturevalue("pg_database_url")
    with start_in_thread(create_model_app(latency_ms=40)) as model, stack(tmp_path, db_url=db_url, workers=0) as s:
        s.sim.create_org("acme")
        s.sim.create_repo_from_dir("acme", "support-bot", EXAMPLE)
        s.sim.install("acme")
        key = s.sim.private_key_pem.decode()
        first = spawn_worker(db_url, s.sim_server.url, key, model.url, tmp_path / "worker1.log")
        try:
            pr = s.sim.open_pull("acme/support-bot", "friendlier", overlay("friendlier"), "Friendlier", "dave")

            def running_with_checks():
                with Session(s.service.engine) as session:
                    job = session.scalar(select(Job).where(Job.kind == "review"))
                    return job is not None and job.state == "running" and bool(job.check_runs)

            wait_for(running_with_checks, 60, "the first worker never started the review")
            time.sleep(0.5)  # mid-review: model calls under way
            first.send_signal(signal.SIGKILL)
            first.wait(10)
            assert all(r.status != "completed" for r in s.sim.check_runs("acme/support-bot", pr.head_sha))
        finally:
            if first.poll() is None:
                first.kill()
        second = spawn_worker(db_url, s.sim_server.url, key, model.url, tmp_path / "worker2.log")
        try:
            def done():
                with Session(s.service.engine) as session:
                    job = session.scalar(select(Job).where(Job.kind == "review"))
                    return job if job.state in ("done", "dead") else None

            job = wait_for(done, 120, "the job was not completed after the crash:\n" + (tmp_path / "worker2.log").read_text(errors="replace"))
        finally:
            second.terminate()
            second.wait(10)
        assert job.state == "done" and job.attempts == 2
        runs = s.sim.check_runs("acme/support-bot", pr.head_sha)
        assert sorted(r.name for r in runs) == ["prompt-review/approval", "prompt-review/evals"]
        assert all(r.status == "completed" for r in runs)
        assert len(s.sim.calls_to("POST", r"/check-runs$")) == 2
        comments = [c for c in s.sim.comments("acme/support-bot", pr.number) if c.body.startswith(COMMENT_MARKER)]
        assert len(comments) == 1
        assert len(s.sim.calls_to("POST", r"/issues/\d+/comments$")) == 1
