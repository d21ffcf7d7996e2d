"""A job that never ends (here: a model that never answers) is stopped at its deadline
(PROMPT_REVIEW_JOB_TIMEOUT_SECONDS): its check runs fail saying so in plain words, it is not
retried, and the worker goes on to the next PR. Real service, GitHub simulator and scripted model
server on loopback."""

from __future__ import annotations

import httpx
import pytest

from bot.service import queue
from tests.reliability.common import EVALS_CHECK, FILES, GOOD_PROMPT, REPO, assert_nothing_left_in_progress, model_env, runs_by_name
from tests.service.harness import stack, wait_for

# The provider's own timeout is past the test, so only the job's deadline can end the hung review.
SLOW_CONFIG = FILES[".github/prompt-review.yml"].replace("  concurrency: 4\n", "  concurrency: 4\n  timeout_s: 600\n")
NEVER_MS = 600_000


@pytest.fixture
def model(model_server):
    httpx.post(model_server.url + "/_control/reset")
    yield model_server
    httpx.post(model_server.url + "/_control/reset")


def test_a_review_past_its_deadline_is_stopped_failed_with_the_reason_and_the_next_pr_proceeds(tmp_path, model):
    with stack(tmp_path, env=model_env(model.url), workers=1, job_timeout_seconds=2, job_max_attempts=5) as s:
        s.sim.create_org("acme")
        s.sim.create_repo("acme", "tiny", {**FILES, ".github/prompt-review.yml": SLOW_CONFIG})
        s.sim.set_permission(REPO, "erin", "write")
        s.sim.install("acme")
        # The first four model calls (the hostile PR's first batch) never get an answer.
        httpx.post(model.url + "/_control/faults", json={"delay_ms": NEVER_MS, "count": 4}).raise_for_status()
        hung = s.sim.open_pull(REPO, "hostile", {"prompts/greet.txt": GOOD_PROMPT}, "Hangs the model", "mallory")
        wait_for(lambda: httpx.get(model.url + "/_control/stats").json()["requests"] >= 4, 30,
                 "the hostile PR's review never reached its model calls")
        next_pr = s.sim.open_pull(REPO, "next", {"prompts/greet.txt": GOOD_PROMPT + "Be brief.\n"}, "Next", "dave")

        def completed(sha):
            runs = runs_by_name(s.sim, sha)
            return runs if len(runs) == 2 and all(r.status == "completed" for r in runs.values()) else None

        # The next PR is reviewed long before the hung model calls (600 s) could end on their own.
        runs = wait_for(lambda: completed(hung.head_sha), 60, "the hung review's check runs were never completed")
        for run in runs.values():
            assert run.conclusion == "failure"
            assert run.title == "Review stopped after 2 s"
            assert "stopped this review after 2 s" in run.summary and "PROMPT_REVIEW_JOB_TIMEOUT_SECONDS" in run.summary
        nxt = wait_for(lambda: completed(next_pr.head_sha), 60, "the next PR's review did not proceed")
        assert nxt[EVALS_CHECK].conclusion == "success"

        s.wait_idle()
        counts = queue.counts_by_state(s.service.engine)
        assert counts.get("dead") == 1 and counts.get("queued") is None, counts  # stopped once, not retried
        assert s.service.metrics.jobs.labels("review", "timeout")._value.get() == 1
        assert_nothing_left_in_progress(s.sim)
