"""A read-only view of a repository at one revision, shared by the service and the CLI.

The service backs it with the GitHub API (tree + blobs), the CLI with `git`, tests with a dict.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import Protocol, runtime_checkable

from wcmatch import glob as wcglob

_GLOB_FLAGS = wcglob.GLOBSTAR | wcglob.DOTGLOB | wcglob.BRACE


@runtime_checkable
class FileTree(Protocol):
    """Files of one revision. Paths are POSIX, relative to the repo root, without './'."""

    def paths(self) -> list[str]: ...

    def read(self, path: str) -> bytes | None:
        """The file's bytes, or None when it does not exist at this revision."""
        ...


class MemoryTree:
    """A FileTree over a dict; used by tests and as a snapshot of fetched files."""

    def __init__(self, files: Mapping[str, bytes | str]):
        self._files = {normalize(p): (v.encode() if isinstance(v, str) else v) for p, v in files.items()}

    def paths(self) -> list[str]:
        return sorted(self._files)

    def read(self, path: str) -> bytes | None:
        return self._files.get(normalize(path))


def normalize(path: str) -> str:
    parts: list[str] = []
    for part in path.replace("\\", "/").split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts:
                parts.pop()
            continue
        parts.append(part)
    return "/".join(parts)


MAX_LINK_HOPS = 40  # as Linux's path resolution: a longer chain is a loop or an attack
MAX_LINK_TARGET_BYTES = 4096  # PATH_MAX: a longer "symlink" is not one git could check out


def resolve_links(path: str, link_target: Callable[[str], str | None]) -> str | None:
    """The repo path `path` names once every symlink on the way is followed *inside the tree*.

    `link_target(p)` gives the target stored in the symlink at repo path `p` (None when `p` is no
    symlink). A target is read relative to the link's directory, as the filesystem does. Returns
    None when the chain leaves the repository (an absolute target, or `..` above the root), loops,
    or is longer than MAX_LINK_HOPS: such a file does not exist for the reviewer.
    """
    pending = deque(path.replace("\\", "/").split("/"))
    done: list[str] = []
    hops = 0
    while pending:
        part = pending.popleft()
        if part in ("", "."):
            continue
        if part == "..":
            if not done:
                return None
            done.pop()
            continue
        done.append(part)
        target = link_target("/".join(done))
        if target is None:
            continue
        hops += 1
        target = target.replace("\\", "/")
        if hops > MAX_LINK_HOPS or not target or target.startswith("/") or len(target) > MAX_LINK_TARGET_BYTES:
            return None
        done.pop()
        pending.extendleft(reversed(target.split("/")))
    return "/".join(done) or None


def matches(path: str, patterns: Iterable[str]) -> bool:
    """True when `path` matches any glob (`**` spans directories; a trailing `/**` matches all below)."""
    path = normalize(path)
    return any(wcglob.globmatch(path, p.lstrip("/"), flags=_GLOB_FLAGS) for p in patterns)


def is_prompt(path: str, include: Iterable[str], exclude: Iterable[str]) -> bool:
    return matches(path, include) and not matches(path, exclude)


__all__ = ["FileTree", "MemoryTree", "normalize", "matches", "is_prompt", "resolve_links"]
