"""Suite code split over files: the repository's own JavaScript/TypeScript/JSON files a code file requires by relative
path are loaded in the sandbox as Node resolves them (extensions, directory index, package.json main), once per run,
cycles as Node handles them — read from the same side's tree, never from outside the repository, bounded — and they
are part of the code's identity: the gate refuses a fork's changed helper by name, and a helper-only change re-runs the
cases whose code requires it, the reason naming the helper."""

from __future__ import annotations

import asyncio
import os

import pytest

from bot.core.config import EvalsConfig
from bot.core.files import MemoryTree
from bot.evals.loader import load_suite
from bot.evals.sandbox import JsCode, Origin, SandboxError, may_run, run_code
from bot.evals.sandbox.js_modules import MAX_MODULES, MAX_TOTAL_BYTES, link
from bot.evals.select import plan_suite
from bot.evals.suite import code_fingerprint
from bot.evals.runner import suite_dependencies
from bot.pipeline.trees import DirTree

PATH = "evals/promptfooconfig.yaml"


def suite(value: str = "file://checks/grade.js", extra: str = "") -> str:
    return (f"prompts: ['Reply with {{{{word}}}}']\nproviders: [openai:chat:gpt-4o]\n{extra}tests:\n"
            f"  - description: apple\n    vars: {{word: apple}}\n    assert:\n      - type: javascript\n        value: {value}\n")


def loaded(files: dict[str, str], value: str = "file://checks/grade.js"):
    tree = MemoryTree({PATH: suite(value), **files})
    s, errors = load_suite(tree, PATH)
    return s, [f"{e.file}:{e.line}: {e.message}" for e in errors]


def code_of(files: dict[str, str], value: str = "file://checks/grade.js") -> JsCode:
    s, errors = loaded(files, value)
    assert errors == [], errors
    code = s.tests[0].asserts[0].code
    assert isinstance(code, JsCode)
    return code


def judge(code: JsCode, output: str = "apple", word: str = "apple"):
    return asyncio.run(run_code(code, output, {"vars": {"word": word}}))


# ---- resolution, as Node resolves relative paths --------------------------------------------------


def test_an_assertion_requires_a_helper_next_to_it_without_its_extension():
    code = code_of({"evals/checks/grade.js": "const { same } = require('./utils');\nmodule.exports = (o, c) => same(o, c.vars.word);\n",
                    "evals/checks/utils.js": "exports.same = (a, b) => a.trim() === b;\n"})
    assert [m.path for m in code.modules] == ["evals/checks/utils.js"]
    assert judge(code, " apple ").passed
    assert not judge(code, "pear").passed


def test_parent_directory_requires_esm_imports_json_and_directory_index_all_resolve():
    files = {
        "evals/checks/grade.mjs": ("import { words } from '../lib/checks.js';\nimport limits from '../data/limits.json';\n"
                                   "import * as text from '../lib';\n"
                                   "export default function (output) { return words(output) <= limits.max && text.loud(output) === 'APPLE'; }\n"),
        "evals/lib/checks.js": "module.exports.words = (s) => s.split(/\\s+/).length;\n",
        "evals/lib/index.js": "module.exports = { loud: (s) => s.toUpperCase() };\n",
        "evals/data/limits.json": '{"max": 1}',
    }
    code = code_of(files, "file://checks/grade.mjs")
    assert [m.path for m in code.modules] == ["evals/data/limits.json", "evals/lib/checks.js", "evals/lib/index.js"]
    assert judge(code).passed
    assert not judge(code, "apple pie").passed


def test_extensions_are_tried_in_nodes_order_and_a_package_json_main_names_the_directorys_file():
    files = {"evals/checks/grade.js": "const a = require('./pick'); const b = require('./pkg');\nmodule.exports = () => a + b;\n",
             "evals/checks/pick.js": "module.exports = 'js';", "evals/checks/pick.json": '"json"', "evals/checks/pick.ts": "export = 'ts';",
             "evals/checks/pkg/package.json": '{"main": "lib/main.js"}', "evals/checks/pkg/lib/main.js": "module.exports = '+main';",
             "evals/checks/pkg/index.js": "module.exports = '+index';"}
    assert judge_value(code_of(files)) == "js+main"


def judge_value(code: JsCode):
    from bot.evals.sandbox import transform_sync
    from bot.evals.sandbox.result import CodeLimits

    return transform_sync(code, "x", {}, CodeLimits())


def test_a_typescript_helper_is_transpiled_and_named_by_the_javascript_it_becomes():
    files = {"evals/checks/grade.ts": "import { same } from './utils.js';\nexport default (o: string, c: any): boolean => same(o, c.vars.word);\n",
             "evals/checks/utils.ts": "export function same(a: string, b: string): boolean { return a === b; }\n"}
    code = code_of(files, "file://checks/grade.ts")
    assert [m.path for m in code.modules] == ["evals/checks/utils.ts"]
    assert judge(code).passed and not judge(code, "pear").passed


def test_a_module_is_loaded_once_per_run_and_a_cycle_sees_the_exports_filled_so_far():
    files = {
        "evals/checks/grade.js": ("const counter = require('./counter');\nrequire('./counter');\nconst a = require('./a');\n"
                                  "module.exports = () => counter.loads === 1 && a.seenB === 'b-partial' && a.fromB === 'a-early';\n"),
        "evals/checks/counter.js": "exports.loads = (exports.loads || 0) + 1;\n",
        "evals/checks/a.js": "exports.early = 'a-early';\nconst b = require('./b');\nexports.seenB = b.state;\nexports.fromB = b.sawA;\n",
        "evals/checks/b.js": "const a = require('./a');\nexports.sawA = a.early;\nexports.state = 'b-partial';\n",
    }
    code = code_of(files)
    assert judge(code).passed


def test_a_relative_require_of_a_missing_file_fails_as_node_does_when_it_runs():
    code = code_of({"evals/checks/grade.js": "module.exports = (o) => o === 'skip' || require('./gone').ok;\n"})
    assert judge(code, "skip").passed
    result = judge(code, "apple")
    assert not result.passed and "Cannot find module './gone'" in result.reason


def test_a_syntax_error_in_a_required_module_names_its_file_and_line_and_says_when_it_is_a_top_level_await():
    code = code_of({"evals/checks/grade.js": "const { ready } = require('./setup.mjs');\nmodule.exports = () => ready;\n",
                    "evals/checks/setup.mjs": "import { x } from './x.js';\n\nawait Promise.resolve();\nexport const ready = true;\n",
                    "evals/checks/x.js": "exports.x = 1;\n"})
    result = judge(code)
    assert not result.passed and "(in evals/checks/setup.mjs:3); it awaits at the top level of an ES module" in result.reason, result
    broken = code_of({"evals/checks/grade.js": "require('./bad.js');\nmodule.exports = () => true;\n",
                      "evals/checks/bad.js": "const a = 1;\nconst b = ;\n"})
    reason = judge(broken).reason
    assert "SyntaxError" in reason and "(in evals/checks/bad.js:2)" in reason and "top level" not in reason, reason


def test_a_bare_package_name_stays_refused_with_the_existing_message():
    code = code_of({"evals/checks/grade.js": "const _ = require('lodash');\nmodule.exports = () => true;\n"})
    with pytest.raises(SandboxError) as stopped:
        judge(code)
    assert "require('lodash'): modules are not loaded in the sandbox" in stopped.value.message


def test_a_code_provider_and_a_transform_load_their_helpers_too():
    tree = MemoryTree({
        PATH: ("prompts: ['Reply with {{word}}']\nproviders: [file://provider.js]\ndefaultTest:\n  options:\n"
               "    transform: file://lib/shout.js\ntests:\n  - vars: {word: apple}\n"),
        "evals/provider.js": "const { echo } = require('./lib/echo');\nmodule.exports = class { callApi(p) { return { output: echo(p) }; } };\n",
        "evals/lib/echo.js": "exports.echo = (p) => p.split(' ').pop();\n",
        "evals/lib/shout.js": "const up = require('./up.js');\nmodule.exports = (o) => up(o);\n",
        "evals/lib/up.js": "module.exports = (s) => s.toUpperCase();\n",
    })
    s, errors = load_suite(tree, PATH)
    assert errors == [], errors
    provider = s.providers[0].code
    assert isinstance(provider, JsCode) and [m.path for m in provider.modules] == ["evals/lib/echo.js"]
    transform = s.tests[0].transform
    assert isinstance(transform, JsCode) and [m.path for m in transform.modules] == ["evals/lib/up.js"]
    assert judge_value(transform) == "X"


# ---- escapes and bounds ------------------------------------------------------------------------------


@pytest.mark.parametrize("spec, words", [
    ("/etc/passwd", "evals/checks/grade.js:2: require('/etc/passwd') is an absolute path"),
    ("file:///etc/passwd", "evals/checks/grade.js:2: require('file:///etc/passwd') is an absolute path"),
    ("../../../secrets.js", "evals/checks/grade.js:2: require('../../../secrets.js') leaves the repository"),
])
def test_a_require_leaving_the_repository_is_refused_naming_the_file_and_line_and_nothing_is_read(spec, words):
    code = code_of({"evals/checks/grade.js": f"// grades\nconst s = require('{spec}');\nmodule.exports = () => s === 1;\n",
                    "secrets.js": "module.exports = 1;"})
    assert code.modules == ()  # nothing out of the repository (nor the root's secrets.js) was read
    with pytest.raises(SandboxError) as stopped:
        judge(code)
    assert stopped.value.message.startswith(words), stopped.value.message


def test_a_require_in_a_comment_is_not_read():
    code = code_of({"evals/checks/grade.js": "// const p = require('../../../../dist/index.js');\n/* require('./big') */\n"
                                             "module.exports = () => true;\n", "evals/checks/big.js": "x"})
    assert code.links == () and judge(code).passed


def test_a_symlink_pointing_out_of_the_repository_is_not_read(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.js").write_text("module.exports = 'the secret';\n")
    repo = tmp_path / "repo"
    (repo / "evals" / "checks").mkdir(parents=True)
    (repo / PATH).write_text(suite())
    (repo / "evals" / "checks" / "grade.js").write_text("module.exports = (o) => require('./leak') === 'the secret';\n")
    os.symlink(outside / "secret.js", repo / "evals" / "checks" / "leak.js")
    s, errors = load_suite(DirTree(str(repo)), PATH)
    assert errors == []
    code = s.tests[0].asserts[0].code
    assert code.modules == ()
    result = judge(code)
    assert not result.passed and "Cannot find module './leak'" in result.reason


def test_a_huge_helper_is_refused_unread_past_the_file_limit():
    files = {"evals/checks/grade.js": "const big = require('./big');\nmodule.exports = () => true;\n",
             "evals/checks/big.js": "// " + "x" * 1_100_000}
    _, errors = loaded(files)
    assert len(errors) == 1 and "evals/checks/big.js (required by suite code) is 1,100,003 bytes, over the per-file limit" in errors[0]


def test_helpers_together_past_the_total_bound_are_refused():
    n = MAX_TOTAL_BYTES // 400_000 + 1
    files = {"evals/checks/grade.js": "".join(f"require('./part{i}');\n" for i in range(n)) + "module.exports = () => true;\n"}
    files.update({f"evals/checks/part{i}.js": "//" + "y" * 399_998 for i in range(n)})
    _, errors = loaded(files)
    assert len(errors) == 1 and f"{MAX_TOTAL_BYTES:,} bytes all required files may take together" in errors[0], errors


def test_too_many_required_files_are_refused():
    n = MAX_MODULES + 1
    files = {"evals/checks/grade.js": "".join(f"require('./m{i}');\n" for i in range(n)) + "module.exports = () => true;\n"}
    files.update({f"evals/checks/m{i}.js": "module.exports = 1;\n" for i in range(n)})
    _, errors = loaded(files)
    assert len(errors) == 1 and f"more than {MAX_MODULES} files are required" in errors[0], errors


def test_a_require_computed_at_run_time_is_refused_saying_only_literals_are_loaded():
    code = code_of({"evals/checks/grade.js": "module.exports = (o) => require('./' + o);\n", "evals/checks/apple.js": "1"})
    with pytest.raises(SandboxError) as stopped:
        judge(code)
    assert "require('./apple') in evals/checks/grade.js: only relative requires written as a string literal" in stopped.value.message


# ---- identity: the gate, fingerprints, reasons ----------------------------------------------------------

GRADE = "const { same } = require('./utils');\nmodule.exports = (o, c) => same(o, c.vars.word);\n"
UTILS = "exports.same = (a, b) => a === b;\n"


def plan(head_files: dict[str, str], same_repo: bool):
    base = MemoryTree({PATH: suite(), "evals/checks/grade.js": GRADE, "evals/checks/utils.js": UTILS})
    head = MemoryTree({PATH: suite(), "evals/checks/grade.js": GRADE, "evals/checks/utils.js": UTILS, **head_files})
    (base_suite, e1), (head_suite, e2) = load_suite(base, PATH), load_suite(head, PATH)
    assert e1 == e2 == []
    return plan_suite(PATH, base, head, base_suite, head_suite,
                      pr_code=lambda what: may_run(Origin.PR, same_repo, EvalsConfig(), what)), head, head_suite


def test_a_forks_changed_helper_is_refused_naming_the_helper():
    p, _, _ = plan({"evals/checks/utils.js": "exports.same = () => true;\n"}, same_repo=False)
    (case,) = p.cases
    assert case.head.error is not None
    assert case.head.error.message.startswith("refused: executes code from a fork's pull request (javascript assertion, which "
                                              "requires evals/checks/utils.js (changed by the PR))"), case.head.error.message


def test_a_helper_only_pr_reruns_the_cases_requiring_it_and_names_the_helper():
    p, _, _ = plan({"evals/checks/utils.js": "exports.same = (a, b) => a.toLowerCase() === b;\n"}, same_repo=True)
    (case,) = p.cases
    assert case.reasons == ("code helper evals/checks/utils.js changed (required by evals/checks/grade.js)",)
    assert case.head.error is None
    assert code_fingerprint(case.base.asserts[0].code) != code_fingerprint(case.head.asserts[0].code)


def test_an_unchanged_helper_leaves_the_case_unaffected_and_is_a_dependency_of_the_suite():
    p, head, head_suite = plan({}, same_repo=False)
    assert p.cases == [] and p.unaffected == 1
    deps = {(d.path, d.why) for d in suite_dependencies(head, head_suite)}
    assert ("evals/checks/utils.js", "code required by evals/checks/grade.js") in deps


def test_code_without_requires_keeps_its_fingerprint_shape():
    code = code_of({"evals/checks/grade.js": "module.exports = () => true;\n"})
    assert code.modules == () and len(code_fingerprint(code)) == 4


def test_link_of_inline_code_is_a_no_op():
    code = JsCode("require('./x')")
    assert link(code, MemoryTree({}), 1000) is code


def test_a_test_generator_whose_helper_a_fork_changed_is_refused_naming_the_helper_and_the_bases_runs():
    from bot.evals.generators import LoadCode

    gen_suite = "prompts: ['Reply with {{word}}']\nproviders: [openai:chat:gpt-4o]\ntests: file://gen.js\n"
    base_files = {PATH: gen_suite, "evals/gen.js": "const { words } = require('./lib/words');\nmodule.exports = () => words.map((w) => ({vars: {word: w}}));\n",
                  "evals/lib/words.js": "exports.words = ['apple', 'pear'];\n"}
    base = MemoryTree(base_files)
    head = MemoryTree({**base_files, "evals/lib/words.js": "exports.words = ['plum'];\n"})
    fork = LoadCode(base=base, decide=lambda what: may_run(Origin.PR, False, EvalsConfig(), what))
    loaded_base, errors = load_suite(base, PATH, code=fork)
    assert errors == [] and [t.vars["word"] for t in loaded_base.tests] == ["apple", "pear"]
    _, errors = load_suite(head, PATH, code=fork)
    assert [e.message for e in errors] == [
        "refused: executes code from a fork's pull request (test generator, which requires evals/lib/words.js (changed by the PR)) "
        "— code from forks never runs; only the base branch's code does"]


def test_an_extension_hook_requires_a_helper_beside_nodes_path_module():
    from bot.evals.generators import base_code

    tree = MemoryTree({
        PATH: ("prompts: ['Reply with {{word}}']\nproviders: [openai:chat:gpt-4o]\nextensions:\n  - file://hooks/index.js:beforeEach\n"
               "tests:\n  - vars: {word: apple}\n"),
        "evals/hooks/index.js": ("const path = require('path');\nconst { shout } = require('./shout');\n"
                                 "module.exports.beforeEach = (ctx) => { ctx.test.vars.word = shout(ctx.test.vars.word) + path.extname('a.js'); };\n"),
        "evals/hooks/shout.ts": "export const shout = (s: string): string => s.toUpperCase();\n",
    })
    s, errors = load_suite(tree, PATH, code=base_code())
    assert errors == [], [e.message for e in errors]
    assert [t.vars["word"] for t in s.tests] == ["APPLE.js"]


def test_a_provider_written_in_code_runs_with_its_helper():
    from bot.evals.sandbox.js_provider import call_provider

    tree = MemoryTree({
        PATH: "prompts: ['Reply with {{word}}']\nproviders: [file://provider.mjs]\ntests:\n  - vars: {word: apple}\n",
        "evals/provider.mjs": ("import { echo } from './lib/echo.js';\nimport settings from './lib/settings.json';\n"
                               "export default class { callApi(p) { return { output: echo(p) + settings.suffix }; } }\n"),
        "evals/lib/echo.js": "exports.echo = (p) => p.split(' ').pop();\n",
        "evals/lib/settings.json": '{"suffix": "!"}',
    })
    s, errors = load_suite(tree, PATH)
    assert errors == [], [e.message for e in errors]
    answer = call_provider(s.providers[0].code, "Reply with apple", {}, {}, {}, send=lambda r: None)
    assert answer == {"output": "apple!"}


def test_esm_export_lists_re_exports_and_mixed_imports_are_rewritten_as_node_reads_them():
    files = {
        "evals/checks/grade.mjs": ("import words, { count as n } from './lib/index.mjs';\nimport * as all from './lib/index.mjs';\n"
                                   "export default (o) => n(o) === 2 && words === 'w' && all.shout(o) === o.toUpperCase() && all.inner === 1;\n"),
        "evals/checks/lib/index.mjs": ("export { count } from './count.mjs';\nexport * from './shout.mjs';\nconst w = 'w';\n"
                                       "export { w as default };\n"),
        "evals/checks/lib/count.mjs": "const count = (s) => s.split(' ').length;\nexport { count };\n",
        "evals/checks/lib/shout.mjs": "export const shout = (s) => s.toUpperCase();\nexport const inner = 1;\nexport default 'not re-exported';\n",
    }
    code = code_of(files, "file://checks/grade.mjs")
    assert judge(code, "apple pie").passed
    assert not judge(code, "apple").passed


def test_a_dynamic_import_of_a_helper_resolves_to_its_namespace():
    files = {"evals/checks/grade.js": ("module.exports = async (o) => {\n  const { default: same } = await import('./same.js');\n"
                                       "  const { words } = await import('./words.mjs');\n  return same(o) && words(o) === 1;\n};\n"),
             "evals/checks/same.js": "module.exports = (o) => o === 'apple';\n",
             "evals/checks/words.mjs": "export const words = (s) => s.split(' ').length;\n"}
    code = code_of(files)
    assert [m.path for m in code.modules] == ["evals/checks/same.js", "evals/checks/words.mjs"]
    assert judge(code).passed and not judge(code, "pear").passed


def test_every_required_file_is_a_dependency_of_its_suite_those_of_generators_and_hooks_too():
    from bot.evals.generators import base_code

    suite_text = ("prompts: ['Reply with {{word}}']\nproviders: [openai:chat:gpt-4o]\nextensions: [file://hooks.js:beforeEach]\n"
                  "tests:\n  - file://gen.js\n  - vars: {word: pear}\n    assert:\n      - type: javascript\n        value: file://b.js\n")
    tree = MemoryTree({
        PATH: suite_text,
        "evals/gen.js": "const { words } = require('./lib/words.json');\nmodule.exports = () => words.map((w) => ({vars: {word: w}, "
                        "assert: [{type: 'javascript', value: 'file://a.js'}]}));\n",
        "evals/lib/words.json": '{"words": ["apple"]}',
        "evals/hooks.js": "const { tag } = require('./lib/tag');\nexports.beforeEach = (ctx) => { ctx.test.vars.tag = tag; };\n",
        "evals/lib/tag.js": "exports.tag = 't';\n",
        "evals/a.js": "module.exports = require('./lib/a_helper');\n", "evals/lib/a_helper.js": "module.exports = () => true;\n",
        "evals/b.js": "module.exports = require('./lib/b_helper');\n", "evals/lib/b_helper.js": "module.exports = () => true;\n",
    })
    s, errors = load_suite(tree, PATH, code=base_code())
    assert errors == [], [e.message for e in errors]
    deps = {d.path: d.why for d in suite_dependencies(tree, s)}
    assert {p: deps.get(p) for p in ("evals/lib/a_helper.js", "evals/lib/b_helper.js", "evals/lib/words.json", "evals/lib/tag.js")} == {
        "evals/lib/a_helper.js": "code required by evals/a.js", "evals/lib/b_helper.js": "code required by evals/b.js",
        "evals/lib/words.json": "code required by evals/gen.js", "evals/lib/tag.js": "code required by evals/hooks.js"}
