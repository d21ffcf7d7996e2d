"""FileTree implementations over the GitHub API and over a local git repository."""

from __future__ import annotations

import os
import stat
import subprocess
import threading
from collections.abc import Callable

from bot.core.files import MAX_LINK_TARGET_BYTES, normalize, resolve_links
from bot.core.result import ChangedFile
from bot.github.client import InstallationClient


class GitHubTree:
    """Files of one commit, listed with one recursive tree call and read blob by blob on demand.

    Blobs are cached by their SHA in a dict shared between the base and head trees, so a file
    unchanged by the PR is fetched once. GitHub cuts a recursive listing at 100,000 entries or
    7 MB and says so with `truncated`; then paths past the cut are read through the contents API.
    Symlinks (mode 120000 entries, whose blob is the target path) are followed inside the tree
    only; paths() lists regular files.
    """

    def __init__(self, client: InstallationClient, repo: str, sha: str, blob_cache: dict[str, bytes]):
        self._client, self._repo, self._sha = client, repo, sha
        self._blobs = blob_cache
        self._listed: Listing | None = None
        self._lock = threading.Lock()

    def _listing(self) -> Listing:
        with self._lock:
            if self._listed is None:
                self._listed = fetch_tree(self._client, self._repo, self._sha)
            return self._listed

    @property
    def truncated(self) -> bool:
        """True when GitHub's recursive listing of this commit was cut short (paths() is incomplete)."""
        return self._listing().truncated

    def blob_shas(self) -> dict[str, str]:
        """path → blob SHA of every listed file and symlink: equal SHAs on two commits mean an unchanged file."""
        listing = self._listing()
        return {path: entry[0] for entries in (listing.files, listing.links) for path, entry in entries.items()}

    def paths(self) -> list[str]:
        return sorted(self._listing().files)

    def size(self, path: str) -> int | None:
        listing = self._listing()
        real = resolve_links(normalize(path), listing.link_target(self._blob))
        entry = listing.files.get(real) if real else None
        if entry is None and real is not None and listing.truncated:
            # GitHub cut the listing short: the file may exist past the cut (read() fetches it the same way)
            data = self.read(path)
            return None if data is None else len(data)
        return entry[1] if entry else None

    def read(self, path: str) -> bytes | None:
        path = normalize(path)
        listing = self._listing()
        real = resolve_links(path, listing.link_target(self._blob))
        if real is None:
            return None
        entry = listing.files.get(real)
        if entry is None:
            # (the contents API answers a symlink with its own description, which file() turns into None)
            return self._client.file(self._repo, real, self._sha) if listing.truncated else None
        return self._blob(entry[0])

    def _blob(self, sha: str) -> bytes:
        if sha not in self._blobs:
            self._blobs[sha] = self._client.blob(self._repo, sha)
        return self._blobs[sha]


FILE_MODES = ("100644", "100755")
LINK_MODE = "120000"


class Listing:
    """One commit's tree: regular files and symlinks, each path → (blob sha, size)."""

    def __init__(self, files: dict[str, tuple[str, int]], links: dict[str, tuple[str, int]], truncated: bool = False):
        self.files, self.links, self.truncated = files, links, truncated
        self._targets: dict[str, str] = {}

    def link_target(self, read_blob) -> Callable[[str], str | None]:
        """For resolve_links: the target of the symlink at a path (read through `read_blob(sha)`), None if no symlink."""

        def target(path: str) -> str | None:
            entry = self.links.get(path)
            if entry is None:
                return None
            if path not in self._targets:
                sha, size = entry
                raw = read_blob(sha) if size <= MAX_LINK_TARGET_BYTES else b""
                try:
                    self._targets[path] = raw.decode("utf-8") if len(raw) <= MAX_LINK_TARGET_BYTES else ""
                except UnicodeDecodeError:
                    self._targets[path] = ""  # not a path: resolve_links refuses an empty target
            return self._targets[path]

        return target


def fetch_tree(client: InstallationClient, repo: str, sha: str) -> Listing:
    """Every regular file and symlink at the commit, in one recursive call."""
    # InstallationClient.tree() drops GitHub's `truncated` flag, and whether a listing is complete
    # decides whether changed files can be derived from it; so the call is made here.
    data = client._call("GET", f"/repos/{repo}/git/trees/{sha}", params={"recursive": "1"}).json()
    files: dict[str, tuple[str, int]] = {}
    links: dict[str, tuple[str, int]] = {}
    for e in data.get("tree", []):
        if e.get("type") != "blob":
            continue  # trees, and submodules ("commit")
        into = links if e.get("mode") == LINK_MODE else files
        into[e["path"]] = (e["sha"], e.get("size", 0))
    return Listing(files, links, bool(data.get("truncated")))


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


def git_bytes(repo: str, *args: str) -> bytes:
    result = subprocess.run(["git", "-C", repo, *args], capture_output=True, check=False)
    if result.returncode != 0:
        raise GitError(result.stderr.decode(errors="replace").strip() or f"git {' '.join(args)} failed")
    return result.stdout


def git(repo: str, *args: str) -> str:
    return git_bytes(repo, *args).decode()


class GitTree:
    """Files of one revision of a local repository, read with `git` without touching the work tree.

    A symlink is a blob holding its target path: it is followed inside the revision's tree, never
    through the filesystem, and one leaving the tree reads as absent. paths() lists regular files.
    """

    def __init__(self, repo: str, rev: str):
        self.repo = repo
        self.sha = git(repo, "rev-parse", "--verify", f"{rev}^{{commit}}").strip()
        self._listed: Listing | None = None
        self._cache: dict[str, bytes | None] = {}

    def _listing(self) -> Listing:
        if self._listed is None:
            files: dict[str, tuple[str, int]] = {}
            links: dict[str, tuple[str, int]] = {}
            out = git_bytes(self.repo, "ls-tree", "-r", "-l", "-z", self.sha)
            for record in out.split(b"\0"):
                if not record:
                    continue
                meta, _, name = record.partition(b"\t")
                mode, _kind, sha, size = meta.decode().split()
                if mode in FILE_MODES or mode == LINK_MODE:
                    into = links if mode == LINK_MODE else files
                    into[name.decode()] = (sha, int(size) if size.isdigit() else 0)
            self._listed = Listing(files, links)
        return self._listed

    def paths(self) -> list[str]:
        return sorted(self._listing().files)

    def _blob(self, sha: str) -> bytes:
        return git_bytes(self.repo, "cat-file", "blob", sha)

    def size(self, path: str) -> int | None:
        """Bytes of a file, from the tree listing (`ls-tree -l`): an oversize file is refused unread."""
        path = normalize(path)
        if path in self._cache:
            data = self._cache[path]
            return None if data is None else len(data)
        listing = self._listing()
        real = resolve_links(path, listing.link_target(self._blob))
        entry = listing.files.get(real) if real else None
        return entry[1] if entry else None

    def read(self, path: str) -> bytes | None:
        path = normalize(path)
        if path not in self._cache:
            listing = self._listing()
            real = resolve_links(path, listing.link_target(self._blob))
            entry = listing.files.get(real) if real else None
            self._cache[path] = self._blob(entry[0]) if entry else None
        return self._cache[path]


def git_changed_files(repo: str, base: str, head: str) -> list[tuple[str, str, str | None]]:
    """(path, status, previous_path) between two revisions, renames detected like GitHub does."""
    out = git(repo, "diff", "--name-status", "-M", "-z", f"{base}", f"{head}")
    fields = out.split("\0")
    changed: list[tuple[str, str, str | None]] = []
    i = 0
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
    """Files of a directory on disk (the working tree, as `check-config` sees it).

    Only regular files inside the directory are read: a symlink is followed when its real path
    stays inside (and outside .git and the other skipped directories), else the file reads as
    absent — a checkout's suite must not print /etc/passwd or the token in .git/config.
    """

    _SKIP = {".git", "node_modules", ".venv", "__pycache__", ".prompt-review"}

    def __init__(self, root: str, committed: frozenset[str] = frozenset()):
        """`committed`: files under a `node_modules` folder that the repository holds (git tracks them: packages a team
        commits), read like any other; what a package manager installed there is not the repository's."""
        self.root = os.path.realpath(root)
        self.committed = committed
        self._paths: list[str] | None = None

    @classmethod
    def of_checkout(cls, root: str) -> DirTree:
        """The directory, with the files git tracks under its `node_modules` folders when it is a git checkout (as a
        review, which reads the commit, sees them)."""
        try:
            listed = git_bytes(root, "ls-files", "-z", "--", ":(glob)**/node_modules/**", ":(glob)node_modules/**")
        except (GitError, OSError):
            listed = b""
        tracked = (normalize(p.decode("utf-8", "replace")) for p in listed.split(b"\0") if p)
        return cls(root, frozenset(p for p in tracked if ".git" not in p.split("/")))

    def paths(self) -> list[str]:
        if self._paths is None:
            found = []
            for dirpath, dirnames, filenames in os.walk(self.root):  # symlinked directories are not entered
                dirnames[:] = [d for d in dirnames if d not in self._SKIP]
                rel = os.path.relpath(dirpath, self.root)
                for name in filenames:
                    full = os.path.join(dirpath, name)
                    if not os.path.islink(full) and os.path.isfile(full):
                        found.append(normalize(name if rel == "." else f"{rel}/{name}"))
            found += [p for p in self.committed if self._inside(p) is not None and not os.path.islink(os.path.join(self.root, p))
                      and os.path.isfile(os.path.join(self.root, p))]
            self._paths = sorted(set(found))
        return self._paths

    def _inside(self, path: str) -> str | None:
        """`path` (relative to the root) once resolved, or None when it is outside or skipped."""
        rel = normalize(path)
        if not rel:
            return None
        real = os.path.realpath(os.path.join(self.root, rel))
        inside = os.path.relpath(real, self.root)
        parts = inside.split(os.sep)
        if inside == os.curdir or parts[0] == os.pardir or ".git" in parts:
            return None
        if any(part in self._SKIP for part in parts) and normalize(inside.replace(os.sep, "/")) not in self.committed:
            return None
        return real

    def size(self, path: str) -> int | None:
        """Bytes of a regular file inside the root (os.stat), without reading it."""
        real = self._inside(path)
        if real is None:
            return None
        try:
            st = os.stat(real)
        except OSError:
            return None
        return st.st_size if stat.S_ISREG(st.st_mode) else None

    def read(self, path: str) -> bytes | None:
        real = self._inside(path)
        if real is None or not os.path.isfile(real):  # not a FIFO or device either: reading one would block
            return None
        with open(real, "rb") as handle:
            return handle.read()
