"""Deploying from the merged PR: the `/prompt-review deploy` comment and the check run's button."""

from __future__ import annotations

from bot.core.result import EVALS_CHECK
from tests.release.conftest import REPO, SYSTEM, Api, manifest
from tests.release.test_release_flow import merged


def test_deploy_comment_on_a_merged_pr_moves_the_label_and_answers(running):
    sim, url = running.sim, running.web.url
    merged(running, "reflow", approve=True)
    command = sim.comment_event(REPO, 1, "erin", "/prompt-review deploy staging")
    running.wait_idle()
    assert sim.reactions_of(command.id) == ["rocket"]
    reply = sim.comments(REPO, 1)[-1]
    assert "Deployed **staging**" in reply.body and SYSTEM in reply.body
    erin = Api(url, sim.user_token("erin"))
    (deployment,) = erin.history()
    assert (deployment["via"], deployment["actor"], deployment["pr"]) == ("comment", "erin", 1)
    assert [m["path"] for m in deployment["moves"]] == [SYSTEM]  # what the PR brought, nothing else

    refused = sim.comment_event(REPO, 1, "mallory", "/prompt-review deploy production")
    running.wait_idle()
    assert sim.reactions_of(refused.id) == ["-1"]
    assert "refused" in sim.comments(REPO, 1)[-1].body and "mallory" in sim.comments(REPO, 1)[-1].body
    assert len(erin.history()) == 1


def test_failed_review_needs_a_reason_in_the_comment_and_the_button_deploys_staging(running):
    sim, url = running.sim, running.web.url
    head = merged(running, "friendlier", approve=False)
    sim.comment_event(REPO, 1, "erin", "/prompt-review deploy production")
    running.wait_idle()
    assert "did not pass" in sim.comments(REPO, 1)[-1].body
    sim.comment_event(REPO, 1, "erin", "/prompt-review deploy production accepted: tone matters more this week")
    running.wait_idle()
    erin = Api(url, sim.user_token("erin"))
    (override,) = erin.history()
    assert override["override"] is True and override["reason"] == "accepted: tone matters more this week"

    evals = next(r for r in sim.check_runs(REPO, head) if r.name == EVALS_CHECK)
    # production got this PR by the comment above: its rollback button joins the deploy buttons
    assert [a["identifier"] for a in evals.actions] == ["deploy_staging", "deploy_production", "rollback_production"]
    sim.request_check_run_action(REPO, evals.id, "deploy_staging", "erin")
    running.wait_idle()
    staged = erin.history()[-1]
    assert (staged["label"], staged["via"], staged["commit"]) == ("staging", "button", head)
    read = erin.token("read")
    assert manifest(url, read, "staging").json()["prompts"][0]["path"] == SYSTEM
