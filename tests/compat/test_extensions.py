"""Extension hooks (`extensions: [file://hooks.py:fn, file://hooks.js:fn]`), as promptfoo 0.121 runs them: beforeAll
may change the suite's tests, defaultTest and scenarios, beforeEach each test; both run while the suite loads, in the
sandbox, under the code gate (the base branch's hook always, a fork's never), and what they give back is read like a
written test. afterEach and afterAll are not run. bench/vs_promptfoo.py --suite hooks compares verdicts with promptfoo."""

from __future__ import annotations

import pytest

from bot.core.config import EvalsConfig
from bot.core.files import MemoryTree
from bot.evals.generators import CodePolicy, base_code
from bot.evals.loaded import LoadedSuites
from bot.evals.loader import load_suite
from bot.evals.render import Renderer
from bot.evals.runner import find_dependencies
from bot.evals.select import plan_suite
from bot.pipeline.trees import DirTree

PATH = "evals/promptfooconfig.yaml"
TESTS = """\
tests:
  - vars: {body: 'Hello, how are you?', language: Norwegian}
    assert:
      - type: contains-any
        value: [Hallo, Hei]
  - description: french
    vars: {body: I love sailing., language: [French, German]}
    assert:
      - type: icontains
        value: '{{language}}'
"""
# promptfoo's extension-api example, in short: one function for every hook, called with the hook's name
LEGACY = '''\
import logging
import os

logging.basicConfig(filename=os.path.join(os.path.dirname(os.path.abspath(__file__)), "run.log"), level=logging.INFO)


def extension_hook(hook_name, context):
    logging.info("hook %s", hook_name)
    if hook_name == "beforeAll":
        context["suite"]["tests"].append({"vars": {"body": "It's a beautiful day", "language": "Spanish"},
                                          "assert": [{"type": "contains", "value": "Es un día hermoso."}]})
        context["suite"]["defaultTest"]["assert"].append({"type": "is-json"})
        return context
    if hook_name == "beforeEach":
        context["test"]["vars"]["language"] = "Pirate " + context["test"]["vars"]["language"]
        return context
    if hook_name in ("afterEach", "afterAll"):
        raise RuntimeError("never called while loading")
'''


def suite(extensions: str, tests: str = TESTS, extra: str = "") -> str:
    return f"prompts: ['Rephrase in {{{{language}}}}: {{{{body}}}}']\nproviders: [openai:chat:gpt-4o-mini]\nextensions:\n{extensions}{extra}{tests}"


def load(extensions: str, files: dict[str, str], tests: str = TESTS, extra: str = "", code=None):
    tree = MemoryTree({PATH: suite(extensions, tests, extra), **files})
    return load_suite(tree, PATH, code=code if code is not None else base_code())


def shown(loaded) -> list[tuple]:
    return [(t.description, t.vars.get("language"), [a.type for a in t.asserts], t.file) for t in loaded.tests]


def messages(errors) -> list[tuple[int | None, str]]:
    return [(e.line, e.message) for e in errors]


# ---- each hook kind, with promptfoo's semantics ----------------------------------------------------------------


def test_a_python_hook_for_every_hook_adds_a_test_and_a_default_assertion_and_rewrites_each_test():
    loaded, errors = load("  - file://hooks.py:extension_hook\n", {"evals/hooks.py": LEGACY})
    assert errors == [], messages(errors)
    # the default assertion comes first (promptfoo's prepareTestCaseForEval); beforeEach sees each list value on its own
    assert shown(loaded) == [
        (None, "Pirate Norwegian", ["is-json", "contains-any"], PATH),
        ("french", "Pirate French", ["is-json", "icontains"], PATH),
        ("french", "Pirate German", ["is-json", "icontains"], PATH),
        (None, "Pirate Spanish", ["is-json", "contains"], "evals/hooks.py"),
    ]
    assert loaded.tests[1].line == 10  # a test the hook only rewrote keeps its place in the suite
    assert {t.hooks for t in loaded.tests} == {("evals/hooks.py",)}
    assert loaded.extensions == ("evals/hooks.py",)


def test_a_hook_named_after_its_hook_runs_for_that_hook_only_and_gets_the_context_first():
    js = """\
module.exports = {
  beforeAll(context, { hookName }) {
    if (hookName !== 'beforeAll') throw new Error('wrong hook ' + hookName);
    context.suite.tests = context.suite.tests.slice(0, 1);
    return context;
  },
  afterAll() { throw new Error('never run'); },
};
"""
    # promptfoo's test always has vars, assert, options and metadata (merged with defaultTest's)
    py = ("def beforeEach(context, options):\n    test = context['test']\n    test['metadata']['seen'] = sorted(test)\n"
          "    return {'test': {**test, 'vars': {**test['vars'], 'language': options['hookName']}}}\n")
    loaded, errors = load("  - file://hooks.js:beforeAll\n  - file://each.py:beforeEach\n  - file://hooks.js:afterAll\n",
                          {"evals/hooks.js": js, "evals/each.py": py})
    assert errors == [], messages(errors)
    assert shown(loaded) == [(None, "beforeEach", ["contains-any"], PATH)]
    assert loaded.tests[0].metadata == {"seen": ["assert", "metadata", "options", "vars"]}


def test_a_javascript_hook_files_module_is_loaded_once_so_what_before_all_keeps_reaches_before_each():
    js = """\
let seen = 0;
let calls = 0;
module.exports = {
  beforeAll(context) { seen = context.suite.tests.length; },
  beforeEach(context) { calls += 1; context.test.vars.language = `${seen} tests, call ${calls}`; },
};
"""
    loaded, errors = load("  - file://hooks.js:beforeAll\n  - file://hooks.js:beforeEach\n", {"evals/hooks.js": js})
    assert errors == [], messages(errors)
    assert [t.vars["language"] for t in loaded.tests] == ["2 tests, call 1", "2 tests, call 2", "2 tests, call 3"]


def test_a_javascript_hook_that_changes_its_context_in_place_and_returns_nothing_changes_the_test():
    js = "module.exports.hook = (name, context) => { if (name === 'beforeEach') context.test.vars.language = 'Klingon'; };\n"
    loaded, errors = load("  - file://hooks.js:hook\n", {"evals/hooks.js": js})
    assert errors == [] and {t.vars["language"] for t in loaded.tests} == {"Klingon"}


def test_a_python_hook_that_changes_its_context_in_place_and_returns_nothing_changes_nothing():
    py = "def hook(name, context):\n    if name == 'beforeAll':\n        context['suite']['tests'] = []\n    else:\n        context['test']['vars']['language'] = 'Klingon'\n"
    loaded, errors = load("  - file://hooks.py:hook\n", {"evals/hooks.py": py})
    assert errors == [] and [t.vars["language"] for t in loaded.tests] == ["Norwegian", "French", "German"]
    assert all(t.hooks == () for t in loaded.tests)


def test_before_all_replaces_tests_default_test_and_scenarios_as_returned():
    js = """\
module.exports.beforeAll = (context) => ({ suite: { ...context.suite,
  tests: [{ description: 'only', vars: { body: 'x', language: 'Latin' }, assert: [{ type: 'equals', value: 'x' }] }],
  defaultTest: { vars: { body: 'default body' }, assert: [{ type: 'icontains', value: 'y' }] } } });
"""
    loaded, errors = load("  - file://hooks.js:beforeAll\n", {"evals/hooks.js": js})
    assert errors == [], messages(errors)
    assert [(t.description, t.vars, [a.type for a in t.asserts]) for t in loaded.tests] == [
        ("only", {"body": "x", "language": "Latin"}, ["icontains", "equals"])]


def test_a_before_all_that_returns_no_tests_leaves_the_one_empty_test_promptfoo_runs():
    js = "module.exports.beforeAll = (context) => ({ suite: { ...context.suite, tests: undefined } });\n"
    loaded, errors = load("  - file://hooks.js:beforeAll\n", {"evals/hooks.js": js},
                          tests="defaultTest:\n  vars: {body: b, language: Danish}\ntests:\n  - vars: {body: a}\n")
    assert errors == [] and [t.vars for t in loaded.tests] == [{"body": "b", "language": "Danish"}]


def test_after_each_and_after_all_are_not_run():
    py = "def afterEach(context, options):\n    raise RuntimeError('boom')\n\n\ndef afterAll(context, options):\n    import socket\n"
    loaded, errors = load("  - file://after.py:afterEach\n  - file://after.py:afterAll\n", {"evals/after.py": py})
    assert errors == [] and len(loaded.tests) == 3 and loaded.extensions == ("evals/after.py",)


def test_before_each_runs_on_every_test_of_a_suite_larger_than_one_run_and_names_the_one_it_failed_on():
    tests = "tests:\n" + "".join(f"  - vars: {{body: b, language: l{i}}}\n" for i in range(300))
    js = ("module.exports.beforeEach = (c) => {\n  if (c.test.vars.language === 'l280') throw new Error('no 280');\n"
          "  if (c.test.vars.language.endsWith('7')) c.test.vars.body = 'seven';\n};\n")
    _, errors = load("  - file://hooks.js:beforeEach\n", {"evals/hooks.js": js}, tests=tests)
    assert messages(errors) == [(4, "extension hook file://hooks.js:beforeEach (beforeEach) on test 280 (evals/promptfooconfig.yaml:286): "
                                    "JavaScript code threw an error: Error: no 280 (line 2)")]
    loaded, errors = load("  - file://hooks.js:beforeEach\n", {"evals/hooks.js": js.replace("'l280'", "'none'")}, tests=tests)
    assert errors == [] and len(loaded.tests) == 300
    assert [t.index for t in loaded.tests if t.vars["body"] == "seven"] == [i for i in range(300) if str(i).endswith("7")]
    assert all(t.hooks == (("evals/hooks.js",) if t.vars["body"] == "seven" else ()) for t in loaded.tests)


# ---- what a hook gives back is checked like a written test ---------------------------------------------------


def test_an_invalid_test_a_hook_returns_is_an_error_naming_the_hook_the_test_and_the_suite_line():
    js = """\
module.exports.beforeAll = (context) => {
  context.suite.tests.push({ vars: { body: 'b' }, assert: [{ type: 'regex', value: '(' }] });
  return context;
};
"""
    _, errors = load("  - file://hooks.js:beforeAll\n", {"evals/hooks.js": js})
    assert [str(e) for e in errors] == [
        "evals/hooks.js: regex: invalid regular expression: missing ) at position 1 "
        "(suite.tests.2.assert.0.value returned by beforeAll hook file://hooks.js:beforeAll (listed at evals/promptfooconfig.yaml:4))"]


def test_a_before_all_that_returns_a_test_that_is_no_mapping_is_an_error_in_words():
    py = "def beforeAll(context, options):\n    context['suite']['tests'] += ['file://more.yaml', 5]\n    return context\n"
    _, errors = load("  - file://hooks.py:beforeAll\n", {"evals/hooks.py": py})
    assert [str(e) for e in errors] == [
        f"evals/hooks.py: a test must be a mapping with vars and assert (suite.tests.{i} returned by beforeAll hook "
        "file://hooks.py:beforeAll (listed at evals/promptfooconfig.yaml:4))" for i in (2, 3)]


def test_a_before_each_that_returns_something_else_than_its_context_is_an_error_naming_the_test():
    py = "def beforeEach(context, options):\n    return ['not', 'a', 'context']\n"
    _, errors = load("  - file://hooks.py:beforeEach\n", {"evals/hooks.py": py})
    assert messages(errors) == [(4, "extension hook file://hooks.py:beforeEach (beforeEach) must return its context (with `test`) "
                                    "or nothing; for test 0 (evals/promptfooconfig.yaml:6) it returned a list")]


def test_a_before_all_that_changes_the_prompts_is_refused_by_name():
    py = "def beforeAll(context, options):\n    context['suite']['prompts'][0]['raw'] = 'Ignore the review'\n    return context\n"
    _, errors = load("  - file://hooks.py:beforeAll\n", {"evals/hooks.py": py})
    assert messages(errors) == [(4, "unsupported: extension hook file://hooks.py:beforeAll (beforeAll) changed the suite's `prompts`; "
                                    "prompt-review takes tests, defaultTest and scenarios from a hook (prompts, providers and "
                                    "filters are reviewed as the suite's files say)")]


@pytest.mark.parametrize("entry, files, expected", [
    ("file://hooks.py", {"evals/hooks.py": LEGACY}, "extension 'file://hooks.py' must be file://path/to/file.py:function_name"),
    ("file://missing.py:hook", {}, "extension hook file 'missing.py' not found"),
    ("file://hooks.py:nothing", {"evals/hooks.py": LEGACY},
     "extension hook file://hooks.py:nothing (beforeAll): evals/hooks.py defines no function 'nothing' to call"),
    ("file://view.tsx:hook", {"evals/view.tsx": "export const hook = (: number) => 1;"},
     "extension hook file://view.tsx:hook: evals/view.tsx:1:22: TypeScript syntax error"),
])
def test_a_bad_extension_entry_is_an_error_at_its_line(entry, files, expected):
    _, errors = load(f"  - {entry}\n", files)
    assert len(errors) == 1 and errors[0].line == 4 and errors[0].message.startswith(expected), messages(errors)


def test_a_hook_that_throws_is_an_error_with_its_file_line_and_the_suite_line():
    py = "def hook(name, context):\n    x = 1\n    raise ValueError('no sessions')\n"
    js = "module.exports.hook = (name, context) => {\n  if (name === 'beforeEach') {\n    throw new Error('no sessions');\n  }\n};\n"
    _, py_errors = load("  - file://hooks.py:hook\n", {"evals/hooks.py": py})
    _, js_errors = load("  - file://hooks.js:hook\n", {"evals/hooks.js": js})
    assert messages(py_errors) == [(4, "extension hook file://hooks.py:hook (beforeAll): Python code threw an error: "
                                       "ValueError: no sessions (line 3)")]
    assert messages(js_errors) == [(4, "extension hook file://hooks.js:hook (beforeEach) on test 0 (evals/promptfooconfig.yaml:6): "
                                       "JavaScript code threw an error: Error: no sessions (line 3)")]


# ---- escape attempts and hostile answers ----------------------------------------------------------------------


@pytest.mark.parametrize("body, tried", [
    ("import socket; socket.create_connection(('127.0.0.1', 8000))", "import socket"),
    ("open('/etc/passwd').read()", "open /etc/passwd"),
    ("open('../../outside.txt', 'w').write('x')", "for writing"),
])
def test_a_python_hook_cannot_reach_the_network_or_files_outside_its_scratch_directory(body, tried):
    py = f"def beforeAll(context, options):\n    try:\n        {body}\n    except Exception:\n        pass\n    return context\n"
    _, errors = load("  - file://hooks.py:beforeAll\n", {"evals/hooks.py": py})
    assert len(errors) == 1 and errors[0].line == 4, messages(errors)
    assert "which the sandbox refuses" in errors[0].message and tried in errors[0].message, errors[0].message


@pytest.mark.parametrize("body, tried", [
    ("await fetch('http://localhost:8000/session', { signal: AbortSignal.timeout(5000) })", "fetch http://localhost:8000/session"),
    ("require('net').connect(8000, 'localhost')", "require('net').connect()"),
    ("require('child_process').execSync('git init')", "require('child_process').execSync()"),
    ("new WebSocket('ws://localhost:1')", "WebSocket ws://localhost:1"),
])
def test_a_javascript_hook_that_uses_the_network_files_or_processes_is_refused_even_when_it_catches_the_error(body, tried):
    js = f"module.exports.beforeAll = async (context) => {{\n  try {{ {body}; }} catch (e) {{ /* ignored */ }}\n  return context;\n}};\n"
    _, errors = load("  - file://hooks.js:beforeAll\n", {"evals/hooks.js": js})
    assert len(errors) == 1 and errors[0].line == 4, messages(errors)
    assert f"the hook tried `{tried}`, which the sandbox refuses" in errors[0].message, errors[0].message


def test_a_hook_sees_no_credentials_in_its_environment(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-of-the-service")
    py = ("import os\n\n\ndef beforeEach(context, options):\n    context['test']['vars']['language'] = repr(dict(os.environ))\n"
          "    return context\n")
    js = "module.exports.beforeEach = (c) => { c.test.vars.body = JSON.stringify(process.env); };\n"
    loaded, errors = load("  - file://hooks.py:beforeEach\n  - file://hooks.js:beforeEach\n", {"evals/hooks.py": py, "evals/hooks.js": js})
    assert errors == [], messages(errors)
    assert {t.vars["body"] for t in loaded.tests} == {"{}"}
    # Python itself sets a locale in an empty environment (PEP 538); nothing of the service's comes through
    assert {t.vars["language"] for t in loaded.tests} <= {"{}", "{'LC_CTYPE': 'C.UTF-8'}"}


def test_a_hook_writing_a_log_next_to_its_file_writes_into_its_scratch_directory_not_the_repository(tmp_path):
    (tmp_path / "evals").mkdir()
    (tmp_path / "evals" / "promptfooconfig.yaml").write_text(suite("  - file://hooks.py:extension_hook\n"))
    (tmp_path / "evals" / "hooks.py").write_text(LEGACY)
    loaded, errors = load_suite(DirTree(str(tmp_path)), PATH, code=base_code())
    assert errors == [] and len(loaded.tests) == 4
    assert sorted(p.name for p in (tmp_path / "evals").iterdir()) == ["hooks.py", "promptfooconfig.yaml"]


@pytest.mark.parametrize("files, ref, expected", [
    ({"evals/big.py": "def beforeAll(context, options):\n    context['suite']['tests'] = [{'vars': {'n': i}} for i in range(60)]\n"
                      "    return context\n"}, "file://big.py:beforeAll", "returned 60 tests, over the limit of 50 cases"),
    ({"evals/big.js": "module.exports.beforeAll = () => ({ suite: { tests: [{ vars: { body: 'x'.repeat(20000000) } }] } });\n"},
     "file://big.js:beforeAll", "the code produced more than 10,000,000 bytes of output and was stopped"),
    ({"evals/big.py": "def beforeAll(context, options):\n    return {'suite': {'tests': [{'vars': {'body': 'x' * 20000000}}]}}\n"},
     "file://big.py:beforeAll", "the code produced more than 10,000,000 bytes of output and was stopped"),
    ({"evals/deep.py": "def beforeEach(context, options):\n    v = 'x'\n    for _ in range(200):\n        v = [v]\n"
                       "    return {'test': {'vars': {'body': v}}}\n"}, "file://deep.py:beforeEach", "nested deeper"),
    ({"evals/wide.js": "module.exports.beforeEach = (c) => ({ test: { vars: { body: Array.from({ length: 300000 }, (_, i) => i) } } });\n"},
     "file://wide.js:beforeEach", "more than 250,000 values"),
    ({"evals/loop.js": "module.exports.beforeAll = () => { for (;;) {} };\n"}, "file://loop.js:beforeAll", "ran longer than"),
])
def test_a_huge_deep_or_endless_answer_is_stopped_before_it_is_read(files, ref, expected):
    tree = MemoryTree({PATH: suite(f"  - {ref}\n"), **files})
    _, errors = load_suite(tree, PATH, max_cases=50, code=base_code())
    assert len(errors) == 1 and errors[0].line == 4 and expected in errors[0].message, messages(errors)


# ---- the code gate ------------------------------------------------------------------------------------------


def gate(base_files: dict[str, str], head_files: dict[str, str], same_repo: bool, config: EvalsConfig | None = None):
    base, head = MemoryTree(base_files), MemoryTree(head_files)
    loaded = LoadedSuites(code=CodePolicy(base, same_repo, config or EvalsConfig()))
    return loaded.load(base, PATH), loaded.load(head, PATH)


def test_a_fork_pr_adding_a_hook_is_refused_naming_the_rule_and_nothing_of_it_runs():
    base = {PATH: suite("  []\n").replace("extensions:\n  []\n", "")}
    head = {PATH: suite("  - file://hooks.py:extension_hook\n"), "evals/hooks.py": LEGACY}
    _, (head_suite, errors) = gate(base, head, same_repo=False)
    assert head_suite is None
    assert messages(errors) == [(4, "refused: executes code from a fork's pull request (extension hook) — "
                                    "code from forks never runs; only the base branch's code does")]


def test_a_fork_editing_the_base_hook_is_refused_while_the_base_hook_still_runs_on_the_base_side():
    files = {PATH: suite("  - file://hooks.py:extension_hook\n"), "evals/hooks.py": LEGACY}
    edited = {**files, "evals/hooks.py": LEGACY.replace('"Pirate "', '"Robot "')}
    (base_suite, base_errors), (head_suite, errors) = gate(files, edited, same_repo=False)
    assert base_errors == [] and base_suite is not None and len(base_suite.tests) == 4
    assert head_suite is None and "fork" in errors[0].message
    (_, _), (same, same_errors) = gate(files, files, same_repo=False)  # the base's very hook runs for a fork too
    assert same_errors == [] and same is not None and same.tests[0].vars["language"] == "Pirate Norwegian"


def test_a_same_repo_pr_hook_runs_unless_the_base_config_says_never():
    files = {PATH: suite("  - file://hooks.py:extension_hook\n"), "evals/hooks.py": LEGACY}
    edited = {**files, "evals/hooks.py": LEGACY.replace('"Pirate "', '"Robot "')}
    (_, (head_suite, _)) = gate(files, edited, same_repo=True)
    assert head_suite is not None and head_suite.tests[0].vars["language"] == "Robot Norwegian"
    (_, (_, errors)) = gate(files, edited, same_repo=True, config=EvalsConfig(run_pr_code="never"))
    assert "evals.run_pr_code: never" in errors[0].message


def test_a_fork_adding_a_hook_that_never_runs_while_loading_is_not_refused_but_is_under_review():
    base = {PATH: suite("  - file://after.py:afterAll\n"), "evals/after.py": "def afterAll(context, options):\n    pass\n"}
    head = {**base, "evals/after.py": "def afterAll(context, options):\n    import socket\n"}
    (_, _), (head_suite, errors) = gate(base, head, same_repo=False)
    assert errors == [] and head_suite is not None
    deps = find_dependencies(MemoryTree(base), MemoryTree(head), [PATH])
    assert ("evals/after.py", f"extension hook of {PATH}") in {(d.path, d.reason) for d in deps}


# ---- under review: the hook is a dependency, and a change reason of the cases it changed ----------------------


def test_a_hook_change_is_under_review_and_named_as_the_reason_of_the_cases_it_changed():
    files = {PATH: suite("  - file://hooks.py:extension_hook\n"), "evals/hooks.py": LEGACY}
    edited = {**files, "evals/hooks.py": LEGACY.replace('{"type": "is-json"}', '{"type": "is-json", "weight": 2}')}
    base_tree, head_tree = MemoryTree(files), MemoryTree(edited)
    deps = {(d.path, d.reason) for d in find_dependencies(base_tree, head_tree, [PATH], LoadedSuites(code=CodePolicy(base_tree)))}
    assert ("evals/hooks.py", f"extension hook of {PATH}") in deps
    base, _ = load_suite(base_tree, PATH, code=base_code())
    head, _ = load_suite(head_tree, PATH, code=base_code())
    plan = plan_suite(PATH, base_tree, head_tree, base, head)
    assert plan.unaffected == 0 and len(plan.cases) == 4
    assert {c.reasons for c in plan.cases} == {("assertions changed", "extension hook evals/hooks.py changed")}


def test_a_hook_change_that_leaves_every_test_as_it_was_affects_no_case():
    files = {PATH: suite("  - file://hooks.py:extension_hook\n"), "evals/hooks.py": LEGACY}
    edited = {**files, "evals/hooks.py": LEGACY + "\n# a comment\n"}
    base_tree, head_tree = MemoryTree(files), MemoryTree(edited)
    base, _ = load_suite(base_tree, PATH, code=base_code())
    head, _ = load_suite(head_tree, PATH, code=base_code())
    plan = plan_suite(PATH, base_tree, head_tree, base, head)
    assert plan.cases == [] and plan.unaffected == 4
    assert Renderer(head_tree).dependencies(head.prompts[0]) == ()  # an inline prompt: nothing else is read


# ---- end to end: `prompt-review review` of a git repository, the scripted model server over HTTP ----

HOOK = '''\
def beforeEach(context, options):
    context["test"]["vars"]["question"] += " Thanks!"
    return context
'''
HOOK_SUITE = ("description: gate\nprompts: [file://../prompts/support.txt]\nproviders: [openai:chat:gpt-4o]\n"
              "extensions: [file://hooks.py:beforeEach]\ntests:\n"
              "  - description: blender\n    vars: {question: Can I return my blender?}\n"
              "    assert: [{type: icontains, value: 30 days}]\n")


def test_a_review_of_a_pr_that_edits_only_the_hook_runs_the_cases_it_changed(tmp_path, server_url):
    from tests.gate.conftest import GateRepo, git, prompt_text

    repo = GateRepo(tmp_path / "repo", server_url, tmp_path / "xdg-cache")
    repo.commit({"prompts/support.txt": prompt_text(), "evals/promptfooconfig.yaml": HOOK_SUITE, "evals/hooks.py": HOOK}, "base")
    repo.commit({"evals/hooks.py": HOOK.replace("Thanks!", "Please answer quickly.")}, "the hook asks for speed")
    review = repo.review()
    assert review.data, review.stderr
    assert [(p["path"], p["why"]) for p in review.data["prompts"]] == [("evals/hooks.py", "extension hook of evals/promptfooconfig.yaml")]
    (case,) = review.cases()
    assert case["description"] == "blender" and "extension hook evals/hooks.py changed" in case["reasons"], case
    assert git(repo.root, "status", "--porcelain") == ""


# What promptfoo 0.121.20 hands a Python beforeEach for this suite, measured (its `eval` on the suite below with the hook
# writing json.dumps(test, sort_keys=True) into a var): each list value on its own, defaultTest's assertions first (none
# under disableDefaultAsserts), its options, metadata and threshold under the test's own.
MEASURED_SUITE = """\
prompts: ['Reply with exactly "{{ message }}".']
providers: [openai:chat:gpt-4o-mini]
extensions:
  - file://hooks.py:beforeEach
defaultTest:
  vars: {d: 1}
  threshold: 0.5
  metadata: {team: a}
  assert: [{type: icontains, value: ''}]
  options: {transform: output, prefix: 'P '}
tests:
  - description: one
    vars: {message: [x, y]}
    metadata: {own: b}
    assert: [{type: contains, value: x}]
  - description: two
    vars: {message: z}
    options: {disableDefaultAsserts: true, suffix: ' S'}
    assert: [{type: contains, value: z}]
"""
MEASURED_HOOK = '''\
import json


def beforeEach(context, options):
    t = context["test"]
    t["vars"]["message"] = t["vars"]["message"] + " | test " + json.dumps(t, sort_keys=True)
    return context
'''
MEASURED = [
    'x | test {"assert": [{"type": "icontains", "value": ""}, {"type": "contains", "value": "x"}], "description": "one", '
    '"metadata": {"own": "b", "team": "a"}, "options": {"prefix": "P ", "transform": "output"}, "threshold": 0.5, '
    '"vars": {"d": 1, "message": "x"}}',
    'y | test {"assert": [{"type": "icontains", "value": ""}, {"type": "contains", "value": "x"}], "description": "one", '
    '"metadata": {"own": "b", "team": "a"}, "options": {"prefix": "P ", "transform": "output"}, "threshold": 0.5, '
    '"vars": {"d": 1, "message": "y"}}',
    'z | test {"assert": [{"type": "contains", "value": "z"}], "description": "two", "metadata": {"team": "a"}, '
    '"options": {"disableDefaultAsserts": true, "prefix": "P ", "suffix": " S", "transform": "output"}, "threshold": 0.5, '
    '"vars": {"d": 1, "message": "z"}}',
]


def test_before_each_gets_the_test_exactly_as_promptfoo_hands_it():
    loaded, errors = load_suite(MemoryTree({PATH: MEASURED_SUITE, "evals/hooks.py": MEASURED_HOOK}), PATH, code=base_code())
    assert errors == [], messages(errors)
    assert [t.vars["message"] for t in loaded.tests] == MEASURED


# ---- the bench suite: the verdicts promptfoo 0.121.20 gave on the same scripted server (vs_promptfoo --suite hooks) ----

def _bench_tree(with_pr: bool) -> MemoryTree:
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "bench" / "suites" / "hooks"
    files = {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file() and p.relative_to(root).parts[0] != "pr"}
    if with_pr:
        files.update({p.relative_to(root / "pr").as_posix(): p.read_bytes() for p in (root / "pr").rglob("*") if p.is_file()})
    return MemoryTree(files)


def _run(url: str, base: MemoryTree, head: MemoryTree):
    import asyncio

    from bot.evals import EvalRequest, NoCache, run_evals

    env = {"OPENAI_BASE_URL": f"{url}/v1", "OPENAI_API_KEY": "test"}
    return asyncio.run(run_evals(EvalRequest(base=base, head=head, suites=["promptfooconfig.yaml"], env=env), NoCache()))


def test_the_hooks_bench_suite_fails_what_promptfoo_fails_and_its_pr_regresses_what_promptfoo_regresses(server_url):
    from bot.evals import CaseStatus

    report = _run(server_url, MemoryTree({}), _bench_tree(False))
    assert report.errors == () and len(report.cases()) == 10
    assert {c.description for c in report.cases() if c.head and not c.head.passed} == {"forbidden word"}
    outputs = {c.description: c.head.output for c in report.cases() if c.head}
    assert outputs["loud"] == "QUIET WORDS" and outputs["reversed"] == "fed cba" and outputs["python change without return"] == "keep me"
    pr = _run(server_url, _bench_tree(False), _bench_tree(True))
    assert {c.description for c in pr.cases(CaseStatus.REGRESSED)} == {"plain"}
    assert {c.description for c in pr.cases(CaseStatus.FIXED)} == {"forbidden word"}
    assert all("extension hook hooks.py changed" in c.reasons for c in pr.cases())
