"""Code that reads the repository while its case runs (an assertion comparing with an expected-answer file, options.transform,
a provider written in Python loading a fixture): it reads the side's own tree, what it read is kept with the result, a
PR changing only such a file re-runs exactly the cases that read it, and a cached result counts only while what it read
is unchanged (bot.evals.runner: probes, cached_result)."""

from __future__ import annotations

import asyncio

import pytest

from bot.core.config import EvalsConfig
from bot.core.files import MemoryTree
from bot.evals import DiskCache, EvalRequest, MemoryCache, run_evals
from bot.evals.sandbox import JsCode, PyCode, SandboxError, run_code_sync
from bot.evals.sandbox.repo_files import RepoFiles, may_read
from bot.evals.sandbox.result import CodeLimits
from tests.reliability.common import model_env
from tests.sandbox.test_wired import CONFIG, PROMPT, cases, repo_with_pr, review

SUITE = """\
description: words
prompts:
  - file://../prompts/echo.txt
providers:
  - id: openai:chat:gpt-4o-mini
tests:
  - description: apple
    vars: {word: apple, expected: data/apple.json}
    assert:
      - type: javascript
        value: file://check.js
  - description: pear
    vars: {word: pear, expected: data/pear.json}
    assert:
      - type: javascript
        value: file://check.js
"""
CHECK = """\
const fs = require('fs');
const path = require('path');
module.exports = (output, context) => {
  const want = JSON.parse(fs.readFileSync(path.join(__dirname, context.vars.expected), 'utf8')).answer;
  return { pass: output.trim() === want, score: output.trim() === want ? 1 : 0, reason: `wanted ${want}` };
};
"""


def files(apple: str = "apple", pear: str = "pear") -> dict[str, str]:
    return {"prompts/echo.txt": PROMPT, "evals/promptfooconfig.yaml": SUITE, "evals/check.js": CHECK,
            "evals/data/apple.json": f'{{"answer": "{apple}"}}', "evals/data/pear.json": f'{{"answer": "{pear}"}}'}


def tree(apple: str = "apple", pear: str = "pear") -> MemoryTree:
    return MemoryTree(files(apple, pear))


def run(base: MemoryTree, head: MemoryTree, url: str, cache: MemoryCache | DiskCache | None = None):
    request = EvalRequest(base=base, head=head, config=EvalsConfig(), suites=["evals/promptfooconfig.yaml"], env=model_env(url))
    return asyncio.run(run_evals(request, cache if cache is not None else MemoryCache()))


def statuses(report) -> dict[str, str]:
    return {c.description: c.status.value for s in report.suites for c in s.cases}


def test_a_change_to_the_file_an_assertion_reads_reruns_exactly_the_cases_that_read_it(model_server):
    report = run(tree(), tree(apple="APPLE"), model_server.url)
    assert statuses(report) == {"apple": "regressed"}, statuses(report)
    (case,) = report.suites[0].cases
    assert case.reasons == ("file evals/data/apple.json read by evals/check.js changed",)
    assert report.suites[0].unaffected == 1  # pear: its base ran once to learn what it reads, and nothing it read changed
    assert report.stats.model_calls == 3  # both bases (one is pear's probe) and apple's head
    deps = {(d.path, d.why) for d in report.dependencies}
    assert ("evals/data/apple.json", "file read by evals/check.js") in deps
    assert ("evals/data/pear.json", "file read by evals/check.js") in deps


@pytest.mark.parametrize("kind", ["memory", "disk"])
def test_a_cached_result_counts_only_while_the_files_its_code_read_are_unchanged(model_server, kind, tmp_path):
    cache = MemoryCache() if kind == "memory" else DiskCache(tmp_path / "cache")
    first = run(tree(), tree(apple="APPLE"), model_server.url, cache)
    assert statuses(first) == {"apple": "regressed"}
    # the next PR puts the answer back: the head reads what the first base read, the base what the first head read —
    # each finds its own result (kept under the state of what it read), and none is taken for the other
    second = run(tree(apple="APPLE"), tree(), model_server.url, cache)
    assert statuses(second) == {"apple": "fixed"}, statuses(second)
    assert second.stats.model_calls == 0 and second.stats.cache_hits >= 3
    # a third version of the file matches no cached run: the case runs again rather than reuse a stale verdict
    third = run(tree(), tree(apple="pie"), model_server.url, cache)
    assert statuses(third) == {"apple": "regressed"} and third.stats.model_calls == 1


def test_a_python_provider_and_transform_read_fixtures_of_their_side(model_server):
    provider = ("import json, os\n"
                "def call_api(prompt, options, context):\n"
                "    with open(os.path.join('fixtures', context['vars']['word'] + '.json')) as f:\n"
                "        return {'output': json.load(f)['reply']}\n")
    transform = "const fs = require('fs');\nmodule.exports = (output) => output + fs.readFileSync('suffix.txt', 'utf8').trim();\n"
    suite = ("prompts: ['{{word}}']\nproviders: ['file://provider.py']\n"
             "defaultTest:\n  options:\n    transform: file://transform.js\n"
             "tests:\n  - vars: {word: apple}\n    assert: [{type: equals, value: apple!}]\n"
             "  - vars: {word: pear}\n    assert: [{type: equals, value: pear!}]\n")

    def side(apple: str, suffix: str = "!") -> MemoryTree:
        return MemoryTree({"evals/promptfooconfig.yaml": suite, "evals/provider.py": provider, "evals/transform.js": transform,
                           "evals/suffix.txt": suffix, "evals/fixtures/apple.json": f'{{"reply": "{apple}"}}',
                           "evals/fixtures/pear.json": '{"reply": "pear"}'})

    report = run(side("apple"), side("apricot"), model_server.url)
    found = {c.key.split("::")[1]: c for c in report.suites[0].cases}
    assert [c.status.value for c in found.values()] == ["regressed"], found
    (case,) = found.values()
    assert case.head.output == "apricot" and case.base.output == "apple"  # the provider's answers (before the transform)
    assert "file evals/fixtures/apple.json read by evals/transform.js, evals/provider.py changed" in case.reasons
    # a change to what every case's transform reads re-runs them all
    both = run(side("apple"), side("apple", "?"), model_server.url)
    assert sorted(statuses(both).values()) == ["regressed", "regressed"]


def test_a_pr_changing_only_the_expected_answers_is_reviewed_end_to_end(tmp_path, model_server):
    base = {".github/prompt-review.yml": CONFIG.format(extra=""), **files()}
    repo = repo_with_pr(tmp_path, base, {"evals/data/pear.json": '{"answer": "PEAR"}'})
    code, report = review(repo, model_server.url)
    assert [(p["path"], p["why"]) for p in report["prompts"]] == [
        ("evals/data/pear.json", "file read by evals/check.js of evals/promptfooconfig.yaml")]
    pear = cases(report)["pear"]
    assert pear["status"] == "regressed" and pear["base"]["passed"] and not pear["head"]["passed"], pear
    assert "apple" not in cases(report)
    # the ablation reverts the file in the tree the assertion reads, and names it
    (cause,) = report["explanation"]["causes"]
    assert cause["changes"] == ["evals/data/pear.json#1"] and cause["evidence"] == "reverting it alone restores 1 of 1 sampled case"
    assert code == 1


def test_only_code_that_names_fs_or_opens_files_gets_the_repository():
    assert may_read(JsCode(CHECK)) and may_read(JsCode("import { readFile } from 'node:fs/promises'"))
    assert not may_read(JsCode("module.exports = (o) => o.length > 2"))
    assert may_read(PyCode("from pathlib import Path\n")) and not may_read(PyCode("def get_assert(o, c):\n    return len(o) > 2\n"))


def test_attack_code_without_a_reader_cannot_read_and_a_reader_stays_inside_the_repository():
    sneaky = JsCode("module.exports = () => require(['f', 's'].join('')).readFileSync('/repo/secret.txt', 'utf8')",
                    file="evals/c.js")
    assert not may_read(sneaky)  # so the runner never gives it a reader, and the engine refuses fs
    try:
        run_code_sync(sneaky, "out", {}, None, CodeLimits())
    except SandboxError as exc:
        assert "require('fs')" in exc.message
    else:
        raise AssertionError("fs reached code that was given no reader")
    files = RepoFiles(MemoryTree({"evals/a.txt": "a", "secret.txt": "s"}), "evals")
    outside = JsCode("const fs = require('fs');\nmodule.exports = () => "
                     "({pass: !fs.existsSync('/etc/passwd') && !fs.existsSync('../../../etc/passwd'), score: 1, reason: 'ok'})",
                     file="evals/c.js")
    assert run_code_sync(outside, "out", {}, None, CodeLimits(), files).passed
    assert "etc/passwd" not in " ".join(files.recorded())


def test_a_forks_pr_changing_only_a_file_an_assertion_may_read_waits_for_its_label_and_is_not_passed():
    from bot.core.result import ChangedFile, EvalsSkip
    from bot.pipeline.stages import Context, ReviewInput, review as review_pr

    base = {".github/prompt-review.yml": CONFIG.format(extra=""), **files()}
    head = {**base, "evals/data/pear.json": '{"answer": "PEAR"}'}
    inp = ReviewInput("acme/words", 7, "a" * 40, "b" * 40, "mallory", (ChangedFile("evals/data/pear.json", "modified"),),
                      MemoryTree(base), MemoryTree(head), fork=True)
    result = review_pr(inp, Context(with_approval=False))
    # no model may be called (no label), and what check.js reads is known only by running it: the PR waits
    assert result.evals is None and result.evals_skipped is EvalsSkip.WAITING_FOR_LABEL, result
    assert "evals/check.js read the repository as their cases run" in (result.evals_skipped_reason or "")


SKILL_PROVIDER = """\
const fs = require('fs');
const path = require('path');
module.exports = class {
  async callApi(prompt, context) {
    const skill = fs.readFileSync(path.join(__dirname, 'skills', context.vars.word, 'SKILL.md'), 'utf8');
    const resp = await fetch('https://api.openai.com/v1/chat/completions', {
      method: 'POST', headers: { authorization: 'Bearer ' + process.env.OPENAI_API_KEY },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: skill.replace('$WORD', prompt) }] }) });
    const data = await resp.json();
    // read after the model answered: the call is made again to answer it, and the request is not sent twice
    const note = await fs.promises.readFile(path.join(process.cwd(), 'notes', context.vars.word + '.txt'), 'utf8');
    return { output: data.choices[0].message.content + note.trim() };
  }
};
"""


def test_a_javascript_provider_loads_the_skill_it_ships_and_each_model_call_is_made_once(model_server):
    suite = ("prompts: ['{{word}}']\nproviders: ['file://skill-provider.js']\n"
             "tests:\n  - vars: {word: apple}\n    assert: [{type: equals, value: apple.}]\n"
             "  - vars: {word: pear}\n    assert: [{type: equals, value: pear.}]\n")

    def side(apple_skill: str) -> MemoryTree:
        return MemoryTree({"evals/promptfooconfig.yaml": suite, "evals/skill-provider.js": SKILL_PROVIDER,
                           "evals/skills/apple/SKILL.md": apple_skill, "evals/skills/pear/SKILL.md": 'Reply with "$WORD"\n',
                           "evals/notes/apple.txt": ".", "evals/notes/pear.txt": "."})

    report = run(side('Reply with "$WORD"\n'), side('Reply with "$WORD pie"\n'), model_server.url)
    (case,) = report.suites[0].cases
    assert case.status.value == "regressed" and (case.base.output, case.head.output) == ("apple.", "apple pie."), case
    assert case.reasons == ("file evals/skills/apple/SKILL.md read by evals/skill-provider.js changed",)
    assert report.stats.model_calls == 3  # apple on both sides, pear's base (unaffected): no request sent twice
    assert report.suites[0].unaffected == 1


def test_a_chained_suite_whose_assertion_reads_files_runs_whole_when_only_those_files_changed(model_server):
    # storeOutputAs: later tests render with earlier outputs, so the chain is not probed case by case; it runs
    chained = SUITE.replace("  - description: apple\n", "  - description: apple\n    options: {storeOutputAs: first}\n")
    base = MemoryTree({**files(), "evals/promptfooconfig.yaml": chained})
    head = MemoryTree({**files(pear="PEAR"), "evals/promptfooconfig.yaml": chained})
    report = run(base, head, model_server.url)
    assert statuses(report) == {"apple": "still_passing", "pear": "regressed"}, statuses(report)
    assert all("reads the repository as its cases run" in c.reasons[0] for s in report.suites for c in s.cases)


def test_a_select_best_test_whose_probed_case_changed_compares_all_of_its_outputs(model_server):
    suite = ("prompts: ['Reply with \"{{word}}\"', 'Reply with \"{{word}} pie\"']\nproviders: [openai:chat:gpt-4o-mini]\n"
             "tests:\n  - description: pick\n    vars: {word: apple, expected: data/apple.json}\n"
             "    assert:\n      - type: javascript\n        value: file://check.js\n"
             "      - type: select-best\n        value: the shortest answer\n")
    # the second prompt's case reads another file: only the first one's read changes
    check = CHECK.replace("context.vars.expected", "context.prompt.includes('pie') ? 'data/pie.json' : context.vars.expected")
    both = {"evals/promptfooconfig.yaml": suite, "evals/check.js": check, "evals/data/pie.json": '{"answer": "apple pie"}'}
    report = run(MemoryTree({**files(), **both}), MemoryTree({**files(apple="apple pie"), **both}), model_server.url)
    ran = {c.reasons for s in report.suites for c in s.cases}
    assert ran == {("file evals/data/apple.json read by evals/check.js changed",),
                   ("compared with a changed case of the same test (select-best/max-score)",)}, ran
    assert report.suites[0].unaffected == 0  # both prompts' cases ran: select-best sees both outputs


def test_attack_checking_what_code_read_reads_no_more_than_the_code_did():
    class Counting(MemoryTree):
        def __init__(self, files):
            super().__init__(files)
            self.bytes_read = 0

        def size(self, path: str) -> int | None:
            raw = super().read(path)
            return None if raw is None else len(raw)

        def read(self, path: str) -> bytes | None:
            raw = super().read(path)
            self.bytes_read += len(raw or b"")
            return raw

    base = Counting({"evals/a.json": "{}", "evals/b.json": "{}"})
    files = RepoFiles(base, "evals")
    files.answer("read", "/repo/evals/a.json")
    files.answer("stat", "/repo/evals/b.json")
    files.answer("read", "/repo/evals/missing.json")
    recorded = files.state(files.recorded())
    # the PR puts 9 MB at each path the code read or asked about: the check sees they changed by their sizes alone
    head = Counting({"evals/a.json": "x" * 9_000_000, "evals/b.json": "y" * 9_000_000, "evals/missing.json": "z" * 9_000_000})
    assert sorted(RepoFiles(head, "evals").changed(recorded)) == ["//evals/b.json", "evals/a.json", "evals/missing.json"]
    assert head.bytes_read == 0
    same = Counting({"evals/a.json": "{}", "evals/b.json": "{}"})
    assert RepoFiles(same, "evals").changed(recorded) == [] and same.bytes_read == 2


def test_a_python_assertion_reads_a_list_it_keeps_next_to_it_and_what_it_read_is_recorded():
    from bot.evals.sandbox import run_code_sync

    check = PyCode("import os\n\ndef get_assert(output, context):\n"
                   "    with open(os.path.join(os.path.dirname(__file__), 'banned.txt')) as f:\n"
                   "        banned = f.read().split()\n"
                   "    return not any(w in output for w in banned)\n", file="evals/banned.py")
    files = RepoFiles(MemoryTree({"evals/banned.py": check.source, "evals/banned.txt": "pie\ntart\n"}), "evals")
    assert run_code_sync(check, "apple", {}, None, CodeLimits(), files).passed
    assert not run_code_sync(check, "apple pie", {}, None, CodeLimits(), files).passed
    assert files.recorded() == ("evals/banned.txt",)


def test_check_config_names_the_code_that_reads_the_repository_as_its_cases_run(tmp_path):
    import subprocess
    import sys

    from tests.sandbox.test_wired import write

    write(tmp_path, {".github/prompt-review.yml": CONFIG.format(extra=""), **files()})
    done = subprocess.run([sys.executable, "-m", "bot", "check-config", str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "also under review, once their cases run: the files this code reads as it runs" in done.stdout
    assert done.stdout.rstrip().endswith(": evals/check.js"), done.stdout


def test_a_providers_transform_reads_a_file_and_a_change_to_it_reruns_the_cases(model_server):
    # a provider-level transform that strips words listed in a file: what it read is recorded like an assertion's reads
    clean = ("const fs = require('fs');\nmodule.exports = (output) => {\n"
             "  const drop = fs.readFileSync('drop.txt', 'utf8').split('\\n').filter(Boolean);\n"
             "  return output.split(' ').filter((w) => !drop.includes(w)).join(' ');\n};\n")
    suite = ("prompts: ['Reply with \"{{word}} please\"']\nproviders:\n  - id: openai:chat:gpt-4o-mini\n    transform: file://clean.js\n"
             "tests:\n  - vars: {word: apple}\n    assert: [{type: equals, value: apple}]\n")

    def side(drop: str) -> MemoryTree:
        return MemoryTree({"evals/promptfooconfig.yaml": suite, "evals/clean.js": clean, "evals/drop.txt": drop})

    report = run(side("please\n"), side("nothing\n"), model_server.url)
    (case,) = report.suites[0].cases
    assert case.status.value == "regressed" and case.reasons == ("file evals/drop.txt read by evals/clean.js changed",), case
