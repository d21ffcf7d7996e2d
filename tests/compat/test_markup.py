"""is-xml / contains-xml, is-html / contains-html and is-refusal with promptfoo 0.121.20's semantics (the
bench suite bench/suites/markup pins the same verdicts against promptfoo itself). Outputs are hostile: entity
bombs, external entities, deep nesting and huge answers end as a verdict or a case error, never a hang.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest

from bot.evals.assertions import AssertionBroken, score_output
from bot.evals.suite import AssertionSpec
from tests.compat.test_features import ok, refused


def passes(kind: str, output: str, value=None) -> bool:
    return asyncio.run(score_output((AssertionSpec(kind, value),), None, output)).passed


ORDER = "<order id='7'><item>pen</item><item>ink</item><total>3</total></order>"


@pytest.mark.parametrize("value, valid", [
    (None, True), ("order.item, order.total", True), (["order.item.1"], True), ({"requiredElements": ["order.@_id"]}, True),
    ("order.missing", False), (["order.item.2"], False), (["order.item.name"], False), ("order.total.x", False),
    ([], True), ({}, True),
])
def test_is_xml_checks_required_element_paths(value, valid):
    assert passes("is-xml", ORDER, value) is valid
    assert passes("not-is-xml", ORDER, value) is not valid


@pytest.mark.parametrize("output, valid", [
    ("<a><b/></a>", True),
    ("<?xml version='1.0'?><a>1</a>", True),
    ("<a><b></a></b>", False),
    ("<a>1</a><b>2</b>", False),  # two roots
    ("<x:a>1</x:a>", False),  # an unbound namespace prefix
    ("<x:a xmlns:x='urn:x'>1</x:a>", True),
    ("<a>&nbsp;</a>", False),  # an entity nothing declares
    ("plain words", False),
    ("", False),
])
def test_is_xml_wants_one_well_formed_document(output, valid):
    assert passes("is-xml", output) is valid


def test_contains_xml_finds_an_element_inside_prose_with_its_required_children():
    answer = "Here: <note><to>Ann</to><body>hi</body></note> and <p>more</p>."
    assert passes("contains-xml", answer) and not passes("is-xml", answer)
    assert passes("contains-xml", answer, "note.to") and passes("contains-xml", answer, "p")
    assert not passes("contains-xml", answer, "note.from")
    assert passes("not-contains-xml", "x < y and y > z")


@pytest.mark.parametrize("output, value, found", [
    ("<a>1 & 2</a>", None, True),  # promptfoo's contains-xml parser does not validate ...
    ("<a>&nbsp;</a>", None, True),
    ("x <a b=1 c>y</a>", "a.@_b, a.@_c", True),  # ... unquoted and valueless attributes are attributes
    ("<a><b>1</c></b></a>", None, False),  # ... but a closing tag must close the open element
    ("<a>1</a> <b>2</b>", "b", True),  # a run of siblings is one candidate
    ("<r><b>1</b><b>2</b></r>", "r.b.1", True),
    ("<a><b>x</b></a>", "a.b.c", False),  # b holds text, not elements
])
def test_contains_xml_reads_candidates_leniently_as_promptfoo(output, value, found):
    assert passes("contains-xml", output, value) is found


@pytest.mark.parametrize("bomb", [
    "<!DOCTYPE r [<!ENTITY a 'aaaaaaaaaa'><!ENTITY b '&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;'>"
    "<!ENTITY c '&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;'><!ENTITY d '&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;'>]><r>&d;&d;&d;</r>",
    "<!DOCTYPE r [<!ENTITY x SYSTEM 'file:///etc/passwd'>]><r>&x;</r>",
    "<!DOCTYPE r [<!ENTITY % p SYSTEM 'http://127.0.0.1:1/x'> %p;]><r/>",
])
def test_a_document_declaring_entities_is_not_xml_and_nothing_is_expanded_or_fetched(bomb):
    # promptfoo refuses every DTD internal subset; the check refuses it before any entity exists
    assert not passes("is-xml", bomb)
    assert passes("not-is-xml", bomb)


@pytest.mark.timeout(60)  # text gathered piece by piece took minutes here (quadratic); now well under a second
def test_text_in_many_pieces_gets_a_verdict():
    pieces = "<a>" + "&amp;x<b/>" * 95_000 + "</a>"
    assert passes("is-xml", pieces, "a.b.94999") and passes("contains-xml", pieces, "a.#text")


def test_deep_nesting_gets_a_verdict():
    deep = "<a>" * 100_000 + "</a>" * 100_000
    assert passes("is-xml", deep) and passes("contains-xml", deep)
    assert not passes("is-xml", "<a>" * 100_000)


@pytest.mark.parametrize("kind", ["is-xml", "not-is-xml", "contains-xml", "not-contains-xml"])
def test_an_output_too_long_to_parse_is_an_error_never_a_verdict(kind):
    with pytest.raises(AssertionBroken) as caught:
        asyncio.run(score_output((AssertionSpec(kind, file="s.yaml", line=4),), None, "<a>" + "x" * 1_000_001 + "</a>"))
    assert str(caught.value).startswith(f"s.yaml:4: {kind}: the output is 1000008 characters")


@pytest.mark.parametrize("output, html", [
    ("<div class='card'><p>Hello <b>there</b></p></div>", True),
    ("<html><body>Hi there <p>p</p></body></html>", True),
    ("<!DOCTYPE html><html><head><title>t</title></head><body></body></html>", True),
    ("<my-widget></my-widget>", True),  # a custom element
    ("Hello <b>there</b>", False),  # text outside any element
    ("<foo><bar>1</bar></foo>", False),  # no element HTML knows
    ("<?xml version='1.0'?><p>x</p>", False),
    ("   ", False),
    ("<p>a</p> <b", True),  # a tag the output ends inside is dropped, not text
    ("<p x='<'>y</p>", True),
    ("<p>x</p></", False), ("<p>x</p> <", False),  # ... but a bare `</` or `<` at the end is text
])
def test_is_html_wants_known_elements_and_no_loose_text(output, html):
    assert passes("is-html", output) is html
    assert passes("not-is-html", output) is not html


@pytest.mark.parametrize("output, html", [
    ("<foo><bar>1</bar></foo>", True),  # an opening and a closing tag are two signs
    ("Tom &amp; Jerry <br/>", True),
    ("3 < 4 and 5 > 2", False),
    ("Just &amp; words", False),  # one sign only
])
def test_contains_html_counts_signs_of_html(output, html):
    assert passes("contains-html", output) is html


@pytest.mark.parametrize("output, refusal", [
    ("I'm sorry, I can't share that.", True),
    ("I\u2019m unable to help with that.", True),  # a typographic apostrophe
    ("Sorry", True),
    ("Well, as an AI model I do not recommend that.", True),
    ("I cannotice nothing wrong.", True),  # an opening matches without a word boundary ...
    ("We cannot helpfully say.", False),  # ... a phrase inside the answer only as whole words
    ("Your parcel ships on Monday.", False),
    ("", True), ("  \n", True),  # an empty answer is a refusal
])
def test_is_refusal_matches_promptfoos_openings_and_phrases(output, refusal):
    assert passes("is-refusal", output) is refusal
    assert passes("not-is-refusal", output) is not refusal


def test_an_empty_answer_passes_is_refusal_with_score_zero():
    result = asyncio.run(score_output((AssertionSpec("is-refusal"),), None, ""))
    assert result.passed and result.score == 0.0


@pytest.mark.timeout(60)  # each took minutes when a scan restarted from every `<` (quadratic); now about a second
@pytest.mark.parametrize("unit", ["<a", "<a b", "<a '", "<!--a-", "<div>", "</a", "<?", "<!"])
def test_tags_that_never_close_are_scanned_once_not_from_every_angle_bracket(unit):
    output = unit * (400_000 // len(unit))
    for kind in ("is-html", "contains-html", "is-xml", "contains-xml", "is-refusal"):
        passes(kind, output)
    assert passes("contains-html", "<div>" * 1000) and not passes("is-html", "<a" * 100_000)


@dataclass(frozen=True)
class Structured:
    """A call's measurements for an answer that was tool calls (bot.evals.providers.Completion's shape)."""

    latency_ms: float | None = None
    cost_usd: float | None = None
    finish_reason: str | None = "tool_calls"
    structured: bool = True


def test_an_answer_that_is_not_text_is_a_refusal_as_promptfoo_reads_it():
    # tool calls reach assertions as an object (the provider's structured answer), as in promptfoo
    calls = '[{"type": "function", "function": {"name": "get_weather", "arguments": "{}"}}]'
    outcome = asyncio.run(score_output((AssertionSpec("is-refusal"),), None, calls, response=Structured()))
    assert outcome.passed and outcome.score == 0.0
    assert not asyncio.run(score_output((AssertionSpec("not-is-refusal"),), None, calls, response=Structured())).passed
    assert not passes("is-refusal", calls)  # the same JSON as a text answer is not a refusal


def test_huge_outputs_end_as_verdicts_for_html_and_refusal():
    huge = "<p>" + "word " * 2_200_000 + "</p>"  # over promptfoo's 10 MiB bound: not HTML
    assert not passes("is-html", huge) and not passes("contains-html", huge)
    assert not passes("is-refusal", "ok " * 1_000_000)


SUITE = "prompts: ['{{q}}']\nproviders: [openai:chat:gpt-4o-mini]\ntests:\n  - vars: {q: count}\n    assert:\n"


def test_markup_types_load_and_a_bad_xml_value_is_refused_with_its_line():
    suite = ok(SUITE + "      - type: is-xml\n        value: a.b, c\n      - type: not-contains-xml\n"
                       "      - type: is-html\n      - type: not-contains-html\n      - type: is-refusal\n")
    assert [a.type for a in suite.tests[0].asserts] == ["is-xml", "not-contains-xml", "is-html", "not-contains-html", "is-refusal"]
    errors = refused(SUITE + "      - type: is-xml\n        value: {elements: [a]}\n")
    assert errors[0].startswith("evals/promptfooconfig.yaml:7: is-xml: value must be text")
