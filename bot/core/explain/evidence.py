"""Free lexical evidence: which changes removed or altered text that a cluster's failing assertions
or its base outputs quote. It orders the ablation (likely causes first); it never decides alone."""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence

from bot.core.explain.model import ChangeRef, Hint

_WORD = re.compile(r"\w+")
_STOP = frozenset(
    "a an and are as at be but by for from has have i if in is it its of on or our so that the their them "
    "they this to was we were will with you your not no can do does".split()
)
_SEVERITY = {"high": 0, "medium": 1, "low": 2, "none": 3}


def _words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def _shared(quoting: str, source: str) -> tuple[float, str]:
    """(score, phrase): the longest run of words `quoting` shares with `source`, weighted by how
    many of them are content words (numbers and rare words say more than 'the')."""
    a, b = _words(quoting), _words(source)
    if not a or not b:
        return 0.0, ""
    m = difflib.SequenceMatcher(None, a, b, autojunk=False).find_longest_match(0, len(a), 0, len(b))
    phrase = a[m.a : m.a + m.size]
    content = [w for w in phrase if w not in _STOP]
    if not content:
        return 0.0, ""
    return len(content) + 0.25 * (len(phrase) - len(content)), " ".join(phrase)


def _assertion_value(assertion: str) -> str:
    """'icontains "not eligible"' → 'not eligible' (the quoted part, else the whole text)."""
    m = re.search(r'"(.*)"', assertion)
    return m.group(1) if m else assertion


def rank_changes(
    changes: Sequence[ChangeRef], assertions: Sequence[str], base_outputs: Sequence[str]
) -> tuple[tuple[ChangeRef, ...], tuple[Hint, ...]]:
    """`changes` ordered most likely first (lexical score, then severity, then position), and the
    hints that scored. An assertion quoting the text counts double a base output doing so."""
    hints: dict[str, Hint] = {}
    for change in changes:
        # What the head lost: the removed or altered text (for an addition, what it added).
        lost = change.before or change.after or ""
        best = Hint(change.id, 0.0, "", "")
        for assertion in assertions:
            score, phrase = _shared(_assertion_value(assertion), lost)
            if 2 * score > best.score:
                best = Hint(change.id, 2 * score, phrase, "assertion")
        for output in base_outputs:
            score, phrase = _shared(output, lost)
            if score > best.score:
                best = Hint(change.id, score, phrase, "base output")
        if best.score > 0:
            hints[change.id] = best

    def key(c: ChangeRef):
        pos = c.base_lines or c.head_lines or (0, 0)
        return (-(hints[c.id].score if c.id in hints else 0.0), _SEVERITY.get(c.severity, 3), c.file, pos[0])

    ordered = tuple(sorted(changes, key=key))
    return ordered, tuple(hints[c.id] for c in ordered if c.id in hints)
