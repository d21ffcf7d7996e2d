"""Regular expressions that come from suites (the `regex` assertion): compiled with the `regex`
package and run with a time limit, so a catastrophic pattern cannot hang a worker.

Every suite-provided pattern goes through `compile_pattern` (load-time validation, run time) and
`search` (scoring); nothing in bot/evals calls `re` on a pattern it did not write itself.
"""

from __future__ import annotations

import time
from functools import lru_cache

import regex

DEFAULT_TIMEOUT_S = 1.0  # per pattern and model output; a sane pattern needs microseconds on 200 KB
MAX_PATTERN_CHARS = 10_000  # a longer "pattern" is data pasted in the wrong place, and slow to compile


class PatternError(ValueError):
    """The pattern is not a valid regular expression; the message says why."""


DEFAULT_BUDGET_S = 30.0  # all suite regexes of one review together


class PatternTimeout(Exception):
    """The pattern did not finish on one text within the limit (or the review's regex time ran out)."""

    def __init__(self, pattern: str, limit_s: float, budget_s: float | None = None):
        self.pattern = pattern
        self.limit_s = limit_s
        self.budget_s = budget_s  # set when it was the review's total that ran out
        super().__init__(f"regex {pattern!r} did not finish within {limit_s:g} s")


class RegexClock:
    """The time suite regexes may take: `per_search_s` on one output, `budget_s` for all of one review.

    Without the total, a suite of many catastrophic patterns would cost cases × per_search_s (5,000
    cases: 83 minutes of a worker). Past the budget, every further regex assertion is an error naming
    the limit — never a pass or a fail. Searches of one review run on one event loop, one at a time.
    """

    def __init__(self, per_search_s: float = DEFAULT_TIMEOUT_S, budget_s: float = DEFAULT_BUDGET_S):
        self.per_search_s = per_search_s
        self.budget_s = budget_s
        self.spent_s = 0.0

    def search(self, pattern: str, text: str) -> bool:
        left = self.budget_s - self.spent_s
        if left <= 0:
            compile_pattern(pattern)  # an invalid pattern is still reported as invalid
            raise PatternTimeout(pattern, 0.0, self.budget_s)
        started = time.perf_counter()
        try:
            return search(pattern, text, min(self.per_search_s, left))
        except PatternTimeout as exc:
            if left < self.per_search_s:  # stopped by the review's total, not its own limit
                raise PatternTimeout(pattern, exc.limit_s, self.budget_s) from None
            raise
        finally:
            self.spent_s += time.perf_counter() - started


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
