"""An http provider's request body is what promptfoo 0.121.20 sends: method, content type and bytes, for the cases
pinned in data/http_bodies.json (recorded from promptfoo's own http provider by bench/http_body_oracle.mjs)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest

from bot.core.config import EvalsConfig
from bot.core.files import MemoryTree
from bot.evals.http_body import HttpBody, request_body
from bot.evals.http_templates import sandboxed
from bot.evals.loader import load_suite
from bot.evals.providers import Budget, Caller, Meter
from bot.evals.providers_http import http_body_problem
from bot.evals.render import Renderer
from bot.evals.select import expand
from tests.compat.recording import recording

PINNED = json.loads((Path(__file__).parent / "data" / "http_bodies.json").read_text())
# a raw request, a templated url or nunjucks filters and tags: over HTTP through a review in test_http_templates.py
SENT = [c for c in PINNED if c["sent"] is not None and c["sent"]["method"] != "GET" and not sandboxed(c["config"])
        and "request" not in c["config"]]
REFUSED = [c for c in PINNED if c["sent"] is None]


@pytest.mark.parametrize("case", SENT, ids=[c["name"] for c in SENT])
def test_the_body_is_the_one_promptfoo_sends(case):
    config = case["config"]
    assert http_body_problem(config) is None
    body = request_body(config["body"], config.get("headers"), case["prompt"], case.get("vars") or {})
    assert body.content.decode() == case["sent"]["body"]
    given = next((v for k, v in (config.get("headers") or {}).items() if k.lower() == "content-type"), None)
    assert (given or body.content_type) == case["sent"]["contentType"]


@pytest.mark.parametrize("case", REFUSED, ids=[c["name"] for c in REFUSED])
def test_a_body_promptfoo_fails_every_call_with_is_refused_when_the_suite_is_read(case):
    assert case["error"] and "Content-Type is not application/json" in case["error"]
    assert http_body_problem(case["config"]) is not None


def test_without_a_method_a_body_goes_by_post_where_promptfoo_0_121_sends_get_without_it():
    (pinned,) = [c for c in PINNED if c["name"] == "no method"]
    assert pinned["sent"]["method"] == "GET" and pinned["sent"]["body"] == ""  # promptfoo's code; its docs mean POST
    assert http_body_problem(pinned["config"]) is None
    assert request_body(pinned["config"]["body"], None, "hi", {}).content == b'{"q":"hi"}'


@pytest.mark.parametrize("config, words", [
    ({"method": "POST"}, "needs config.body"),
    ({"method": "PUT"}, "needs config.body"),
    ({"method": "GET", "body": "q={{prompt}}"}, "GET request sends no body"),
    ({"method": "POST", "headers": {"Content-Type": "text/plain"}, "body": ["{{prompt}}"]}, "sent as JSON"),
])
def test_methods_and_bodies_promptfoo_cannot_send_are_located_errors(config, words):
    suite = ("prompts: ['Hi {{x}}']\nproviders:\n  - id: https://api.example.com/generate\n    config:\n"
             + "".join(f"      {k}: {json.dumps(v)}\n" for k, v in config.items()) + "tests:\n  - vars: {x: a}\n")
    loaded, errors = load_suite(MemoryTree({"evals/promptfooconfig.yaml": suite}), "evals/promptfooconfig.yaml")
    assert loaded is None and len(errors) == 1
    assert words in errors[0].message and errors[0].line in (5, 6, 7) and errors[0].file == "evals/promptfooconfig.yaml"


SUITE = """\
prompts: ['{{{{question}}}}']
providers:
  - id: {url}/generate
    config:
      method: POST
      headers: {{Content-Type: application/json}}
      body: '{{"q": "{{{{prompt}}}}", "user": "{{{{user}}}}", "extra": {{{{extra}}}}}}'
      transformResponse: json.answer
tests:
  - vars: {{question: 'Say "hi"', user: ana, extra: 3}}
"""


@pytest.fixture
def service():
    """The team's own service on loopback: records each request's method, content type and bytes."""
    with recording(lambda path: {"answer": "ok"}, read=bytes) as running:
        yield running


def test_a_review_sends_the_rendered_body_to_the_service(service):
    """Through expansion and the Caller: the bytes the team's service receives, with their content type."""
    url, got = service
    tree = MemoryTree({"evals/promptfooconfig.yaml": SUITE.format(url=url)})
    suite, errors = load_suite(tree, "evals/promptfooconfig.yaml")
    assert errors == [] and suite is not None
    cases, _ = expand(suite, Renderer(tree))
    (case,) = cases.values()
    assert isinstance(case.provider.request_body, HttpBody)
    env = {"PROMPT_REVIEW_ALLOWED_MODEL_URLS": url, "PROMPT_REVIEW_ALLOW_PRIVATE_MODEL_URLS": "1"}

    async def go():
        async with httpx.AsyncClient() as client:
            caller = Caller.for_run(client, env, EvalsConfig(timeout_s=10), Meter(Budget()))
            return await caller.complete(case.provider, case.messages)

    answer = asyncio.run(go())
    assert answer.text == "ok"
    assert [(r["method"], r["headers"].get("content-type"), r["body"]) for r in got] == [
        ("POST", "application/json", b'{"q":"Say \\"hi\\"","user":"ana","extra":3}')]
