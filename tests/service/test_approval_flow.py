"""Approval rules end to end over HTTP: stale approvals, PROMPTOWNERS edits, and the accept-regression button."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.core.result import APPROVAL_CHECK, EVALS_CHECK
from bot.service.db import AuditEntry
from tests.service.test_end_to_end import bot_comments, overlay, running, runs_by_name  # noqa: F401 (running is a fixture)

REPO = "acme/support-bot"


def test_an_approval_given_before_a_prompt_changing_push_no_longer_counts(running):
    sim = running.sim
    pr = sim.open_pull(REPO, "reflow", overlay("reflow"), "Reflow", "dave")
    running.wait_idle()
    sim.submit_review(REPO, pr.number, "erin", "APPROVED")
    running.wait_idle()
    assert runs_by_name(sim, pr.head_sha)[APPROVAL_CHECK].conclusion == "success"
    text = overlay("reflow")["prompts/support/system.md"].decode() + "\nAlways sign off as Acme Support.\n"
    pr2 = sim.push(REPO, pr.number, {"prompts/support/system.md": text})
    running.wait_idle()
    run = runs_by_name(sim, pr2.head_sha)[APPROVAL_CHECK]
    assert run.conclusion == "action_required"
    assert "erin" in run.summary  # named as stale, not silently dropped


def test_a_pr_editing_promptowners_needs_the_base_owner_of_that_file(running):
    sim = running.sim
    owners = "/prompts/ @acme/prompt-eng\n/prompts/support/ @dave\n/.github/ @alice\n"
    pr = sim.open_pull(REPO, "owners", {".github/PROMPTOWNERS": owners, "prompts/support/system.md": "Be brief.\n"},
                       "Own the support prompt", "dave")
    running.wait_idle()
    # dave made himself owner in the PR, but rules are read from the base: the support team and @alice must approve.
    sim.submit_review(REPO, pr.number, "erin", "APPROVED")
    sim.submit_review(REPO, pr.number, "frank", "APPROVED")
    running.wait_idle()
    run = runs_by_name(sim, pr.head_sha)[APPROVAL_CHECK]
    assert run.conclusion != "success" and "alice" in run.summary
    sim.submit_review(REPO, pr.number, "alice", "APPROVED")
    running.wait_idle()
    assert runs_by_name(sim, pr.head_sha)[APPROVAL_CHECK].conclusion == "success"


def test_accept_regression_by_a_non_owner_is_refused_and_by_an_owner_is_recorded(running):
    sim = running.sim
    pr = sim.open_pull(REPO, "friendlier", overlay("friendlier"), "Friendlier", "dave")
    running.wait_idle()
    evals = runs_by_name(sim, pr.head_sha)[EVALS_CHECK]
    assert evals.conclusion == "failure"
    assert [a["identifier"] for a in evals.actions] == ["accept_regression"]

    sim.request_check_run_action(REPO, evals.id, "accept_regression", "mallory")
    running.wait_idle()
    refused = runs_by_name(sim, pr.head_sha)[EVALS_CHECK]
    assert refused.conclusion == "failure" and "refused" in refused.summary.lower()

    sim.request_check_run_action(REPO, evals.id, "accept_regression", "erin")
    running.wait_idle()
    accepted = runs_by_name(sim, pr.head_sha)[EVALS_CHECK]
    assert accepted.conclusion == "success" and "erin" in (accepted.title + accepted.summary)
    with Session(running.service.engine) as session:
        (entry,) = session.scalars(select(AuditEntry).where(AuditEntry.action == "accept_regression")).all()
    assert (entry.actor, entry.head_sha) == ("erin", pr.head_sha) and len(entry.details["cases"]) == 41
    assert "erin" in bot_comments(sim, pr.number)[0].body

    # A new push voids the acceptance: the new head is judged afresh.
    pr2 = sim.push(REPO, pr.number, {"README.md": "docs\n"})
    running.wait_idle()
    assert runs_by_name(sim, pr2.head_sha)[EVALS_CHECK].conclusion == "failure"
