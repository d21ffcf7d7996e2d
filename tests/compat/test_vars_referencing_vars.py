"""promptfoo resolves vars that name other vars before it renders a prompt (`sentence: "tweet about
{{topic}}"`), after dropping one trailing newline from each text var. Cases see the resolved vars: the
prompt, the assertion values and the vars the checks read."""

from __future__ import annotations

from bot.evals.select import promptfoo_vars
from tests.compat.reviewing import expanded_cases as cases


def test_a_var_that_names_another_var_is_sent_with_its_value():
    [case] = cases(
        "prompts: ['Write a {{sentence}}']\nproviders: [openai:chat:gpt-4o-mini]\n"
        "tests:\n  - vars: {sentence: 'tweet about {{topic}}', topic: bananas}\n"
        "    assert: [{type: contains, value: '{{sentence}}'}]\n"
    )
    assert case.messages == (("user", "Write a tweet about bananas"),)
    assert case.asserts[0].value == "tweet about bananas"
    assert case.case_vars["sentence"] == "tweet about bananas"


def test_one_trailing_newline_of_a_var_is_dropped_as_promptfoo_does():
    [case] = cases(
        "prompts: ['[{{question}}]']\nproviders: [openai:chat:gpt-4o-mini]\n"
        "tests:\n  - vars:\n      question: |+\n        Where is my order?\n\n"
    )
    assert case.messages == (("user", "[Where is my order?\n]"),)


def test_resolution_follows_promptfoos_passes():
    # chains resolve over several passes; the first reference decides (an unknown name stops that var)
    assert promptfoo_vars({"a": "{{b}} and {{c}}", "b": "{{c}}!", "c": "x\n"}) == {"a": "x! and x", "b": "x!", "c": "x"}
    assert promptfoo_vars({"a": "{{missing}} {{b}}", "b": "B"}) == {"a": "{{missing}} {{b}}", "b": "B"}
    assert promptfoo_vars({"a": "{{ n }} items, {{flag}}", "n": 3, "flag": True}) == {"a": "3 items, true", "n": 3, "flag": True}
    # a value is substituted as JavaScript's String.replace does, `$&` and `$$` included
    assert promptfoo_vars({"a": "total {{p}}", "p": "$$5"})["a"] == "total $5"
    # a var naming itself never ends
    assert promptfoo_vars({"a": "{{a}}"}) == {"a": "{{a}}"}
