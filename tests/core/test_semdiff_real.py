"""The semantic diff on real prompt edits (tests/fixtures/semdiff-real, labelled by hand before any
diff tool saw them): the four figures of issue #19, and the behaviours behind them."""

from pathlib import Path

import pytest

from bot.core.files import MemoryTree
from bot.core.semdiff import ChangeType, Severity, diff_texts
from bot.core.semdiff.evaluate import load_real_corpus, real_totals, score_real

T = ChangeType
ROOT = Path(__file__).parent.parent / "fixtures" / "semdiff-real"
PAIRS = load_real_corpus(MemoryTree({p.relative_to(ROOT).as_posix(): p.read_bytes() for p in ROOT.rglob("*") if p.is_file()}))
BY_NAME = {p.name.split("-", 1)[0]: p for p in PAIRS}
TOTALS = real_totals([score_real(p, p.diff()) for p in PAIRS])


def test_real_edits_reach_the_label_recall_goal():
    assert len(PAIRS) == 30
    assert TOTALS.label_recall >= 0.90


def test_real_high_severity_edits_get_a_high_change():
    assert TOTALS.high_share >= 0.95


def test_real_formatting_only_edits_are_recognised():
    assert TOTALS.formatting_share >= 0.80


def test_real_edits_report_few_change_types_no_label_names():
    assert TOTALS.unlabelled_per_pair <= 0.3


@pytest.mark.parametrize("pair", ["004", "040", "056"])
def test_equivalent_sources_are_formatting_only(pair):
    # role-marker syntax ({{role "system"}} vs <<<dotprompt:role:system>>>), heading spacing, YAML re-serialisation
    diff = BY_NAME[pair].diff()
    assert diff.formatting_only, [c.summary for c in diff.changes]


def test_rule_extended_with_a_clause_is_one_high_rewording_naming_the_clause():
    before = "# Tone\n\n- Be polite.\n- Never blame the customer.\n"
    after = "# Tone\n\n- Be polite.\n- Never blame the customer, and always look for a way to say yes.\n"
    (change,) = diff_texts("prompts/support.md", before, after).changes
    assert change.type is T.INSTRUCTION_REWORDED
    assert change.severity is Severity.HIGH
    assert "added: 'always look for a way to say yes'" in change.summary
    assert (change.base_lines, change.head_lines) == ((4, 4), (4, 4))


def test_typo_fix_is_formatting_only():
    diff = diff_texts("prompts/p.txt", "Do no share the password.\n", "Do not share the password.\n")
    assert diff.formatting_only


def test_scope_narrowed_by_an_exception_is_weakened():
    before = "Never share account details.\n"
    after = "Never share account details, unless the customer asks for them.\n"
    (change,) = diff_texts("prompts/p.txt", before, after).changes
    assert change.type is T.CONSTRAINT_WEAKENED
    assert "unless the customer asks for them" in change.summary


@pytest.mark.parametrize("pair", ["020", "032"])
def test_dropped_clause_narrows_the_rule(pair):
    types = [c.type for c in BY_NAME[pair].diff().changes]
    assert types == [T.CONSTRAINT_WEAKENED]


def test_prompt_split_into_system_and_user_is_a_role_change_and_an_added_message():
    diff = BY_NAME["022"].diff()
    assert sorted(c.type.value for c in diff.changes) == ["message_added", "role_changed"]
    added = next(c for c in diff.changes if c.type is T.MESSAGE_ADDED)
    assert added.head_lines == (6, 7)


def test_history_loop_removed_is_a_removed_message():
    diff = BY_NAME["018"].diff()
    removed = [c for c in diff.changes if c.type is T.MESSAGE_REMOVED]
    assert {c.context for c in removed} == {"history", "user"}
    assert all(c.severity is Severity.HIGH for c in removed)


def test_renamed_variable_in_chat_yaml_is_found():
    before = "messages:\n  - role: system\n    content: Summarise the text.\n  - role: user\n    content: '{{text}}'\n"
    after = before.replace("{{text}}", "{{input}}")
    diff = diff_texts("prompts/summary.prompt.yaml", before, after)
    assert [c.type for c in diff.changes] == [T.VARIABLE_RENAMED]
    assert diff.changes[0].base_lines == (5, 5)


def test_variable_no_longer_used_is_removed_even_while_declared():
    diff = BY_NAME["012"].diff()
    types = {c.type for c in diff.changes}
    assert {T.VARIABLE_REMOVED, T.VARIABLE_ADDED} <= types


def test_only_print_instruction_removed_is_an_output_format_change():
    diff = BY_NAME["060"].diff()
    assert sorted(c.type.value for c in diff.changes) == ["instruction_removed", "output_format_changed"]
    assert all(c.base_lines == (15, 15) for c in diff.changes)


def test_few_shot_tool_call_with_other_arguments_is_a_high_example_change():
    diff = BY_NAME["050"].diff()
    assert [c.type for c in diff.changes] == [T.EXAMPLE_CHANGED, T.EXAMPLE_CHANGED]
    assert any(c.severity is Severity.HIGH for c in diff.changes)


def test_prefer_to_exactly_one_is_strengthened():
    (change,) = BY_NAME["048"].diff().changes
    assert change.type is T.CONSTRAINT_STRENGTHENED
