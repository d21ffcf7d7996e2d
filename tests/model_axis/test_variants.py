"""Per-model prompt variants (a provider's `prompts:` selects the prompts it runs): which file serves which
model, and the comment's order that puts a prompt's changed variants together."""

from __future__ import annotations

from bot.core.files import MemoryTree
from bot.core.report import PromptVariant
from bot.core.variants import VariantGroup, group_order
from bot.evals.loader import load_suite
from bot.evals.variants import suite_variants
from tests.model_axis.common import CLAUDE, FILES, MINI

SUITE = """\
prompts:
  - file://../prompts/greet.txt
  - file://../prompts/greet.claude.txt
providers:
  - id: openai:chat:gpt-4o-mini
    prompts: [prompts/greet.txt]
  - id: anthropic:messages:claude-3-5-haiku-latest
    prompts: [prompts/greet.claude.txt]
tests:
  - vars: {name: Ann}
    assert: [{type: icontains, value: hello}]
"""


def test_each_variant_file_is_known_with_the_models_that_run_it():
    tree = MemoryTree({**FILES, "prompts/greet.claude.txt": "Say hello to {{name}}.\n", "evals/promptfooconfig.yaml": SUITE})
    suite, errors = load_suite(tree, "evals/promptfooconfig.yaml")
    assert errors == []
    assert suite_variants(suite) == (PromptVariant("prompts/greet.txt", (MINI,)), PromptVariant("prompts/greet.claude.txt", (CLAUDE,)))


def test_a_suite_whose_providers_run_every_prompt_has_no_variants():
    suite, _ = load_suite(MemoryTree(FILES), "evals/promptfooconfig.yaml")
    assert suite_variants(suite) == ()


def test_changed_variants_are_shown_together_after_the_first_of_them():
    group = VariantGroup("evals/s.yaml", (PromptVariant("a.txt", (MINI,)), PromptVariant("b.txt", (CLAUDE,))))
    order = group_order(["b.txt", "faq.txt", "a.txt"], [group])
    assert order == [("b.txt", group), ("a.txt", group), ("faq.txt", None)]
