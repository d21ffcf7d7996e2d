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
