"""Prompt sizes are bounded: a prompt file or include past limits.max_prompt_bytes is an error naming
the file and the key, and a rendered prompt past limits.max_rendered_prompt_bytes is an error case
that is never sent to a model."""

from __future__ import annotations

import asyncio
import json

from bot.core.config import EvalsConfig, LimitsConfig
from bot.core.files import MemoryTree
from bot.evals import CaseStatus, EvalRequest, MemoryCache, run_evals
from bot.evals.loader import load_suite
from bot.evals.render import RenderBounds
from bot.evals.select import plan_suite

from .prompt_repo import git_tree

SUITE = "evals/promptfooconfig.yaml"
SUITE_TEXT = "prompts:\n  - file://../prompts/big.md\nproviders: [openai:chat:gpt-4o]\ntests:\n  - vars: {q: hi}\n"


def test_a_prompt_file_over_max_prompt_bytes_is_a_suite_error_naming_the_file_and_the_key(tmp_path):
    tree = git_tree(tmp_path, {SUITE: SUITE_TEXT, "prompts/big.md": "Answer {{ q }}.\n" + "x" * 2_000_000})
    suite, errors = load_suite(tree, SUITE)
    assert suite is None
    assert [str(e) for e in errors] == [
        "evals/promptfooconfig.yaml:2 (prompts.0): prompt file prompts/big.md is 2,000,016 bytes, over the limit of 1,000,000 "
        "(raise `limits.max_prompt_bytes` in .github/prompt-review.yml)"
    ]
    raised, errors = load_suite(tree, SUITE, LimitsConfig(max_prompt_bytes=3_000_000))
    assert errors == [] and raised.prompts[0].source == "prompts/big.md"


def test_an_include_over_max_prompt_bytes_is_an_error_at_the_line_of_the_include(tmp_path):
    files = {
        SUITE: SUITE_TEXT,
        "prompts/big.md": "Answer {{ q }}.\n{% include 'huge.md' %}\n",
        "prompts/huge.md": "z" * 2_000_000,
    }
    tree = git_tree(tmp_path, files)
    suite, errors = load_suite(tree, SUITE)
    assert errors == []
    plan = plan_suite(SUITE, MemoryTree({}), tree, None, suite, bounds=RenderBounds())
    assert [str(c.head.error) for c in plan.cases] == [
        "prompts/big.md:2: included file prompts/huge.md is 2,000,000 bytes, over the limit of 1,000,000 "
        "(raise `limits.max_prompt_bytes` in .github/prompt-review.yml)"
    ]


def test_a_rendered_prompt_over_the_limit_is_an_error_case_never_sent_to_a_model(tmp_path, model_server):
    """A small template and a small var multiply into a 2 MB prompt: the case errors, no model call is made."""
    suite = json.dumps({
        "prompts": ["file://../prompts/big.md"],
        "providers": ["openai:chat:gpt-4o"],
        "tests": [
            {"description": "huge", "vars": {"line": "y" * 100, "n": 20000}, "assert": [{"type": "contains", "value": "y"}]},
            {"description": "small", "vars": {"line": "hello", "n": 1}, "assert": [{"type": "contains", "value": "hello"}]},
        ],
    })
    head = git_tree(tmp_path, {SUITE: suite, "prompts/big.md": "Repeat:\n{% for i in range(n) %}{{ line }}{% endfor %}\n"})
    request = EvalRequest(base=MemoryTree({}), head=head, config=EvalsConfig(), env={"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": f"{model_server.url}/v1"})
    report = asyncio.run(run_evals(request, MemoryCache()))
    cases = {c.description: c for c in report.suites[0].cases}
    assert cases["huge"].status is CaseStatus.ERROR
    assert cases["huge"].head.error == (
        "prompts/big.md:2: the rendered prompt is over 1,000,000 bytes and was not sent to a model "
        "(raise `limits.max_rendered_prompt_bytes` in .github/prompt-review.yml if it should be)"
    )
    assert cases["small"].status is not CaseStatus.ERROR
    assert report.stats.model_calls == 1  # the small case only
