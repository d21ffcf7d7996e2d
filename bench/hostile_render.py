"""Hostile templates and prompt sizes (issue #16), each through the real load → plan path on a
MemoryTree; every case returns the error the user reads. Run through bench/hostile.py:

    PYTHONPATH=$PWD .venv/bin/python bench/hostile.py render

`python bench/hostile_render.py` alone measures what the render worker costs ordinary suites:
planning 2,000 cases (each rendered on base and head, with a templated assertion) in-process
the old way versus through the worker.
"""

from __future__ import annotations

import sys
import time

from bot.core.files import MemoryTree
from bot.evals.loader import load_suite
from bot.evals.select import plan_suite

SUITE = "evals/promptfooconfig.yaml"
ONE_TEST = "prompts: [file://../prompts/p.md]\nproviders: [openai:chat:gpt-4o]\ntests:\n  - vars: {q: hi}\n"


def _first_error(files: dict[str, str]) -> str | None:
    tree = MemoryTree(files)
    suite, errors = load_suite(tree, SUITE)
    if errors:
        return str(errors[0])
    plan = plan_suite(SUITE, MemoryTree({}), tree, None, suite)
    return str(plan.errors[0]) if plan.errors else None


def _template(text: str):
    return lambda: _first_error({SUITE: ONE_TEST, "prompts/p.md": text})


CASES = [
    ("render: nested range loops", _template("Hi\n{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}")),
    ("render: string multiplication", _template("Hi\n{{ 'x' * 2000000000 }}")),
    ("render: big power", _template("Hi\n{{ 9 ** 999999999 }}")),
    ("render: memory-hungry filter", _template("Hi\n{{ 'x'|center(2000000000) }}")),
    ("render: doubling loop", _template(
        "{% set ns = namespace(s='x') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s|length }}"
    )),
    ("render: huge rendered prompt", _template(
        "Hi\n{% for a in range(100000) %}{% for b in range(100000) %}{{ 'y' * 100 }}{% endfor %}{% endfor %}"
    )),
    ("render: sandbox escape", _template("Hi\n{{ ''.__class__.__mro__[1].__subclasses__() }}")),
    ("prompt: 8 MB prompt file", lambda: _first_error({SUITE: ONE_TEST, "prompts/p.md": "Hi {{ q }}\n" + "x" * 8_000_000})),
    ("prompt: 8 MB include", lambda: _first_error({
        SUITE: ONE_TEST, "prompts/p.md": "Hi\n{% include 'big.md' %}", "prompts/big.md": "x" * 8_000_000,
    })),
]


def ordinary_suite(n: int) -> tuple[MemoryTree, MemoryTree]:
    tests = "".join(
        f"  - description: case {i}\n    vars: {{question: 'question number {i}', tone: kind}}\n"
        f"    assert: [{{type: icontains, value: '{{{{ question }}}}'}}]\n" for i in range(n)
    )
    files = {
        SUITE: "prompts:\n  - file://../prompts/system.md\nproviders: [openai:chat:gpt-4o]\ntests:\n" + tests,
        "prompts/system.md": "You are support.\n{% include 'policy.md' %}\n{% if tone == 'kind' %}Be kind.{% endif %}\nQ: {{ question|trim }}\n",
        "prompts/policy.md": "Refunds within 30 days.",
    }
    return MemoryTree(files), MemoryTree({**files, "prompts/policy.md": "Refunds within 60 days."})


def speed(n: int = 2000) -> None:
    from bot.evals.render_worker import SandboxEnv

    base, head = ordinary_suite(n)
    b, _ = load_suite(base, SUITE)
    h, _ = load_suite(head, SUITE)
    for label in ("cold (starts a worker)", "warm"):
        started = time.perf_counter()
        plan = plan_suite(SUITE, base, head, b, h)
        print(f"plan_suite, {n} cases, through the worker, {label}: {time.perf_counter() - started:.3f} s ({len(plan.cases)} affected)")
    # the same renders in this process, as before the worker (no deadline, no memory cap)
    started = time.perf_counter()
    for tree, suite in ((base, b), (head, h)):
        env = SandboxEnv(tree)
        prompt, check = env.get_template("prompts/system.md"), env.from_string("{{ question }}")
        for t in suite.tests:
            prompt.render(t.vars), check.render(t.vars)
    print(f"the same {4 * n} renders in-process, unbounded: {time.perf_counter() - started:.3f} s")


if __name__ == "__main__":
    speed(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
