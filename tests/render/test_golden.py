"""Golden files for the rendered comment and check outputs of each kind of review."""

from __future__ import annotations

import json

import pytest

from bot.core.render import render_approval_check, render_comment, render_evals_check
from bot.core.result import COMMENT_MARKER
from tests.render import scenarios
from tests.render.golden import assert_golden

SCENARIOS = [
    "friendlier",
    "friendlier_accepted",
    "all_pass",
    "formatting_only",
    "config_error",
    "suite_error",
    "budget_hit",
    "many_regressions",
    "no_prompts_any_more",
    "superseded",
    "fork_waiting",
    "binary_prompt_added",
    "two_models",
    "two_models_accepted_on_one",
    "per_model_variants",
]


def checks_document(result) -> str:
    """Both check-run outputs as one reviewable file: fields, summary, text and annotations."""
    parts = []
    for name, out in (("prompt-review/evals", render_evals_check(result)), ("prompt-review/approval", render_approval_check(result))):
        parts.append(f"# {name}\n\nconclusion: {out.conclusion}\ntitle: {out.title}\n\n## summary\n\n{out.summary}")
        if out.text is not None:
            parts.append(f"## text\n\n{out.text}")
        if out.annotations:
            parts.append("## annotations\n\n" + json.dumps(list(out.annotations), indent=2, ensure_ascii=False) + "\n")
    return "\n".join(parts)


@pytest.mark.parametrize("name", SCENARIOS)
def test_rendered_outputs_match_the_reviewed_golden_files(name):
    result = getattr(scenarios, name)()
    comment = render_comment(result)
    assert comment.startswith(COMMENT_MARKER + "\n")
    assert len(comment) <= 65536
    assert_golden(f"{name}.comment.md", comment)
    assert_golden(f"{name}.checks.md", checks_document(result))


def test_binary_prompt_added_shows_as_new_and_not_reviewed_in_the_footer_never_as_deleted():
    footer = render_comment(scenarios.binary_prompt_added()).rsplit("<sub>", 1)[1]
    logo = footer.split("`prompts/support/logo.prompt`", 1)[1].split("·", 1)[0]
    assert logo.strip() == "`new` → `binary, not reviewed`"
