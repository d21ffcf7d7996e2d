"""A provider written in JavaScript through a real review: `prompt-review review` on a git repository, the provider
calling the OpenAI chat API through promptfoo's fetchWithCache, answered by the scripted model server (which
checks the key: the bridge put the real credential where the code had only its placeholder)."""

from __future__ import annotations

import pytest

from bot.modelserver import create_app
from bot.serving import start_in_thread
from tests.reliability.common import model_env
from tests.sandbox.test_code_providers import CHAT_PROVIDER
from tests.sandbox.test_wired import CONFIG, cases, repo_with_pr, review

SUITE = """\
description: words
prompts:
  - file://../prompts/echo.txt
providers:
  - id: file://chatProvider.js
    label: custom
    config: {model: gpt-4o-mini}
tests:
  - description: apple
    vars: {word: apple}
    assert:
      - type: equals
        value: apple
"""


@pytest.fixture(scope="module")
def keyed_server():
    key = model_env("http://unused")["OPENAI_API_KEY"]
    running = start_in_thread(create_app(api_key=key))
    yield running
    running.stop()


def files(extra_config: str = "", provider: str = CHAT_PROVIDER) -> dict[str, str]:
    return {".github/prompt-review.yml": CONFIG.format(extra=extra_config), "prompts/echo.txt": 'Reply with "{{word}}"\n',
            "evals/promptfooconfig.yaml": SUITE, "evals/chatProvider.js": provider}


def test_a_javascript_provider_in_a_reviewed_repo_calls_the_chat_api_and_its_change_is_judged(tmp_path, keyed_server):
    # the PR edits the provider: a suffix on every answer; the base's provider passes, the head's fails
    changed = CHAT_PROVIDER.replace("(this.config.suffix || '')", "'!'")
    repo = repo_with_pr(tmp_path, files(), {"evals/chatProvider.js": changed})
    code, report = review(repo, keyed_server.url)
    apple = cases(report)["apple"]
    assert apple["status"] == "regressed", apple
    assert (apple["base"]["output"], apple["head"]["output"]) == ("apple", "apple!")
    assert "provider code changed" in apple["reasons"]
    assert code == 1


def test_a_pr_changed_provider_is_refused_when_the_base_says_never(tmp_path, keyed_server):
    changed = CHAT_PROVIDER.replace("(this.config.suffix || '')", "'!'")
    repo = repo_with_pr(tmp_path, files("  run_pr_code: never\n"), {"evals/chatProvider.js": changed})
    code, report = review(repo, keyed_server.url)
    apple = cases(report)["apple"]
    assert apple["status"] == "error" and apple["base"]["passed"], apple
    assert apple["head"]["error"].startswith("evals/promptfooconfig.yaml:5: refused: executes code from the PR (provider code)")
    assert "evals.run_pr_code: never" in apple["head"]["error"]
    assert code == 3
