"""A provider's own code on its answers, as promptfoo runs it: an http provider's JavaScript
`transformResponse` (an expression over json/text/context, a function expression, file://x.js[:name])
and a provider's `transform`, applied after the call and before the test's options.transform. From the
suite line to the answer, over real loopback HTTP against the scripted model server."""

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
from bot.evals.providers import Caller, Completion, Meter
from bot.evals.sandbox import CodeLimits
from bot.modelserver import create_app
from bot.serving import start_in_thread

ASK = (("user", 'Please reply with "pong"'),)
PARSER = "module.exports = (json, text, context) => json.result.text + ':' + typeof text + ':' + context.response.status;\n"
NAMED = "export function shout(json) { return json.result.text.toUpperCase(); }\n"


@pytest.fixture(scope="module")
def server():
    running = start_in_thread(create_app(api_key="scripted-key"))
    yield running.url
    running.stop()


def load(entry: str, files: dict[str, str] | None = None):
    tree = MemoryTree({"evals/promptfooconfig.yaml": f"providers:\n  - {entry}\ntests:\n  - vars: {{prompt: hi}}\n", **(files or {})})
    return load_suite(tree, "evals/promptfooconfig.yaml")


def answer(server: str, entry: str, files: dict[str, str] | None = None, limits: CodeLimits = CodeLimits()) -> Completion | AssertionBroken:
    suite, errors = load(entry, files)
    assert errors == [] and suite is not None, errors
    spec = suite.providers[0]
    env = {"PROMPT_REVIEW_ALLOWED_MODEL_URLS": server, "PROMPT_REVIEW_ALLOW_PRIVATE_MODEL_URLS": "1", "OPENAI_BASE_URL": f"{server}/v1",
           "OPENAI_API_KEY": "scripted-key"}
    context = CodeContext({"who": "ann"}, ASK[0][1], {"vars": {"who": "ann"}}, {"id": spec.id}, limits)

    async def go():
        async with httpx.AsyncClient() as client:
            caller = Caller.for_run(client, env, EvalsConfig(timeout_s=10), Meter(Budget()))
            completion = await caller.complete(spec, ASK)
            try:
                return await provider_output(spec, completion, context, "evals/promptfooconfig.yaml")
            except AssertionBroken as exc:
                return exc

    return asyncio.run(go())


def http(server: str, transform_response: str, more: str = "") -> str:
    return (f"id: {server}/custom/generate\n    config:\n      body: {{prompt: '{{{{prompt}}}}'}}\n"
            f"      transformResponse: {transform_response}\n" + more)


@pytest.mark.parametrize("transform_response, output", [
    ("json.result.text", "pong"),  # a plain path: read without running code
    ("'json.result.text.toUpperCase()'", "PONG"),  # an expression over json
    ("'text.length > 0 ? JSON.parse(text).result.text + \"!\" : \"empty\"'", "pong!"),  # over the answer's text
    ("|\n        (json, text) => {\n          const t = json.result.text;\n          return t + t;\n        }", "pongpong"),
    ("'function (json) { return {output: json.result.text, tokenUsage: {total: 3}} }'", "pong"),  # a provider response
    ("file://parse.js", "pong:string:200"),
    ("file://named.mjs:shout", "PONG"),
])
def test_an_http_providers_javascript_response_transform_gives_the_output(server, transform_response, output):
    got = answer(server, http(server, transform_response), {"evals/parse.js": PARSER, "evals/named.mjs": NAMED})
    assert isinstance(got, Completion), got
    assert got.text == output and not got.structured


def test_a_response_transform_returning_an_object_is_the_output_code_sees_as_an_object(server):
    got = answer(server, http(server, "'({word: json.result.text, n: 1})'"))
    assert isinstance(got, Completion) and got.structured and got.text == '{"word":"pong","n":1}'


def test_a_provider_transform_runs_after_the_response_transform(server):
    entry = http(server, "'json.result.text'", "    transform: output.toUpperCase() + '/' + context.vars.who\n")
    got = answer(server, entry)
    assert isinstance(got, Completion) and got.text == "PONG/ann"


def test_a_provider_transform_in_a_block_of_one_line_is_a_function_body_as_promptfoo_reads_it(server):
    got = answer(server, "id: openai:chat:gpt-4o-mini\n    transform: |\n      return output.toUpperCase();\n")
    assert isinstance(got, Completion) and got.text == "PONG"


def test_a_provider_transform_of_a_vendors_provider_and_from_a_python_file(server):
    got = answer(server, "id: openai:chat:gpt-4o-mini\n    transform: 'output.split(\"\").reverse().join(\"\")'")
    assert isinstance(got, Completion) and got.text == "gnop"
    py = "def tidy(output, context):\n    return {'said': output, 'who': context['vars']['who']}\n"
    got = answer(server, "id: openai:chat:gpt-4o-mini\n    transform: file://tidy.py:tidy", {"evals/tidy.py": py})
    assert isinstance(got, Completion) and got.structured and got.text == '{"said":"pong","who":"ann"}'


@pytest.mark.parametrize("transform_response, words", [
    ("'json.nothing.here.toUpperCase()'", "TypeError"),
    ("'(() => { throw new Error(\"bad answer\") })()'", "bad answer"),
    ("'null'", "returned nothing"),
])
def test_a_response_transform_that_fails_is_a_case_error_at_the_providers_line(server, transform_response, words):
    got = answer(server, http(server, transform_response))
    assert isinstance(got, AssertionBroken), got
    assert str(got).startswith("evals/promptfooconfig.yaml:2: transformResponse of provider ") and words in str(got)


def test_a_transform_past_its_time_limit_is_a_timeout_error_naming_the_transform_and_its_file(server):
    loop = "module.exports = () => { while (true) {} };\n"
    got = answer(server, "id: openai:chat:gpt-4o-mini\n    transform: file://spin.js", {"evals/spin.js": loop},
                 CodeLimits(timeout_s=0.5))
    assert isinstance(got, AssertionBroken) and got.kind is CheckError.ASSERTION  # could not check: never a pass
    assert str(got).startswith("evals/promptfooconfig.yaml:2: provider transform of provider openai:chat:gpt-4o-mini (evals/spin.js)")
    assert "ran longer than 0.5 s" in str(got) and "limits.code_timeout_s" in str(got)


@pytest.mark.parametrize("entry, line, words", [
    ("id: https://example.com/api\n    config: {transformResponse: file://parse.py}", 3,
     "unsupported: transformResponse in Python"),
    ("id: https://example.com/api\n    config: {transformResponse: file://missing.js}", 3, "missing.js does not exist"),
    ("id: openai:chat:gpt-4o\n    transform: file://gone.py", 3, "provider transform: gone.py does not exist"),
    ("id: openai:chat:gpt-4o\n    transform: 42", 3, "provider transform: needs code"),
])
def test_a_transform_that_cannot_be_read_is_refused_with_its_line(entry, line, words):
    suite, errors = load(entry)
    assert suite is None and len(errors) == 1
    assert errors[0].line == line and words in errors[0].message, errors


def test_a_graders_transform_is_not_run_as_promptfoo_calls_graders_directly():
    # promptfoo 0.121 applies a provider's `transform` to a suite provider's answers only (its evaluator); its graders'
    # answers are read as they come (a SageMaker grader's transform is its prompt transform: test_grader_transform.py)
    suite = ("providers: [openai:chat:gpt-4o]\ndefaultTest:\n  options:\n    provider:\n      id: openai:chat:gpt-4o\n"
             "      transform: output.trim()\ntests:\n  - vars: {q: hi}\n    assert:\n      - type: llm-rubric\n        value: ok\n")
    loaded, errors = load_suite(MemoryTree({"promptfooconfig.yaml": suite}), "promptfooconfig.yaml")
    assert errors == [] and loaded is not None
    grader = loaded.tests[0].grader
    assert grader is not None and grader.code_items() == ()


def test_loading_runs_no_provider_code():
    # a transform that would hang forever is only read while loading
    suite, errors = load("id: openai:chat:gpt-4o\n    transform: 'while (true) {}'")
    assert errors == [] and suite is not None and suite.providers[0].transform is not None
