"""Anthropic's messages API as promptfoo 0.121's Anthropic provider calls it (bot/evals/providers_anthropic.py): every
config key it reads, the body and anthropic-beta header it sends (pinned against promptfoo's own requests), how the
answer reads, and the keys refused with their reasons — over real HTTP to a recording server and the scripted model
server."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.core.config import Budget, EvalsConfig
from bot.core.errors import CheckError
from bot.core.files import MemoryTree
from bot.evals import EvalRequest, NoCache, run_evals
from bot.evals.loader import chat_messages, load_suite
from bot.evals.providers import Caller, Completion, Meter, ProviderError
from bot.modelserver import create_app
from bot.serving import start_in_thread
from tests.compat.recording import recording

KEY = "anthropic-key"
PATH = "evals/promptfooconfig.yaml"
MESSAGE = {"id": "m1", "type": "message", "role": "assistant", "model": "m", "content": [{"type": "text", "text": "pong"}],
           "stop_reason": "end_turn", "usage": {"input_tokens": 3, "output_tokens": 1}}


@pytest.fixture(scope="module")
def recorder():
    """A loopback server standing in for api.anthropic.com: it records each request and answers one message."""
    with recording(lambda path: MESSAGE) as running:
        yield running


def load(entry: str, files: dict[str, str] | None = None):
    return load_suite(MemoryTree({PATH: f"providers:\n  - {entry}\ntests:\n  - vars: {{prompt: hi}}\n", **(files or {})}), PATH)


def provider(entry: str, files: dict[str, str] | None = None):
    suite, errors = load(entry, files)
    assert errors == [], [str(e) for e in errors]
    return suite.providers[0]


def problems(entry: str) -> list[str]:
    _, errors = load(entry)
    return [f"{e.file}:{e.line}: {e.message}" for e in errors]


def call(spec, env: dict[str, str], prompt: str = "hi", http_credentials: dict[str, str] | None = None) -> Completion | ProviderError:
    async def go():
        async with httpx.AsyncClient() as client:
            config = EvalsConfig(timeout_s=10, http_credentials=http_credentials or {})
            caller = Caller.for_run(client, env, config, Meter(Budget()))
            try:
                # a prompt that is a JSON message list is a chat, as the suite's renderer reads it
                messages = chat_messages(PATH, json.loads(prompt)) if prompt.startswith("[") else (("user", prompt),)
                return await caller.complete(spec, messages)
            except ProviderError as exc:
                return exc

    return asyncio.run(go())


def sent(recorder, entry: str, env: dict[str, str] | None = None, files: dict[str, str] | None = None, prompt: str = "hi",
         **kw) -> dict[str, Any]:
    url, got = recorder
    got.clear()
    outcome = call(provider(entry, files), {"ANTHROPIC_BASE_URL": url, "ANTHROPIC_API_KEY": KEY, **(env or {})}, prompt, **kw)
    assert isinstance(outcome, Completion), outcome
    (request,) = got
    return request


# ---- pinned against promptfoo 0.121's own provider ----------------------------------------------------

PINNED = json.loads((Path(__file__).parent / "data" / "anthropic_requests.json").read_text())
CLIENT_HEADERS = {"accept", "content-type"}  # the SDK's own, beside the API's


@pytest.mark.parametrize("case", PINNED, ids=[f"{c['id']}|{json.dumps(c.get('config'), sort_keys=True)[:80]}" for c in PINNED])
def test_the_request_is_the_one_promptfoo_makes(recorder, case):
    """Recorded from promptfoo 0.121.20's Anthropic provider by bench/vendor_request_oracle.mjs: the body, the key and
    the anthropic-beta header, for each rule on sampling parameters, thinking, tools and structured outputs."""
    config = case.get("config") or {}
    entry = json.dumps({"id": case["id"], "config": config}) if config else json.dumps(case["id"])
    theirs = case["sent"]
    request = sent(recorder, entry, prompt=case.get("prompt", "hi"))
    assert request["path"] == "/v1/messages" and theirs["url"].endswith("/v1/messages")
    expected = {k: (KEY if k == "x-api-key" else v) for k, v in theirs["headers"].items() if k not in CLIENT_HEADERS}
    assert {k: request["headers"].get(k) for k in expected} == expected
    assert ("anthropic-beta" in request["headers"]) == ("anthropic-beta" in theirs["headers"])
    assert as_text(request["body"]) == as_text(theirs["body"])


def as_text(body: dict[str, Any]) -> dict[str, Any]:
    """A message's or the system prompt's content that is one plain text block as its text: promptfoo writes a text
    prompt's that way, prompt-review as the text, which the API reads the same."""
    def text(content: Any) -> Any:
        plain = isinstance(content, list) and len(content) == 1 and isinstance(content[0], dict) and set(content[0]) == {"type", "text"}
        return content[0]["text"] if plain and content[0]["type"] == "text" else content

    out = {**body, "messages": [{**m, "content": text(m["content"])} for m in body["messages"]]}
    if "system" in body:
        out["system"] = text(body["system"])
    return out


def test_output_format_from_a_file_and_its_schema_from_another_are_read_with_the_suite(recorder):
    schema = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
    files = {"evals/format.json": json.dumps({"type": "json_schema", "schema": "file://schema.json"}),
             "evals/schema.json": json.dumps(schema)}
    request = sent(recorder, "id: anthropic:messages:claude-sonnet-4-6\n    config: {output_format: file://format.json}", files=files)
    assert request["body"]["output_config"] == {"format": {"type": "json_schema", "schema": schema}}
    assert request["headers"]["anthropic-beta"] == "structured-outputs-2025-11-13"
    suite, errors = load("id: anthropic:messages:claude-sonnet-4-6\n    config: {output_format: file://missing.json}")
    assert [e.message for e in errors] == ["file evals/missing.json not found"]


@pytest.mark.parametrize("ref", ["file://../../secrets.json", "file:///etc/passwd", "file://format.js"])
def test_an_output_format_file_outside_the_repository_or_in_code_is_refused(ref):
    (problem,) = problems(f"id: anthropic:messages:claude-sonnet-4-6\n    config: {{output_format: '{ref}'}}")
    assert "a provider setting from a file must be a .json, .yaml or .yml file inside the repository" in problem, problem
    files = {"evals/format.json": json.dumps({"type": "json_schema", "schema": ref})}
    _, errors = load("id: anthropic:messages:claude-sonnet-4-6\n    config: {output_format: file://format.json}", files)
    assert [e.message for e in errors] == [f"{ref}: a provider setting from a file must be a .json, .yaml or .yml file inside the repository"]


def test_a_prompts_config_reaches_the_request_as_promptfoo_merges_it_over_the_providers(recorder):
    url, got = recorder
    got.clear()
    suite_text = ("prompts:\n  - raw: 'Give me JSON'\n    config: {output_format: {type: json_schema, schema: {type: object}}, effort: low, "
                  "beta: [files-api-2025-04-14]}\nproviders: [anthropic:messages:claude-sonnet-4-6]\ntests: [{vars: {}}]\n")
    suite, errors = load_suite(MemoryTree({PATH: suite_text}), PATH)
    assert errors == [], [str(e) for e in errors]
    spec = suite.providers[0].for_prompt(suite.prompts[0])
    assert isinstance(call(spec, {"ANTHROPIC_BASE_URL": url, "ANTHROPIC_API_KEY": KEY}), Completion)
    (request,) = got
    assert request["body"]["output_config"] == {"format": {"type": "json_schema", "schema": {"type": "object"}}, "effort": "low"}
    assert request["headers"]["anthropic-beta"] == "files-api-2025-04-14,structured-outputs-2025-11-13"


def test_stream_is_accepted_and_the_whole_answer_is_asked_for(recorder):
    request = sent(recorder, "id: anthropic:messages:claude-sonnet-4-0\n    config: {stream: true}")
    assert request["body"]["stream"] is False
    (problem,) = problems("id: anthropic:messages:claude-sonnet-4-0\n    config: {extra_body: {stream: true}}")
    assert problem.startswith(f"{PATH}:3: extra_body.stream: prompt-review asks for the whole answer")


def test_a_header_secret_goes_only_where_it_is_granted(recorder):
    url, _ = recorder
    entry = "id: anthropic:messages:claude-sonnet-4-0\n    config: {headers: {x-gateway-token: '{{env.GATEWAY_TOKEN}}'}}"
    outcome = call(provider(entry), {"ANTHROPIC_BASE_URL": url, "ANTHROPIC_API_KEY": KEY, "GATEWAY_TOKEN": "t0k"})
    assert isinstance(outcome, ProviderError) and outcome.kind == CheckError.URL_REFUSED
    assert "{{env.GATEWAY_TOKEN}}" in str(outcome) and "t0k" not in str(outcome)
    request = sent(recorder, entry, {"GATEWAY_TOKEN": "t0k"}, http_credentials={"GATEWAY_TOKEN": url})
    assert request["headers"]["x-gateway-token"] == "t0k"
    request = sent(recorder, "id: anthropic:messages:claude-sonnet-4-0\n    config: {headers: {x-key: '{{env.ANTHROPIC_API_KEY}}'}}")
    assert request["headers"]["x-key"] == KEY  # the vendor's own key, to its own API


@pytest.mark.parametrize(("config", "words"), [
    ("{headers: {x-api-key: other}}", "header 'x-api-key' cannot be set by a suite"),
    ("{headers: {x-a: '{{ vars.x }}'}}", "unsupported: a header may use {{env.NAME}}"),
    ("{mcp: {enabled: true, servers: [{name: wiki, url: 'https://mcp.example.com/mcp'}]}, max_tool_calls: 5}",
     "refused: mcp: MCP servers run tools for the model"),
    ("{mcp: {enabled: 'yes', server: {command: npx}}}", "refused: mcp: MCP servers run tools for the model"),
    ("{output_format: 3}", "output_format must be a mapping"),
    ("{beta: files-api-2025-04-14}", "beta must be a list"),
    ("{apiKeyRequired: 'no'}", "apiKeyRequired must be true or false"),
    ("{apiKey: sk-ant-123}", "refused: apiKey: credentials come from the environment only"),
])
def test_settings_prompt_review_does_not_honour_are_errors_with_file_and_line(config, words):
    (problem,) = problems(f"id: anthropic:messages:claude-sonnet-4-0\n    config: {config}")
    assert problem.startswith(f"{PATH}:3: {words}"), problem


def test_mcp_that_is_not_enabled_and_max_tool_calls_without_it_change_nothing(recorder):
    plain = sent(recorder, "anthropic:messages:claude-sonnet-4-0")
    for config in ("{mcp: {enabled: false}}", "{mcp: {servers: []}}", "{max_tool_calls: 3}", "{apiKeyRequired: false}"):
        assert sent(recorder, f"id: anthropic:messages:claude-sonnet-4-0\n    config: {config}") == plain


def test_echo_reads_no_config_as_in_promptfoo():
    """promptfoo's structured-outputs example gives echo an output_format: its echo provider never reads it."""
    echo = provider("id: echo\n    config: {output_format: file://absent.json, max_tokens: 5}")
    assert (echo.kind, echo.params) == ("echo", ())
    (problem,) = problems("id: echo\n    config: {apiKey: sk-1}")
    assert "refused: apiKey" in problem


def test_without_a_key_api_key_required_false_names_the_key_instead_of_reading_a_claude_code_login():
    spec = provider("id: anthropic:messages:claude-sonnet-4-6\n    config: {apiKeyRequired: false}")
    outcome = call(spec, {})
    assert isinstance(outcome, ProviderError) and outcome.kind == CheckError.MISSING_CREDENTIALS
    assert "ANTHROPIC_API_KEY is not set" in str(outcome)


# ---- whole reviews against the scripted model server ----------------------------------------------------


@pytest.fixture(scope="module")
def server():
    running = start_in_thread(create_app(api_key=KEY))
    yield running.url
    running.stop()


def review(url: str, provider_entry: str, prompt: str, asserts: str, message: str):
    suite = (f"prompts: [{json.dumps(prompt)}]\nproviders:\n  - {provider_entry}\n"
             f"tests:\n  - vars: {{message: {json.dumps(message)}}}\n    assert: {asserts}\n")
    env = {"ANTHROPIC_BASE_URL": url, "ANTHROPIC_API_KEY": KEY}
    request = EvalRequest(base=MemoryTree({}), head=MemoryTree({PATH: suite}), suites=[PATH], env=env)
    (case,) = asyncio.run(run_evals(request, NoCache())).cases()
    return case.head


def test_a_structured_output_is_the_parsed_json_as_in_promptfoo(server):
    entry = ("id: anthropic:messages:claude-sonnet-4-6\n    config:\n      output_format: {type: json_schema, schema: "
             "{type: array, items: {type: integer}}}\n      stream: true")
    head = review(server, entry, 'Reply with exactly "{{message}}".',
                  "[{type: javascript, value: 'Array.isArray(output) && output[1] === 2'}]", "[1, 2, 3]")
    assert head.passed and head.output == "[1,2,3]", head  # the object's JSON, as promptfoo writes its output
    head = review(server, entry.replace("output_format: {type: json_schema", "output_format: {type: text"), 'Reply with exactly "{{message}}".',
                  "[{type: javascript, value: 'Array.isArray(output)'}]", "[1, 2, 3]")
    assert not head.passed and head.output == "[1, 2, 3]", head  # text under any other format


def test_tools_in_openais_form_reach_claude_in_its_own_and_the_tool_use_is_the_output(server):
    entry = ("id: anthropic:messages:claude-sonnet-4-0\n    config:\n      tool_choice: required\n      tools:\n"
             "        - {type: function, function: {name: get_weather, description: Weather in a city, parameters: "
             "{type: object, properties: {city: {type: string}}}}}")
    head = review(server, entry, "{{message}}", "[{type: contains, value: '\"name\":\"get_weather\"'}]", "What is the weather?")
    assert head.passed and '"type":"tool_use"' in head.output, head
