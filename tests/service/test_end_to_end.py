"""End to end over real HTTP: simulator ⇄ service ⇄ scripted model server, with the example repo."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.result import APPROVAL_CHECK, COMMENT_MARKER, EVALS_CHECK
from tests.service.harness import stack

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "support-bot"


def overlay(name: str) -> dict[str, bytes]:
    root = EXAMPLE / "pulls" / name
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file() and p.name != "pr.json"}


@pytest.fixture
def running(tmp_path, model_server):
    env = {"OPENAI_BASE_URL": model_server.url + "/v1", "OPENAI_API_KEY": "sk-test-not-real"}
    with stack(tmp_path, env=env) as s:
        s.sim.create_org("acme")
        s.sim.create_repo_from_dir("acme", "support-bot", EXAMPLE)
        s.sim.add_team("acme", "support-prompts", ["erin", "frank"])
        s.sim.add_team("acme", "prompt-eng", ["gina"])
        s.sim.install("acme")
        yield s


def runs_by_name(sim, sha):
    return {r.name: r for r in sim.check_runs("acme/support-bot", sha)}


def bot_comments(sim, number):
    return [c for c in sim.comments("acme/support-bot", number) if c.body.startswith(COMMENT_MARKER)]


def test_friendlier_prompt_pr_gets_failing_evals_one_comment_and_pending_approval(running):
    sim = running.sim
    pr = sim.open_pull("acme/support-bot", "friendlier", overlay("friendlier"), "Make the support bot friendlier", "dave")
    running.wait_idle()
    runs = runs_by_name(sim, pr.head_sha)
    assert set(runs) == {EVALS_CHECK, APPROVAL_CHECK}
    assert runs[EVALS_CHECK].status == "completed" and runs[EVALS_CHECK].conclusion == "failure"
    assert runs[APPROVAL_CHECK].status == "completed" and runs[APPROVAL_CHECK].conclusion != "success"
    (comment,) = bot_comments(sim, pr.number)
    assert "regressed" in comment.body
    assert "Refunds are only possible within 30 days of delivery" in comment.body


def test_push_edits_the_same_comment_and_supersedes_nothing_left_hanging(running):
    sim = running.sim
    pr = sim.open_pull("acme/support-bot", "friendlier", overlay("friendlier"), "Friendlier", "dave")
    running.wait_idle()
    first = bot_comments(sim, pr.number)
    reflowed = overlay("reflow")
    pr2 = sim.push("acme/support-bot", pr.number, reflowed)
    running.wait_idle()
    second = bot_comments(sim, pr.number)
    assert len(first) == len(second) == 1 and first[0].id == second[0].id
    assert second[0].body != first[0].body
    for sha in (pr.head_sha, pr2.head_sha):
        for run in sim.check_runs("acme/support-bot", sha):
            assert run.status == "completed", (sha, run.name)
    runs = runs_by_name(sim, pr2.head_sha)
    assert runs[EVALS_CHECK].conclusion == "success"


def test_pr_touching_no_prompt_gets_two_success_checks_and_no_comment(running):
    sim = running.sim
    pr = sim.open_pull("acme/support-bot", "docs", {"README.md": "# Support bot\n\nNew docs.\n"}, "Docs", "dave")
    running.wait_idle()
    runs = runs_by_name(sim, pr.head_sha)
    assert {n: (r.status, r.conclusion) for n, r in runs.items()} == {
        EVALS_CHECK: ("completed", "success"),
        APPROVAL_CHECK: ("completed", "success"),
    }
    assert "no prompt files changed" in (runs[EVALS_CHECK].title + runs[EVALS_CHECK].summary).lower()
    assert bot_comments(sim, pr.number) == []


def test_malformed_config_fails_both_checks_naming_file_and_line(running):
    sim = running.sim
    sim.push_branch("acme/support-bot", "main", {".github/prompt-review.yml": "evals:\n  fail_on: sometimes\n"})
    pr = sim.open_pull("acme/support-bot", "p", {"prompts/support/system.md": "Be brief.\n"}, "Prompt", "dave")
    running.wait_idle()
    runs = runs_by_name(sim, pr.head_sha)
    assert runs[EVALS_CHECK].conclusion == "failure"
    assert runs[APPROVAL_CHECK].conclusion == "failure"
    summary = runs[EVALS_CHECK].summary
    assert ".github/prompt-review.yml:2" in summary


def test_owner_approval_turns_the_approval_check_green_without_rerunning_evals(running, model_server):
    import httpx

    sim = running.sim
    pr = sim.open_pull("acme/support-bot", "reflow", overlay("reflow"), "Reflow", "dave")
    running.wait_idle()
    assert runs_by_name(sim, pr.head_sha)[APPROVAL_CHECK].conclusion != "success"
    calls_before = httpx.get(model_server.url + "/_control/stats").json()
    sim.submit_review("acme/support-bot", pr.number, "dave", "APPROVED")  # the author: does not count
    running.wait_idle()
    assert runs_by_name(sim, pr.head_sha)[APPROVAL_CHECK].conclusion != "success"
    sim.submit_review("acme/support-bot", pr.number, "erin", "APPROVED")  # acme/support-prompts
    running.wait_idle()
    assert runs_by_name(sim, pr.head_sha)[APPROVAL_CHECK].conclusion == "success"
    assert httpx.get(model_server.url + "/_control/stats").json() == calls_before
