"""`prompt-review review` of a real git repository whose suite calls an Assistants API provider
(openai:assistant, azure:assistant) through the scripted model server: a prompt change that breaks the
assistant's answer is a regression, the vendor's host overridden the way the operator overrides it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from bot.modelserver.app import create_app as create_model_app
from bot.serving import start_in_thread

KEY = "scripted-key"
SETTINGS = "prompts:\n  include: ['prompts/**']\nsuites:\n  - evals/promptfooconfig.yaml\n"
SUITE = """description: greeting
prompts:
  - file://../prompts/greet.txt
providers:
  - id: {provider}
    config: {{instructions: Be brief., temperature: 0, tools: [{{type: file_search}}]}}
tests:
  - description: says the word
    vars: {{word: pong}}
    assert:
      - {{type: contains, value: '[Assistant] pong'}}
"""
CASES = {
    "openai": ("openai:assistant:asst_greeter", lambda url: {"OPENAI_BASE_URL": f"{url}/v1", "OPENAI_API_KEY": KEY}),
    "azure": ("azure:assistant:asst_greeter", lambda url: {"AZURE_OPENAI_BASE_URL": url, "AZURE_OPENAI_API_KEY": KEY}),
}


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "dave", "GIT_AUTHOR_EMAIL": "dave@example.com",
           "GIT_COMMITTER_NAME": "dave", "GIT_COMMITTER_EMAIL": "dave@example.com"}
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=env).stdout.strip()


@pytest.fixture(scope="module")
def model_url():
    with start_in_thread(create_model_app(api_key=KEY)) as server:
        yield server.url


@pytest.mark.parametrize("vendor", sorted(CASES))
def test_a_prompt_change_that_breaks_an_assistants_answer_is_a_regression(tmp_path, model_url, vendor):
    provider, env = CASES[vendor]
    repo = tmp_path / "greeter"
    (repo / ".github").mkdir(parents=True)
    (repo / "prompts").mkdir()
    (repo / "evals").mkdir()
    (repo / ".github" / "prompt-review.yml").write_text(SETTINGS)
    (repo / "evals" / "promptfooconfig.yaml").write_text(SUITE.format(provider=provider))
    (repo / "prompts" / "greet.txt").write_text('Please reply with "{{word}}"\n')
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    (repo / "prompts" / "greet.txt").write_text('Please reply with "ping"\n')
    git(repo, "commit", "-q", "-am", "say ping")
    before = httpx.get(f"{model_url}/_control/stats").json()["by_endpoint"]
    result = subprocess.run([sys.executable, "-m", "bot", "review", "HEAD~1..HEAD", "--repo", str(repo), "--format", "json", "--no-cache"],
                            capture_output=True, text=True, env={**os.environ, **env(model_url)}, timeout=300)
    assert result.returncode == 1, result.stdout + result.stderr
    data = json.loads(result.stdout)
    assert data["conclusion"] == "failure"
    cases = [c for s in data["evals"]["suites"] for c in s["cases"]]
    assert [(c["description"], c["status"]) for c in cases] == [("says the word", "regressed")], cases
    after = httpx.get(f"{model_url}/_control/stats").json()["by_endpoint"]
    runs = f"{vendor}.assistants.runs"
    assert after.get(runs, 0) - before.get(runs, 0) == 2  # base and head, each one run of the assistant
    assert after[f"{runs}.get"] - before.get(f"{runs}.get", 0) == 4  # each run looked at until it completed
