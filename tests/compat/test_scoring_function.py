"""promptfoo's `assertScoringFunction`: a JavaScript or Python function (the test's, else defaultTest's) that gets
the named scores (each metric's weighted mean) and the assertions' results, and returns the test's verdict
{pass, score, reason}; a throw or another shape fails the test with score 0 ("Scoring function error: …"),
a limit is a case error. Run in the sandbox when the test's assertions are combined, under the code gate."""

from __future__ import annotations

import asyncio

import pytest

from bot.core.config import EvalsConfig
from bot.core.files import MemoryTree
from bot.evals.assertions import AssertionBroken, CodeContext, Outcome, score_output
from bot.evals.loader import load_suite
from bot.evals.runner import cache_key
from bot.evals.sandbox import CodeLimits, Origin, may_run
from bot.evals.render import Renderer
from bot.evals.select import base_only_gate, expand, plan_suite

PATH = "evals/promptfooconfig.yaml"
MINIMUM = """\
const lowest = (namedScores, context) => {
  const score = Math.min(...Object.values(namedScores));
  const threshold = context?.threshold ?? 0.7;
  return { pass: score >= threshold, score, reason: `minimum ${score} of ${Object.keys(namedScores).sort().join(',')}` };
};
module.exports = { lowest };
"""
ACCURACY = """\
def accuracy_only(named_scores, context=None):
    score = named_scores.get("accuracy", 0)
    return {"pass": score >= context.get("threshold", 0.7), "score": score,
            "reason": f"accuracy {score}; {len(context['componentResults'])} results"}
"""
DEFAULT = "module.exports = (scores, context) => ({pass: true, score: 0.5, reason: 'default ' + context.componentResults.length});\n"
FILES = {"evals/min.js": MINIMUM, "evals/acc.py": ACCURACY, "evals/default.js": DEFAULT,
         "evals/throws.js": "module.exports = () => { throw new Error('no scores today'); };\n",
         "evals/shape.js": "module.exports = () => ({passed: true});\n",
         "evals/loop.js": "module.exports = () => { while (true) {} };\n",
         "evals/func.js": "module.exports = { func: () => ({pass: true, score: 0.25, reason: 'func'}) };\n",
         "evals/esm.mjs": "export default function score() { return {pass: true, score: 0.75, reason: 'esm'}; }\n",
         "evals/typed.ts": "type Scores = Record<string, number>;\n"
                           "export default function score(scores: Scores): {pass: boolean; score: number; reason: string} {\n"
                           "  return {pass: true, score: 0.5 as number, reason: 'typed'};\n}\n"}
ASSERTS = """\
    assert:
      - {type: contains, value: pie, metric: accuracy}
      - {type: contains, value: tart, metric: fluency}
      - {type: icontains, value: APPLE, metric: fluency}
"""


def suite(test_extra: str, default_extra: str = "", files: dict[str, str] | None = None):
    text = (f"prompts: ['{{{{word}}}}']\nproviders: [echo]\ndefaultTest:\n  vars: {{x: 1}}\n{default_extra}"
            f"tests:\n  - vars: {{word: apple pie}}\n{ASSERTS}{test_extra}")
    loaded, errors = load_suite(MemoryTree({PATH: text, **FILES, **(files or {})}), PATH)
    return loaded, errors


def outcome(test_extra: str, default_extra: str = "", output: str = "apple pie", limits: CodeLimits = CodeLimits()) -> Outcome | AssertionBroken:
    loaded, errors = suite(test_extra, default_extra)
    assert errors == [] and loaded is not None, errors
    test = loaded.tests[0]
    context = CodeContext(test.vars, output, {"vars": test.vars}, {"id": "echo"}, limits, PATH, test.line)
    try:
        return asyncio.run(score_output(test.asserts, test.threshold, output, context=context, scoring=test.scoring))
    except AssertionBroken as exc:
        return exc


def test_without_a_scoring_function_the_weighted_mean_decides():
    got = outcome("")
    assert isinstance(got, Outcome) and not got.passed and got.score == pytest.approx(2 / 3)


def test_a_javascript_scoring_function_gets_the_named_scores_and_decides():
    got = outcome("    assertScoringFunction: file://min.js:lowest\n")
    # accuracy 1; fluency the mean of 0 (no tart) and 1 (APPLE): 0.5
    assert isinstance(got, Outcome) and (got.passed, got.score) == (False, 0.5)
    assert got.failed[-1] == "assertScoringFunction: minimum 0.5 of accuracy,fluency"


def test_the_tests_threshold_reaches_the_scoring_function():
    got = outcome("    threshold: 0.5\n    assertScoringFunction: file://min.js:lowest\n")
    assert isinstance(got, Outcome) and (got.passed, got.score, got.failed) == (True, 0.5, ())


def test_a_python_scoring_function_without_a_threshold_reads_its_default():
    got = outcome("    assertScoringFunction: file://acc.py:accuracy_only\n")
    assert isinstance(got, Outcome) and (got.passed, got.score, got.failed) == (True, 1.0, ())


def test_defaultTests_scoring_function_is_used_unless_the_test_names_its_own():
    got = outcome("", "  assertScoringFunction: file://default.js\n")
    assert isinstance(got, Outcome) and (got.passed, got.score) == (True, 0.5)
    own = outcome("    assertScoringFunction: file://min.js:lowest\n", "  assertScoringFunction: file://default.js\n")
    assert isinstance(own, Outcome) and own.score == 0.5 and not own.passed


@pytest.mark.parametrize("ref, score", [("file://func.js", 0.25), ("file://esm.mjs", 0.75), ("file://typed.ts", 0.5)])
def test_a_javascript_file_without_a_name_gives_its_func_or_default_export(ref, score):
    got = outcome(f"    assertScoringFunction: {ref}\n")
    assert isinstance(got, Outcome) and (got.passed, got.score) == (True, score)


@pytest.mark.parametrize("ref, reason", [
    ("file://min.js:highest", "assertScoringFunction: Scoring function error: Error: evals/min.js must export a 'highest' function"),
    ("file://throws.js", "assertScoringFunction: Scoring function error: Error: no scores today"),
    ("file://shape.js", "assertScoringFunction: Scoring function error: assertion scoring function must return a GradingResult"),
])
def test_a_scoring_function_that_throws_or_answers_another_shape_fails_the_test_with_score_0(ref, reason):
    got = outcome(f"    assertScoringFunction: {ref}\n", output="apple pie tart")  # every assertion passes
    assert isinstance(got, Outcome) and (got.passed, got.score) == (False, 0.0)
    assert got.failed[-1].startswith(reason), got.failed


def test_a_scoring_function_stopped_by_a_limit_is_a_case_error_at_the_tests_line():
    got = outcome("    assertScoringFunction: file://loop.js\n", limits=CodeLimits(timeout_s=0.5))
    assert isinstance(got, AssertionBroken)
    assert str(got).startswith(f"{PATH}:6: assertScoringFunction (evals/loop.js): ") and "code_timeout_s" in str(got)


@pytest.mark.parametrize("value, words", [
    ("'(scores) => ({pass: true, score: 1, reason: \"x\"})'", "assertScoringFunction must be a JavaScript (.js, .cjs, .mjs), TypeScript (.ts, .mts, .cts, .tsx) or Python (.py) file"),
    ("file://score.rb", "must be a JavaScript"),
    ("file://score.tsx", "score.tsx does not exist"),
    ("file://score.ts", "score.ts does not exist"),
    ("file://missing.js", "missing.js does not exist"),
])
def test_a_scoring_function_that_cannot_be_read_is_a_load_error_at_its_line(value, words):
    _loaded, errors = suite(f"    assertScoringFunction: {value}\n")
    assert [e.line for e in errors] == [11] and words in errors[0].message, errors


def test_a_fork_adding_a_scoring_function_is_refused_at_the_tests_line():
    base_text = "prompts: ['{{word}}']\nproviders: [echo]\ntests:\n  - vars: {word: apple pie}\n" + ASSERTS
    head_text = base_text + "    assertScoringFunction: file://min.js:lowest\n"
    base, head = MemoryTree({PATH: base_text, **FILES}), MemoryTree({PATH: head_text, **FILES})
    (base_suite, _), (head_suite, errors) = load_suite(base, PATH), load_suite(head, PATH)
    assert errors == []
    plan = plan_suite(PATH, base, head, base_suite, head_suite, pr_code=lambda what: may_run(Origin.PR, False, EvalsConfig(), what))
    (case,) = plan.cases
    assert case.reasons == ("assertScoringFunction changed",)
    assert cache_key(case.base, 0) != cache_key(case.head, 0)
    assert case.base.error is None
    assert case.head.error.message.startswith("refused: executes code from a fork's pull request (assertScoringFunction)")
    assert (case.head.error.file, case.head.error.line) == (PATH, 4)
    # the base branch's scoring function is the base's code on the head too: it runs for the fork
    (merged,) = expand(head_suite, Renderer(head), gate=base_only_gate(head_suite))[0].values()
    assert merged.error is None and merged.test.scoring is not None
