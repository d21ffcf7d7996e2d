"""Per-file diffs between two commits, shaped like GitHub's `diff-entry` (PR files endpoint)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from bot.simulator.gitobjects import ObjectStore


@dataclass(frozen=True)
class FileDiff:
    filename: str
    status: str  # added | removed | modified
    sha: str  # blob SHA on the head side (base side for removed files)
    additions: int
    deletions: int
    patch: str | None  # None for binary files, as on GitHub


def _text(data: bytes) -> list[str] | None:
    if b"\0" in data:
        return None
    try:
        return data.decode("utf-8").splitlines(keepends=True)
    except UnicodeDecodeError:
        return None


def _patch(old: list[str], new: list[str]) -> tuple[str, int, int]:
    lines = list(difflib.unified_diff(old, new, n=3))[2:]  # GitHub's patch has no ---/+++ header
    out: list[str] = []
    adds = dels = 0
    for line in lines:
        if line.startswith("+"):
            adds += 1
        elif line.startswith("-"):
            dels += 1
        if line.endswith("\n"):
            out.append(line[:-1])
        else:
            out.extend([line, "\\ No newline at end of file"])
    return "\n".join(out), adds, dels


def diff_commits(store: ObjectStore, base_sha: str, head_sha: str) -> list[FileDiff]:
    """Files changed from `base_sha` to `head_sha`, sorted by path."""
    old, new = store.files(base_sha), store.files(head_sha)
    out: list[FileDiff] = []
    for path in sorted(set(old) | set(new)):
        a, b = old.get(path), new.get(path)
        if a == b:
            continue
        status = "added" if a is None else "removed" if b is None else "modified"
        old_lines = _text(store.blobs[a]) if a else []
        new_lines = _text(store.blobs[b]) if b else []
        if old_lines is None or new_lines is None:
            out.append(FileDiff(path, status, b or a or "", 0, 0, None))
            continue
        patch, adds, dels = _patch(old_lines, new_lines)
        out.append(FileDiff(path, status, b or a or "", adds, dels, patch))
    return out
