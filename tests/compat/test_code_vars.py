"""Vars computed by code, as promptfoo computes them: a var whose value is `file://x.py[:fn]` (Python's
`get_var(var_name, prompt, other_vars)`) or `file://x.js[:fn]` (a function export called with the same
and the provider) returns `{output}` — the var's value — or `{error}`. It runs when the case is expanded,
in the sandbox, under the code gate like transformVars."""

from __future__ import annotations

from bot.core.config import EvalsConfig
from bot.core.files import MemoryTree
from bot.evals.loader import load_suite
from bot.evals.render import Renderer
from bot.evals.sandbox import Origin, may_run
from bot.evals.select import CodeGate, expand, plan_suite

PATH = "evals/promptfooconfig.yaml"
PY = '''\
def get_var(var_name, prompt, other_vars):
    return {"output": f"<docs for {other_vars['question']} as {var_name}; prompt {len(prompt)} chars>"}


def failing(var_name, prompt, other_vars):
    return {"error": "vector db down"}


def nothing(var_name, prompt, other_vars):
    return "plain text"
'''
JS = "module.exports = function (varName, prompt, vars) { return { output: vars.question.toUpperCase() + ' / ' + varName }; };\n"


def suite(var: str, prompt: str = "Context: {{context}} Q: {{question}}") -> str:
    return (f"prompts: [{prompt!r}]\nproviders: [openai:chat:gpt-4o]\n"
            f"tests:\n  - description: leave\n    vars:\n      question: leave policy?\n      context: {var}\n")


def cases_of(text: str, files: dict[str, str]):
    tree = MemoryTree({PATH: text, **files})
    loaded, errors = load_suite(tree, PATH)
    assert errors == [], [str(e) for e in errors]
    cases, _ = expand(loaded, Renderer(tree), gate=CodeGate())
    return list(cases.values())


def test_a_python_get_var_computes_the_var_from_the_other_vars_and_the_prompt():
    (case,) = cases_of(suite("file://./load_context.py"), {"evals/load_context.py": PY})
    assert case.error is None
    assert case.messages == (("user", "Context: <docs for leave policy? as context; prompt 36 chars> Q: leave policy?"),)
    assert case.case_vars["context"].startswith("<docs for")  # what code assertions see in context.vars


def test_a_javascript_function_export_computes_the_var():
    (case,) = cases_of(suite("file://ctx.js"), {"evals/ctx.js": JS})
    assert case.messages == (("user", "Context: LEAVE POLICY? / context Q: leave policy?"),)


def test_an_error_or_a_wrong_shape_from_the_code_is_a_case_error_at_the_tests_line():
    (failing,) = cases_of(suite("file://load_context.py:failing"), {"evals/load_context.py": PY})
    (wrong,) = cases_of(suite("file://load_context.py:nothing"), {"evals/load_context.py": PY})
    assert str(failing.error) == f"{PATH}:4: var context (evals/load_context.py) returned an error: vector db down"
    assert str(wrong.error) == f"{PATH}:4: var context (evals/load_context.py) must return {{output}} (the value) or {{error}}; it returned str"


def test_a_go_var_is_unsupported_with_its_line_and_a_typescript_syntax_error_is_located():
    tree = MemoryTree({PATH: suite("file://ctx.go"), "evals/ctx.go": "package main\n"})
    _, errors = load_suite(tree, PATH)
    assert [(e.line, e.message.split(" is ")[0]) for e in errors] == [(7, "unsupported: file://ctx.go")]
    tree = MemoryTree({PATH: suite("file://ctx.ts"), "evals/ctx.ts": "export default function (): {\n  return {output: 'x'};\n}\n"})
    _, errors = load_suite(tree, PATH)
    assert [(e.line, e.message) for e in errors] == [(7, "var code file://ctx.ts: evals/ctx.ts:2:10: TypeScript syntax error: Unexpected \"{\"")]


def test_a_fork_adding_a_computed_var_is_refused_naming_the_rule_and_the_base_branchs_runs():
    base_text, head_text = suite("static docs"), suite("file://load_context.py")
    base_tree, head_tree = MemoryTree({PATH: base_text}), MemoryTree({PATH: head_text, "evals/load_context.py": PY})
    base, _ = load_suite(base_tree, PATH)
    head, _ = load_suite(head_tree, PATH)
    plan = plan_suite(PATH, base_tree, head_tree, base, head, pr_code=lambda what: may_run(Origin.PR, False, EvalsConfig(), what))
    (case,) = plan.cases
    assert case.head.error is not None and case.head.error.message == (
        "refused: executes code from a fork's pull request (var context computed by code) — code from forks never runs; "
        "only the base branch's code does")
    # the same code on the base branch: the fork's head runs it as the base's
    same = plan_suite(PATH, head_tree, head_tree, head, head, pr_code=lambda what: may_run(Origin.PR, False, EvalsConfig(), what))
    assert same.unaffected == 1 and same.cases == []


def test_a_changed_var_function_reruns_the_case_with_its_file_named():
    base_tree = MemoryTree({PATH: suite("file://load_context.py"), "evals/load_context.py": PY})
    head_tree = MemoryTree({PATH: suite("file://load_context.py"), "evals/load_context.py": PY.replace("<docs for", "<documents for")})
    base, _ = load_suite(base_tree, PATH)
    head, _ = load_suite(head_tree, PATH)
    plan = plan_suite(PATH, base_tree, head_tree, base, head)
    (case,) = plan.cases
    assert "documents for" in case.head.messages[0][1]
    assert "prompt evals/load_context.py changed" in case.reasons

