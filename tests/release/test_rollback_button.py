"""Rolling back from the merged PR: the "Roll back <label>" button its evals check gains once a deployment
moved its version, and the `/prompt-review rollback LABEL` comment — both the one rollback code path:
owners only, audited with how it was asked, refused in words when nothing precedes."""

from __future__ import annotations

from bot.core.result import EVALS_CHECK
from bot.release.service import check_actions
from tests.release.conftest import REPO, SYSTEM, Api
from tests.release.test_release_flow import merged


def identifiers(sim, head: str) -> list[str]:
    evals = next(r for r in sim.check_runs(REPO, head) if r.name == EVALS_CHECK)
    return [a["identifier"] for a in evals.actions]


def press(running, head: str, identifier: str, user: str) -> None:
    evals = next(r for r in running.sim.check_runs(REPO, head) if r.name == EVALS_CHECK)
    running.sim.request_check_run_action(REPO, evals.id, identifier, user)
    running.wait_idle()


def test_rollback_button_appears_after_a_deployment_and_rolls_back_only_for_owners_and_when_something_precedes(running):
    sim, url = running.sim, running.web.url
    erin = Api(url, sim.user_token("erin"))
    head = merged(running, "reflow", approve=True)
    assert identifiers(sim, head) == ["deploy_staging", "deploy_production"]  # nothing deployed from it yet

    assert erin.deploy("staging", ref=head, prompts=[SYSTEM]).status_code == 201
    assert identifiers(sim, head) == ["deploy_staging", "deploy_production", "rollback_staging"]

    press(running, head, "rollback_staging", "erin")  # the label's first deployment: nothing precedes it
    refusal = sim.comments(REPO, 1)[-1].body
    assert "roll back of **staging** refused" in refusal and "nothing precedes" in refusal
    assert [d["kind"] for d in erin.history()] == ["deploy"]

    base = sim.pull(REPO, 1).base_sha  # canary: first the version before the PR, then the PR's
    assert erin.deploy("canary", ref=base, prompts=[SYSTEM]).status_code == 201
    assert erin.deploy("canary", ref=head, prompts=[SYSTEM]).status_code == 201
    # four buttons would be one too many: staging got this PR already, its deploy button goes first
    assert identifiers(sim, head) == ["deploy_production", "rollback_staging", "rollback_canary"]

    press(running, head, "rollback_canary", "mallory")
    assert "refused" in sim.comments(REPO, 1)[-1].body and "mallory" in sim.comments(REPO, 1)[-1].body
    assert [d["kind"] for d in erin.history()] == ["deploy", "deploy", "deploy"]

    press(running, head, "rollback_canary", "erin")
    assert "Rolled back **canary**" in sim.comments(REPO, 1)[-1].body
    history = erin.history()
    assert (history[-1]["kind"], history[-1]["via"], history[-1]["actor"], history[-1]["reverts"]) == (
        "rollback", "button", "erin", history[2]["id"])
    labels = erin.client.get(f"/repos/{REPO}/labels").json()["labels"]
    assert labels["canary"][0]["version"] == history[1]["moves"][0]["to"]  # the version before the PR again


def test_rollback_comment_uses_the_same_path_and_is_refused_when_nothing_precedes(running):
    sim, url = running.sim, running.web.url
    erin = Api(url, sim.user_token("erin"))
    head = merged(running, "reflow", approve=True)
    assert erin.deploy("staging", ref=head, prompts=[SYSTEM]).status_code == 201

    nothing = sim.comment_event(REPO, 1, "erin", "/prompt-review rollback staging")
    running.wait_idle()
    assert sim.reactions_of(nothing.id) == ["-1"] and "nothing precedes" in sim.comments(REPO, 1)[-1].body

    base = sim.pull(REPO, 1).base_sha
    assert erin.deploy("canary", ref=base, prompts=[SYSTEM]).status_code == 201
    assert erin.deploy("canary", ref=head, prompts=[SYSTEM]).status_code == 201
    command = sim.comment_event(REPO, 1, "erin", "/prompt-review rollback canary wrong tone")
    running.wait_idle()
    assert sim.reactions_of(command.id) == ["rocket"] and "Rolled back **canary**" in sim.comments(REPO, 1)[-1].body
    last = erin.history()[-1]
    assert (last["kind"], last["via"], last["actor"], last["reason"]) == ("rollback", "comment", "erin", "wrong tone")


def test_check_actions_stay_within_github_s_three_and_put_production_s_rollback_first():
    assert [a["identifier"] for a in check_actions(set())] == ["deploy_staging", "deploy_production"]
    assert [a["identifier"] for a in check_actions({"staging", "production", "canary"})] == [
        "rollback_production", "rollback_staging", "rollback_canary"]
    assert [a["identifier"] for a in check_actions({"production"})] == [
        "deploy_staging", "deploy_production", "rollback_production"]
    assert [a["identifier"] for a in check_actions({"a-very-long-label"})] == ["deploy_staging", "deploy_production"]
    assert all(len(a["label"]) <= 20 and len(a["identifier"]) <= 20 for a in check_actions({"production", "staging"}))
