"""Golden files for `review --format text`: the terminal rendering puts a prompt's per-model variants
together under one heading, as the comment does, and notes the models each variant runs on."""

from __future__ import annotations

import pytest

from bot.core.render.text import render_text
from tests.render import scenarios
from tests.render.golden import assert_golden


@pytest.mark.parametrize("name", ["per_model_variants", "two_models"])
def test_the_text_rendering_matches_the_reviewed_golden_file(name):
    assert_golden(f"{name}.text.txt", render_text(getattr(scenarios, name)()))


def test_changed_variants_of_one_prompt_are_listed_together_after_one_heading():
    text = render_text(scenarios.per_model_variants())
    prompts = [line for line in text.splitlines() if line.startswith("Prompt ")]
    assert [p.split(" ")[1] for p in prompts] == [scenarios.SYSTEM, scenarios.CLAUDE_VARIANT, scenarios.FAQ]
    heading = text.index("One prompt, a variant per model")
    assert text.count("One prompt, a variant per model") == 1
    assert heading < text.index(f"Prompt {scenarios.SYSTEM}") < text.index(f"Prompt {scenarios.CLAUDE_VARIANT}")
    assert f"Variant for {scenarios.CLAUDE}." in text
