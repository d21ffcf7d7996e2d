"""What starts a re-validation in the running service, end to end over HTTP (the GitHub simulator, the
scripted model server whose model changes behind its name, the real web app, workers and storage):
the repo's cron schedule — one run per firing however many processes look — and a review whose provider
answers under another fingerprint than a baseline (the default branch's, or a label's) — one run per change. And the per-model accept
buttons on the evals check."""

from __future__ import annotations

import time
from datetime import datetime, timezone

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.core.result import COMMENT_MARKER, EVALS_CHECK
from bot.modelserver.app import create_app
from bot.pipeline.trees import GitHubTree
from bot.release.models import LabelPointer
from bot.revalidate.baseline import baseline_from
from bot.revalidate.jobs import ISSUE_LABEL, load_baseline, revalidate_repo, save_baseline
from bot.revalidate.run import run_revision
from bot.revalidate.triggers import schedule_pass
from bot.serving import start_in_thread
from bot.service.db import AuditEntry, Job
from bot.service.run import build_service
from tests.model_axis.common import CLAUDE, CONFIG, FILES, MINI, drift, installed, model_env
from tests.model_axis.test_revalidate_labels import PRODUCTION_PROMPT, blob_sha
from tests.service.harness import stack, wait_for

REPO = "acme/greet"
MONDAY = datetime(2026, 6, 1, 3, 0, 30, tzinfo=timezone.utc)
NEXT_MONDAY = datetime(2026, 6, 8, 3, 0, 30, tzinfo=timezone.utc)


@pytest.fixture()
def models():
    with start_in_thread(create_app()) as server:
        yield server


def _revalidate_jobs(engine) -> list[Job]:
    with Session(engine) as session:
        return list(session.scalars(select(Job).where(Job.kind == "revalidate").order_by(Job.id)))


def _issues(running, state="all") -> list[dict]:
    inst = running.sim.installation_for(running.sim.repo(REPO)).id
    client = running.service.github.installation(inst)
    return client._call("GET", f"/repos/{REPO}/issues", params={"labels": ISSUE_LABEL, "state": state}).json()


def _runs(sim, sha: str) -> dict:
    return {r.name: r for r in sim.check_runs(REPO, sha)}


def test_a_schedule_firing_queues_one_run_however_many_processes_look_and_the_next_firing_files_the_regression(tmp_path, models):
    env = model_env(models.url)
    with stack(tmp_path, env=env, revalidate_interval_seconds=0.1) as running:
        running.service.clock = lambda: MONDAY
        # a second service process on the same database, looking at the same schedule
        other = build_service(running.service.settings, env=env)
        other.clock = lambda: MONDAY
        other.start_workers(1)
        try:
            sim = running.sim
            sim.create_org("acme")
            sim.create_repo("acme", "greet", FILES)
            sim.install("acme")
            engine = running.service.engine
            wait_for(lambda: load_baseline(engine, REPO), 180, "the first scheduled run writes the baseline")
            running.wait_idle()
            # Both processes keep looking at the same firing (and so does a third, by hand): still one run.
            wait_for(lambda: other.threads and running.service.threads, 5, "loops")
            time.sleep(1.0)  # ≈10 passes of each loop
            assert schedule_pass(running.service.github, engine, MONDAY) == []
            (first,) = _revalidate_jobs(engine)
            assert first.state == "done" and first.payload["trigger"] == "schedule"
            assert first.payload["fired"] == "2026-06-01T03:00:00+00:00"
            assert _issues(running) == []

            drift(models.url, "gpt-4o-mini", fingerprint="fp_changed", names=("Ann",))
            running.service.clock = other.clock = lambda: NEXT_MONDAY
            (issue,) = wait_for(lambda: _issues(running, "open"), 180, "the next firing files the regression")
            running.wait_idle()
            assert issue["title"] == f"Re-validation: evals/promptfooconfig.yaml regressed on {MINI}"
            assert "greet Ann" in issue["body"] and "fp\\_changed" in issue["body"]
            assert [j.payload["fired"] for j in _revalidate_jobs(engine)] == ["2026-06-01T03:00:00+00:00", "2026-06-08T03:00:00+00:00"]
        finally:
            other.stop()
            other.engine.dispose()


def test_a_review_that_sees_a_new_fingerprint_queues_one_revalidation_per_change(tmp_path, models):
    env = model_env(models.url)
    with installed(tmp_path, env, FILES) as (running, client):
        sim, engine = running.sim, running.service.engine
        assert revalidate_repo(client, engine, REPO, env).baseline_written
        assert load_baseline(engine, REPO).models[MINI].system_fingerprint == "fp_scripted"

        # A review whose models answer as in the baseline triggers nothing.
        sim.open_pull(REPO, "same", {"prompts/greet.txt": 'Reply with "hello" warmly. The user is {{name}}.\n'}, "Warmer", "dave")
        running.wait_idle()
        assert _revalidate_jobs(engine) == []

        # The provider re-points gpt-4o-mini: another fingerprint and Ann is no longer greeted. The next review notices.
        drift(models.url, "gpt-4o-mini", fingerprint="fp_changed", names=("Ann",))
        pr = sim.open_pull(REPO, "shorter", {"prompts/greet.txt": 'Reply with "hello", briefly. The user is {{name}}.\n'}, "Shorter", "dave")
        running.wait_idle()
        (job,) = _revalidate_jobs(engine)
        assert job.state == "done" and job.payload["trigger"] == "fingerprint"
        assert job.payload["changes"] == [f"{MINI}: system_fingerprint fp_scripted → fp_changed"]
        (issue,) = _issues(running, "open")
        assert "greet Ann" in issue["body"] and "fp\\_scripted → fp\\_changed" in issue["body"]

        # The same change seen again (another push): no second run.
        sim.push(REPO, pr.number, {"prompts/greet.txt": 'Reply with "hello", tersely. The user is {{name}}.\n'})
        running.wait_idle()
        assert len(_revalidate_jobs(engine)) == 1

        # A further change is another run.
        drift(models.url, "gpt-4o-mini", fingerprint="fp_third", names=("Ann",))
        sim.push(REPO, pr.number, {"prompts/greet.txt": 'Reply with "hello", kindly. The user is {{name}}.\n'})
        running.wait_idle()
        assert [j.payload["changes"] for j in _revalidate_jobs(engine)][1] == [f"{MINI}: system_fingerprint fp_scripted → fp_third"]
        assert len(_issues(running)) == 1  # still the one issue for (suite, model), updated


def test_each_blocked_model_has_its_own_accept_button_and_the_audit_names_the_model(tmp_path, models):
    env = model_env(models.url)
    with stack(tmp_path, env=env, revalidate_interval_seconds=0) as running:
        sim, engine = running.sim, running.service.engine
        sim.create_org("acme")
        sim.create_repo("acme", "greet", {**FILES, ".github/PROMPTOWNERS": "/prompts/ @erin\n"})
        sim.install("acme")
        running.wait_idle()
        for model in ("gpt-4o-mini", "claude-3-5-haiku-latest"):  # both models stop greeting a "Customer:"
            httpx.post(models.url + "/_control/drift", json={"model": model, "rewrites": [{"old": "hello", "new": "bye", "when": "Customer:"}]},
                       timeout=10).raise_for_status()
        pr = sim.open_pull(REPO, "customer", {"prompts/greet.txt": 'Reply with "hello". Customer: {{name}}.\n'}, "Customer", "dave")
        running.wait_idle()
        evals = _runs(sim, pr.head_sha)[EVALS_CHECK]
        assert evals.conclusion == "failure"
        # The matrix, in the comment and the check output: a column per model, the pass rates, the changed cases.
        (comment,) = [c.body for c in sim.comments(REPO, pr.number) if c.body.startswith(COMMENT_MARKER)]
        for text in (comment, (evals.summary or "") + (evals.text or "")):
            assert "**Per model** (base → head)" in text
            assert f"| Case | `{CLAUDE}` | `{MINI}` |" in text
            assert "| **pass rate** | 100\\.0% → 0\\.0% ❌ blocks | 100\\.0% → 0\\.0% ❌ blocks |" in text
            assert "| greet Ann | ❌ pass → fail | ❌ pass → fail |" in text
        assert [(a["identifier"], a["label"]) for a in evals.actions] == [
            ("accept_model_0", "Accept claude-3-5-h…"), ("accept_model_1", "Accept gpt-4o-mini")]
        assert all(len(a["label"]) <= 20 and len(a["description"]) <= 40 for a in evals.actions)

        sim.request_check_run_action(REPO, evals.id, "accept_model_1", "erin")  # gpt-4o-mini only
        running.wait_idle()
        partly = _runs(sim, pr.head_sha)[EVALS_CHECK]
        assert partly.conclusion == "failure" and f"regression on {CLAUDE} not accepted" in partly.title
        assert [a["identifier"] for a in partly.actions] == ["accept_model_0"]  # only the model still blocking
        with Session(engine) as session:
            (entry,) = session.scalars(select(AuditEntry).where(AuditEntry.action == "accept_regression")).all()
        assert entry.details["models"] == [MINI] and len(entry.details["cases"]) == 3
        assert all(k.endswith("::" + MINI) for k in entry.details["cases"])

        sim.request_check_run_action(REPO, evals.id, "accept_model_0", "erin")
        running.wait_idle()
        accepted = _runs(sim, pr.head_sha)[EVALS_CHECK]
        assert accepted.conclusion == "success" and not accepted.actions


def test_a_review_that_sees_a_fingerprint_only_a_labels_baseline_predates_queues_a_run_that_files_the_labels_issue(tmp_path, models):
    """The default branch's baseline was blessed after the model changed (a merge); `production` still serves
    an older prompt version, blessed before the change — and only that version trips on the new model."""
    env = model_env(models.url)
    with stack(tmp_path, env=env, revalidate_interval_seconds=0) as running:
        sim, engine = running.sim, running.service.engine
        sim.create_org("acme")
        config = CONFIG + "  labels: [production]\n"
        sim.create_repo("acme", "greet", {**FILES, ".github/prompt-review.yml": config, "prompts/greet.txt": PRODUCTION_PROMPT})
        head = sim.push_branch(REPO, "main", {"prompts/greet.txt": FILES["prompts/greet.txt"]})  # main moved on since
        client = running.service.github.installation(sim.install("acme"))
        running.wait_idle()
        with Session(engine) as session, session.begin():
            session.add(LabelPointer(repo=REPO, label="production", path="prompts/greet.txt", version=blob_sha(PRODUCTION_PROMPT),
                                     deployment_id=1))
        first = revalidate_repo(client, engine, REPO, env)
        assert first.baseline_written and [r.baseline_written for r in first.labels] == [True]

        httpx.post(models.url + "/_control/drift", json={"model": "gpt-4o-mini", "system_fingerprint": "fp_changed",
                   "rewrites": [{"old": "hello", "new": "bye", "when": "Greet politely."}]}, timeout=10).raise_for_status()
        run = run_revision(GitHubTree(client, REPO, head, {}), env)  # as a merge blessing the default branch would
        save_baseline(engine, REPO, baseline_from(run.report, head, "default branch", run.repeats), "dave", "merged")
        assert load_baseline(engine, REPO).models[MINI].system_fingerprint == "fp_changed"
        assert load_baseline(engine, REPO, "production").models[MINI].system_fingerprint == "fp_scripted"

        sim.open_pull(REPO, "warm", {"prompts/greet.txt": 'Reply with "hello", warmly. The user is {{name}}.\n'}, "Warm", "dave")
        running.wait_idle()
        (job,) = _revalidate_jobs(engine)
        assert job.state == "done" and job.payload["trigger"] == "fingerprint"
        assert job.payload["changes"] == [f"{MINI}: system_fingerprint fp_scripted → fp_changed (against the baseline of the versions `production` serves)"]
        (issue,) = _issues(running, "open")
        assert issue["title"] == f"Re-validation: evals/promptfooconfig.yaml regressed on {MINI} (the versions `production` serves)"
        assert all(f"greet {n}" in issue["body"] for n in ("Ann", "Bob", "Cy"))
