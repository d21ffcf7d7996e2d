"""`prompt-review review` of a real git repository whose suite calls a streaming WebSocket provider
(openai:realtime, google:live), through the scripted model server: a prompt change that breaks the answer
is a regression, with the vendor's host overridden the way the operator overrides it for that vendor."""

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
  - {provider}
tests:
  - description: says the word
    vars: {{word: pong}}
    assert:
      - {assertion}
"""
CASES = {
    # the Realtime API's answer is the text; the Live API's is promptfoo's JSON {text, toolCall}
    "realtime": ("id: openai:realtime:gpt-realtime\n    config: {modalities: [text, audio], instructions: Be brief., websocketTimeout: 20000}",
                 "{type: equals, value: pong}", lambda url: {"OPENAI_BASE_URL": f"{url}/v1", "OPENAI_API_KEY": KEY}),
    "live": ("id: google:live:gemini-2.0-flash-exp\n    config: {generationConfig: {response_modalities: [text]}, timeoutMs: 20000}",
             "{type: equals, value: pong, transform: output.text}", lambda url: {"GEMINI_BASE_URL": url, "GEMINI_API_KEY": KEY}),
}


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "dave", "GIT_AUTHOR_EMAIL": "dave@example.com",
           "GIT_COMMITTER_NAME": "dave", "GIT_COMMITTER_EMAIL": "dave@example.com"}
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=env).stdout.strip()


@pytest.fixture(scope="module")
def model_url():
    with start_in_thread(create_model_app(api_key=KEY)) as server:
        yield server.url


@pytest.mark.parametrize("api", sorted(CASES))
def test_a_prompt_change_that_breaks_a_live_providers_answer_is_a_regression(tmp_path, model_url, api):
    provider, assertion, env = CASES[api]
    repo = tmp_path / "greeter"
    (repo / ".github").mkdir(parents=True)
    (repo / "prompts").mkdir()
    (repo / "evals").mkdir()
    (repo / ".github" / "prompt-review.yml").write_text(SETTINGS)
    (repo / "evals" / "promptfooconfig.yaml").write_text(SUITE.format(provider=provider, assertion=assertion))
    (repo / "prompts" / "greet.txt").write_text('Please reply with "{{word}}"\n')
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    (repo / "prompts" / "greet.txt").write_text('Please reply with "ping"\n')
    git(repo, "commit", "-q", "-am", "say ping")
    before = httpx.get(f"{model_url}/_control/stats").json()
    result = subprocess.run([sys.executable, "-m", "bot", "review", "HEAD~1..HEAD", "--repo", str(repo), "--format", "json", "--no-cache"],
                            capture_output=True, text=True, env={**os.environ, **env(model_url)}, timeout=300)
    assert result.returncode == 1, result.stdout + result.stderr
    data = json.loads(result.stdout)
    assert data["conclusion"] == "failure"
    cases = [c for s in data["evals"]["suites"] for c in s["cases"]]
    assert [(c["description"], c["status"]) for c in cases] == [("says the word", "regressed")], cases
    after = httpx.get(f"{model_url}/_control/stats").json()["by_endpoint"]
    assert after.get(api, 0) - before["by_endpoint"].get(api, 0) == 2  # base and head, over the vendor's WebSocket protocol
