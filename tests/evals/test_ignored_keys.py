"""A top-level key promptfoo does not define is dropped by promptfoo, which runs the suite anyway: prompt-review
loads such a suite too and says so with a warning at the key's line. A near miss of a key it does define
(`test:` for `tests:`) stays an error: dropping it would leave tests or checks out and let the gate pass on
nothing."""

from __future__ import annotations

import pytest

from bot.core.files import MemoryTree
from bot.evals.loaded import LoadedSuites
from bot.evals.loader import load_suite, read_suite

PATH = "evals/promptfooconfig.yaml"
HEAD = "prompts: ['{{q}}']\nproviders: [openai:chat:gpt-4o-mini]\n"
TESTS = "tests:\n  - vars: {q: hi}\n    assert: [{type: contains, value: hi}]\n"
WHY = "(promptfoo ignores keys it does not define; so does prompt-review)"


def read(text: str):
    return read_suite(MemoryTree({PATH: text}), PATH)


def test_an_unknown_top_level_key_loads_with_a_warning_naming_file_and_line():
    found = read(HEAD + TESTS + "passRateThreshold: 0.9\n")
    assert found.errors == () and found.suite is not None and len(found.suite.tests) == 1
    assert [str(w) for w in found.warnings] == [f"{PATH}:6: ignored key 'passRateThreshold' {WHY}"]


def test_a_yaml_anchor_holder_is_ignored_and_its_anchors_still_serve_the_suite():
    suite = ("x-chunk-config: &chunk\n  provider: openai:chat:gpt-4o-mini\n  value: hi\n" + HEAD
             + "tests:\n  - vars: {q: hi}\n    assert:\n      - type: contains\n        <<: *chunk\n")
    found = read(suite)
    assert found.errors == () and found.suite is not None
    assert found.suite.tests[0].asserts[0].value == "hi"
    assert [(w.line, w.message) for w in found.warnings] == [(1, f"ignored key 'x-chunk-config' {WHY}")]


def test_each_ignored_key_of_real_users_suites_is_a_warning_in_the_order_of_the_file():
    extra = "version: 1\ncolumns: [a, b]\nmaxConcurrency: 4\nenvPath: .env.local\n"
    found = read(HEAD + extra + TESTS)
    assert found.errors == () and found.suite is not None
    assert [(w.line, w.message.split(" (")[0]) for w in found.warnings] == [
        (3, "ignored key 'version'"), (4, "ignored key 'columns'"), (5, "ignored key 'maxConcurrency'"), (6, "ignored key 'envPath'")]


def test_a_misspelt_tests_key_is_still_an_error_so_the_gate_cannot_pass_on_no_tests():
    # the attack: `test:` instead of `tests:` would run no case at all, and nothing can regress
    suite, errors = load_suite(MemoryTree({PATH: HEAD + TESTS.replace("tests:", "test:")}), PATH)
    assert suite is None
    assert [(e.line, e.message.split(" (supported")[0]) for e in errors] == [(3, "unknown key 'test' (did you mean 'tests'?)")]


@pytest.mark.parametrize("key, meant", [("prompt", "prompts"), ("provider", "providers"), ("defaultTests", "defaultTest"),
                                        ("derivedMetric", "derivedMetrics")])
def test_a_near_miss_of_a_known_key_is_an_error_with_did_you_mean(key, meant):
    found = read(HEAD + TESTS + f"{key}: x\n")
    assert found.suite is None and found.warnings == ()
    assert [e.message.split(" (supported")[0] for e in found.errors] == [f"unknown key {key!r} (did you mean {meant!r}?)"]


def test_keys_promptfoo_defines_and_the_review_refuses_stay_refused():
    # envPath loads an env file in promptfoo only under commandLineOptions, where it is refused (its pacing keys have no effect)
    for extra, words in (("env: {OPENAI_API_KEY: sk-x}\n", "unsupported: env.OPENAI_API_KEY: a suite's env is not read"),
                         ("commandLineOptions: {envPath: .env}\n", "commandLineOptions.envPath changes what runs or where credentials come from"),
                         ("commandLineOptions: {maxConcurrency: 1, filterFirstN: 2}\n", "commandLineOptions.filterFirstN changes what runs")):
        found = read(HEAD + TESTS + extra)
        assert found.suite is None and found.warnings == ()
        assert len(found.errors) == 1 and words in found.errors[0].message


@pytest.mark.parametrize("env", [
    "env: {OPENAI_BASE_URL: 'http://127.0.0.1:9/v1'}",  # where requests go
    "env: {GEMINI_API_KEY: '{{ env.GOOGLE_GENERATIVE_AI_KEY }}'}",  # one variable's value given to a vendor's key
    "env: {PROMPTFOO_DISABLE_TEMPLATING: 'true'}",  # a setting of promptfoo's that changes what is sent
    "env: {APP_NAME: shop}",  # read by templates as {{ env.APP_NAME }} in promptfoo
])
def test_a_suites_env_is_refused_key_by_key_at_the_keys_line(env):
    found = read(HEAD + TESTS + env.replace("{", "\n  ", 1).rstrip("}").replace(": ", ": ", 1) + "\n")
    key = env.split("{")[1].split(":")[0]
    assert found.suite is None
    assert [(e.line, e.message.split(":")[0] + ":" + e.message.split(":")[1]) for e in found.errors] == [
        (HEAD.count("\n") + TESTS.count("\n") + 2, f"unsupported: env.{key}")], [str(e) for e in found.errors]


def test_promptfoos_settings_that_pace_or_log_its_run_may_be_in_a_suites_env():
    found = read(HEAD + TESTS + "env:\n  PROMPTFOO_EVAL_TIMEOUT_MS: 10000\n  PROMPTFOO_CACHE_ENABLED: false\n  LOG_LEVEL: debug\n")
    assert list(found.errors) == [] and list(found.warnings) == [] and found.suite is not None


def test_command_line_options_that_only_pace_the_run_have_no_effect():
    found = read(HEAD + TESTS + "commandLineOptions: {maxConcurrency: 1, delay: 5000, cache: false, verbose: true}\n")
    assert list(found.errors) == [] and list(found.warnings) == [] and found.suite is not None


def test_a_suite_with_errors_keeps_its_warnings():
    found = read(HEAD + TESTS + "version: 2\ndescription: [not text]\n")
    assert found.suite is None and [e.message for e in found.errors] == ["description must be text"]
    assert [w.line for w in found.warnings] == [6]


def test_the_review_memo_gives_the_warnings_of_each_side():
    base, head = MemoryTree({PATH: HEAD + TESTS}), MemoryTree({PATH: HEAD + TESTS + "columns: [a]\n"})
    loaded = LoadedSuites()
    assert loaded.load(head, PATH)[1] == [] and loaded.warnings(base, PATH) == ()
    assert [w.line for w in loaded.warnings(head, PATH)] == [6]
    assert loaded.warnings(MemoryTree({}), PATH) == ()
    assert loaded.loads == 2


@pytest.mark.parametrize("key", ["assert", "vars", "options", "threshold"])
def test_a_tests_key_at_the_top_level_is_still_an_error_so_its_checks_are_not_dropped(key):
    # the attack: `assert:` beside `tests:` reads as checks on every test, and promptfoo drops it unread
    found = read(HEAD + TESTS + f"{key}: [{{type: contains, value: refund}}]\n")
    assert found.suite is None and found.warnings == ()
    assert [(e.line, e.message) for e in found.errors] == [
        (6, f"unknown key {key!r}: a test's key, not a suite's; give it under defaultTest (every test) or a test")]


def test_evaluate_options_promptfoo_drops_are_warnings_and_a_misspelt_or_slicing_one_an_error():
    found = read(HEAD + TESTS + "evaluateOptions:\n  maxConcurrency: 2\n  runSerially: true\n")
    assert found.suite is not None and list(found.errors) == []
    assert [(w.line, w.message.split(" (")[0]) for w in found.warnings] == [(8, "ignored key 'evaluateOptions.runSerially'")]
    misspelt = read(HEAD + TESTS + "evaluateOptions: {maxConcurency: 2}\n")
    assert misspelt.suite is None and "did you mean 'maxConcurrency'" in misspelt.errors[0].message
    sliced = read(HEAD + TESTS + "evaluateOptions: {filterRange: '0:5'}\n")
    assert sliced.suite is None and "filterRange runs a slice of the tests" in sliced.errors[0].message


def test_an_assertions_label_or_name_is_a_warning_once_per_file_as_promptfoo_drops_it():
    # promptfoo's assertion schema drops keys it lacks (a real user labels each check: `label: valid JSON`)
    tests = ("tests:\n  - vars: {q: hi}\n    assert:\n      - type: is-json\n        label: valid JSON\n"
             "      - type: contains\n        value: hi\n        label: says hi\n        name: greeting\n")
    found = read(HEAD + tests)
    assert found.errors == () and found.suite is not None and len(found.suite.tests[0].asserts) == 2
    assert [(w.line, w.message.split(" (")[0]) for w in found.warnings] == [
        (7, "ignored assertion key 'label'"), (11, "ignored assertion key 'name'")]


@pytest.mark.parametrize("key, says", [
    ("vaule", "unknown assertion key 'vaule' (did you mean 'value'?)"),
    ("treshold", "unknown assertion key 'treshold' (did you mean 'threshold'?)"),
    ("expected", "unknown assertion key 'expected'; promptfoo drops it and the assertion checks nothing it says"),
])
def test_an_assertion_key_that_reads_as_part_of_the_check_stays_an_error(key, says):
    tests = f"tests:\n  - vars: {{q: hi}}\n    assert:\n      - type: contains\n        value: hi\n        {key}: x\n"
    suite, errors = load_suite(MemoryTree({PATH: HEAD + tests}), PATH)
    assert suite is None and [e.line for e in errors] == [8] and says in errors[0].message, [str(e) for e in errors]


def test_a_near_miss_of_where_results_go_is_a_warning_as_it_changes_no_verdict():
    # real suites write `output: {file: x.json}` or `outputs:` for outputPath; promptfoo 0.121 runs them, ignoring it
    found = read(HEAD + "output:\n  file: out.json\noutputs: [{file: out.csv}]\n" + TESTS)
    assert found.errors == () and found.suite is not None
    assert [(w.line, w.message.split(" (")[0], w.message.split("; ")[-1]) for w in found.warnings] == [
        (3, "ignored key 'output'", "did you mean 'outputPath'?"), (5, "ignored key 'outputs'", "did you mean 'outputPath'?")]
    # a near miss of a key that decides what runs stays an error
    suite, errors = load_suite(MemoryTree({PATH: HEAD.replace("prompts:", "prompt:") + TESTS}), PATH)
    assert suite is None and "did you mean 'prompts'?" in errors[0].message
