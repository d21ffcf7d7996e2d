"""A whole review where the PR changes a provider's `transform`: the provider's cases re-run with the
reason named, and the gate decides whether the PR's transform runs (docs/sandbox.md)."""

from __future__ import annotations

from tests.sandbox.test_wired import CONFIG, PROMPT, cases, repo_with_pr, review

SUITE = """\
description: words
prompts:
  - file://../prompts/echo.txt
providers:
  - id: openai:chat:gpt-4o-mini
    transform: {transform}
tests:
  - description: apple
    vars: {{word: apple}}
    assert:
      - type: equals
        value: apple
"""


def files(transform: str, extra_config: str = "") -> dict[str, str]:
    return {".github/prompt-review.yml": CONFIG.format(extra=extra_config), "prompts/echo.txt": PROMPT,
            "evals/promptfooconfig.yaml": SUITE.format(transform=transform), "evals/shape.js": "module.exports = (o) => o.trim();\n"}


def test_a_pr_changing_a_provider_transform_reruns_its_cases_and_the_change_is_judged(tmp_path, model_server):
    repo = repo_with_pr(tmp_path, files("output.trim()"), {"evals/promptfooconfig.yaml": SUITE.format(transform="output.toUpperCase()")})
    code, report = review(repo, model_server.url)
    apple = cases(report)["apple"]
    assert apple["status"] == "regressed", apple
    assert apple["base"]["passed"] and apple["head"]["output"] == "APPLE"
    assert "provider transform changed" in apple["reasons"]
    assert code == 1


def test_a_pr_editing_a_provider_transform_file_reruns_its_cases(tmp_path, model_server):
    repo = repo_with_pr(tmp_path, files("file://shape.js"), {"evals/shape.js": "module.exports = (o) => o + '!';\n"})
    _code, report = review(repo, model_server.url)
    apple = cases(report)["apple"]
    assert apple["status"] == "regressed" and "provider transform changed" in apple["reasons"], apple


def test_a_prs_provider_transform_is_refused_when_the_base_says_never(tmp_path, model_server):
    repo = repo_with_pr(tmp_path, files("output.trim()", "  run_pr_code: never\n"),
                        {"evals/promptfooconfig.yaml": SUITE.format(transform="output.toUpperCase()")})
    code, report = review(repo, model_server.url)
    apple = cases(report)["apple"]
    assert apple["status"] == "error", apple
    assert apple["head"]["error"].startswith("evals/promptfooconfig.yaml:5: refused: executes code from the PR (provider transform)")
    assert "evals.run_pr_code: never" in apple["head"]["error"]
    assert code == 3  # could not check: never a pass


def test_the_base_branchs_provider_transform_runs_when_the_pr_changes_only_the_prompt(tmp_path, model_server):
    repo = repo_with_pr(tmp_path, files("output.toUpperCase()", "  run_pr_code: never\n"),
                        {"prompts/echo.txt": 'Reply with "{{word}} pie"\n'})
    _code, report = review(repo, model_server.url)
    apple = cases(report)["apple"]
    assert apple["head"]["error"] is None and apple["head"]["output"] == "APPLE PIE", apple
