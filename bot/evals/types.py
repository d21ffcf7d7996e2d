"""Public request/report types of the eval engine; the service, CLI and templates read these."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.core.compare import CaseStatus, ErrorCause, SideResult, Verdict
from bot.core.config import EvalsConfig, LimitsConfig
from bot.core.files import FileTree
from bot.core.report import CaseResult, Dependency, EvalReport, EvalStats, StatusCounts, SuiteReport
from bot.evals.loaded import LoadedSuites


@dataclass(frozen=True)
class EvalRequest:
    base: FileTree
    head: FileTree
    config: EvalsConfig = field(default_factory=EvalsConfig)
    # Suite file paths; None = every promptfooconfig.y(a)ml in the head tree and the base tree.
    suites: list[str] | None = None
    # Prompt paths whose change is formatting-only: cases affected only by those are skipped.
    formatting_only: frozenset[str] = frozenset()
    # Model credentials and base URLs; the library never reads os.environ.
    env: Mapping[str, str] = field(default_factory=dict)
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    # The PR comes from a branch of this repository (False for a fork): the PR's own suite code may then run
    # when the base config's evals.run_pr_code allows it; a fork's never (docs/sandbox.md).
    same_repo: bool = True
    # The review's parsed suites, shared with what-is-under-review and the explanation (None: parse here).
    loaded: LoadedSuites | None = None

__all__ = [
    "EvalRequest",
    "CaseResult",
    "StatusCounts",
    "SuiteReport",
    "Dependency",
    "ErrorCause",
    "EvalStats",
    "EvalReport",
    "CaseStatus",
    "SideResult",
    "Verdict",
]
