"""One suite as a review reads it: its cases expanded (no model), or a whole eval run against the scripted
model server."""

from __future__ import annotations

import asyncio

from bot.core.files import MemoryTree
from bot.evals import EvalRequest, NoCache, run_evals
from bot.evals.loader import load_suite
from bot.evals.render import Renderer
from bot.evals.select import CaseInput, expand

PATH = "evals/promptfooconfig.yaml"


def review_suite(url: str, suite: str, head: str | None = None, cache=None):
    """A review that adds `suite` (every case new), or changes it into `head`."""
    env = {"OPENAI_BASE_URL": f"{url}/v1", "OPENAI_API_KEY": "test"}
    base, head = (MemoryTree({}), suite) if head is None else (MemoryTree({PATH: suite}), head)
    request = EvalRequest(base=base, head=MemoryTree({PATH: head}), suites=[PATH], env=env)
    return asyncio.run(run_evals(request, NoCache() if cache is None else cache))


def expanded_cases(suite: str) -> list[CaseInput]:
    """Every case of `suite` (at PATH) as the base branch's review expands it, in test then prompt order;
    the suite must load and render without an error."""
    tree = MemoryTree({PATH: suite})
    loaded, errors = load_suite(tree, PATH)
    assert errors == [], [str(e) for e in errors]
    cases, render_errors = expand(loaded, Renderer(tree))
    assert render_errors == []
    return sorted(cases.values(), key=lambda c: (c.test.index, c.prompt.label))
