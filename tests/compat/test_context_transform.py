"""`contextTransform` of the context-* assertions, as promptfoo 0.121 runs it (its resolveContext): code handed the
answer as the provider left it (before the test's options.transform) and `{vars, prompt: {label}, metadata}`, whose
result — text, or a list of texts — is the context the grader reads in place of the `context` var. It runs in the
sandbox under the code gate; a result that is not text, nothing, an empty context or a throw is a case error at the
assertion's line."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bot.core.config import EvalsConfig
from bot.core.files import MemoryTree
from bot.evals.assertions import AssertionBroken, CodeContext, score_output
from bot.evals.loader import load_suite
from bot.evals.sandbox import Origin, may_run
from bot.evals.select import plan_suite
from bot.evals.suite import AssertionSpec

PATH = "evals/promptfooconfig.yaml"
CITED = {"citations": [{"retrievedReferences": [{"content": {"text": "Refunds within 30 days."}},
                                                {"content": {"text": "Ask support for a label."}}]}]}


class SeenGrader:
    """A grader that records the context each context-* assertion was given, and passes it."""

    def __init__(self) -> None:
        self.contexts: list[str | None] = []

    async def graded(self, a: AssertionSpec, grader: Any, value: Any, output: str, prompt: str = "") -> tuple[bool, float, str]:
        self.contexts.append(dict(a.inputs).get("context"))
        return True, 1.0, "seen"


def suite(assertion: str, vars_: str = "{query: refunds?}", options: str = "") -> str:
    return (f"prompts: ['Q: {{{{query}}}}']\nproviders: [openai:chat:gpt-4o-mini]\ntests:\n  - vars: {vars_}\n"
            f"{options}    assert:\n      - type: context-faithfulness\n        {assertion}\n")


def load(text: str, files: dict[str, str] | None = None):
    loaded, errors = load_suite(MemoryTree({PATH: text, **(files or {})}), PATH)
    return loaded, [(e.line, e.message) for e in errors]


def context_seen(text: str, output: Any = "30 days", metadata: dict | None = None, files: dict[str, str] | None = None,
                 vars_: dict | None = None) -> str | None | AssertionBroken:
    loaded, errors = load(text, files)
    assert errors == [], errors
    test = loaded.tests[0]
    grader = SeenGrader()
    context = CodeContext(vars_ or test.vars, "Q: refunds?", {"vars": test.vars}, {"id": "openai:chat:gpt-4o-mini"},
                          file=PATH, line=test.line, metadata=metadata)
    try:
        asyncio.run(score_output(test.asserts, None, output if isinstance(output, str) else "", grader, context=context,
                                 output_transform=test.transform))
    except AssertionBroken as exc:
        return exc
    return grader.contexts[0]


def test_the_transforms_text_is_the_context_the_grader_reads_in_place_of_the_context_var():
    text = suite("contextTransform: 'context.vars.docs + \" / \" + output'", "{query: refunds?, docs: Refunds within 30 days., context: stale}")
    assert context_seen(text) == "Refunds within 30 days. / 30 days"


def test_the_responses_metadata_reaches_the_code_as_promptfoo_passes_it():
    expr = ("'context?.metadata?.citations?.flatMap(c => c.retrievedReferences || []).map(r => r.content?.text || \"\")"
            ".filter(t => t.length > 0).join(\"\\n\\n\") || \"No citations found\"'")
    assert context_seen(suite(f"contextTransform: {expr}"), metadata=CITED) == "Refunds within 30 days.\n\nAsk support for a label."
    assert context_seen(suite(f"contextTransform: {expr}")) == "No citations found"  # no metadata: promptfoo leaves it out


def test_the_prompt_is_its_label_and_a_list_of_texts_is_one_context_a_line():
    assert context_seen(suite("contextTransform: '[context.prompt.label, \"second\"]'")) == "Q: refunds?\nsecond"


def test_the_code_reads_the_answer_before_the_tests_options_transform():
    options = "    options: {transform: 'output.toUpperCase()'}\n"
    assert context_seen(suite("contextTransform: 'output + \"!\"'", options=options)) == "30 days!"


def test_a_one_line_block_is_a_function_body_and_a_file_export_or_python_function_runs_too():
    assert context_seen(suite("contextTransform: |\n          return output + ' (block)'")) == "30 days (block)"
    js = "module.exports = (output, context) => `${context.vars.query} -> ${output}`;\n"
    assert context_seen(suite("contextTransform: file://ctx.js"), files={"evals/ctx.js": js}) == "refunds? -> 30 days"
    py = "def get_transform(output, context):\n    return [output, context['prompt']['label']]\n"
    assert context_seen(suite("contextTransform: file://ctx.py"), files={"evals/ctx.py": py}) == "30 days\nQ: refunds?"


def test_without_a_context_var_the_transform_is_enough_at_load():
    assert load(suite("contextTransform: output"))[1] == []
    assert load(suite("threshold: 0.5")) [1] == [(4, "context-faithfulness (line 6) reads the var context: set it in the test's vars")]


@pytest.mark.parametrize("code, message", [
    ("'42'", "must return text or a list of texts, not a number"),
    ("'({text: output})'", "must return text or a list of texts, not a object"),
    ("'[output, 3]'", "must return text or a list of texts, not a object"),
    ("'null'", "returned nothing (null or undefined); it must return the context as text or a list of texts"),
    ("'\"\"'", "returned an empty context (promptfoo needs non-empty text, or a list of non-empty texts)"),
    ("'[output, \"\"]'", "returned an empty context (promptfoo needs non-empty text, or a list of non-empty texts)"),
])
def test_a_result_that_is_not_a_context_is_a_case_error_at_the_assertions_line(code, message):
    got = context_seen(suite(f"contextTransform: {code}"))
    assert isinstance(got, AssertionBroken)
    assert str(got) == f"{PATH}:6: context-faithfulness contextTransform: {message}"


def test_code_that_throws_is_a_case_error_naming_the_line_in_the_code():
    got = context_seen(suite("contextTransform: |\n          const refs = context.metadata.citations;\n          return refs[0];"))
    assert isinstance(got, AssertionBroken)  # no metadata: promptfoo's context has none either
    assert str(got) == (f"{PATH}:6: context-faithfulness contextTransform: JavaScript code threw an error: TypeError: "
                        "cannot read property 'citations' of undefined")
    got = context_seen(suite("contextTransform: |\n          if (output) {\n            throw new Error('no citations');\n          }"))
    assert isinstance(got, AssertionBroken)
    assert str(got) == f"{PATH}:6: context-faithfulness contextTransform: JavaScript code threw an error: Error: no citations (line 2)"


def test_contexttransform_on_another_type_or_without_code_is_an_error_with_its_line():
    text = ("prompts: [hi]\nproviders: [openai:chat:gpt-4o-mini]\ntests:\n  - vars: {query: q}\n    assert:\n"
            "      - type: contains\n        value: x\n        contextTransform: output\n"
            "      - type: context-relevance\n        contextTransform: ''\n")
    assert load(text)[1] == [
        (8, "unsupported: contextTransform on contains: it gives the context of context-faithfulness, context-recall, "
            "context-relevance only (promptfoo reads it nowhere else); remove it"),
        (10, "context-relevance contextTransform: needs code (inline text, or file://path.js / file://path.py[:function])"),
    ]


def test_a_fork_adding_a_contexttransform_is_refused_naming_the_rule_and_the_base_branchs_code_runs():
    base_text = suite("threshold: 0.5", "{query: refunds?, context: Refunds within 30 days.}")
    head_text = suite("contextTransform: 'context.metadata.citations[0].retrievedReferences[0].content.text'",
                      "{query: refunds?, context: Refunds within 30 days.}")
    base_tree, head_tree = MemoryTree({PATH: base_text}), MemoryTree({PATH: head_text})
    (base, _), (head, _) = load_suite(base_tree, PATH), load_suite(head_tree, PATH)

    def fork(what: str) -> tuple[bool, str]:
        return may_run(Origin.PR, False, EvalsConfig(), what)

    plan = plan_suite(PATH, base_tree, head_tree, base, head, pr_code=fork)
    (case,) = plan.cases
    assert case.head.error is not None and (case.head.error.line, case.head.error.message) == (6, (
        "refused: executes code from a fork's pull request (context-faithfulness contextTransform) — code from forks "
        "never runs; only the base branch's code does"))
    same = plan_suite(PATH, head_tree, head_tree, head, head, pr_code=fork)  # the base's own transform: not the fork's
    assert same.unaffected == 1 and same.cases == []
    edited = MemoryTree({PATH: head_text.replace("[0].content", "[1].content")})
    changed = plan_suite(PATH, head_tree, edited, head, load_suite(edited, PATH)[0], pr_code=fork)
    (case,) = changed.cases  # editing the code re-runs the case, and the fork's edit is refused
    assert case.head.error is not None and "contextTransform" in case.head.error.message


def test_code_assertions_and_the_tests_transform_see_the_metadata_too():
    text = ("prompts: [hi]\nproviders: [openai:chat:gpt-4o-mini]\ntests:\n  - vars: {query: q}\n"
            "    options: {transform: 'String(context.metadata.citations.length)'}\n    assert:\n"
            "      - type: javascript\n        value: 'output === \"1\" && context.metadata.citations[0].retrievedReferences.length === 2'\n")
    loaded, errors = load(text)
    assert errors == []
    test = loaded.tests[0]

    def outcome(metadata: dict | None):
        context = CodeContext(test.vars, "hi", {"vars": test.vars}, {"id": "openai:chat:gpt-4o-mini"}, file=PATH, line=test.line,
                              metadata=metadata)
        try:
            return asyncio.run(score_output(test.asserts, None, "answer", context=context, output_transform=test.transform)).passed
        except AssertionBroken as exc:
            return str(exc)

    assert outcome(CITED) is True
    assert outcome(None) == (f"{PATH}:4: options.transform: JavaScript code threw an error: TypeError: cannot read property "
                             "'citations' of undefined (line 1)")
