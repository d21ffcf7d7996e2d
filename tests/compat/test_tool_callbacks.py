"""promptfoo's `functionToolCallbacks`: when the model answers with tool calls, the callback for a called
function runs in the sandbox with the call's arguments and its result is the output, by promptfoo 0.121's
rules for OpenAI chat, the responses API and Azure. The chat cases go from the suite line to the output over
real loopback HTTP against the scripted model server (which calls the tools a prompt names); the responses
and Azure rules read real answers of those APIs."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from bot.core.config import Budget, EvalsConfig
from bot.core.files import MemoryTree
from bot.evals.assertions import AssertionBroken, CodeContext
from bot.evals.loader import load_suite
from bot.evals.provider_output import provider_output
from bot.evals.providers import Caller, Completion, Meter
from bot.evals.providers_answers import responses_output
from bot.evals.sandbox import CodeLimits
from bot.evals.tool_callbacks import MAX_CALLBACK_RUNS, CallbackStopped, callback_output
from bot.modelserver import create_app
from bot.serving import start_in_thread

SUITE = "evals/promptfooconfig.yaml"
TOOL = ("{type: function, function: {name: %s, description: 'Add two numbers', parameters: {type: object, "
        "properties: {a: {type: number}, b: {type: number}}, required: [a, b]}}}")
ADD = "module.exports = { add: (args) => { const { a, b } = JSON.parse(args); return a + b; } };\n"


@pytest.fixture(scope="module")
def server():
    running = start_in_thread(create_app(api_key="scripted-key"))
    yield running.url
    running.stop()


def load(provider: str, files: dict[str, str] | None = None):
    tree = MemoryTree({SUITE: f"providers:\n  - {provider}\ntests:\n  - vars: {{a: 5}}\n", **(files or {})})
    return load_suite(tree, SUITE)


def chat(callbacks: str, tools: tuple[str, ...] = ("addNumbers",)) -> str:
    listed = ", ".join(TOOL % t for t in tools)
    return f"id: openai:chat:gpt-4o-mini\n    config:\n      tools: [{listed}]\n      functionToolCallbacks: {callbacks}\n"


def answer(server: str, provider: str, prompt: str, files: dict[str, str] | None = None,
           limits: CodeLimits = CodeLimits()) -> Completion | AssertionBroken:
    suite, errors = load(provider, files)
    assert errors == [] and suite is not None, errors
    spec = suite.providers[0]
    env = {"OPENAI_BASE_URL": f"{server}/v1", "OPENAI_API_KEY": "scripted-key", "AZURE_OPENAI_BASE_URL": server,
           "AZURE_OPENAI_API_KEY": "scripted-key"}
    context = CodeContext({}, prompt, {"vars": {}}, {"id": spec.id}, limits)

    async def go():
        async with httpx.AsyncClient() as client:
            caller = Caller.for_run(client, env, EvalsConfig(timeout_s=10), Meter(Budget()))
            completion = await caller.complete(spec, (("user", prompt),))
            try:
                return await provider_output(spec, completion, context, SUITE)
            except AssertionBroken as exc:
                return exc

    return asyncio.run(go())


INLINE = "{addNumbers: 'async (args) => { const { a, b } = JSON.parse(args); return String(a + b); }'}"


@pytest.mark.parametrize("callbacks, output", [
    (INLINE, "11"),
    ("{addNumbers: '(args) => JSON.parse(args).a * JSON.parse(args).b'}", "30"),  # a number: String(30)
    ("{addNumbers: '(args) => ({sum: JSON.parse(args).a + JSON.parse(args).b})'}", '{"sum":11}'),  # an object: its JSON
    ("{addNumbers: '() => null'}", ""),  # null and undefined: empty text
    ("{addNumbers: 'file://add.js:add'}", "11"),
])
def test_a_chat_tool_call_with_a_callback_becomes_the_callbacks_result(server, callbacks, output):
    got = answer(server, chat(callbacks), "Use addNumbers to add 5 and 6", {"evals/add.js": ADD})
    assert isinstance(got, Completion), got
    assert (got.text, got.structured) == (output, False)


def test_without_a_callback_for_the_called_function_the_answer_is_the_tool_calls(server):
    got = answer(server, chat("{otherTool: '(args) => 1'}"), "Use addNumbers to add 5 and 6")
    assert isinstance(got, Completion) and got.structured
    assert json.loads(got.text)[0]["function"] == {"name": "addNumbers", "arguments": '{"a":5,"b":6}'}


def test_a_callback_that_throws_leaves_the_tool_calls_as_promptfoo_does(server):
    got = answer(server, chat("{addNumbers: '(args) => { throw new Error(\"no\") }'}"), "Use addNumbers to add 5 and 6")
    assert isinstance(got, Completion) and got.structured
    assert json.loads(got.text)[0]["function"]["name"] == "addNumbers"


def test_several_calls_join_the_results_of_those_with_callbacks(server):
    callbacks = "{addNumbers: '(a) => \"sum \" + a', mulNumbers: '(a) => \"product \" + a'}"
    got = answer(server, chat(callbacks, ("addNumbers", "mulNumbers", "subNumbers")),
                 "Use addNumbers for 5 and 6, then subNumbers for 1 and 2, then mulNumbers for 3 and 4")
    assert isinstance(got, Completion), got
    assert got.text == 'sum {"a":5,"b":6}\nproduct {"a":3,"b":4}'


def test_a_callback_stopped_by_a_limit_is_a_case_error_naming_it(server):
    got = answer(server, chat("{addNumbers: '() => { while (true) {} }'}"), "Use addNumbers to add 5 and 6",
                 limits=CodeLimits(timeout_s=0.5))
    assert isinstance(got, AssertionBroken)
    message = str(got)
    assert message.startswith(f"{SUITE}:2: tool callback addNumbers of provider openai:chat:gpt-4o-mini")
    assert "code_timeout_s" in message


def test_a_plain_answer_is_left_alone(server):
    got = answer(server, chat(INLINE), 'Please reply with "pong"')
    assert isinstance(got, Completion) and got.text.strip() == "pong"


FLAT = ("{type: function, name: %s, description: 'Add two numbers', parameters: {type: object, "
        "properties: {a: {type: number}, b: {type: number}}, required: [a, b]}}")


def test_a_responses_api_function_call_becomes_the_callbacks_result_over_http(server):
    provider = (f"id: openai:responses:gpt-4o-mini\n    config:\n      tools: [{FLAT % 'addNumbers'}, {FLAT % 'other'}]\n"
                f"      functionToolCallbacks: {INLINE}\n")
    got = answer(server, provider, "Use addNumbers to add 5 and 6, then other for 1 and 2")
    assert isinstance(got, Completion), got
    first, second = got.text.split("\n")
    assert first == "11" and '"name":"other"' in second  # the call without a callback: its JSON in its place


def test_an_azure_tool_call_becomes_the_callbacks_result_over_http(server):
    provider = f"id: azure:chat:my-deployment\n    config:\n      tools: [{TOOL % 'addNumbers'}]\n      functionToolCallbacks: {INLINE}\n"
    got = answer(server, provider, "Use addNumbers to add 5 and 6")
    assert isinstance(got, Completion), got
    assert (got.text, got.structured) == ("11", False)


# ---- the responses API and Azure, on their answers ----------------------------------------------------------------


def _output(provider: str, answer_json: object, finish: str | None = None):
    suite, errors = load(provider)
    assert errors == [] and suite is not None, errors
    return asyncio.run(callback_output(suite.providers[0], json.dumps(answer_json), finish, CodeLimits()))


CALL = {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "addNumbers", "arguments": '{"a":5,"b":6}',
        "status": "completed"}
RESPONSES = "id: openai:responses:gpt-4o\n    config:\n      functionToolCallbacks: %s\n"


def test_a_responses_function_call_item_becomes_its_callbacks_result_beside_the_other_items():
    items = [{"type": "reasoning", "summary": [{"type": "summary_text", "text": "adding"}]}, CALL]
    out = _output(RESPONSES % "{addNumbers: '(args) => JSON.parse(args).a + JSON.parse(args).b'}", items)
    assert out is not None and (out.text, out.structured) == ("Reasoning: adding\n11", False)


def test_a_function_call_part_of_a_responses_message_is_replaced_by_its_callbacks_result():
    part = {"type": "function_call", "name": "addNumbers", "arguments": '{"a":1,"b":2}'}
    items = [{"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "sum: "}, part]}]
    out = _output(RESPONSES % "{addNumbers: '(args) => JSON.parse(args).a + JSON.parse(args).b'}", items)
    assert out is not None and out.text == "3"  # promptfoo sets the message's content to it, dropping the text before


def test_a_responses_callback_that_throws_leaves_the_calls_json():
    out = _output(RESPONSES % "{addNumbers: '() => { throw new Error(\"x\") }'}", [CALL])
    assert out is not None and out.text == responses_output([CALL], {}).text == json.dumps(CALL, separators=(",", ":"))


AZURE = "id: azure:chat:my-deployment\n    config:\n      functionToolCallbacks: %s\n"


def _azure_call(name: str, arguments: str, n: int) -> dict:
    return {"id": f"call_{n}", "type": "function", "function": {"name": name, "arguments": arguments}}


def test_azure_runs_every_call_and_keeps_the_json_of_those_without_a_callback():
    message = {"role": "assistant", "content": None,
               "tool_calls": [_azure_call("addNumbers", '{"a":1,"b":2}', 1), _azure_call("other", "{}", 2)]}
    out = _output(AZURE % "{addNumbers: '(args) => JSON.parse(args).a + JSON.parse(args).b'}", message)
    assert out is not None
    assert out.text == "3\n" + json.dumps(message["tool_calls"][1], separators=(",", ":"))


def test_azure_with_a_throwing_callback_on_its_only_call_answers_the_calls_json_as_text():
    message = {"role": "assistant", "content": None, "tool_calls": [_azure_call("addNumbers", '{"a":1}', 1)]}
    out = _output(AZURE % "{addNumbers: '() => { throw new Error(\"x\") }'}", message)
    assert out is not None and (out.text, out.structured) == (json.dumps(message["tool_calls"][0], separators=(",", ":")), False)


def test_an_answer_asking_for_more_callback_runs_than_the_bound_is_a_case_error():
    message = {"role": "assistant", "content": None,
               "tool_calls": [_azure_call("addNumbers", f'{{"a":{n},"b":1}}', n) for n in range(MAX_CALLBACK_RUNS + 1)]}
    with pytest.raises(CallbackStopped, match=f"more than {MAX_CALLBACK_RUNS} tool calls"):
        _output(AZURE % "{addNumbers: '(args) => JSON.parse(args).a'}", message)


def test_azure_text_beside_calls_is_the_answer():
    message = {"role": "assistant", "content": "hello", "tool_calls": [_azure_call("addNumbers", "{}", 1)]}
    assert _output(AZURE % "{addNumbers: '() => 1'}", message) is None


# ---- loading ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("provider, message", [
    (chat("{addNumbers: 'file://add.py:add'}"), "unsupported: the tool callback for 'addNumbers' is add.py"),
    (chat("{addNumbers: 3}"), "the tool callback for 'addNumbers' must be text"),
    (chat("[x]"), "functionToolCallbacks must be a mapping"),
    ("id: anthropic:messages:claude-3-5-haiku\n    config: {functionToolCallbacks: {f: '() => 1'}}",
     "refused: functionToolCallbacks: executes code from the PR"),
    ("id: adaline:openai:chat:gpt-4o\n    config: {functionToolCallbacks: {f: '() => 1'}}",
     "refused: functionToolCallbacks: executes code from the PR"),
])
def test_callbacks_that_cannot_run_are_load_errors_at_their_line(provider, message):
    suite, errors = load(provider)
    assert any(message in str(e) and e.line is not None for e in errors), errors


def test_callbacks_are_part_of_the_providers_fingerprint_and_its_code():
    (a, _), (b, _) = load(chat(INLINE)), load(chat(INLINE.replace("a + b", "a - b")))
    assert a is not None and b is not None
    spec_a, spec_b = a.providers[0], b.providers[0]
    assert [w for w, _ in spec_a.code_items()] == ["tool callback addNumbers"]
    assert spec_a.fingerprint() != spec_b.fingerprint()
    assert spec_a.code_changes(spec_b) == ["tool callback addNumbers"]
    assert "functionToolCallbacks" not in dict(spec_a.params)
