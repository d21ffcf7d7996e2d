"""`revalidate.labels`: the service also re-validates the prompt versions each listed label serves (the
release tables' pointers), against that label's own baseline, with its own issue per (suite, model)."""

from __future__ import annotations

import hashlib

import httpx
import pytest
from sqlalchemy.orm import Session

from bot.github.client import GitHubApp
from bot.modelserver.app import create_app
from bot.release.models import LabelPointer
from bot.revalidate.bless import bless_issue
from bot.revalidate.jobs import ISSUE_LABEL, load_baseline, revalidate_repo
from bot.serving import start_in_thread
from bot.service.db import make_engine
from bot.service.migrate import upgrade
from bot.simulator import Simulator, start
from tests.model_axis.common import CONFIG, FILES, MINI, model_env

REPO = "acme/greet"
PRODUCTION_PROMPT = 'Greet politely. Reply with "hello". The user is {{name}}.\n'  # what `production` still serves


def blob_sha(text: str) -> str:
    data = text.encode()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@pytest.fixture()
def world(tmp_path):
    sim = Simulator(webhook_url=None, webhook_secret="s3cret", app_id=1)
    server = start(sim)
    sim.create_org("acme")
    config = CONFIG + "  labels: [production]\n"
    sim.create_repo("acme", "greet", {**FILES, ".github/prompt-review.yml": config, "prompts/greet.txt": PRODUCTION_PROMPT})
    sim.push_branch(REPO, "main", {"prompts/greet.txt": FILES["prompts/greet.txt"]})  # main moved on since
    inst = sim.install("acme")
    engine = make_engine(f"sqlite:///{tmp_path / 'service.db'}")
    upgrade(engine)
    with Session(engine) as session, session.begin():
        session.add(LabelPointer(repo=REPO, label="production", path="prompts/greet.txt", version=blob_sha(PRODUCTION_PROMPT), deployment_id=1))
    app = GitHubApp(1, sim.private_key_pem.decode(), server.url)
    with start_in_thread(create_app()) as models:
        yield {"client": app.installation(inst), "engine": engine, "models": models, "sim": sim}
    server.stop()
    sim.close()


def test_the_versions_a_label_serves_are_revalidated_against_their_own_baseline(world):
    client, engine, url = world["client"], world["engine"], world["models"].url
    env = model_env(url)
    first = revalidate_repo(client, engine, REPO, env)
    assert first.baseline_written and [(r.label, r.baseline_written) for r in first.labels] == [("production", True)]
    assert load_baseline(engine, REPO, "production") is not None and load_baseline(engine, REPO) is not None

    # The model changes behind its name, and only the production version's wording trips it.
    drift_body = {"model": "gpt-4o-mini", "system_fingerprint": "fp_changed",
                  "rewrites": [{"old": "hello", "new": "bye", "when": "Greet politely."}]}
    httpx.post(url + "/_control/drift", json=drift_body, timeout=10).raise_for_status()
    run = revalidate_repo(client, engine, REPO, env)
    assert run.issues.opened == ()  # the default branch's prompt still holds
    (production,) = run.labels
    (number,) = production.issues.opened
    issues = client._call("GET", f"/repos/{REPO}/issues", params={"labels": ISSUE_LABEL, "state": "open"}).json()
    (issue,) = issues
    assert issue["number"] == number
    assert issue["title"] == f"Re-validation: evals/promptfooconfig.yaml regressed on {MINI} (the versions `production` serves)"
    assert all(f"greet {n}" in issue["body"] for n in ("Ann", "Bob", "Cy")) and "production" in issue["body"]

    # Blessing the label's issue blesses the label's baseline only; an unowned prompt needs write access.
    refused = bless_issue(client, engine, REPO, env, {"issue": number, "sender": "mallory"})
    assert not refused.allowed and "prompts/greet.txt (unowned: needs write access)" in refused.reply
    world["sim"].set_permission(REPO, "erin", "write")
    default_before = load_baseline(engine, REPO)
    blessed = bless_issue(client, engine, REPO, env, {"issue": number, "sender": "erin"})
    assert blessed.allowed and "with the versions `production` serves" in blessed.reply
    assert load_baseline(engine, REPO, "production").models[MINI].system_fingerprint == "fp_changed"
    assert load_baseline(engine, REPO) == default_before
    assert revalidate_repo(client, engine, REPO, env).labels[0].revalidation.regressed == ()
