"""A var the test does not give, and an attribute of it, print as nothing, as nunjucks prints them (its member lookup
on an undefined value is undefined): `{{context.originalText}}` in a real user's rubric rendered nothing in promptfoo
and was an error here. Calling an undefined value stays an error, and the sandbox's refusals still stop the render."""

from __future__ import annotations

from bot.core.files import MemoryTree
from bot.evals.loader import load_suite
from bot.evals.render import Renderer
from bot.evals.select import CodeGate, expand

PATH = "evals/promptfooconfig.yaml"


def rendered(prompt: str):
    tree = MemoryTree({PATH: f"prompts: [{prompt!r}]\nproviders: [openai:chat:gpt-4o]\ntests:\n  - vars: {{word: hi}}\n"})
    loaded, errors = load_suite(tree, PATH)
    assert errors == [], [str(e) for e in errors]
    found, problems = expand(loaded, Renderer(tree), gate=CodeGate())
    (case,) = found.values()
    return case


def test_an_undefined_var_and_its_attributes_print_as_nothing():
    case = rendered("[{{ context.originalText }}][{{ missing }}][{{ a.b['c'].d }}] {{ word }}")
    assert case.error is None and case.messages == (("user", "[][][] hi"),)


def test_calling_an_undefined_value_or_an_unsafe_attribute_is_still_an_error():
    assert "'missing' is undefined" in rendered("{{ missing() }}").error.message
    assert "access to attribute '__class__' of 'str' object is unsafe" in rendered("{{ word.__class__ }}").error.message
