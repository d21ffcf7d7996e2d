"""A whole eval run of one suite against the scripted model server, as a review runs it."""

from __future__ import annotations

import asyncio

from bot.core.files import MemoryTree
from bot.evals import EvalRequest, NoCache, run_evals

PATH = "evals/promptfooconfig.yaml"


def review_suite(url: str, suite: str, head: str | None = None, cache=None):
    """A review that adds `suite` (every case new), or changes it into `head`."""
    env = {"OPENAI_BASE_URL": f"{url}/v1", "OPENAI_API_KEY": "test"}
    base, head = (MemoryTree({}), suite) if head is None else (MemoryTree({PATH: suite}), head)
    request = EvalRequest(base=base, head=MemoryTree({PATH: head}), suites=[PATH], env=env)
    return asyncio.run(run_evals(request, NoCache() if cache is None else cache))
