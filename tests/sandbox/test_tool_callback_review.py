"""A whole review with a provider's `functionToolCallbacks`: the base branch's callbacks run on both sides, a
PR's changed callback re-runs the provider's cases with the reason named, and the gate decides whether the
PR's callback runs: refused under `run_pr_code: never` and for a fork, at the provider's line (docs/sandbox.md)."""

from __future__ import annotations

from bot.core.config import EvalsConfig
from bot.core.files import MemoryTree
from bot.evals.loader import load_suite
from bot.evals.runner import cache_key
from bot.evals.sandbox import Origin, may_run
from bot.evals.select import plan_suite
from tests.sandbox.test_wired import CONFIG, cases, repo_with_pr, review

PATH = "evals/promptfooconfig.yaml"
SUITE = """\
description: sums
prompts:
  - file://../prompts/add.txt
providers:
  - id: openai:chat:gpt-4o-mini
    config:
      tools:
        - type: function
          function: {{name: addNumbers, description: Add two numbers, parameters: {{type: object, properties: {{a: {{type: number}}, b: {{type: number}}}}}}}}
      functionToolCallbacks:
        addNumbers: {callback}
tests:
  - description: five and six
    vars: {{a: 5, b: 6}}
    assert:
      - type: equals
        value: '11'
"""
ADD = "'(args) => { const { a, b } = JSON.parse(args); return String(a + b); }'"
SUBTRACT = ADD.replace("a + b", "a - b")
PROMPT = "Use addNumbers to add {{a}} and {{b}}\n"


def files(callback: str, extra_config: str = "") -> dict[str, str]:
    return {".github/prompt-review.yml": CONFIG.format(extra=extra_config), "prompts/add.txt": PROMPT,
            PATH: SUITE.format(callback=callback)}


def test_the_base_branchs_callback_runs_on_the_head_when_the_pr_changes_only_the_prompt(tmp_path, model_server):
    repo = repo_with_pr(tmp_path, files(ADD, "  run_pr_code: never\n"), {"prompts/add.txt": "Use addNumbers to add {{b}} and {{b}}\n"})
    code, report = review(repo, model_server.url)
    case = cases(report)["five and six"]
    assert case["base"]["passed"] and case["base"]["output"] == "11", case
    assert case["head"]["error"] is None and case["head"]["output"] == "12", case
    assert case["status"] == "regressed" and code == 1


def test_a_prs_changed_callback_is_refused_when_the_base_says_never(tmp_path, model_server):
    repo = repo_with_pr(tmp_path, files(ADD, "  run_pr_code: never\n"), {PATH: SUITE.format(callback=SUBTRACT)})
    code, report = review(repo, model_server.url)
    case = cases(report)["five and six"]
    assert case["status"] == "error", case
    assert case["head"]["error"].startswith(f"{PATH}:5: refused: executes code from the PR (provider tool callback addNumbers)")
    assert "evals.run_pr_code: never" in case["head"]["error"]
    assert "provider tool callback addNumbers changed" in case["reasons"]
    assert code == 3  # could not check: never a pass


def test_a_same_repo_prs_changed_callback_runs_and_is_judged(tmp_path, model_server):
    repo = repo_with_pr(tmp_path, files(ADD), {PATH: SUITE.format(callback=SUBTRACT)})
    code, report = review(repo, model_server.url)
    case = cases(report)["five and six"]
    assert case["head"]["error"] is None and case["head"]["output"] == "-1", case
    assert case["status"] == "regressed" and code == 1


def test_a_fork_adding_a_callback_is_refused_at_the_providers_line():
    without = "\n".join(line for line in SUITE.format(callback=ADD).splitlines() if "functionToolCallbacks" not in line
                         and "addNumbers: '" not in line) + "\n"
    base_files = {PATH: without, "prompts/add.txt": PROMPT}
    head_files = {PATH: SUITE.format(callback=ADD), "prompts/add.txt": PROMPT}
    base, head = MemoryTree(base_files), MemoryTree(head_files)
    (base_suite, _), (head_suite, errors) = load_suite(base, PATH), load_suite(head, PATH)
    assert errors == []
    plan = plan_suite(PATH, base, head, base_suite, head_suite, pr_code=lambda what: may_run(Origin.PR, False, EvalsConfig(), what))
    (case,) = plan.cases
    assert case.reasons == ("provider tool callback addNumbers changed",)
    assert [w for w, _ in base_suite.providers[0].code_items()] == []
    assert cache_key(case.base, 0) != cache_key(case.head, 0)
    assert case.base.error is None
    assert case.head.error.message.startswith("refused: executes code from a fork's pull request (provider tool callback addNumbers)")
    assert (case.head.error.file, case.head.error.line) == (PATH, 5)
