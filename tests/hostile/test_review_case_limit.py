"""limits.max_cases bounds the cases of one whole review, counted before any model call: several
suites each under the limit cannot add up to thousands of paid calls."""

from __future__ import annotations

import asyncio

from bot.core.config import EvalsConfig, LimitsConfig
from bot.core.files import MemoryTree
from bot.evals import EvalRequest, MemoryCache, run_evals


def _suite(n: int) -> str:
    tests = "".join(f"  - vars: {{q: 'question {i}'}}\n    assert: [{{type: contains, value: x}}]\n" for i in range(n))
    return f"prompts: [file://../prompts/p.txt]\nproviders: [openai:chat:gpt-4o]\ntests:\n{tests}"


def test_the_cases_of_all_suites_together_are_bounded_before_anything_runs():
    base = {"prompts/p.txt": "Answer {{ q }}", "a/promptfooconfig.yaml": _suite(3), "b/promptfooconfig.yaml": _suite(3)}
    head = {**base, "prompts/p.txt": "Answer briefly: {{ q }}"}
    env = {"OPENAI_BASE_URL": "http://127.0.0.1:9/v1"}  # never reached: nothing may be called
    request = EvalRequest(MemoryTree(base), MemoryTree(head), EvalsConfig(), env=env, limits=LimitsConfig(max_cases=4))
    report = asyncio.run(run_evals(request, MemoryCache()))
    (error,) = report.errors
    assert error.field == "limits.max_cases" and "6 affected cases" in error.message and "Raise `limits.max_cases`" in error.message
    assert report.stats.model_calls == 0 and report.verdict.blocking
    # At the limit, the same change runs.
    ok = asyncio.run(run_evals(EvalRequest(MemoryTree(base), MemoryTree(head), EvalsConfig(), env=env,
                                           limits=LimitsConfig(max_cases=6)), MemoryCache()))
    assert not ok.errors and ok.stats.cases_run == 6
