"""PostgreSQL really restarted under a running service: while it is down `/readyz` and deliveries
answer 503, nothing is half-written and the workers back off instead of dying; once it is back
the refused delivery is redelivered and reviewed, and the review that was running when the
server went away is finished — one comment and two completed check runs per PR head."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.serving import free_port
from bot.service.db import Delivery, Job
from tests.service.harness import wait_for
from tests.reliability.common import (APPROVAL_CHECK, BAD_PROMPT, EVALS_CHECK, GOOD_PROMPT, REPO,
                                      assert_nothing_left_in_progress, bot_comments, runs_by_name, tiny_stack)

PG_BIN_ENV = "PROMPT_REVIEW_TEST_PG_BIN"
LEASE = 3.0  # seconds: short, so the review that lost its database is re-claimed soon after the restart


@dataclass
class Cluster:
    """A throwaway PostgreSQL server of this test's own: restarting the shared one would break other tests."""

    bin: Path
    directory: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def pg_ctl(self, *args: str) -> None:
        self._run("pg_ctl", "-D", str(self.directory / "data"), *args)

    def start(self) -> None:
        self.pg_ctl("-l", str(self.directory / "log"), "-w", "-t", "60",
                    "-o", f"-h 127.0.0.1 -p {self.port} -k {self.directory} -F -c max_connections=100", "start")

    def stop(self, mode: str = "fast") -> None:
        self.pg_ctl("-m", mode, "-w", "stop")

    def _run(self, program: str, *args: str) -> None:
        # PostgreSQL refuses to run as root; scripts/test.sh runs its cluster as `postgres` the same way.
        as_pg = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        done = subprocess.run([*as_pg, str(self.bin / program), *args], capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            log = (self.directory / "log").read_text() if (self.directory / "log").exists() else ""
            raise RuntimeError(f"{program} {' '.join(args)} failed ({done.returncode}): {done.stderr}{done.stdout}\n{log[-2000:]}")


@pytest.fixture
def own_postgres() -> Iterator[Cluster]:
    pg_bin = os.environ.get(PG_BIN_ENV)
    if not pg_bin:
        pytest.fail(f"{PG_BIN_ENV} is not set: run the tests with `bash scripts/test.sh`, which finds PostgreSQL's server binaries")
    # Not under tmp_path: pytest's temporary root is private to this user (the `postgres` user could not enter
    # it), and the server's socket path must stay short.
    directory = Path(tempfile.mkdtemp(prefix="prompt-review-pg-"))
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres")
    cluster = Cluster(Path(pg_bin), directory, free_port())
    try:
        cluster._run("initdb", "-D", str(directory / "data"), "-U", "postgres", "-A", "trust", "--no-sync")
        cluster.start()
        yield cluster
    finally:
        try:
            cluster.stop("immediate")
        except RuntimeError:
            pass  # already stopped
        shutil.rmtree(directory, ignore_errors=True)


def model_calls(model_url: str) -> int:
    return httpx.get(model_url + "/_control/stats").json()["requests"]


def assert_reviewed_once(sim, number: int, head_sha: str) -> None:
    runs = sim.check_runs(REPO, head_sha)
    assert sorted(r.name for r in runs) == sorted([EVALS_CHECK, APPROVAL_CHECK]), [(r.name, r.status) for r in runs]
    assert {r.status for r in runs} == {"completed"}
    assert len(bot_comments(sim, number)) == 1


def test_postgres_restarted_mid_review_loses_nothing_and_duplicates_nothing(tmp_path, model, own_postgres, caplog):
    caplog.set_level(logging.WARNING, logger="prompt_review")
    # The periodic recovery pass is an hour away: only "the database is back" can trigger the redelivery.
    with tiny_stack(tmp_path, model.url, db_url=own_postgres.url, job_lease_seconds=LEASE, redeliver_interval_seconds=3600) as s:
        ready = lambda: httpx.get(s.web.url + "/readyz", timeout=10).status_code  # noqa: E731
        first = s.sim.open_pull(REPO, "first", {"prompts/greet.txt": BAD_PROMPT}, "First", "dave")
        s.wait_idle()
        assert_reviewed_once(s.sim, first.number, first.head_sha)
        assert ready() == 200

        # A second PR whose evals are slow, so its review is running when the server goes away.
        httpx.post(model.url + "/_control/faults", json={"delay_ms": 1500, "count": 8}).raise_for_status()
        before = model_calls(model.url)
        slow = s.sim.open_pull(REPO, "slow", {"prompts/greet.txt": GOOD_PROMPT}, "Slow", "dave")
        wait_for(lambda: model_calls(model.url) > before, 30, "the slow review never reached its evals")

        own_postgres.stop("fast")
        assert ready() == 503
        pushed = s.sim.push(REPO, first.number, {"prompts/greet.txt": BAD_PROMPT.replace("goodbye", "farewell")})
        refused = s.sim.deliveries("pull_request")[-1]
        assert json.loads(refused.body)["after"] == pushed.head_sha and refused.status_code == 503
        logged = lambda text: any(text in r.getMessage() for r in caplog.records)  # noqa: E731
        wait_for(lambda: logged("backing off"), 30, "no worker backed off")
        # Stay down until the running review has needed the database and lost it.
        wait_for(lambda: logged("attempt 1 failed"), 30, "the running review never noticed the database had gone")
        assert s.service.threads and all(t.is_alive() for t in s.service.threads)  # no worker died

        own_postgres.start()
        wait_for(lambda: ready() == 200, 30, "/readyz never became ready again")
        with Session(s.service.engine) as session:
            stored = session.scalar(select(Delivery.id).where(Delivery.delivery_id == refused.guid))
            jobs_for_push = session.scalars(select(Job.id).where(Job.head_sha == pushed.head_sha)).all()
        # Nothing of the refused delivery was stored — unless GitHub has redelivered it already: a worker
        # that finds the database back asks for that at once, and may beat this look (read after it).
        redelivered = any(d.redelivery for d in s.sim.deliveries("pull_request") if d.guid == refused.guid)
        assert redelivered or (stored is None and jobs_for_push == []), (stored, jobs_for_push)

        # A worker finds the database back and the service asks GitHub at once for the refused delivery.
        redeliveries = lambda guid: [d for d in s.sim.deliveries("pull_request") if d.redelivery and d.guid == guid]  # noqa: E731
        wait_for(lambda: redeliveries(refused.guid), 60, "the refused delivery was never redelivered")
        assert len(redeliveries(refused.guid)) == 1
        # Only failed deliveries are asked for again (on a loaded machine another one may have timed out too).
        sent = s.sim.deliveries("pull_request")
        for again in (d for d in sent if d.redelivery):
            assert not any(d.ok for d in sent if d.guid == again.guid and not d.redelivery), again
        s.sim.wait_for_deliveries()
        wait_for(lambda: logged("working again"), 30, "no worker said it was working again")
        s.wait_idle(timeout=60)

        assert_reviewed_once(s.sim, first.number, pushed.head_sha)
        assert runs_by_name(s.sim, pushed.head_sha)[EVALS_CHECK].conclusion == "failure"
        assert_reviewed_once(s.sim, slow.number, slow.head_sha)
        assert runs_by_name(s.sim, slow.head_sha)[EVALS_CHECK].conclusion == "success"
        with Session(s.service.engine) as session:
            jobs = session.execute(select(Job.state, Job.attempts, Job.last_error).where(Job.head_sha == slow.head_sha)).all()
        assert [(j.state, j.attempts > 1) for j in jobs] == [("done", True)], jobs  # re-claimed after the restart
        assert_nothing_left_in_progress(s.sim)
