"""The repository's own packages required by name (a monorepo's workspace package, a committed node_modules): suite
code that builds its prompt from the app's prompt package (`import { buildSystemPrompt } from '@acme/prompts'`, whose
package.json points at a `dist/` that only a build makes) loads the package's TypeScript source
(bot.evals.sandbox.js_resolve.resolve_package), and a PR that edits only that source is reviewed through a real `review`
on git: the case re-runs, the change is named, and the regression it causes is judged."""

from __future__ import annotations

import asyncio

import pytest

from bot.core.config import EvalsConfig
from bot.core.files import MemoryTree
from bot.evals import EvalRequest, NoCache, run_evals
from bot.evals.generators import base_code
from bot.evals.loader import read_suite
from bot.evals.sandbox.js_resolve import resolve_package
from tests.sandbox.test_wired import CONFIG, cases, repo_with_pr, review

SUPPORT = "export const SUPPORT: string = `You are a support agent.\nRefunds are only possible within 30 days of delivery.\n`;\n"
FILES = {
    "package.json": '{"name": "acme", "private": true, "workspaces": ["packages/*", "evals"]}',
    "packages/prompts/package.json": ('{"name": "@acme/prompts", "type": "module", '
                                      '"exports": {".": {"types": "./dist/index.d.ts", "import": "./dist/index.js"}}}'),
    "packages/prompts/tsconfig.json": '{\n  // built with tsc\n  "compilerOptions": {"outDir": "dist", "rootDir": "src",},\n}\n',
    "packages/prompts/src/index.ts": "export { buildSystemPrompt } from './build.js';\n",
    "packages/prompts/src/build.ts": "import { SUPPORT } from './prompts/support.js';\nexport function buildSystemPrompt(): string { return SUPPORT.trim(); }\n",
    "packages/prompts/src/prompts/support.ts": SUPPORT,
    "evals/prompt.mjs": ("import { buildSystemPrompt } from '@acme/prompts';\nexport default function ({ vars }) {\n"
                         "  return [{ role: 'system', content: buildSystemPrompt() }, { role: 'user', content: vars.q }];\n}\n"),
    "evals/promptfooconfig.yaml": ("prompts: [file://prompt.mjs]\nproviders: [echo]\ntests:\n  - description: refunds\n"
                                   "    vars: {q: 'Can I get a refund?'}\n    assert: [{type: contains, value: '30 days'}]\n"),
}


@pytest.mark.parametrize("spec, files, found", [
    ("@acme/prompts", FILES, "packages/prompts/src/index.ts"),  # exports → dist/index.js → tsconfig rootDir → src/index.ts
    ("@acme/prompts", {**FILES, "packages/prompts/dist/index.js": "module.exports = {};\n"}, "packages/prompts/dist/index.js"),
    ("lib-a", {"node_modules/lib-a/package.json": '{"main": "main.js"}', "node_modules/lib-a/main.js": ""}, "node_modules/lib-a/main.js"),
    ("lib-a/extra", {"node_modules/lib-a/package.json": "{}", "node_modules/lib-a/extra.js": ""}, "node_modules/lib-a/extra.js"),
    ("@s/spec/schemas/form", {"packages/spec/package.json": '{"name": "@s/spec", "exports": {"./schemas/*": {"import": "./dist/schemas/*.js"}}}',
                              "packages/spec/src/schemas/form.ts": ""}, "packages/spec/src/schemas/form.ts"),  # a pattern, from src/
    ("zod", FILES, None),  # installed by npm, not the repository's
    ("fs", {"node_modules/fs/package.json": "{}", "node_modules/fs/index.js": ""}, None),  # a Node built-in comes first
    ("@acme/other", FILES, None),
])
def test_a_package_is_found_as_node_finds_it_or_as_the_workspace_package_of_its_name(spec, files, found):
    assert resolve_package("evals/prompt.mjs", spec, MemoryTree(files)) == found


def test_a_prompt_function_builds_its_prompt_from_the_apps_workspace_package():
    tree = MemoryTree(FILES)
    loaded = read_suite(tree, "evals/promptfooconfig.yaml", code=base_code())
    assert loaded.errors == (), [str(e) for e in loaded.errors]
    report = asyncio.run(run_evals(EvalRequest(base=MemoryTree({}), head=tree, config=EvalsConfig(),
                                               suites=["evals/promptfooconfig.yaml"], env={}), NoCache()))
    (case,) = report.cases()
    assert case.head.passed and "Refunds are only possible within 30 days of delivery." in case.head.output


def test_a_pr_editing_only_the_packages_prompt_source_is_reviewed(tmp_path, model_server):
    base = {**FILES, ".github/prompt-review.yml": CONFIG.format(extra="")}
    repo = repo_with_pr(tmp_path, base, {"packages/prompts/src/prompts/support.ts": SUPPORT.replace(
        "Refunds are only possible within 30 days of delivery.\n", "")})
    code, report = review(repo, model_server.url)
    refunds = cases(report)["refunds"]
    assert refunds["status"] == "regressed", refunds
    assert refunds["base"]["passed"] and not refunds["head"]["passed"]
    assert "code helper packages/prompts/src/prompts/support.ts changed (required by evals/prompt.mjs)" in refunds["reasons"]
    # the package's source is a prompt under review, with its semantic diff: what the PR removed from the app's prompt
    (changed,) = [p for p in report["prompts"] if p["path"] == "packages/prompts/src/prompts/support.ts"]
    assert changed["why"] == "code required by evals/prompt.mjs of evals/promptfooconfig.yaml"
    assert [c["summary"] for c in changed["semdiff"]["changes"]] == [
        'instruction removed: "Refunds are only possible within 30 days of delivery."']
    assert code == 1


class Counting(MemoryTree):
    """A tree that knows sizes and counts what is read whole."""

    def __init__(self, files):
        super().__init__(files)
        self.reads: list[str] = []
        self.sizes = {k: len(v.encode() if isinstance(v, str) else v) for k, v in files.items()}

    def size(self, path):
        return self.sizes.get(path)

    def read(self, path):
        self.reads.append(path)
        return super().read(path)


def test_attack_a_huge_package_json_or_a_root_dir_above_the_repository_leads_nowhere_and_is_not_read():
    huge = '{"name": "@acme/prompts", "main": "x.js", "pad": "' + "y" * 1_000_000 + '"}'
    tree = Counting({**FILES, "packages/big/package.json": huge, "packages/prompts/tsconfig.json":
                     '{"compilerOptions": {"outDir": "dist", "rootDir": "../../../../outside"}}'})
    from bot.evals.sources import SizedTree

    assert isinstance(tree, SizedTree)
    # the big manifest is named like the package but never read; the rootDir above the root is not followed: src/ is
    assert resolve_package("evals/prompt.mjs", "@acme/prompts", tree) == "packages/prompts/src/index.ts"
    assert "packages/big/package.json" not in tree.reads
    assert not any(p.startswith("..") or "outside" in p for p in tree.reads)
