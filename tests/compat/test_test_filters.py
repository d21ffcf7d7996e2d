"""A test's `providers:` and `prompts:` filters, as promptfoo reads them: only the providers (label or id,
`prefix*`, or a prefix up to a colon) and prompts (label, `prefix*`) they name run the test; defaultTest's
apply where a test sets none; an empty list runs it nowhere; an entry that names nothing is an error at
the test's line (promptfoo would silently run the test nowhere)."""

from __future__ import annotations

from bot.core.files import MemoryTree
from bot.evals.loader import load_suite
from tests.compat.reviewing import PATH, expanded_cases

HEAD = (
    "prompts:\n  - {id: 'Short: {{q}}', label: short}\n  - {id: 'Long: {{q}}', label: long-form}\n"
    "providers:\n  - {id: openai:chat:gpt-4o-mini, label: mini}\n  - anthropic:messages:claude-sonnet-4-0\n"
)


def runs(suite: str) -> set[tuple[str, str, str]]:
    return {(c.test.vars["q"], c.prompt.label, c.provider.label or c.provider.id) for c in expanded_cases(suite)}


def test_filters_pick_the_providers_and_prompts_that_run_a_test():
    got = runs(HEAD + "tests:\n"
               "  - vars: {q: a}\n    providers: [mini]\n"
               "  - vars: {q: b}\n    providers: ['anthropic']\n    prompts: ['long*']\n"
               "  - vars: {q: c}\n    providers: ['openai:chat:*']\n"
               "  - vars: {q: d}\n    providers: []\n"
               "  - vars: {q: e}\n")
    assert got == {
        ("a", "short", "mini"), ("a", "long-form", "mini"),
        ("b", "long-form", "anthropic:messages:claude-sonnet-4-0"),
        ("c", "short", "mini"), ("c", "long-form", "mini"),
        ("e", "short", "mini"), ("e", "long-form", "mini"),
        ("e", "short", "anthropic:messages:claude-sonnet-4-0"), ("e", "long-form", "anthropic:messages:claude-sonnet-4-0"),
    }


def test_default_test_filters_apply_where_a_test_sets_none():
    got = runs(HEAD + "defaultTest:\n  prompts: [short]\ntests:\n  - vars: {q: a}\n  - vars: {q: b}\n    prompts: [long-form]\n"
               "    providers: [mini]\n")
    assert {(q, p) for q, p, _ in got} == {("a", "short"), ("b", "long-form")}
    assert {v for q, _, v in got if q == "b"} == {"mini"}


def test_a_filter_that_names_nothing_is_an_error_at_the_tests_line():
    tree = MemoryTree({PATH: HEAD + "tests:\n  - vars: {q: a}\n    providers: [gpt-5]\n    prompts: [shorter, 3]\n"
                                    "  - vars: {q: b}\n    prompts: [medium]\n"})
    loaded, errors = load_suite(tree, PATH)
    assert loaded is None
    assert [f"{e.line}: {e.message}" for e in errors] == [
        "10: a test's `prompts` must be a list of prompt labels",
        "11: test `prompts` entry 'medium' names no prompt of the suite (labels: long-form, short)",
    ]
    tree = MemoryTree({PATH: HEAD + "tests:\n  - vars: {q: a}\n    providers: [gpt-5]\n"})
    _, errors = load_suite(tree, PATH)
    assert [f"{e.line}: {e.message}" for e in errors] == [
        "8: test `providers` entry 'gpt-5' names no provider of the suite "
        "(labels and ids: anthropic:messages:claude-sonnet-4-0, mini, openai:chat:gpt-4o-mini)"]
