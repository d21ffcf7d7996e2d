"""Test generators, as promptfoo runs them: `tests: file://gen.py:fn`, `{path, config}` entries and
`file://gen.js` (a function export or the tests themselves), run while the suite loads, in the sandbox,
under the code gate: the base branch's generator runs, a fork's never; what they return is checked like
a test file and bounded before it is read."""

from __future__ import annotations

import pytest

from bot.core.config import EvalsConfig
from bot.core.files import MemoryTree
from bot.evals.generators import CodePolicy, base_code
from bot.evals.loaded import LoadedSuites
from bot.evals.loader import load_suite
from tests.gate.conftest import GateRepo, git, prompt_text

PATH = "evals/promptfooconfig.yaml"
PY_GEN = '''\
import json


def generate_tests(config=None):
    langs = (config or {}).get("languages", ["Spanish", "French"])
    return [{"description": f"hello in {lang}", "vars": {"text": "Hello", "lang": lang},
             "assert": [{"type": "icontains", "value": lang}]} for lang in langs]


def broken(config=None):
    return [{"vars": {"text": "Hi"}, "assert": [{"type": "regex", "value": "("}]}, "not a test"]


def many(config=None):
    return [{"vars": {"n": i}} for i in range(config["n"])]


def deep(config=None):
    value = "x"
    for _ in range(200):
        value = [value]
    return [{"vars": {"v": value}}]
'''
JS_FN = "module.exports = async function (config) { return (config || {langs: ['de']}).langs.map((l) => ({vars: {text: 'Hi', lang: l}})); };\n"
JS_NAMED = "export function cases(config) { return [{vars: {text: config.word, lang: 'it'}}]; }\n"
JS_ARRAY = "module.exports = [{vars: {text: 'Bye', lang: 'nl'}}];\n"


def suite(tests: str) -> str:
    return f"prompts: ['Say {{{{text}}}} in {{{{lang}}}}']\nproviders: [openai:chat:gpt-4o]\ntests:\n{tests}"


def load(tests: str, files: dict[str, str], code=None):
    tree = MemoryTree({PATH: suite(tests), **files})
    return load_suite(tree, PATH, code=code if code is not None else base_code())


def test_a_python_generator_gives_tests_with_and_without_its_config():
    loaded, errors = load("  - file://gen.py:generate_tests\n  - path: file://gen.py:generate_tests\n    config: {languages: [German]}\n",
                          {"evals/gen.py": PY_GEN})
    assert errors == [], [str(e) for e in errors]
    assert [t.vars["lang"] for t in loaded.tests] == ["Spanish", "French", "German"]
    assert [a.value for t in loaded.tests for a in t.asserts] == ["Spanish", "French", "German"]
    assert {t.file for t in loaded.tests} == {"evals/gen.py"}


def test_pythons_default_function_is_generate_tests_and_a_whole_tests_key_may_name_it():
    tree = MemoryTree({PATH: "prompts: ['{{text}} {{lang}}']\nproviders: [openai:chat:gpt-4o]\ntests: file://gen.py\n",
                       "evals/gen.py": PY_GEN})
    loaded, errors = load_suite(tree, PATH, code=base_code())
    assert errors == [] and [t.description for t in loaded.tests] == ["hello in Spanish", "hello in French"]


@pytest.mark.parametrize("ref, files, langs", [
    ("file://gen.js", {"evals/gen.js": JS_FN}, ["de"]),
    ("{path: file://gen.js, config: {langs: [fr, es]}}", {"evals/gen.js": JS_FN}, ["fr", "es"]),
    ("{path: file://named.js:cases, config: {word: Ciao}}", {"evals/named.js": JS_NAMED}, ["it"]),
    ("file://list.js", {"evals/list.js": JS_ARRAY}, ["nl"]),
])
def test_a_javascript_generator_is_a_function_export_or_the_tests_themselves(ref, files, langs):
    loaded, errors = load(f"  - {ref}\n", files)
    assert errors == [], [str(e) for e in errors]
    assert [t.vars["lang"] for t in loaded.tests] == langs


TS_GEN = """\
interface Config { langs?: string[] }
type TestCase = { vars: Record<string, string> };

export async function cases(config?: Config): Promise<TestCase[]> {
  const langs: string[] = config?.langs ?? ['pt'];
  return langs.map((lang): TestCase => ({ vars: { text: 'Hi', lang } }));
}
"""


@pytest.mark.parametrize("ref, langs", [("file://gen.ts:cases", ["pt"]), ("{path: file://gen.ts:cases, config: {langs: [sv, fi]}}", ["sv", "fi"])])
def test_a_typescript_generator_runs_with_its_types_stripped(ref, langs):
    loaded, errors = load(f"  - {ref}\n", {"evals/gen.ts": TS_GEN})
    assert errors == [], [str(e) for e in errors]
    assert [t.vars["lang"] for t in loaded.tests] == langs


def test_a_typescript_syntax_error_is_located_in_the_ts_file_and_other_languages_are_refused_by_name():
    _, errors = load("  - file://gen.ts:cases\n  - file://view.rb\n",
                     {"evals/gen.ts": "export function cases() {\n  return [] as;\n}\n", "evals/view.rb": "puts 1\n"})
    assert [(e.line, e.message) for e in errors] == [
        (4, "test generator file://gen.ts:cases: evals/gen.ts:2:15: TypeScript syntax error: Unexpected \";\""),
        (5, "unsupported: file://view.rb is a test generator prompt-review does not run (prompt-review runs JavaScript "
            "(.js, .cjs, .mjs), TypeScript (.ts, .mts, .cts, .tsx) and Python (.py) test generators)"),
    ]


def test_an_invalid_generated_test_is_an_error_naming_the_generator_the_test_and_the_suite_line():
    _, errors = load("  - file://gen.py:broken\n", {"evals/gen.py": PY_GEN})
    messages = sorted(str(e) for e in errors)
    assert len(messages) == 2, messages
    assert messages[1] == ("evals/gen.py: regex: invalid regular expression: missing ) at position 1 "
                           "(test 0.assert.0.value returned by file://gen.py:broken (listed at evals/promptfooconfig.yaml:4))")
    assert messages[0] == ("evals/gen.py: a generated test must be a mapping with vars and assert "
                           "(test 1 returned by file://gen.py:broken (listed at evals/promptfooconfig.yaml:4))")


def test_a_generator_returning_more_tests_than_max_cases_is_refused_before_they_are_read():
    tree = MemoryTree({PATH: suite("  - path: file://gen.py:many\n    config: {n: 60}\n"), "evals/gen.py": PY_GEN})
    _, errors = load_suite(tree, PATH, max_cases=50, code=base_code())
    assert [(e.line, e.message) for e in errors] == [(4, "test generator file://gen.py:many returned 60 tests, over the limit of 50 cases "
                                                         "per suite; raise `limits.max_cases` in .github/prompt-review.yml if they are all wanted")]


def test_a_suite_listing_more_generators_than_the_bound_is_refused_before_running_the_rest():
    entries = "".join(f"  - path: file://gen.py:many\n    config: {{n: 1}}\n" for _ in range(25))
    _, errors = load(entries, {"evals/gen.py": PY_GEN})
    assert [(e.line, e.message) for e in errors] == [(44, "more than 20 test generators in one suite; merge them into fewer "
                                                          "functions (one may return every test)")]


@pytest.mark.parametrize("ref, files", [
    ("file://gen.py:deep", {"evals/gen.py": PY_GEN}),
    ("file://deep.js", {"evals/deep.js": "module.exports = () => { let v = 'x'; for (let i = 0; i < 200; i++) v = [v]; return [{vars: {v}}]; };\n"}),
])
def test_a_generator_returning_a_deeply_nested_value_is_stopped_not_read(ref, files):
    _, errors = load(f"  - {ref}\n", files)
    assert [(e.line, e.message) for e in errors] == [(4, f"test generator {ref}: the code returned a value nested deeper "
                                                         "than the sandbox reads (64 levels) and was stopped")]


def test_a_generator_that_returns_no_list_or_throws_is_an_error_at_its_suite_line():
    files = {"evals/gen.js": "module.exports = () => ({vars: {}});\n", "evals/bad.js": "module.exports = () => { throw new Error('db down'); };\n"}
    _, errors = load("  - file://gen.js\n  - file://bad.js\n", files)
    assert [(e.line, e.message) for e in errors] == [
        (4, "test generator file://gen.js must return a list of tests; it returned a mapping"),
        (5, "test generator file://bad.js: JavaScript code threw an error: Error: db down"),
    ]


def test_without_a_decision_on_its_origin_a_generator_does_not_run():
    tree = MemoryTree({PATH: suite("  - file://gen.py\n"), "evals/gen.py": PY_GEN})
    loaded, errors = load_suite(tree, PATH)
    assert loaded is None and "refused: test generator is not run without a decision" in errors[0].message


def gate(base_files: dict[str, str], head_files: dict[str, str], same_repo: bool, config: EvalsConfig | None = None):
    base, head = MemoryTree(base_files), MemoryTree(head_files)
    loaded = LoadedSuites(code=CodePolicy(base, same_repo, config or EvalsConfig()))
    return loaded.load(base, PATH), loaded.load(head, PATH)


def test_a_fork_pr_adding_a_generator_is_refused_with_the_rule_named():
    base = {PATH: suite("  - vars: {text: Hi, lang: de}\n")}
    head = {PATH: suite("  - file://gen.py\n"), "evals/gen.py": PY_GEN}
    _, (suite_, errors) = gate(base, head, same_repo=False)
    assert suite_ is None
    assert [(e.line, e.message) for e in errors] == [(4, "refused: executes code from a fork's pull request (test generator) — "
                                                         "code from forks never runs; only the base branch's code does")]


def test_a_same_repo_pr_generator_runs_unless_the_base_config_says_never():
    base = {PATH: suite("  - vars: {text: Hi, lang: de}\n")}
    head = {PATH: suite("  - file://gen.py\n"), "evals/gen.py": PY_GEN}
    (_, (allowed, _errors)) = gate(base, head, same_repo=True)
    assert allowed is not None and len(allowed.tests) == 2
    _, (_suite, errors) = gate(base, head, same_repo=True, config=EvalsConfig(run_pr_code="never"))
    assert "evals.run_pr_code: never" in errors[0].message


def test_the_base_branchs_generator_runs_on_a_fork_pr_too():
    files = {PATH: suite("  - file://gen.py\n"), "evals/gen.py": PY_GEN}
    (base_suite, base_errors), (head_suite, head_errors) = gate(files, dict(files), same_repo=False)
    assert base_errors == head_errors == []
    assert len(base_suite.tests) == len(head_suite.tests) == 2


def test_a_fork_changing_only_the_types_of_a_typescript_generator_is_refused_naming_the_rule():
    files = {PATH: suite("  - file://gen.ts:cases\n"), "evals/gen.ts": TS_GEN}
    edited = {**files, "evals/gen.ts": TS_GEN.replace("langs?: string[]", "langs?: readonly string[]")}  # same JavaScript
    (base_suite, base_errors), (head_suite, errors) = gate(files, edited, same_repo=False)
    assert base_errors == [] and base_suite is not None and [t.vars["lang"] for t in base_suite.tests] == ["pt"]
    assert head_suite is None
    assert [(e.line, e.message) for e in errors] == [(4, "refused: executes code from a fork's pull request (test generator) — "
                                                         "code from forks never runs; only the base branch's code does")]


def test_a_fork_editing_the_base_generator_is_refused_while_the_base_side_still_runs():
    files = {PATH: suite("  - file://gen.py\n"), "evals/gen.py": PY_GEN}
    edited = {**files, "evals/gen.py": PY_GEN.replace('"Spanish", "French"', '"Spanish"')}
    (base_suite, _), (head_suite, errors) = gate(files, edited, same_repo=False)
    assert base_suite is not None and head_suite is None and "fork" in errors[0].message


# ---- end to end: `prompt-review review` of a git repository, the scripted model server over HTTP ----

GEN = '''\
QUESTIONS = ["Can I return my blender?", "My pan arrived late."]


def generate_tests(config=None):
    return [{"description": f"case {i}", "vars": {"question": q},
             "assert": [{"type": "icontains", "value": "30 days"}]} for i, q in enumerate(QUESTIONS, 1)]
'''
GEN_SUITE = "description: gate\nprompts: [file://../prompts/support.txt]\nproviders: [openai:chat:gpt-4o]\ntests: file://gen.py\n"


def test_a_review_runs_the_cases_a_python_generator_returns_and_its_change_is_under_review(tmp_path, server_url):
    repo = GateRepo(tmp_path / "repo", server_url, tmp_path / "xdg-cache")
    repo.commit({"prompts/support.txt": prompt_text(), "evals/promptfooconfig.yaml": GEN_SUITE, "evals/gen.py": GEN}, "base")
    repo.commit({"evals/gen.py": GEN.replace('"My pan arrived late."', '"My pan arrived late.", "Refund for the kettle?"')}, "one more case")
    review = repo.review()
    assert review.status == 0 and review.data, review.stderr
    # the generator's new test is a new case, run against the model; the two it kept are unaffected
    assert [(c["status"], c["description"]) for c in review.cases()] == [("new", "case 3")]
    assert [(p["path"], p["why"]) for p in review.data["prompts"]] == [("evals/gen.py", "test generator of evals/promptfooconfig.yaml")]
    assert git(repo.root, "status", "--porcelain") == ""



# ---- the service on a fork's pull request: the GitHub simulator, signed webhooks, the scripted model server ----

SERVICE_GEN = '''\
def generate_tests(config=None):
    return [{"description": word, "vars": {"word": word}, "assert": [{"type": "equals", "value": word}]}
            for word in ("apple", "pear")]
'''
SERVICE_SUITE = "prompts: [file://../prompts/echo.txt]\nproviders: [openai:chat:gpt-4o-mini]\ntests: file://gen.py\n"


def test_a_forks_pr_changing_the_generator_is_refused_and_the_base_generator_runs_for_a_prompt_change(tmp_path, model_server):
    from tests.reliability.common import EVALS_CHECK, LABEL, model_env
    from tests.service.harness import stack

    base = {
        ".github/prompt-review.yml": "prompts:\n  include: [\"prompts/**\"]\nsuites: [evals/promptfooconfig.yaml]\n",
        ".github/PROMPTOWNERS": "prompts/** @erin\n",
        "prompts/echo.txt": 'Reply with "{{word}}"\n',
        "evals/promptfooconfig.yaml": SERVICE_SUITE,
        "evals/gen.py": SERVICE_GEN,
    }
    with stack(tmp_path, env=model_env(model_server.url)) as s:
        s.sim.create_org("acme")
        s.sim.create_repo("acme", "words", base)
        s.sim.set_permission("acme/words", "erin", "write")
        s.sim.install("acme")

        def evals_of(pr) -> tuple[str | None, str]:
            s.wait_idle()
            s.sim.add_label("acme/words", pr.number, LABEL, user="erin")
            s.wait_idle()
            runs = {r.name: r for r in sorted(s.sim.check_runs("acme/words", pr.head_sha), key=lambda r: r.id)}
            run = runs[EVALS_CHECK]
            return run.conclusion, f"{run.title}\n{run.summary}\n{run.text}".replace("\\", "")  # markdown escapes

        changed = s.sim.open_pull("acme/words", "p", {"evals/gen.py": SERVICE_GEN.replace('"pear"', '"pear", "fig"')},
                                  "More words", "mallory", fork=True)
        conclusion, shown = evals_of(changed)
        assert conclusion == "failure", shown
        assert "refused: executes code from a fork's pull request (test generator)" in shown, shown

        prompt_only = s.sim.open_pull("acme/words", "q", {"prompts/echo.txt": 'Reply with "{{word}} pie"\n'},
                                      "Pie", "mallory", fork=True)
        conclusion, shown = evals_of(prompt_only)
        assert conclusion == "failure" and "never runs" not in shown, shown  # the base's generator ran: 2 cases regressed
        assert "regress" in shown and "apple" in shown and "pear" in shown, shown
