"""Test matrices are counted before they are expanded: list-valued vars whose product, or a suite
whose tests, pass `limits.max_cases` are refused with the file, the line and the key to raise —
six lists of a hundred values (10^12 cases) are refused without building one."""

from __future__ import annotations

import pytest

from bot.checkconfig import check_tree
from bot.core.files import MemoryTree
from bot.evals.loader import load_suite
from bot.pipeline.trees import DirTree

SUITE = "evals/promptfooconfig.yaml"
HEAD = "prompts: ['{{ a }}']\nproviders: [openai:chat:gpt-4o]\n"
RAISE = "raise `limits.max_cases` in .github/prompt-review.yml (default 5,000) if they are all wanted"


def values(n: int) -> str:
    return "[" + ", ".join(f"v{i}" for i in range(n)) + "]"


@pytest.mark.timeout(60)  # before the bound this tried to build 10^12 dicts
def test_six_list_vars_of_a_hundred_values_are_refused_before_expanding(tmp_path):
    names = "abcdef"
    test = "tests:\n  - description: matrix\n    vars:\n" + "".join(f"      {n}: {values(100)}\n" for n in names)
    (tmp_path / "evals").mkdir()
    (tmp_path / SUITE).write_text(HEAD + test)
    errors, _checked = check_tree(DirTree(str(tmp_path)))  # `prompt-review check-config`
    assert [str(e) for e in errors] == [
        f"{SUITE}:5 (tests.0.vars): the list-valued vars expand this test into 1,000,000,000,000 cases "
        f"(a (100) × b (100) × c (100) × d (100) × e (100) × f (100)): over the limit of 5,000 cases per suite; {RAISE}"
    ]


def test_a_matrix_just_over_the_limit_is_refused_and_one_at_it_loads():
    over = HEAD + f"tests:\n  - vars:\n      a: {values(71)}\n      b: {values(71)}\n"
    suite, errors = load_suite(MemoryTree({SUITE: over}), SUITE)
    assert suite is None
    assert [str(e) for e in errors] == [
        f"{SUITE}:4 (tests.0.vars): the list-valued vars expand this test into 5,041 cases (a (71) × b (71)): "
        f"over the limit of 5,000 cases per suite; {RAISE}"
    ]
    at = HEAD + f"tests:\n  - vars:\n      a: {values(50)}\n      b: {values(100)}\n"
    suite, errors = load_suite(MemoryTree({SUITE: at}), SUITE)
    assert errors == [] and len(suite.tests) == 5000
    assert suite.tests[-1].vars == {"a": "v49", "b": "v99"}


def test_the_configured_limit_counts_cases_across_tests_and_names_the_test_that_passes_it():
    tests = "".join(f"  - description: t{i}\n    vars: {{a: {values(4)}}}\n" for i in range(3))
    suite, errors = load_suite(MemoryTree({SUITE: HEAD + "tests:\n" + tests}), SUITE, max_cases=10)
    assert suite is None
    assert [str(e) for e in errors] == [
        f"{SUITE}:9 (tests.2.vars): the list-valued vars expand this test into 4 cases (a (4)), after 8 cases from "
        f"the tests before it: over the limit of 10 cases per suite; {RAISE}"
    ]


def test_default_test_lists_multiply_every_test():
    text = HEAD + f"defaultTest:\n  vars: {{b: {values(10)}}}\ntests:\n  - vars: {{a: {values(20)}}}\n"
    suite, errors = load_suite(MemoryTree({SUITE: text}), SUITE, max_cases=100)
    assert suite is None and [e.message.split(":")[0] for e in errors] == [
        "the list-valued vars expand this test into 200 cases (b (10) × a (20))"
    ]


@pytest.mark.timeout(60)
def test_a_test_sheet_with_more_rows_than_the_limit_is_refused_at_its_reference():
    rows = "a,__expected\n" + "".join(f"q{i},contains: x\n" for i in range(5001))
    text = HEAD + "tests:\n  - vars: {a: hi}\n  - file://cases.csv\n"
    suite, errors = load_suite(MemoryTree({SUITE: text, "evals/cases.csv": rows}), SUITE)
    assert suite is None
    assert [str(e) for e in errors] == [
        f"{SUITE}:5 (tests.1): the suite has more than 5,000 tests: over the limit of 5,000 cases per suite; {RAISE}"
    ]


def test_more_inline_tests_than_the_configured_limit_are_refused():
    tests = "".join(f"  - vars: {{a: q{i}}}\n" for i in range(4))
    suite, errors = load_suite(MemoryTree({SUITE: HEAD + "tests:\n" + tests}), SUITE, max_cases=3)
    assert suite is None
    assert [str(e) for e in errors] == [
        f"{SUITE}:7 (tests.3): the suite has more than 3 tests: over the limit of 3 cases per suite; {RAISE}"
    ]


def test_check_config_applies_the_configured_max_cases(tmp_path):
    (tmp_path / "evals").mkdir()
    (tmp_path / ".github").mkdir()
    (tmp_path / ".github/prompt-review.yml").write_text("limits:\n  max_cases: 10\n")
    (tmp_path / SUITE).write_text(HEAD + f"tests:\n  - vars: {{a: {values(12)}}}\n")
    errors, _checked = check_tree(DirTree(str(tmp_path)))
    assert [str(e) for e in errors] == [
        f"{SUITE}:4 (tests.0.vars): the list-valued vars expand this test into 12 cases (a (12)): "
        f"over the limit of 10 cases per suite; {RAISE}"
    ]
