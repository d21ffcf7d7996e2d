"""Node's read-only `fs` for code that runs while a suite loads (bot.evals.sandbox.js_files, repo_files): a test
generator or an extension hook reads the repository's own files, as promptfoo's run them with Node — and everything it
looks at is a dependency of the suite, so a PR that changes only that data is under review. Nothing outside the
repository is read, nothing is written, and the bounds stop the code whatever it does with the errors it gets."""

from __future__ import annotations

import json

from bot.core.files import MemoryTree
from bot.evals.generators import base_code
from bot.evals.loader import load_suite
from bot.evals.runner import suite_dependencies
from bot.evals.sandbox import Fault, JsCode, SandboxError, transform_sync
from bot.evals.sandbox.repo_files import AHEAD_FILES, RepoFiles
from bot.evals.sandbox.result import CodeLimits
from tests.sandbox.test_wired import CONFIG, PROMPT, cases, repo_with_pr, review

PATH = "evals/promptfooconfig.yaml"
SUITE = "prompts: ['Reply with {{word}}']\nproviders: [echo]\ntests: file://gen.ts\n"
# the form of a real suite (TypeScript run by promptfoo with tsx): ES imports, import.meta.url, a `const __dirname`
GEN_TS = """\
import { readFileSync, existsSync, readdirSync } from 'fs';
import { resolve, dirname, join } from 'path';
import { fileURLToPath } from 'url';

const __dirname = dirname(fileURLToPath(import.meta.url));

export default function (): Array<Record<string, unknown>> {
  const folder = resolve(__dirname, 'data');
  const tests = readdirSync(folder).filter((n: string) => n.endsWith('.json')).map((n: string) => {
    const record = JSON.parse(readFileSync(join(folder, n), 'utf-8'));
    return { description: n, vars: { word: record.word } };
  });
  if (existsSync(resolve(__dirname, 'extra.json'))) tests.push({ description: 'extra', vars: { word: 'extra' } });
  tests.push({ description: 'where', vars: { word: process.cwd() + ' ' + __dirname } });
  return tests;
}
"""


def tree(extra: dict[str, str] | None = None) -> MemoryTree:
    return MemoryTree({PATH: SUITE, "evals/gen.ts": GEN_TS, "evals/data/a.json": '{"word": "apple"}',
                       "evals/data/b.json": '{"word": "pear"}', "evals/data/notes.txt": "not read", **(extra or {})})


def loaded(t: MemoryTree):
    suite, errors = load_suite(t, PATH, code=base_code())
    assert errors == [], [e.message for e in errors]
    return suite


def test_a_typescript_generator_reads_a_folder_of_data_as_node_would():
    suite = loaded(tree())
    assert [(t.description, t.vars["word"]) for t in suite.tests] == [
        ("a.json", "apple"), ("b.json", "pear"), ("where", "/repo/evals /repo/evals")]
    assert loaded(tree({"evals/extra.json": "{}"})).tests[2].description == "extra"


def test_what_a_generator_looked_at_is_a_dependency_and_nothing_else():
    t = tree()
    deps = {d.path: d.reason for d in suite_dependencies(t, loaded(t))}
    why = f"file read by evals/gen.ts of {PATH}"
    # read, listed, and probed while missing: a PR adding evals/extra.json changes the tests too
    for path in ("evals/data/a.json", "evals/data/b.json", "evals/data/notes.txt", "evals/extra.json"):
        assert deps.get(path) == why, (path, deps)
    assert "evals/data" not in deps  # a folder is looked at through what is in it


def test_files_given_ahead_count_only_when_the_code_reads_them():
    folder = {f"evals/rows/{i:03}.json": f'{{"word": "w{i}"}}' for i in range(AHEAD_FILES + 10)}
    gen = ("const fs = require('fs');\nmodule.exports = () => [0, 3].map((i) => ({vars: JSON.parse("
           "fs.readFileSync(`rows/${String(i).padStart(3, '0')}.json`, 'utf8'))}));\n")
    t = MemoryTree({PATH: SUITE.replace("gen.ts", "gen.js"), "evals/gen.js": gen, **folder})
    suite = loaded(t)
    assert [x.vars["word"] for x in suite.tests] == ["w0", "w3"]
    read = {p for p, by in suite.reads}
    assert read == {"evals/rows/000.json", "evals/rows/003.json"}  # the rest were given ahead, never used


def run(source: str, t: MemoryTree, cwd: str = "evals", limits: CodeLimits | None = None):
    files = RepoFiles(t, cwd)
    code = JsCode(source + "\n;module.exports.__pr_call = async (args) => module.exports.default();\n", file="evals/gen.js",
                  function="__pr_call")
    return transform_sync(code, [], {}, limits or CodeLimits(), files), files


def test_attack_paths_outside_the_repository_are_not_there():
    t = MemoryTree({"evals/a.txt": "in"})
    value, files = run("""
const fs = require('fs');
exports.default = () => ['/etc/passwd', '../../../../etc/passwd', '/repo/../etc/hostname', new URL('file:///etc/passwd'),
                         '/proc/self/environ'].map((p) => { try { return fs.readFileSync(p, 'utf8'); } catch (e) { return e.code; } });
""", t)
    assert value == ["ENOENT"] * 5
    assert files.touched == {}


def test_attack_writes_fail_as_on_a_read_only_file_system_and_write_nothing():
    t = MemoryTree({"evals/a.txt": "in"})
    value, _ = run("""
const fs = require('fs');
exports.default = async () => {
  const out = [];
  for (const f of [() => fs.writeFileSync('a.txt', 'x'), () => fs.mkdirSync('/repo/new'), () => fs.rmSync('a.txt'),
                   () => fs.appendFileSync('/tmp/x', 'y')]) { try { f(); out.push('wrote'); } catch (e) { out.push(e.code); } }
  try { await fs.promises.writeFile('a.txt', 'x'); } catch (e) { out.push(e.code); }
  out.push(fs.readFileSync('a.txt', 'utf8'));
  return out;
};
""", t)
    assert value == ["EROFS", "EROFS", "EROFS", "EROFS", "EROFS", "in"]
    assert t.read("evals/a.txt") == b"in" and t.paths() == ["evals/a.txt"]


def test_attack_a_caught_bound_still_stops_the_code():
    big = "x" * 2_000
    t = MemoryTree({"evals/big.txt": big})
    try:
        run("""
const fs = require('fs');
exports.default = () => { try { return fs.readFileSync('big.txt', 'utf8').length; } catch (e) { return 'caught'; } };
""", t, limits=CodeLimits())
    except SandboxError:
        raise AssertionError("a file under the bound is read")
    files = RepoFiles(t, "evals", max_file_bytes=1_000)
    code = JsCode("const fs = require('fs');\nexports.default = () => { try { return fs.readFileSync('big.txt', 'utf8'); } "
                  "catch (e) { return 'caught'; } };\n;module.exports.__pr_call = async () => module.exports.default();\n",
                  file="evals/gen.js", function="__pr_call")
    try:
        transform_sync(code, [], {}, CodeLimits(), files)
    except SandboxError as exc:
        assert exc.fault is Fault.UNSUPPORTED and "evals/big.txt is 2,000 bytes, over the limit of 1,000" in exc.message
    else:
        raise AssertionError("the code caught the bound and went on")


def test_attack_a_loop_of_new_lookups_is_bounded():
    t = MemoryTree({f"evals/d{i}/f.txt": "x" for i in range(200)})
    try:
        run("""
const fs = require('fs');
exports.default = () => { let n = 0; for (let i = 0; i < 200; i++) n += fs.readFileSync(`d${i}/f.txt`, 'utf8').length; return n; };
""", t)
    except SandboxError as exc:
        assert "looked up more than 64 paths one after another" in exc.message
    else:
        raise AssertionError("unbounded runs")


def test_an_assertion_that_runs_with_a_case_gets_no_files():
    from bot.evals.sandbox import run_code_sync
    code = JsCode("const fs = require('fs');\nmodule.exports = () => fs.existsSync('x');\n", file="evals/check.js")
    try:
        run_code_sync(code, "out", {}, None, CodeLimits())
    except SandboxError as exc:
        assert "for code that runs before the cases do" in exc.message
    else:
        raise AssertionError("fs reached a case's code")


HOOK = """\
const { readFileSync } = require('node:fs')
const { resolve } = require('node:path')
let calls = 0
exports.beforeAll = () => { calls += 1 }
exports.beforeEach = (context) => {
  calls += 1
  const raw = context.test.vars.input
  if (typeof raw === 'string' && raw.startsWith('file://')) {
    context.test.vars.input = JSON.parse(readFileSync(resolve(__dirname, '..', raw.slice('file://'.length)), 'utf8')).city
  }
  context.test.vars.calls = calls
  return context
}
"""


def test_a_hook_reads_fixtures_and_keeps_its_module_state_across_the_runs_files_cost():
    suite_text = ("prompts: ['Plan {{input}}']\nproviders: [echo]\nextensions: [file://hooks/prepare.cjs:beforeAll, "
                  "file://hooks/prepare.cjs:beforeEach]\ntests:\n  - vars: {input: 'file://fixtures/a.json'}\n"
                  "  - vars: {input: 'file://fixtures/b.json'}\n  - vars: {input: plain}\n")
    t = MemoryTree({PATH: suite_text, "evals/hooks/prepare.cjs": HOOK, "evals/fixtures/a.json": '{"city": "Oslo"}',
                    "evals/fixtures/b.json": '{"city": "Lima"}'})
    suite = loaded(t)
    # one beforeAll, then one beforeEach per test: the restarts a new file costs made the earlier runs again unseen
    assert [(x.vars["input"], x.vars["calls"]) for x in suite.tests] == [("Oslo", 2), ("Lima", 3), ("plain", 4)]
    deps = {d.path: d.reason for d in suite_dependencies(t, suite)}
    assert deps["evals/fixtures/a.json"] == f"file read by evals/hooks/prepare.cjs of {PATH}"
    assert deps["evals/fixtures/b.json"] == f"file read by evals/hooks/prepare.cjs of {PATH}"


REVIEW_SUITE = """\
description: words
prompts:
  - file://../prompts/echo.txt
providers:
  - id: openai:chat:gpt-4o-mini
tests: file://gen.js
"""
REVIEW_GEN = """\
const fs = require('fs');
const path = require('path');
module.exports = () => fs.readdirSync(path.join(__dirname, 'data')).map((name) => {
  const row = JSON.parse(fs.readFileSync(path.join(__dirname, 'data', name), 'utf8'));
  return { description: row.word, vars: { word: row.word }, assert: [{ type: 'equals', value: row.expected }] };
});
"""


def test_a_pr_changing_only_the_data_a_generator_reads_is_reviewed(tmp_path, model_server):
    base = {".github/prompt-review.yml": CONFIG.format(extra=""), "prompts/echo.txt": PROMPT,
            "evals/promptfooconfig.yaml": REVIEW_SUITE, "evals/gen.js": REVIEW_GEN,
            "evals/data/apple.json": '{"word": "apple", "expected": "apple"}'}
    repo = repo_with_pr(tmp_path, base, {"evals/data/apple.json": '{"word": "apple", "expected": "APPLE"}'})
    code, report = review(repo, model_server.url)
    assert [(p["path"], p["why"]) for p in report["prompts"]] == [
        ("evals/data/apple.json", "file read by evals/gen.js of evals/promptfooconfig.yaml")]
    apple = cases(report)["apple"]
    assert apple["status"] == "regressed" and apple["base"]["passed"] and not apple["head"]["passed"], apple
    assert code == 1


# ---- Python: the scratch directory stands for the repository --------------------------------------------------------

PY_GEN = """\
import csv
import json
import os
from pathlib import Path

HERE = os.path.dirname(os.path.abspath(__file__))


def generate_tests():
    tests = []
    for name in sorted(os.listdir(os.path.join(HERE, "data"))):
        if name.endswith(".json"):
            with open(os.path.join(HERE, "data", name)) as f:
                tests.append({"description": name, "vars": json.load(f)})
    with open("rows.csv", newline="") as f:  # relative to the suite's folder, as promptfoo run from there
        tests += [{"description": row["word"], "vars": {"word": row["word"]}} for row in csv.DictReader(f)]
    found = sorted(p.name for p in Path("data").glob("*.json"))
    tests.append({"description": "probe", "vars": {"word": f"{found} {os.path.exists('extra.json')} {Path('data').is_dir()}"}})
    with open("cache.txt", "w") as f:  # its own file, in the scratch directory: read back, never a dependency
        f.write("kept")
    tests.append({"description": "cache", "vars": {"word": open("cache.txt").read()}})
    tests.append({"description": "here", "vars": {"word": " ".join(sorted(os.listdir(HERE)))}})
    return tests
"""


def py_tree(extra: dict[str, str] | None = None) -> MemoryTree:
    return MemoryTree({PATH: SUITE.replace("gen.ts", "gen.py"), "evals/gen.py": PY_GEN, "evals/data/a.json": '{"word": "apple"}',
                       "evals/data/b.json": '{"word": "pear"}', "evals/rows.csv": "word\nplum\n", **(extra or {})})


def test_a_python_generator_reads_the_repository_through_open_os_and_pathlib():
    t = py_tree()
    suite = loaded(t)
    assert [(x.description, x.vars["word"]) for x in suite.tests] == [
        ("a.json", "apple"), ("b.json", "pear"), ("plum", "plum"), ("probe", "['a.json', 'b.json'] False True"),
        ("cache", "kept"), ("here", "cache.txt data gen.py promptfooconfig.yaml rows.csv")]  # the repository's and its own
    deps = {d.path: d.reason for d in suite_dependencies(t, suite)}
    why = f"file read by evals/gen.py of {PATH}"
    for path in ("evals/data/a.json", "evals/data/b.json", "evals/rows.csv", "evals/extra.json"):
        assert deps.get(path) == why, (path, deps)
    assert "evals/cache.txt" not in deps
    assert loaded(py_tree({"evals/extra.json": "{}"})).tests[3].vars["word"].endswith("True True")


def test_attack_python_reads_outside_the_repository_are_refused_and_bounds_hold():
    from bot.evals.sandbox import PyCode
    t = MemoryTree({"evals/big.txt": "x" * 2_000, "evals/ok.txt": "fine"})
    source = ("import os\n\ndef get(path):\n    try:\n        return open(path).read()\n    except OSError as e:\n"
              "        return type(e).__name__\n\ndef __pr_call(output, context):\n    return [get(p) for p in output]\n")
    files = RepoFiles(t, "evals")
    value = transform_sync(PyCode(source, file="evals/gen.py", function="__pr_call"), ["ok.txt", "../top.txt", "missing"],
                           {}, CodeLimits(), files)
    assert value == ["fine", "FileNotFoundError", "FileNotFoundError"]
    assert set(files.touched) == {"evals/ok.txt", "top.txt", "evals/missing"}
    for outside in ("/etc/passwd", "../../../../etc/passwd"):  # no path of the repository's stand-in: refused, as before
        try:
            transform_sync(PyCode(source, file="evals/gen.py", function="__pr_call"), [outside], {}, CodeLimits(), RepoFiles(t, "evals"))
        except SandboxError as exc:
            assert exc.fault is Fault.REFUSED and "/etc/passwd" in exc.message, exc.message
        else:
            raise AssertionError("read outside the scratch directory")
    small = RepoFiles(t, "evals", max_file_bytes=1_000)
    try:  # caught by the code, still the end of it
        transform_sync(PyCode(source, file="evals/gen.py", function="__pr_call"), ["big.txt", "ok.txt"], {}, CodeLimits(), small)
    except SandboxError as exc:
        assert "reading the repository: evals/big.txt is 2,000 bytes, over the limit of 1,000" in exc.message
    else:
        raise AssertionError("the code caught the bound and went on")


def test_a_python_hook_reads_fixtures_next_to_it():
    hook = ("import json, os\n\n\ndef beforeEach(context, options):\n    raw = context['test']['vars']['input']\n"
            "    if raw.startswith('file://'):\n        with open(os.path.join(os.path.dirname(__file__), '..', raw[7:])) as f:\n"
            "            context['test']['vars']['input'] = json.load(f)['city']\n    return context\n")
    suite_text = ("prompts: ['Plan {{input}}']\nproviders: [echo]\nextensions: [file://hooks/prepare.py:beforeEach]\n"
                  "tests:\n  - vars: {input: 'file://fixtures/a.json'}\n  - vars: {input: plain}\n")
    t = MemoryTree({PATH: suite_text, "evals/hooks/prepare.py": hook, "evals/fixtures/a.json": '{"city": "Oslo"}'})
    suite = loaded(t)
    assert [x.vars["input"] for x in suite.tests] == ["Oslo", "plain"]
    deps = {d.path: d.reason for d in suite_dependencies(t, suite)}
    assert deps["evals/fixtures/a.json"] == f"file read by evals/hooks/prepare.py of {PATH}"


# ---- prompt functions: the prompt the app ships, loaded by the suite ----------------------------------------------

LOADER = """\
const fs = require("fs");
const path = require("path");
module.exports = function (context) {
  const raw = fs.readFileSync(path.resolve(__dirname, "..", context.vars.prompt_file), "utf-8");
  return raw.replace(/^---\\n[\\s\\S]*?\\n---\\n/, "").replace(/\\$WORD/g, context.vars.word);
};
"""
LOADER_SUITE = """\
description: skills
prompts:
  - file://prompt-loader.js
providers:
  - id: openai:chat:gpt-4o-mini
tests:
  - description: apple
    vars: {prompt_file: src/skills/echo/SKILL.md, word: apple}
    assert:
      - type: equals
        value: apple
  - description: pear
    vars: {prompt_file: src/skills/other/SKILL.md, word: pear}
    assert:
      - type: equals
        value: pear
"""


def test_a_prompt_function_reads_the_apps_prompt_file_which_is_then_a_prompt_under_review(tmp_path, model_server):
    skill = "---\nname: echo\n---\n" + PROMPT.replace("{{word}}", "$WORD")
    base = {".github/prompt-review.yml": CONFIG.format(extra=""), "evals/promptfooconfig.yaml": LOADER_SUITE,
            "evals/prompt-loader.js": LOADER, "src/skills/echo/SKILL.md": skill, "src/skills/other/SKILL.md": skill}
    changed = skill.replace('"$WORD"', '"$WORD pie"')
    repo = repo_with_pr(tmp_path, base, {"src/skills/echo/SKILL.md": changed})
    code, report = review(repo, model_server.url)
    (prompt,) = report["prompts"]  # the PR's file, shown with its diff, as a prompt file of the suite is
    assert (prompt["path"], prompt["why"]) == ("src/skills/echo/SKILL.md", "file read by evals/prompt-loader.js of evals/promptfooconfig.yaml")
    assert "pie" in json.dumps(prompt)
    found = cases(report)
    assert found["apple"]["status"] == "regressed" and "prompt src/skills/echo/SKILL.md changed" in found["apple"]["reasons"], found["apple"]
    assert "pear" not in found or found["pear"]["status"] == "unchanged"  # it read the other file only
    # the ablation reverts the file's change through the prompt function's reads, and so names it as the cause
    (cause,) = report["explanation"]["causes"]
    assert cause["determined"] and [c["file"] for c in cause["cause_changes"]] == ["src/skills/echo/SKILL.md"], cause
    assert code == 1


def test_a_python_prompt_function_reads_its_template_and_each_case_names_what_it_read():
    from bot.evals.render import Renderer
    from bot.evals.select import CodeGate, expand

    fn = ("import os\n\n\ndef make(context):\n    name = context['vars']['template']\n"
          "    with open(os.path.join(os.path.dirname(__file__), 'templates', name)) as f:\n"
          "        return f.read().replace('WORD', context['vars']['word'])\n")
    suite_text = ("prompts: ['file://prompt.py:make']\nproviders: [echo]\ntests:\n"
                  "  - vars: {template: a.txt, word: apple}\n  - vars: {template: b.txt, word: pear}\n")
    t = MemoryTree({PATH: suite_text, "evals/prompt.py": fn, "evals/templates/a.txt": "Say WORD",
                    "evals/templates/b.txt": "Shout WORD"})
    suite = loaded(t)
    reads: dict[str, dict[str, None]] = {}
    cases, errors = expand(suite, Renderer(t), gate=CodeGate(), reads=reads)
    assert errors == []
    got = sorted((c.messages[-1][1], c.deps) for c in cases.values() if c.messages)
    assert got == [("Say apple", ("evals/prompt.py", "evals/templates/a.txt")), ("Shout pear", ("evals/prompt.py", "evals/templates/b.txt"))]
    assert reads == {"evals/prompt.py": {"evals/templates/a.txt": None, "evals/templates/b.txt": None}}


def test_a_var_computed_by_code_and_transform_vars_read_files_that_are_then_the_cases_files():
    from bot.evals.render import Renderer
    from bot.evals.select import CodeGate, expand

    get_var = ("import os\n\n\ndef get_var(var_name, prompt, other_vars):\n"
               "    with open(os.path.join(os.path.dirname(__file__), 'docs', other_vars['topic'] + '.md')) as f:\n"
               "        return {'output': f.read().strip()}\n")
    transform = ("const fs = require('fs');\nmodule.exports = (vars) => ({ ...vars, tone: fs.readFileSync('tone.txt', 'utf8').trim() });\n")
    suite_text = ("prompts: ['{{tone}}: {{context}}']\nproviders: [echo]\ndefaultTest:\n  options:\n"
                  "    transformVars: file://tone.js\ntests:\n  - vars: {topic: refunds, context: file://context.py}\n")
    t = MemoryTree({PATH: suite_text, "evals/context.py": get_var, "evals/tone.js": transform, "evals/tone.txt": "Kind",
                    "evals/docs/refunds.md": "Refunds within 30 days."})
    suite = loaded(t)
    reads: dict[str, dict[str, None]] = {}
    cases, errors = expand(suite, Renderer(t), gate=CodeGate(), reads=reads)
    assert errors == []
    (case,) = cases.values()
    assert case.messages == (("user", "Kind: Refunds within 30 days."),)
    assert {"evals/tone.txt", "evals/docs/refunds.md"} <= set(case.deps)
    assert reads == {"evals/tone.js": {"evals/tone.txt": None}, "evals/context.py": {"evals/docs/refunds.md": None}}


def test_check_config_lists_the_files_a_prompt_function_reads_as_under_review(tmp_path):
    import subprocess
    import sys

    from tests.sandbox.test_wired import write

    skill = "---\nname: echo\n---\n" + PROMPT.replace("{{word}}", "$WORD")
    write(tmp_path, {".github/prompt-review.yml": CONFIG.format(extra=""), "evals/promptfooconfig.yaml": LOADER_SUITE,
                     "evals/prompt-loader.js": LOADER, "src/skills/echo/SKILL.md": skill, "src/skills/other/SKILL.md": skill})
    done = subprocess.run([sys.executable, "-m", "bot", "check-config", str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "  src/skills/echo/SKILL.md: file read by evals/prompt-loader.js of evals/promptfooconfig.yaml" in done.stdout
    assert "  src/skills/other/SKILL.md: file read by evals/prompt-loader.js of evals/promptfooconfig.yaml" in done.stdout


def test_a_forks_pr_changing_only_the_file_a_prompt_function_loads_waits_for_its_label_and_is_not_passed():
    from bot.core.result import ChangedFile, EvalsSkip
    from bot.pipeline.stages import Context, ReviewInput, review as review_pr

    skill = "---\nname: echo\n---\n" + PROMPT.replace("{{word}}", "$WORD")
    base = {".github/prompt-review.yml": CONFIG.format(extra=""), "evals/promptfooconfig.yaml": LOADER_SUITE,
            "evals/prompt-loader.js": LOADER, "src/skills/echo/SKILL.md": skill, "src/skills/other/SKILL.md": skill}
    head = {**base, "src/skills/echo/SKILL.md": skill.replace('"$WORD"', '"$WORD pie"')}
    inp = ReviewInput("acme/words", 7, "a" * 40, "b" * 40, "mallory", (ChangedFile("src/skills/echo/SKILL.md", "modified"),),
                      MemoryTree(base), MemoryTree(head), fork=True)
    result = review_pr(inp, Context(with_approval=False))
    # no model was called (the label is not there), yet the file is a prompt under review and the evals wait
    assert [(p.path, p.why) for p in result.prompts] == [
        ("src/skills/echo/SKILL.md", "file read by evals/prompt-loader.js of evals/promptfooconfig.yaml")]
    assert result.evals is None and result.evals_skipped is EvalsSkip.WAITING_FOR_LABEL


def test_a_bound_one_case_of_a_prompt_function_hits_stops_that_case_only():
    from bot.evals.render import Renderer
    from bot.evals.select import CodeGate, expand

    loader = ("const fs = require('fs');\nmodule.exports = ({ vars }) => fs.readFileSync(vars.file, 'utf8').slice(0, 20);\n")
    suite_text = ("prompts: ['file://loader.js']\nproviders: [echo]\ntests:\n  - description: big\n    vars: {file: big.txt}\n"
                  "  - description: small\n    vars: {file: small.txt}\n")
    t = MemoryTree({PATH: suite_text, "evals/loader.js": loader, "evals/big.txt": "x" * 11_000_000, "evals/small.txt": "fine"})
    cases, _ = expand(loaded(t), Renderer(t), gate=CodeGate())
    by = {c.description: c for c in cases.values()}
    assert by["big"].messages is None and "over the limit of 10,000,000 for a file code reads" in str(by["big"].error)
    assert by["small"].messages == (("user", "fine"),) and by["small"].error is None


def test_attack_a_prompt_function_probing_endless_missing_paths_is_stopped_at_its_dependency_bound():
    from bot.evals.render import Renderer
    from bot.evals.sandbox.repo_files import MAX_TOUCHED
    from bot.evals.select import CodeGate, expand

    # each case probes 1,500 new names (under the per-call bound); over the cases they would all be dependencies
    # (JavaScript asks at most 64 new paths per call: its runs are bounded; Python asks over the bridge, 2,000 per call)
    loader = ("import os\n\n\ndef make(context):\n    i = context['vars']['i']\n"
              "    return 'probed %d' % sum(os.path.exists('nope-%d-%d' % (i, k)) for k in range(1500))\n")
    tests = "".join(f"  - vars: {{i: {i}}}\n" for i in range(8))
    t = MemoryTree({PATH: f"prompts: ['file://loader.py:make']\nproviders: [echo]\ntests:\n{tests}", "evals/loader.py": loader})
    reads: dict[str, dict[str, None]] = {}
    cases, _ = expand(loaded(t), Renderer(t), gate=CodeGate(), reads=reads)
    stopped = [c for c in cases.values() if c.error is not None]
    assert len(stopped) >= 2 and all(f"looked at more than {MAX_TOUCHED:,} paths" in str(c.error) for c in stopped), \
        [str(c.error) for c in stopped]
    assert len(reads["evals/loader.py"]) == MAX_TOUCHED
