"""Hostile templates are bounded: loops, huge values, memory-hungry filters and sandbox escapes end as
error cases naming the template file, the line and the config key to raise — never a hung worker,
an exhausted service or a prompt sent to a model."""

from __future__ import annotations

import json

import pytest

from bot.core.config import LimitsConfig
from bot.core.files import MemoryTree
from bot.evals.loader import load_suite
from bot.evals.render import RenderBounds
from bot.evals.select import plan_suite

from .prompt_repo import git_tree

SUITE = "evals/promptfooconfig.yaml"


def suite_yaml(prompt: str, tests: list[dict]) -> str:
    return json.dumps({"prompts": [f"file://../{prompt}"], "providers": ["openai:chat:gpt-4o"], "tests": tests})


def errors_by_case(tmp_path, files: dict[str, str], limits: LimitsConfig | None = None) -> list[str]:
    """Each case's render error as the user reads it ('' when it rendered), in test order."""
    tree = git_tree(tmp_path, files)
    suite, errors = load_suite(tree, SUITE, limits)
    assert errors == []
    plan = plan_suite(SUITE, MemoryTree({}), tree, None, suite, bounds=RenderBounds(limits))
    return [str(c.head.error) if c.head.error else "" for c in plan.cases]


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    "loops",
    [
        "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}",
        "{% for a in data.rows %}{% for b in data.rows %}{% for c in data.rows %}{% endfor %}{% endfor %}{% endfor %}",
    ],
    ids=["range", "var-lists"],
)
def test_nested_loops_are_stopped_at_the_render_deadline_naming_line_and_key(tmp_path, loops):
    prompt = "Hello.\n{% if slow %}\n" + loops + "\n{% endif %}Bye."
    files = {
        SUITE: suite_yaml("prompts/p.md", [
            {"description": "slow", "vars": {"slow": True, "data": {"rows": list(range(400))}}},
            {"description": "quick", "vars": {"slow": False}},
        ]),
        "prompts/p.md": prompt,
    }
    slow, quick = errors_by_case(tmp_path, files, LimitsConfig(render_timeout_s=0.5))
    assert slow == (
        "prompts/p.md:3: rendering took longer than 0.5 s and was stopped (raise `limits.render_timeout_s` "
        "in .github/prompt-review.yml if the template is meant to take that long)"
    )
    assert quick == ""  # the replaced worker renders the next case


def test_string_multiplication_is_refused_before_the_string_is_built(tmp_path):
    files = {SUITE: suite_yaml("prompts/p.md", [{"vars": {}}]), "prompts/p.md": "Hi\n\n{{ 'x' * 50000000 }}\n"}
    assert errors_by_case(tmp_path, files) == [
        "prompts/p.md:3: refused: '*' would build a value of 50,000,000 items, over the rendered-prompt limit "
        "of 1,000,000 (limits.max_rendered_prompt_bytes)"
    ]


def test_a_big_power_is_refused_before_it_is_computed(tmp_path):
    files = {SUITE: suite_yaml("prompts/p.md", [{"vars": {}}]), "prompts/p.md": "Hi\n{{ 7 ** 200000 }}"}
    assert errors_by_case(tmp_path, files) == [
        "prompts/p.md:2: refused: '7 ** 200000' would build a number of more than 4,300 digits"
    ]


def test_a_memory_hungry_filter_is_stopped_by_the_workers_memory_cap(tmp_path):
    files = {SUITE: suite_yaml("prompts/p.md", [{"vars": {}}]), "prompts/p.md": "Hi\n{{ 'x'|center(200000000) }}"}
    assert errors_by_case(tmp_path, files, LimitsConfig(render_memory_mb=64)) == [
        "prompts/p.md:2: rendering needed more than 64 MB of memory and was stopped "
        "(raise `limits.render_memory_mb` in .github/prompt-review.yml if it should not be)"
    ]


def test_a_sandbox_escape_is_refused_with_the_line_of_the_expression(tmp_path):
    files = {SUITE: suite_yaml("prompts/p.md", [{"vars": {}}]), "prompts/p.md": "a\nb\nc\n{{ ''.__class__.__mro__ }}"}
    assert errors_by_case(tmp_path, files) == [
        "prompts/p.md:4: refused: the template tried an unsafe operation "
        "(access to attribute '__class__' of 'str' object is unsafe.)"
    ]


def test_a_sandbox_escape_in_an_included_file_names_that_file_and_line(tmp_path):
    files = {
        SUITE: suite_yaml("prompts/p.md", [{"vars": {}}]),
        "prompts/p.md": "Hi\n{% include 'partial.md' %}",
        "prompts/partial.md": "ok\n{{ cycler.__init__.__globals__ }}",
    }
    [error] = errors_by_case(tmp_path, files)
    assert error.startswith("prompts/partial.md:2: refused: the template tried an unsafe operation")


def test_a_sandbox_escape_in_a_chat_prompt_names_the_message_and_its_line(tmp_path):
    chat = json.dumps([{"role": "system", "content": "Be nice."}, {"role": "user", "content": "Hi\n{{ ''.__class__.__mro__ }}"}])
    files = {SUITE: suite_yaml("prompts/chat.json", [{"vars": {}}]), "prompts/chat.json": chat}
    [error] = errors_by_case(tmp_path, files)
    assert error.startswith("prompts/chat.json: message 2, line 2: refused: the template tried an unsafe operation")


@pytest.mark.timeout(120)
def test_slow_templates_of_one_review_share_a_render_budget(tmp_path):
    """Cases × render_timeout_s cannot add up: past limits.render_budget_s the rest are not rendered."""
    loops = "{% for a in range(20000) %}{% for b in range(1000) %}{% endfor %}{% endfor %}"
    files = {
        SUITE: suite_yaml("prompts/p.md", [{"description": f"slow {i}", "vars": {"n": i}} for i in range(5)]),
        "prompts/p.md": "{{ n }}\n" + loops,
    }
    errors = errors_by_case(tmp_path, files, LimitsConfig(render_timeout_s=0.3, render_budget_s=0.5))
    assert all("prompts/p.md:2: rendering took longer than 0.3 s" in e for e in errors[:2]), errors
    assert all(e == (
        "prompts/p.md: not rendered: the renders of this review used their time budget of 0.5 s "
        "(raise `limits.render_budget_s` in .github/prompt-review.yml)"
    ) for e in errors[2:]), errors
