"""select-best and max-score: assertions that compare the outputs of every case of one test on one side
(each prompt × provider), pass the best one and fail the others (promptfoo's semantics).

They are decided after the side's cases ran, from their (cached) outputs and scores: a case's own
result stays cacheable, and the comparison is a pure function of the outputs (max-score) or one
grader call keyed by them (select-best, cached the same way). A base/head review compares within
each side; the base's winner and the head's winner are then compared case by case as usual.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bot.core.errors import CheckError, SourceError
from bot.evals.assertions import COMPARISON_TYPES
from bot.evals.cache import ResultCache
from bot.evals.grading import DEFAULT_GRADER
from bot.evals.providers import BudgetExhausted, Cancelled, ProviderError
from bot.evals.select import CaseInput, digest
from bot.evals.suite import AssertionSpec, ProviderSpec


class SelectGrader(Protocol):
    async def select_best(self, grader: ProviderSpec | None, criterion: str, outputs: list[str]) -> int: ...


@dataclass(frozen=True)
class Compared:
    """One case's share of a comparison: selected (passes), not selected (fails, score 0), or an error."""

    passed: bool
    failed: tuple[str, ...] = ()
    error: str | None = None
    error_kind: CheckError | None = None


def comparison(asserts: tuple[AssertionSpec, ...]) -> tuple[AssertionSpec, ...]:
    return tuple(a for a in asserts if a.base_type in COMPARISON_TYPES)


def max_score_winner(a: AssertionSpec, components: list[list[tuple[str, float]]]) -> int | None:
    """The index of the case with the highest aggregate of its other assertions' scores (weights by
    assertion type, `average` or `sum`; the first of equal ones), or None when it is under `threshold`."""
    value = a.value if isinstance(a.value, dict) else {}
    weights = value.get("weights") or {}
    totals = []
    for parts in components:
        weighted = sum(score * weights.get(kind, 1) for kind, score in parts)
        weight = sum(weights.get(kind, 1) for kind, _ in parts)
        totals.append(weighted if value.get("method") == "sum" else (weighted / weight if weight else 0.0))
    best = max(range(len(totals)), key=lambda i: (totals[i], -i))
    threshold = value.get("threshold")
    return None if threshold is not None and totals[best] < threshold else best


def _error(a: AssertionSpec, message: str, kind: CheckError = CheckError.ASSERTION) -> Compared:
    return Compared(False, error=str(SourceError(a.file or "suite", f"{a.type}: {message}", a.line)), error_kind=kind)


async def compare(
    cases: list[CaseInput], results: list[dict | None], grader: SelectGrader, cache: ResultCache,
) -> list[Compared | None]:
    """Each case's verdict of its test's comparison assertions, given every case's result on this side
    (None: the case has no result; it keeps its own error or skip). Cases in the order of the suite."""
    ran = [i for i, r in enumerate(results) if r is not None]
    out: list[Compared | None] = [None] * len(cases)
    for a in comparison(cases[0].asserts):
        if a.negated:
            verdicts = [_error(a, f"{a.base_type} has no not- form")] * len(cases)
        elif len(ran) < 2:
            verdicts = [_error(a, f"needs at least two outputs of this test to compare (prompts × providers); {len(ran)} ran")] * len(cases)
        else:
            verdicts = await _decide(a, cases, results, ran, grader, cache)
        out = [_merge(o, v) if results[i] is not None else o for i, (o, v) in enumerate(zip(out, verdicts))]
    return out


async def _decide(a: AssertionSpec, cases: list[CaseInput], results: list[dict | None], ran: list[int],
                  grader: SelectGrader, cache: ResultCache) -> list[Compared]:
    winner: int | None
    if a.base_type == "max-score":
        parts = [[(str(k), float(s)) for k, s in (results[i] or {}).get("components", ())] for i in ran]
        if not all(parts):
            return [_error(a, "needs at least one other assertion in the test to score the outputs")] * len(cases)
        pick = max_score_winner(a, parts)
        winner = None if pick is None else ran[pick]
    else:
        test = cases[0].test
        if a.rubric_prompt is not None or test.rubric_prompt is not None:
            return [_error(a, "unsupported: a rubricPrompt for select-best (it would list the outputs with a loop); remove it")] * len(cases)
        spec = a.grader or test.grader or DEFAULT_GRADER
        outputs = [str((results[i] or {}).get("output", "")) for i in ran]
        key = digest({"v": 1, "select-best": a.fingerprint(), "grader": spec.fingerprint(), "outputs": outputs})
        hit = cache.get(key)
        if hit is not None and isinstance(hit.get("winner"), int) and 0 <= hit["winner"] < len(outputs):
            pick = hit["winner"]
        else:
            try:
                pick = await grader.select_best(spec, "" if a.value is None else str(a.value), outputs)
            except ProviderError as exc:
                return [_error(a, str(exc), exc.kind)] * len(cases)
            except (BudgetExhausted, Cancelled) as exc:  # the grader was not asked: not a verdict
                return [_error(a, f"not compared: {exc or 'cancelled'}", CheckError.OTHER)] * len(cases)
            cache.put(key, {"winner": pick})
        winner = ran[pick]
    return [Compared(True) if i == winner else Compared(False, (a.describe(),)) for i in range(len(cases))]


def _merge(before: Compared | None, new: Compared) -> Compared:
    if before is None:
        return new
    if before.error:
        return before
    if new.error:
        return new
    return Compared(before.passed and new.passed, before.failed + new.failed)
