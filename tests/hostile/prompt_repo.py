"""A real git repository holding a PR's files, read through the same GitTree the CLI uses."""

from __future__ import annotations

import subprocess
from pathlib import Path

from bot.pipeline.trees import GitTree


def git_tree(root: Path, files: dict[str, str]) -> GitTree:
    for path, text in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    for args in (["init", "-q"], ["add", "-A"], ["-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "pr"]):
        subprocess.run(["git", "-C", str(root), *args], check=True)
    return GitTree(str(root), "HEAD")
