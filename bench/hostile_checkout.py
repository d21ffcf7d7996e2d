"""Hostile content aimed at the reviewer's own machine: reading outside the checkout through
symlinks, and signed webhook bodies the parser cannot take. Run through bench/hostile.py."""

from __future__ import annotations

import asyncio
import os
import subprocess
import tempfile
from pathlib import Path

from bot.checkconfig import check_tree
from bot.evals.loader import load_suite
from bot.github.signature import sign
from bot.pipeline.trees import DirTree, GitTree
from bot.service.metrics import Metrics
from bot.service.web import WebhookIntake
from bot.settings import Settings

SUITE = "prompts:\n  - file://{ref}\nproviders:\n  - openai:chat:gpt-4o-mini\ntests:\n  - vars: {{name: Ann}}\n"
CONFIG = "suites:\n  - evals/suite.yaml\n"


def _checkout(ref: str) -> Path:
    root = Path(tempfile.mkdtemp(prefix="hostile-"))
    (root / "secret.txt").write_text("ghp_SECRET\n")
    (root / "outside").mkdir()
    (root / "outside" / "p.txt").write_text("ghp_SECRET\n")
    repo = root / "repo"
    (repo / ".github").mkdir(parents=True)
    (repo / "evals").mkdir()
    (repo / ".github" / "prompt-review.yml").write_text(CONFIG)
    (repo / "evals" / "suite.yaml").write_text(SUITE.format(ref=ref))
    return repo


def _check_config(repo: Path) -> str | None:
    errors, _ = check_tree(DirTree(str(repo)))
    text = "; ".join(str(e) for e in errors)
    return text if errors and "ghp_SECRET" not in text else None


def symlinked_prompt() -> str | None:
    repo = _checkout("leak.txt")
    (repo / "evals" / "leak.txt").symlink_to("../../secret.txt")
    return _check_config(repo)


def symlinked_directory() -> str | None:
    repo = _checkout("shared/p.txt")
    (repo / "evals" / "shared").symlink_to(repo.parent / "outside", target_is_directory=True)
    return _check_config(repo)


def git_config_in_checkout() -> str | None:
    repo = _checkout("../.git/config")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run(["git", "-C", str(repo), "config", "http.extraheader", "AUTHORIZATION: basic ghp_SECRET"], check=True)
    return _check_config(repo)


def committed_symlink_chain() -> str | None:
    """1,000 committed symlinks chained a→b→…, the last leaving the tree: refused after 40 hops."""
    repo = _checkout("../links/l0.txt")
    links = repo / "links"
    links.mkdir()
    for i in range(1000):
        (links / f"l{i}.txt").symlink_to(f"l{i + 1}.txt" if i < 999 else "../../secret.txt")
    env = {**os.environ, "GIT_AUTHOR_NAME": "e", "GIT_AUTHOR_EMAIL": "e@x", "GIT_COMMITTER_NAME": "e", "GIT_COMMITTER_EMAIL": "e@x"}
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "links"]):
        subprocess.run(["git", "-C", str(repo), *args], check=True, env=env)
    _suite, errors = load_suite(GitTree(str(repo), "HEAD"), "evals/suite.yaml")
    return "; ".join(str(e) for e in errors) or None


def _webhook(body: bytes) -> str | None:
    intake = WebhookIntake(Settings(webhook_secret="s"), writer=None, metrics=Metrics())  # refused before storing
    headers = {b"x-github-event": b"pull_request", b"x-github-delivery": b"d-1", b"x-hub-signature-256": sign("s", body).encode()}
    sent = False

    async def receive():
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    status, answer = asyncio.run(intake.handle(headers, receive))
    return f"{status} {answer['error']}" if status == 400 else None


CASES = [
    ("symlink: prompt → outside the checkout", symlinked_prompt),
    ("symlink: directory → outside the checkout", symlinked_directory),
    ("checkout: file://../.git/config", git_config_in_checkout),
    ("symlink: 1,000-link chain in a git tree", committed_symlink_chain),
    ("webhook: 1 M nested '['", lambda: _webhook(b"[" * 1_000_000)),
    ("webhook: NaN in a signed delivery", lambda: _webhook(b'{"action": NaN}')),
    ("webhook: 1 M-digit integer", lambda: _webhook(b'{"n": ' + b"9" * 1_000_000 + b"}")),
    ("webhook: invalid UTF-8", lambda: _webhook(b'{"zen": "\xff"}')),
]
