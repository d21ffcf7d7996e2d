"""Test options that shape the cases, as promptfoo reads them (its options are merged over defaultTest's):
`prefix`/`suffix` join the prompt's raw text before it is rendered, `disableVarExpansion` keeps a list
var one value, `disableDefaultAsserts` drops defaultTest's assertions, `delay` paces promptfoo's own run
(no effect), and a `repeat` other than 1 is the base branch's `evals.repeats` to decide."""

from __future__ import annotations

import json

from bot.core.files import MemoryTree
from bot.evals.loader import load_suite
from tests.compat.reviewing import PATH
from tests.compat.reviewing import expanded_cases as cases


def test_prefix_and_suffix_join_the_raw_prompt_before_it_is_rendered():
    chat = json.dumps([{"role": "user", "content": "Hi {{name}}"}])
    got = cases(
        f"prompts:\n  - {{id: 'Hello {{{{name}}}}', label: text}}\n  - {{id: '{chat}', label: chat}}\n"
        "providers: [openai:chat:gpt-4o-mini]\n"
        "defaultTest:\n  options: {prefix: 'Be brief. '}\n"
        "tests:\n  - vars: {name: Ada}\n    options: {suffix: ' ({{name}}!)'}\n  - vars: {name: Bo}\n    options: {prefix: ''}\n"
    )
    assert [c.messages for c in got] == [
        # a chat prompt's JSON with text around it is no longer a message list: promptfoo sends it as text
        (("user", 'Be brief. [{"role": "user", "content": "Hi Ada"}] (Ada!)'),),
        (("user", "Be brief. Hello Ada (Ada!)"),),
        (("user", "Be brief. " + chat.replace("{{name}}", "Bo")),),  # an empty prefix falls back to defaultTest's
        (("user", "Be brief. Hello Bo"),),
    ]


def test_disable_var_expansion_keeps_a_list_var_one_value_and_default_asserts_can_be_dropped():
    got = cases(
        "prompts: ['Topics: {{topics}}']\nproviders: [openai:chat:gpt-4o-mini]\n"
        "defaultTest:\n  assert: [{type: contains, value: Topics}]\n  options: {delay: 500}\n"
        "tests:\n  - vars: {topics: [tea, cake]}\n"
        "  - vars: {topics: [tea, cake]}\n    options: {disableVarExpansion: true, disableDefaultAsserts: true}\n"
        "    assert: [{type: icontains, value: tea}]\n"
    )
    assert [(c.test.vars["topics"], [a.type for a in c.asserts]) for c in got] == [
        ("tea", ["contains"]), ("cake", ["contains"]), (["tea", "cake"], ["icontains"])]


def test_options_with_the_wrong_shape_or_a_repeat_are_errors_with_their_lines():
    tree = MemoryTree({PATH: "prompts: ['{{q}}']\nproviders: [openai:chat:gpt-4o-mini]\ntests:\n  - vars: {q: a}\n"
                             "    options:\n      prefix: [x]\n      disableVarExpansion: 'yes'\n      repeat: 3\n"})
    loaded, errors = load_suite(tree, PATH)
    assert loaded is None
    assert [f"{e.line}: {e.message}" for e in errors] == [
        "6: options.prefix must be text",
        "7: options.disableVarExpansion must be true or false",
        "8: unsupported: options.repeat; set evals.repeats in .github/prompt-review.yml (the base branch decides)",
    ]
