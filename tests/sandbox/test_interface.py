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
        ("javascript", "file://evals/check.rb", "not a .js, .ts or .py file"),
        ("javascript", "file://evals/view.tsx", "evals/view.tsx does not exist"),  # TSX runs (tests/sandbox/test_tsx.py)
    ],
)
def test_refs_that_cannot_run_are_refused_plainly(language, value, words):
    with pytest.raises(SandboxError) as caught:
        code_for(language, value, FILES.get)
    assert caught.value.fault is Fault.UNSUPPORTED and words in caught.value.message


def test_transforms_return_the_new_value_in_both_languages():
    from bot.evals.sandbox import transform

    js = JsCode.inline("output.toUpperCase()")
    py = PyCode.inline("{**context['vars'], 'n': len(output)}")
    assert asyncio.run(transform(js, "30 days", {})) == "30 DAYS"
    assert asyncio.run(transform(py, "30 days", {"vars": {"q": "x"}})) == {"q": "x", "n": 7}
    assert asyncio.run(transform(JsCode.inline("const x = 1;\nx;"), "o", {})) is None


@pytest.mark.parametrize("code", [JsCode.inline("JSON.parse(output)"), PyCode.inline("json.loads(output)")])
def test_a_transform_that_throws_is_a_case_error_not_a_value(code):
    from bot.evals.sandbox import transform

    with pytest.raises(SandboxError) as caught:
        asyncio.run(transform(code, "not json", {}))
    assert caught.value.fault is Fault.THREW and "threw an error" in caught.value.message
