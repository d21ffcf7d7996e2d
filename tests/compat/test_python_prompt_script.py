"""A Python prompt file without a function name (`file://prompt.py`), as promptfoo 0.121 runs it
(src/prompts/processors/python.ts, pythonPromptFunctionLegacy): the whole file as a script, with the JSON of
`{vars, provider: {id, label}, config}` as its one argument; what it prints — its lines that are not empty, joined
(python-shell's text mode; checked against promptfoo 0.121.20 itself) — is the prompt. It runs in the Python sandbox under the code gate, its output bounded."""

from __future__ import annotations

from bot.core.config import EvalsConfig
from bot.core.files import MemoryTree
from bot.evals.loader import load_suite
from bot.evals.render import Renderer
from bot.evals.sandbox import CodeLimits, Origin, may_run
from bot.evals.select import CodeGate, expand, plan_suite

PATH = "evals/promptfooconfig.yaml"
SCRIPT = """\
import json
import sys


def unused(context):
    return "not this"


if __name__ == "__main__":
    context = json.loads(sys.argv[1])
    print(f"Describe {context['vars']['topic']} in one line.")
"""
SUITE = ("prompts:\n  - id: file://prompt.py\n    label: script\n    config: {temperature: 0.2}\n"
         "providers:\n  - echo\n  - {id: openai:chat:gpt-4o-mini, label: mini}\ntests:\n  - vars: {topic: bananas}\n")


def cases(script: str, suite: str = SUITE, limits: CodeLimits = CodeLimits()):
    tree = MemoryTree({PATH: suite, "evals/prompt.py": script})
    loaded, errors = load_suite(tree, PATH)
    assert errors == [] and loaded is not None, [str(e) for e in errors]
    found, _ = expand(loaded, Renderer(tree), gate=CodeGate(limits=limits))
    return {c.provider.label or c.provider.id: c for c in found.values()}


def test_the_script_runs_as_main_with_the_context_and_what_it_prints_is_the_prompt():
    got = cases(SCRIPT)
    assert {k: (c.messages, c.error) for k, c in got.items()} == {
        "echo": ((("user", "Describe bananas in one line."),), None),
        "mini": ((("user", "Describe bananas in one line."),), None)}


def test_the_argument_is_the_compact_json_promptfoo_writes_with_an_empty_label_for_an_unlabelled_provider():
    got = cases("import sys\nprint('X' + sys.argv[1])\n")
    assert got["echo"].messages == (("user", 'X{"vars":{"topic":"bananas"},"provider":{"id":"echo","label":""},"config":{"temperature":0.2}}'),)
    assert got["mini"].messages == (("user", 'X{"vars":{"topic":"bananas"},"provider":{"id":"openai:chat:gpt-4o-mini",'
                                              '"label":"mini"},"config":{"temperature":0.2}}'),)


def test_empty_printed_lines_are_dropped_and_the_others_kept_as_printed():
    got = cases("print('first')\nprint()\nprint('  third\\n')\nprint('   ')\nprint('end\\r')\n")
    assert got["echo"].messages == (("user", "first\n  third\n   \nend\r"),)


def test_a_script_that_exits_with_a_failure_is_a_case_error_naming_the_prompt_and_a_zero_exit_is_not():
    failed = cases("import sys\nprint('half')\nsys.exit(3)\n")["echo"]
    assert failed.messages is None and failed.error is not None and failed.error.line == 2
    assert failed.error.message.startswith("prompt function script: ") and "the script exited with status 3" in failed.error.message
    fine = cases("import sys\nprint('done')\nsys.exit(0)\n")["echo"]
    assert fine.error is None and fine.messages == (("user", "done"),)


def test_a_script_printing_past_the_output_bound_is_stopped():
    got = cases("while True:\n    print('x' * 1000)\n", limits=CodeLimits(max_output_bytes=50_000))["echo"]
    assert got.messages is None and got.error is not None and "produced more than 50,000 bytes of output" in got.error.message, got.error


def test_the_script_cannot_reach_the_network():
    got = cases("import socket\nsocket.create_connection(('example.com', 80))\n")["echo"]
    assert got.error is not None and "which the sandbox refuses" in got.error.message, got.error


def test_a_fork_adding_a_script_prompt_is_refused_naming_the_rule():
    base_suite = SUITE.replace("  - id: file://prompt.py\n    label: script\n    config: {temperature: 0.2}\n",
                               "  - id: 'Describe {{topic}} in one line.'\n    label: script\n")
    base_tree, head_tree = MemoryTree({PATH: base_suite}), MemoryTree({PATH: SUITE, "evals/prompt.py": SCRIPT})
    (base, _), (head, _) = load_suite(base_tree, PATH), load_suite(head_tree, PATH)
    fork = plan_suite(PATH, base_tree, head_tree, base, head, pr_code=lambda what: may_run(Origin.PR, False, EvalsConfig(), what))
    errors = [c.head.error for c in fork.cases if c.head is not None]
    assert len(errors) == 2 and all(e is not None and e.line == 2 and e.message == (
        "refused: executes code from a fork's pull request (prompt function) — code from forks never runs; "
        "only the base branch's code does") for e in errors), errors
