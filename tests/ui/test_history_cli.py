"""`prompt-review history PATH`: from a local git checkout and from the service."""

from __future__ import annotations

import json
import shutil
import subprocess

from bot.cli import main
from tests.service.test_end_to_end import EXAMPLE, overlay
from tests.ui.conftest import REPO, SYSTEM

BEFORE = "---\nmodel: gpt-4o\n---\nYou are a support bot.\nNever promise refunds after 30 days.\n"
AFTER = "---\nmodel: gpt-4o-mini\n---\nYou are a friendly support bot.\nAvoid promising refunds after 60 days.\n"


def _git(repo, *args):
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=Dana", "-c", "user.email=d@example.com", *args],
                   check=True, capture_output=True)


def _repo(tmp_path):
    repo = tmp_path / "repo"
    (repo / "prompts").mkdir(parents=True)
    _git(repo, "init", "-q")
    (repo / "prompts" / "support.prompt").write_text(BEFORE)
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "Add the support prompt")
    (repo / "prompts" / "support.prompt").write_text(AFTER)
    _git(repo, "commit", "-qam", "Friendlier tone (#7)")
    return repo


def test_history_from_a_checkout_lists_each_version_with_its_semantic_changes_and_the_model_change(tmp_path, capsys):
    repo = _repo(tmp_path)
    assert main(["history", "prompts/support.prompt", "--repo-dir", str(repo)]) == 0
    out = capsys.readouterr().out
    assert "Add the support prompt" in out and "Friendlier tone (#7)" in out
    assert "number changed: 30 days → 60 days" in out and '"never" → "avoid"' in out
    assert "model gpt-4o → gpt-4o-mini" in out


def test_history_json_from_a_checkout_is_the_typed_timeline(tmp_path, capsys):
    repo = _repo(tmp_path)
    assert main(["history", "prompts/support.prompt", "--repo-dir", str(repo), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["source"] == "git" and [e["kind"] for e in doc["events"]] == ["version", "version", "model"]
    assert doc["events"][1]["pr"] == 7


def test_history_of_a_path_git_does_not_know_says_so(tmp_path, capsys):
    repo = _repo(tmp_path)
    assert main(["history", "prompts/nope.md", "--repo-dir", str(repo)]) == 2
    assert "has no history" in capsys.readouterr().err


def test_history_from_the_service_shows_reviews_versions_and_deployments(history, capsys, monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", history.stack.sim.user_token("erin"))
    assert main(["history", SYSTEM, "--repo", REPO, "--server", history.url]) == 0
    out = capsys.readouterr().out
    assert "merged from #1" in out and "merged from #2" in out and "staging →" in out and "review of #2" in out
    assert "rollout #1 of canary (running): " in out and " 10%, " in out and " 90% — step 1 of 3" in out
    assert "reached 10% of canary (rollout #1 started;" in out


def test_history_from_the_service_hides_repositories_the_person_cannot_read(history, capsys, monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", history.stack.sim.user_token("mallory"))
    assert main(["history", SYSTEM, "--repo", REPO, "--server", history.url]) == 2
    assert "404" in capsys.readouterr().err


def test_history_from_a_checkout_shows_what_the_review_cache_knows_of_each_version(tmp_path, capsys, monkeypatch,
                                                                                   model_server):
    repo = tmp_path / "support-bot"
    shutil.copytree(EXAMPLE, repo, ignore=shutil.ignore_patterns("pulls"))
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "Support bot")
    for path, content in overlay("friendlier").items():
        (repo / path).write_bytes(content)
    _git(repo, "commit", "-qam", "Friendlier tone (#2)")
    cache = tmp_path / "cache"
    monkeypatch.setenv("OPENAI_BASE_URL", model_server.url + "/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-real")
    assert main(["review", "HEAD~1..HEAD", "--repo", str(repo), "--cache-dir", str(cache), "--quiet",
                 "--format", "json"]) == 1  # the friendlier prompt regresses 41 refund cases
    capsys.readouterr()

    assert main(["history", SYSTEM, "--repo-dir", str(repo), "--cache-dir", str(cache)]) == 0
    out = capsys.readouterr().out
    suite = "evals/support/promptfooconfig.yaml"
    assert f"review cache: {suite}: 300 of 300 cached cases pass" in out  # the base version
    assert f"review cache: {suite}: 259 of 300 cached cases pass" in out  # the friendlier one
    assert main(["history", SYSTEM, "--repo-dir", str(repo), "--cache-dir", str(cache), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [round(s["pass_rate"], 3) for s in doc["scores"]] == [1.0, round(259 / 300, 3)]

    assert main(["history", SYSTEM, "--repo-dir", str(repo), "--cache-dir", str(tmp_path / "empty")]) == 0
    assert "review cache" not in capsys.readouterr().out  # no cache: only what git knows
