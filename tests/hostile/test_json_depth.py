"""Deeply nested JSON from a pull request (chat prompt files, inline chat prompts, referenced
schemas) or from a model (answers judged by is-json, contains-json, equals) is refused before it
is parsed: an error naming the file and line, or a case that is an error — never a RecursionError
that ends the review, and never a pass."""

from __future__ import annotations

import asyncio

import pytest

from bot.core.compare import CaseStatus
from bot.core.files import MemoryTree
from bot.core.semdiff import diff_texts
from bot.evals import EvalRequest, MemoryCache, run_evals
from bot.evals.assertions import AssertionBroken, score_output
from bot.evals.loader import load_suite
from bot.evals.suite import AssertionSpec

DEEP = "[" * 5000 + "]" * 5000  # far past the interpreter's recursion limit
BAD = "evals/bad/promptfooconfig.yaml"
GOOD = "evals/good/promptfooconfig.yaml"


def deep_chat_file(levels: int = 5000) -> str:
    """A chat prompt whose third line starts a value nested `levels` deep."""
    return '[{"role": "system", "content": "Be brief."},\n {"role": "user",\n  "content": "hi", "x": ' + "[" * levels + "]" * levels + "}]\n"


def suite(prompts: str, tests: str = "  - vars: {question: hi}\n    assert: [{type: contains, value: hi}]\n") -> str:
    return f"prompts: {prompts}\nproviders: [openai:chat:gpt-4o]\ntests:\n{tests}"


def env(server) -> dict[str, str]:
    return {"OPENAI_BASE_URL": server.url + "/v1", "OPENAI_API_KEY": "sk-test-not-real"}


@pytest.mark.timeout(60)
def test_deeply_nested_json_chat_prompt_file_is_an_error_naming_file_and_line():
    tree = MemoryTree({BAD: suite("[file://chat.json]"), "evals/bad/chat.json": deep_chat_file()})
    loaded, errors = load_suite(tree, BAD)
    assert loaded is None
    assert [str(e) for e in errors] == ["evals/bad/chat.json:3: JSON nested deeper than 64 levels (limit 64)"]


@pytest.mark.timeout(60)
def test_deep_chat_prompt_in_one_suite_leaves_the_rest_of_the_review_running(model_server):
    head = MemoryTree({
        BAD: suite("[file://chat.json]"),
        "evals/bad/chat.json": deep_chat_file(),
        GOOD: suite("['Reply with \"hi there\"']"),
    })
    report = asyncio.run(run_evals(EvalRequest(base=MemoryTree({}), head=head, env=env(model_server)), MemoryCache()))
    assert [str(e) for e in report.errors] == ["evals/bad/chat.json:3: JSON nested deeper than 64 levels (limit 64)"]
    good = next(s for s in report.suites if s.path == GOOD)
    assert [(c.status, c.head.passed) for c in good.cases] == [(CaseStatus.NEW, True)]  # a new suite: no base


@pytest.mark.timeout(60)
def test_deeply_nested_inline_chat_prompt_is_an_error_at_its_suite_line():
    tree = MemoryTree({BAD: "description: x\nprompts:\n  - '" + DEEP + "'\nproviders: [openai:chat:gpt-4o]\ntests: [{vars: {q: a}}]\n"})
    loaded, errors = load_suite(tree, BAD)
    assert loaded is None
    assert [str(e) for e in errors] == [f"{BAD}:3: the inline chat prompt is JSON nested deeper than 64 levels (limit 64)"]


@pytest.mark.timeout(60)
def test_deeply_nested_json_schema_file_is_an_error_naming_it():
    tests = "  - vars: {question: hi}\n    assert:\n      - type: is-json\n        value: file://schema.json\n"
    tree = MemoryTree({BAD: suite("['{{ question }}']", tests), "evals/bad/schema.json": '{"type":\n"object", "x": ' + DEEP + "}"})
    loaded, errors = load_suite(tree, BAD)
    assert loaded is None
    assert [str(e) for e in errors] == ["evals/bad/schema.json:2: JSON nested deeper than 64 levels (limit 64)"]


@pytest.mark.timeout(60)
def test_deeply_nested_json_chat_prompt_is_a_semantic_diff_error_not_a_crash():
    diff = diff_texts("prompts/chat.json", '[{"role": "user", "content": "hi"}]', deep_chat_file())
    assert [str(e) for e in diff.errors] == ["prompts/chat.json:3: JSON nested deeper than 64 levels (limit 64)"]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", ["is-json", "not-is-json", "contains-json", "not-contains-json", "equals", "not-equals"])
def test_deeply_nested_model_answer_makes_the_case_an_error_not_a_pass_or_a_crash(kind):
    value = {"type": "array"} if "json" in kind else ["x"]
    spec = AssertionSpec(kind, value, file="evals/promptfooconfig.yaml", line=14)
    with pytest.raises(AssertionBroken) as caught:
        asyncio.run(score_output((spec,), None, "Here you go: " * ("contains" in kind) + DEEP))
    assert str(caught.value) == (
        f"evals/promptfooconfig.yaml:14: {kind}: the output nests JSON deeper than 64 levels, so it was not parsed "
        "and the case is an error (neither pass nor fail); the limit is fixed"
    )


def test_json_answers_within_the_limit_are_still_judged():
    nested = "[" * 60 + "1" + "]" * 60
    assert asyncio.run(score_output((AssertionSpec("is-json", None),), None, nested)).passed
    assert asyncio.run(score_output((AssertionSpec("contains-json", {"type": "object"}),), None, 'ok {"a": [1]}')).passed
    assert not asyncio.run(score_output((AssertionSpec("is-json", None),), None, "[1, 2")).passed


@pytest.mark.timeout(60)
def test_a_review_whose_model_answers_deep_json_finishes_with_that_case_an_error(model_server):
    tests = (
        f"  - description: deep\n    vars: {{answer: '{DEEP}'}}\n    assert: [{{type: is-json}}]\n"
        "  - description: flat\n    vars: {answer: '[1, 2]'}\n    assert: [{type: is-json}]\n"
    )
    head = MemoryTree({GOOD: suite("['Reply with \"{{ answer }}\"']", tests)})
    report = asyncio.run(run_evals(EvalRequest(base=MemoryTree({}), head=head, env=env(model_server)), MemoryCache()))
    cases = {c.description: c for c in report.suites[0].cases}
    assert cases["flat"].status is CaseStatus.NEW and cases["flat"].head.passed
    assert cases["deep"].status is CaseStatus.ERROR
    assert cases["deep"].head.error == (
        f"{GOOD}:6: is-json: the output nests JSON deeper than 64 levels, so it was not parsed and the case is an "
        "error (neither pass nor fail); the limit is fixed"
    )
