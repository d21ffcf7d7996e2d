"""A test's own `provider` (or defaultTest's), as promptfoo 0.121's evaluator treats it: the test still runs once per
suite provider its filters allow, reported under that provider, whose `transform` applies to the output and which code
sees as context.provider — but the call goes to the test's provider, with its own config and code. Run through the
eval engine against the scripted model server."""

from __future__ import annotations

import httpx

from bot.core.config import EvalsConfig
from bot.core.files import MemoryTree
from bot.evals.loader import load_suite
from bot.evals.sandbox import Origin, may_run
from bot.evals.select import plan_suite
from tests.compat.reviewing import PATH, expanded_cases
from tests.compat.reviewing import review_suite as run

SUITE = (
    "prompts: ['Reply with exactly \"{{word}}\".']\n"
    "providers:\n"
    "  - id: openai:chat:gpt-4o-mini\n"
    "  - id: anthropic:messages:claude-3-5-haiku-latest\n"
    "    label: haiku\n"
    "    transform: output.toUpperCase()\n"
    "tests:\n"
    "  - description: own provider\n"
    "    vars: {word: plum}\n"
    "    provider: {id: openai:chat:gpt-test-provider, config: {temperature: 0}}\n"
    "    assert:\n"
    "      - type: javascript\n"
    "        value: \"output.toLowerCase() === 'plum' && ['openai:chat:gpt-4o-mini', 'anthropic:messages:claude-3-5-haiku-latest'].includes(context.provider.id)\"\n"
    "  - description: suite providers\n"
    "    vars: {word: fig}\n"
    "    providers: [openai:chat:gpt-4o-mini]\n"
)


def by_model(url: str) -> dict[str, int]:
    return httpx.get(f"{url}/_control/stats").json()["by_model"]


def test_the_tests_provider_answers_in_place_of_each_suite_provider_under_its_name(server_url):
    before = by_model(server_url)
    report = run(server_url, SUITE)
    cases = {(c.description, c.key.rsplit("::", 1)[1]): c.head for c in report.cases()}
    # one case per suite provider, each answered by the test's provider (no Anthropic key is needed), the suite
    # provider's transform applied to the answer; code sees the suite provider as context.provider
    own = {k[1]: v for k, v in cases.items() if k[0] == "own provider"}
    assert set(own) == {"openai:chat:gpt-4o-mini", "haiku"}
    assert own["openai:chat:gpt-4o-mini"].output == "plum" and own["haiku"].output == "PLUM"
    assert all(v.error is None and v.passed for v in own.values()), own
    after = by_model(server_url)
    assert after.get("gpt-test-provider", 0) - before.get("gpt-test-provider", 0) == 2
    # the other test runs on the suite's own provider
    assert after.get("gpt-4o-mini", 0) - before.get("gpt-4o-mini", 0) == 1
    assert cases[("suite providers", "openai:chat:gpt-4o-mini")].output == "fig"


def test_default_tests_provider_applies_where_a_test_sets_none():
    suite = SUITE.replace("tests:\n", "defaultTest:\n  provider: echo\ntests:\n")
    cases = {(c.test.description, c.provider.id) for c in expanded_cases(suite)}
    assert cases == {("own provider", "openai:chat:gpt-test-provider"), ("own provider", "openai:chat:gpt-test-provider"),
                     ("suite providers", "echo")}


def test_a_test_provider_written_in_code_runs_under_the_gate_and_its_change_reruns_the_case(server_url):
    code = "module.exports = class { id() { return 'mine'; } async callApi(prompt) { return { output: 'coded ' + prompt.length }; } };\n"
    suite = SUITE.replace("provider: {id: openai:chat:gpt-test-provider, config: {temperature: 0}}", "provider: file://own.js")
    tree = MemoryTree({PATH: suite, "evals/own.js": code})
    loaded, errors = load_suite(tree, PATH)
    assert errors == [] and loaded is not None
    own = loaded.tests[0].provider
    assert own is not None and own.kind == "code" and [w for w, _ in own.code_items()] == ["code"]
    changed = MemoryTree({PATH: suite, "evals/own.js": code.replace("coded", "written")})
    head, _ = load_suite(changed, PATH)
    plan = plan_suite(PATH, tree, changed, loaded, head)
    reasons = {c.key.rsplit("::", 1)[1]: c.reasons for c in plan.cases}
    assert set(reasons) == {"openai:chat:gpt-4o-mini", "haiku"} and all("provider code changed" in r for r in reasons.values())


def test_a_fork_adding_a_test_provider_in_code_is_refused_naming_the_rule_at_the_tests_provider_line():
    code = "module.exports = { callApi: async () => ({ output: 'x' }) };\n"
    head_suite = SUITE.replace("provider: {id: openai:chat:gpt-test-provider, config: {temperature: 0}}", "provider: file://own.js")
    base_tree, head_tree = MemoryTree({PATH: SUITE}), MemoryTree({PATH: head_suite, "evals/own.js": code})
    (base, _), (head, _) = load_suite(base_tree, PATH), load_suite(head_tree, PATH)
    fork = plan_suite(PATH, base_tree, head_tree, base, head, pr_code=lambda what: may_run(Origin.PR, False, EvalsConfig(), what))
    refused = [c.head.error for c in fork.cases if c.head is not None and c.head.description == "own provider"]
    assert len(refused) == 2 and all(e is not None and e.line == 10 and e.message == (
        "refused: executes code from a fork's pull request (provider code) — code from forks never runs; "
        "only the base branch's code does") for e in refused), refused


def test_a_simulated_user_provider_is_refused_clearly_and_a_bad_provider_names_its_line():
    suite = SUITE.replace("tests:\n", "defaultTest:\n  provider:\n    id: promptfoo:simulated-user\n    config: {maxTurns: 10}\ntests:\n")
    _, errors = load_suite(MemoryTree({PATH: suite}), PATH)
    assert [(e.line, e.message.split(";")[0]) for e in errors] == [
        (8, "unsupported: provider 'promptfoo:simulated-user' is promptfoo's simulated-user agent (a model plays the user for "
            "several turns against the suite's provider)")]
    _, errors = load_suite(MemoryTree({PATH: SUITE.replace("{id: openai:chat:gpt-test-provider, config: {temperature: 0}}", "[a]")}), PATH)
    assert [(e.line, e.message) for e in errors] == [
        (10, "a test's `provider` must be a provider id such as openai:chat:gpt-4o or {id, label, config}")]
