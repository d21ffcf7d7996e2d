"""Word-level diff of one changed passage, for the collapsible diff under the change table."""

from __future__ import annotations

import re
from difflib import SequenceMatcher

_WORDS = re.compile(r"\s+|\w+|[^\w\s]")


def word_ops(before: str | None, after: str | None) -> tuple[tuple[str, str], ...]:
    """(op, text) runs with op in 'equal' | 'insert' | 'delete'; adjacent runs are merged."""
    a = _WORDS.findall(before or "")
    b = _WORDS.findall(after or "")
    ops: list[tuple[str, str]] = []

    def push(op: str, words: list[str]) -> None:
        text = "".join(words)
        if not text:
            return
        if ops and ops[-1][0] == op:
            ops[-1] = (op, ops[-1][1] + text)
        else:
            ops.append((op, text))

    for tag, i1, i2, j1, j2 in SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            push("equal", a[i1:i2])
        else:
            push("delete", a[i1:i2])
            push("insert", b[j1:j2])
    return tuple(ops)
