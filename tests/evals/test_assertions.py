"""Each assertion type, its not- form, weights and thresholds (promptfoo semantics)."""

from __future__ import annotations

import asyncio

import pytest

from bot.core.files import MemoryTree
from bot.evals.assertions import score_output
from bot.evals.loader import load_suite
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


# ---- measured and model-graded types (promptfoo's latency, cost, finish-reason, factuality, g-eval, context-*) ----

from bot.evals.assertions import AssertionBroken  # noqa: E402
from bot.evals.grading import ModelGrader  # noqa: E402
from bot.evals.providers import Completion  # noqa: E402


@pytest.mark.parametrize(
    "assertion, measured, passes",
    [
        (AssertionSpec("latency", threshold=500), Completion("x", latency_ms=120.0), True),
        (AssertionSpec("latency", threshold=500), Completion("x", latency_ms=900.0), False),
        (AssertionSpec("cost", threshold=0.001), Completion("x", cost_usd=0.0004), True),
        (AssertionSpec("cost", threshold=0.001), Completion("x", cost_usd=0.01), False),
        (AssertionSpec("finish-reason", "stop"), Completion("x", finish_reason="stop"), True),
        (AssertionSpec("finish-reason", "stop"), Completion("x", finish_reason="length"), False),
        (AssertionSpec("not-finish-reason", "length"), Completion("x", finish_reason="stop"), True),
    ],
)
def test_latency_cost_and_finish_reason_judge_what_the_call_measured(assertion, measured, passes):
    assert asyncio.run(score_output((assertion,), None, "x", response=measured)).passed is passes


def test_a_measurement_the_call_did_not_report_is_an_error_not_a_pass():
    unpriced = AssertionSpec("not-cost", threshold=0.001, file="s.yaml", line=7)
    with pytest.raises(AssertionBroken) as caught:
        asyncio.run(score_output((unpriced,), None, "x", response=Completion("x")))
    assert str(caught.value).startswith("s.yaml:7: not-cost: the model has no price")


class ScriptedCaller:
    """The grader's model: answers with the given JSON and keeps the messages it was asked."""

    def __init__(self, reply: str):
        self.reply, self.asked = reply, []

    async def complete(self, spec, messages):
        self.asked.append(messages)
        return Completion(self.reply)


def graded(assertion: AssertionSpec, reply: str, output: str = "Refunds take 30 days.") -> tuple[bool, ScriptedCaller]:
    caller = ScriptedCaller(reply)
    outcome = asyncio.run(score_output((assertion,), None, output, ModelGrader(caller)))
    return outcome.passed, caller


@pytest.mark.parametrize(
    "assertion, reply, passes",
    [
        (AssertionSpec("factuality", "Refunds within 30 days"), '{"category": "C", "reason": "same"}', True),
        (AssertionSpec("factuality", "Refunds within 60 days"), '{"category": "D", "reason": "disagrees"}', False),
        (AssertionSpec("model-graded-closedqa", "mentions a deadline"), '{"pass": true}', True),
    ],
)
def test_model_graded_types_follow_the_graders_verdict_and_promptfoos_pass_marks(assertion, reply, passes):
    # g-eval, answer-relevance and the context-* checks take several steps: tests/evals/test_graded_steps.py
    assert graded(assertion, reply)[0] is passes


def test_options_factuality_scores_the_categories_as_the_suite_says():
    strict = (("A", 1.0), ("B", 0.0), ("C", 1.0), ("D", 0.0), ("E", 0.5))
    superset = AssertionSpec("factuality", "Refunds within 30 days", factuality=strict)
    assert graded(superset, '{"category": "B", "reason": "adds details"}')[0] is False  # passes by default
    assert graded(superset, '{"category": "E", "reason": "differs"}')[0] is True
    forgiving = AssertionSpec("factuality", "Refunds within 30 days", factuality=(("A", 1.0), ("B", 1.0), ("C", 1.0), ("D", 0.3), ("E", 1.0)))
    assert graded(forgiving, '{"category": "D", "reason": "disagrees"}')[0] is True


def test_options_factuality_is_read_from_the_test_or_default_test():
    path = "evals/promptfooconfig.yaml"
    suite = ("prompts: ['{{q}}']\nproviders: [openai:chat:gpt-4o-mini]\n"
             "defaultTest:\n  options:\n    factuality: {superset: 0}\n"
             "tests:\n  - vars: {q: a}\n    assert: [{type: factuality, value: x}]\n"
             "  - vars: {q: b}\n    options: {factuality: {disagree: 1}}\n    assert: [{type: factuality, value: x}]\n")
    loaded, errors = load_suite(MemoryTree({path: suite}), path)
    assert errors == []
    first, second = (dict(t.asserts[0].factuality) for t in loaded.tests)
    assert (first["B"], first["D"]) == (0.0, 0.0) and (second["B"], second["D"]) == (1.0, 1.0)
    _, errors = load_suite(MemoryTree({path: suite.replace("{disagree: 1}", "{disagrees: 1, agree: high}")}), path)
    assert sorted(f"{e.line}: {e.message}" for e in errors) == [
        "10: a factuality score must be a number",
        "10: unknown factuality category 'disagrees' (categories: agree, differButFactual, disagree, subset, superset)"]


def test_context_checks_show_the_grader_the_tests_context_and_question():
    spec = AssertionSpec("context-relevance", inputs=(("query", "How long for refunds?"), ("context", "Refunds within 30 days.")))
    _, caller = graded(spec, '{"score": 1}')
    (messages,) = caller.asked
    assert "How long for refunds?" in messages[1][1] and "Refunds within 30 days." in messages[1][1]


def test_a_rubric_prompt_replaces_the_graders_instructions():
    spec = AssertionSpec("llm-rubric", "is polite", rubric_prompt='[{"role": "system", "content": "Judge {{ output | dump }} by: {{rubric}}"}]')
    passed, caller = graded(spec, '{"pass": false, "score": 0}', output='say "hi"')
    assert passed is False
    assert caller.asked == [(("system", 'Judge "say \\"hi\\"" by: is polite'),)]


def _code_context():
    from bot.evals.assertions import CodeContext
    from bot.evals.sandbox import CodeLimits

    return CodeContext({"city": "Paris"}, "Where?", {"vars": {"city": "Paris"}}, {"id": "openai:chat:gpt-4o"},
                       CodeLimits(timeout_s=2.0))


def test_a_test_transform_reshapes_the_output_every_assertion_sees():
    from bot.evals.sandbox import JsCode

    asserts = (AssertionSpec("equals", "PARIS"), AssertionSpec("javascript", "x", code=JsCode.inline("output === 'PARIS'")))
    outcome = asyncio.run(score_output(asserts, None, " paris ", context=_code_context(),
                                       output_transform=JsCode.inline("output.trim().toUpperCase()")))
    assert outcome.passed and outcome.failed == ()


def test_a_transform_returning_an_object_is_json_to_text_checks_and_an_object_to_code():
    from bot.evals.sandbox import JsCode, PyCode

    asserts = (AssertionSpec("contains", '"n":2'),
               AssertionSpec("python", "x", code=PyCode.inline("output['n'] == 2 and context['vars']['city'] == 'Paris'")))
    outcome = asyncio.run(score_output(asserts, None, "2", context=_code_context(),
                                       output_transform=JsCode.inline("({n: Number(output)})")))
    assert outcome.passed, outcome


def test_code_stopped_by_a_limit_is_a_case_error_never_a_pass_even_negated():
    from bot.core.errors import CheckError
    from bot.evals.sandbox import JsCode

    a = AssertionSpec("not-javascript", "x", code=JsCode.inline("while (true) {}\nreturn true"), file="s.yaml", line=9)
    with pytest.raises(AssertionBroken) as exc:
        asyncio.run(score_output((a,), None, "out", context=_code_context()))
    assert exc.value.kind is CheckError.ASSERTION
    assert (exc.value.error.file, exc.value.error.line) == ("s.yaml", 9)
    assert "ran longer than 2 s" in exc.value.error.message


def test_a_numeric_code_score_weighs_into_the_test_threshold():
    from bot.evals.sandbox import JsCode

    asserts = (AssertionSpec("javascript", "x", code=JsCode.inline("0.5")), AssertionSpec("contains", "out"))
    assert asyncio.run(score_output(asserts, 0.7, "out", context=_code_context())).passed  # (0.5 + 1) / 2
    assert not asyncio.run(score_output(asserts, 0.8, "out", context=_code_context())).passed
