"""promptfoo's `package:NAME:EXPORT` provider (bot.evals.providers_code_check.package_ref): the package is found as
Node finds it from the suite's folder, or as the monorepo's workspace package of that name, and its entry runs in the
JavaScript sandbox like a `file://` provider — only when the repository holds it."""

from __future__ import annotations

import asyncio

import pytest

from bot.core.config import EvalsConfig
from bot.core.files import MemoryTree
from bot.evals import EvalRequest, NoCache, run_evals
from bot.evals.loader import read_suite

PATH = "evals/promptfooconfig.yaml"
SUITE = ("prompts: ['Write about {{topic}}']\nproviders:\n  - package:testpackage:Provider\ntests:\n  - vars: {topic: bananas}\n"
         "    assert: [{type: contains, value: 'Echo: Write about bananas'}]\n")
# the form of promptfoo's node-module-package example: a class exported by name
MAIN = ("module.exports = { Provider: class { constructor(options) { this.options = options; } id() { return 'test-package'; }\n"
        "  callApi(prompt) { return { output: `Echo: ${prompt}` }; } } };\n")

WHERE = {
    "beside the suite": {"evals/node_modules/testpackage/package.json": '{"main": "./main.js"}', "evals/node_modules/testpackage/main.js": MAIN},
    "at the root, index.js": {"node_modules/testpackage/package.json": "{}", "node_modules/testpackage/index.js": MAIN},
    "a workspace, main without .js": {"packages/tp/package.json": '{"name": "testpackage", "main": "lib/main"}', "packages/tp/lib/main.js": MAIN},
    "a workspace, exports": {"packages/tp/package.json": '{"name": "testpackage", "exports": {".": {"require": "./cjs/p.cjs"}}}',
                             "packages/tp/cjs/p.cjs": MAIN},
}


@pytest.mark.parametrize("files", WHERE.values(), ids=WHERE.keys())
def test_a_package_the_repository_holds_runs_in_the_sandbox_as_promptfoo_runs_it(files):
    tree = MemoryTree({PATH: SUITE, **files})
    loaded = read_suite(tree, PATH)
    assert loaded.errors == (), [str(e) for e in loaded.errors]
    (entry,) = [path for path in files if not path.endswith("package.json")]
    assert loaded.suite.providers[0].code.file == entry and loaded.suite.providers[0].code.function == "Provider"
    report = asyncio.run(run_evals(EvalRequest(base=MemoryTree({}), head=tree, config=EvalsConfig(), suites=[PATH], env={}), NoCache()))
    assert [(c.head.output, c.head.passed, c.head.error) for c in report.cases()] == [("Echo: Write about bananas", True, None)]


def test_a_workspace_package_of_another_name_is_not_taken():
    loaded = read_suite(MemoryTree({PATH: SUITE, "packages/tp/package.json": '{"name": "other"}', "packages/tp/index.js": MAIN}), PATH)
    assert [(e.line, e.message) for e in loaded.errors] == [(3, (
        "unsupported: provider 'package:testpackage:Provider': package 'testpackage' is not in the repository (looked for "
        "node_modules/testpackage from evals up, and a workspace package.json named 'testpackage', with its entry or the "
        "source it is built from); prompt-review runs the repository's own code in its sandbox, not packages npm installs"))]


@pytest.mark.parametrize("provider, files, message", [
    ("package:testpackage", {}, "a package provider is package:NAME:EXPORT"),
    ("package:testpackage:Provider", {"node_modules/testpackage/package.json": '{"main": "dist/index.js"}'},
     "package 'testpackage' is not in the repository (looked for node_modules/testpackage from evals up, and a workspace "
     "package.json named 'testpackage', with its entry or the source it is built from)"),
])
def test_a_package_provider_that_cannot_run_says_why_at_its_line(provider, files, message):
    loaded = read_suite(MemoryTree({PATH: SUITE.replace("package:testpackage:Provider", provider), **files}), PATH)
    assert len(loaded.errors) == 1 and loaded.errors[0].line == 3 and message in loaded.errors[0].message, [str(e) for e in loaded.errors]


def test_a_package_a_pull_request_changes_is_pr_code_under_the_gate():
    files = WHERE["a workspace, main without .js"]
    base = MemoryTree({PATH: SUITE, **files})
    head = MemoryTree({PATH: SUITE, **files, "packages/tp/lib/main.js": MAIN.replace("Echo: ", "Echoed: ")})
    request = EvalRequest(base=base, head=head, config=EvalsConfig(run_pr_code="never"), suites=[PATH], env={})
    (case,) = asyncio.run(run_evals(request, NoCache())).cases()
    assert case.base.passed and case.base.output == "Echo: Write about bananas"
    assert case.head.output is None or case.head.output == "", case.head
    assert case.head.error and "executes code from the PR" in case.head.error, case.head.error


def test_check_config_sees_a_committed_node_modules_package_and_not_an_installed_one(tmp_path):
    # a review reads the commit; `check-config PATH` reads the checkout, where node_modules is mostly what npm installed
    import subprocess
    import sys

    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True)

    files = {".github/prompt-review.yml": "suites: [evals/promptfooconfig.yaml]\n", PATH: SUITE, **WHERE["beside the suite"]}
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    git("init", "-q")

    def check_config() -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "bot", "check-config", str(tmp_path)], capture_output=True, text=True, timeout=120)

    installed = check_config()  # not committed: npm's, not the repository's
    assert installed.returncode == 1 and "package 'testpackage' is not in the repository" in installed.stderr, installed.stderr
    git("add", "-A", "-f")
    committed = check_config()
    assert committed.returncode == 0, committed.stderr
    assert "ok: evals/promptfooconfig.yaml" in committed.stdout
