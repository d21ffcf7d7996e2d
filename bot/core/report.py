"""What an eval run reports: per-case results, per-suite summaries, the verdict. Pure data, so the
review result, the renderers and stored snapshots can name these types without the engine."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.core.compare import CaseStatus, ErrorCause, SideResult, Verdict
from bot.core.errors import SourceError


@dataclass(frozen=True)
class CaseResult:
    key: str  # stable id: suite path + test identity + prompt label + provider
    suite: str
    description: str
    vars: Mapping[str, Any]
    prompt_label: str
    provider_id: str
    status: CaseStatus
    reasons: tuple[str, ...] = ()  # why it ran (or why it was skipped)
    flaky: bool = False
    metric: str | None = None
    tags: Mapping[str, Any] = field(default_factory=dict)  # the test's metadata
    base: SideResult | None = None
    head: SideResult | None = None
    # Checks loosened in this PR: what changed ("assertions changed", "case deleted", "suite deleted")
    # when the case passes on the head only because of that, or was deleted. Counts as a regression.
    loosened: str | None = None
    # The head's output judged by the base's checks (only when the PR changed this case's checks).
    head_under_base: SideResult | None = None


@dataclass(frozen=True)
class StatusCounts:
    regressed: int = 0
    fixed: int = 0
    still_failing: int = 0
    still_passing: int = 0
    new: int = 0
    removed: int = 0
    error: int = 0
    skipped: int = 0


@dataclass(frozen=True)
class PromptVariant:
    """A prompt file a suite runs on some of its models only (a provider's `prompts:` selects it): one
    per-model variant of the suite's prompt."""

    path: str
    models: tuple[str, ...]  # provider slots that run it


@dataclass(frozen=True)
class SuiteReport:
    path: str
    description: str
    cases: tuple[CaseResult, ...] = ()  # affected cases only (run, errored or skipped)
    counts: StatusCounts = StatusCounts()
    unaffected: int = 0  # cases whose inputs are identical on both sides: not run
    pass_rate_base: float | None = None  # over the cases that ran on both sides
    pass_rate_head: float | None = None  # over the cases that ran on the head
    p_value: float | None = None  # exact McNemar over paired cases
    interval: tuple[float, float] | None = None  # bootstrap CI of the pass-rate change (head − base)
    skipped_reason: str | None = None  # e.g. 'nothing this suite depends on changed'
    notes: tuple[str, ...] = ()
    variants: tuple[PromptVariant, ...] = ()  # the head suite's prompt files and their models, when providers select prompts


@dataclass(frozen=True)
class Dependency:
    """A file a suite's cases depend on (on the base or the head), and why — what is under review."""

    path: str
    suite: str
    why: str  # "suite", "prompt", "included by a prompt", "test data", "var file"

    @property
    def reason(self) -> str:
        """How the comment and check-config say why the file is under review: "prompt of evals/x.yaml"."""
        return "suite" if self.why == "suite" else f"{self.why} of {self.suite}"


@dataclass(frozen=True)
class EvalStats:
    model_calls: int = 0  # HTTP requests sent, retries and grader calls included
    cache_hits: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    cases_run: int = 0  # affected cases with at least one side evaluated
    cases_skipped: int = 0  # affected cases not run (formatting-only, budget, cancelled)
    cases_unaffected: int = 0
    wall_s: float = 0.0
    unpriced_models: tuple[str, ...] = ()  # models missing from the price table (cost counted as 0)
    explain_calls: int = 0  # of model_calls, those the ablation made to find causes


@dataclass(frozen=True)
class EvalReport:
    suites: tuple[SuiteReport, ...]
    errors: tuple[SourceError, ...]
    stats: EvalStats
    verdict: Verdict
    budget_exhausted: str | None = None
    cancelled: bool = False
    dependencies: tuple[Dependency, ...] = ()
    error_causes: tuple[ErrorCause, ...] = ()
    # what the head's suites say that changes nothing (a top-level key promptfoo ignores): shown, never deciding
    warnings: tuple[SourceError, ...] = ()

    def cases(self, status: CaseStatus | None = None) -> list[CaseResult]:
        return [c for s in self.suites for c in s.cases if status is None or c.status is status]
