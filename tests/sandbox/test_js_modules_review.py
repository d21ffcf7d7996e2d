"""Suite code split over files, through a real review (`prompt-review review` on a git repository, the scripted model
server answering): a PR that edits only a helper an assertion requires re-runs the case, names the helper, and is
judged by the helper's new code; when the base config says `run_pr_code: never`, the changed helper is refused by name."""

from __future__ import annotations

from tests.sandbox.test_wired import CONFIG, PROMPT, cases, repo_with_pr, review

SUITE = """\
description: words
prompts:
  - file://../prompts/echo.txt
providers:
  - id: openai:chat:gpt-4o-mini
tests:
  - description: apple
    vars: {word: apple}
    assert:
      - type: javascript
        value: file://checks/grade.js
"""
GRADE = "import { same } from './lib/same';\nexport default (output, context) => same(output, context.vars.word);\n"
SAME = "module.exports.same = (a, b) => a.trim() === b;\n"
STRICTER = "module.exports.same = (a, b) => a.trim() === b.toUpperCase();\n"


def files(extra: str = "") -> dict[str, str]:
    return {".github/prompt-review.yml": CONFIG.format(extra=extra), "prompts/echo.txt": PROMPT,
            "evals/promptfooconfig.yaml": SUITE, "evals/checks/grade.js": GRADE, "evals/checks/lib/same.js": SAME}


def test_a_pr_editing_only_a_required_helper_reruns_the_case_and_names_the_helper(tmp_path, model_server):
    repo = repo_with_pr(tmp_path, files(), {"evals/checks/lib/same.js": STRICTER})
    code, report = review(repo, model_server.url)
    apple = cases(report)["apple"]
    assert apple["status"] == "regressed", apple
    assert apple["base"]["passed"] and not apple["head"]["passed"]
    assert "code helper evals/checks/lib/same.js changed (required by evals/checks/grade.js)" in apple["reasons"]
    assert code == 1


def test_a_changed_helper_is_refused_by_name_when_the_base_says_never(tmp_path, model_server):
    repo = repo_with_pr(tmp_path, files("  run_pr_code: never\n"), {"evals/checks/lib/same.js": STRICTER})
    code, report = review(repo, model_server.url)
    apple = cases(report)["apple"]
    assert apple["status"] == "error", apple
    assert ("refused: executes code from the PR (javascript assertion, which requires evals/checks/lib/same.js "
            "(changed by the PR))") in apple["head"]["error"]
    assert code == 3
