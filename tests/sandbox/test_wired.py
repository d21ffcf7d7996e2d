"""javascript/python assertions and transforms of a suite, run through a real review: `prompt-review
review` on a git repository and the service on a fork PR, against the scripted model server.

The base branch's code always runs; code the PR added or changed runs for a same-repository PR unless
the base config says `evals.run_pr_code: never`; a fork's changed code never runs (docs/sandbox.md).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.reliability.common import EVALS_CHECK, LABEL, model_env
from tests.service.harness import stack

CONFIG = """\
prompts:
  include: ["prompts/**"]
suites:
  - evals/promptfooconfig.yaml
evals:
  fail_on: regression
{extra}"""

# The scripted model answers a prompt 'Reply with "X"' with exactly X.
PROMPT = 'Reply with "{{word}}"\n'
SUITE = """\
description: words
prompts:
  - file://../prompts/echo.txt
providers:
  - id: openai:chat:gpt-4o-mini
defaultTest:
  options:
    transform: output.trim()
tests:
  - description: apple
    vars: {word: apple}
    assert:
      - type: javascript
        value: output === context.vars.word
      - type: python
        value: file://check.py
      - type: not-javascript
        value: output.length > 10
  - description: pear
    vars: {word: pear}
    assert:
      - type: python
        value: |
          words = output.split()
          return len(words) == 1 and words[0] == context["vars"]["word"]
"""
CHECK = "def get_assert(output, context):\n    return output == context['vars']['word']\n"


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "dave", "GIT_AUTHOR_EMAIL": "dave@example.com",
           "GIT_COMMITTER_NAME": "dave", "GIT_COMMITTER_EMAIL": "dave@example.com"}
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=env).stdout


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def files(extra_config: str = "") -> dict[str, str]:
    return {
        ".github/prompt-review.yml": CONFIG.format(extra=extra_config),
        "prompts/echo.txt": PROMPT,
        "evals/promptfooconfig.yaml": SUITE,
        "evals/check.py": CHECK,
    }


def repo_with_pr(tmp_path: Path, base: dict[str, str], change: dict[str, str]) -> Path:
    root = tmp_path / "words"
    root.mkdir()
    write(root, base)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base")
    write(root, change)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "pr")
    return root


def review(repo: Path, model_url: str) -> tuple[int, dict]:
    env = {**os.environ, **model_env(model_url)}
    result = subprocess.run([sys.executable, "-m", "bot", "review", "HEAD~1..HEAD", "--repo", str(repo), "--format", "json",
                             "--no-cache"], capture_output=True, text=True, env=env, timeout=300)
    assert result.stdout, result.stderr
    return result.returncode, json.loads(result.stdout)


def cases(report: dict) -> dict[str, dict]:
    return {c["description"]: c for s in report["evals"]["suites"] for c in s["cases"]}


def test_the_base_branchs_code_assertions_judge_a_prompt_change(tmp_path, model_server):
    # the PR only edits the prompt: every assertion's code is the base's and runs on both sides
    repo = repo_with_pr(tmp_path, files(), {"prompts/echo.txt": 'Reply with "{{word}} pie"\n'})
    code, report = review(repo, model_server.url)
    assert code == 1, report
    found = cases(report)
    assert {d: c["status"] for d, c in found.items()} == {"apple": "regressed", "pear": "regressed"}
    assert found["apple"]["base"]["passed"] and not found["apple"]["head"]["passed"]
    assert "python" in " ".join(found["pear"]["head"]["failed_assertions"])


def test_code_a_same_repo_pr_changed_runs_by_default(tmp_path, model_server):
    stricter = "def get_assert(output, context):\n    return output == context['vars']['word'].upper()\n"
    repo = repo_with_pr(tmp_path, files(), {"evals/check.py": stricter})
    code, report = review(repo, model_server.url)
    apple = cases(report)["apple"]
    assert apple["status"] == "regressed" and apple["head"]["error"] is None, apple
    assert code == 1


def test_code_a_pr_changed_is_refused_when_the_base_says_never(tmp_path, model_server):
    stricter = "def get_assert(output, context):\n    return output == context['vars']['word'].upper()\n"
    repo = repo_with_pr(tmp_path, files("  run_pr_code: never\n"), {"evals/check.py": stricter})
    code, report = review(repo, model_server.url)
    apple = cases(report)["apple"]
    assert apple["status"] == "error", apple
    assert apple["head"]["error"].startswith("evals/promptfooconfig.yaml:15: refused: executes code from the PR (python assertion)")
    assert "evals.run_pr_code: never" in apple["head"]["error"]
    assert "pear" not in cases(report)  # it does not use check.py: unaffected
    assert code == 3  # "could not check": never a pass


def test_inline_code_a_pr_changed_is_refused_when_never_but_identical_code_runs(tmp_path, model_server):
    suite = SUITE.replace("output === context.vars.word", "output.startsWith('x')")
    repo = repo_with_pr(tmp_path, files("  run_pr_code: never\n"), {"evals/promptfooconfig.yaml": suite})
    _code, report = review(repo, model_server.url)
    found = cases(report)
    assert found["apple"]["status"] == "error" and "(javascript assertion)" in found["apple"]["head"]["error"]
    assert found["apple"]["head"]["error"].startswith("evals/promptfooconfig.yaml:13: refused")
    assert "pear" not in found or found["pear"]["status"] != "error"


SERVICE_SUITE = """\
prompts:
  - file://../prompts/echo.txt
providers:
  - id: openai:chat:gpt-4o-mini
tests:
  - description: apple
    vars: {word: apple}
    assert:
      - type: python
        value: output == context["vars"]["word"]
"""


def test_a_forks_changed_code_never_runs_and_the_base_code_does(tmp_path, model_server):
    httpx.post(model_server.url + "/_control/reset")
    base = {
        ".github/prompt-review.yml": CONFIG.format(extra=""),
        ".github/PROMPTOWNERS": "prompts/** @erin\n",
        "prompts/echo.txt": PROMPT,
        "evals/promptfooconfig.yaml": SERVICE_SUITE,
    }
    # the PR rewrites the code without changing what it accepts
    changed_code = SERVICE_SUITE.replace('output == context["vars"]["word"]', 'output.strip() == context["vars"]["word"]')
    with stack(tmp_path, env=model_env(model_server.url)) as s:
        s.sim.create_org("acme")
        s.sim.create_repo("acme", "words", base)
        s.sim.set_permission("acme/words", "erin", "write")
        s.sim.install("acme")
        fork_pr = s.sim.open_pull("acme/words", "p", {"evals/promptfooconfig.yaml": changed_code},
                                  "From a fork", "mallory", fork=True)
        s.wait_idle()
        s.sim.add_label("acme/words", fork_pr.number, LABEL, user="erin")
        s.wait_idle()
        runs = {r.name: r for r in sorted(s.sim.check_runs("acme/words", fork_pr.head_sha), key=lambda r: r.id)}
        evals = runs[EVALS_CHECK]
        shown = f"{evals.title}\n{evals.summary}\n{evals.text}"
        assert evals.conclusion == "failure", shown
        assert "refused: executes code from a fork's pull request (python assertion)" in shown, shown
        assert "code from forks never runs" in shown

        same_repo_pr = s.sim.open_pull("acme/words", "q", {"evals/promptfooconfig.yaml": changed_code}, "Same repo", "erin")
        s.wait_idle()
        runs = {r.name: r for r in sorted(s.sim.check_runs("acme/words", same_repo_pr.head_sha), key=lambda r: r.id)}
        shown = f"{runs[EVALS_CHECK].title}\n{runs[EVALS_CHECK].summary}\n{runs[EVALS_CHECK].text}"
        assert runs[EVALS_CHECK].conclusion == "success", shown  # the changed code ran and passed
        assert "never runs" not in shown


@pytest.mark.parametrize("negated, returns, passed", [
    (False, "0.4", True), (True, "0.4", False), (False, "0", False), (True, "0", True),
    (True, "({pass: true, score: 0.9, reason: 'ok'})", False), (True, "undefined", False), (True, "(() => { throw new Error('x') })()", False),
])
def test_not_forms_invert_pass_as_promptfoo_does(negated, returns, passed):
    import asyncio

    from bot.evals.assertions import CodeContext, check_one
    from bot.evals.sandbox import JsCode
    from bot.evals.suite import AssertionSpec

    kind = ("not-" if negated else "") + "javascript"
    a = AssertionSpec(kind, returns, code=JsCode.inline(returns))
    ok, score = asyncio.run(check_one(a, "out", None, None, context=CodeContext({}, "p", {}, {})))
    assert ok is passed
    if returns == "0.4":
        assert score == 0.4  # the code's score stands whether negated or not (promptfoo)


PLAN_SUITE = """\
prompts: ['Reply with "{{shout}}"']
providers: [openai:chat:gpt-4o-mini]
defaultTest:
  options:
    transformVars: '({...vars, shout: vars.q.toUpperCase()})'
tests:
  - description: one
    vars: {q: hi, expected: HI}
    assert:
      - type: javascript
        value: output === context.vars.expected
"""


def _plan(head_suite: str, same_repo: bool, run_pr_code: str = "same-repo"):
    from bot.core.config import EvalsConfig
    from bot.core.files import MemoryTree
    from bot.evals.loader import load_suite
    from bot.evals.sandbox import Origin, may_run
    from bot.evals.select import plan_suite

    path = "evals/promptfooconfig.yaml"
    base, head = MemoryTree({path: PLAN_SUITE}), MemoryTree({path: head_suite})
    config = EvalsConfig(run_pr_code=run_pr_code)
    (base_suite, _), (head_suite_, errors) = load_suite(base, path), load_suite(head, path)
    assert errors == []
    plan = plan_suite(path, base, head, base_suite, head_suite_,
                      pr_code=lambda what: may_run(Origin.PR, same_repo, config, what))
    (case,) = plan.cases
    return case


def test_transform_vars_of_the_base_shapes_the_prompt_and_a_forks_change_is_never_run():
    changed = PLAN_SUITE.replace("vars.q.toUpperCase()", '"pwned"')
    case = _plan(changed, same_repo=False)
    assert case.base.messages[-1][1] == 'Reply with "HI"' and case.base.error is None
    assert case.head.messages is None  # the fork's transformVars did not run to render the prompt
    assert case.head.error.message.startswith("refused: executes code from a fork's pull request (options.transformVars)")
    assert (case.head.error.file, case.head.error.line) == ("evals/promptfooconfig.yaml", 7)  # the test
    ran = _plan(changed, same_repo=True)
    assert ran.head.error is None and ran.head.messages[-1][1] == 'Reply with "pwned"'


def test_a_var_only_code_reads_is_test_data_the_case_is_rerun_for():
    case = _plan(PLAN_SUITE.replace("expected: HI", "expected: HO"), same_repo=True)
    assert "test data changed" in case.reasons
    assert case.base.fingerprint() != case.head.fingerprint()  # so the cache cannot answer for it


def test_a_var_rendered_into_base_code_makes_it_the_prs_code():
    base_suite = PLAN_SUITE.replace("output === context.vars.expected", "output === '{{expected}}'")
    head_suite = base_suite.replace("expected: HI", "expected: \"x' || 'y\"")  # the code becomes always true
    case = _plan(head_suite, same_repo=True, run_pr_code="never")
    assert case.head.error is not None and "(javascript assertion)" in case.head.error.message


def test_expanding_a_suite_without_a_gate_runs_none_of_its_code():
    from bot.core.files import MemoryTree
    from bot.evals.loader import load_suite
    from bot.evals.render import Renderer
    from bot.evals.select import expand

    tree = MemoryTree({"s/promptfooconfig.yaml": PLAN_SUITE})
    suite, _ = load_suite(tree, "s/promptfooconfig.yaml")
    (case,) = expand(suite, Renderer(tree))[0].values()
    assert case.messages is None and "options.transformVars is not run" in case.error.message


def test_re_running_head_variants_to_find_causes_runs_only_the_base_suites_code():
    # bot/evals/explain.py re-runs head variants with one change reverted: the PR's code never runs there
    from bot.core.files import MemoryTree
    from bot.evals.loader import load_suite
    from bot.evals.render import Renderer
    from bot.evals.select import base_only_gate, expand

    path = "s/promptfooconfig.yaml"
    base_suite, _ = load_suite(MemoryTree({path: PLAN_SUITE}), path)
    head_tree = MemoryTree({path: PLAN_SUITE.replace("output === context.vars.expected", "output.length > 0")})
    head_suite, _ = load_suite(head_tree, path)
    (same,) = expand(base_suite, Renderer(MemoryTree({path: PLAN_SUITE})), gate=base_only_gate(base_suite))[0].values()
    assert same.error is None and same.messages[-1][1] == 'Reply with "HI"'
    (changed,) = expand(head_suite, Renderer(head_tree), gate=base_only_gate(base_suite))[0].values()
    assert changed.error.message.startswith("refused: executes code from the PR (javascript assertion)")
