"""`similar` and its measures (promptfoo 0.121's similar, similar:cosine, similar:dot, similar:euclidean): how
two embeddings are compared, how that number meets the threshold, and how a list of values is read.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable

# the assertion type's measure, as promptfoo names them
METRICS = {"similar": "cosine", "similar:cosine": "cosine", "similar:dot": "dot_product", "similar:euclidean": "euclidean"}
DEFAULT_THRESHOLD = 0.75  # for every measure, the euclidean distance too (promptfoo's default)
EPSILON = 2.220446049250313e-16  # JavaScript's Number.EPSILON: promptfoo's allowance for a float's rounding


class VectorsDiffer(ValueError):
    """The two embeddings have different lengths (promptfoo throws "Vectors must be of equal length")."""


def measure(metric: str, a: list[float], b: list[float]) -> float:
    """Cosine similarity (0 when a vector is all zeros), dot product, or euclidean distance of two embeddings."""
    if len(a) != len(b):
        raise VectorsDiffer(f"the two embeddings differ in length ({len(a)} and {len(b)} numbers)")
    if metric == "euclidean":
        return math.sqrt(sum((x - y) * (x - y) for x, y in zip(a, b)))
    dot = sum(x * y for x, y in zip(a, b))
    if metric == "dot_product":
        return dot
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


def judged(metric: str, value: float, threshold: float, negated: bool) -> tuple[bool, float]:
    """(pass, score) of one measured value. A similarity (cosine, dot) passes at the threshold and scores itself
    (1 − it when negated); a euclidean distance passes at most the threshold (at least, negated) and scores
    1 / (1 + distance) (1 − that when negated)."""
    if metric == "euclidean":
        passed = value >= threshold - EPSILON if negated else value <= threshold + EPSILON
        normal = 1 / (1 + value)
        return passed, 1 - normal if negated else normal
    passed = value <= threshold + EPSILON if negated else value >= threshold - EPSILON
    return passed, 1 - value if negated else value


async def similar(kind: str, negated: bool, threshold: float | None, expected: list[str],
                  measured: Callable[[str, str], Awaitable[float]]) -> tuple[bool, float]:
    """promptfoo's `similar*` over one value or several, in order: the first value that passes decides with its
    own score (none: fails with the highest score); negated, the first value that fails decides (none: passes
    with the lowest score). `measured(value, metric)` measures the output against one value."""
    metric = METRICS[kind]
    limit = DEFAULT_THRESHOLD if threshold is None else float(threshold)
    if not negated:
        best = -math.inf
        for text in expected:
            passed, score = judged(metric, await measured(text, metric), limit, False)
            if passed:
                return True, score
            best = max(best, score)
        return False, best
    lowest = math.inf
    for text in expected:
        passed, score = judged(metric, await measured(text, metric), limit, True)
        if not passed:
            return False, score
        lowest = min(lowest, score)
    return True, lowest
