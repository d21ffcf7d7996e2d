"""An http provider's `transformRequest`, as promptfoo runs it: JavaScript called with (prompt, vars, context) when
the case is expanded; its text fills the body's {{prompt}}, an object is merged into a JSON body. From the suite
line to the answer over real loopback HTTP against the scripted model server, and through the code gate."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from bot.core.config import Budget, EvalsConfig
from bot.core.files import MemoryTree
from bot.evals.loader import load_suite
from bot.evals.providers import Caller, Completion, Meter
from bot.evals.render import Renderer
from bot.evals.runner import cache_key
from bot.evals.sandbox import CodeLimits, Origin, may_run
from bot.evals.select import CodeGate, base_only_gate, expand, plan_suite
from bot.modelserver import create_app
from bot.serving import start_in_thread

PATH = "evals/promptfooconfig.yaml"
REQUEST = "module.exports = { request: (prompt, vars) => prompt.replace(vars.word, vars.word + ' ' + vars.word) };\n"


@pytest.fixture(scope="module")
def server():
    running = start_in_thread(create_app(api_key="scripted-key"))
    yield running.url
    running.stop()


def suite_text(url: str, transform_request: str, body: str = "{prompt: '{{prompt}}'}") -> str:
    return (f"prompts: ['Please reply with \"{{{{word}}}}\"']\nproviders:\n  - id: {url}/custom/generate\n    config:\n"
            f"      body: {body}\n      transformResponse: json.result.text\n      transformRequest: {transform_request}\n"
            "tests:\n  - vars: {word: ping}\n")


def expanded(url: str, transform_request: str, body: str = "{prompt: '{{prompt}}'}", limits: CodeLimits = CodeLimits()):
    tree = MemoryTree({PATH: suite_text(url, transform_request, body), "evals/req.js": REQUEST})
    suite, errors = load_suite(tree, PATH)
    assert errors == [] and suite is not None, errors
    cases, _ = expand(suite, Renderer(tree), gate=CodeGate(limits=limits))  # the base branch's code: it runs
    (case,) = cases.values()
    return case


def answer(server: str, transform_request: str) -> Completion:
    case = expanded(server, transform_request)
    assert case.error is None, case.error
    env = {"PROMPT_REVIEW_ALLOWED_MODEL_URLS": server, "PROMPT_REVIEW_ALLOW_PRIVATE_MODEL_URLS": "1"}

    async def go():
        async with httpx.AsyncClient() as client:
            caller = Caller.for_run(client, env, EvalsConfig(timeout_s=10), Meter(Budget()))
            return await caller.complete(case.provider, case.messages)

    return asyncio.run(go())


@pytest.mark.parametrize("transform_request, output", [
    ("'prompt.replace(\"ping\", \"pong\")'", "pong"),  # an expression over prompt
    ("'(prompt, vars) => `Please reply with \"${vars.word.toUpperCase()}\"`'", "PING"),  # a function expression
    ("|\n        const w = vars.word;\n        return `Please reply with \"${w}${w}\"`;", "pingping"),  # a body with return
    ("'function (prompt, vars, context) { return context.vars.word + \" \" + prompt }'", "ping"),  # context
    ("file://req.js:request", "ping ping"),
    ("'(prompt) => ({prompt: prompt.replace(\"ping\", \"merged\")})'", "merged"),  # an object: merged into the body
])
def test_the_transformed_prompt_is_what_the_http_provider_sends(server, transform_request, output):
    got = answer(server, transform_request)
    assert got.text == output


def test_a_transformed_prompt_that_reads_as_json_fills_the_body_as_json():
    case = expanded("https://api.example.com", "'JSON.stringify([{role: \"user\", content: prompt}])'", "{messages: '{{prompt}}', n: 1}")
    assert json.loads(case.provider.request_body.content) == {"messages": [{"role": "user", "content": 'Please reply with "ping"'}], "n": 1}


def test_a_request_transform_that_throws_is_a_case_error_at_the_providers_line():
    case = expanded("https://api.example.com", "'(prompt) => { throw new Error(\"no prompt for you\") }'")
    assert case.messages is None and case.error is not None
    assert (case.error.file, case.error.line) == (PATH, 3)
    assert case.error.message.startswith("transformRequest of provider https://api.example.com/custom/generate: ")
    assert "no prompt for you" in case.error.message


def test_a_request_transform_stopped_by_a_limit_names_the_limit():
    case = expanded("https://api.example.com", "'() => { while (true) {} }'", limits=CodeLimits(timeout_s=0.5))
    assert case.error is not None and "code_timeout_s" in case.error.message


def test_a_python_request_transform_is_refused_at_its_line():
    tree = MemoryTree({PATH: suite_text("https://api.example.com", "file://req.py")})
    _suite, errors = load_suite(tree, PATH)
    assert [(e.line, e.message.split(":")[0]) for e in errors] == [(7, "unsupported")], errors


def test_a_fork_adding_a_request_transform_is_refused_and_the_base_branchs_runs():
    url = "https://api.example.com"
    without = suite_text(url, "x").replace("      transformRequest: x\n", "")
    added = suite_text(url, "'prompt + \"!\"'")
    base, head = MemoryTree({PATH: without}), MemoryTree({PATH: added})
    (base_suite, _), (head_suite, errors) = load_suite(base, PATH), load_suite(head, PATH)
    assert errors == []
    fork = plan_suite(PATH, base, head, base_suite, head_suite, pr_code=lambda what: may_run(Origin.PR, False, EvalsConfig(), what))
    (case,) = fork.cases
    assert case.reasons == ("provider transformRequest changed",)
    assert case.head.error is not None and (case.head.error.file, case.head.error.line) == (PATH, 3)
    assert case.head.error.message.startswith("refused: executes code from a fork's pull request (provider transformRequest)")
    assert cache_key(case.base, 0) != cache_key(case.head, 0)
    # the same transform on both sides is the base branch's code: it runs for the fork too
    (merged,) = expand(head_suite, Renderer(head), gate=base_only_gate(head_suite))[0].values()
    assert merged.error is None and json.loads(merged.provider.request_body.content) == {"prompt": 'Please reply with "ping"!'}


def test_a_pr_changing_only_the_prompt_reads_as_a_prompt_change_not_a_provider_change():
    url = "https://api.example.com"
    base_text = suite_text(url, "'prompt + \"!\"'")
    head_text = base_text.replace("Please reply with", "Kindly reply with")
    base, head = MemoryTree({PATH: base_text}), MemoryTree({PATH: head_text})
    (base_suite, _), (head_suite, errors) = load_suite(base, PATH), load_suite(head, PATH)
    assert errors == []
    plan = plan_suite(PATH, base, head, base_suite, head_suite, pr_code=lambda what: may_run(Origin.PR, True, EvalsConfig(), what))
    (case,) = plan.cases
    assert not any("provider" in r for r in case.reasons), case.reasons
    assert json.loads(case.head.provider.request_body.content) == {"prompt": 'Kindly reply with "ping"!'}
    assert cache_key(case.base, 0) != cache_key(case.head, 0)
