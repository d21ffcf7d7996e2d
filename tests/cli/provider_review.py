"""`prompt-review review` of a real git repository whose one suite calls the provider under test: a base commit
whose prompt asks for the test's word, and a head commit that asks for another, so the case regresses. Shared by
the end-to-end tests of the providers that are not plain HTTP chat (tests/cli/test_review_*_providers.py, …)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx

SETTINGS = "prompts:\n  include: ['prompts/**']\nsuites:\n  - evals/promptfooconfig.yaml\n"


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "dave", "GIT_AUTHOR_EMAIL": "dave@example.com",
           "GIT_COMMITTER_NAME": "dave", "GIT_COMMITTER_EMAIL": "dave@example.com"}
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=env).stdout.strip()


def review_a_breaking_prompt_change(repo: Path, suite: str, model_url: str, env: dict[str, str]) -> tuple[dict, dict, dict]:
    """(the review's JSON, the model server's request counts per endpoint before, after): the review must conclude
    failure with the suite's one case ("says the word") regressed."""
    (repo / ".github").mkdir(parents=True)
    (repo / "prompts").mkdir()
    (repo / "evals").mkdir()
    (repo / ".github" / "prompt-review.yml").write_text(SETTINGS)
    (repo / "evals" / "promptfooconfig.yaml").write_text(suite)
    (repo / "prompts" / "greet.txt").write_text('Please reply with "{{word}}"\n')
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    (repo / "prompts" / "greet.txt").write_text('Please reply with "ping"\n')
    git(repo, "commit", "-q", "-am", "say ping")
    before = httpx.get(f"{model_url}/_control/stats").json()["by_endpoint"]
    result = subprocess.run([sys.executable, "-m", "bot", "review", "HEAD~1..HEAD", "--repo", str(repo), "--format", "json", "--no-cache"],
                            capture_output=True, text=True, env={**os.environ, **env}, timeout=300)
    assert result.returncode == 1, result.stdout + result.stderr
    data = json.loads(result.stdout)
    assert data["conclusion"] == "failure"
    cases = [c for s in data["evals"]["suites"] for c in s["cases"]]
    assert [(c["description"], c["status"]) for c in cases] == [("says the word", "regressed")], cases
    after = httpx.get(f"{model_url}/_control/stats").json()["by_endpoint"]
    return data, before, after
