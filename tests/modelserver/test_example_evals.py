"""The example suite through the real eval engine against the scripted server, over loopback HTTP."""

from __future__ import annotations

import asyncio

import httpx

from bot.core.files import MemoryTree
from bot.evals import CaseStatus, EvalRequest, MemoryCache, run_evals

from .conftest import example_files, example_tree, load_cases


def review(server: str, base: MemoryTree, head: MemoryTree, cache: MemoryCache | None = None):
    env = {"OPENAI_BASE_URL": f"{server}/v1", "OPENAI_API_KEY": "test-key"}
    return asyncio.run(run_evals(EvalRequest(base=base, head=head, env=env), cache or MemoryCache()))


def out_of_window_descriptions() -> set[str]:
    return {c["description"] for c in load_cases() if c["metadata"]["category"] == "refund_out_of_window"}


def test_friendlier_pull_regresses_exactly_the_out_of_window_refund_cases(server):
    report = review(server, example_tree(), example_tree("friendlier"))
    assert report.errors == ()
    (suite,) = report.suites
    assert suite.pass_rate_base == 1.0  # the base prompt passes every case
    regressed = {c.description for c in suite.cases if c.status is CaseStatus.REGRESSED}
    assert regressed == out_of_window_descriptions()
    assert suite.counts.regressed == 41 and suite.counts.still_passing == 259
    assert report.verdict.headline.startswith("41 of 300 cases regressed")


def test_reflow_pull_changes_no_verdict_and_no_answer(server):
    report = review(server, example_tree(), example_tree("reflow"))
    (suite,) = report.suites
    assert suite.counts.regressed == 0 and suite.pass_rate_head == 1.0
    assert all(c.base.output == c.head.output for c in suite.cases)


def test_model_upgrade_to_gpt_4_1_regresses_the_strict_json_cases(server):
    files = example_files()
    suite = "evals/support/promptfooconfig.yaml"
    head = dict(files, **{suite: files[suite].replace(b"openai:chat:gpt-4o-mini", b"openai:chat:gpt-4.1-mini")})
    report = review(server, MemoryTree(files), MemoryTree(head))
    regressed = {c.tags["category"] for c in report.cases(CaseStatus.REGRESSED)}
    assert regressed == {"json_format"} and len(report.cases(CaseStatus.REGRESSED)) == 20
    # Every case ran on both models; cases with the same question share one call per model.
    distinct_questions = len({c["vars"]["question"] for c in load_cases()})
    stats = httpx.get(f"{server}/_control/stats").json()
    assert stats["by_model"] == {"gpt-4o-mini": distinct_questions, "gpt-4.1-mini": distinct_questions}
    assert stats["repeated_prompts"] == 0
