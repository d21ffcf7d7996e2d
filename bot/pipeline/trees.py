"""FileTree implementations over the GitHub API and over a local git repository."""

from __future__ import annotations

import subprocess
import threading

from bot.core.files import normalize
from bot.github.client import InstallationClient


class GitHubTree:
    """Files of one commit, listed with one recursive tree call and read blob by blob on demand.

    Blobs are cached by their SHA in a dict shared between the base and head trees, so a file
    unchanged by the PR is fetched once.
    """

    def __init__(self, client: InstallationClient, repo: str, sha: str, blob_cache: dict[str, bytes]):
        self._client, self._repo, self._sha = client, repo, sha
        self._blobs = blob_cache
        self._entries: dict[str, tuple[str, int]] | None = None
        self._lock = threading.Lock()

    def _listing(self) -> dict[str, tuple[str, int]]:
        with self._lock:
            if self._entries is None:
                self._entries = self._client.tree(self._repo, self._sha)
            return self._entries

    def paths(self) -> list[str]:
        return sorted(self._listing())

    def size(self, path: str) -> int | None:
        entry = self._listing().get(normalize(path))
        return entry[1] if entry else None

    def read(self, path: str) -> bytes | None:
        entry = self._listing().get(normalize(path))
        if entry is None:
            return None
        sha = entry[0]
        if sha not in self._blobs:
            self._blobs[sha] = self._client.blob(self._repo, sha)
        return self._blobs[sha]


class GitError(Exception):
    pass


def git(repo: str, *args: str, binary: bool = False) -> bytes | str:
    result = subprocess.run(["git", "-C", repo, *args], capture_output=True, check=False)
    if result.returncode != 0:
        raise GitError(result.stderr.decode(errors="replace").strip() or f"git {' '.join(args)} failed")
    return result.stdout if binary else result.stdout.decode()


class GitTree:
    """Files of one revision of a local repository, read with `git` without touching the work tree."""

    def __init__(self, repo: str, rev: str):
        self.repo = repo
        self.sha = str(git(repo, "rev-parse", "--verify", f"{rev}^{{commit}}")).strip()
        self._paths: list[str] | None = None
        self._cache: dict[str, bytes | None] = {}

    def paths(self) -> list[str]:
        if self._paths is None:
            out = git(self.repo, "ls-tree", "-r", "-z", "--name-only", self.sha, binary=True)
            self._paths = sorted(p.decode() for p in out.split(b"\0") if p)  # type: ignore[union-attr]
        return self._paths

    def read(self, path: str) -> bytes | None:
        path = normalize(path)
        if path not in self._cache:
            if path not in set(self.paths()):
                self._cache[path] = None
            else:
                self._cache[path] = git(self.repo, "show", f"{self.sha}:{path}", binary=True)  # type: ignore[assignment]
        return self._cache[path]


def git_changed_files(repo: str, base: str, head: str) -> list[tuple[str, str, str | None]]:
    """(path, status, previous_path) between two revisions, renames detected like GitHub does."""
    out = str(git(repo, "diff", "--name-status", "-M", "-z", f"{base}", f"{head}"))
    fields = out.split("\0")
    changed, i = [], 0
    statuses = {"A": "added", "M": "modified", "D": "removed", "T": "modified", "C": "added"}
    while i < len(fields) and fields[i]:
        code = fields[i]
        if code.startswith("R"):
            changed.append((fields[i + 2], "renamed", fields[i + 1]))
            i += 3
        elif code.startswith("C"):
            changed.append((fields[i + 2], "added", None))
            i += 3
        else:
            changed.append((fields[i + 1], statuses.get(code[0], "modified"), None))
            i += 2
    return changed


class DirTree:
    """Files of a directory on disk (the working tree, as `check-config` sees it)."""

    _SKIP = {".git", "node_modules", ".venv", "__pycache__", ".prompt-review"}

    def __init__(self, root: str):
        import os

        self.root = os.path.abspath(root)
        self._paths: list[str] | None = None

    def paths(self) -> list[str]:
        import os

        if self._paths is None:
            found = []
            for dirpath, dirnames, filenames in os.walk(self.root):
                dirnames[:] = [d for d in dirnames if d not in self._SKIP]
                rel = os.path.relpath(dirpath, self.root)
                for name in filenames:
                    found.append(normalize(name if rel == "." else f"{rel}/{name}"))
            self._paths = sorted(found)
        return self._paths

    def read(self, path: str) -> bytes | None:
        import os

        path = normalize(path)
        full = os.path.join(self.root, path)
        if not os.path.isfile(full) or not os.path.abspath(full).startswith(self.root + os.sep):
            return None
        with open(full, "rb") as handle:
            return handle.read()
