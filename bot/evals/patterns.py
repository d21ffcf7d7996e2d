"""Regular expressions that come from suites (the `regex` assertion): compiled with the `regex`
package and run with a time limit, so a catastrophic pattern cannot hang a worker.

Every suite-provided pattern goes through `compile_pattern` (load-time validation, run time) and
`search` (scoring); nothing in bot/evals calls `re` on a pattern it did not write itself.
"""

from __future__ import annotations

from functools import lru_cache

import regex

DEFAULT_TIMEOUT_S = 1.0  # per pattern and model output; a sane pattern needs microseconds on 200 KB
MAX_PATTERN_CHARS = 10_000  # a longer "pattern" is data pasted in the wrong place, and slow to compile


class PatternError(ValueError):
    """The pattern is not a valid regular expression; the message says why."""


class PatternTimeout(Exception):
    """The pattern did not finish on one text within the limit."""

    def __init__(self, pattern: str, limit_s: float):
        self.pattern = pattern
        self.limit_s = limit_s
        super().__init__(f"regex {pattern!r} did not finish within {limit_s:g} s")


@lru_cache(maxsize=1024)
def compile_pattern(pattern: str) -> regex.Pattern:
    """Compile with `re`-compatible semantics (regex VERSION0); raise PatternError if invalid."""
    if len(pattern) > MAX_PATTERN_CHARS:
        raise PatternError(f"pattern is {len(pattern):,} characters long (at most {MAX_PATTERN_CHARS:,})")
    try:
        return regex.compile(pattern, regex.VERSION0)
    except (regex.error, OverflowError, RecursionError) as exc:
        raise PatternError(str(exc)) from None


def search(pattern: str, text: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> bool:
    """Whether `pattern` matches anywhere in `text` (JavaScript `RegExp.test`, as promptfoo uses).

    Raises PatternError for an invalid pattern and PatternTimeout when the limit is hit.
    """
    compiled = compile_pattern(pattern)
    try:
        return compiled.search(text, timeout=timeout_s) is not None
    except TimeoutError:
        raise PatternTimeout(pattern, timeout_s) from None
