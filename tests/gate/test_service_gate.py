"""The gate through the real service and the GitHub simulator: what a user sees on the PR when a
change slips past `prompts.include`, and when a PR loosens the checks that judge it."""

from __future__ import annotations

import pytest

from bot.core.result import APPROVAL_CHECK, COMMENT_MARKER, EVALS_CHECK
from tests.gate.conftest import WEAK, prompt_text, suite_text
from tests.service.harness import stack

REPO = "acme/gate"
FILES = {
    ".github/prompt-review.yml": 'prompts:\n  include: ["prompts/**"]\n',
    ".github/PROMPTOWNERS": "/prompts/ @paula\n/src/ @paula\n/evals/ @tess\n",
    "src/system_prompt.txt": prompt_text(),
    "evals/promptfooconfig.yaml": suite_text(prompt_ref="file://../src/system_prompt.txt"),
}


@pytest.fixture
def running(tmp_path, model_server):
    env = {"OPENAI_BASE_URL": model_server.url + "/v1", "OPENAI_API_KEY": "sk-test-not-real"}
    with stack(tmp_path, env=env) as s:
        s.sim.create_org("acme")
        s.sim.create_repo("acme", "gate", FILES)
        for user in ("paula", "tess"):
            s.sim.set_permission(REPO, user, "write")
        s.sim.install("acme")
        yield s


def _runs(sim, sha):
    return {r.name: r for r in sim.check_runs(REPO, sha)}


def _comment(sim, number):
    (comment,) = [c for c in sim.comments(REPO, number) if c.body.startswith(COMMENT_MARKER)]
    return comment.body


def test_a_prompt_outside_the_patterns_is_reviewed_commented_and_blocked(running):
    sim = running.sim
    pr = sim.open_pull(REPO, "friendlier", {"src/system_prompt.txt": prompt_text(WEAK)}, "Friendlier", "mallory")
    running.wait_idle()
    runs = _runs(sim, pr.head_sha)
    assert runs[EVALS_CHECK].conclusion == "failure", runs[EVALS_CHECK].title
    assert runs[EVALS_CHECK].title.startswith("5 of 5 cases regressed")
    assert runs[APPROVAL_CHECK].conclusion != "success" and "paula" in runs[APPROVAL_CHECK].summary
    body = _comment(sim, pr.number)
    assert "src/system\\_prompt.txt" in body or "src/system_prompt.txt" in body
    assert "prompt of evals/promptfooconfig.yaml" in body.replace("\\", "")


def test_loosened_checks_block_until_the_suite_owner_accepts(running):
    sim = running.sim
    loose = suite_text(prompt_ref="file://../src/system_prompt.txt").replace("value: 30 days", "value: refund")
    pr = sim.open_pull(REPO, "loosen", {"src/system_prompt.txt": prompt_text(WEAK), "evals/promptfooconfig.yaml": loose},
                       "Friendlier, tests updated", "mallory")
    running.wait_idle()
    runs = _runs(sim, pr.head_sha)
    evals = runs[EVALS_CHECK]
    assert evals.conclusion == "failure" and "5 with checks loosened" in evals.title
    assert "tess" in runs[APPROVAL_CHECK].summary  # the suite's owner must approve the suite edit
    assert "Checks loosened in this PR" in _comment(sim, pr.number)

    sim.request_check_run_action(REPO, evals.id, "accept_regression", "paula")  # owns the prompt, not the suite
    running.wait_idle()
    assert _runs(sim, pr.head_sha)[EVALS_CHECK].conclusion == "failure"
    sim.request_check_run_action(REPO, evals.id, "accept_regression", "tess")
    running.wait_idle()
    assert _runs(sim, pr.head_sha)[EVALS_CHECK].conclusion == "success"
