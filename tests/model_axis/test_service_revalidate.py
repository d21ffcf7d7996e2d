"""The service's re-validation end to end: the GitHub simulator, the scripted model server whose model
changes behind its name, the real job code and storage — one issue per (suite, model), updated, closed."""

from __future__ import annotations

from datetime import datetime, timezone

import httpx
import pytest

from bot.github.client import GitHubApp
from bot.modelserver.app import create_app
from bot.revalidate.jobs import ISSUE_LABEL, due, load_baseline, revalidate_repo
from bot.serving import start_in_thread
from bot.service.db import make_engine
from bot.service.migrate import upgrade
from bot.simulator import Simulator, start
from tests.model_axis.common import FILES, MINI, drift, model_env

REPO = "acme/greet"


@pytest.fixture()
def world(tmp_path):
    sim = Simulator(webhook_url=None, webhook_secret="s3cret", app_id=1)
    server = start(sim)
    sim.create_org("acme")
    sim.create_repo("acme", "greet", FILES)
    inst = sim.install("acme")
    engine = make_engine(f"sqlite:///{tmp_path / 'service.db'}")
    upgrade(engine)
    app = GitHubApp(1, sim.private_key_pem.decode(), server.url)
    with start_in_thread(create_app()) as models:
        yield {"sim": sim, "client": app.installation(inst),
               "engine": engine, "models": models}
    server.stop()
    sim.close()


def _issues(world, state="all"):
    return world["client"]._call("GET", f"/repos/{REPO}/issues", params={"labels": ISSUE_LABEL, "state": state}).json()


def test_a_model_change_files_one_issue_per_suite_and_model_updates_it_and_closes_it_on_recovery(world):
    client, engine, url = world["client"], world["engine"], world["models"].url
    env = model_env(url)
    first = revalidate_repo(client, engine, REPO, env)
    assert first.baseline_written and load_baseline(engine, REPO).models[MINI].system_fingerprint == "fp_scripted"
    assert revalidate_repo(client, engine, REPO, env).issues.opened == ()  # unchanged model: no issue

    drift(url, "gpt-4o-mini", fingerprint="fp_changed", names=("Ann", "Bob"))
    run = revalidate_repo(client, engine, REPO, env)
    (number,) = run.issues.opened
    assert world["sim"].check_runs(REPO, run.sha) == []  # filed as work: no check on main turns red
    (issue,) = _issues(world, "open")
    assert issue["number"] == number and issue["title"] == f"Re-validation: evals/promptfooconfig.yaml regressed on {MINI}"
    assert "greet Ann" in issue["body"] and "greet Bob" in issue["body"] and "greet Cy" not in issue["body"]
    assert "The model changed behind its name:** openai\\:chat\\:gpt\\-4o\\-mini\\: system\\_fingerprint fp\\_scripted → fp\\_changed" in issue["body"]

    again = revalidate_repo(client, engine, REPO, env)  # still regressed: the same issue, updated
    assert again.issues.opened == () and again.issues.updated == (number,)
    assert len(_issues(world)) == 1

    drift(url, "gpt-4o-mini", fingerprint="fp_changed")  # the provider fixed it
    recovered = revalidate_repo(client, engine, REPO, env)
    assert recovered.issues.closed == (number,)
    (closed,) = _issues(world)
    assert closed["state"] == "closed" and _issues(world, "open") == []


def test_the_schedule_is_cron_in_utc():
    monday_3am = datetime(2026, 6, 1, 3, 0, tzinfo=timezone.utc)
    assert due("0 3 * * 1", datetime(2026, 5, 31, 12, 0, tzinfo=timezone.utc), monday_3am)
    assert not due("0 3 * * 1", monday_3am, datetime(2026, 6, 7, 23, 0, tzinfo=timezone.utc))


def test_the_issue_groups_the_regressed_cases_into_clusters_with_their_baseline_and_current_outputs(world):
    client, engine, url = world["client"], world["engine"], world["models"].url
    env = model_env(url)
    assert revalidate_repo(client, engine, REPO, env).baseline_written
    rewrites = [{"old": "hello", "new": "goodbye", "when": f"The user is {n}."} for n in ("Ann", "Bob")]
    rewrites.append({"old": "hello", "new": "I cannot help with greetings today, please ask a person", "when": "The user is Cy."})
    httpx.post(url + "/_control/drift", json={"model": "gpt-4o-mini", "rewrites": rewrites}, timeout=10).raise_for_status()
    revalidate_repo(client, engine, REPO, env)
    (issue,) = _issues(world, "open")
    body = issue["body"]
    first, second = body.index("#### 2 regressed"), body.index("#### 1 regressed")
    assert first < body.index("greet Ann") < body.index("greet Bob") < second < body.index("greet Cy")
    assert body.count('failing icontains "hello"') == 2  # the assertion both clusters fail, in each heading
    assert "| greet Ann | 3/3 → 0/3 | hello | goodbye |" in body
    assert "| greet Cy | 3/3 → 0/3 | hello | I cannot help with greetings today, please ask a person |" in body
