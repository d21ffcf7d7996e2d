"""A suite means what it means under promptfoo (js-yaml, YAML 1.2): unquoted `yes`/`no`/`on`/`off`
are text in vars and assertion values, and `010` is ten — inline and in file:// test sheets."""

from __future__ import annotations

import asyncio

from bot.core.files import MemoryTree
from bot.evals.assertions import score_output
from bot.evals.loader import load_suite

SUITE = """\
prompts: ["Answer {{ question }} (code {{ code }}, opt-in {{ opt_in }})"]
providers: [openai:chat:gpt-4o]
tests:
  - description: yes-no question
    vars: {question: is it free, code: 010, opt_in: on}
    assert:
      - type: equals
        value: no
      - type: not-contains
        value: off
  - file://more_tests.yaml
"""
MORE_TESTS = """\
- description: from a test sheet
  vars: {question: y, code: 0x10, opt_in: off}
  assert:
    - type: starts-with
      value: yes
"""


def test_unquoted_yes_no_on_off_and_leading_zero_numbers_mean_what_promptfoo_reads():
    suite, errors = load_suite(MemoryTree({"promptfooconfig.yaml": SUITE, "more_tests.yaml": MORE_TESTS}), "promptfooconfig.yaml")
    assert errors == []
    first, second = suite.tests
    assert first.vars == {"question": "is it free", "code": 10, "opt_in": "on"}
    assert [(a.type, a.value) for a in first.asserts] == [("equals", "no"), ("not-contains", "off")]
    assert second.vars == {"question": "y", "code": 16, "opt_in": "off"}
    assert [(a.type, a.value) for a in second.asserts] == [("starts-with", "yes")]
    # and they score as text: a model answering "no" passes `equals: no` (YAML 1.1 made it `False`)
    assert asyncio.run(score_output(first.asserts, None, "no")).passed
    assert not asyncio.run(score_output(first.asserts, None, "no, it is off")).passed
