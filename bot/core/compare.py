"""Base-vs-head comparison of eval results: per-case status, flakiness, paired statistics
(exact McNemar, bootstrap interval) and the blocking verdict. Pure: plain values in and out.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Literal

from bot.core.config import EvalsConfig
from bot.core.errors import CheckError


class CaseStatus(str, Enum):
    REGRESSED = "regressed"
    FIXED = "fixed"
    STILL_FAILING = "still_failing"
    STILL_PASSING = "still_passing"
    NEW = "new"
    REMOVED = "removed"
    ERROR = "error"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class SideResult:
    """One side (base or head) of one case, over `runs` repeats."""

    passed: bool
    score: float
    output: str
    failed_assertions: tuple[str, ...] = ()
    error: str | None = None
    error_kind: CheckError | None = None  # why the side could not be checked (typed; `error` is its words)
    runs: int = 1
    passes: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    cached: bool = False
    # What the provider said answered (`model`, `system_fingerprint`), first run; None when it did not say.
    reported_model: str | None = None
    system_fingerprint: str | None = None

    @property
    def flaky(self) -> bool:
        """The verdict differed across repeats."""
        return self.error is None and 0 < self.passes < self.runs


def side_passed(passes: int, runs: int) -> bool:
    """A side passes when a strict majority of its repeats passed (one run: that run)."""
    return runs > 0 and passes * 2 > runs


def compare_case(base: SideResult | None, head: SideResult | None) -> CaseStatus:
    """The status of one case from its two sides; an error on either side is never a regression."""
    if base is None and head is None:
        return CaseStatus.SKIPPED
    if base is None:
        return CaseStatus.ERROR if head is not None and head.error else CaseStatus.NEW
    if head is None:
        return CaseStatus.REMOVED
    if base.error or head.error:
        return CaseStatus.ERROR
    if base.passed and not head.passed:
        return CaseStatus.REGRESSED
    if not base.passed and head.passed:
        return CaseStatus.FIXED
    return CaseStatus.STILL_PASSING if head.passed else CaseStatus.STILL_FAILING


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value for discordant pairs b (pass→fail) and c (fail→pass).

    Under the null each discordant pair is a fair coin: p = min(1, 2·P(X ≤ min(b, c))), X ~ Bin(b+c, ½).
    """
    n = b + c
    if n == 0:
        return 1.0
    k = min(b, c)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2**n
    return min(1.0, 2 * tail)


def bootstrap_interval(
    pairs: Sequence[tuple[bool, bool]],
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> tuple[float, float] | None:
    """Percentile bootstrap interval of the paired pass-rate change (head − base).

    Seeded so that the same results always give the same interval in a comment.
    """
    n = len(pairs)
    if n == 0:
        return None
    diffs = [int(h) - int(b) for b, h in pairs]
    rng = random.Random(seed)
    means = sorted(sum(rng.choices(diffs, k=n)) / n for _ in range(resamples))
    alpha = (1 - confidence) / 2
    lo = means[max(0, math.floor(alpha * resamples))]
    hi = means[min(resamples - 1, math.ceil((1 - alpha) * resamples) - 1)]
    return (lo, hi)


@dataclass(frozen=True)
class Tally:
    """What the verdict needs from a set of compared cases (one suite, or all of them)."""

    regressed: int = 0
    regressed_flaky: int = 0
    fixed: int = 0
    still_passing: int = 0
    still_failing: int = 0
    new_passing: int = 0
    new_failing: int = 0
    removed: int = 0
    errors: int = 0
    skipped: int = 0
    loosened: int = 0  # passing only because the PR loosened or deleted its checks (see CaseResult.loosened)

    @property
    def counted_regressions(self) -> int:
        """Regressions that block by themselves: consistent ones (not flaky), and loosened checks."""
        return self.regressed - self.regressed_flaky + self.loosened

    @property
    def attempted(self) -> int:
        """Affected cases that should have been checked: those that ran plus those that errored."""
        return self.paired + self.new_passing + self.new_failing + self.errors

    @property
    def paired(self) -> int:
        return self.regressed + self.fixed + self.still_passing + self.still_failing

    @property
    def base_passes(self) -> int:
        return self.regressed + self.still_passing

    @property
    def head_passes(self) -> int:
        return self.fixed + self.still_passing + self.new_passing

    @property
    def head_total(self) -> int:
        return self.paired + self.new_passing + self.new_failing

    @property
    def pass_rate_base(self) -> float | None:
        return self.base_passes / self.paired if self.paired else None

    @property
    def pass_rate_head(self) -> float | None:
        return self.head_passes / self.head_total if self.head_total else None

    @property
    def p_value(self) -> float | None:
        return mcnemar_exact(self.regressed, self.fixed) if self.paired else None

    @property
    def head_failures(self) -> int:
        return self.regressed + self.still_failing + self.new_failing

    def __add__(self, other: "Tally") -> "Tally":
        return Tally(*(getattr(self, f) + getattr(other, f) for f in Tally.__dataclass_fields__))


def tally(cases: Sequence[tuple[CaseStatus, bool, SideResult | None] | tuple[CaseStatus, bool, SideResult | None, bool]]) -> Tally:
    """Count (status, flaky, head side[, loosened]) tuples."""
    counts = dict.fromkeys(Tally.__dataclass_fields__, 0)
    for status, flaky, head, *rest in cases:
        if rest and rest[0]:
            counts["loosened"] += 1
        if status is CaseStatus.NEW:
            counts["new_passing" if head is not None and head.passed else "new_failing"] += 1
            continue
        counts[{CaseStatus.ERROR: "errors", CaseStatus.SKIPPED: "skipped"}.get(status, status.value)] += 1
        if status is CaseStatus.REGRESSED and flaky:
            counts["regressed_flaky"] += 1
    return Tally(**counts)


class Block(str, Enum):
    """Why a verdict blocks: the conclusion is decided on these, never on the headline's words."""

    REGRESSIONS = "regressions"
    LOOSENED = "loosened_checks"
    FAILING = "failing_cases"
    PASS_RATE = "pass_rate"
    SUITE_ERRORS = "suite_errors"
    COULD_NOT_CHECK = "could_not_check"


@dataclass(frozen=True)
class ErrorCause:
    """Cases of one kind that could not be checked, with one example message (the first seen)."""

    kind: CheckError
    count: int
    example: str


@dataclass(frozen=True)
class Verdict:
    blocking: bool
    conclusion: Literal["success", "failure", "neutral"]
    headline: str
    blocks: tuple[Block, ...] = ()
    # Set when too many cases could not be checked: the cause once, in plain words, with the fix.
    could_not_check: str | None = None
    # Models (provider slots) whose own cases block by the regression rule: each needs its own acceptance.
    blocked_models: tuple[str, ...] = ()


_FIX = {
    CheckError.MISSING_CREDENTIALS: "Set it in the service environment, or in CI.",
    CheckError.BAD_CREDENTIALS: "Fix the key in the service environment, or in CI.",
    CheckError.RATE_LIMITED: "The provider kept rate-limiting (HTTP 429); re-run the check later or lower evals.concurrency.",
    CheckError.PROVIDER_DOWN: "The model provider is unavailable; re-run the check when it is back.",
    CheckError.TIMEOUT: "Model calls passed evals.timeout_s; raise it or re-run the check.",
    CheckError.RESPONSE_TOO_LARGE: "Answers passed limits.max_response_bytes; lower max_tokens or raise the limit.",
    CheckError.URL_REFUSED: "Requests may go only where the base branch's config or the operator allows.",
    CheckError.REGEX_BUDGET: "Regex assertions ran out of time; rewrite the slow patterns or raise evals.regex_budget_s.",
    CheckError.RENDER: "Fix the templates named in the case errors.",
}


def could_not_check_sentence(causes: Sequence[ErrorCause], attempted: int) -> str:
    """'OPENAI_API_KEY is not set: 120 of 120 cases could not run. Set it in …' — the main cause first."""
    main = max(causes, key=lambda c: c.count)
    total = sum(c.count for c in causes)
    text = f"{main.example}: {total} of {attempted} cases could not run"
    if len(causes) > 1:
        text += f" ({main.count} for this reason)"
    fix = _FIX.get(main.kind)
    return f"{text}. {fix}" if fix else f"{text}."


def _pct(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def _p(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def decide_verdict(
    total: Tally,
    suite_pass_rates: Sequence[float | None],
    policy: EvalsConfig,
    *,
    config_errors: int = 0,
    budget_note: str | None = None,
    cancelled: bool = False,
    error_causes: Sequence[ErrorCause] = (),
    per_model: Mapping[str, Tally] | None = None,
) -> Verdict:
    """Apply the repo's `evals` policy to the compared cases of all suites.

    - `fail_on: regression` blocks when consistent regressions (not flaky: every repeat agreed, or
      one repeat) plus loosened checks exceed `max_regressions`. Flaky regressions alone block only
      when the paired pass-rate change is significant (exact McNemar p < `significance`); otherwise
      they are reported, neutral. Significance backs a claim about noise; it never waves through a
      case that failed on every run.
    - `fail_on: any_failure` blocks when any case failed on the head, or checks were loosened.
    - `min_pass_rate` blocks when any suite's head pass rate is below it.
    - Errored cases never pass: above `max_error_rate` (share of affected cases) the verdict blocks
      with the cause in plain words.
    - Suite config errors block (a broken suite must not pass silently) unless `fail_on: never`.
    - With `per_model` (the tallies of each model a suite runs on), the regression rule also applies
      to each model on its own: a model whose regressions block is named in `blocked_models`, and
      blocks even when other models' fixes would dilute the pooled statistics.
    """
    parts: list[str] = []
    ran = total.paired + total.new_passing + total.new_failing
    if total.regressed:
        flaky = f" ({total.regressed_flaky} flaky)" if total.regressed_flaky else ""
        parts.append(f"{total.regressed} of {ran} cases regressed{flaky}")
    elif ran:
        parts.append(f"no regressions in {ran} cases")
    if total.paired:
        rate = f"pass rate {_pct(total.pass_rate_base)} → {_pct(total.pass_rate_head)}"
        if total.regressed or total.fixed:
            rate += f" ({_p(total.p_value or 1.0)})"
        parts.append(rate)
    elif total.head_total:
        parts.append(f"pass rate {_pct(total.pass_rate_head)}")
    if total.loosened:
        parts.append(f"{total.loosened} with checks loosened")
    if total.errors:
        parts.append(f"{total.errors} could not be checked")
    if config_errors:
        parts.append(f"{config_errors} suite config error{'s' if config_errors != 1 else ''}")
    if budget_note:
        parts.append("stopped early: budget exhausted")
    if cancelled:
        parts.append("cancelled")
    if not parts:
        parts.append("no eval cases affected")

    reasons: list[Block] = []
    unsure = False
    could_not_check = None
    if policy.fail_on != "never":
        if config_errors:
            reasons.append(Block.SUITE_ERRORS)
        if total.errors and total.errors > policy.max_error_rate * total.attempted:
            reasons.append(Block.COULD_NOT_CHECK)
            causes = error_causes or (ErrorCause(CheckError.OTHER, total.errors, "errors"),)
            could_not_check = could_not_check_sentence(causes, total.attempted)
        if policy.fail_on == "regression":
            p = total.p_value if total.p_value is not None else 1.0
            if total.counted_regressions > policy.max_regressions:
                reasons.append(Block.REGRESSIONS)
            elif total.regressed_flaky and total.regressed > policy.max_regressions:
                if p < policy.significance:
                    reasons.append(Block.REGRESSIONS)
                else:
                    unsure = True
                    parts.append(f"flaky regressions not significant at {policy.significance:g}")
        if policy.fail_on == "any_failure" and (total.head_failures or total.loosened):
            reasons.append(Block.FAILING if total.head_failures else Block.LOOSENED)
        if policy.min_pass_rate is not None and any(
            r is not None and r < policy.min_pass_rate for r in suite_pass_rates
        ):
            reasons.append(Block.PASS_RATE)
            parts.append(f"below min pass rate {_pct(policy.min_pass_rate)}")
    blocked_models: tuple[str, ...] = ()
    if policy.fail_on == "regression" and per_model:
        blocked_models = tuple(m for m, t in sorted(per_model.items()) if model_blocks(t, policy))
        if blocked_models and Block.REGRESSIONS not in reasons:
            reasons.append(Block.REGRESSIONS)
            unsure = False
        if len(per_model) > 1 and blocked_models:
            parts.append(f"blocking on {', '.join(blocked_models)}")
    blocking = bool(reasons)
    conclusion: Literal["success", "failure", "neutral"]
    if blocking:
        conclusion = "failure"
    elif unsure or budget_note or cancelled or total.errors or total.regressed:
        conclusion = "neutral"
    else:
        conclusion = "success"
    headline = " · ".join(parts)
    return Verdict(blocking=blocking, conclusion=conclusion, headline=headline, blocks=tuple(reasons),
                   could_not_check=could_not_check, blocked_models=blocked_models)


def model_blocks(t: Tally, policy: EvalsConfig) -> bool:
    """The regression rule of `decide_verdict` on one model's cases alone."""
    if t.counted_regressions > policy.max_regressions:
        return True
    p = t.p_value if t.p_value is not None else 1.0
    return bool(t.regressed_flaky and t.regressed > policy.max_regressions and p < policy.significance)


__all__ = [
    "CaseStatus",
    "SideResult",
    "side_passed",
    "compare_case",
    "mcnemar_exact",
    "bootstrap_interval",
    "Tally",
    "tally",
    "Verdict",
    "Block",
    "ErrorCause",
    "could_not_check_sentence",
    "decide_verdict",
    "model_blocks",
]
