"""Run the affected cases of every suite on base and head and compare them (work in progress)."""

from __future__ import annotations

from collections.abc import Callable

from bot.evals.cache import ResultCache
from bot.evals.types import EvalReport, EvalRequest


async def run_evals(
    request: EvalRequest,
    cache: ResultCache,
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> EvalReport:
    raise NotImplementedError("eval runner: being built (issue #4)")
