"""run_evals end to end against a loopback model server: regressions, cache, budget, retries."""

from __future__ import annotations

import asyncio

from bot.core.config import Budget, EvalsConfig
from bot.core.files import MemoryTree
from bot.evals import CaseStatus, DiskCache, EvalRequest, MemoryCache, run_evals

SYSTEM_STRICT = "You are a support agent. Refunds are only possible within 30 days of delivery.\n"
SYSTEM_FRIENDLY = "You are a warm, friendly support agent who always helps!\n"


def suite_yaml(base_url: str, model: str = "gpt-4o", extra_provider: str = "") -> str:
    return f"""\
description: support bot
prompts:
  - file://prompts/chat.json
providers:
  - id: openai:chat:{model}
    config:
      apiBaseUrl: {base_url}
      temperature: 0
{extra_provider}tests:
  - description: refund in window
    vars: {{question: "Can I get a refund for my shoes?"}}
    assert:
      - type: icontains
        value: 30 days
  - description: refund for a broken kettle
    vars: {{question: "I want a refund, the kettle broke"}}
    assert:
      - type: icontains
        value: 30 days
  - description: greeting
    vars: {{question: "hi there"}}
    assert:
      - type: contains
        value: Hello
"""


def repo(base_url: str, system: str, **kw) -> MemoryTree:
    return MemoryTree({
        "evals/promptfooconfig.yaml": suite_yaml(base_url, **kw),
        "evals/prompts/chat.json": '[{"role": "system", "content": "{% include \'prompts/support/system.md\' %}"},'
                                   ' {"role": "user", "content": "{{ question }}"}]',
        "prompts/support/system.md": system,
    })


def run(base, head, cache=None, config=None, env=None, **kw):
    request = EvalRequest(base=base, head=head, config=config or EvalsConfig(), suites=None, env=env or {}, **kw)
    return asyncio.run(run_evals(request, cache if cache is not None else MemoryCache()))


def test_friendlier_prompt_regresses_exactly_the_refund_cases(model_server, operator_env):
    url, script = model_server
    report = run(repo(url, SYSTEM_STRICT), repo(url, SYSTEM_FRIENDLY), env=operator_env)
    (suite,) = report.suites
    regressed = sorted(c.description for c in suite.cases if c.status is CaseStatus.REGRESSED)
    assert regressed == ["refund for a broken kettle", "refund in window"]
    greeting = next(c for c in suite.cases if c.description == "greeting")
    assert greeting.status is CaseStatus.STILL_PASSING
    assert greeting.reasons == ("prompt prompts/support/system.md changed",)
    refund = next(c for c in suite.cases if c.description == "refund in window")
    assert refund.head.failed_assertions == ('icontains "30 days"',)
    assert "30 days" in refund.base.output
    assert (suite.pass_rate_base, round(suite.pass_rate_head, 3)) == (1.0, 0.333)
    assert report.verdict.headline.startswith("2 of 3 cases regressed")
    assert report.stats.model_calls == 6


def test_unchanged_suite_runs_nothing_and_says_so(model_server, operator_env):
    url, script = model_server
    tree = repo(url, SYSTEM_STRICT)
    report = run(tree, tree, env=operator_env)
    (suite,) = report.suites
    assert suite.skipped_reason == "nothing this suite depends on changed"
    assert suite.unaffected == 3 and suite.cases == ()
    assert script.calls == []
    assert report.verdict.conclusion == "success" and not report.verdict.blocking


def test_second_run_serves_the_base_side_from_the_cache(model_server, tmp_path, operator_env):
    url, script = model_server
    cache = DiskCache(tmp_path / "cache")
    base = repo(url, SYSTEM_STRICT)
    run(base, repo(url, SYSTEM_FRIENDLY), cache=cache, env=operator_env)
    script.reset()
    report = run(base, repo(url, SYSTEM_FRIENDLY + "Be brief.\n"), cache=cache, env=operator_env)
    base_prompts = [c for c in script.calls if "30 days" in c["body"]["messages"][0]["content"]]
    assert base_prompts == []  # zero base-side calls
    assert len(script.calls) == 3 and report.stats.cache_hits == 3
    assert all(c.base.cached for c in report.suites[0].cases)


def test_model_upgrade_revalidates_every_case_of_that_provider(model_server, operator_env):
    url, _ = model_server
    report = run(repo(url, SYSTEM_STRICT), repo(url, SYSTEM_STRICT, model="gpt-4.1"), env=operator_env)
    cases = report.suites[0].cases
    assert len(cases) == 3
    assert {c.reasons for c in cases} == {("provider openai:chat:gpt-4o config changed (model gpt-4o → gpt-4.1)",)}
    assert {c.status for c in cases} == {CaseStatus.STILL_PASSING}


def test_budget_stop_leaves_a_partial_report_without_regressions(model_server, operator_env):
    url, script = model_server
    config = EvalsConfig(concurrency=1, budget=Budget(max_calls=2))
    report = run(repo(url, SYSTEM_STRICT), repo(url, SYSTEM_FRIENDLY), config=config, env=operator_env)
    assert len(script.calls) == 2 and report.stats.model_calls == 2
    assert report.budget_exhausted == "budget exhausted: 2 model calls (max_calls 2)"
    statuses = [c.status for c in report.suites[0].cases]
    assert CaseStatus.SKIPPED in statuses
    skipped = [c for c in report.suites[0].cases if c.status is CaseStatus.SKIPPED]
    assert all("not run: budget exhausted" in c.reasons[-1] for c in skipped)
    # The one case that ran on both sides regressed on every run: seen is seen, even in a partial run.
    assert [c.status for c in report.suites[0].cases if c.status is not CaseStatus.SKIPPED] == [CaseStatus.REGRESSED]
    assert report.verdict.blocking


def test_rate_limited_call_waits_for_retry_after_then_succeeds(model_server, operator_env):
    url, script = model_server
    script.faults["gpt-4o"] = [(429, {"Retry-After": "1"})]
    config = EvalsConfig(concurrency=1)
    report = run(repo(url, SYSTEM_STRICT), repo(url, SYSTEM_STRICT + "Be brief.\n"), config=config, env=operator_env)
    first, second = script.calls[0], script.calls[1]
    assert second["t"] - first["t"] >= 0.95  # honoured the server's Retry-After
    assert all(c.status is CaseStatus.STILL_PASSING for c in report.suites[0].cases)
    assert report.stats.model_calls == 7  # 6 case runs + 1 retried call


def test_a_provider_that_keeps_failing_makes_the_case_error_not_regressed(model_server, operator_env):
    url, script = model_server
    script.faults["gpt-4o"] = [(503, {"Retry-After": "0"})] * 40
    report = run(repo(url, SYSTEM_STRICT), repo(url, SYSTEM_FRIENDLY), config=EvalsConfig(concurrency=2), env=operator_env)
    cases = report.suites[0].cases
    assert {c.status for c in cases} == {CaseStatus.ERROR}
    assert "HTTP 503" in (cases[0].base.error or cases[0].head.error)
    assert "gave up after 4 attempts" in (cases[0].base.error or cases[0].head.error)
    # Could not check is not passed: the verdict blocks and says why once.
    assert report.verdict.blocking and "3 of 3 cases could not run" in (report.verdict.could_not_check or "")


def test_progress_reports_every_run_and_cancel_stops_between_calls(model_server, operator_env):
    url, script = model_server
    seen: list[tuple[int, int]] = []
    request = EvalRequest(base=repo(url, SYSTEM_STRICT), head=repo(url, SYSTEM_FRIENDLY), config=EvalsConfig(concurrency=1), env=operator_env)
    report = asyncio.run(run_evals(request, MemoryCache(), progress=lambda d, t: seen.append((d, t)), cancelled=lambda: len(script.calls) >= 2))
    assert seen[0] == (0, 6) and seen[-1] == (6, 6)
    assert report.cancelled and len(script.calls) == 2


def test_credentials_are_only_sent_to_the_configured_server(model_server, operator_env):
    url, script = model_server
    env = {**operator_env, "OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": url}
    request = EvalRequest(base=repo(url, SYSTEM_STRICT), head=repo(url, SYSTEM_FRIENDLY), env=env)
    asyncio.run(run_evals(request, MemoryCache()))
    assert {c["auth"] for c in script.calls} == {"Bearer sk-test"}
    script.reset()
    other = url.replace("127.0.0.1", "localhost")  # same server, but not the origin the key is for
    request = EvalRequest(base=repo(other, SYSTEM_STRICT), head=repo(other, SYSTEM_FRIENDLY), env=env)
    asyncio.run(run_evals(request, MemoryCache()))
    assert script.calls and {c["auth"] for c in script.calls} == {None}


def test_repeats_flag_a_case_whose_verdict_varies_as_flaky_and_it_does_not_block(model_server, operator_env):
    url, script = model_server
    config = EvalsConfig(repeats=3, concurrency=1)
    report = run(repo(url, SYSTEM_STRICT), repo(url, SYSTEM_STRICT, model="coin-1"), config=config, env=operator_env)
    greeting = next(c for c in report.suites[0].cases if c.description == "greeting")
    assert greeting.flaky and (greeting.head.runs, greeting.head.passes) == (3, 2)
    assert greeting.base.passes == 3 and not greeting.base.flaky
    assert report.stats.model_calls == 18


def test_anthropic_provider_and_llm_rubric_grader(model_server, operator_env):
    url, script = model_server
    server = url.removesuffix("/v1")
    suite = f"""\
prompts: ["You are support. {{{{ policy }}}} {{{{ question }}}}"]
providers:
  - id: anthropic:messages:claude-sonnet-4
    config: {{apiBaseUrl: "{server}", max_tokens: 200}}
defaultTest:
  options:
    provider: {{id: openai:chat:grader, config: {{apiBaseUrl: "{url}"}}}}
tests:
  - description: refund rubric
    vars: {{question: "refund please?", policy: POLICY}}
    assert:
      - type: llm-rubric
        value: mentions 30 days
"""
    def tree(policy):
        return MemoryTree({"promptfooconfig.yaml": suite.replace("POLICY", policy)})

    report = run(tree("Refunds within 30 days."), tree("Refunds any time."), env={**operator_env, "ANTHROPIC_API_KEY": "k"})
    (case,) = report.suites[0].cases
    assert case.status is CaseStatus.REGRESSED and case.reasons == ("test data changed",)
    assert case.head.failed_assertions == ('llm-rubric "mentions 30 days"',)
    kinds = sorted(c["kind"] for c in script.calls)
    assert kinds == ["anthropic", "anthropic", "chat", "chat"]
    assert {c["auth"] for c in script.calls if c["kind"] == "anthropic"} == {None}  # key not sent to a PR-chosen URL
