"""`perplexity` and `perplexity-score` (promptfoo 0.121): read from the answer tokens' log-probabilities, which only
a provider that returns them gives (OpenAI and Azure chat when the request asks for `logprobs`); promptfoo never
asks for them itself, and neither does prompt-review.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

# promptfoo's words when the provider returned none; the case is an error
NO_LOGPROBS = {
    "perplexity": "Perplexity assertion does not support providers that do not return logProbs",
    "perplexity-score": "perplexity-score assertion does not support providers that do not return logProbs",
}


class NoLogprobs(ValueError):
    pass


def verdict(kind: str, logprobs: Sequence[float] | None, threshold: float | None, negated: bool) -> tuple[bool, float]:
    """perplexity = exp(−mean log-probability): passes at most the threshold (any, without one), scored 1 or 0.
    perplexity-score = 1 / (1 + exp(−mean)): passes at least the threshold (any, without one), scored itself.
    `not-` inverts the pass against a threshold (without one both forms pass) and scores 1 − perplexity-score."""
    if not logprobs:
        raise NoLogprobs(NO_LOGPROBS[kind])
    mean = _js_sum(logprobs) / len(logprobs)  # summed in order, as JavaScript's reduce: the same last digit
    if kind == "perplexity":
        value = _exp(-mean)
        passed = True if threshold is None else (value <= threshold) != negated
        return passed, 1.0 if passed else 0.0
    norm = 1 / (1 + _exp(-mean))
    passed = True if threshold is None else (norm >= threshold) != negated
    return passed, 1 - norm if negated else norm


def _js_sum(values: Sequence[float]) -> float:
    total = 0.0
    for x in values:
        total += x
    return total


def _exp(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf
