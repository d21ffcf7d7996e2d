"""The rollout guard's decisions: compare a rollout's two arms on error rate, latency and every score
the app reports, and say abort, advance or wait — with the words of why. Pure: moments in, a decision out.

The test is the mixture sequential probability ratio test (mSPRT) of Johari, Pekelis & Walsh, "Always
Valid Inference" (2017), on the difference of the arms' means with a normal approximation: its p-value
stays valid however often the guard looks, so checking every tick does not inflate false aborts. The
mixing distribution is N(0, τ²) with τ = `tau` × the pooled per-call standard deviation of the metric.
Several metrics are watched at once; each is tested at alpha / (number of metrics) (Bonferroni), so the
chance of aborting an arm that is no worse stays below `alpha` overall.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum

ERROR_RATE = "error_rate"
LATENCY = "latency_ms"


class Direction(str, Enum):
    """Which way a metric gets better: what "significantly worse" means for it."""

    LOWER = "lower"  # lower is better: the candidate is worse when its mean is higher
    HIGHER = "higher"


# error rate and latency are lower-is-better; every score the app reports is higher-is-better unless the
# repo config says otherwise (`rollout.scores: {hallucinations: lower}`)
DEFAULT_DIRECTIONS: Mapping[str, Direction] = {ERROR_RATE: Direction.LOWER, LATENCY: Direction.LOWER}


def direction_of(name: str, directions: Mapping[str, Direction] | None = None) -> Direction:
    return (directions or {}).get(name) or DEFAULT_DIRECTIONS.get(name, Direction.HIGHER)


@dataclass(frozen=True)
class Moments:
    """Count, sum and sum of squares of one metric in one arm (what rollups keep)."""

    n: int = 0
    sum: float = 0.0
    sumsq: float = 0.0

    @property
    def mean(self) -> float:
        return self.sum / self.n if self.n else 0.0

    @property
    def variance(self) -> float:
        if self.n < 2:
            return 0.0
        return max(0.0, (self.sumsq - self.sum * self.sum / self.n) / (self.n - 1))

    def __add__(self, other: Moments) -> Moments:
        return Moments(self.n + other.n, self.sum + other.sum, self.sumsq + other.sumsq)


@dataclass(frozen=True)
class ArmStats:
    """One arm's traffic since the rollout started: calls, errors, latency and scores."""

    calls: int = 0
    errors: int = 0
    latency: Moments = Moments()
    scores: Mapping[str, Moments] = field(default_factory=dict)

    def metrics(self) -> dict[str, Moments]:
        # an error is a 0/1 observation per call, so its sum of squares is its sum
        out = {ERROR_RATE: Moments(self.calls, float(self.errors), float(self.errors)), LATENCY: self.latency}
        out.update(self.scores)
        return out


@dataclass(frozen=True)
class GuardPolicy:
    alpha: float = 0.05  # the chance of aborting a rollout whose candidate is no worse, over its whole life
    min_per_arm: int = 200  # calls (or scores) per arm before a metric can decide anything
    tau: float = 0.2  # mixing scale of the mSPRT, in pooled standard deviations (the effect size it is tuned for)


class Action(str, Enum):
    WAIT = "wait"  # nothing significant yet, or the step's interval has not elapsed
    ADVANCE = "advance"  # the interval elapsed with enough traffic and no arm significantly worse
    ABORT = "abort"  # the candidate is significantly worse on some metric


@dataclass(frozen=True)
class MetricResult:
    name: str
    control: float  # mean of the control arm
    candidate: float
    n_control: int
    n_candidate: int
    p_value: float  # always-valid (running minimum over the guard's looks)
    worse: bool  # significantly worse for the candidate
    ready: bool  # both arms reached the minimum sample
    direction: Direction = Direction.HIGHER


@dataclass(frozen=True)
class GuardDecision:
    action: Action
    metrics: tuple[MetricResult, ...]
    reason: str

    def p_values(self) -> dict[str, float]:
        return {m.name: m.p_value for m in self.metrics}


def msprt_p_value(control: Moments, candidate: Moments, tau: float) -> float:
    """The mSPRT p-value (1 / likelihood ratio, capped at 1) for "the means differ", at this look."""
    if control.n < 2 or candidate.n < 2:
        return 1.0
    pooled = ((control.n - 1) * control.variance + (candidate.n - 1) * candidate.variance) / (control.n + candidate.n - 2)
    if pooled <= 0.0:
        pooled = 1e-12  # identical constant arms: a difference of means is then all the evidence there is
    v = control.variance / control.n + candidate.variance / candidate.n
    v = max(v, pooled * (1 / control.n + 1 / candidate.n) * 1e-6)
    t2 = (tau * tau) * pooled
    delta = candidate.mean - control.mean
    log_lr = 0.5 * math.log(v / (v + t2)) + (delta * delta * t2) / (2 * v * (v + t2))
    return 1.0 if log_lr <= 0 else max(0.0, math.exp(-log_lr))


def evaluate(control: ArmStats, candidate: ArmStats, policy: GuardPolicy = GuardPolicy(),
             prior_p: Mapping[str, float] | None = None, step_due: bool = False,
             directions: Mapping[str, Direction] | None = None) -> GuardDecision:
    """Abort as soon as any metric is significantly worse for the candidate (at any look) — higher when
    the metric's direction is lower-is-better, lower otherwise (`direction_of`); advance when the step is
    due and both arms have the minimum number of calls; otherwise wait."""
    prior_p = prior_p or {}
    a, b = control.metrics(), candidate.metrics()
    names = [n for n in sorted(set(a) | set(b)) if a.get(n, Moments()).n or b.get(n, Moments()).n]
    level = policy.alpha / max(1, len(names))
    results = []
    for name in names:
        ma, mb = a.get(name, Moments()), b.get(name, Moments())
        ready = min(ma.n, mb.n) >= policy.min_per_arm
        p = min(prior_p.get(name, 1.0), msprt_p_value(ma, mb, policy.tau)) if ready else prior_p.get(name, 1.0)
        delta = mb.mean - ma.mean
        direction = direction_of(name, directions)
        worse_direction = delta > 0 if direction is Direction.LOWER else delta < 0
        results.append(MetricResult(name, ma.mean, mb.mean, ma.n, mb.n, p, ready and worse_direction and p <= level, ready,
                                    direction))
    worse = [r for r in results if r.worse]
    if worse:
        return GuardDecision(Action.ABORT, tuple(results), "; ".join(describe(r) for r in worse))
    calls = min(control.calls, candidate.calls)
    if not step_due:
        return GuardDecision(Action.WAIT, tuple(results), f"watching: {calls:,} calls per arm, no metric significantly worse")
    if calls < policy.min_per_arm:
        return GuardDecision(Action.WAIT, tuple(results),
                             f"step due but only {calls:,} calls per arm (minimum {policy.min_per_arm:,})")
    checked = ", ".join(f"{r.name} {_num(r.control)} → {_num(r.candidate)}" for r in results if r.ready)
    return GuardDecision(Action.ADVANCE, tuple(results), f"no metric significantly worse after {calls:,} calls per arm ({checked})")


def describe(r: MetricResult) -> str:
    """ "task_success 0.81 → 0.74, p = 0.002 after 4,100 calls per arm"; a direction the repo config set
    against the default is named: "hallucinated 0.04 → 0.09 (lower is better), p = …" """
    configured = f" ({r.direction.value} is better)" if r.direction is not direction_of(r.name) else ""
    return (f"{r.name} {_num(r.control)} → {_num(r.candidate)}{configured}, p = {_p(r.p_value)} "
            f"after {min(r.n_control, r.n_candidate):,} calls per arm")


def _num(x: float) -> str:
    return f"{x:.3g}" if abs(x) < 1000 else f"{x:,.0f}"


def _p(p: float) -> str:
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def next_percent(steps: Sequence[float], current: float) -> float | None:
    """The step after `current` (None: the rollout is at its last step)."""
    later = [s for s in steps if s > current]
    return min(later) if later else None


def parse_steps(text: str) -> tuple[float, ...]:
    """`10,25,50,100` → (10, 25, 50, 100): increasing percentages in (0, 100], ending at 100."""
    try:
        steps = tuple(float(s) for s in text.split(",") if s.strip())
    except ValueError:
        raise ValueError(f"steps must be percentages separated by commas, like 10,25,50,100 (got {text!r})") from None
    if not steps or any(not 0 < s <= 100 for s in steps) or list(steps) != sorted(set(steps)):
        raise ValueError(f"steps must be increasing percentages in (0, 100], like 10,25,50,100 (got {text!r})")
    return steps if steps[-1] == 100 else (*steps, 100.0)


def parse_interval(text: str) -> float:
    """`90s`, `15m`, `1h`, `2d` (or plain seconds) → seconds."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    t = text.strip().lower()
    try:
        seconds = float(t[:-1]) * units[t[-1]] if t and t[-1] in units else float(t)
    except ValueError:
        raise ValueError(f"interval must look like 90s, 15m, 1h or 2d (got {text!r})") from None
    if seconds <= 0:
        raise ValueError(f"interval must be positive (got {text!r})")
    return seconds
