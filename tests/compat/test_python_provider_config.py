"""A Python provider's config with `file://` settings, as promptfoo 0.121's Python provider reads it before its first
call (processConfigFileReferences): at any depth, a JSON/YAML file's data, a text file's text, and what a JavaScript
or Python function returns — the code run while the suite loads, under the same gate as a test generator."""

from __future__ import annotations

from bot.core.config import EvalsConfig
from bot.core.files import MemoryTree
from bot.evals.generators import CodePolicy, base_code
from bot.evals.loaded import LoadedSuites
from bot.evals.loader import load_suite

PATH = "evals/promptfooconfig.yaml"
SUITE = """\
prompts: ['Say {{word}}']
providers:
  - id: file://provider.py
    config:
      settings: file://configs/settings.yaml
      formatting: file://configs/format.js:getFormatConfig
      nested:
        parameters: file://configs/params.py:get_params
        notes: [file://configs/notes.txt, plain]
      defaulted: file://configs/defaults.py
tests:
  - vars: {word: hi}
"""
FILES = {
    PATH: SUITE,
    "evals/provider.py": "def call_api(prompt, options, context):\n    return {'output': prompt}\n",
    "evals/configs/settings.yaml": "model: gpt-4.1-mini\ntemperature: 0.7\n",
    "evals/configs/format.js": "function getFormatConfig() { return { uppercase: false, prefix: 'Q:' }; }\nmodule.exports = { getFormatConfig };\n",
    "evals/configs/params.py": "def get_params():\n    return {'max_tokens': 1000, 'foo': 'bar'}\n",
    "evals/configs/notes.txt": "be brief\n",
    "evals/configs/defaults.py": "def get_config():\n    return [1, 2]\n",
}


def test_each_file_setting_at_any_depth_is_read_or_run_as_promptfoos_python_provider_reads_it():
    loaded, errors = load_suite(MemoryTree(FILES), PATH, code=base_code())
    assert errors == []
    (spec,) = loaded.providers
    assert dict(spec.params) == {
        "settings": {"model": "gpt-4.1-mini", "temperature": 0.7},
        "formatting": {"uppercase": False, "prefix": "Q:"},
        "nested": {"parameters": {"max_tokens": 1000, "foo": "bar"}, "notes": ["be brief\n", "plain"]},
        "defaulted": [1, 2],
    }


def test_a_setting_of_an_unsupported_kind_or_a_missing_file_is_an_error_at_its_line():
    files = {**FILES, PATH: SUITE.replace("file://configs/notes.txt", "file://configs/notes.csv")
                                  .replace("file://configs/settings.yaml", "file://configs/missing.yaml")}
    _, errors = load_suite(MemoryTree(files), PATH, code=base_code())
    assert sorted((e.line, e.message) for e in errors) == [
        (5, "file evals/configs/missing.yaml not found"),
        (9, "file://configs/notes.csv: a file setting of a Python provider must be .json, .yaml, .yml, .txt, .md, JavaScript "
            "or Python (promptfoo: Unsupported file extension: .csv)"),
    ]


def test_code_that_throws_is_an_error_naming_the_setting_and_the_code():
    files = {**FILES, "evals/configs/params.py": "def get_params():\n    raise ValueError('no params')\n"}
    _, errors = load_suite(MemoryTree(files), PATH, code=base_code())
    ((line, message),) = [(e.line, e.message) for e in errors]
    assert line == 8 and message.startswith("provider setting code file://configs/params.py:get_params: ") and "no params" in message


def test_a_forks_changed_setting_code_never_runs_and_the_base_branchs_does():
    changed = {**FILES, "evals/configs/format.js": FILES["evals/configs/format.js"].replace("'Q:'", "'pwned'")}
    loaded = LoadedSuites(code=CodePolicy(MemoryTree(FILES), same_repo=False, evals=EvalsConfig()))
    base_suite, base_errors = loaded.load(MemoryTree(FILES), PATH)
    assert base_errors == [] and dict(base_suite.providers[0].params)["formatting"]["prefix"] == "Q:"
    _, errors = loaded.load(MemoryTree(changed), PATH)
    assert [(e.line, e.message) for e in errors] == [
        (6, "refused: executes code from a fork's pull request (provider setting code) — code from forks never runs; only "
            "the base branch's code does")]
    unchanged_head, errors = loaded.load(MemoryTree(dict(FILES)), PATH)  # the base's bytes at the same paths: they run
    assert errors == [] and unchanged_head is not None


def test_without_a_decision_on_its_origin_the_code_does_not_run():
    _, errors = load_suite(MemoryTree(FILES), PATH)
    assert {e.line for e in errors} == {6, 8, 10}
    assert all("is not run without a decision" in e.message for e in errors)


def test_every_file_a_providers_settings_are_read_from_is_under_review():
    """A PR changing only tools.json, a response schema, a system instruction or a config function must be reviewed:
    each file is a dependency of the suite (the gate would otherwise pass it unchecked)."""
    from bot.evals import find_dependencies

    files = {**FILES, PATH: SUITE.replace("tests:\n", "  - id: openai:gpt-4o\n    config:\n      response_format: file://schema.json\n"
                                                       "  - id: google:gemini-2.5-flash\n    config:\n"
                                                       "      systemInstruction: file://system.txt\ntests:\n"),
             "evals/schema.json": '{"type": "json_object"}', "evals/system.txt": "Be brief.",
             "evals/configs/helpers.py": "TOKENS = 1000\n",
             "evals/configs/params.py": "from helpers import TOKENS\n\ndef get_params():\n    return {'max_tokens': TOKENS}\n"}
    tree = MemoryTree(files)
    deps = {(d.path, d.reason) for d in find_dependencies(tree, tree, [PATH], LoadedSuites(code=CodePolicy(tree)))}
    for path in ("evals/configs/settings.yaml", "evals/configs/format.js", "evals/configs/params.py", "evals/configs/notes.txt",
                 "evals/schema.json", "evals/system.txt"):
        assert (path, f"provider setting of {PATH}") in deps, (path, sorted(deps))
    assert ("evals/configs/helpers.py", f"code required by evals/configs/params.py of {PATH}") in deps
