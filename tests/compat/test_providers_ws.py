"""promptfoo's websocket provider (`ws://…`), from the suite line to the answer, over real loopback
WebSocket connections to the scripted model server; its URL passes the same allowlist as an http provider's."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from bot.core.config import Budget, EvalsConfig
from bot.core.errors import CheckError
from bot.core.files import MemoryTree
from bot.evals.assertions import AssertionBroken, CodeContext
from bot.evals.loader import load_suite
from bot.evals.provider_output import provider_output
from bot.evals.providers import Caller, Completion, Meter, ProviderError
from bot.evals.sandbox import CodeLimits
from bot.modelserver import create_app
from bot.serving import start_in_thread

PONG = (("user", 'Please reply with "pong"'),)


@pytest.fixture(scope="module")
def server():
    running = start_in_thread(create_app())
    yield running.url.replace("http://", "ws://")
    running.stop()


def allowed(url: str) -> dict[str, str]:
    return {"PROMPT_REVIEW_ALLOWED_MODEL_URLS": url, "PROMPT_REVIEW_ALLOW_PRIVATE_MODEL_URLS": "1"}


def load(entry: str, vars_: str = "{language: French}"):
    return load_suite(MemoryTree({"promptfooconfig.yaml": f"providers:\n  - {entry}\ntests:\n  - vars: {vars_}\n"}),
                      "promptfooconfig.yaml")


def call(env: dict[str, str], entry: str, messages=PONG, vars_: dict | None = None, timeout_s: float = 10):
    """The provider's answer, after its own code (a JavaScript transformResponse) ran in the sandbox."""
    suite, errors = load(entry)
    assert errors == []
    spec = suite.providers[0].with_vars(vars_ or {})
    context = CodeContext(vars_ or {}, messages[-1][1], {"vars": vars_ or {}}, {"id": spec.id}, CodeLimits())

    async def go():
        async with httpx.AsyncClient() as client:
            caller = Caller.for_run(client, env, EvalsConfig(timeout_s=timeout_s), Meter(Budget()))
            try:
                return await provider_output(spec, await caller.complete(spec, messages), context, "promptfooconfig.yaml")
            except (ProviderError, AssertionBroken) as exc:
                return exc

    return asyncio.run(go())


def stats(server: str) -> dict:
    return httpx.get(server.replace("ws://", "http://") + "/_control/stats").json()


def test_a_websocket_provider_sends_its_message_template_and_reads_the_answer_at_its_data_path(server):
    entry = (f"id: {server}/ws\n    config:\n      messageTemplate: '{{\"prompt\": {{{{prompt | dump}}}}, \"lang\": {{{{language | dump}}}}}}'\n"
             "      transformResponse: data.output")
    outcome = call(allowed(server), entry, vars_={"language": "French"})
    assert isinstance(outcome, Completion) and outcome.text == "pong"


def test_without_transform_response_a_json_answer_with_an_output_is_that_output(server):
    outcome = call(allowed(server), f"id: {server}/ws\n    config: {{messageTemplate: '{{{{prompt}}}}'}}")
    assert isinstance(outcome, Completion) and outcome.text == "pong"


@pytest.mark.parametrize("transform, output", [
    ("data.output.toUpperCase() + ':' + data.model", "PONG:scripted-websocket"),
    ("({output: data.output + '!'})", "pong!"),
])
def test_a_javascript_transform_response_runs_in_the_sandbox_over_data(server, transform, output):
    entry = f"id: {server}/ws\n    config: {{messageTemplate: '{{{{prompt}}}}', transformResponse: \"{transform}\"}}"
    outcome = call(allowed(server), entry)
    assert isinstance(outcome, Completion) and outcome.text == output


def test_a_javascript_transform_response_over_a_text_answer_sees_the_text(server):
    outcome = call(allowed(server), f"id: {server}/ws/plain\n    config: {{messageTemplate: '{{{{prompt}}}}', transformResponse: 'data + 1'}}")
    assert isinstance(outcome, Completion) and outcome.text == "pong1"


STREAM = ("(accumulator, event, context) => { const { message, type } = JSON.parse(event.data); "
          "if (type === 'message') { return [{output: message}, true]; } return [{output: message}, false]; }")


def test_a_stream_response_runs_on_every_frame_until_it_says_the_answer_is_complete(server):
    entry = f"id: {server}/ws/stream\n    config: {{messageTemplate: '{{{{prompt}}}}', streamResponse: \"{STREAM}\"}}"
    outcome = call(allowed(server), entry,
                   messages=(("user", "Tell me a long story about the sea"),))
    assert isinstance(outcome, Completion) and len(outcome.text.split()) > 3
    assert stats(server)["by_endpoint"].get("websocket/stream", 0) >= 1


def test_a_stream_response_body_over_data_and_one_that_errors(server):
    body = "const m = JSON.parse(data.data); return [{output: (accumulator.output || '') + '|' + m.message}, m.type === 'message'];"
    outcome = call(allowed(server), f"id: {server}/ws/stream\n    config: {{messageTemplate: '{{{{prompt}}}}', streamResponse: \"{body}\"}}")
    assert isinstance(outcome, Completion) and outcome.text == "|pong|pong"
    failing = "(a, event) => { throw new Error('bad frame'); }"
    outcome = call(allowed(server), f"id: {server}/ws/stream\n    config: {{messageTemplate: '{{{{prompt}}}}', streamResponse: \"{failing}\"}}")
    assert isinstance(outcome, ProviderError) and "streamResponse" in str(outcome) and "bad frame" in str(outcome)


def test_a_stream_that_never_completes_is_a_timeout(server):
    entry = f"id: {server}/ws/endless\n    config: {{messageTemplate: '{{{{prompt}}}}', timeoutMs: 500, streamResponse: \"{STREAM}\"}}"
    outcome = call(allowed(server), entry)
    assert isinstance(outcome, ProviderError) and outcome.kind is CheckError.TIMEOUT


def test_a_plain_text_answer_is_the_output(server):
    outcome = call(allowed(server), f"id: {server}/ws/plain\n    config: {{messageTemplate: '{{{{prompt}}}}'}}")
    assert isinstance(outcome, Completion) and outcome.text == "pong"


def test_a_websocket_url_that_is_not_allowed_is_refused_naming_the_rule_and_sends_nothing(server):
    httpx.post(server.replace("ws://", "http://") + "/_control/reset").raise_for_status()
    outcome = call({}, f"id: {server}/ws\n    config: {{messageTemplate: '{{{{prompt}}}}'}}")
    assert isinstance(outcome, ProviderError) and outcome.kind is CheckError.URL_REFUSED
    assert "is not an allowed model URL" in str(outcome) and "evals.allowed_base_urls" in str(outcome)
    assert f"{server}/ws" in str(outcome)
    assert stats(server).get("requests", 0) == 0


def test_an_allowed_websocket_url_on_a_loopback_address_needs_the_operators_private_url_setting(server):
    outcome = call({"PROMPT_REVIEW_ALLOWED_MODEL_URLS": server}, f"id: {server}/ws\n    config: {{messageTemplate: '{{{{prompt}}}}'}}")
    assert isinstance(outcome, ProviderError) and outcome.kind is CheckError.URL_REFUSED
    assert "PROMPT_REVIEW_ALLOW_PRIVATE_MODEL_URLS" in str(outcome)


def test_a_server_that_never_answers_is_a_timeout_after_timeout_ms(server):
    outcome = call(allowed(server), f"id: {server}/ws/silent\n    config: {{messageTemplate: '{{{{prompt}}}}', timeoutMs: 300}}")
    assert isinstance(outcome, ProviderError) and outcome.kind is CheckError.TIMEOUT
    assert "config.timeoutMs" in str(outcome)


def test_a_huge_frame_is_refused_past_the_response_size_limit(server):
    outcome = call(allowed(server), f"id: {server}/ws/huge?bytes=6000000\n    config: {{messageTemplate: '{{{{prompt}}}}'}}")
    assert isinstance(outcome, ProviderError) and outcome.kind is CheckError.RESPONSE_TOO_LARGE
    assert "larger than" in str(outcome)


def test_a_server_that_closes_without_answering_is_a_short_case_error(server):
    outcome = call(allowed(server), f"id: {server}/ws/close\n    config: {{messageTemplate: '{{{{prompt}}}}'}}")
    assert isinstance(outcome, ProviderError) and "closed" in str(outcome) and len(str(outcome)) < 200


def test_an_error_in_the_answer_is_a_case_error(server):
    outcome = call(allowed(server), f"id: {server}/ws/nonsense\n    config: {{messageTemplate: '{{{{prompt}}}}'}}")
    assert isinstance(outcome, ProviderError) and "unknown scripted websocket variant" in str(outcome)


def test_a_missing_path_in_the_answer_is_no_output(server):
    outcome = call(allowed(server), f"id: {server}/ws\n    config: {{messageTemplate: '{{{{prompt}}}}', transformResponse: data.reply}}")
    assert isinstance(outcome, ProviderError) and "nothing at data.reply" in str(outcome)


@pytest.mark.parametrize("config, message", [
    ("{}", "needs config.messageTemplate"),
    ("{messageTemplate: '{{ prompt | upper }}'}", "plain or with | dump"),
    ("{messageTemplate: x, streamResponse: 'file://stream.js'}", "streamResponse must be inline JavaScript"),
    ("{messageTemplate: x, headers: {Authorization: 'Bearer {{ vars.KEY }}'}}", "may use {{env.NAME}}"),
    ("{messageTemplate: x, timeoutMs: -1}", "timeoutMs must be a positive number"),
    ("{messageTemplate: x, apiKey: secret}", "credentials come from the environment only"),
])
def test_bad_websocket_configs_are_errors_with_their_line(config, message):
    suite, errors = load(f"id: ws://127.0.0.1:9/ws\n    config: {config}")
    assert errors and message in str(errors[0]) and errors[0].line is not None


def test_a_javascript_transform_response_is_code_over_data():
    suite, errors = load("id: wss://example.com/chat\n    config: {messageTemplate: x, transformResponse: 'data.output.trim()'}")
    assert errors == []
    code = suite.providers[0].response_transform
    assert code is not None and "data.output.trim()" in code.source


def test_a_stream_response_is_provider_code_the_gate_sees_and_transform_response_is_then_ignored():
    suite, errors = load("id: ws://127.0.0.1:9/ws\n    config: {messageTemplate: x, transformResponse: data.output, "
                         "streamResponse: '(a, e) => [{output: e.data}, true]'}")
    assert errors == []
    spec = suite.providers[0]
    assert [what for what, _ in spec.code_items()] == ["streamResponse"]
    assert spec.option("transformResponse") is None


def test_an_http_prefix_allows_the_same_origins_websocket_url_and_nothing_else(server):
    http_origin = server.replace("ws://", "http://")
    env = {"PROMPT_REVIEW_ALLOWED_MODEL_URLS": http_origin, "PROMPT_REVIEW_ALLOW_PRIVATE_MODEL_URLS": "1"}
    outcome = call(env, f"id: {server}/ws\n    config: {{messageTemplate: '{{{{prompt}}}}'}}")
    assert isinstance(outcome, Completion) and outcome.text == "pong"
    other = server.rsplit(":", 1)[0] + ":1"  # the same host on another port
    refused = call(env, f"id: {other}/ws\n    config: {{messageTemplate: '{{{{prompt}}}}'}}")
    assert isinstance(refused, ProviderError) and refused.kind is CheckError.URL_REFUSED


@pytest.mark.parametrize("pid", ["websocket", "ws", "wss"])
def test_the_websocket_provider_by_name_reads_its_url_from_config_url(server, pid):
    """promptfoo 0.121 loads `websocket`, `ws` and `wss` (exactly) as its websocket provider, at config.url."""
    entry = f"id: {pid}\n    config: {{type: websocket, url: '{server}/ws', messageTemplate: '{{{{prompt}}}}', transformResponse: data.output}}"
    outcome = call(allowed(server), entry)
    assert isinstance(outcome, Completion) and outcome.text == "pong"
    refused = call({}, entry)  # the same allowlist as a ws:// id's
    assert isinstance(refused, ProviderError) and refused.kind is CheckError.URL_REFUSED


def test_config_url_is_where_a_ws_id_connects_too(server):
    """promptfoo: `config.url || the id`."""
    outcome = call(allowed(server), f"id: ws://127.0.0.1:9/ws\n    config: {{url: '{server}/ws', messageTemplate: '{{{{prompt}}}}'}}")
    assert isinstance(outcome, Completion) and outcome.text == "pong"


@pytest.mark.parametrize("entry, message", [
    ("id: websocket\n    config: {messageTemplate: x}", "3: a websocket provider with the id 'websocket' needs config.url"),
    ("id: wss\n    config: {url: 'https://example.com/chat', messageTemplate: x}", "3: url must be a ws:// or wss:// URL"),
    ("id: websocket\n    config:\n      url: 'wss://example.com/chat'\n      messageTemplate: x\n      setSessionContext: |-\n"
     "        const r = await fetch('http://localhost:4000/conversation', {method: 'POST'});\n        return {vars};",
     "6: refused: setSessionContext: executes code from the PR before each call to set up a server session"),
    ("'websockets'", "2: unsupported: provider 'websockets' is no provider id, in promptfoo 0.121 either"),
])
def test_websocket_ids_without_a_usable_url_or_with_session_setup_code_are_errors_with_their_line(entry, message):
    _, errors = load(entry)
    assert errors and f"{errors[0].line}: {errors[0].message}".startswith(message), errors


@pytest.mark.parametrize("entry, message", [
    ("'websocket://localhost:8080'", "2: unsupported: provider 'websocket://localhost:8080': promptfoo 0.121 does not load this id either"),
    ("id: wss://example.com/chat\n    config: {messageTemplate: x, streamChunkType: delta}",
     "3: unsupported provider config key 'streamChunkType': promptfoo 0.121's websocket provider does not read it"),
])
def test_websocket_forms_of_later_promptfoo_versions_say_what_0_121_reads(entry, message):
    _, errors = load(entry)
    assert errors and f"{errors[0].line}: {errors[0].message}".startswith(message), errors
