"""The surface the eval runner calls: file refs resolved through the suite's files, one async entry."""

from __future__ import annotations

import asyncio

import pytest

from bot.evals.sandbox import Fault, JsCode, PyCode, SandboxError, code_for, parse_ref, run_code

FILES = {
    "evals/check.js": "module.exports = (output, context) => output.includes(context.vars.word);",
    "evals/check.py": "def get_assert(output, context):\n    return 0.5\n\ndef strict(output, context):\n    return False\n",
}


def test_refs_name_the_file_and_function():
    assert parse_ref("file://evals/check.py:strict") == ("evals/check.py", "strict")
    assert parse_ref("file://evals/check.js") == ("evals/check.js", None)
    assert parse_ref("output.includes('file://x.js')") is None


def test_file_refs_read_through_the_suites_files_and_run():
    js = code_for("javascript", "file://evals/check.js", FILES.get)
    py = code_for("python", "file://evals/check.py:strict", FILES.get)
    assert isinstance(js, JsCode) and js.file == "evals/check.js"
    assert isinstance(py, PyCode) and py.function == "strict"
    context = {"vars": {"word": "days"}}
    assert asyncio.run(run_code(js, "30 days", context)).passed
    assert not asyncio.run(run_code(py, "30 days", context)).passed
    assert asyncio.run(run_code(code_for("python", "file://evals/check.py", FILES.get), "x", context)).score == 0.5


@pytest.mark.parametrize(
    "language, value, words",
    [
        ("javascript", "file://evals/missing.js", "does not exist"),
        ("python", "file://evals/check.js", "cannot run evals/check.js"),
        ("javascript", "file://evals/check.ts", "not a .js or .py file"),
    ],
)
def test_refs_that_cannot_run_are_refused_plainly(language, value, words):
    with pytest.raises(SandboxError) as caught:
        code_for(language, value, FILES.get)
    assert caught.value.fault is Fault.UNSUPPORTED and words in caught.value.message
