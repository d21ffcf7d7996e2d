"""A newcomer's first ten minutes, tried as they would: the version, help, a range that does not
resolve, the service started without settings, and what `serve` leaves in the working directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.settings import DEFAULT_DATABASE_URL

REPO = Path(__file__).resolve().parents[2]


def prompt_review(*args: str, cwd: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True, text=True, cwd=cwd,
                          env=env if env is not None else os.environ, timeout=120)


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "dave", "GIT_AUTHOR_EMAIL": "dave@example.com",
           "GIT_COMMITTER_NAME": "dave", "GIT_COMMITTER_EMAIL": "dave@example.com"}
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=env).stdout


@pytest.fixture
def repo(tmp_path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "prompt.txt").write_text("Be brief.\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "one")
    git(root, "checkout", "-q", "-b", "kinder")
    (root / "prompt.txt").write_text("Be brief and kind.\n")
    git(root, "commit", "-q", "-am", "two")
    return root


def test_version_prints_the_installed_version():
    from bot import __version__

    result = prompt_review("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"prompt-review {__version__}"


def test_review_help_explains_the_range_the_formats_and_the_exit_codes():
    text = prompt_review("review", "--help").stdout
    assert "BASE..HEAD" in text and "main..HEAD" in text and "BASE...HEAD" in text
    assert "--format" in text and "json" in text and "markdown" in text
    for status, meaning in (("0", "nothing blocks"), ("1", "a blocking verdict"), ("2", "a configuration error"),
                            ("3", "could not check")):
        assert f"  {status}  {meaning}" in text, (status, text)
    assert "--post" in text and "--pr" in text


def test_a_range_naming_a_remote_the_clone_does_not_have_says_what_to_type_instead(repo):
    result = prompt_review("review", "origin/main..HEAD", "--repo", str(repo), "--no-cache")
    assert result.returncode == 2
    assert "Needed a single revision" not in result.stderr
    assert "no remote 'origin'" in result.stderr and "prompt-review review main..HEAD" in result.stderr
    assert "git remote add origin" in result.stderr


def test_a_remote_branch_that_was_not_fetched_and_a_missing_commit_say_how_to_fetch_them(repo, tmp_path):
    git(repo, "remote", "add", "origin", str(tmp_path / "nowhere"))
    unfetched = prompt_review("review", "origin/main..HEAD", "--repo", str(repo), "--no-cache")
    assert unfetched.returncode == 2 and "git fetch origin main" in unfetched.stderr
    missing = prompt_review("review", "0123456789abcdef0123456789abcdef01234567..HEAD", "--repo", str(repo), "--no-cache")
    assert missing.returncode == 2 and "not in this clone" in missing.stderr and "fetch-depth: 0" in missing.stderr
    nowhere = prompt_review("review", "main..HEAD", "--repo", str(tmp_path))
    assert nowhere.returncode == 2 and "not a git repository" in nowhere.stderr


def test_review_without_a_range_says_how_to_name_one(repo):
    result = prompt_review("review", "--repo", str(repo))
    assert result.returncode == 2 and "prompt-review review main..HEAD" in result.stderr


def _bare_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROMPT_REVIEW_")}
    env.update({"PROMPT_REVIEW_CREDENTIALS_PATH": str(tmp_path / "none.env"),
                "PROMPT_REVIEW_DATABASE_URL": f"sqlite:///{tmp_path / 'service.db'}", **extra})
    return env


@pytest.mark.parametrize("verb, extra, variable", [
    ("worker", {}, "PROMPT_REVIEW_APP_ID"),
    ("web", {}, "PROMPT_REVIEW_WEBHOOK_SECRET"),
    ("serve", {"PROMPT_REVIEW_APP_ID": "1"}, "PROMPT_REVIEW_WEBHOOK_SECRET"),
    ("web", {"PROMPT_REVIEW_APP_ID": "1", "PROMPT_REVIEW_WEBHOOK_SECRET": "s3cret-value",
             "PROMPT_REVIEW_PRIVATE_KEY": "not a key"}, "PROMPT_REVIEW_PRIVATE_KEY"),
])
def test_start_up_errors_name_the_variable_and_point_to_setup_for_every_verb(tmp_path, verb, extra, variable):
    result = prompt_review(verb, "--port", "1", cwd=tmp_path, env=_bare_env(tmp_path, **extra)) if verb != "worker" \
        else prompt_review(verb, cwd=tmp_path, env=_bare_env(tmp_path, **extra))
    assert result.returncode == 2, result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith(f"prompt-review {verb}: configuration error:") and variable in line
    assert "/setup" in line and "prompt-review serve" in line


def test_the_sqlite_files_serve_leaves_behind_are_ignored_by_git():
    database = DEFAULT_DATABASE_URL.removeprefix("sqlite:///")
    names = [database] + [database + suffix for suffix in ("-wal", "-shm", "-journal")]
    ignored = subprocess.run(["git", "-C", str(REPO), "check-ignore", "--no-index", *names],
                             capture_output=True, text=True).stdout.split()
    assert ignored == names
