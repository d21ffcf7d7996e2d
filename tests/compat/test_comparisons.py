"""select-best and max-score compare the outputs of every case of one test (prompts × providers), pass
the best and fail the others, as promptfoo does; conversation-relevance grades a conversation window
by window. Run through the eval engine against the scripted model server (bot.modelserver), whose
grader rules are in bot.modelserver.grading.
"""

from __future__ import annotations

import httpx

from bot.evals import MemoryCache
from tests.compat.reviewing import PATH
from tests.compat.reviewing import review_suite as run
from tests.compat.test_features import refused

PROMPTS = "prompts: ['Reply with \"{{a}}\"', 'Reply with \"{{b}}\"']\nproviders: [openai:chat:gpt-4o-mini]\n"
SELECT = PROMPTS + (
    "tests:\n"
    "  - description: tweet\n"
    "    vars: {a: Bananas., b: Bananas are the funniest fruit.}\n"
    "    assert:\n      - {type: select-best, value: choose the funniest tweet}\n"
    "  - description: unrelated\n"
    "    vars: {a: one, b: two}\n"
    "    assert:\n      - {type: contains, value: o}\n"
)
MAX = PROMPTS + (
    "tests:\n"
    "  - description: pie\n"
    "    vars: {a: apple, b: apple pie}\n"
    "    assert:\n"
    "      - {type: contains, value: apple}\n"
    "      - {type: contains, value: pie, weight: 0}\n"
    "      - type: max-score\n"
)


def by_output(report, side: str = "head") -> dict[str, bool]:
    return {getattr(c, side).output: getattr(c, side).passed for c in report.cases() if getattr(c, side) is not None}


def calls(url: str) -> int:
    return httpx.get(f"{url}/_control/stats").json()["requests"]


def test_select_best_passes_the_output_the_grader_picks_and_fails_the_others(server_url):
    report = run(server_url, SELECT)
    tweet = {c.head.output: c.head for c in report.cases() if c.description == "tweet"}
    assert tweet["Bananas are the funniest fruit."].passed
    assert not tweet["Bananas."].passed
    assert tweet["Bananas."].failed_assertions == ('select-best "choose the funniest tweet"',)
    assert all(c.head.passed for c in report.cases() if c.description == "unrelated")


def test_max_score_passes_the_case_with_the_best_average_of_its_other_assertions(server_url):
    report = run(server_url, MAX)
    assert by_output(report) == {"apple pie": True, "apple": False}
    sums = MAX.replace("- type: max-score", "- {type: max-score, value: {method: sum, weights: {contains: 2}, threshold: 5}}")
    assert by_output(run(server_url, sums)) == {"apple pie": False, "apple": False}  # best sum 2 < threshold 5


def test_a_changed_prompt_runs_the_whole_test_and_compares_within_each_side(server_url):
    head = SELECT.replace("'Reply with \"{{a}}\"'", "'Reply with \"{{a}} The funniest tweet ever, truly hilarious!\"'")
    report = run(server_url, SELECT, head)
    tweet = {c.prompt_label: c for c in report.cases() if c.description == "tweet"}
    assert len(tweet) == 2  # the unchanged prompt's case ran too: select-best needs both outputs
    unchanged = next(c for label, c in tweet.items() if "{{b}}" in label)
    assert unchanged.base.passed and not unchanged.head.passed  # the changed prompt now wins on the head
    assert unchanged.status.value == "regressed"
    assert any("compared with a changed case" in r for r in unchanged.reasons)


def test_a_second_run_takes_the_comparison_from_the_cache_without_asking_the_grader(server_url):
    cache = MemoryCache()
    first = run(server_url, SELECT, cache=cache)
    before = calls(server_url)
    second = run(server_url, SELECT, cache=cache)
    assert calls(server_url) == before
    assert by_output(second) == by_output(first)


def test_select_best_with_a_single_output_is_an_error_naming_its_line(server_url):
    one = SELECT.replace("prompts: ['Reply with \"{{a}}\"', 'Reply with \"{{b}}\"']", "prompts: ['Reply with \"{{b}}\"']")
    report = run(server_url, one)
    case = next(c for c in report.cases() if c.description == "tweet")
    assert case.status.value == "error"
    assert case.head.error.startswith(f"{PATH}:7: select-best: needs at least two outputs")


def test_comparison_values_and_not_forms_are_checked_when_the_suite_loads():
    errors = refused(PROMPTS + "tests:\n  - assert:\n      - {type: not-select-best, value: x}\n      - type: select-best\n"
                     "      - {type: max-score, value: {method: median}}\n")
    assert errors == [
        f"{PATH}:5: unsupported assertion type 'not-select-best': select-best has no not- form (it passes the best case of the test)",
        f"{PATH}:6: select-best: needs a value",
        f"{PATH}:7: max-score: method must be average or sum",
    ]


CONVERSATION = (
    "prompts: ['Reply with \"{{reply}}\"']\nproviders: [openai:chat:gpt-4o-mini]\n"
    "defaultTest: {options: {provider: openai:chat:gpt-4o}}\n"
    "tests:\n"
    "  - description: one turn\n"
    "    vars: {reply: Paris is lovely in spring}\n"
    "    assert: [{type: conversation-relevance}]\n"
    "  - description: garden party\n"
    "    vars:\n"
    "      reply: unused\n"
    "      _conversation:\n"
    "        - {input: We plan a garden party, output: Which date do you have in mind?}\n"
    "        - {input: What about flowers?, output: Tech stocks fell sharply today.}\n"
    "        - {input: Garden flowers please, output: Roses and peonies suit a garden party.}\n"
    "    assert:\n"
    "      - {type: conversation-relevance, threshold: 0.6}\n"
    "      - {type: conversation-relevance, threshold: 0.7}\n"
    "      - {type: conversation-relevance, threshold: 1, config: {windowSize: 1}}\n"
)


def test_conversation_relevance_grades_each_turn_with_its_window_and_scores_the_share_of_relevant_ones(server_url):
    httpx.post(f"{server_url}/_control/reset")
    report = run(server_url, CONVERSATION)
    cases = {c.description: c.head for c in report.cases()}
    assert cases["one turn"].passed  # (prompt, output) is the one turn; the reply shares 'Paris'
    # 2 of 3 turns relevant: 0.67 passes 0.6 and fails 0.7 and 1
    assert cases["garden party"].failed_assertions == ("conversation-relevance", "conversation-relevance")
    by_model = httpx.get(f"{server_url}/_control/stats").json()["by_model"]
    assert by_model["gpt-4o"] == 1 + 3 * 3  # the suite's grader: one call per turn and assertion


def test_a_conversation_turn_without_input_and_output_is_an_error_with_its_line(server_url):
    bad = CONVERSATION.replace("- {input: What about flowers?, output: Tech stocks fell sharply today.}", "- just text")
    case = next(c for c in run(server_url, bad).cases() if c.description == "garden party")
    assert case.status.value == "error"
    assert case.head.error == f"{PATH}:16: conversation-relevance: the _conversation var must be a list of {{input, output}} turns"
