"""PRs from forks: evals (which call paid providers) wait for a maintainer's label; the approval
check runs regardless; re-applying the label after a new push runs the evals again."""

from __future__ import annotations

import httpx

from tests.reliability.common import (APPROVAL_CHECK, BAD_PROMPT, EVALS_CHECK, GOOD_PROMPT, LABEL, REPO,
                                      assert_nothing_left_in_progress, tiny_stack)


def model_calls(model_url: str) -> int:
    return sum(httpx.get(model_url + "/_control/stats").json()["by_model"].values())


def latest_runs(sim, sha):
    return {r.name: r for r in sorted(sim.check_runs(REPO, sha), key=lambda r: r.id)}


def test_fork_pr_waits_for_the_label_before_calling_any_model(tmp_path, model):
    with tiny_stack(tmp_path, model.url) as s:
        pr = s.sim.open_pull(REPO, "p", {"prompts/greet.txt": BAD_PROMPT}, "From a fork", "mallory", fork=True)
        s.wait_idle()
        assert model_calls(model.url) == 0
        runs = latest_runs(s.sim, pr.head_sha)
        evals = runs[EVALS_CHECK]
        assert evals.status == "completed" and evals.conclusion == "action_required"
        assert LABEL in evals.title + evals.summary
        assert runs[APPROVAL_CHECK].status == "completed"
        assert "erin" in runs[APPROVAL_CHECK].summary  # owners were still worked out

        s.sim.add_label(REPO, pr.number, "unrelated", user="erin")
        s.wait_idle()
        assert model_calls(model.url) == 0

        s.sim.add_label(REPO, pr.number, LABEL, user="erin")
        s.wait_idle()
        assert model_calls(model.url) > 0
        evals = latest_runs(s.sim, pr.head_sha)[EVALS_CHECK]
        assert evals.conclusion == "failure" and "regressed" in evals.title
        assert_nothing_left_in_progress(s.sim)


def test_fork_pr_needs_the_label_again_after_a_new_push(tmp_path, model):
    with tiny_stack(tmp_path, model.url) as s:
        pr = s.sim.open_pull(REPO, "p", {"prompts/greet.txt": BAD_PROMPT}, "From a fork", "mallory", fork=True,
                             labels=[LABEL])
        s.wait_idle()
        assert model_calls(model.url) == 0  # a label carried over from before is not a maintainer's go-ahead
        s.sim.add_label(REPO, pr.number, LABEL, user="erin")
        s.wait_idle()
        first = model_calls(model.url)
        assert first > 0
        pr2 = s.sim.push(REPO, pr.number, {"prompts/greet.txt": GOOD_PROMPT})
        s.wait_idle()
        assert model_calls(model.url) == first
        assert latest_runs(s.sim, pr2.head_sha)[EVALS_CHECK].conclusion == "action_required"
        s.sim.remove_label(REPO, pr.number, LABEL, user="erin")
        s.sim.add_label(REPO, pr.number, LABEL, user="erin")
        s.wait_idle()
        assert model_calls(model.url) > first
        assert latest_runs(s.sim, pr2.head_sha)[EVALS_CHECK].conclusion == "success"
        assert_nothing_left_in_progress(s.sim)
