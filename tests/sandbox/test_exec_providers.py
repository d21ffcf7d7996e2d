"""promptfoo's exec provider (`exec: node provider.mjs`, `exec: python3 provider.py ARG`) running a script of the
repository that the sandbox runs itself: the script gets its arguments, then the prompt, the provider's options and the
context as JSON, as promptfoo passes them; what it prints on standard output, trimmed, is the answer. Other commands stay
refused. The script is the provider's code: the same gate, bridge and limits (tests/sandbox/test_code_providers.py)."""

from __future__ import annotations

import pytest

from bot.core.files import MemoryTree
from bot.evals.loader import load_suite
from tests.sandbox.test_code_providers import SUITE_PATH, WORD_TESTS, head_of, review, server, suite  # noqa: F401

# a real user's router, in short: the prompt is argv[2], the answer what it logs
NODE_SCRIPT = """\
const prompt = process.argv[2] ?? "";
const options = JSON.parse(process.argv[3]);
const context = JSON.parse(process.argv[4]);
console.log(prompt.match(/"(\\w+)"/)[1], options.id.startsWith("exec:") ? "" : "?", context.vars.word === "apple" ? "" : "!");
"""
PY_SCRIPT = """\
import json
import sys

mode, prompt, options, context = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), json.loads(sys.argv[4])
word = context["vars"]["word"]
print(word.upper() if mode == "upper" else word)
"""


@pytest.mark.parametrize("pid, files, expected", [
    ("'exec: node router.mjs'", {"evals/router.mjs": NODE_SCRIPT}, "apple"),
    ("'exec:bun ./router.ts'", {"evals/router.ts": NODE_SCRIPT.replace('const prompt = process.argv[2] ?? "";',
                                                                          'const prompt: string = process.argv[2] ?? "";')}, "apple"),
    ("exec:python3 answer.py plain", {"evals/answer.py": PY_SCRIPT}, "apple"),
    ("\"exec: python answer.py 'upper'\"", {"evals/answer.py": PY_SCRIPT}, "APPLE"),
])
def test_a_script_gets_its_arguments_and_what_it_prints_is_the_answer(server, pid, files, expected):
    apple = head_of(review(server, {SUITE_PATH: suite(f"  - {pid}\n", WORD_TESTS), **files}))
    assert (apple.error, apple.output) == (None, expected)


def test_a_script_that_fails_is_an_error_with_what_it_printed_on_stderr(server):
    failing = "console.error('no key configured');\nprocess.exit(2);\n"
    apple = head_of(review(server, {SUITE_PATH: suite("  - 'exec: node fail.js'\n", WORD_TESTS), "evals/fail.js": failing}))
    assert apple.error == "provider exec: node fail.js (evals/fail.js): the script exited with status 2: no key configured"
    quiet = "import sys\nprint('only a warning', file=sys.stderr)\n"
    apple = head_of(review(server, {SUITE_PATH: suite("  - 'exec: python3 warn.py'\n", WORD_TESTS), "evals/warn.py": quiet}))
    assert apple.error == "provider exec: python3 warn.py (evals/warn.py): only a warning"


def test_a_script_reaches_the_models_through_the_bridge(server):
    script = """\
const prompt = process.argv[2];
(async () => {
  const r = await fetch('https://api.openai.com/v1/chat/completions', { method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: 'Bearer ' + process.env.OPENAI_API_KEY },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: prompt }] }) });
  const data = await r.json();
  process.stdout.write(data.choices[0].message.content);
})();
"""
    apple = head_of(review(server, {SUITE_PATH: suite("  - 'exec: node chat.mjs'\n", WORD_TESTS), "evals/chat.mjs": script}))
    assert (apple.error, apple.output) == (None, "apple")


@pytest.mark.parametrize("pid", ["exec: ./run.sh", "exec: node --inspect x.js", "exec:claude -p", "exec: python3 x.js"])
def test_other_commands_stay_refused_by_name(pid):
    _, errors = load_suite(MemoryTree({SUITE_PATH: suite(f"  - '{pid}'\n", WORD_TESTS), "evals/x.js": "1\n", "evals/run.sh": "echo\n"}),
                           SUITE_PATH)
    (error,) = [e.message for e in errors]
    assert error.startswith(f"refused: provider '{pid}': exec providers run a shell command from the repository"), error
