"""Semantic prompt diff: what a reviewer sees for the changes the issue names."""

import base64
import json
from dataclasses import FrozenInstanceError

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.files import MemoryTree
from bot.core.semdiff import Change, ChangeType, PromptDiff, Severity, diff_prompt, diff_texts

T = ChangeType

SUPPORT = """# Acme support

You are a support assistant for Acme. Be concise and professional.

## Refunds
- Refunds are only possible within 30 days of delivery.
- You must ask for the order number before discussing a refund.

## Shipping
- Do not promise delivery dates.
"""


def types(diff: PromptDiff) -> list[str]:
    return [c.type.value for c in diff.changes]


def test_removed_refund_window_is_a_high_severity_removed_instruction_with_its_sentence():
    after = SUPPORT.replace("- Refunds are only possible within 30 days of delivery.\n", "")
    (change,) = diff_texts("prompts/support.md", SUPPORT, after).changes
    assert change.type is T.INSTRUCTION_REMOVED
    assert change.severity is Severity.HIGH
    assert change.before == "Refunds are only possible within 30 days of delivery."
    assert change.base_lines == (6, 6)
    assert change.after is None and change.head_lines is None
    assert change.summary == 'instruction removed: "Refunds are only possible within 30 days of delivery."'


def test_must_to_should_is_a_weakened_constraint_in_plain_words():
    after = SUPPORT.replace("You must ask", "You should ask")
    (change,) = diff_texts("prompts/support.md", SUPPORT, after).changes
    assert change.type is T.CONSTRAINT_WEAKENED
    assert change.summary == 'constraint weakened: "must" → "should"'
    assert change.severity is Severity.HIGH


def test_removed_negation_is_reported_as_flip():
    after = SUPPORT.replace("Do not promise delivery dates.", "Promise delivery dates.")
    (change,) = diff_texts("prompts/support.md", SUPPORT, after).changes
    assert change.type is T.NEGATION_REMOVED
    assert (change.before, change.after) == ("Do not promise delivery dates.", "Promise delivery dates.")
    assert change.context == "section 'Shipping'"


def test_number_change_names_both_values_with_their_unit():
    after = SUPPORT.replace("30 days", "60 days")
    (change,) = diff_texts("prompts/support.md", SUPPORT, after).changes
    assert change.type is T.NUMBER_CHANGED
    assert change.summary == "number changed: 30 days → 60 days"


def test_model_change_is_high_and_names_both_models():
    before = '{"model": "gpt-4o", "messages": [{"role": "system", "content": "Be brief."}]}'
    after = before.replace("gpt-4o", "gpt-4.1")
    (change,) = diff_texts("prompts/req.json", before, after).changes
    assert (change.type, change.severity) == (T.MODEL_CHANGED, Severity.HIGH)
    assert change.summary == "model changed: gpt-4o → gpt-4.1"


def test_removed_variable_is_named_with_its_braces():
    before = "Tier: {{ customer_tier }}\nAnswer {{ question }}\n"
    after = "Answer {{ question }}\n"
    diff = diff_texts("prompts/p.j2", before, after)
    removed = [c for c in diff.changes if c.type is T.VARIABLE_REMOVED]
    assert [c.summary for c in removed] == ["variable {{customer_tier}} removed"]
    assert removed[0].severity is Severity.HIGH


def test_changes_are_ordered_high_severity_first_then_by_position():
    after = SUPPORT.replace("Be concise and professional.", "Be concise, professional and warm.").replace(
        "Do not promise", "Never promise"
    ).replace("30 days", "45 days")
    diff = diff_texts("prompts/support.md", SUPPORT, after)
    ranks = [c.severity.rank for c in diff.changes]
    assert ranks == sorted(ranks)
    high = [c for c in diff.changes if c.severity is Severity.HIGH]
    assert [c.base_lines for c in high] == sorted(c.base_lines for c in high)


def test_reordered_sentences_are_moves_not_removals():
    before = "Greet the customer. Check the order status. Offer more help.\n"
    after = "Check the order status. Greet the customer. Offer more help.\n"
    diff = diff_texts("p.txt", before, after)
    assert types(diff) == ["instruction_moved"]
    assert not diff.formatting_only


def test_rewrapped_text_is_formatting_only_so_evals_may_be_skipped():
    before = "You are Acme support. Answer questions about orders,\nshipping and returns.\n"
    after = "You are Acme support.\nAnswer questions about orders, shipping and returns.\n"
    diff = diff_texts("p.txt", before, after)
    assert diff.formatting_only
    assert types(diff) == ["formatting_only"]
    assert diff.changes[0].severity is Severity.NONE
    assert not diff.has_semantic_changes


def test_identical_files_have_no_changes_and_are_not_formatting_only():
    diff = diff_texts("p.txt", "Be kind.\n", "Be kind.\n")
    assert diff.changes == () and not diff.formatting_only


def test_unparsable_side_is_reported_with_file_and_line_and_diffed_as_text():
    before = "- role: system\n  content: You must be brief.\n"
    after = "- role: system\n  content: You should be brief.\n  bad: [\n"
    diff = diff_texts("prompts/chat.yaml", before, after)
    assert diff.fallback
    (error,) = diff.errors
    assert error.file == "prompts/chat.yaml" and error.line == 4
    assert "invalid YAML" in error.message
    assert "constraint_weakened" in types(diff)


def test_added_and_removed_files():
    added = diff_texts("p.txt", None, "Be kind.\n")
    assert types(added) == ["file_added"] and added.tokens_before is None and added.tokens_after
    removed = diff_texts("p.txt", "Be kind.\n", None)
    assert types(removed) == ["file_removed"] and removed.changes[0].severity is Severity.HIGH


def test_word_diff_rebuilds_both_sides_of_each_changed_passage():
    after = SUPPORT.replace("You must ask", "You should always ask")
    diff = diff_texts("prompts/support.md", SUPPORT, after)
    (hunk,) = diff.word_diff
    before_text = "".join(t for op, t in hunk.ops if op != "insert")
    after_text = "".join(t for op, t in hunk.ops if op != "delete")
    assert before_text == "You must ask for the order number before discussing a refund."
    assert after_text == "You should always ask for the order number before discussing a refund."
    assert ("delete", "must") in hunk.ops
    assert {op for op, _ in hunk.ops} <= {"equal", "insert", "delete"}


def test_token_counts_are_offline_estimates_per_message_and_total():
    before = '[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "{{q}}"}]'
    after = '[{"role": "system", "content": "Be brief and kind to every customer."}, {"role": "user", "content": "{{q}}"}]'
    diff = diff_texts("p.json", before, after)
    assert diff.tokens_estimated
    assert diff.tokens_after > diff.tokens_before
    system = diff.message_tokens[0]
    assert system.role == "system" and system.after > system.before


def test_includes_are_followed_in_each_tree_and_changes_name_their_file():
    main = 'You are Acme support.\n{% include "partials/refunds.j2" %}\n'
    base = MemoryTree({"prompts/main.j2": main, "prompts/partials/refunds.j2": "Refunds must be approved.\n"})
    head = MemoryTree({"prompts/main.j2": main, "prompts/partials/refunds.j2": "Refunds should be approved.\n"})
    diff = diff_prompt("prompts/main.j2", base, head)
    (change,) = diff.changes
    assert change.type is T.CONSTRAINT_WEAKENED and change.file == "prompts/partials/refunds.j2"
    assert diff.files == ("prompts/main.j2", "prompts/partials/refunds.j2")
    assert diff.word_diff[0].file == "prompts/partials/refunds.j2"


def test_include_cycles_terminate():
    tree = MemoryTree({"a.j2": '{% include "b.j2" %}\nBe kind.\n', "b.j2": '{% include "a.j2" %}\n'})
    diff = diff_prompt("a.j2", tree, tree)
    assert diff.changes == ()


def test_change_inside_a_jinja_branch_names_the_branch():
    before = '{% if tier == "gold" %}\nOffer free shipping over $50.\n{% endif %}\n'
    (change,) = diff_texts("p.j2", before, before.replace("$50", "$25")).changes
    assert change.type is T.NUMBER_CHANGED
    assert change.context == '{% if tier == "gold" %}'


def test_results_are_frozen_and_enums_are_strings():
    change = diff_texts("p.txt", "Be kind.\n", None).changes[0]
    assert isinstance(change, Change)
    with pytest.raises(FrozenInstanceError):
        change.summary = "x"  # type: ignore[misc]
    assert change.type == "file_removed" and change.severity == "high"


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab #-*{}%<>/\n.:0123456789'\"[]|`")), max_size=200), st.sampled_from(
    ["p.txt", "p.md", "p.j2", "p.json", "p.yaml", "p.prompty", "p.prompt"]))
def test_any_text_diffs_without_crashing_and_equals_itself(text, path):
    assert diff_texts(path, text, text).changes == ()
    diff_texts(path, text, text + "\nNever do that.\n")


def test_chat_yaml_is_read_as_yaml_1_2_so_a_reply_of_no_stays_text():
    before = "- role: system\n  content: Answer only yes or no.\n- role: assistant\n  content: yes\n"
    after = "- role: system\n  content: Answer only yes or no.\n- role: assistant\n  content: no\n"
    diff = diff_texts("prompts/chat.yaml", before, after)
    assert not diff.errors and not diff.fallback
    assert {c.before for c in diff.changes} - {None} == {"yes"}  # YAML 1.1 read these as true/false
    assert {c.after for c in diff.changes} - {None} == {"no"}


def test_a_changed_image_part_is_shown_by_its_url_or_digest_never_its_base64():
    def chat(image: dict) -> str:
        return json.dumps([{"role": "user", "content": [{"type": "text", "text": "What is in this picture?"}, image]}], indent=1)

    red = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"red" * 60).decode()
    blue = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"blue" * 60).decode()
    inline = lambda data: {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{data}"}}  # noqa: E731
    by_url = lambda url: {"type": "image_url", "image_url": {"url": url}}  # noqa: E731

    diff = diff_texts("prompts/vision.json", chat(inline(red)), chat(inline(blue)))
    assert diff.changes and not diff.formatting_only
    shown = " ".join(f"{c.summary} {c.before} {c.after}" for c in diff.changes)
    assert "image_url: sha256" in shown and red[:40] not in shown and blue[:40] not in shown

    diff = diff_texts("prompts/vision.json", chat(by_url("https://example.com/a.jpg")), chat(by_url("https://example.com/b.jpg")))
    shown = " ".join(f"{c.before} {c.after}" for c in diff.changes)
    assert "image_url: https://example.com/a.jpg" in shown and "image_url: https://example.com/b.jpg" in shown

    assert diff_texts("prompts/vision.json", chat(inline(red)), chat(inline(red))).changes == ()
