"""Webhook intake over real HTTP: signatures before parsing, size limits, idempotent storage."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.github.signature import sign, verify
from bot.service.db import Delivery, Job
from tests.service.harness import SECRET, post_webhook, stack

EXAMPLES = Path(__file__).resolve().parents[1] / "contract" / "node_modules" / "@octokit" / "webhooks-examples" / "api.github.com" / "index.json"


def test_githubs_published_test_vector_verifies():
    assert sign(SECRET, b"Hello, World!") == "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert verify(SECRET, b"Hello, World!", "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17")
    assert not verify(SECRET, b"Hello, World!!", "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17")


@pytest.fixture(scope="module")
def running(tmp_path_factory):
    with stack(tmp_path_factory.mktemp("intake"), workers=0, max_webhook_bytes=64 * 1024) as s:
        yield s


def _count(engine, model) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(model))


def test_test_vector_is_accepted_over_http(running):
    # "Hello, World!" is not JSON: the signature passes, then parsing refuses it — proving the order.
    response = post_webhook(running.web.url, b"Hello, World!", event="push", delivery="vector",
                            signature="sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17")
    assert response.status_code == 400


@pytest.mark.parametrize(
    "signature",
    [None, "", "sha256=", "sha1=757107ea0eb2509fc211221cce984b8a37570b6d", "sha256=" + "0" * 64, "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"],
)
def test_missing_malformed_or_wrong_signature_is_401_and_stores_nothing(running, signature):
    before = _count(running.service.engine, Delivery)
    body = json.dumps({"zen": "hi", "hook_id": 1}).encode()
    response = post_webhook(running.web.url, body, event="ping", delivery=f"bad-{signature}", signature=signature)
    assert response.status_code == 401
    assert _count(running.service.engine, Delivery) == before


def test_oversize_body_is_413_before_verification(running):
    body = b"{" + b" " * (70 * 1024) + b"}"
    response = post_webhook(running.web.url, body, event="push", delivery="huge", signature=sign(SECRET, body))
    assert response.status_code == 413


def test_oversize_chunked_body_without_length_is_413(running):
    def chunks():
        for _ in range(100):
            yield b" " * 1024

    response = httpx.post(
        running.web.url + "/webhook", content=chunks(),
        headers={"X-GitHub-Event": "push", "X-GitHub-Delivery": "chunked", "X-Hub-Signature-256": "sha256=" + "0" * 64},
    )
    assert response.status_code == 413


def test_a_body_sent_in_many_chunks_is_verified_whole(running):
    body = json.dumps({"zen": "x" * 20_000, "hook_id": 7}).encode()
    parts = [body[i:i + 1000] for i in range(0, len(body), 1000)]
    response = httpx.post(
        running.web.url + "/webhook", content=iter(parts),
        headers={"X-GitHub-Event": "ping", "X-GitHub-Delivery": "chunked-ok", "X-Hub-Signature-256": sign(SECRET, body)},
    )
    assert response.status_code == 200


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_webhook_takes_only_post(running, method):
    response = httpx.request(method, running.web.url + "/webhook")
    assert response.status_code == 405


def test_ping_answers_200(running):
    body = json.dumps({"zen": "Keep it logically awesome.", "hook_id": 42}).encode()
    assert post_webhook(running.web.url, body, "ping", "ping-1", sign(SECRET, body)).status_code == 200


def test_redelivered_id_creates_no_second_job(running):
    running.sim.create_repo("acme", "dup", {"README.md": "hi"})
    inst = running.sim.install("acme")
    payload = {
        "action": "opened",
        "installation": {"id": inst},
        "repository": {"full_name": "acme/dup", "name": "dup", "owner": {"login": "acme"}},
        "sender": {"login": "alice"},
        "pull_request": {"number": 7, "head": {"sha": "a" * 40, "ref": "x"}, "base": {"sha": "b" * 40, "ref": "main"}, "user": {"login": "alice"}},
    }
    body = json.dumps(payload).encode()
    jobs_before = _count(running.service.engine, Job)
    first = post_webhook(running.web.url, body, "pull_request", "same-id", sign(SECRET, body))
    second = post_webhook(running.web.url, body, "pull_request", "same-id", sign(SECRET, body))
    assert (first.status_code, second.status_code) == (202, 202)
    assert second.json()["outcome"] == "duplicate"
    assert _count(running.service.engine, Job) == jobs_before + 1


def test_every_published_webhook_example_is_answered_without_5xx(running):
    index = json.loads(EXAMPLES.read_text())
    sent = 0
    for event in index:
        for n, example in enumerate(event["examples"]):
            body = json.dumps(example).encode()
            response = post_webhook(running.web.url, body, event["name"], f"example-{event['name']}-{n}", sign(SECRET, body))
            assert response.status_code < 500, (event["name"], n, response.text)
            assert response.status_code in (200, 202), (event["name"], n, response.status_code, response.text)
            sent += 1
    assert sent > 300


def test_health_ready_and_metrics(running):
    assert httpx.get(running.web.url + "/healthz").json() == {"status": "ok"}
    assert httpx.get(running.web.url + "/readyz").status_code == 200
    metrics = httpx.get(running.web.url + "/metrics").text
    for name in ("prompt_review_deliveries_total", "prompt_review_queue_depth", "prompt_review_oldest_queued_job_age_seconds",
                 "prompt_review_jobs{", "prompt_review_job_duration_seconds"):
        assert name in metrics, name
