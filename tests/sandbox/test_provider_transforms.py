"""Escape attempts from a provider's own code (an http provider's JavaScript transformResponse, a
provider's `transform` in JavaScript or Python), through the path a review runs them: each ends as a
case error naming the transform and its provider's line, or sees nothing of the host."""

from __future__ import annotations

import asyncio
import socket
import time

import pytest

from bot.core.files import MemoryTree
from bot.evals.assertions import AssertionBroken, CodeContext
from bot.evals.loader import load_suite
from bot.evals.provider_output import provider_output
from bot.evals.providers import Completion
from bot.evals.sandbox import CodeLimits

TIGHT = CodeLimits(timeout_s=1.0, memory_mb=128, max_output_bytes=100_000)
SUITE = "evals/promptfooconfig.yaml"
ANSWER = Completion('{"result": {"text": "pong"}}', structured=True)  # an http provider's JSON answer


def apply(entry: str, files: dict[str, str] | None = None, answer: Completion = ANSWER) -> Completion | AssertionBroken:
    suite, errors = load_suite(MemoryTree({SUITE: f"providers:\n  - {entry}\ntests:\n  - vars: {{q: hi}}\n", **(files or {})}), SUITE)
    assert errors == [] and suite is not None, errors
    context = CodeContext({"q": "hi"}, "hi", {"vars": {"q": "hi"}}, {"id": suite.providers[0].id}, TIGHT)

    async def go():
        try:
            return await provider_output(suite.providers[0], answer, context, SUITE)
        except AssertionBroken as exc:
            return exc

    started = time.monotonic()
    got = asyncio.run(go())
    assert time.monotonic() - started < 10 * (TIGHT.timeout_s + 2)
    return got


def js_response(body: str) -> Completion | AssertionBroken:
    entry = "id: https://example.com/api\n    config:\n      transformResponse: file://parse.js"
    return apply(entry, {"evals/parse.js": body})


def py_transform(body: str) -> Completion | AssertionBroken:
    return apply("id: openai:chat:gpt-4o\n    transform: file://t.py", {"evals/t.py": body}, Completion("pong"))


def test_attack_response_transform_reading_the_environment_finds_nothing(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-from-the-service")
    got = js_response("module.exports = () => JSON.stringify({env: typeof process === 'undefined' ? {} : process.env, "
                      "g: Object.keys(globalThis), "
                      "fetch: typeof fetch, std: typeof std, os: typeof os});\n")
    assert isinstance(got, Completion) and "sk-secret" not in got.text
    assert '"fetch":"undefined"' in got.text and '"std":"undefined"' in got.text and '"env":{}' in got.text
    inline = apply("id: https://example.com/api\n    config: {transformResponse: 'JSON.stringify(process.env)'}")
    assert isinstance(inline, Completion) and inline.text == "{}"


def test_attack_response_transform_requiring_fs_is_a_case_error_naming_it():
    got = js_response("module.exports = () => require('fs').readFileSync('/etc/passwd', 'utf8');\n")
    assert isinstance(got, AssertionBroken)
    assert str(got).startswith(f"{SUITE}:2: transformResponse of provider https://example.com/api (evals/parse.js): ")
    assert "require('fs')" in str(got)


def test_attack_inline_provider_transform_looping_forever_is_stopped():
    got = apply("id: openai:chat:gpt-4o\n    transform: |\n      let i = 0;\n      while (true) { i++ }", answer=Completion("pong"))
    assert isinstance(got, AssertionBroken) and "ran longer than 1 s" in str(got)
    assert str(got).startswith(f"{SUITE}:2: provider transform of provider openai:chat:gpt-4o: ")


def test_attack_huge_transform_output_is_stopped():
    got = apply("id: openai:chat:gpt-4o\n    transform: \"'x'.repeat(5000000)\"", answer=Completion("pong"))
    assert isinstance(got, AssertionBroken) and "provider transform" in str(got)


def test_attack_python_transform_reading_the_environment_finds_no_secrets(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-from-the-service")
    got = py_transform("import os\ndef get_transform(output, context):\n    return repr(dict(os.environ))\n")
    assert isinstance(got, Completion) and "sk-secret" not in got.text and "OPENAI_API_KEY" not in got.text


def test_attack_python_transform_reading_host_files_is_refused():
    got = py_transform("def get_transform(output, context):\n    return open('/etc/passwd').read()\n")
    assert isinstance(got, AssertionBroken) and "/etc/passwd" in str(got)
    assert str(got).startswith(f"{SUITE}:2: provider transform of provider openai:chat:gpt-4o (evals/t.py): the code tried")
    assert "which the sandbox refuses" in str(got)


def test_attack_python_transform_opening_a_socket_never_connects():
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    try:
        got = py_transform(f"import socket\ndef get_transform(output, context):\n"
                           f"    socket.create_connection(('127.0.0.1', {port}), timeout=1)\n    return 'sent'\n")
        assert isinstance(got, AssertionBroken) and "which the sandbox refuses" in str(got)
        server.settimeout(0.5)
        with pytest.raises(TimeoutError):
            server.accept()
    finally:
        server.close()
