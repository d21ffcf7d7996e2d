"""Suite loading: the promptfoo subset we accept, and line-numbered refusals for the rest."""

from __future__ import annotations

import pytest

from bot.core.files import MemoryTree
from bot.evals.loader import load_suite
from bot.evals.testcases import expected_to_assertion

PATH = "evals/promptfooconfig.yaml"

GOOD = """\
description: support
prompts:
  - id: file://prompts/*.md
    label: support
  - file://prompts/chat.yaml
providers:
  - openai:chat:gpt-4o
  - id: anthropic:messages:claude-sonnet-4
    label: claude
    config: {temperature: 0.2, max_tokens: 300}
  - openai:gpt-4o-mini:
      config: {apiBaseUrl: "http://127.0.0.1:11434/v1", seed: 7}
defaultTest:
  vars: {tone: polite}
  assert:
    - type: not-icontains
      value: as an ai
  options:
    provider: openai:chat:gpt-4.1-mini
tests:
  - description: refund
    vars: {question: refund please}
    threshold: 0.5
    metadata: {area: refunds}
    assert:
      - type: icontains-any
        value: [30 days, thirty days]
        weight: 2
        metric: refunds
      - type: is-json
        value: {type: object, required: [answer]}
  - file://cases/*.csv
  - file://cases/more.yaml
"""


def tree(suite: str = GOOD) -> MemoryTree:
    base = {
        PATH: suite,
        "evals/prompts/system.md": "Be helpful. {{ question }}",
        "evals/prompts/chat.yaml": "- role: system\n  content: You help.\n- role: user\n  content: '{{ question }}'\n",
        "evals/cases/a.csv": "question,__expected,__expected2\nwhere is my parcel,icontains: tracking,not-contains: sorry\n"
                             "cancel it,\"contains-any: cancel,stop\",\n",
        "evals/cases/more.yaml": "- vars: {question: [a, b]}\n  assert: [{type: equals, value: hi}]\n",
    }
    return MemoryTree(base)


def errors_of(suite: str) -> list[tuple[str, int | None, str]]:
    loaded, errors = load_suite(tree(suite), PATH)
    assert loaded is None
    return [(e.file, e.line, e.message) for e in errors]


def test_the_supported_subset_loads_with_defaults_merged():
    suite, errors = load_suite(tree(), PATH)
    assert errors == []
    assert [p.label for p in suite.prompts] == ["support", "evals/prompts/chat.yaml"]
    assert suite.prompts[1].format == "chat" and suite.prompts[1].messages[0] == ("system", "You help.")
    assert [(p.kind, p.model, p.slot) for p in suite.providers] == [
        ("openai", "gpt-4o", "openai:chat:gpt-4o"),
        ("anthropic", "claude-sonnet-4", "claude"),
        ("openai", "gpt-4o-mini", "openai:gpt-4o-mini"),
    ]
    assert suite.providers[2].base_url == "http://127.0.0.1:11434/v1"
    first = suite.tests[0]
    assert first.vars == {"tone": "polite", "question": "refund please"}
    assert [a.type for a in first.asserts] == ["not-icontains", "icontains-any", "is-json"]
    assert first.grader.model == "gpt-4.1-mini" and first.metadata == {"area": "refunds"}
    csv_case = suite.tests[1]
    assert (csv_case.file, csv_case.line) == ("evals/cases/a.csv", 2)
    assert [(a.type, a.value) for a in csv_case.asserts][1:] == [("icontains", "tracking"), ("not-contains", "sorry")]
    # a list-valued var runs once per value
    assert [t.vars["question"] for t in suite.tests[3:]] == ["a", "b"]


@pytest.mark.parametrize(
    "snippet, line, words",
    [
        ("      - type: ruby\n        value: output == 1\n", 14, "refused: ruby: executes code prompt-review does not run"),
        ("      - type: javascript\n        value: file://check.tsx\n", 15, "javascript assertion: check.tsx does not exist"),
        ("      - type: javascript\n        value: file://check.ts\n", 15, "javascript assertion: check.ts does not exist"),
        ("      - type: python\n        value: file://gone.py\n", 15, "python assertion: gone.py does not exist"),
        ("      - type: javascript\n", 14, "javascript assertion: needs code"),
        ("      - type: webhook\n        value: http://x\n", 14, "unsupported: webhook"),
        ("      - type: contains\n        value: x\n        transform: file://t.rb\n", 16, "contains transform: file://t.rb is not a .js, .ts or .py file"),
        ("      - type: trace-span-count\n        value: 1\n", 14, "unsupported: trace-span-count: trace-span-count reads the OpenTelemetry spans"),
        ("      - type: regex\n        value: '([a-z'\n", 15, "invalid regular expression"),
        ("      - type: not-regex\n        value: 'a{2,1}'\n", 15, "invalid regular expression"),
        ("      - type: is-json\n        value: {type: 12}\n", 15, "invalid JSON schema"),
        ("      - type: contains\n        value: file://check.py\n", 15, "refused: executes code from the PR (contains assertion value file://check.py)"),
        ("      - type: contains\n        value: x\n        valeu: x\n", 16, "unknown assertion key 'valeu'"),
    ],
)
def test_assertions_that_run_code_or_are_unknown_are_refused_with_their_line(snippet, line, words):
    suite = (
        "prompts: [file://prompts/system.md]\nproviders: [openai:chat:gpt-4o]\n"
        "tests:\n  - description: one\n    vars: {question: q}\n    assert:\n"
        "      - type: contains\n        value: ok\n"
        "  - description: two\n    vars: {question: q}\n    assert:\n      - type: contains\n        value: ok\n"
    ) + snippet
    (error,) = errors_of(suite)
    assert error[0] == PATH and error[1] == line and words in error[2]


@pytest.mark.parametrize(
    "providers, words",
    [
        ("  - exec:bash run.sh\n", "exec providers run a shell command"),
        ("  - python:provider.sh\n", "a python provider names a .py file"),
        ("  - file://provider.rb\n", "refused: provider 'file://provider.rb': executes code from the PR (a provider written in code); "
                                      "prompt-review runs JavaScript (.js/.cjs/.mjs), TypeScript (.ts/.mts/.cts/.tsx, types stripped) and "
                                      "Python (.py) providers in its sandbox, not other programs"),
        ("  - file://provider.tsx\n", "provider: provider.tsx does not exist"),
        ("  - file://provider.ts\n", "provider: provider.ts does not exist"),
        ("  - file://provider.js\n", "provider: provider.js does not exist"),
        ("  - id: https://example.com/api\n    config: {sessionParser: 'data.headers.id'}\n",
         "unsupported: sessionParser: code reading a session id from each answer"),
        ("  - id: openai:chat:gpt-4o\n    config: {transformRequest: 'prompt.trim()'}\n",
         "refused: transformRequest: executes code from the PR"),  # an http provider's only
        ("  - id: openai:chat:gpt-4o\n    config: {apiKey: sk-123}\n", "credentials come from the environment only"),
        ("  - id: https://example.com/api\n    config: {transformResponse: file://parse.py}\n", "unsupported: transformResponse in Python"),
        ("  - id: openai:chat:gpt-4o\n    config: {temprature: 0}\n", "unknown provider config key 'temprature' (did you mean 'temperature'?)"),
        ("  - novelvendor:chat:llama-3\n", "unsupported: provider 'novelvendor:chat:llama-3' is not part of prompt-review"),
    ],
)
def test_unsafe_or_unknown_providers_are_refused_with_file_and_line(providers, words):
    suite = "prompts: [file://prompts/system.md]\nproviders:\n" + providers + "tests:\n  - vars: {question: q}\n"
    (error,) = errors_of(suite)
    assert error[:2] == (PATH, 3) or error[:2] == (PATH, 4)
    assert words in error[2]


def test_code_hooks_and_prompt_functions_the_sandbox_cannot_run_are_refused():
    suite = (
        "prompts:\n  - file://prompts/make_prompt.rb:build\n"
        "providers: [openai:chat:gpt-4o]\n"
        "extensions: [file://hooks.rb:extensionHook]\n"
        "tests:\n  - file://generate_tests.rb\n"
    )
    errors = errors_of(suite)
    assert [(line, msg.split(" ")[0]) for _, line, msg in errors] == [(2, "refused:"), (4, "extension"), (6, "unsupported:")]
    assert "prompt function" in errors[0][2] and "'file://hooks.rb:extensionHook' must be" in errors[1][2] and "test generator" in errors[2][2]


def test_unknown_keys_are_errors_not_silently_ignored():
    suite = "prompts: [file://prompts/system.md]\nprovider: [openai:chat:gpt-4o]\ntests:\n  - vars: {question: q}\n    asert: []\n"
    errors = errors_of(suite)
    assert any(line == 2 and msg.startswith("unknown key 'provider' (did you mean 'providers'?) (supported: ") for _, line, msg in errors)
    assert any(line == 5 and "unknown test key 'asert'" in msg for _, line, msg in errors)


def test_missing_files_and_paths_outside_the_repo_name_the_reference():
    suite = "prompts:\n  - file://prompts/nope.md\n  - file://../../etc/passwd\nproviders: [openai:chat:gpt-4o]\ntests: []\n"
    errors = errors_of(suite)
    assert errors[0][1] == 2 and "not found" in errors[0][2]
    assert errors[1][1] == 3 and "outside the repository" in errors[1][2]


def test_errors_inside_test_files_name_that_file_and_line():
    suite = "prompts: [file://prompts/system.md]\nproviders: [openai:chat:gpt-4o]\ntests: file://cases/bad.yaml\n"
    bad = "- vars: {question: ok}\n  assert:\n    - type: ruby\n      value: 'true'\n"
    loaded, errors = load_suite(MemoryTree({PATH: suite, "evals/prompts/system.md": "x", "evals/cases/bad.yaml": bad}), PATH)
    assert [(e.file, e.line) for e in errors] == [("evals/cases/bad.yaml", 3)]


def test_csv_expected_column_refuses_code_with_the_row_line():
    csv = "question,__expected\nhi,icontains: hello\nbye,ruby: output.length > 3\n"
    suite = "prompts: [file://prompts/system.md]\nproviders: [openai:chat:gpt-4o]\ntests: file://cases/x.csv\n"
    loaded, errors = load_suite(MemoryTree({PATH: suite, "evals/prompts/system.md": "x", "evals/cases/x.csv": csv}), PATH)
    assert [(e.file, e.line, e.message.split(":")[0]) for e in errors] == [("evals/cases/x.csv", 3, "refused")]


def test_yaml_syntax_errors_name_the_line():
    assert errors_of("prompts: [a\nproviders: []\n")[0][1] in (1, 2)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("icontains: 30 days", {"type": "icontains", "value": "30 days"}),
        ("not-contains: sorry", {"type": "not-contains", "value": "sorry"}),
        ("contains-any: a, b", {"type": "contains-any", "value": ["a", "b"]}),
        ("levenshtein(3): hello", {"type": "levenshtein", "value": "hello", "threshold": 3.0}),
        ("grade: is polite", {"type": "llm-rubric", "value": "is polite"}),
        ("is-json", {"type": "equals", "value": "is-json"}),
        ("is-json:", {"type": "is-json"}),
        ("fn: output.length", {"type": "javascript", "value": " output.length"}),
        ("Hello there", {"type": "equals", "value": "Hello there"}),
    ],
)
def test_csv_expected_shorthand_follows_promptfoo(text, expected):
    assert expected_to_assertion(text) == expected


def test_an_assertions_reason_is_a_note_that_changes_nothing_and_a_misspelt_key_is_still_refused():
    suite = ("prompts: [file://prompts/system.md]\nproviders: [openai:chat:gpt-4o]\n"
             "tests:\n  - vars: {question: q}\n    assert:\n"
             "      - type: icontains\n        value: refund\n        reason: the reply must name the refund policy\n"
             "        description: refund policy named\n")
    loaded, errors = load_suite(MemoryTree({PATH: suite, "evals/prompts/system.md": "Answer {{question}}"}), PATH)
    assert errors == [] and loaded is not None
    (check,) = loaded.tests[0].asserts
    assert (check.type, check.value) == ("icontains", "refund")
    (error,) = errors_of(suite.replace("reason:", "reasons:"))
    assert error[1] == 8 and "unknown assertion key 'reasons'" in error[2]


@pytest.mark.parametrize("tests, expected", [
    ("tests: cases.csv", ["x", "y"]),
    ("tests: [cases.csv, {vars: {q: w}}]", ["x", "y", "w"]),
    ("tests: ['cases/*.yaml']", ["z"]),
    ("tests: [{path: cases/a.yaml}]", ["z"]),
])
def test_a_bare_test_path_or_glob_is_read_as_a_file_as_promptfoo_reads_it(tests, expected):
    files = {"promptfooconfig.yaml": f"prompts: ['hi {{{{q}}}}']\nproviders: [echo]\n{tests}\n",
             "cases.csv": "q\nx\ny\n", "cases/a.yaml": "- vars: {q: z}\n"}
    suite, errors = load_suite(MemoryTree(files), "promptfooconfig.yaml")
    assert errors == [] and [t.vars["q"] for t in suite.tests] == expected


@pytest.mark.parametrize("tests, words", [
    ("tests: langfuse://traces?limit=10", "unsupported: tests from langfuse:// are read from a remote service"),
    ("tests: az://account/container/cases.csv", "unsupported: tests from az:// are read from a remote service"),
    ("tests: missing.csv", "file 'missing.csv' not found"),
])
def test_remote_or_missing_test_files_are_errors_at_their_line(tests, words):
    files = {"promptfooconfig.yaml": f"prompts: ['hi {{{{q}}}}']\nproviders: [echo]\n{tests}\n"}
    suite, errors = load_suite(MemoryTree(files), "promptfooconfig.yaml")
    assert suite is None and [(e.line, words in e.message) for e in errors] == [(3, True)]


def test_inline_prompts_that_begin_alike_are_told_apart_by_their_order_and_a_repeated_one_is_one():
    start = "You are an expert clinical data extraction assistant. Your task is to extract"
    suite_text = (f"prompts:\n  - '{start} the medications of {{{{x}}}}'\n  - '{start} the dosages of {{{{x}}}}'\n"
                  f"  - '{start} the medications of {{{{x}}}}'\n  - '{start} the routes of {{{{x}}}}'\n"
                  "providers: [echo]\ntests: [{vars: {x: 1}}]\n")
    suite, errors = load_suite(MemoryTree({"promptfooconfig.yaml": suite_text}), "promptfooconfig.yaml")
    assert errors == []
    short = "You are an expert clinical data extraction assistant. Your …"
    assert [p.label for p in suite.prompts] == [short, f"{short} #2", f"{short} #3"]
    assert [p.template.split(" of ")[0].rsplit(" ", 1)[1] for p in suite.prompts] == ["medications", "dosages", "routes"]


def test_a_prompt_file_in_another_encoding_is_an_error_naming_its_line_and_byte():
    files = {"promptfooconfig.yaml": "prompts: [file://a.txt]\nproviders: [echo]\n", "a.txt": b"line one\nUnassuming\x97just\n"}
    suite, errors = load_suite(MemoryTree(files), "promptfooconfig.yaml")
    (error,) = errors
    assert suite is None and (error.file, error.line) == ("a.txt", 2) and "byte 0x97 at offset 19" in error.message


def test_a_grader_of_settings_alone_is_an_error_that_says_it_names_no_model():
    suite = ("prompts: [hi]\nproviders: [echo]\ndefaultTest:\n  options:\n    provider:\n      temperature: 0.1\n"
             "tests: [{assert: [{type: llm-rubric, value: ok}]}]\n")
    loaded, errors = load_suite(MemoryTree({"promptfooconfig.yaml": suite}), "promptfooconfig.yaml")
    (error,) = errors
    assert loaded is None and error.line == 5 and "a provider needs an `id`" in error.message and "temperature" in error.message
