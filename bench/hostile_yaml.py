"""Hostile YAML and JSON in a pull request, and a test matrix of 10^12 cases: each attack goes
through the real loading path (a suite committed to a real git repository, or a review against the
scripted model server on loopback) and returns the error a user reads. Run through bench/hostile.py.
"""

from __future__ import annotations

import asyncio
import subprocess
import tempfile
from pathlib import Path

from bot.core.files import MemoryTree
from bot.evals import EvalRequest, MemoryCache, run_evals
from bot.evals.loader import load_suite
from bot.modelserver.app import create_app as create_model_app
from bot.pipeline.trees import GitTree
from bot.serving import start_in_thread

SUITE = "evals/promptfooconfig.yaml"
HEAD = "prompts: ['{{ a }}']\nproviders: [openai:chat:gpt-4o]\n"
DEEP = "[" * 100_000 + "]" * 100_000


def _load_from_git(files: dict[str, str]) -> str:
    """Commit `files` to a fresh repository and load the suite from it as a review does."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for path, text in files.items():
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_text(text)
        for args in (["init", "-q"], ["add", "-A"], ["-c", "user.name=b", "-c", "user.email=b@example.com", "commit", "-qm", "pr"]):
            subprocess.run(["git", *args], cwd=root, check=True)
        suite, errors = load_suite(GitTree(tmp, "HEAD"), SUITE)
    return "; ".join(str(e) for e in errors) if suite is None else ""


def alias_bomb_in_a_suite() -> str:
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]" for i in range(1, 12)]  # 9^12 strings
    bomb = HEAD + "tests:\n  - vars:\n      a: hi\n      b:\n" + "".join(f"        {line}\n" for line in lines)
    return _load_from_git({SUITE: bomb})


def matrix_of_10_to_the_12() -> str:
    lists = "".join(f"      {n}: [" + ", ".join(f"v{i}" for i in range(100)) + "]\n" for n in "abcdef")
    return _load_from_git({SUITE: HEAD + "tests:\n  - vars:\n" + lists})


def deeply_nested_json_chat_prompt() -> str:
    chat = '[{"role": "system", "content": "Be brief."},\n {"role": "user", "content": "hi", "x": ' + DEEP + "}]\n"
    return _load_from_git({SUITE: HEAD.replace("'{{ a }}'", "file://chat.json") + "tests: [{vars: {a: hi}}]\n",
                           "evals/chat.json": chat})


def deeply_nested_json_model_answer_in_is_json() -> str:
    suite = ("prompts: ['Reply with \"{{ answer }}\"']\nproviders: [openai:chat:gpt-4o]\n"
             f"tests:\n  - vars: {{answer: '{DEEP}'}}\n    assert: [{{type: is-json}}]\n")
    with start_in_thread(create_model_app()) as server:
        env = {"OPENAI_BASE_URL": server.url + "/v1", "OPENAI_API_KEY": "sk-bench-not-real"}
        request = EvalRequest(base=MemoryTree({}), head=MemoryTree({SUITE: suite}), env=env)
        report = asyncio.run(run_evals(request, MemoryCache()))
    (case,) = report.suites[0].cases
    return case.head.error or ""


def python_object_tag_on_a_map() -> str:
    return _load_from_git({SUITE: HEAD + "tests:\n  - vars: !!python/object/apply:os.system {args: [id]}\n"})


def oversize_yaml_document() -> str:
    return _load_from_git({SUITE: HEAD + "description: |\n" + ("  " + "x" * 98 + "\n") * 120_000 + "tests: []\n"})


def many_values_under_the_byte_limit() -> str:
    # 3 MB of one-line tests: within max_bytes, but 750,000 values to build
    sheet = "".join(f"- vars: {{a: q{i}}}\n" for i in range(150_000))
    return _load_from_git({SUITE: HEAD + "tests: file://cases.yaml\n", "evals/cases.yaml": sheet})


def oversize_prompt_in_git() -> str:
    # Read whole it would add its size twice to the RSS (bytes and text); the tree's listing gives its size, so it is never read.
    return _load_from_git({SUITE: HEAD.replace("'{{ a }}'", "file://p.md") + "tests: [{vars: {a: hi}}]\n",
                           "evals/p.md": "x" * 30_000_000})


def oversize_var_file_in_git() -> str:
    return _load_from_git({SUITE: HEAD + "tests:\n  - vars: {a: file://doc.txt}\n", "evals/doc.txt": "x" * 30_000_000})


def contains_json_in_200k_braces() -> str:
    from bot.evals.assertions import AssertionBroken, score_output
    from bot.evals.suite import AssertionSpec

    hostile = ("[" * 900 + "x") * 200 + "{" * 200_000  # each bracket would start a decode that fails late
    try:
        asyncio.run(score_output((AssertionSpec("contains-json", None, file=SUITE, line=5),), None, hostile))
    except AssertionBroken as exc:
        return str(exc)
    return ""


CASES = [
    ("yaml: alias bomb in a suite (9^12)", alias_bomb_in_a_suite),
    ("yaml: test matrix of 10^12 cases", matrix_of_10_to_the_12),
    ("json: 100k-deep chat prompt file", deeply_nested_json_chat_prompt),
    ("json: 100k-deep model answer, is-json", deeply_nested_json_model_answer_in_is_json),
    ("yaml: !!python/object on a map", python_object_tag_on_a_map),
    ("yaml: 12 MB suite document", oversize_yaml_document),
    ("yaml: 750k values in a 3 MB test file", many_values_under_the_byte_limit),
    ("prompt: 30 MB prompt file in a git checkout", oversize_prompt_in_git),
    ("var: 30 MB file:// var in a git checkout", oversize_var_file_in_git),
    ("json: contains-json over 380k brackets", contains_json_in_200k_braces),
]
