"""Affected-case selection: which cases run, and the reasons each carries."""

from __future__ import annotations

import asyncio

from bot.core.config import EvalsConfig
from bot.core.files import MemoryTree
from bot.evals import CaseStatus, EvalRequest, MemoryCache, run_evals
from bot.evals.loader import load_suite
from bot.evals.select import plan_suite

PATH = "evals/promptfooconfig.yaml"
SUITE = """\
prompts:
  - file://../prompts/support/system.md
  - id: file://../prompts/sales.md
    label: sales
providers: [openai:chat:gpt-4o]
tests:
  - description: refund
    vars: {question: "refund?"}
    assert: [{type: icontains, value: 30 days}]
  - vars: {question: hello}
    assert: [{type: contains, value: Hello}]
"""
FILES = {
    PATH: SUITE,
    "prompts/support/system.md": "Support.\n{% include 'policy.md' %}\nQ: {{ question }}",
    "prompts/support/policy.md": "Refunds within 30 days.",
    "prompts/sales.md": "Sell things. {% if question == 'refund?' %}No refunds here.{% endif %} {{ question }}",
}


def plan(base_files: dict, head_files: dict, formatting_only: frozenset[str] = frozenset()):
    base, head = MemoryTree(base_files), MemoryTree(head_files)
    b, be = load_suite(base, PATH) if base.read(PATH) else (None, [])
    h, he = load_suite(head, PATH) if head.read(PATH) else (None, [])
    assert be == [] and he == []
    return plan_suite(PATH, base, head, b, h, formatting_only)


def by_key(p):
    return {(c.head or c.base).prompt.label + " / " + (c.head or c.base).description: c for c in p.cases}


def test_a_change_in_an_included_file_affects_only_cases_of_the_prompts_that_include_it():
    p = plan(FILES, {**FILES, "prompts/support/policy.md": "Refunds within 60 days."})
    assert sorted(c.head.prompt.label for c in p.cases) == ["prompts/support/system.md"] * 2
    assert {c.reasons for c in p.cases} == {("prompt prompts/support/policy.md changed",)}
    assert p.unaffected == 2  # both sales cases


def test_a_prompt_change_that_does_not_alter_a_cases_rendering_leaves_that_case_alone():
    head = {**FILES, "prompts/sales.md": FILES["prompts/sales.md"].replace("No refunds here.", "Refunds: ask support.")}
    p = plan(FILES, head)
    assert [c.reasons for c in p.cases] == [("prompt prompts/sales.md changed",)]
    assert (p.cases[0].head.description, p.unaffected) == ("refund", 3)


def test_changed_test_data_and_assertions_are_reasons():
    head_suite = SUITE.replace("refund?", "refund now?").replace(
        "value: Hello}", "value: Hi}"
    )
    p = plan(FILES, {**FILES, PATH: head_suite})
    reasons = sorted({c.reasons for c in p.cases})
    assert reasons == [("assertions changed",), ("test data changed",)]
    assert len(p.cases) == 4 and p.unaffected == 0


def test_added_and_removed_tests_are_new_and_removed_cases():
    head_suite = SUITE.replace('  - description: refund\n    vars: {question: "refund?"}', '  - description: returns\n    vars: {question: "return?"}')
    p = plan(FILES, {**FILES, PATH: head_suite})
    assert sorted(c.reasons for c in p.cases) == [("case removed",)] * 2 + [("new case",)] * 2


def test_a_renamed_test_is_still_compared_with_its_base():
    head_suite = SUITE.replace("  - description: refund\n", "  - description: refund policy\n")
    p = plan(FILES, {**FILES, PATH: head_suite})
    # Same vars, prompt and provider: the same case under a new name, not new + removed (the PR must not
    # turn every case into "new" to escape the base comparison).
    assert sorted(c.reasons for c in p.cases) == [("renamed from 'refund'",)] * 2
    assert all(c.base is not None and c.head is not None for c in p.cases)


def test_formatting_only_changes_are_skipped_with_that_reason():
    head = {**FILES, "prompts/support/policy.md": "Refunds   within 30 days.\n"}
    p = plan(FILES, head, formatting_only=frozenset({"prompts/support/policy.md"}))
    assert len(p.cases) == 2 and all(c.skip == "formatting-only change to prompts/support/policy.md" for c in p.cases)


def test_a_suite_with_errors_is_reported_not_crashed_on_and_blocks():
    head = {**FILES, PATH: SUITE + "  - vars: {question: x}\n    assert: [{type: ruby, value: 'true'}]\n"}
    request = EvalRequest(base=MemoryTree(FILES), head=MemoryTree(head), config=EvalsConfig(), env={})
    report = asyncio.run(run_evals(request, MemoryCache()))
    (error,) = report.errors
    assert (error.file, error.line) == (PATH, 13) and "refused" in error.message
    assert report.suites[0].skipped_reason == "the suite has errors; nothing was run"
    assert report.verdict.blocking and report.stats.model_calls == 0


def test_unsafe_template_access_is_refused_per_case_as_an_error():
    head = {**FILES, "prompts/sales.md": "{{ question.__class__.__mro__ }}"}
    request = EvalRequest(base=MemoryTree(FILES), head=MemoryTree(head), config=EvalsConfig(), env={})
    report = asyncio.run(run_evals(request, MemoryCache(), cancelled=lambda: True))
    errored = [c for c in report.suites[0].cases if c.status is CaseStatus.ERROR]
    assert errored and all(c.head.error and "prompts/sales.md" in c.head.error for c in errored)
    assert "refused: the template tried an unsafe operation" in errored[0].head.error


def test_suites_are_discovered_in_both_trees_when_not_listed():
    request = EvalRequest(base=MemoryTree({}), head=MemoryTree(FILES), config=EvalsConfig(), env={})
    report = asyncio.run(run_evals(request, MemoryCache(), cancelled=lambda: True))
    assert [s.path for s in report.suites] == [PATH]
    assert all(c.reasons == ("new case", "not run: cancelled") for c in report.suites[0].cases)
    assert report.cancelled and not report.verdict.blocking


VAR_SUITE = """\
prompts: [file://../prompts/chat.json]
providers: [openai:chat:gpt-4o]
defaultTest:
  vars: {system_prompt: file://../prompts/system.md}
tests:
  - vars: {question: "refund?"}
    assert: [{type: icontains, value: 30 days}]
  - vars: {question: hello, system_prompt: "a literal override"}
    assert: [{type: contains, value: Hello}]
"""
VAR_FILES = {
    PATH: VAR_SUITE,
    "prompts/chat.json": '[{"role": "system", "content": "{{ system_prompt }}"}, {"role": "user", "content": "{{ question }}"}]',
    "prompts/system.md": "Refunds are only possible within 30 days of delivery.\n",
}


def test_a_prompt_passed_in_through_a_file_var_is_a_prompt_dependency_not_test_data():
    head = {**VAR_FILES, "prompts/system.md": "Be friendly.\n"}
    p = plan(VAR_FILES, head)
    assert [c.reasons for c in p.cases] == [("prompt prompts/system.md changed",)]
    assert p.unaffected == 1  # the case that overrides the var with a literal does not depend on the file


def test_a_formatting_only_change_to_a_file_var_prompt_is_skipped():
    head = {**VAR_FILES, "prompts/system.md": "Refunds are only possible\nwithin 30 days of delivery.\n"}
    p = plan(VAR_FILES, head, formatting_only=frozenset({"prompts/system.md"}))
    assert [c.skip for c in p.cases] == ["formatting-only change to prompts/system.md"]


def test_ruby_assertions_are_refused_as_code_execution():
    head = {**FILES, PATH: SUITE + "  - vars: {question: x}\n    assert: [{type: ruby, value: 'true'}]\n"}
    _suite, errors = load_suite(MemoryTree(head), PATH)
    assert errors and "refused" in errors[0].message and "ruby" in errors[0].message


def test_an_empty_memory_cache_is_truthy():
    assert bool(MemoryCache()) is True
