"""Bedrock's OpenAI-compatible mantle endpoint (bot.evals.providers_mantle): `bedrock:mantle:MODEL` as chat
completions, OpenAI's frontier models and Grok named as `bedrock:MODEL` as the responses API, at
`bedrock-mantle.REGION.api.aws` with a Bedrock API key — each request pinned against promptfoo 0.121.20's own
providers (data/mantle_requests.json is what `PROMPTFOO_CACHE_ENABLED=false node bench/vendor_request_oracle.mjs
PROMPTFOO/dist/src/index.js OUT.json` wrote for the cases in it) —, and calls over real loopback HTTP against the
scripted model server."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.core.errors import CheckError
from bot.core.config import Budget, EvalsConfig
from bot.core.files import MemoryTree
from bot.evals.loader import load_suite
from bot.evals.providers import Caller, Completion, Meter, ProviderError
from bot.modelserver import create_app
from bot.serving import start_in_thread

KEY = "mantle-key"
PATH = "evals/promptfooconfig.yaml"
PINNED = json.loads((Path(__file__).parent / "data" / "mantle_requests.json").read_text())
SENT = [c for c in PINNED if c["sent"]]


def load(entry: dict):
    text = json.dumps({"prompts": ["{{q}}"], "providers": [entry], "tests": [{"vars": {"q": "hi"}}]})
    return load_suite(MemoryTree({PATH: text}), PATH)


def provider(entry: dict):
    suite, errors = load(entry)
    assert errors == [], [str(e) for e in errors]
    return suite.providers[0]


def call(entry: dict, env: dict[str, str], client: httpx.AsyncClient | None = None) -> Completion | ProviderError:
    async def go(http: httpx.AsyncClient):
        caller = Caller.for_run(http, env, EvalsConfig(timeout_s=10), Meter(Budget()))
        try:
            return await caller.complete(provider(entry), (("user", "hi"),))
        except ProviderError as exc:
            return exc

    async def fresh():
        async with httpx.AsyncClient() as http:
            return await go(http)

    return asyncio.run(go(client) if client else fresh())


def recorded(entry: dict, env: dict[str, str]) -> tuple[Completion | ProviderError, dict[str, Any]]:
    seen: dict[str, Any] = {}
    answer = {"id": "c1", "object": "chat.completion", "model": "m", "usage": {"prompt_tokens": 3, "completion_tokens": 1},
              "choices": [{"index": 0, "message": {"role": "assistant", "content": "pong"}, "finish_reason": "stop"}]}
    responses = {"id": "r1", "object": "response", "status": "completed", "usage": {"input_tokens": 3, "output_tokens": 1},
                 "output": [{"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "pong"}]}]}

    def handler(request: httpx.Request) -> httpx.Response:
        seen.update(url=str(request.url), headers=dict(request.headers), body=json.loads(request.content))
        return httpx.Response(200, json=responses if request.url.path.endswith("/responses") else answer)

    async def go():
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            caller = Caller.for_run(client, env, EvalsConfig(timeout_s=10), Meter(Budget()))
            try:
                return await caller.complete(provider(entry), (("user", "hi"),))
            except ProviderError as exc:
                return exc

    return asyncio.run(go()), seen


def expected_body(case: dict[str, Any]) -> dict[str, Any]:
    """promptfoo's body without its OpenAI clients' defaults, which prompt-review sends to no OpenAI-compatible vendor:
    chat's max_tokens 1024 and temperature 0, the responses API's `text: {format: {type: text}}` and `input` as text."""
    body, config = dict(case["sent"]["body"]), case.get("config") or {}
    if body.get("max_tokens") == 1024 and "max_tokens" not in config:
        del body["max_tokens"]
    if body.get("temperature") == 0 and "temperature" not in config:
        del body["temperature"]
    if body.get("text") == {"format": {"type": "text"}}:
        del body["text"]
    if body.get("input") == "hi":
        body["input"] = [{"role": "user", "content": "hi"}]
    return body


@pytest.mark.parametrize("case", SENT, ids=[f"{c['id']}|{sorted(c['config'])}" for c in SENT])
def test_the_request_is_the_one_promptfoo_makes(case):
    env = {k: (KEY if v == "k" else v) for k, v in case["env"].items()}
    outcome, request = recorded({"id": case["id"], "config": case["config"]}, env)
    assert isinstance(outcome, Completion) and outcome.text == "pong", outcome
    assert request["url"] == case["sent"]["url"]
    assert request["headers"]["authorization"] == f"Bearer {KEY}"
    assert request["body"] == expected_body(case)


@pytest.mark.parametrize("model", ["openai.gpt-5.5", "llama.xai.grok-4"])
def test_ids_promptfoo_refuses_are_refused_at_their_line(model):
    _, errors = load({"id": f"bedrock:mantle:{model}"})
    assert len(errors) == 1 and errors[0].line == 1 and "promptfoo refuses it too" in errors[0].message


def test_without_a_bedrock_api_key_nothing_is_sent_and_the_error_names_the_variable():
    outcome, request = recorded({"id": "bedrock:mantle:zai.glm-4.6"}, {"AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "s"})
    assert isinstance(outcome, ProviderError) and outcome.kind is CheckError.MISSING_CREDENTIALS
    assert "AWS_BEARER_TOKEN_BEDROCK is not set" in str(outcome) and request == {}


def test_a_bad_region_is_refused_before_any_request():
    outcome, request = recorded({"id": "bedrock:mantle:zai.glm-4.6", "config": {"region": "evil.example.com/x"}},
                                {"AWS_BEARER_TOKEN_BEDROCK": KEY})
    assert isinstance(outcome, ProviderError) and outcome.kind is CheckError.URL_REFUSED and request == {}


def test_the_bedrock_key_never_goes_to_a_url_the_suite_writes():
    outcome, request = recorded({"id": "bedrock:mantle:zai.glm-4.6", "config": {"apiBaseUrl": "https://mantle.example.com/v1"}},
                                {"AWS_BEARER_TOKEN_BEDROCK": KEY})
    assert "authorization" not in {k.lower() for k in request.get("headers", {})}, request


@pytest.fixture(scope="module")
def server():
    running = start_in_thread(create_app(api_key=KEY))
    yield running.url
    running.stop()


def test_the_example_configs_are_answered_over_http(server):
    env = {"BEDROCK_MANTLE_BASE_URL": f"{server}/v1", "AWS_BEARER_TOKEN_BEDROCK": KEY}
    chat = call({"id": "bedrock:mantle:zai.glm-4.6", "config": {"region": "us-west-2", "max_tokens": 1024}}, env)
    assert isinstance(chat, Completion) and "hi" in chat.text, chat
    responses = call({"id": "bedrock:openai.gpt-5.5", "config": {"reasoning_effort": "medium", "max_output_tokens": 1024, "store": False}}, env)
    assert isinstance(responses, Completion) and "hi" in responses.text, responses
    oss = call({"id": "bedrock:responses:openai.gpt-oss-120b", "config": {"region": "us-east-1", "reasoning_effort": "medium",
                                                                          "max_output_tokens": 1024, "store": False}}, env)
    assert isinstance(oss, Completion) and "hi" in oss.text, oss
    wrong = call({"id": "bedrock:mantle:zai.glm-4.6"}, {**env, "AWS_BEARER_TOKEN_BEDROCK": "wrong"})
    assert isinstance(wrong, ProviderError) and wrong.kind is CheckError.BAD_CREDENTIALS


# ---- Claude Fable 5 and Mythos 5: Anthropic's messages API on the mantle endpoint --------------------------------

MESSAGES = json.loads((Path(__file__).parent / "data" / "mantle_messages.json").read_text())


def claude_body(case: dict[str, Any]) -> dict[str, Any]:
    """promptfoo's body, its Anthropic client's `stream: false` aside, with a text message as text (the messages
    API reads both forms alike)."""
    body = {k: v for k, v in case["sent"]["body"].items() if k != "stream"}
    body["messages"] = [{"role": "user", "content": "hi"}]
    return body


@pytest.mark.parametrize("case", [c for c in MESSAGES if c["sent"]], ids=[f"{c['id']}|{sorted(c['config'])}" for c in MESSAGES if c["sent"]])
def test_the_messages_request_is_the_one_promptfoo_makes(case):
    seen: dict[str, Any] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen.update(url=str(request.url), headers=dict(request.headers), body=json.loads(request.content))
        return httpx.Response(200, json={"id": "m1", "type": "message", "role": "assistant", "stop_reason": "end_turn",
                                         "content": [{"type": "text", "text": "pong"}], "usage": {"input_tokens": 3, "output_tokens": 1}})

    async def go():
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            caller = Caller.for_run(client, {"AWS_BEARER_TOKEN_BEDROCK": KEY}, EvalsConfig(timeout_s=10), Meter(Budget()))
            return await caller.complete(provider({"id": case["id"], "config": case["config"]}), (("user", "hi"),))

    outcome = asyncio.run(go())
    assert outcome.text == "pong"
    assert seen["url"] == case["sent"]["url"]
    assert (seen["headers"]["x-api-key"], seen["headers"]["anthropic-version"]) == (KEY, "2023-06-01")
    assert "authorization" not in seen["headers"]
    assert seen["body"] == claude_body(case)


@pytest.mark.parametrize("case", [c for c in MESSAGES if not c["sent"] and "region" not in c["config"]], ids=lambda c: c["id"])
def test_claude_ids_promptfoo_refuses_are_refused_at_load(case):
    _, errors = load({"id": case["id"], "config": case["config"]})
    assert len(errors) == 1 and "promptfoo refuses it too" in errors[0].message


def test_fable_outside_its_regions_is_a_case_error_naming_them():
    outcome, request = recorded({"id": "bedrock:messages:anthropic.claude-fable-5", "config": {"region": "us-west-2"}},
                                {"AWS_BEARER_TOKEN_BEDROCK": KEY})
    assert isinstance(outcome, ProviderError) and "only in us-east-1 and eu-north-1" in str(outcome) and request == {}


def test_mythos_is_answered_over_http_by_the_messages_api(server):
    got = call({"id": "bedrock:anthropic.claude-mythos-5", "config": {"temperature": 0.2}},
               {"BEDROCK_ANTHROPIC_BASE_URL": server, "AWS_BEARER_TOKEN_BEDROCK": KEY})
    assert isinstance(got, Completion) and "hi" in got.text, got
