"""A tiny content-addressed git object store for the GitHub simulator.

Blob, tree and commit SHAs are computed exactly as git computes them, so SHAs the bot
sees from the simulator behave like real ones (same content → same blob SHA).
"""

from __future__ import annotations

import hashlib
import os
import zlib
from dataclasses import dataclass, field

FILE_MODE = "100644"
TREE_MODE = "40000"
LINK_MODE = "120000"  # a symlink: its blob holds the target path, as in git


@dataclass(frozen=True)
class Symlink:
    """A symlink in a file set (path → bytes | Symlink); stored as git stores one, never followed."""

    target: str


def _hash(kind: str, body: bytes) -> str:
    return hashlib.sha1(f"{kind} {len(body)}\0".encode() + body).hexdigest()


@dataclass(frozen=True)
class TreeEntry:
    name: str
    mode: str  # FILE_MODE, LINK_MODE or TREE_MODE
    sha: str

    @property
    def type(self) -> str:
        return "tree" if self.mode == TREE_MODE else "blob"


@dataclass(frozen=True)
class Commit:
    sha: str
    tree: str
    parents: tuple[str, ...]
    message: str
    author: str  # login
    timestamp: int  # unix seconds


@dataclass
class ObjectStore:
    """Blobs, trees and commits of one repository network (a repo and its forks share one)."""

    blobs: dict[str, bytes] = field(default_factory=dict)
    trees: dict[str, tuple[TreeEntry, ...]] = field(default_factory=dict)
    commits: dict[str, Commit] = field(default_factory=dict)
    diff_cache: dict[tuple[str, str], list] = field(default_factory=dict)  # (base, head) → FileDiffs

    def put_blob(self, data: bytes) -> str:
        sha = _hash("blob", data)
        self.blobs[sha] = data
        return sha

    def write_tree(self, files: dict[str, bytes | Symlink]) -> str:
        """Store a whole file set (path → bytes or Symlink) as nested trees; return the root tree SHA."""
        nested: dict = {}
        for path, data in files.items():
            *dirs, name = path.split("/")
            node = nested
            for d in dirs:
                node = node.setdefault(d, {})
            node[name] = data
        return self._write(nested)

    def raw(self, sha: str) -> tuple[str, bytes]:
        """(type, body) of an object, exactly the bytes its SHA is the hash of."""
        if sha in self.blobs:
            return "blob", self.blobs[sha]
        if sha in self.trees:
            return "tree", b"".join(f"{e.mode} {e.name}\0".encode() + bytes.fromhex(e.sha) for e in self.trees[sha])
        c = self.commits[sha]
        ident = f"{c.author} <{c.author}@users.noreply.github.com> {c.timestamp} +0000"
        lines = [f"tree {c.tree}"] + [f"parent {p}" for p in c.parents] + [f"author {ident}", f"committer {ident}", "", c.message]
        return "commit", ("\n".join(lines) + "\n").encode()

    def write_loose(self, git_dir: str) -> None:
        """Every object into a git repository's object directory (git's loose format), so a real
        `git` sees the same commits under the same SHAs: a clone, without a git server."""
        for sha in [*self.blobs, *self.trees, *self.commits]:
            kind, body = self.raw(sha)
            path = os.path.join(git_dir, "objects", sha[:2], sha[2:])
            if os.path.exists(path):
                continue
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(zlib.compress(f"{kind} {len(body)}\0".encode() + body))

    def _write(self, node: dict) -> str:
        entries = []
        for name, value in node.items():
            if isinstance(value, dict):
                entries.append(TreeEntry(name, TREE_MODE, self._write(value)))
            elif isinstance(value, Symlink):
                entries.append(TreeEntry(name, LINK_MODE, self.put_blob(value.target.encode())))
            else:
                entries.append(TreeEntry(name, FILE_MODE, self.put_blob(value)))
        # git orders tree entries as if directory names ended with "/"
        entries.sort(key=lambda e: e.name + ("/" if e.mode == TREE_MODE else ""))
        body = b"".join(f"{e.mode} {e.name}\0".encode() + bytes.fromhex(e.sha) for e in entries)
        sha = _hash("tree", body)
        self.trees[sha] = tuple(entries)
        return sha

    def walk(self, tree_sha: str, recursive: bool = True, prefix: str = "") -> list[tuple[str, TreeEntry]]:
        """(path, entry) pairs of a tree, depth-first in git order."""
        out: list[tuple[str, TreeEntry]] = []
        for e in self.trees[tree_sha]:
            path = prefix + e.name
            out.append((path, e))
            if recursive and e.mode == TREE_MODE:
                out.extend(self.walk(e.sha, True, path + "/"))
        return out

    def files(self, commit_sha: str) -> dict[str, str]:
        """path → blob SHA of every file and symlink at a commit (GitHub lists both as changed files)."""
        tree = self.commits[commit_sha].tree
        return {p: e.sha for p, e in self.walk(tree) if e.mode in (FILE_MODE, LINK_MODE)}

    def links(self, commit_sha: str) -> set[str]:
        """Paths of the symlinks at a commit."""
        return {p for p, e in self.walk(self.commits[commit_sha].tree) if e.mode == LINK_MODE}

    def commit(self, files: dict[str, bytes | Symlink], parents: tuple[str, ...], message: str, author: str, timestamp: int) -> str:
        tree = self.write_tree(files)
        ident = f"{author} <{author}@users.noreply.github.com> {timestamp} +0000"
        lines = [f"tree {tree}"] + [f"parent {p}" for p in parents] + [f"author {ident}", f"committer {ident}", "", message]
        sha = _hash("commit", ("\n".join(lines) + "\n").encode())
        self.commits[sha] = Commit(sha, tree, parents, message, author, timestamp)
        return sha

    def read_files(self, commit_sha: str) -> dict[str, bytes | Symlink]:
        links = self.links(commit_sha)
        return {p: Symlink(self.blobs[s].decode()) if p in links else self.blobs[s] for p, s in self.files(commit_sha).items()}

    def ancestors(self, sha: str) -> list[str]:
        """`sha` and every commit reachable from it, newest first (breadth-first)."""
        seen: list[str] = []
        queue = [sha]
        known: set[str] = set()
        while queue:
            cur = queue.pop(0)
            if cur in known:
                continue
            known.add(cur)
            seen.append(cur)
            queue.extend(self.commits[cur].parents)
        return seen

    def merge_base(self, a: str, b: str) -> str | None:
        in_a = set(self.ancestors(a))
        return next((c for c in self.ancestors(b) if c in in_a), None)
