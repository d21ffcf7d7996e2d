"""The eval engine: load promptfoo-format suites, run the cases a change affects on base and
head (bounded concurrency, retries, budget, cache), and compare them. See docs/suites.md.
"""

from bot.core.compare import CaseStatus, SideResult, Verdict
from bot.evals.cache import DiskCache, MemoryCache, NoCache, ResultCache
from bot.evals.runner import find_dependencies, run_evals
from bot.evals.types import CaseResult, EvalReport, EvalRequest, EvalStats, StatusCounts, SuiteReport

__all__ = [
    "run_evals",
    "find_dependencies",
    "EvalRequest",
    "EvalReport",
    "EvalStats",
    "SuiteReport",
    "StatusCounts",
    "CaseResult",
    "CaseStatus",
    "SideResult",
    "Verdict",
    "ResultCache",
    "MemoryCache",
    "DiskCache",
    "NoCache",
]
