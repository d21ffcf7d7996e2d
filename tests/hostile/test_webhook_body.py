"""A correctly signed webhook body the parser cannot take answers 400 — not a 500 (a crash in the
request), nor a 503 (which makes GitHub and the recovery loop redeliver it forever) — stores nothing,
and the service goes on taking deliveries. Real signed requests against the real app on loopback."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.github.signature import sign
from bot.service.db import Delivery, Job
from tests.service.harness import SECRET, post_webhook, stack

SHA = "c" * 40


def pull_request(**base) -> dict:
    return {"action": "opened", "repository": {"full_name": "acme/app"}, "installation": {"id": 7},
            "pull_request": {"number": 3, "head": {"sha": SHA, "ref": "feature"}, "base": {"sha": "d" * 40, "ref": "main", **base}}}


def raw_pull_request(base_ref: str) -> bytes:
    """A pull_request delivery whose base ref is the raw JSON text `base_ref` (json.dumps cannot write some attacks)."""
    return json.dumps(pull_request(ref="@REF@")).encode().replace(b'"@REF@"', base_ref.encode())


ATTACKS = {
    "100k nested arrays": (b"[" * 100_000, "nested deeper"),
    "100k nested objects": (b'{"a":' * 100_000, "nested deeper"),
    "invalid UTF-8": (b'{"zen": "\xff\xfe"}', "not UTF-8"),
    "lone surrogate escape": (raw_pull_request(r'"\ud800"'), "not UTF-8"),
    "NaN": (raw_pull_request("NaN"), "NaN"),
    "Infinity": (raw_pull_request("-Infinity"), "Infinity"),
    "number past float range": (raw_pull_request("1e999"), "out of range"),
    "5,000-digit integer": (raw_pull_request("9" * 5000), "4300 digits"),
    "a list, not an object": (b"[1, 2]", "expected a JSON object"),
    "a string, not an object": (b'"opened"', "expected a JSON object"),
    "null": (b"null", "expected a JSON object"),
}


@pytest.fixture(scope="module")
def running(tmp_path_factory):
    with stack(tmp_path_factory.mktemp("webhook-body"), workers=0) as s:
        yield s


def stored(engine) -> tuple[int, int]:
    with Session(engine) as session:
        return (session.scalar(select(func.count()).select_from(Delivery)),
                session.scalar(select(func.count()).select_from(Job)))


@pytest.mark.parametrize("attack", ATTACKS, ids=list(ATTACKS))
def test_signed_body_the_parser_cannot_take_answers_400_and_stores_nothing(running, attack):
    body, reason = ATTACKS[attack]
    before = stored(running.service.engine)
    response = post_webhook(running.web.url, body, event="pull_request", delivery=f"hostile-{attack}",
                            signature=sign(SECRET, body))
    assert response.status_code == 400, response.text
    assert reason in response.json()["error"]
    assert stored(running.service.engine) == before

    good = json.dumps(pull_request()).encode()
    after = post_webhook(running.web.url, good, event="pull_request", delivery=f"after-{attack}", signature=sign(SECRET, good))
    assert after.status_code == 202  # the service goes on taking deliveries
