"""Blessing a re-validation baseline in the running service, end to end over HTTP (the GitHub simulator, the
scripted model server, the real web app, workers and storage): a merged PR whose review passed blesses its
merge commit, one whose review failed does not; `/prompt-review bless` on a re-validation issue blesses what
the suite does now on that model when an owner of its prompts says so — anyone else is told why, and nothing
changes. Later runs compare with what was blessed."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.core.result import APPROVAL_CHECK, EVALS_CHECK
from bot.modelserver.app import create_app
from bot.revalidate.jobs import BASELINE_ACTION, ISSUE_LABEL, load_baseline, revalidate_repo
from bot.serving import start_in_thread
from bot.service.db import AuditEntry
from tests.model_axis.common import CLAUDE, FILES, MINI, drift, installed, model_env

REPO = "acme/greet"
OWNED = {**FILES, ".github/PROMPTOWNERS": "/prompts/ @erin\n"}


@pytest.fixture()
def models():
    with start_in_thread(create_app()) as server:
        yield server


def _issues(client, state="all") -> list[dict]:
    return client._call("GET", f"/repos/{REPO}/issues", params={"labels": ISSUE_LABEL, "state": state}).json()


def _conclusions(sim, sha: str) -> dict:
    return {r.name: r.conclusion for r in sim.check_runs(REPO, sha)}


def _blessings(engine) -> list[AuditEntry]:
    with Session(engine) as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == BASELINE_ACTION).order_by(AuditEntry.id)))


def test_a_merged_pr_whose_review_passed_blesses_its_merge_commit_and_one_whose_review_failed_does_not(tmp_path, models):
    env = model_env(models.url)
    with installed(tmp_path, env, OWNED) as (running, client):
        sim, engine = running.sim, running.service.engine
        first = revalidate_repo(client, engine, REPO, env)
        assert first.baseline_written

        # A reviewed, approved, passing PR is merged: its merge commit is the baseline now.
        good = sim.open_pull(REPO, "there", {"prompts/greet.txt": 'Reply with "hello there". The user is {{name}}.\n'}, "There", "dave")
        running.wait_idle()
        sim.submit_review(REPO, good.number, "erin", "approve")
        running.wait_idle()
        assert _conclusions(sim, good.head_sha) == {EVALS_CHECK: "success", APPROVAL_CHECK: "success"}
        sim.merge_pull(REPO, good.number, user="dave")
        running.wait_idle()
        blessed = load_baseline(engine, REPO)
        assert blessed.sha == good.head_sha != first.sha  # the simulator merges by fast-forward
        assert {c.output for c in blessed.cases.values()} == {"hello there"} and len(blessed.cases) == 6
        entry = _blessings(engine)[-1]
        assert entry.actor == "dave" and entry.details["why"] == f"#{good.number} merged with a passing review"
        later = revalidate_repo(client, engine, REPO, env)
        assert later.revalidation.baseline_sha == blessed.sha and later.revalidation.regressed == ()

        # A PR whose evals failed is merged anyway: the baseline stands, and the next run files the regression.
        bad = sim.open_pull(REPO, "bye", {"prompts/greet.txt": 'Reply with "bye". The user is {{name}}.\n'}, "Bye", "dave")
        running.wait_idle()
        sim.submit_review(REPO, bad.number, "erin", "approve")
        running.wait_idle()
        assert _conclusions(sim, bad.head_sha)[EVALS_CHECK] == "failure"
        sim.merge_pull(REPO, bad.number, user="dave")
        running.wait_idle()
        assert load_baseline(engine, REPO) == blessed and len(_blessings(engine)) == 2
        filed = revalidate_repo(client, engine, REPO, env)
        assert filed.revalidation.baseline_sha == blessed.sha
        assert sorted(i["title"] for i in _issues(client, "open")) == [
            f"Re-validation: evals/promptfooconfig.yaml regressed on {CLAUDE}", f"Re-validation: evals/promptfooconfig.yaml regressed on {MINI}"]


def test_an_owner_blesses_a_regression_on_its_issue_and_a_non_owner_is_told_why_and_changes_nothing(tmp_path, models):
    env = model_env(models.url)
    with installed(tmp_path, env, OWNED) as (running, client):
        sim, engine = running.sim, running.service.engine
        assert revalidate_repo(client, engine, REPO, env).baseline_written
        drift(models.url, "gpt-4o-mini", fingerprint="fp_changed", names=("Ann", "Bob"))
        (number,) = revalidate_repo(client, engine, REPO, env).issues.opened
        before = load_baseline(engine, REPO)

        mallory = sim.comment_event(REPO, number, "mallory", "/prompt-review bless")
        running.wait_idle()
        assert sim.reactions_of(mallory.id) == ["-1"]
        reply = sim.comments(REPO, number)[-1].body
        assert "may not bless this baseline: not an owner of prompts/greet.txt (owners: @erin)" in reply and "Nothing changed" in reply
        assert load_baseline(engine, REPO) == before and _issues(client, "open")[0]["number"] == number

        erin = sim.comment_event(REPO, number, "erin", "/prompt-review bless the new snapshot is what we ship")
        running.wait_idle()
        assert sim.reactions_of(erin.id) == ["+1"]
        reply = sim.comments(REPO, number)[-1].body
        assert reply.startswith("Blessed by @\u200derin") and "1 of 3 cases pass" in reply and "fp\\_changed" in reply
        assert _issues(client, "open") == [] and _issues(client)[0]["state"] == "closed"
        blessed = load_baseline(engine, REPO)
        assert blessed.models[MINI].system_fingerprint == "fp_changed" and blessed.models[CLAUDE] == before.models[CLAUDE]
        mini = {c.description: c.passed for c in blessed.cases.values() if c.model == MINI}
        assert mini == {"greet Ann": False, "greet Bob": False, "greet Cy": True}
        assert {k: c for k, c in blessed.cases.items() if c.model == CLAUDE} == {k: c for k, c in before.cases.items() if c.model == CLAUDE}
        entry = _blessings(engine)[-1]
        assert entry.actor == "erin" and entry.details["why"] == f"blessed on #{number}: the new snapshot is what we ship"

        # What was blessed is what later runs compare with: the same answers regress nothing, file nothing.
        later = revalidate_repo(client, engine, REPO, env)
        assert later.revalidation.regressed == () and later.revalidation.changes == ()
        assert later.issues.opened == () and len(_issues(client)) == 1


def test_bless_on_a_closed_issue_is_refused_with_a_reply(tmp_path, models):
    env = model_env(models.url)
    with installed(tmp_path, env, OWNED) as (running, client):
        sim, engine = running.sim, running.service.engine
        revalidate_repo(client, engine, REPO, env)
        drift(models.url, "gpt-4o-mini", names=("Ann",))
        (number,) = revalidate_repo(client, engine, REPO, env).issues.opened
        drift(models.url, "gpt-4o-mini")
        assert revalidate_repo(client, engine, REPO, env).issues.closed == (number,)
        before = load_baseline(engine, REPO)
        erin = sim.comment_event(REPO, number, "erin", "/prompt-review bless")
        running.wait_idle()
        assert sim.reactions_of(erin.id) == ["-1"]
        assert "this issue is closed" in sim.comments(REPO, number)[-1].body
        assert load_baseline(engine, REPO) == before
