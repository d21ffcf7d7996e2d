"""Each assertion type, its not- form, weights and thresholds (promptfoo semantics)."""

from __future__ import annotations

import asyncio

import pytest

from bot.evals.assertions import score_output
from bot.evals.suite import AssertionSpec

OUT = 'Refunds are possible within 30 days. {"answer": "yes", "days": 30}'


def check(kind, value=None, output=OUT, threshold=None):
    return asyncio.run(score_output((AssertionSpec(kind, value, threshold),), None, output)).passed


@pytest.mark.parametrize(
    "kind, value, passes, fails",
    [
        ("equals", "hello", "hello", "hello "),
        ("equals", {"a": 1}, '{"a": 1}', '{"a": 2}'),
        ("contains", "30 days", "within 30 days", "within 30 Days"),
        ("icontains", "30 DAYS", "within 30 days", "within thirty days"),
        ("contains-any", ["30 days", "thirty days"], "thirty days", "a month"),
        ("contains-any", "30 days, thirty days", "thirty days", "a month"),
        ("contains-all", ["refund", "30 days"], "refund in 30 days", "refund soon"),
        ("icontains-any", ["REFUND", "return"], "Refund", "exchange"),
        ("icontains-all", ["REFUND", "days"], "refund in 30 Days", "refund now"),
        ("regex", r"\b\d+ days\b", "in 30 days", "in a month"),
        ("starts-with", "Hello", "Hello there", "Oh, Hello"),
        ("is-json", None, '{"a": 1}', 'Sure: {"a": 1}'),
        ("is-json", {"type": "object", "required": ["answer"]}, '{"answer": 1}', '{"other": 1}'),
        ("contains-json", None, 'Sure: {"a": 1} done', "Sure: {a: 1}"),
        ("contains-json", {"type": "object", "required": ["days"]}, OUT, 'text {"answer": 1}'),
        ("levenshtein", "kitten", "sitting", "a totally different text"),
    ],
)
def test_assertion_type_and_its_not_form(kind, value, passes, fails):
    assert check(kind, value, passes) is True
    assert check(kind, value, fails) is False
    assert check("not-" + kind, value, passes) is False
    assert check("not-" + kind, value, fails) is True


def test_levenshtein_threshold_is_the_maximum_distance():
    assert check("levenshtein", "kitten", "sitting", threshold=3) is True
    assert check("levenshtein", "kitten", "sitting", threshold=2) is False


def test_all_assertions_must_pass_without_a_threshold_and_failures_are_named():
    asserts = (AssertionSpec("icontains", "30 days"), AssertionSpec("contains", "sorry"), AssertionSpec("not-contains", "refund"))
    outcome = asyncio.run(score_output(asserts, None, "Refunds within 30 days"))
    assert not outcome.passed
    assert outcome.failed == ('contains "sorry"',)
    assert outcome.score == pytest.approx(2 / 3)


def test_weighted_score_against_a_test_threshold():
    asserts = (AssertionSpec("contains", "30 days", weight=3), AssertionSpec("contains", "sorry", weight=1))
    assert asyncio.run(score_output(asserts, 0.75, "within 30 days")).passed
    assert not asyncio.run(score_output(asserts, 0.8, "within 30 days")).passed


def test_a_zero_weight_assertion_is_reported_but_does_not_decide():
    asserts = (AssertionSpec("contains", "30 days"), AssertionSpec("contains", "sorry", weight=0))
    outcome = asyncio.run(score_output(asserts, None, "within 30 days"))
    assert outcome.passed and outcome.failed == ('contains "sorry"',)


def test_model_graded_assertions_ask_the_grader():
    class Grader:
        async def rubric(self, grader, rubric, output):
            ok = "polite" in output
            return ok, 1.0 if ok else 0.2, "checked"

        async def similarity(self, grader, expected, output):
            return 0.9 if expected == output else 0.1

    asserts = (AssertionSpec("llm-rubric", "is polite"), AssertionSpec("similar", "hello", threshold=0.8))
    assert asyncio.run(score_output(asserts, None, "hello", Grader())).failed == ('llm-rubric "is polite"',)
    assert asyncio.run(score_output((AssertionSpec("not-similar", "hello"),), None, "bye", Grader())).passed
