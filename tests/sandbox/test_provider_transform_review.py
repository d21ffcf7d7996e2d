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


PLAN_SUITE = """\
prompts: ['Reply with "{{q}}"']
providers:
  - id: https://api.example.com/answer
    config:
      transformResponse: file://parse.js
  - id: openai:chat:gpt-4o-mini
    transform: output.trim()
tests:
  - description: one
    vars: {q: hi}
    assert:
      - type: equals
        value: hi
"""
PARSE = "module.exports = (json) => json.text;\n"


def _plan(head_files: dict[str, str], same_repo: bool = True):
    from bot.core.config import EvalsConfig
    from bot.core.files import MemoryTree
    from bot.evals.loader import load_suite
    from bot.evals.runner import cache_key
    from bot.evals.sandbox import Origin, may_run
    from bot.evals.select import plan_suite

    path = "evals/promptfooconfig.yaml"
    base_files = {path: PLAN_SUITE, "evals/parse.js": PARSE}
    base, head = MemoryTree(base_files), MemoryTree({**base_files, **head_files})
    (base_suite, _), (head_suite, errors) = load_suite(base, path), load_suite(head, path)
    assert errors == []
    plan = plan_suite(path, base, head, base_suite, head_suite,
                      pr_code=lambda what: may_run(Origin.PR, same_repo, EvalsConfig(), what))
    return {c.key.rsplit("::", 1)[1]: c for c in plan.cases}, cache_key


def test_a_changed_response_transform_file_changes_the_cache_key_and_names_the_reason():
    found, cache_key = _plan({"evals/parse.js": "module.exports = (json) => json.text + '!';\n"})
    assert list(found) == ["https://api.example.com/answer"]  # the other provider's cases are unaffected
    case = found["https://api.example.com/answer"]
    assert case.reasons == ("provider transformResponse changed",)
    assert cache_key(case.base, 0) != cache_key(case.head, 0)  # the cache cannot answer for the PR's code
    assert case.head.error is None  # a same-repo PR's code runs by default


def test_a_forks_changed_provider_transform_is_refused_at_the_providers_line():
    found, _ = _plan({"evals/promptfooconfig.yaml": PLAN_SUITE.replace("output.trim()", "output + 'x'")}, same_repo=False)
    case = found["openai:chat:gpt-4o-mini"]
    assert case.reasons == ("provider transform changed",)
    assert case.base.error is None
    assert case.head.error.message.startswith("refused: executes code from a fork's pull request (provider transform)")
    assert (case.head.error.file, case.head.error.line) == ("evals/promptfooconfig.yaml", 6)
