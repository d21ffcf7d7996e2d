"""Reverting one semantic change of a prompt leaves every other change of the PR in place, in every
prompt format the semantic diff reads."""

from __future__ import annotations

import json

import pytest
import yaml

from bot.core.explain import RevertError, candidate_changes, revert
from bot.core.explain.model import ChangeRef
from bot.core.result import PromptChange
from bot.core.semdiff import diff_texts

RULE = "Refunds are only possible within 30 days of delivery."
TONE_BASE, TONE_HEAD = "Be polite and concise.", "Be warm, upbeat and friendly."


def _changes(path: str, before: str, after: str) -> tuple[ChangeRef, ...]:
    semdiff = diff_texts(path, before, after)
    return candidate_changes([PromptChange(path, "modified", None, "", 0, 0, None, None, semdiff)])


def _only(changes, text: str) -> ChangeRef:
    found = [c for c in changes if text in (c.before or "") or text in (c.after or "")]
    assert found, [c.summary for c in changes]
    return found[0]


def _markdown(rule: bool, tone: str) -> str:
    return (
        "# Support assistant\n\nYou help Acme Shop customers.\n\n## Refunds\n\n"
        + (f"- {RULE}\n" if rule else "")
        + "- Customers start a return at acme.example/returns.\n\n## Tone\n\n"
        + f"- {tone}\n- Never blame the customer.\n"
    )


FORMATS = {
    "prompts/support.md": lambda rule, tone: _markdown(rule, tone),
    "prompts/support.txt": lambda rule, tone: _markdown(rule, tone).replace("#", ""),
    "prompts/support.j2": lambda rule, tone: (
        "You help {{ company }} customers.\n{% if refunds %}\n" + (f"{RULE}\n" if rule else "")
        + "Start returns at acme.example/returns.\n{% endif %}\n" + f"{tone} Never blame the customer.\n"
    ),
    "prompts/chat.json": lambda rule, tone: json.dumps([
        {"role": "system", "content": "You help Acme Shop customers.\n" + (RULE + "\n" if rule else "") + "Start returns at acme.example/returns."},
        {"role": "system", "content": tone + " Never blame the customer."},
        {"role": "user", "content": "{{ question }}"},
    ], indent=2) + "\n",
    "prompts/chat.yaml": lambda rule, tone: yaml.safe_dump([
        {"role": "system", "content": "You help Acme Shop customers.\n" + (RULE + "\n" if rule else "") + "Start returns at acme.example/returns.\n"},
        {"role": "system", "content": tone + " Never blame the customer.\n"},
        {"role": "user", "content": "{{ question }}"},
    ], sort_keys=False, width=200),
    "prompts/front.md": lambda rule, tone: "---\nmodel: gpt-4o-mini\ntemperature: 0\n---\n" + _markdown(rule, tone),
    "prompts/support.prompty": lambda rule, tone: (
        "---\nname: support\nmodel:\n  api: chat\n  configuration:\n    type: openai\n    name: gpt-4o-mini\n---\n"
        "system:\nYou help Acme Shop customers.\n" + (f"{RULE}\n" if rule else "") + "Start returns at acme.example/returns.\n"
        + f"{tone} Never blame the customer.\n\nuser:\n{{{{question}}}}\n"
    ),
    "prompts/support.prompt": lambda rule, tone: (
        "---\nmodel: openai/gpt-4o-mini\ninput:\n  schema:\n    question: string\n---\n"
        "{{role \"system\"}}\nYou help Acme Shop customers.\n" + (f"{RULE}\n" if rule else "")
        + "Start returns at acme.example/returns.\n" + f"{tone} Never blame the customer.\n{{{{role \"user\"}}}}\n{{{{question}}}}\n"
    ),
}


@pytest.mark.parametrize("path", sorted(FORMATS))
def test_reverting_the_removed_rule_restores_it_and_keeps_the_tone_edit(path):
    make = FORMATS[path]
    base, head = make(True, TONE_BASE), make(False, TONE_HEAD)
    changes = _changes(path, base, head)
    reverted = revert(base, head, [_only(changes, "30 days")])
    assert reverted == make(True, TONE_HEAD)


@pytest.mark.parametrize("path", sorted(FORMATS))
def test_reverting_the_tone_edit_keeps_the_rule_removed(path):
    make = FORMATS[path]
    base, head = make(True, TONE_BASE), make(False, TONE_HEAD)
    changes = _changes(path, base, head)
    tone = _only(changes, "upbeat")
    reverted = revert(base, head, [tone])
    assert RULE not in reverted
    assert "polite" in reverted and "upbeat" not in reverted


def test_reverting_every_change_gives_back_the_base():
    base, head = _markdown(True, TONE_BASE), _markdown(False, TONE_HEAD)
    assert revert(base, head, _changes("p.md", base, head)) == base


def test_a_change_that_is_not_in_the_file_cannot_be_reverted():
    ghost = ChangeRef("p.md#1", "p.md", "p.md", "instruction_removed", "high", "instruction removed: x",
                      before="This sentence was never there.")
    with pytest.raises(RevertError):
        revert("Hello.\n", "Hello there.\n", [ghost])


def test_a_change_without_a_semantic_diff_reverts_by_its_diff_hunk():
    import difflib

    from bot.core.explain.model import hunk_changes

    base, head = _markdown(True, TONE_BASE), _markdown(False, TONE_HEAD)
    diff = "".join(difflib.unified_diff(base.splitlines(True), head.splitlines(True), "a/p.md", "b/p.md", n=0))
    hunks = hunk_changes("p.md", diff)
    assert len(hunks) == 2 and all(h.type == "hunk" for h in hunks)
    assert revert(base, head, [hunks[0]]) == _markdown(True, TONE_HEAD)
