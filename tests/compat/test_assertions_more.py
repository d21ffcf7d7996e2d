"""promptfoo 0.121's assert-set, similar:cosine/dot/euclidean, tool-call-f1 and perplexity/perplexity-score: scored
with the pass and score promptfoo gives (figures from bench/asserts_oracle.mjs, which runs promptfoo's own
runAssertion/runAssertions, and from `promptfoo eval` on bench/suites/asserts-more); bad values and the 0.121 types
prompt-review cannot run are refused with file and line."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
import yaml

from bot.core.config import EvalsConfig
from bot.core.files import MemoryTree
from bot.evals.assertions import AssertionBroken, score_output
from bot.evals.loader import load_suite
from bot.evals.providers import Completion
from bot.evals.scoring import Component, named_scores
from bot.evals.similarity import judged, similar
from bot.evals.suite import AssertionSpec
from bot.evals.tool_f1 import tool_names
from tests.compat.test_bench_suites import head_failures, run, tree

PATH = "evals/promptfooconfig.yaml"
LOGPROBS = (-0.5, -1.25, -0.1)


def suite_of(*asserts: dict, threshold: float | None = None, extra: dict | None = None):
    test: dict = {"vars": {"q": "hi"}, "assert": list(asserts)}
    if threshold is not None:
        test["threshold"] = threshold
    config = {"prompts": ["Say {{ q }}"], "providers": ["openai:chat:gpt-4o-mini"], "tests": [test], **(extra or {})}
    return load_suite(MemoryTree({PATH: yaml.safe_dump(config, allow_unicode=True, sort_keys=False)}), PATH)


def loaded(*asserts: dict, threshold: float | None = None):
    suite, errors = suite_of(*asserts, threshold=threshold)
    assert errors == [], errors
    return suite.tests[0]


def scored(output, *asserts: dict, threshold: float | None = None, logprobs=None, structured: bool = False):
    test = loaded(*asserts, threshold=threshold)
    text = output if isinstance(output, str) else json.dumps(output)
    response = Completion(text, logprobs=logprobs, structured=structured)
    outcome = asyncio.run(score_output(test.asserts, test.threshold, text, response=response))
    return outcome.passed, outcome.score


def refused(*asserts: dict, extra: dict | None = None) -> list[tuple[int | None, str]]:
    suite, errors = suite_of(*asserts, extra=extra)
    assert suite is None
    return [(e.line, e.message) for e in errors]


# ---- tool-call-f1 ---------------------------------------------------------------------------------------------

CALLS = [{"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}]

# (output, assertion, promptfoo's pass, promptfoo's score): bench/asserts_oracle.mjs
TOOL_F1 = [
    (CALLS, {"type": "tool-call-f1", "value": ["get_weather"]}, True, 1),
    ({"content": "ok", "tool_calls": [{"function": {"name": "a"}}, {"name": "b"}]}, {"type": "tool-call-f1", "value": "a, b, c"}, False, 0.8),
    ('Let me check.\n{"type":"tool_use","name":"search","input":{}}\n[{"functionCall":{"name":"lookup"}}]',
     {"type": "tool-call-f1", "value": "search,lookup"}, True, 1),
    ({"type": "tool_use", "name": "search"}, {"type": "not-tool-call-f1", "value": "search"}, False, 1),
    ({"toolCall": {"functionCalls": [{"name": "x"}, {"name": "y"}]}}, {"type": "tool-call-f1", "value": ["x"], "threshold": 0.6}, True, 0.6666666666666666),
    ({"name": "f", "arguments": "{}"}, {"type": "tool-call-f1", "value": "f"}, False, 0),  # a lone function_call object names nothing
    ('[{"name":"a"},{"function":{"name":"b"}},{"type":"tool_use","name":"c"}]', {"type": "tool-call-f1", "value": ["a", "b", "d"]}, False, 0.6666666666666666),
    ("no tools here", {"type": "not-tool-call-f1", "value": "a"}, True, 0),
]


@pytest.mark.parametrize("output, assertion, passed, score", TOOL_F1)
def test_tool_call_f1_reads_every_vendors_tool_calls_as_promptfoo_does(output, assertion, passed, score):
    structured = not isinstance(output, str)
    assert scored(output, assertion, structured=structured) == (passed, score)


def test_tool_names_come_from_the_text_when_the_output_is_not_an_object():
    assert tool_names(json.dumps(CALLS)) == {"get_weather"}
    assert tool_names('{"tool_calls": [{"function": {"name": "a"}}]}\nthen {"type": "tool_use", "name": "b"}') == {"a"}  # JSON first
    assert tool_names('said\n  {"type": "tool_use", "name": "b"}\n[{"name": "c"}]') == {"b", "c"}


@pytest.mark.parametrize("value, message", [
    (None, "value must be the expected tool names: a list, or comma-separated text"),
    (3, "value must be the expected tool names: a list, or comma-separated text"),
    ([], "value must name at least one tool (promptfoo refuses an empty list)"),
])
def test_tool_call_f1_without_tool_names_is_refused_with_its_line(value, message):
    assertion = {"type": "tool-call-f1"} if value is None else {"type": "tool-call-f1", "value": value}
    assert refused(assertion) == [(9 if value is None else 10, f"tool-call-f1: {message}")]  # the value's line


# ---- perplexity ------------------------------------------------------------------------------------------------

PERPLEXITY = [
    ({"type": "perplexity", "threshold": 2}, True, 1),
    ({"type": "perplexity", "threshold": 1.5}, False, 0),
    ({"type": "not-perplexity"}, True, 1),  # no threshold: passes either way
    ({"type": "perplexity-score", "threshold": 0.3}, True, 0.35053994514883235),
    ({"type": "not-perplexity-score", "threshold": 0.3}, False, 0.6494600548511676),
    ({"type": "perplexity-score"}, True, 0.35053994514883235),
]


@pytest.mark.parametrize("assertion, passed, score", PERPLEXITY)
def test_perplexity_is_read_from_the_token_log_probabilities_as_promptfoo_reads_them(assertion, passed, score):
    assert scored("x", assertion, logprobs=LOGPROBS) == (passed, score)


@pytest.mark.parametrize("kind, words", [("perplexity", "Perplexity assertion"), ("perplexity-score", "perplexity-score assertion")])
@pytest.mark.parametrize("logprobs", [None, ()])
def test_perplexity_without_log_probabilities_is_a_case_error_in_promptfoos_words(kind, words, logprobs):
    with pytest.raises(AssertionBroken) as caught:
        scored("x", {"type": kind, "threshold": 2}, logprobs=logprobs)
    assert caught.value.error.line == 9
    assert f"{words} does not support providers that do not return logProbs" in str(caught.value)
    assert "passthrough: {logprobs: true}" in str(caught.value)


def test_the_scripted_server_returns_log_probabilities_only_when_asked(server_url):
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": 'Reply with exactly "Refunds take five days".'}]}
    plain = httpx.post(f"{server_url}/v1/chat/completions", json=body).json()["choices"][0]
    assert plain["logprobs"] is None
    asked = httpx.post(f"{server_url}/v1/chat/completions", json={**body, "logprobs": True, "top_logprobs": 1}).json()["choices"][0]
    tokens = asked["logprobs"]["content"]
    assert "".join(t["token"] for t in tokens) == asked["message"]["content"] == "Refunds take five days"
    assert all(-2.5 <= t["logprob"] < 0 and t["top_logprobs"] == [{k: t[k] for k in ("token", "logprob", "bytes")}] for t in tokens)


# ---- similar with another measure ------------------------------------------------------------------------------

@pytest.mark.parametrize("metric, value, threshold, negated, expected", [
    ("cosine", 0.8, 0.75, False, (True, 0.8)),
    ("cosine", 0.8, 0.75, True, (False, 0.19999999999999996)),
    ("dot_product", 3.0, 4, False, (False, 3.0)),
    ("dot_product", 4.0, 2, True, (False, -3.0)),  # promptfoo scores a negated dot product 1 − it, below 0
    ("euclidean", 2 ** 0.5, 0.75, False, (False, 0.4142135623730951)),  # a distance: passes at most the threshold
    ("euclidean", 2 ** 0.5, 1.5, False, (True, 0.4142135623730951)),
    ("euclidean", 2 ** 0.5, 2, True, (False, 0.5857864376269049)),
    ("euclidean", 0.0, 0.0, False, (True, 1.0)),
])
def test_each_measure_meets_the_threshold_as_promptfoo_compares_it(metric, value, threshold, negated, expected):
    assert judged(metric, value, threshold, negated) == expected


def test_a_list_of_values_is_decided_by_the_first_that_passes_or_negated_the_first_that_fails():
    distances = {"far": 3.0, "near": 0.5, "exact": 0.0}

    async def measured(text: str, metric: str) -> float:
        assert metric == "euclidean"
        return distances[text]

    assert asyncio.run(similar("similar:euclidean", False, 1, ["far", "near", "exact"], measured)) == (True, 1 / 1.5)
    assert asyncio.run(similar("similar:euclidean", False, 0.1, ["far", "near"], measured)) == (False, 1 / 1.5)  # the best
    assert asyncio.run(similar("similar:euclidean", True, 1, ["far", "near", "exact"], measured)) == (False, 1 - 1 / 1.5)
    assert asyncio.run(similar("similar:euclidean", True, 0.1, ["far", "near"], measured)) == (True, 1 - 1 / 1.5)  # the lowest


def test_a_sentence_similarity_grader_cannot_measure_a_distance_and_is_refused_with_the_line():
    grader = {"id": "huggingface:sentence-similarity:sentence-transformers/all-MiniLM-L6-v2"}
    errors = refused({"type": "similar:euclidean", "value": "hi", "provider": grader})
    assert len(errors) == 1 and errors[0][0] == 6  # the test's line; the message names the assertion's
    assert "similar:euclidean (line 9): huggingface:sentence-similarity:sentence-transformers/all-MiniLM-L6-v2 scores a pair" in errors[0][1]
    assert suite_of({"type": "similar:cosine", "value": "hi", "provider": grader})[1] == []


# ---- assert-set -----------------------------------------------------------------------------------------------

# (output, assertions, test threshold, promptfoo's pass, promptfoo's score): bench/asserts_oracle.mjs
SETS = [
    ("Paris is big", [{"type": "contains", "value": "Paris"},
                      {"type": "assert-set", "weight": 2, "assert": [{"type": "contains", "value": "big"},
                                                                     {"type": "contains", "value": "Rome", "weight": 3}]}], None, False, 0.5),
    ("Paris is big", [{"type": "contains", "value": "Paris"},
                      {"type": "assert-set", "threshold": 0.25, "assert": [{"type": "contains", "value": "big"},
                                                                           {"type": "contains", "value": "Rome", "weight": 3}]}], 0.5, True, 0.625),
    ("Paris is big", [{"type": "assert-set", "assert": []}], None, True, 0),  # an empty set passes with score 0
    ("Paris is big", [{"type": "assert-set", "weight": 0, "assert": [{"type": "contains", "value": "Rome"}]},
                      {"type": "contains", "value": "Paris"}], None, False, 1),  # a failed set fails the test at weight 0 too
    ("Paris is big", [{"type": "assert-set", "assert": [{"type": "contains", "value": "Rome", "weight": 0},
                                                        {"type": "contains", "value": "big"}]}], None, True, 1),
]


@pytest.mark.parametrize("output, asserts, threshold, passed, score", SETS)
def test_an_assert_set_is_scored_as_one_assertion_of_the_test_as_promptfoo_does(output, asserts, threshold, passed, score):
    assert scored(output, *asserts, threshold=threshold) == (passed, score)


def test_a_sets_failing_assertion_is_named_in_the_verdict():
    test = loaded({"type": "assert-set", "assert": [{"type": "contains", "value": "Paris"}, {"type": "contains", "value": "Rome"}]})
    outcome = asyncio.run(score_output(test.asserts, None, "Paris"))
    assert (outcome.passed, outcome.failed) == (False, ('assert-set: contains "Rome"',))


def test_named_scores_weigh_a_sets_inner_metrics_by_the_sets_weight_as_promptfoo_does():
    def a(metric: str | None, weight: float = 1.0, children: tuple = ()) -> AssertionSpec:
        return AssertionSpec("assert-set" if children else "contains", metric=metric, weight=weight, children=tuple(c.assertion for c in children))

    inner = (Component(a("size"), True, 1.0), Component(a("city", 3.0), False, 0.0))
    components = [Component(a("city"), True, 1.0), Component(a("set", 2.0, inner), False, 0.25, inner)]
    # promptfoo 0.121.20 (bench/asserts_oracle.mjs) on the first SETS case with these metrics
    assert named_scores(components) == {"city": 0.14285714285714285, "set": 0.25, "size": 1}


@pytest.mark.parametrize("assertion, line, message", [
    ({"type": "assert-set", "assert": [{"type": "assert-set", "assert": []}]}, 11,
     "unsupported: an assert-set inside an assert-set (promptfoo runs one level of sets and ends every such case with "
     "\"Unknown assertion type: assert-set\"); list its assertions in the outer set"),
    ({"type": "not-assert-set", "assert": []}, 9,
     "unsupported assertion type 'not-assert-set': assert-set has no not- form (promptfoo ends every such case with "
     "\"Unknown assertion type: not-assert-set\")"),
    ({"type": "assert-set", "value": "x", "assert": []}, 10,
     "unknown assert-set key 'value' (an assert-set takes assert, config, metric, threshold, type, weight; the other assertion "
     "keys go on the assertions inside it)"),
    ({"type": "assert-set"}, 9, "assert-set needs `assert`, a list of assertions"),
    ({"type": "assert-set", "assert": [{"type": "select-best", "value": "the best"}]}, 11,
     "unsupported: select-best inside an assert-set (promptfoo never runs it there: it compares the outputs of a test's cases "
     "from the test's own assertions); move it to the test's assert"),
    ({"type": "assert-set", "assert": [{"type": "regex", "value": "("}]}, 12, None),
])
def test_a_bad_assert_set_is_refused_with_the_line_of_the_fault(assertion, line, message):
    errors = refused(assertion)
    assert errors[0][0] == line
    if message is not None:
        assert errors == [(line, message)]
    else:
        assert "invalid regular expression" in errors[0][1]


def test_a_sets_assertions_get_the_tests_grader_and_rendered_values():
    suite, errors = suite_of({"type": "assert-set", "assert": [{"type": "similar:dot", "value": "{{ q }} there", "threshold": 1}]},
                             extra={"defaultTest": {"options": {"provider": {"embedding": "openai:embedding:text-embedding-3-small"}}}})
    assert errors == []
    (inner,) = suite.tests[0].asserts[0].children
    assert inner.grader is not None and inner.grader.id == "openai:embedding:text-embedding-3-small"


def test_a_forks_code_inside_an_assert_set_is_refused_like_any_of_its_code():
    from bot.evals.sandbox import Origin, may_run
    from bot.evals.select import plan_suite

    base_suite = {"prompts": ["Say {{ q }}"], "providers": ["openai:chat:gpt-4o-mini"],
                  "tests": [{"vars": {"q": "hi"}, "assert": [{"type": "contains", "value": "hi"}]}]}
    head_suite = {**base_suite, "tests": [{"vars": {"q": "hi"}, "assert": [
        {"type": "assert-set", "assert": [{"type": "javascript", "value": "require('child_process')"}]}]}]}
    base, head = (MemoryTree({PATH: yaml.safe_dump(s, sort_keys=False)}) for s in (base_suite, head_suite))
    (b, _), (h, errors) = load_suite(base, PATH), load_suite(head, PATH)
    assert errors == []
    plan = plan_suite(PATH, base, head, b, h, pr_code=lambda what: may_run(Origin.PR, False, EvalsConfig(), what))
    (case,) = plan.cases
    assert case.head.error is not None
    assert case.head.error.message.startswith("refused: executes code from a fork's pull request (javascript assertion)")


def test_an_assert_set_edit_changes_the_cases_fingerprint():
    one = loaded({"type": "assert-set", "threshold": 0.5, "assert": [{"type": "contains", "value": "hi"}]})
    two = loaded({"type": "assert-set", "threshold": 0.5, "assert": [{"type": "contains", "value": "ho"}]})
    assert one.asserts[0].fingerprint() != two.asserts[0].fingerprint()


# ---- the 0.121 types prompt-review cannot run ------------------------------------------------------------------

@pytest.mark.parametrize("kind, reason", [
    ("human", "graded by a person in promptfoo's web viewer"),
    ("skill-used", "agent SDK provider"),
    ("agent-rubric", "graded by an agent"),
    ("search-rubric", "searches the web while grading"),
    ("trace-span-count", "trace-span-count reads the OpenTelemetry spans"),
    ("not-trace-error-spans", "trace-error-spans reads the OpenTelemetry spans"),
    ("trajectory:tool-used", "trajectory:tool-used reads the tool calls and steps of an agent's OpenTelemetry trace"),
])
def test_types_that_need_what_prompt_review_does_not_run_are_refused_with_the_reason(kind, reason):
    (error,) = refused({"type": kind, "value": "x"})
    assert error[0] == 9 and error[1].startswith(f"unsupported: {kind}: ") and reason in error[1]


# ---- the parity suite ------------------------------------------------------------------------------------------

# the cases `promptfoo eval` 0.121.20 fails on bench/suites/asserts-more (bench/vs_promptfoo.py: 38 of 38 verdicts and
# every score equal, on main and on the PR head)
FAILING = {
    "a set with one failing assertion fails the test", "a set's threshold above its weighted score fails",
    "a failing set of weight 0 still fails the test", "the same set at weight 1 falls under the test threshold",
    "an empty set scores 0 against the test threshold", "similar:dot above the shared words fails",
    "similar:euclidean over the default threshold fails", "not-similar:euclidean too close fails",
    "not-similar:dot against a list fails on one too close", "similar:euclidean with a weight under a test threshold",
    "tool-call-f1 missing one expected tool fails at the default threshold", "tool-call-f1 on a text answer fails",
    "perplexity over a strict threshold fails", "perplexity-score under a high threshold fails",
}


def test_the_parity_suite_fails_and_errors_exactly_the_cases_promptfoo_does(server_url):
    report = run(server_url, MemoryTree({}), tree("asserts-more"))
    assert report.errors == ()
    assert len(report.cases()) == 38
    errored = {c.description: c.head.error for c in report.cases() if c.head and c.head.error}
    assert list(errored) == ["perplexity without log-probabilities is an error"]
    assert "Perplexity assertion does not support providers that do not return logProbs" in errored["perplexity without log-probabilities is an error"]
    assert {d for d, _p, _m in head_failures(report)} - set(errored) == FAILING


def test_the_parity_suites_pr_regresses_the_tool_calls_its_reworded_tool_no_longer_gets(server_url):
    from bot.evals import CaseStatus

    report = run(server_url, tree("asserts-more"), tree("asserts-more", with_pr=True))
    assert {c.description for c in report.cases(CaseStatus.REGRESSED)} == {
        "a set judged on a tool call", "tool-call-f1 when the tool is chosen by its description"}


SCORER = """\
module.exports = (namedScores, context) => ({
  pass: true, score: 0.5,
  reason: JSON.stringify({named: namedScores, results: context.componentResults.map(
    (r) => r.assertion ? `${r.assertion.type}:${r.pass}` : `set of ${r.metadata.assertionSet.assertionCount}:${r.pass}`)}),
});
"""


def test_a_scoring_function_sees_a_sets_result_then_its_assertions_and_promptfoos_named_scores():
    from bot.evals.assertions import CodeContext

    config = {"prompts": ["{{ q }}"], "providers": ["echo"], "tests": [{"vars": {"q": "Paris is big"}, "assertScoringFunction": "file://score.js", "assert": [
        {"type": "contains", "value": "Paris", "metric": "city"},
        {"type": "assert-set", "weight": 2, "metric": "set", "assert": [{"type": "contains", "value": "big", "metric": "size"},
                                                                        {"type": "contains", "value": "Rome", "weight": 3, "metric": "city"}]}]}]}
    suite, errors = load_suite(MemoryTree({PATH: yaml.safe_dump(config, sort_keys=False), "evals/score.js": SCORER}), PATH)
    assert errors == [] and suite is not None
    test = suite.tests[0]
    context = CodeContext(test.vars, "Paris is big", {"vars": test.vars}, {"id": "echo"}, file=PATH, line=test.line)
    outcome = asyncio.run(score_output(test.asserts, None, "Paris is big", context=context, scoring=test.scoring))
    assert outcome.passed and outcome.score == 0.5
    # a failing scoring verdict would name its reason; this one passed, so read the reason through a failing copy
    failing = SCORER.replace("pass: true", "pass: false")
    suite, _ = load_suite(MemoryTree({PATH: yaml.safe_dump(config, sort_keys=False), "evals/score.js": failing}), PATH)
    outcome = asyncio.run(score_output(suite.tests[0].asserts, None, "Paris is big", context=context, scoring=suite.tests[0].scoring))
    seen = json.loads(outcome.failed[-1].removeprefix("assertScoringFunction: "))
    # promptfoo 0.121.20 (bench/asserts_oracle.mjs) gives these named scores for the same assertions
    assert seen == {"named": {"city": 0.14285714285714285, "set": 0.25, "size": 1},
                    "results": ["contains:true", "set of 2:false", "contains:true", "contains:false"]}
