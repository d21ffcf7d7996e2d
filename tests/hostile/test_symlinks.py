"""A pull request cannot make the reviewer read outside its checkout: symlinks (on disk, in a git
tree, in a GitHub tree) are followed only inside the repository, and a file reached otherwise reads
as absent — the suite line naming it gets an error, and the outside file's content goes nowhere."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bot.evals.loader import load_suite
from bot.github.client import GitHubApp
from bot.pipeline.trees import GitHubTree, GitTree
from bot.simulator import Simulator, start
from bot.simulator.gitobjects import Symlink

SECRET = "ghp_TOPSECRETTOKEN0123456789"
CONFIG = 'prompts:\n  include: ["prompts/**"]\nsuites:\n  - evals/suite.yaml\n'
SUITE = """\
prompts:
  - file://{prompt}
providers:
  - openai:chat:gpt-4o-mini
tests:
  - vars: {{name: Ann}}
    assert: [{{type: icontains, value: hello}}]
"""


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "eve", "GIT_AUTHOR_EMAIL": "eve@example.com",
           "GIT_COMMITTER_NAME": "eve", "GIT_COMMITTER_EMAIL": "eve@example.com"}
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=env).stdout


def checkout(tmp_path: Path, prompt_ref: str) -> Path:
    """A checkout at tmp_path/repo whose suite renders `prompt_ref`, with a secret beside it (outside)."""
    (tmp_path / "secret.txt").write_text(SECRET + "\n")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "greet.txt").write_text(SECRET + "\n")
    repo = tmp_path / "repo"
    for path, text in {".github/prompt-review.yml": CONFIG, "evals/suite.yaml": SUITE.format(prompt=prompt_ref),
                       "prompts/real.txt": "Say hello to {{name}}.\n"}.items():
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text(text)
    return repo


def check_config(repo: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot", "check-config", str(repo)], capture_output=True, text=True, timeout=120)


def test_check_config_does_not_follow_a_prompt_symlink_out_of_the_checkout(tmp_path):
    repo = checkout(tmp_path, "leak.txt")
    (repo / "evals" / "leak.txt").symlink_to("../../secret.txt")
    result = check_config(repo)
    assert result.returncode == 1
    assert "evals/suite.yaml:2 (prompts.0): file 'leak.txt' not found" in result.stderr
    assert SECRET not in result.stdout + result.stderr


def test_check_config_does_not_enter_a_symlinked_directory_out_of_the_checkout(tmp_path):
    repo = checkout(tmp_path, "shared/greet.txt")
    (repo / "evals" / "shared").symlink_to(tmp_path / "outside", target_is_directory=True)
    result = check_config(repo)
    assert result.returncode == 1
    assert "evals/suite.yaml:2 (prompts.0): file 'shared/greet.txt' not found" in result.stderr
    assert SECRET not in result.stdout + result.stderr


def test_check_config_does_not_read_the_checkouts_git_directory(tmp_path):
    # CI checkouts keep the clone token in .git/config (actions/checkout's persist-credentials).
    repo = checkout(tmp_path, "../.git/config")
    git(repo, "init", "-q")
    git(repo, "config", "http.extraheader", f"AUTHORIZATION: basic {SECRET}")
    result = check_config(repo)
    assert result.returncode == 1
    assert "file '../.git/config' not found" in result.stderr
    assert SECRET not in result.stdout + result.stderr


def test_check_config_follows_a_symlink_that_stays_inside(tmp_path):
    repo = checkout(tmp_path, "../prompts/current.txt")
    (repo / "prompts" / "current.txt").symlink_to("real.txt")
    result = check_config(repo)
    assert result.returncode == 0, result.stderr


def committed_repo(tmp_path: Path) -> Path:
    """A real git repository whose tree holds symlinks of every kind (blobs of mode 120000)."""
    (tmp_path / "secret.txt").write_text(SECRET + "\n")
    repo = tmp_path / "repo"
    (repo / "prompts" / "v2").mkdir(parents=True)
    (repo / "prompts" / "v2" / "greet.txt").write_text("Say hello to {{name}}.\n")
    links = {
        "prompts/current.txt": "v2/greet.txt",  # inside: followed in the tree
        "prompts/latest": "v2",  # a directory inside
        "prompts/up.txt": "../../secret.txt",  # relative, leaving the repository
        "prompts/abs.txt": str(tmp_path / "secret.txt"),  # absolute
        "prompts/loop.txt": "loop.txt",
    }
    for path, target in links.items():
        (repo / path).symlink_to(target)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "links")
    assert "120000" in git(repo, "ls-tree", "HEAD", "prompts/up.txt")
    return repo


def test_review_reads_a_committed_symlink_inside_the_tree_never_through_the_filesystem(tmp_path):
    tree = GitTree(str(committed_repo(tmp_path)), "HEAD")
    assert tree.read("prompts/current.txt") == b"Say hello to {{name}}.\n"  # not the link's text "v2/greet.txt"
    assert tree.read("prompts/latest/greet.txt") == b"Say hello to {{name}}.\n"
    for refused in ("prompts/up.txt", "prompts/abs.txt", "prompts/loop.txt"):
        assert tree.read(refused) is None, refused
    assert tree.paths() == ["prompts/v2/greet.txt"]  # a glob matches regular files only


def test_a_suite_naming_a_committed_symlink_out_of_the_tree_gets_an_error_on_its_line(tmp_path):
    repo = committed_repo(tmp_path)
    (repo / "evals").mkdir()
    (repo / "evals" / "suite.yaml").write_text(SUITE.format(prompt="../prompts/up.txt"))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "suite")
    suite, errors = load_suite(GitTree(str(repo), "HEAD"), "evals/suite.yaml")
    assert suite is None
    assert [str(e) for e in errors] == [
        "evals/suite.yaml:2 (prompts.0): file '../prompts/up.txt' not found (looked for prompts/up.txt)"]


def test_service_tree_treats_mode_120000_entries_as_symlinks(tmp_path):
    sim = Simulator(webhook_url=None, webhook_secret="s", app_id=1)
    server = start(sim)
    try:
        sim.create_org("acme")
        repo = sim.create_repo("acme", "links", {
            "prompts/v2/greet.txt": "Say hello to {{name}}.\n",
            "prompts/current.txt": Symlink("v2/greet.txt"),
            "prompts/latest": Symlink("v2"),
            "prompts/up.txt": Symlink("../../etc/passwd"),
            "prompts/abs.txt": Symlink("/etc/passwd"),
        })
        installation = sim.install("acme")
        client = GitHubApp(1, sim.private_key_pem.decode(), server.url).installation(installation)
        tree = GitHubTree(client, repo.full_name, repo.branches["main"], {})
        assert tree.read("prompts/current.txt") == b"Say hello to {{name}}.\n"
        assert tree.read("prompts/latest/greet.txt") == b"Say hello to {{name}}.\n"
        assert tree.read("prompts/up.txt") is None and tree.read("prompts/abs.txt") is None
        assert tree.paths() == ["prompts/v2/greet.txt"]
    finally:
        server.stop()


def test_simulator_stores_a_directorys_symlink_as_a_symlink_not_its_target(tmp_path):
    (tmp_path / "secret.txt").write_text(SECRET + "\n")
    root = tmp_path / "repo"
    root.mkdir()
    (root / "leak.txt").symlink_to(tmp_path / "secret.txt")
    sim = Simulator(webhook_url=None, webhook_secret="s", app_id=1)
    sim.create_org("acme")
    repo = sim.create_repo_from_dir("acme", "fromdir", root)
    assert sim.file(repo.full_name, "main", "leak.txt") == str(tmp_path / "secret.txt").encode()


def test_check_config_reads_a_committed_node_modules_file_but_not_one_linking_out_of_the_checkout(tmp_path):
    from bot.pipeline.trees import DirTree

    (tmp_path / "node_modules/pkg").mkdir(parents=True)
    (tmp_path / "node_modules/pkg/index.js").write_text("module.exports = 1;\n")
    os.symlink("/etc/passwd", tmp_path / "node_modules/pkg/secret.js")
    (tmp_path / "node_modules/other").mkdir()
    (tmp_path / "node_modules/other/index.js").write_text("installed, not committed\n")
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "-f", "node_modules/pkg")
    tree = DirTree.of_checkout(str(tmp_path))
    assert tree.read("node_modules/pkg/index.js") == b"module.exports = 1;\n"
    assert tree.read("node_modules/pkg/secret.js") is None and tree.read("node_modules/other/index.js") is None
    assert [p for p in tree.paths() if "node_modules" in p] == ["node_modules/pkg/index.js"]
