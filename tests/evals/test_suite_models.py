"""The suite file's shape is read through pydantic models (bot.evals.suite_models): the keys a message
lists as supported are the models' fields, and every problem the models find names its file and line."""

from __future__ import annotations

import pytest

from bot.core.files import MemoryTree
from bot.evals.loader import load_suite
from bot.evals.providers_config import ProviderEntry
from bot.evals.suite_models import EvaluateOptions, PromptEntry, Scenario, SuiteFile, TestEntry, TestOptions

PATH = "evals/promptfooconfig.yaml"
HEAD = "prompts: ['{{q}}']\nproviders: [openai:chat:gpt-4o-mini]\n"


def errors_of(suite: str, **files: str) -> list[str]:
    tree = MemoryTree({PATH: suite, **{f"evals/{name}": text for name, text in files.items()}})
    loaded, errors = load_suite(tree, PATH)
    assert loaded is None
    return [f"{e.file}:{e.line}: {e.message}" for e in errors]


def test_an_unknown_top_level_key_lists_the_suite_models_fields_with_its_line():
    (error,) = errors_of(HEAD + "tests: [{vars: {q: hi}}]\nprovider: [x]\n")
    supported = ", ".join(SuiteFile.supported())
    assert error == f"{PATH}:4: unknown key 'provider' (did you mean 'providers'?) (supported: {supported})"
    # the listed keys are the model's own: promptfoo's inert keys are fields, refused ones are not listed
    assert {"$schema", "evaluateOptions", "tracing", "prompts", "defaultTest"} <= set(SuiteFile.supported())
    assert not {"redteam", "env"} & set(SuiteFile.supported())
    assert {"extensions", "redteam", "env"} <= set(SuiteFile.keys())


def test_problems_of_the_top_level_come_in_the_order_of_the_file():
    suite = (
        "description: 7\n" + HEAD + "evaluateOptions: {maxConcurrency: 2, repeat: 3, retries: 1}\n"
        "nunjucksFilters: [file://upper.js]\nderivedMetrics:\n  - {name: ok, value: 'a / b'}\n  - {value: 'a + b'}\n"
        "  - name: f\n    value: 'function () { return 1 }'\n"
    )
    assert errors_of(suite) == [
        f"{PATH}:1: description must be text",
        f"{PATH}:4: unsupported: evaluateOptions.repeat; set evals.repeats in .github/prompt-review.yml (the base branch decides)",
        f"{PATH}:5: nunjucksFilters must be a mapping of filter name → JavaScript file",
        f"{PATH}:8: a derived metric needs a `name` and a `value` (a mathjs expression)",
        f"{PATH}:10: refused: derivedMetrics value: executes code from the PR (only mathjs expressions over metric names are read)",
    ]


def test_a_value_of_the_wrong_kind_is_named_in_words_not_python_types():
    errors = errors_of(HEAD + "evaluateOptions: [maxConcurrency]\nderivedMetrics: {name: x}\n")
    assert errors == [f"{PATH}:3: evaluateOptions must be a mapping", f"{PATH}:4: derivedMetrics must be a list of {{name, value}}"]


def test_pacing_options_of_promptfoo_load_and_repeat_once_is_no_repeat():
    tree = MemoryTree({PATH: HEAD + "evaluateOptions: {maxConcurrency: 2, delay: 100, repeat: 1}\ntests: [{vars: {q: hi}}]\n"})
    suite, errors = load_suite(tree, PATH)
    assert errors == [] and suite is not None
    assert "repeat" in EvaluateOptions.supported() and "maxConcurrency" in EvaluateOptions.supported()


def test_an_unknown_key_inside_a_test_of_a_test_file_names_that_file_and_line_and_the_models_fields():
    suite = HEAD + "tests: file://cases.yaml\n"
    cases = "- vars: {q: hi}\n  assert: [{type: contains, value: hi}]\n- vars: {q: there}\n  expected: there\n"
    (error,) = errors_of(suite, **{"cases.yaml": cases})
    assert error == (f"evals/cases.yaml:4: unknown test key 'expected' (supported: {', '.join(TestEntry.supported())}); "
                     "promptfoo drops it and the test checks nothing it says: write it as an assertion "
                     "(assert: [{type: equals, value: …}])")
    assert TestEntry.supported() == ["assert", "assertScoringFunction", "description", "metadata", "options", "prompts", "provider",
                                     "providers", "threshold", "vars"]
    # promptfoo keys prompt-review does not take are fields of the model, rejected with their reason, never "unknown"
    assert {"providerOutput"} <= set(TestEntry.keys()) - set(TestEntry.supported())


def test_problems_of_a_test_are_in_words_with_their_lines_and_the_rest_of_the_test_is_still_checked():
    suite = HEAD + (
        "tests:\n"
        "  - vars: [1, 2]\n"            # 4
        "    assert: {type: equals}\n"  # 5
        "    threshold: half\n"         # 6
        "    metadata: [a]\n"           # 7
        "    providerOutput: fixed\n"   # 8
        "    options:\n"                # 9
        "      responseFormat: {}\n"    # 10
        "      rubricPrompt: 7\n"       # 11
        "      timeot: 5\n"             # 12
    )
    errors = errors_of(suite)
    assert errors[:6] == [
        f"{PATH}:4: vars must be a mapping of name → value (or a file:// reference to one)",
        f"{PATH}:5: assert must be a list",
        f"{PATH}:6: threshold must be a number",
        f"{PATH}:7: metadata must be a mapping",
        f"{PATH}:8: unsupported: test key 'providerOutput': a fixed providerOutput skips the model; prompt-review reviews model outputs",
        f"{PATH}:10: unsupported: test option 'responseFormat' is not part of prompt-review (supported: provider — the grader, rubricPrompt, transform, transformVars, storeOutputAs)",
    ]
    assert errors[6] == f"{PATH}:12: unknown test option 'timeot': promptfoo has no such option (did you mean 'timeout'?)"
    # the well-formed option next to the rejected ones is still read: its own problem is reported too
    assert len(errors) == 8 and errors[7].startswith(f"{PATH}:11: ")
    assert "timeout" in TestOptions.keys() and "storeOutputAs" in TestOptions.supported() and "responseFormat" not in TestOptions.supported()


def test_a_scenario_is_read_through_its_model():
    suite = HEAD + (
        "scenarios:\n"
        "  - config: [{vars: {q: a}}, 3]\n"    # 4
        "    tests: [{vars: {x: 1}}]\n"
        "    weights: [1]\n"                   # 6
        "  - config: {vars: {q: a}}\n"         # 7
        "    tests: []\n"
    )
    assert errors_of(suite) == [
        f"{PATH}:4: a scenario config entry must be a mapping (vars, assert, …)",
        f"{PATH}:6: unknown scenario key 'weights' (supported: {', '.join(Scenario.supported())})",
        f"{PATH}:7: a scenario needs `config` (a list of vars/assert mappings) and `tests` (a list)",
    ]


def test_a_prompt_mapping_is_read_through_its_model():
    suite = (
        "prompts:\n"
        "  - id: 'Hi {{q}}'\n"            # 2
        "    function: file://make.js\n"  # 3
        "    lable: short\n"              # 4
        "  - raw: 'Hello {{q}}'\n"        # 5
        "    config: [temperature]\n"     # 6
        "providers: [openai:chat:gpt-4o-mini]\n"
    )
    assert errors_of(suite) == [
        f"{PATH}:3: refused: prompt key 'function': executes code from the PR (a prompt function)",
        f"{PATH}:4: unsupported prompt key 'lable' (supported: {', '.join(PromptEntry.supported())})",
        f"{PATH}:6: a prompt's config must be a mapping",
    ]
    assert PromptEntry.supported() == ["config", "id", "label", "raw"]


@pytest.mark.parametrize(
    "suite, expected",
    [
        # each of these raised a TypeError/AttributeError out of load_suite before the shapes were models
        (HEAD + "scenarios:\n  - config: [{vars: [a]}]\n    tests: [{vars: {q: b}}]\n",
         f"{PATH}:4: a scenario's config vars and its test's vars are merged as mappings only (not file:// references)"),
        (HEAD + "scenarios:\n  - config: [{vars: {q: a}}]\n    tests: [{vars: 7}]\n",
         f"{PATH}:5: a scenario's config vars and its test's vars are merged as mappings only (not file:// references)"),
        (HEAD + "scenarios:\n  - config: [{assert: 3}]\n    tests: [{vars: {q: b}}]\n", f"{PATH}:5: assert must be a list"),
        ("prompts:\n  - {id: 'Hi {{q}}', label: [a, b]}\nproviders: [openai:chat:gpt-4o-mini]\n", f"{PATH}:2: a prompt's label must be text"),
        ("prompts:\n  - {id: 'Hi {{q}}', config: {1: 2}}\nproviders: [openai:chat:gpt-4o-mini]\n", f"{PATH}:2: a prompt's config must be a mapping"),
        ("prompts:\n  7: short\nproviders: [openai:chat:gpt-4o-mini]\n", f"{PATH}:2: a prompt must be text, file://path or {{id, label}}"),
    ],
)
def test_malformed_scenarios_and_prompt_mappings_are_errors_with_lines_not_crashes(suite, expected):
    assert errors_of(suite) == [expected]


def test_a_provider_entry_is_read_through_its_model_with_lines():
    suite = (
        "prompts: ['{{q}}']\nproviders:\n  - id: openai:chat:gpt-4o-mini\n    transform: output.trim()\n    retries: 2\n"
        "    prompts: [1]\n  - openai:chat:gpt-4o:\n      env: {OPENAI_API_KEY: sk-x}\n      config: [temperature]\n"
        "tests: [{vars: {q: hi}}]\n"
    )
    assert errors_of(suite) == [
        f"{PATH}:5: unsupported provider key 'retries' (supported: {', '.join(ProviderEntry.supported())})",
        f"{PATH}:6: provider `prompts` must be a list of prompt labels",
        f"{PATH}:8: unsupported: provider `env` is not part of prompt-review; credentials come from the service environment only",
        f"{PATH}:9: provider config must be a mapping",
    ]
    assert ProviderEntry.supported() == ["config", "delay", "id", "label", "prompts", "transform"]  # transform: code, read as such


def test_a_tests_own_keys_and_options_which_promptfoo_drops_are_one_warning_each_per_file():
    from bot.evals.loader import read_suite

    suite = (HEAD + "tests:\n  - vars: {q: hi}\n    tags: [smoke]\n    options: {only: true}\n"
             "    assert: [{type: contains, value: hi}]\n  - vars: {q: there}\n    tags: [slow]\n")
    found = read_suite(MemoryTree({PATH: suite}), PATH)
    assert found.errors == () and found.suite is not None and len(found.suite.tests) == 2
    assert [(w.line, w.message) for w in found.warnings] == [
        (5, "ignored test key 'tags' (promptfoo keeps a test's own keys and reads only its own; so does prompt-review)"),
        (6, "ignored test key 'options.only' (promptfoo keeps a test's own keys and reads only its own; so does prompt-review)")]
    # a near miss of a key promptfoo reads stays an error: dropping it would drop the test's checks
    assert errors_of(HEAD + "tests:\n  - vars: {q: hi}\n    asert: [{type: contains, value: hi}]\n")[0].startswith(
        f"{PATH}:5: unknown test key 'asert'")


def test_a_prompts_provider_key_which_promptfoo_drops_is_a_warning_and_the_prompt_runs_on_every_provider():
    from bot.evals.loader import read_suite

    suite = ("providers:\n  - {id: openai:chat:gpt-4o-mini, label: a}\n  - {id: openai:chat:gpt-4o, label: b}\n"
             "prompts:\n  - label: only-a\n    raw: 'Say {{x}}'\n    provider: a\ntests: [{vars: {x: hi}}]\n")
    found = read_suite(MemoryTree({PATH: suite}), PATH)
    assert found.errors == () and found.suite is not None
    assert [p.label for p in found.suite.prompts] == ["only-a"] and len(found.suite.providers) == 2
    (warning,) = found.warnings
    assert (warning.line, warning.message) == (7, "ignored prompt key 'provider': promptfoo drops it, and the prompt is sent "
                                                   "to every provider; to pair a prompt with a provider, list the prompt's "
                                                   "label in that provider's `prompts:`")


def test_a_prompt_given_as_file_says_promptfoo_would_send_its_id_as_the_text():
    suite = "prompts:\n  - id: codesmith\n    file: file://prompt.txt\nproviders: [openai:chat:gpt-4o-mini]\n"
    (error,) = errors_of(suite)
    assert error.startswith(f"{PATH}:3: unsupported prompt key 'file' (supported: ")
    assert error.endswith("promptfoo does not read `file` and sends the prompt's `raw`, else its `id`, as the text: write the "
                          "file as `raw: file://…` (or `id: file://…`)")
