"""`prompt-review review` on a real git repository and `check-config` on a directory, as a CI user runs them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.modelserver.app import create_app as create_model_app
from bot.serving import start_in_thread

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "support-bot"


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "dave", "GIT_AUTHOR_EMAIL": "dave@example.com",
           "GIT_COMMITTER_NAME": "dave", "GIT_COMMITTER_EMAIL": "dave@example.com"}
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=env).stdout.strip()


@pytest.fixture(scope="module")
def model_url():
    with start_in_thread(create_model_app()) as server:
        yield server.url


@pytest.fixture
def repo(tmp_path) -> Path:
    root = tmp_path / "support-bot"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("pulls"))
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base")
    return root


def commit_overlay(repo: Path, name: str) -> None:
    src = EXAMPLE / "pulls" / name
    for path in src.rglob("*"):
        if path.is_file() and path.name != "pr.json":
            target = repo / path.relative_to(src)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, target)
    git(repo, "commit", "-q", "-am", name)


def review(repo: Path, model_url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "OPENAI_BASE_URL": model_url + "/v1", "OPENAI_API_KEY": "sk-test-not-real"}
    return subprocess.run([sys.executable, "-m", "bot", "review", "HEAD~1..HEAD", "--repo", str(repo), *args],
                          capture_output=True, text=True, env=env, timeout=300)


def test_friendlier_prompt_blocks_with_exit_1_and_names_the_regressed_cases(repo, model_url):
    commit_overlay(repo, "friendlier")
    status_before = git(repo, "status", "--porcelain")
    result = review(repo, model_url, "--format", "json", "--no-cache")
    assert result.returncode == 1, result.stderr
    data = json.loads(result.stdout)
    assert data["schema"] == "prompt-review/review@1" and data["conclusion"] == "failure"
    regressed = [c for s in data["evals"]["suites"] for c in s["cases"] if c["status"] == "regressed"]
    assert regressed and all(c["description"].startswith("refund_out_of_window") for c in regressed)
    removed = [ch for p in data["prompts"] for ch in p["semdiff"]["changes"] if ch["type"] == "instruction_removed"]
    assert any("Refunds are only possible within 30 days of delivery" in (ch["before"] or "") for ch in removed)
    assert git(repo, "status", "--porcelain") == status_before  # the work tree is untouched


def test_markdown_output_is_the_comment_and_the_second_run_is_served_from_cache(repo, model_url, tmp_path):
    import httpx

    commit_overlay(repo, "friendlier")
    cache = str(tmp_path / "cache")
    first = review(repo, model_url, "--cache-dir", cache, "--quiet")
    assert first.returncode == 1 and "regressed" in first.stdout
    before = httpx.get(model_url + "/_control/stats").json()["requests"]
    second = review(repo, model_url, "--cache-dir", cache, "--quiet")
    assert second.returncode == 1
    assert httpx.get(model_url + "/_control/stats").json()["requests"] == before


def test_whitespace_reflow_passes_with_exit_0_and_no_model_calls(repo, model_url):
    import httpx

    commit_overlay(repo, "reflow")
    before = httpx.get(model_url + "/_control/stats").json()["requests"]
    result = review(repo, model_url, "--format", "json", "--no-cache")
    assert result.returncode == 0, result.stdout + result.stderr
    assert httpx.get(model_url + "/_control/stats").json()["requests"] == before


def test_bad_suite_is_a_configuration_error_with_exit_2_and_file_line_on_stderr(repo, model_url):
    suite = repo / "evals" / "support" / "promptfooconfig.yaml"
    suite.write_text(suite.read_text() + "\nassertionTemplate: {}\n")  # a misspelt key
    (repo / "prompts" / "support" / "system.md").write_text("Be brief.\n")
    git(repo, "commit", "-q", "-am", "break the suite")
    result = review(repo, model_url, "--no-cache")
    assert result.returncode == 2
    assert "evals/support/promptfooconfig.yaml:" in result.stderr


def test_check_config_reports_file_and_line_and_exits_non_zero(repo):
    ok = subprocess.run([sys.executable, "-m", "bot", "check-config", str(repo)], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    (repo / ".github" / "prompt-review.yml").write_text("evals:\n  fail_on: sometimes\n")
    (repo / ".github" / "PROMPTOWNERS").write_text("/prompts/ @acme/eng\n!/prompts/x @bob\n")
    bad = subprocess.run([sys.executable, "-m", "bot", "check-config", str(repo)], capture_output=True, text=True)
    assert bad.returncode == 1
    assert ".github/prompt-review.yml:2" in bad.stderr
    assert ".github/PROMPTOWNERS:2" in bad.stderr


IGNORED = "ignored key 'x-team' (promptfoo ignores keys it does not define; so does prompt-review)"


def add_ignored_key(repo: Path) -> int:
    """Appends a top-level key promptfoo ignores to the support suite; its line."""
    suite = repo / "evals" / "support" / "promptfooconfig.yaml"
    text = suite.read_text().rstrip("\n") + "\n"
    suite.write_text(text + "x-team: {owner: support}\n")
    return text.count("\n") + 1


def test_check_config_prints_an_ignored_key_as_a_warning_and_exits_0(repo):
    line = add_ignored_key(repo)
    ok = subprocess.run([sys.executable, "-m", "bot", "check-config", str(repo)], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert f"warning: evals/support/promptfooconfig.yaml:{line}: {IGNORED}\n" in ok.stderr
    assert "ok: evals/support/promptfooconfig.yaml" in ok.stdout
    (repo / ".github" / "prompt-review.yml").write_text("evals:\n  fail_on: sometimes\n")
    bad = subprocess.run([sys.executable, "-m", "bot", "check-config", str(repo)], capture_output=True, text=True)
    assert bad.returncode == 1  # with an error too, both are printed
    assert f"warning: evals/support/promptfooconfig.yaml:{line}: {IGNORED}" in bad.stderr
    assert "error: .github/prompt-review.yml:2" in bad.stderr


def test_a_review_shows_an_ignored_key_as_a_notice_that_leaves_the_verdict_alone(repo, model_url):
    line = add_ignored_key(repo)
    commit_overlay(repo, "reflow")  # the suite change and a reflowed prompt in one commit: passes with exit 0
    where = f"evals/support/promptfooconfig.yaml:{line}"
    markdown = review(repo, model_url, "--no-cache", "--format", "markdown")
    assert markdown.returncode == 0, markdown.stdout + markdown.stderr
    assert f"prompt-review: warning: {where}: {IGNORED}" in markdown.stderr
    assert "> [!NOTE]\n> **Ignored suite keys**" in markdown.stdout and f"`{where}`: ignored key" in markdown.stdout
    assert "Eval suite errors" not in markdown.stdout
    text = review(repo, model_url, "--no-cache", "--format", "text")
    assert text.returncode == 0 and f"warning: {where}: {IGNORED}" in " ".join(text.stdout.split())  # wrapped to the width
    data = json.loads(review(repo, model_url, "--no-cache", "--format", "json").stdout)
    assert data["conclusion"] == "success" and data["evals"]["errors"] == []
    assert data["evals"]["warnings"] == [{"file": "evals/support/promptfooconfig.yaml", "message": IGNORED, "line": line, "field": None}]
