"""A Realtime conversation continued across tests (`metadata.conversationId`), as promptfoo 0.121 keeps it: one
session per `openai:realtime` provider for every test with a conversation id (whatever its value), in the written
order, until a test without one turns it off; one per (prompt, conversation id) for `azure:realtime`. Each case
replays the earlier turns on its own connection — deterministic under concurrency and caching — against the
scripted model server, whose Realtime session keeps the answers and answers "what did I ask first?" from it."""

from __future__ import annotations

import asyncio
import json

import httpx

from bot.core.files import MemoryTree
from bot.evals import EvalRequest, NoCache, run_evals
from bot.evals.loader import load_suite
from bot.evals.realtime_turns import MAX_TURNS
from tests.compat.reviewing import PATH, expanded_cases

PROVIDER = "openai:realtime:gpt-realtime"


def suite(tests: str, extra: str = "", provider: str = PROVIDER) -> str:
    return (f"prompts: ['{{{{question}}}}']\nproviders:\n  - id: {provider}\n    config: {{instructions: Be brief.{extra}}}\n"
            "tests:\n" + tests)


def case(question: str, conversation: str | None = None, contains: str | None = None) -> str:
    out = f"  - vars: {{question: '{question}'}}\n"
    if conversation is not None:
        out += f"    metadata: {{conversationId: {conversation}}}\n"
    if contains is not None:
        out += f"    assert:\n      - type: contains\n        value: '{contains}'\n"
    return out


def turns(text: str) -> list[list[str]]:
    """Per case in written order: the user texts of the earlier turns it replays."""
    return [[m[-1][1] for m in c.provider.conversation] for c in expanded_cases(text)]


def test_every_test_with_a_conversation_id_continues_the_providers_one_session_in_written_order():
    text = suite(case("A?", "japan") + case("B?", "japan") + case("C?", "tech") + case("D?", "japan"))
    # promptfoo's openai:realtime keeps one session per provider: the id's value does not separate conversations
    assert turns(text) == [[], ["A?"], ["A?", "B?"], ["A?", "B?", "C?"]]


def test_a_test_without_a_conversation_id_turns_the_session_off_for_every_later_test():
    text = suite(case("A?", "x") + case("B?", "x") + case("alone?") + case("C?", "x") + case("D?", "''"))
    assert turns(text) == [[], ["A?"], [], [], []]
    assert turns(suite(case("A?", "x") + case("B?", "x"), ", maintainContext: false")) == [[], []]


def test_azure_keeps_one_session_per_conversation_id():
    text = suite(case("A?", "japan") + case("B?", "tech") + case("alone?") + case("C?", "japan") + case("D?", 7),
                 ", apiHost: r.openai.azure.com", "azure:realtime:dep")
    assert turns(text) == [[], [], [], ["A?"], []]


def test_the_earlier_turns_are_part_of_the_fingerprint_so_editing_one_reruns_the_later_ones():
    before = expanded_cases(suite(case("A?", "x") + case("B?", "x")))
    after = expanded_cases(suite(case("A changed?", "x") + case("B?", "x")))
    assert before[1].fingerprint() != after[1].fingerprint()
    alone = expanded_cases(suite(case("B?", "x")))  # the first turn of a conversation is a call like any other
    plain = expanded_cases(suite(case("B?")))
    assert alone[0].fingerprint() == plain[0].fingerprint()


def test_a_conversation_is_bounded():
    text = suite("".join(case(f"Q{i}?", "x") for i in range(MAX_TURNS + 1)))
    loaded, errors = load_suite(MemoryTree({PATH: text}), PATH)
    assert errors == []
    from bot.evals.render import Renderer
    from bot.evals.select import expand

    cases, _ = expand(loaded, Renderer(MemoryTree({PATH: text})))
    last = sorted(cases.values(), key=lambda c: c.test.index)[-1]
    assert last.error is not None and f"more than {MAX_TURNS} turns" in last.error.message


def test_a_review_replays_the_conversation_on_each_cases_connection(server_url):
    text = suite(case("What are popular places in Japan?", "japan", "You said: What are popular places in Japan?")
                 + case("Which is best in autumn?", "japan", "You said: Which is best in autumn?")
                 + case("What did I ask first?", "japan", "You first asked: What are popular places in Japan?"))
    before = httpx.get(f"{server_url}/_control/stats").json()["by_endpoint"].get("realtime", 0)
    env = {"OPENAI_BASE_URL": f"{server_url}/v1", "OPENAI_API_KEY": "test"}
    request = EvalRequest(base=MemoryTree({}), head=MemoryTree({PATH: text}), suites=[PATH], env=env)
    report = asyncio.run(run_evals(request, NoCache()))
    results = {c.description: (c.head.passed, c.head.error) for c in report.cases()}
    assert all(r == (True, None) for r in results.values()), json.dumps(results, default=str)
    # 1 + 2 + 3 responses: each case asks its earlier turns again
    assert httpx.get(f"{server_url}/_control/stats").json()["by_endpoint"].get("realtime", 0) - before == 6
    alone = suite(case("What did I ask first?", None, "You first asked"))
    request = EvalRequest(base=MemoryTree({}), head=MemoryTree({PATH: alone}), suites=[PATH], env=env)
    (only,) = asyncio.run(run_evals(request, NoCache())).cases()
    assert only.head.error is None and not only.head.passed  # no earlier turn on its own connection


def test_each_replayed_turn_is_a_model_call_on_the_budget(server_url):
    from bot.core.config import Budget, EvalsConfig
    from bot.evals.providers import BudgetExhausted, Caller, Meter

    third = expanded_cases(suite(case("A?", "x") + case("B?", "x") + case("What did I ask first?", "x")))[2]

    async def go(budget: Budget):
        meter = Meter(budget)
        async with httpx.AsyncClient() as client:
            caller = Caller.for_run(client, {"OPENAI_BASE_URL": f"{server_url}/v1", "OPENAI_API_KEY": "test"},
                                    EvalsConfig(timeout_s=10), meter)
            return await caller.complete(third.provider, third.messages), meter.calls

    completion, calls = asyncio.run(go(Budget(max_calls=3)))
    assert (completion.text, calls) == ("You first asked: A?", 3)
    try:
        asyncio.run(go(Budget(max_calls=2)))
    except BudgetExhausted as exc:
        assert "max_calls 2" in str(exc)
    else:
        raise AssertionError("three turns fit a budget of two calls")
