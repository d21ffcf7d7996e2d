"""Size budget: GitHub rejects comments and check outputs over 65,536 characters, so every output is
rendered at decreasing detail levels until one fits. Whole rows and lists are dropped (never a
string cut through markup), least important first: word diffs and case lists, then output
excerpts, then regressed rows; what was left out is counted in a visible note.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

COMMENT_LIMIT = 65536
CHECK_LIMIT = 65535


@dataclass(frozen=True)
class Detail:
    regressed_rows: int  # regressed-table rows in total (all suites)
    list_items: int  # items per collapsible list (fixed, still failing, flaky, new, removed, error)
    excerpt: int  # characters of each output/assertion excerpt
    changes: int  # semantic-diff rows per prompt
    diff_chars: int  # characters of word-level (or fallback unified) diff per prompt; 0 = omitted


_FULL = Detail(regressed_rows=500, list_items=200, excerpt=300, changes=60, diff_chars=8000)
LEVELS: tuple[Detail, ...] = (
    _FULL,
    # 1. collapsible lists and diffs (the Files tab and the check run have them too)
    replace(_FULL, list_items=50, diff_chars=4000),
    replace(_FULL, list_items=20, diff_chars=1500),
    replace(_FULL, list_items=0, diff_chars=0),
    # 2. shorter output excerpts and fewer semantic-diff rows
    replace(_FULL, list_items=0, diff_chars=0, excerpt=200),
    replace(_FULL, list_items=0, diff_chars=0, excerpt=120, changes=30),
    # 3. fewer regressed rows (the verdict and the counts always stay)
    Detail(regressed_rows=200, list_items=0, excerpt=100, changes=30, diff_chars=0),
    Detail(regressed_rows=120, list_items=0, excerpt=80, changes=20, diff_chars=0),
    Detail(regressed_rows=60, list_items=0, excerpt=70, changes=20, diff_chars=0),
    Detail(regressed_rows=25, list_items=0, excerpt=60, changes=10, diff_chars=0),
    Detail(regressed_rows=0, list_items=0, excerpt=0, changes=5, diff_chars=0),
)


def fit(render: Callable[[Detail], str], limit: int, last_resort: Callable[[], str]) -> str:
    """The most detailed rendering within `limit` characters; `last_resort` must always fit."""
    for detail in LEVELS:
        text = render(detail)
        if len(text) <= limit:
            return text
    text = last_resort()
    if len(text) > limit:  # a limit too small for any markup: say so in plain text, cut safely
        text = text[:limit]
    return text
