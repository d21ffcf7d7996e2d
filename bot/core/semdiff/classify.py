"""Name what changed between two aligned instructions: negation, constraint strength,
numbers, output format — or, when none of those, a rewording."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from difflib import SequenceMatcher

from rapidfuzz.distance import Levenshtein

from bot.core.semdiff.cues import MODALS, cues, is_format_instruction, number_phrase, strength
from bot.core.semdiff.model import ChangeType as T
from bot.core.semdiff.model import Severity
from bot.core.semdiff.structure import Unit


SCOPE = frozenset({"only", "exactly", "strictly", "at all times", "under no circumstances"})


@dataclass(frozen=True)
class Finding:
    type: T
    summary: str
    severity: Severity | None = None  # None: the type's usual severity


# Clauses that carve an exception out of a rule narrow where it applies.
_EXCEPTION = re.compile(r"^\W*(except|unless|other than|apart from|excluding|but not|save for|only if|only when|if|when|where)\b", re.I)
# An added clause that lets the model do more than before.
_PERMISSION = re.compile(r"\b(may|can|could|allowed|permitted|feel free|it is (ok|okay|fine)|say yes|is acceptable)\b", re.I)
_WORD = re.compile(r"[\w'’]+|[^\w\s]")


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
        if prefix:
            out.append(Finding(T.INSTRUCTION_REWORDED, f"{prefix}: {_short(a.text)} → {_short(b.text)}"))
        else:
            out.append(_reworded(a.text, b.text))
    return out


def clauses(before: str, after: str) -> tuple[list[str], list[str]]:
    """(removed, added) runs of words between two versions of one sentence."""
    wa, wb = _WORD.findall(before), _WORD.findall(after)
    removed, added = [], []
    ops = SequenceMatcher(None, [w.lower() for w in wa], [w.lower() for w in wb], autojunk=False).get_opcodes()
    for tag, i1, i2, j1, j2 in ops:
        if tag in ("delete", "replace") and _says(wa[i1:i2]):
            removed.append(_join(wa[i1:i2]))
        if tag in ("insert", "replace") and _says(wb[j1:j2]):
            added.append(_join(wb[j1:j2]))
    return removed, added


def _reworded(before: str, after: str) -> Finding:
    """A rewording named by its clauses. A rule that lost a clause of three or more words (or an
    item of a list) covers less; one that gained an exception applies less often: both are
    weakened. A gained clause that grants or commands something new is high."""
    removed, added = clauses(before, after)
    words = lambda parts: sum(len(re.findall(r"\w+", p)) for p in parts)  # noqa: E731
    detail = "; ".join(p for p in (_quoted("added", added), _quoted("removed", removed)) if p)
    if removed and not added and (words(removed) >= 3 or any("," in p or re.search(r"\b(or|and)\b", p) for p in removed)):
        return Finding(T.CONSTRAINT_WEAKENED, f"constraint narrowed: {detail}")
    if added and not removed and _EXCEPTION.match(added[0]) and after.lower().startswith(before.lower().rstrip(".!?")):
        return Finding(T.CONSTRAINT_WEAKENED, f"exception added: {detail}")
    severity = None
    if any(_PERMISSION.search(p) or cues(p).modals.keys() & {m for m, v in MODALS.items() if v >= 2} for p in added):
        severity = Severity.HIGH
    summary = f"instruction reworded: {_short(before, 60)} → {_short(after, 60)}"
    if detail:
        summary += f" ({detail})"
    return Finding(T.INSTRUCTION_REWORDED, summary, severity)


def typo_only(before: str, after: str) -> bool:
    """Every changed word is a near spelling of its counterpart and means the same kind of thing
    ("Do no" → "Do not", "assistent" → "assistant"): a typo fix, not a change of meaning."""
    wa, wb = _WORD.findall(before.lower()), _WORD.findall(after.lower())
    if len(wa) != len(wb) or wa == wb:
        return False
    for x, y in zip(wa, wb):
        if x == y:
            continue
        if not x.isalpha() or not y.isalpha() or max(len(x), len(y)) < 2:
            return False
        if Levenshtein.distance(x, y) > max(1, min(len(x), len(y)) // 4):
            return False
        if _kind(x) != _kind(y):
            return False
    return True


def _kind(word: str) -> tuple:
    c = cues(f"{word} x")  # "no" negates only before a word
    return (c.negations > 0, strength(c.modals), bool(c.numbers))


def _says(words: list[str]) -> bool:
    return any(re.match(r"\w", w) for w in words)


def _join(words: list[str]) -> str:
    text = ""
    for w in words:
        text += w if (not text or re.match(r"[^\w\s(\[\"']", w)) else " " + w
    # "…, and always look for a way to say yes": the clause is what follows the joining word.
    return re.sub(r"^(and|or|but|also)\s+", "", text.strip(" ,;"), flags=re.I)


def _quoted(label: str, parts: list[str]) -> str:
    return f"{label}: " + ", ".join(f"'{p}'" for p in parts) if parts else ""


def _fmt(label: str, items: list[str]) -> str:
    return f"{label} {', '.join(i.replace('key:', 'key ').replace('in:', 'in ') for i in items)}" if items else ""


def _short(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return f'"{text}"' if len(text) <= limit else f'"{text[: limit - 1]}…"'
