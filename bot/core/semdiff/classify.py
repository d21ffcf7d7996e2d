"""Name what changed between two aligned instructions: negation, constraint strength,
numbers, output format — or, when none of those, a rewording."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from bot.core.semdiff.cues import cues, is_format_instruction, number_phrase, strength
from bot.core.semdiff.model import ChangeType as T
from bot.core.semdiff.structure import Unit


SCOPE = frozenset({"only", "exactly", "strictly", "at all times", "under no circumstances"})


@dataclass(frozen=True)
class Finding:
    type: T
    summary: str


def classify_pair(a: Unit, b: Unit, lost_numbers: Counter, gained_numbers: Counter) -> list[Finding]:
    """Findings for one aligned pair whose canonical texts differ.

    lost/gained_numbers are the prompt-wide number changes: a number that only moved to
    another sentence is not a number change.
    """
    ca, cb = cues(a.text, a.kind), cues(b.text, b.kind)
    out: list[Finding] = []
    if a.kind == "logic" or b.kind == "logic":
        prefix = "template logic changed"
    else:
        prefix = None

    if cb.negations > ca.negations:
        out.append(Finding(T.NEGATION_ADDED, f"negation added: {_short(b.text)}"))
    elif cb.negations < ca.negations:
        out.append(Finding(T.NEGATION_REMOVED, f"negation removed: {_short(a.text)} → {_short(b.text)}"))
    else:
        removed = ca.modals - cb.modals
        added = cb.modals - ca.modals
        if removed or added:
            s_rem, s_add = strength(ca.modals, a.text), strength(cb.modals, b.text)
            was = ", ".join(f'"{m}"' for m in removed) or "(none)"
            now = ", ".join(f'"{m}"' for m in added) or "(none)"
            # A bare imperative binds like "must", but "only"/"exactly" also limit its scope.
            scope_lost, scope_won = bool(set(removed) & SCOPE), bool(set(added) & SCOPE)
            if s_add < s_rem or (s_add == s_rem and scope_lost and not scope_won):
                out.append(Finding(T.CONSTRAINT_WEAKENED, f"constraint weakened: {was} → {now}"))
            elif s_add > s_rem or (s_add == s_rem and scope_won and not scope_lost):
                out.append(Finding(T.CONSTRAINT_STRENGTHENED, f"constraint strengthened: {was} → {now}"))

    lost = (ca.numbers - cb.numbers) & lost_numbers
    gained = (cb.numbers - ca.numbers) & gained_numbers
    if lost or gained:
        was = ", ".join(number_phrase(a.text, v) for v, _ in lost) or "(none)"
        now = ", ".join(number_phrase(b.text, v) for v, _ in gained) or "(none)"
        out.append(Finding(T.NUMBER_CHANGED, f"number changed: {was} → {now}"))

    if ca.formats != cb.formats and (is_format_instruction(a.text, a.kind) or is_format_instruction(b.text, b.kind)):
        gone = sorted(ca.formats - cb.formats)
        new = sorted(cb.formats - ca.formats)
        detail = "; ".join(p for p in (_fmt("removed", gone), _fmt("added", new)) if p)
        out.append(Finding(T.OUTPUT_FORMAT_CHANGED, f"output format changed: {detail}"))

    if not out:
        label = prefix or "instruction reworded"
        out.append(Finding(T.INSTRUCTION_REWORDED, f"{label}: {_short(a.text)} → {_short(b.text)}"))
    return out


def _fmt(label: str, items: list[str]) -> str:
    return f"{label} {', '.join(i.replace('key:', 'key ').replace('in:', 'in ') for i in items)}" if items else ""


def _short(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return f'"{text}"' if len(text) <= limit else f'"{text[: limit - 1]}…"'
