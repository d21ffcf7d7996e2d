"""The database unavailable: `/readyz` and `POST /webhook` answer 503 (so GitHub marks the
delivery failed and it can be redelivered) instead of crashing or acknowledging, and nothing is
half-written; once it is back, redelivery gets the PR reviewed."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from bot.github.signature import sign
from bot.serving import free_port
from bot.service.db import Delivery, make_engine
from bot.service.metrics import Metrics
from bot.service.recovery import redeliver_failed
from bot.service.run import build_service
from bot.service.web import create_web_app
from tests.conftest import postgres_url
from tests.reliability.common import BAD_PROMPT, REPO, bot_comments, tiny_stack
from tests.service.harness import SECRET, settings_for

PR_PAYLOAD = {
    "action": "opened", "number": 7,
    "repository": {"full_name": "acme/tiny", "id": 1},
    "installation": {"id": 5},
    "sender": {"login": "dave"},
    "pull_request": {"number": 7, "head": {"sha": "a" * 40, "ref": "p", "repo": {"full_name": "acme/tiny"}},
                     "base": {"sha": "b" * 40, "ref": "main", "repo": {"full_name": "acme/tiny"}},
                     "user": {"login": "dave"}, "labels": [], "draft": False},
}


def signed_post(client: TestClient, event: str, payload: dict, delivery: str):
    body = json.dumps(payload).encode()
    return client.post("/webhook", content=body, headers={
        "X-GitHub-Event": event, "X-GitHub-Delivery": delivery, "Content-Type": "application/json",
        "X-Hub-Signature-256": sign(SECRET, body)})


def test_unreachable_postgresql_gives_503_on_readyz_and_on_every_delivery():
    base = postgres_url().rsplit("@", 1)[0]
    url = f"{base}@127.0.0.1:{free_port()}/nowhere"  # nothing listens there
    settings = settings_for(url, "http://127.0.0.1:9", "unused")
    engine = make_engine(url)
    with TestClient(create_web_app(settings, engine, Metrics()), raise_server_exceptions=False) as client:
        assert client.get("/readyz").status_code == 503
        assert client.get("/healthz").status_code == 200  # alive, just not ready
        for event, payload in (("pull_request", PR_PAYLOAD), ("ping", {"zen": "Keep it logically awesome."})):
            response = signed_post(client, event, payload, f"d-{event}")
            assert response.status_code == 503, (event, response.status_code, response.text)
        assert client.get("/metrics").status_code == 200
    engine.dispose()


@pytest.fixture
def broken_service(tmp_path, database_url):
    """A migrated database whose jobs table then disappears (renamed, as a botched manual fix would)."""
    service = build_service(settings_for(database_url, "http://127.0.0.1:9", "unused"), env={})
    with service.engine.begin() as conn:
        conn.execute(text("ALTER TABLE jobs RENAME TO jobs_gone"))
    yield service
    service.engine.dispose()


def test_missing_jobs_table_gives_503_and_stores_no_delivery_without_its_job(broken_service):
    service = broken_service
    with TestClient(service.web_app(with_workers=False), raise_server_exceptions=False) as client:
        response = signed_post(client, "pull_request", PR_PAYLOAD, "d-half")
        assert response.status_code == 503, response.text
        assert client.get("/readyz").status_code == 503
    with Session(service.engine) as session:
        assert session.scalar(select(func.count()).select_from(Delivery)) == 0  # not recorded without its job


def test_delivery_refused_while_the_database_was_broken_is_reviewed_after_redelivery(tmp_path, model, database_url):
    with tiny_stack(tmp_path, model.url, db_url=database_url) as s:
        with s.service.engine.begin() as conn:
            conn.execute(text("ALTER TABLE jobs RENAME TO jobs_gone"))
        pr = s.sim.open_pull(REPO, "p", {"prompts/greet.txt": BAD_PROMPT}, "P", "dave")
        refused = s.sim.deliveries("pull_request")[-1]
        assert refused.status_code == 503
        with s.service.engine.begin() as conn:  # the database is back; the workers resume on their own
            conn.execute(text("ALTER TABLE jobs_gone RENAME TO jobs"))
        assert redeliver_failed(s.service.github, s.service.engine) == 1
        s.sim.wait_for_deliveries()
        s.wait_idle()
        assert len(bot_comments(s.sim, pr.number)) == 1
        assert {r.status for r in s.sim.check_runs(REPO, pr.head_sha)} == {"completed"}
        with Session(s.service.engine) as session:
            assert session.scalar(select(func.count()).select_from(Delivery).where(Delivery.delivery_id == refused.guid)) == 1
