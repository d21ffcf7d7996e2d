"""The head version of a prompt file with some of a PR's changes undone (the rest kept).

Works on any prompt format without parsing it: both versions are aligned word by word, each
change is located by its excerpts inside its line ranges (JSON and YAML quoting tolerated), and
every aligned edit that touches a located span is replaced by the base side of that edit. A
change whose excerpts cannot be found falls back to its whole lines (the diff hunk).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence

from bot.core.explain.model import ChangeRef

_TOKEN = re.compile(r"\s+|\w+|[^\w\s]")
_WORD = re.compile(r"\w+|[^\w\s]")
# Between two words of an excerpt: any spacing, or the escapes a JSON/YAML string writes for it.
_GAP = r"(?:\s|\\[nrt])*"


class RevertError(Exception):
    """A change could not be located in its file, so it cannot be reverted on its own."""


def _line_span(text: str, lines: tuple[int, int] | None) -> tuple[int, int] | None:
    if lines is None:
        return None
    starts = [0] + [m.end() for m in re.finditer("\n", text)]
    first, last = max(1, lines[0]), max(lines[0], lines[1])
    if first > len(starts):
        return None
    end = starts[last] if last < len(starts) else len(text)
    return starts[first - 1], end


def _pattern(excerpt: str) -> re.Pattern[str] | None:
    excerpt = excerpt.strip().rstrip("…").strip()
    words = _WORD.findall(excerpt)
    if not words:
        return None
    parts = []
    for w in words:
        if w == '"':
            parts.append(r'\\?"')
        elif w == "'":
            parts.append(r"''?")
        elif w == "\\":
            parts.append(r"\\\\?")
        else:
            parts.append(re.escape(w))
    return re.compile(_GAP.join(parts))


def _locate(text: str, excerpt: str | None, lines: tuple[int, int] | None) -> tuple[int, int] | None:
    """Char span of `excerpt` in `text`, preferably inside (or next to) `lines`; else the lines."""
    window = _line_span(text, lines)
    pattern = _pattern(excerpt) if excerpt else None
    if pattern is not None:
        if window is not None:
            lo = text.rfind("\n", 0, max(0, window[0] - 1)) + 1  # one line of slack each side
            hi = text.find("\n", window[1] + 1)
            hi = len(text) if hi < 0 else hi
            m = pattern.search(text, lo, hi)
            if m:
                return m.span()
        found = list(pattern.finditer(text))
        if len(found) == 1:
            return found[0].span()
    return window


def _token_range(offsets: list[int], span: tuple[int, int]) -> tuple[int, int]:
    """Indices of the tokens overlapping a char span (offsets: start of each token, plus the end)."""
    start, end = span
    first = next((i for i in range(len(offsets) - 1) if offsets[i + 1] > start), len(offsets) - 1)
    last = next((i for i in range(len(offsets) - 2, -1, -1) if offsets[i] < end), first - 1)
    return first, max(first, last + 1)


def _offsets(tokens: list[str]) -> list[int]:
    out, pos = [0], 0
    for t in tokens:
        pos += len(t)
        out.append(pos)
    return out


def _touches(i1: int, i2: int, span: tuple[int, int] | None) -> bool:
    if span is None:
        return False
    lo, hi = span
    if i1 == i2:  # an insertion point: inside the span, not at its edges
        return lo < i1 < hi
    return i1 < hi and lo < i2


def revert(base_text: str, head_text: str, changes: Sequence[ChangeRef]) -> str:
    """`head_text` with each of `changes` undone. Raises RevertError when a change cannot be
    located or undoing it leaves the head text as it was."""
    base_tokens, head_tokens = _TOKEN.findall(base_text), _TOKEN.findall(head_text)
    base_off, head_off = _offsets(base_tokens), _offsets(head_tokens)
    base_spans, head_spans = [], []
    for change in changes:
        b = _locate(base_text, change.before, change.base_lines) if change.before or change.base_lines else None
        h = _locate(head_text, change.after, change.head_lines) if change.after or change.head_lines else None
        if b is None and h is None:
            raise RevertError(f"{change.summary}: not found in {change.file}")
        base_spans.append(_token_range(base_off, b) if b else None)
        head_spans.append(_token_range(head_off, h) if h else None)
    matcher = difflib.SequenceMatcher(None, base_tokens, head_tokens, autojunk=False)
    out: list[str] = []
    undone = False
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "equal" and any(
            _touches(i1, i2, bs) or _touches(j1, j2, hs) for bs, hs in zip(base_spans, head_spans)
        ):
            out += base_tokens[i1:i2]
            undone = True
        else:
            out += head_tokens[j1:j2]
    text = "".join(out)
    if not undone or text == head_text:
        raise RevertError(f"{', '.join(c.summary for c in changes)}: nothing to undo in {changes[0].file}")
    return text
