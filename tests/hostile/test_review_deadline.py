"""Many slow cases cannot add up: every model call of one review's eval run shares one deadline
(`evals.total_timeout_s`). Past it the calls in flight are stopped and the rest are not started; the
report says the review could not check them and why — over real HTTP, the scripted model dripping."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from bot.core.config import EvalsConfig
from bot.core.files import MemoryTree
from bot.evals import CaseStatus, EvalRequest, MemoryCache, run_evals
from bot.modelserver import create_app
from bot.serving import start_in_thread

SUITE = """\
prompts: ["{{ q }}"]
providers: [openai:chat:gpt-4o]
tests:
""" + "".join(f"  - vars: {{q: question {i}}}\n    assert: [{{type: contains, value: Hello}}]\n" for i in range(12))


@pytest.fixture
def dripping():
    with start_in_thread(create_app()) as server:
        # Every answer takes ~100 s (5,000 bytes, one per 20 ms) and never stalls long enough for a read timeout.
        httpx.post(f"{server.url}/_control/faults", json={"drip_ms": 20, "pad_bytes": 5000, "count": 1000}).raise_for_status()
        yield server.url


def _review(url: str, config: EvalsConfig):
    env = {"OPENAI_BASE_URL": f"{url}/v1", "OPENAI_API_KEY": "sk-test"}
    request = EvalRequest(MemoryTree({}), MemoryTree({"promptfooconfig.yaml": SUITE}), config, env=env)
    started = time.monotonic()
    report = asyncio.run(run_evals(request, MemoryCache()))
    return report, time.monotonic() - started


def test_twelve_dripping_cases_end_at_the_review_deadline_as_could_not_check(dripping):
    # Each call alone may take 30 s (3 x 30 s with retries); 12 cases, 2 at a time, would hold the review ~30 min.
    report, elapsed = _review(dripping, EvalsConfig(timeout_s=30, concurrency=2, total_timeout_s=2))
    assert elapsed < 60  # the deadline is 2 s: 30x slack, far below the 30 s of a single call
    cases = report.cases()
    assert len(cases) == 12 and all(c.status is CaseStatus.SKIPPED for c in cases)
    assert "evals.total_timeout_s" in (report.budget_exhausted or "")
    assert any("deadline of 2 s (evals.total_timeout_s)" in r for r in cases[0].reasons)
    assert report.verdict.conclusion != "success"


def test_the_review_deadline_defaults_below_the_services_job_deadline():
    from bot.settings import Settings

    assert EvalsConfig().total_timeout_s < Settings.model_fields["job_timeout_seconds"].default
