"""FileTree implementations over the GitHub API and over a local git repository."""

from __future__ import annotations

import subprocess
import threading

from bot.core.files import normalize
from bot.core.result import ChangedFile
from bot.github.client import InstallationClient


class GitHubTree:
    """Files of one commit, listed with one recursive tree call and read blob by blob on demand.

    Blobs are cached by their SHA in a dict shared between the base and head trees, so a file
    unchanged by the PR is fetched once. GitHub cuts a recursive listing at 100,000 entries or
    7 MB and says so with `truncated`; then paths past the cut are read through the contents API.
    """

    def __init__(self, client: InstallationClient, repo: str, sha: str, blob_cache: dict[str, bytes]):
        self._client, self._repo, self._sha = client, repo, sha
        self._blobs = blob_cache
        self._entries: dict[str, tuple[str, int]] | None = None
        self._truncated = False
        self._lock = threading.Lock()

    def _listing(self) -> dict[str, tuple[str, int]]:
        with self._lock:
            if self._entries is None:
                self._entries, self._truncated = fetch_tree(self._client, self._repo, self._sha)
            return self._entries

    @property
    def truncated(self) -> bool:
        """True when GitHub's recursive listing of this commit was cut short (paths() is incomplete)."""
        self._listing()
        return self._truncated

    def blob_shas(self) -> dict[str, str]:
        """path → blob SHA of every listed file: equal SHAs on two commits mean an unchanged file."""
        return {path: entry[0] for path, entry in self._listing().items()}

    def paths(self) -> list[str]:
        return sorted(self._listing())

    def size(self, path: str) -> int | None:
        entry = self._listing().get(normalize(path))
        return entry[1] if entry else None

    def read(self, path: str) -> bytes | None:
        path = normalize(path)
        entry = self._listing().get(path)
        if entry is None:
            return self._client.file(self._repo, path, self._sha) if self._truncated else None
        sha = entry[0]
        if sha not in self._blobs:
            self._blobs[sha] = self._client.blob(self._repo, sha)
        return self._blobs[sha]


def fetch_tree(client: InstallationClient, repo: str, sha: str) -> tuple[dict[str, tuple[str, int]], bool]:
    """(path → (blob sha, size), truncated) for every file at the commit, in one recursive call."""
    # InstallationClient.tree() drops GitHub's `truncated` flag, and whether a listing is complete
    # decides whether changed files can be derived from it; so the call is made here.
    data = client._call("GET", f"/repos/{repo}/git/trees/{sha}", params={"recursive": "1"}).json()
    entries = {e["path"]: (e["sha"], e.get("size", 0)) for e in data.get("tree", []) if e.get("type") == "blob"}
    return entries, bool(data.get("truncated"))


def changes_from_trees(
    listed: tuple[ChangedFile, ...], base: dict[str, str], head: dict[str, str]
) -> tuple[ChangedFile, ...]:
    """The listed files plus every other path whose blob differs between two commits' trees.

    For PRs past GitHub's 3,000-file listing. Unlisted renames show as a removal and an addition,
    so both paths are reviewed and both need their owners' approval.
    """
    seen = {f.path for f in listed} | {f.previous_path for f in listed if f.previous_path}
    extra = []
    for path in sorted(set(base) | set(head)):
        if path in seen or base.get(path) == head.get(path):
            continue
        status = "added" if path not in base else "removed" if path not in head else "modified"
        extra.append(ChangedFile(path=path, status=status))
    return listed + tuple(extra)


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
