"""JSON from untrusted sources (suites, prompts, model answers, webhooks) with its depth and size
bounded *before* it is parsed: the standard parser recurses per level and a few kilobytes of
brackets would otherwise raise RecursionError deep inside a review.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_DEPTH = 64
# Strings are skipped whole so brackets inside them do not count; anything else is a bracket.
_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


class JsonTooDeep(ValueError):
    """The document nests deeper than allowed; a ValueError so callers treating it as 'not JSON' still work."""

    def __init__(self, depth: int, limit: int):
        super().__init__(f"JSON nested deeper than {limit} levels (at least {depth})")
        self.depth, self.limit = depth, limit


def depth_of(text: str | bytes, limit: int = MAX_DEPTH) -> int:
    """The bracket depth of `text`, stopping as soon as it passes `limit` (returns limit + 1)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    if "[" not in text and "{" not in text:
        return 0
    depth = deepest = 0
    for m in _TOKENS.finditer(text):
        tok = m.group()
        if tok in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    return deepest
        elif tok in "]}":
            depth -= 1
    return deepest


def loads(text: str | bytes, max_depth: int = MAX_DEPTH) -> Any:
    """json.loads that refuses documents nested deeper than `max_depth` with JsonTooDeep (a ValueError)."""
    depth = depth_of(text, max_depth)
    if depth > max_depth:
        raise JsonTooDeep(depth, max_depth)
    return json.loads(text)


def too_deep_line(text: str | bytes, limit: int = MAX_DEPTH) -> int | None:
    """The 1-based line where `text` first nests deeper than `limit` (None if it never does), for messages."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    depth = 0
    for m in _TOKENS.finditer(text):
        tok = m.group()
        if tok in "[{":
            depth += 1
            if depth > limit:
                return text.count("\n", 0, m.start()) + 1
        elif tok in "]}":
            depth -= 1
    return None
