"""A SageMaker provider's `config.transform`, as promptfoo applies it: the rendered prompt (a chat prompt's
JSON) and `{vars, prompt}` in, the prompt sent out — an inline function expression, an inline function
body over `prompt` and `context`, or `file://x.js` — run when the case is expanded, in the sandbox,
under the code gate; then formatted for the endpoint's model type and sent over real loopback HTTP."""

from __future__ import annotations

import asyncio

import httpx

from bot.core.config import Budget, EvalsConfig
from bot.core.files import MemoryTree
from bot.evals.loader import load_suite
from bot.evals.providers import Caller, Completion, Meter
from bot.evals.providers_wire import request
from bot.evals.render import Renderer
from bot.evals.sandbox import Origin, may_run
from bot.evals.select import CodeGate, expand, plan_suite

PATH = "evals/promptfooconfig.yaml"
FILE = """module.exports = function (prompt, context) {
  if (context.vars.word === 'boom') throw new Error('no payload for boom');
  if (context.vars.word === 'keep') return undefined;
  return { inputs: prompt, parameters: { max_new_tokens: 8 } };
};
"""


def suite(transform: str, model_type: str = "llama", word: str = "pong") -> str:
    return (f"prompts: ['Say {{{{word}}}}']\nproviders:\n  - id: sagemaker:{model_type}:my-endpoint\n    config:\n"
            f"      region: us-west-2\n      transform: {transform}\ntests:\n  - description: one\n    vars: {{word: {word}}}\n")


def cases(text: str, files: dict[str, str] | None = None):
    tree = MemoryTree({PATH: text, **(files or {})})
    loaded, errors = load_suite(tree, PATH)
    assert errors == [], [str(e) for e in errors]
    found, _ = expand(loaded, Renderer(tree), gate=CodeGate())
    return list(found.values())


def test_an_inline_function_expression_gets_the_prompt_and_the_vars():
    (case,) = cases(suite("\"(prompt, context) => 'Please reply with \\\"' + context.vars.word + '\\\" (' + prompt + ')'\""))
    assert case.error is None and case.messages == (("user", 'Please reply with "pong" (Say pong)'),)
    assert request(case.provider, case.messages)[1]["inputs"] == 'Please reply with "pong" (Say pong)'


def test_an_inline_body_returns_the_prompt_sent_as_promptfoos_llama_example_does():
    (case,) = cases(suite("|\n        // Llama-2 chat format\n        return `<s>[INST] ${prompt} [/INST]`;"))
    assert case.messages == (("user", "<s>[INST] Say pong [/INST]"),)


def test_a_file_transform_returning_an_object_sends_its_json_and_custom_sends_the_object_itself():
    files = {"evals/transform.js": FILE}
    (jumpstart,) = cases(suite("file://transform.js", "jumpstart"), files)
    assert jumpstart.messages == (("user", '{"inputs":"Say pong","parameters":{"max_new_tokens":8}}'),)
    assert request(jumpstart.provider, jumpstart.messages)[1]["inputs"] == '{"inputs":"Say pong","parameters":{"max_new_tokens":8}}'
    (custom,) = cases(suite("file://transform.js", "custom"), files)
    assert request(custom.provider, custom.messages)[1] == {"inputs": "Say pong", "parameters": {"max_new_tokens": 8}}


def test_nothing_returned_keeps_the_prompt_and_a_throw_is_a_case_error_at_the_providers_line():
    files = {"evals/transform.js": FILE}
    (kept,) = cases(suite("file://transform.js", "jumpstart", "keep"), files)
    assert kept.error is None and kept.messages == (("user", "Say keep"),)
    (broken,) = cases(suite("file://transform.js", "jumpstart", "boom"), files)
    assert broken.messages is None
    assert str(broken.error) == (f"{PATH}:3: transform of provider sagemaker:jumpstart:my-endpoint (evals/transform.js): "
                                 "JavaScript code threw an error: Error: no payload for boom")


def test_a_fork_adding_a_transform_is_refused_naming_the_rule_and_a_changed_one_is_a_reason():
    base_tree = MemoryTree({PATH: suite("'(prompt) => prompt'")})
    head_tree = MemoryTree({PATH: suite("'(prompt) => prompt + \"!\"'")})
    base, _ = load_suite(base_tree, PATH)
    head, _ = load_suite(head_tree, PATH)
    fork = plan_suite(PATH, base_tree, head_tree, base, head, pr_code=lambda what: may_run(Origin.PR, False, EvalsConfig(), what))
    (case,) = fork.cases
    assert case.head.error is not None and case.head.error.line == 3
    assert case.head.error.message == ("refused: executes code from a fork's pull request (provider prompt transform) — "
                                       "code from forks never runs; only the base branch's code does")
    same_repo = plan_suite(PATH, base_tree, head_tree, base, head)
    (changed,) = same_repo.cases
    assert changed.head.messages == (("user", "Say pong!"),)
    assert "provider prompt transform changed" in changed.reasons


def test_the_transformed_prompt_reaches_the_endpoint(server_url):
    from bot.modelserver.vendors import TEST_AWS_KEY_ID, TEST_AWS_SECRET

    (case,) = cases(suite("\"(prompt, context) => 'Please reply with \\\"' + context.vars.word + '\\\"'\"", "llama", "kiwi"))
    env = {"SAGEMAKER_BASE_URL": server_url, "AWS_ACCESS_KEY_ID": TEST_AWS_KEY_ID, "AWS_SECRET_ACCESS_KEY": TEST_AWS_SECRET}

    async def go():
        async with httpx.AsyncClient() as client:
            caller = Caller.for_run(client, env, EvalsConfig(timeout_s=10), Meter(Budget()))
            return await caller.complete(case.provider, case.messages)

    outcome = asyncio.run(go())
    assert isinstance(outcome, Completion) and outcome.text == "kiwi"  # "Say kiwi" itself asks for no reply in particular


def test_the_transform_file_is_under_review():
    from bot.evals.runner import suite_dependencies

    tree = MemoryTree({PATH: suite("file://transform.js", "jumpstart"), "evals/transform.js": FILE})
    loaded, _ = load_suite(tree, PATH)
    assert [(d.path, d.reason) for d in suite_dependencies(tree, loaded) if d.path.endswith(".js")] == [
        ("evals/transform.js", f"code of {PATH}")]
