"""Model provider 500s and 429s: transient ones are retried unnoticed; when retries run out the
review still completes, the affected cases are reported as errors (never as regressions) and the
evals check does not fail on regressions it never measured."""

from __future__ import annotations

import httpx

from tests.reliability.common import (APPROVAL_CHECK, BAD_PROMPT, EVALS_CHECK, GOOD_PROMPT, REPO,
                                      assert_nothing_left_in_progress, bot_comments, runs_by_name, tiny_stack)


def fault(model_url: str, **spec) -> None:
    httpx.post(model_url + "/_control/faults", json=spec).raise_for_status()


def stats(model_url: str) -> dict:
    return httpx.get(model_url + "/_control/stats").json()


def test_transient_model_errors_are_retried_and_the_regression_is_still_found(tmp_path, model):
    with tiny_stack(tmp_path, model.url) as s:
        fault(model.url, status=500, count=2, retry_after=0)
        fault(model.url, status=429, count=2, retry_after=0)
        pr = s.sim.open_pull(REPO, "bad", {"prompts/greet.txt": BAD_PROMPT}, "Bad", "dave")
        s.wait_idle()
        assert stats(model.url)["faults_served"] == 4
        runs = runs_by_name(s.sim, pr.head_sha)
        assert runs[EVALS_CHECK].conclusion == "failure"
        assert "8 of 8 cases regressed" in runs[EVALS_CHECK].title
        (comment,) = bot_comments(s.sim, pr.number)
        assert "error" not in comment.body.split("---")[0].lower()


def test_model_errors_beyond_retries_are_reported_as_errors_not_regressions(tmp_path, model):
    with tiny_stack(tmp_path, model.url) as s:
        # Every call fails, retries included: nothing was measured, so nothing can have regressed.
        fault(model.url, status=500, count=400, retry_after=0)
        fault(model.url, status=429, count=400, retry_after=0)
        pr = s.sim.open_pull(REPO, "bad", {"prompts/greet.txt": BAD_PROMPT}, "Bad", "dave")
        s.wait_idle()
        runs = runs_by_name(s.sim, pr.head_sha)
        assert set(runs) == {EVALS_CHECK, APPROVAL_CHECK}
        evals = runs[EVALS_CHECK]
        assert evals.status == "completed"
        assert evals.conclusion != "failure" or "regress" not in (evals.title + evals.summary).lower()
        assert "regressed" not in evals.title.lower()
        assert "error" in (evals.title + evals.summary).lower()
        (comment,) = bot_comments(s.sim, pr.number)
        assert "error" in comment.body.lower()
        assert "regressed" not in comment.body.lower().split("####")[0]  # the headline
        assert runs[APPROVAL_CHECK].status == "completed"
        assert_nothing_left_in_progress(s.sim)


def test_model_errors_on_a_harmless_change_do_not_fail_the_evals_check(tmp_path, model):
    with tiny_stack(tmp_path, model.url) as s:
        fault(model.url, status=500, count=400, retry_after=0)
        pr = s.sim.open_pull(REPO, "good", {"prompts/greet.txt": GOOD_PROMPT}, "Good", "dave")
        s.wait_idle()
        evals = runs_by_name(s.sim, pr.head_sha)[EVALS_CHECK]
        assert evals.status == "completed"
        assert "regressed" not in evals.title.lower()
        assert "error" in (evals.title + evals.summary).lower()
