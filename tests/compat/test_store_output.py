"""options.storeOutputAs: a test's output (after its options.transform) becomes a var of the tests after it,
as promptfoo runs such a suite in order; a `{{ name }}` of a stored var inside another var's text is
filled in. Run through the eval engine against the scripted model server (it repeats the quoted text).
"""

from __future__ import annotations

from bot.evals import CaseStatus, MemoryCache
from tests.compat.reviewing import PATH
from tests.compat.reviewing import review_suite as run
from tests.compat.test_features import ok, refused

CHAIN = (
    "prompts: ['Reply with exactly \"{{message}}\".']\nproviders: [openai:chat:gpt-4o-mini]\n"
    "tests:\n"
    "  - description: pick\n"
    "    vars: {message: Mango season is here}\n"
    "    options: {storeOutputAs: fruit, transform: \"output.split(' ')[0]\"}\n"
    "  - description: why\n"
    "    vars: {message: 'I like {{fruit}} a lot'}\n"
    "    options: {storeOutputAs: reason}\n"
    "    assert: [{type: equals, value: I like Mango a lot}]\n"
    "  - description: rebuttal\n"
    "    vars: {message: 'You said {{reason}} and {{unknown}}'}\n"
    "    assert: [{type: contains, value: 'You said I like Mango a lot and {{unknown}}'}]\n"
)


def test_later_tests_see_the_transformed_output_an_earlier_test_stored(server_url):
    report = run(server_url, CHAIN)
    cases = {c.description: c.head for c in report.cases()}
    assert cases["pick"].output == "Mango season is here"
    assert cases["why"].output == "I like Mango a lot" and cases["why"].passed
    assert cases["rebuttal"].passed, cases["rebuttal"]  # a name nothing stored stays as written


def test_a_change_to_an_early_test_reruns_the_tests_that_read_its_output(server_url):
    head = CHAIN.replace("Mango season is here", "Papaya season is here")
    report = run(server_url, CHAIN, head, MemoryCache())
    assert {c.description: c.status for c in report.cases()} == {
        "pick": CaseStatus.STILL_PASSING, "why": CaseStatus.REGRESSED, "rebuttal": CaseStatus.REGRESSED,
    }
    why = next(c for c in report.cases() if c.description == "why")
    assert why.head.output == "I like Papaya a lot"
    assert why.reasons == ("runs in order with the outputs earlier tests store (storeOutputAs)",)


def test_store_output_as_must_name_a_var():
    suite = ok(CHAIN)
    assert [t.store_output_as for t in suite.tests] == ["fruit", "reason", None]
    errors = refused(CHAIN.replace("storeOutputAs: reason", "storeOutputAs: 'the reason'"))
    assert errors == [f"{PATH}:9: storeOutputAs must be a var name (letters, digits, _)"]
