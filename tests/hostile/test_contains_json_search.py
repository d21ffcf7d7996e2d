"""contains-json looks for JSON from every place an object or array could start; an answer built to
make that search slow (100k `{`, nested arrays that never close) is searched within a linear bound,
and one it could not search fully makes the case an error — neither pass nor fail."""

from __future__ import annotations

import asyncio
import time

import pytest

from bot.evals.assertions import AssertionBroken, score_output
from bot.evals.suite import AssertionSpec

CONTAINS = AssertionSpec("contains-json", None)


def _score(output: str, spec: AssertionSpec = CONTAINS):
    return asyncio.run(score_output((spec,), None, output))


def test_an_answer_of_200k_open_braces_is_judged_at_once_and_json_among_braces_is_still_found():
    started = time.monotonic()
    outcome = _score("{" * 200_000)
    assert time.monotonic() - started < 5  # ~0.05 s here; the search from every brace took ~30 s
    assert not outcome.passed
    answer = "In code we write {x} and [i] and {{ q }}; the result: {\"refund\": false, \"days\": [30]} — and [ true ]"
    assert _score(answer).passed
    assert _score(answer, AssertionSpec("contains-json", {"type": "object", "required": ["refund"]})).passed


def test_unclosed_nested_arrays_cut_the_search_short_and_make_the_case_an_error():
    hostile = ("[" * 900 + "x") * 200  # every bracket starts a 900-deep decode that fails at the end
    for spec in (CONTAINS, AssertionSpec("not-contains-json", None)):
        with pytest.raises(AssertionBroken) as raised:
            _score(hostile, spec)
        assert "the output was not fully searched for JSON" in str(raised.value)

