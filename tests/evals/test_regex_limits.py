"""Suite regexes are bounded: a catastrophic pattern makes its case `error` naming the assertion,
never a pass, a fail or a hung worker; a pattern broken by a var value is an error too."""

from __future__ import annotations

import asyncio
import math

import pytest

from bot.core.config import EvalsConfig
from bot.core.files import MemoryTree
from bot.evals import CaseStatus, EvalRequest, MemoryCache, run_evals
from bot.evals.assertions import AssertionBroken, score_output
from bot.evals.patterns import RegexClock
from bot.evals.suite import AssertionSpec

HOSTILE = r"(a|aa)+$"  # overlapping alternatives: exponential backtracking on 'aaaa…!'
LONG_A = "a" * 60 + "!"


@pytest.mark.parametrize("kind", ["regex", "not-regex"])
def test_catastrophic_regex_is_stopped_and_reported_as_broken_not_pass_or_fail(kind):
    spec = AssertionSpec(kind, HOSTILE, file="evals/promptfooconfig.yaml", line=12)
    with pytest.raises(AssertionBroken) as caught:
        asyncio.run(score_output((spec,), None, LONG_A, regexes=RegexClock(0.05)))
    message = str(caught.value)
    assert message.startswith("evals/promptfooconfig.yaml:12: ")
    assert f"{kind} '(a|aa)+$' was stopped after 0.05 s" in message
    assert "neither pass nor fail" in message and "regex_timeout_s" in message


def test_same_pattern_still_decides_on_outputs_it_handles_quickly():
    spec = AssertionSpec("regex", HOSTILE)
    assert asyncio.run(score_output((spec,), None, "baa", regexes=RegexClock(0.05))).passed
    assert not asyncio.run(score_output((spec,), None, "bbb", regexes=RegexClock(0.05))).passed


def test_javascript_style_named_groups_and_unicode_properties_work_as_in_promptfoo():
    spec = AssertionSpec("regex", r"(?<year>\d{4})-\p{Lu}")
    assert asyncio.run(score_output((spec,), None, "order 2024-X shipped")).passed


SUITE = """\
prompts: ["{{ question }}"]
providers:
  - id: openai:chat:gpt-4o
    config: {apiBaseUrl: URL}
tests:
  - description: hostile regex
    vars: {question: QUESTION}
    assert:
      - type: contains
        value: Hello
      - type: regex
        value: '(a|aa)+$'
  - description: pattern broken by its var
    vars: {question: hi, part: "(unclosed"}
    assert:
      - type: regex
        value: 'You asked{{ part }}'
  - description: plain
    vars: {question: hi}
    assert:
      - type: regex
        value: 'You asked: hi$'
"""


def _run(url: str, question: str, cache: MemoryCache, env: dict[str, str]):
    suite = SUITE.replace("URL", url).replace("QUESTION", question)
    base = MemoryTree({})  # a new suite: every case runs on the head
    head = MemoryTree({"evals/promptfooconfig.yaml": suite})
    request = EvalRequest(base=base, head=head, config=EvalsConfig(regex_timeout_s=0.05), env=env)
    return asyncio.run(run_evals(request, cache))


def test_a_run_with_a_catastrophic_regex_finishes_and_that_case_is_an_error_naming_file_and_line(model_server, operator_env):
    url, _ = model_server
    cache = MemoryCache()
    report = _run(url, LONG_A, cache, operator_env)
    cases = {c.description: c for c in report.suites[0].cases}
    hostile = cases["hostile regex"]
    assert hostile.status is CaseStatus.ERROR
    assert hostile.head.error.startswith("evals/promptfooconfig.yaml:11: regex '(a|aa)+$' was stopped after 0.05 s")
    broken = cases["pattern broken by its var"]
    assert broken.status is CaseStatus.ERROR
    assert "evals/promptfooconfig.yaml:16" in broken.head.error and "not a valid regular expression" in broken.head.error
    assert "2 could not be checked" in report.verdict.headline
    assert [str(e) for e in report.errors] == [broken.head.error]  # like any template that cannot render
    assert len(cache) == 1  # only the plain case is cached; errors are retried next run


def test_the_suite_regexes_of_one_review_share_a_total_budget():
    """Many slow patterns cannot add up to cases × regex_timeout_s: once the review's regex time is
    spent, every further regex assertion — slow or not — is an error naming evals.regex_budget_s.

    Measured as bounds, not a race: a search stopped by its own limit took at least per_search_s, so
    at most ceil(budget / per_search) of them fit in the budget, whatever the machine's load; a
    search refused after the budget runs nothing (the clock does not move); and the total stays
    within an order of magnitude of the budget while 100 unbounded searches would take at least 5 s."""
    per_search, budget, searches = 0.05, 0.12, 100
    clock = RegexClock(per_search_s=per_search, budget_s=budget)
    hostile = AssertionSpec("regex", HOSTILE, file="evals/promptfooconfig.yaml", line=9)
    own_limit, over_budget = 0, 0
    for _ in range(searches):
        spent_before = clock.spent_s
        with pytest.raises(AssertionBroken) as caught:
            asyncio.run(score_output((hostile,), None, LONG_A, regexes=clock))
        message = str(caught.value)
        if "regex_budget_s" in message:
            assert "used up their 0.12 s together" in message, message
            over_budget += 1
            if spent_before >= budget:
                assert clock.spent_s == spent_before  # refused before running: no regex time spent
        else:
            assert "was stopped after 0.05 s" in message and "regex_timeout_s" in message, message
            assert over_budget == 0, "a search ran on its own limit after the budget was used up"
            own_limit += 1
    assert 1 <= own_limit <= math.ceil(budget / per_search), own_limit
    assert over_budget == searches - own_limit
    assert clock.spent_s < 10 * (budget + per_search) < searches * per_search, clock.spent_s
    harmless = AssertionSpec("regex", "^a", file="evals/promptfooconfig.yaml", line=14)
    with pytest.raises(AssertionBroken, match="evals/promptfooconfig.yaml:14: .*regex_budget_s"):
        asyncio.run(score_output((harmless,), None, "abc", regexes=clock))  # not a pass: it was never run


def test_a_review_of_many_catastrophic_regexes_stops_running_them_past_the_budget(model_server, operator_env):
    url, _ = model_server
    cases = "\n".join(
        f"  - description: hostile {i}\n    vars: {{question: {LONG_A}{i}}}\n    assert:\n"
        f"      - type: regex\n        value: '(a|aa)+$'" for i in range(30)
    )
    suite = f"prompts: [\"{{{{ question }}}}\"]\nproviders:\n  - id: openai:chat:gpt-4o\n    config: {{apiBaseUrl: {url}}}\ntests:\n{cases}\n"
    request = EvalRequest(base=MemoryTree({}), head=MemoryTree({"evals/promptfooconfig.yaml": suite}),
                          config=EvalsConfig(regex_timeout_s=0.05, regex_budget_s=0.2), env=operator_env)
    report = asyncio.run(run_evals(request, MemoryCache()))
    statuses = [c.status for c in report.suites[0].cases]
    assert statuses == [CaseStatus.ERROR] * 30
    over_budget = [c for c in report.suites[0].cases if "regex_budget_s" in c.head.error]
    assert len(over_budget) >= 30 - 5, [c.head.error[:80] for c in report.suites[0].cases]  # ≤ 0.2 / 0.05 + 1 ran
