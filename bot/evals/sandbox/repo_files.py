"""The repository, read-only, for code that runs while a suite loads (a test generator, an extension hook, a provider's
config function): what Node's `fs` reads (bot.evals.sandbox.js_files), answered from the side's own tree — the base's
for the base side, the head's for the head — never from a disk.

The code sees the repository at `/repo` and runs in its suite's folder (`process.cwd()`), as promptfoo runs from the
config's folder. A path that leaves `/repo` is not there (ENOENT), so nothing outside the repository is ever read,
and a symlink is followed only inside it (the tree's own rule).

Everything the code looks at — a file it read, a path it found missing, a folder it listed and what was in it — is
recorded in `touched`. The loader makes each a dependency of the suite ("file read by evals/gen.js"), on either side,
so a PR that changes only data a generator reads is under review like the generator itself (and the tests it
returns, being different, re-run their cases).

Bounds: a file past `max_file_bytes` (as large as a test file may be) is refused unread where the tree knows sizes,
at most `MAX_TOTAL_BYTES` read and `MAX_LOOKUPS` lookups per call. A bound that stops the code is kept in `refusal`,
which the host raises after the run, so code that catches the error cannot hide it.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import posixpath
import re
from collections.abc import Iterable
from typing import Any

from bot.core.files import FileTree, normalize
from bot.core.yamlsrc import DEFAULT_LIMITS
from bot.evals.sandbox.result import Fault, SandboxError
from bot.evals.sources import FileTooLarge, SizedTree, read_bounded

ROOT = "/repo"
MAX_TOTAL_BYTES = 32 * 1024 * 1024
MAX_LOOKUPS = 2_000
MAX_TOUCHED = 10_000  # distinct paths one piece of code looks at on one side, over all its calls: its dependencies
AHEAD_FILES = 64  # files of a folder answered before they are asked (bot.evals.sandbox.js.FilesTable)
AHEAD_BYTES = 4 * 1024 * 1024


def in_repo(path: str) -> str:
    """The absolute path the code sees for repo path `path` ('' is the root)."""
    return ROOT + ("/" + path if path else "")


class RepoFiles:
    """One run's read-only view of `tree`, its working directory the repo folder `cwd`."""

    def __init__(self, tree: FileTree, cwd: str, touched: dict[str, None] | None = None,
                 max_file_bytes: int = DEFAULT_LIMITS.max_bytes) -> None:
        self.tree = tree
        self.cwd = normalize(cwd)
        self.max_file_bytes = max_file_bytes
        self.touched: dict[str, None] = {} if touched is None else touched  # filled as the code runs
        self.used: dict[str, None] = {}  # what the current call looked at (begin() empties it)
        self.listed: dict[str, None] = {}  # folders the code listed (what is in them is part of what it read)
        self.seen: dict[str, str] = {}  # path → "read" (its bytes mattered) or "stat" (only whether and what it is)
        self.refusal: str | None = None
        # JavaScript's answers so far, by "op|/repo/path", kept for the next runs and calls of the same code
        # (bot.evals.sandbox.js.FilesTable); those given ahead count as looked at only when used
        self.answers: dict[str, str] = {}
        self.ahead_keys: set[str] = set()
        self._paths_of: dict[str, tuple[str, ...]] = {}  # answer key → the repository paths it looked at
        self._read_bytes = 0
        self._lookups = 0
        self._dirs: dict[str, list[str]] | None = None

    def begin(self) -> None:
        """A new call of the code (a prompt function is called once per case): its own bounds, refusal and `used`."""
        self.used = {}
        self.refusal = None
        self._read_bytes = self._lookups = 0

    def use(self, key: str) -> None:
        """The code used the answer `key`: what it looked at counts (for an answer given ahead, from now on)."""
        self.ahead_keys.discard(key)
        op = key.partition("|")[0]
        for path in self._paths_of.get(key, ()):
            self.touched.setdefault(path, None)
            self.used.setdefault(path, None)
            if op == "read":
                self.seen[path] = "read"
            elif op == "stat":
                self.seen.setdefault(path, "stat")

    def _looked(self, key: str, paths: list[str]) -> None:
        self._paths_of[key] = tuple(paths)
        self.use(key)

    def repo_path(self, path: str) -> str | None:
        """The repo path `path` (absolute, or relative to the working directory) names; None outside the repository."""
        full = posixpath.normpath(posixpath.join(in_repo(self.cwd), path))
        if full == ROOT:
            return ""
        return full[len(ROOT) + 1:] if full.startswith(ROOT + "/") else None

    def answer(self, op: str, path: object) -> str:
        """The engine's question `op` ("stat", "read", "list") about `path`, answered as JSON: {"type", "size"} for stat,
        {"text"} or {"base64"} for read, {"entries": [[name, is_dir]…]} for list, {"error": CODE} when Node's fs would
        throw, {"refused"} past a bound."""
        if self.refusal is not None:
            return json.dumps({"refused": self.refusal})
        self._lookups += 1
        if self._lookups > MAX_LOOKUPS:
            return self._refuse(f"the code looked up more than {MAX_LOOKUPS:,} paths of the repository in one call")
        where = self.repo_path(str(path))
        if where is None:
            return json.dumps({"error": "ENOENT", "outside": True})
        is_dir = where == "" or where in self._listing()
        key = f"{op}|{path}"
        if len(self.touched) >= MAX_TOUCHED and (is_dir or where not in self.touched):
            # each is a dependency shown to the PR's reader: bounded over all the code's calls, before it is recorded
            return self._refuse(f"the code looked at more than {MAX_TOUCHED:,} paths of the repository")
        self._looked(key, [] if is_dir else [where])  # a folder is looked at through what is in it (its listing)
        if op not in ("stat", "read", "list"):
            return json.dumps({"error": "EINVAL"})
        if op == "list":
            if not is_dir:
                return json.dumps({"error": "ENOTDIR" if self._size(where) is not None else "ENOENT"})
            entries = self._listing().get(where, [])
            self.listed.setdefault(where, None)
            prefix = where + "/" if where else ""
            self._looked(key, [prefix + name for name in entries])  # past the bound by one folder at most
            return json.dumps({"entries": [[name, (prefix + name) in self._listing()] for name in entries]})
        if is_dir:
            self.seen.setdefault(where, "stat")  # a folder's being there (a PR removing it changes the answer)
            return json.dumps({"type": "dir", "size": 4096} if op == "stat" else {"error": "EISDIR"})
        if op == "stat":
            size = self._size(where)
            return json.dumps({"error": "ENOENT"} if size is None else {"type": "file", "size": size})
        try:
            raw = read_bounded(self.tree, where, self.max_file_bytes)
        except FileTooLarge as exc:
            return self._refuse(f"{where} is {exc.size:,} bytes, over the limit of {self.max_file_bytes:,} for a file code reads")
        if raw is None:
            return json.dumps({"error": "ENOENT"})
        self._read_bytes += len(raw)
        if self._read_bytes > MAX_TOTAL_BYTES:
            return self._refuse(f"the code read more than {MAX_TOTAL_BYTES // (1024 * 1024)} MB of the repository in one call")
        return _content(raw)

    def ahead(self, op: str, path: str) -> dict[str, tuple[str, str]]:
        """Answers to give before they are asked, after a question `op` about `path` (the engine cannot ask while it
        runs, so each question costs a run): the other files of the same folder — their stat for a stat, their text for
        a read, as a generator reading one file of a dataset reads the rest — by key ("op|/repo/path") → (repo path,
        answer). Not recorded as looked at until the code uses them; at most AHEAD_FILES files and AHEAD_BYTES."""
        where = self.repo_path(str(path))
        if where is None or op not in ("stat", "read") or self.refusal is not None:
            return {}
        folder = where.rpartition("/")[0]
        prefix = folder + "/" if folder else ""
        out: dict[str, tuple[str, str]] = {}
        spent = 0
        for name in self._listing().get(folder, []):
            sibling = prefix + name
            if sibling == where or sibling in self._listing() or len(out) >= AHEAD_FILES:
                continue
            key = f"{op}|{in_repo(sibling)}"
            if op == "stat":
                size = self._size(sibling)
                if size is not None:
                    out[key] = (sibling, json.dumps({"type": "file", "size": size}))
            else:
                try:
                    raw = read_bounded(self.tree, sibling, min(self.max_file_bytes, AHEAD_BYTES - spent))
                except FileTooLarge:
                    continue
                if raw is not None:
                    spent += len(raw)
                    out[key] = (sibling, _content(raw))
            if key in out:
                self._paths_of[key] = (sibling,)
        return out

    def recorded(self) -> tuple[str, ...]:
        """What the code's answers depended on, as keys of `state`: each file it read (its path), each path it asked
        about without reading (STAT + path: whether it is there, a file's size), each folder it listed (LISTING +
        folder: the names in it)."""
        return (tuple(p if how == "read" else STAT + p for p, how in self.seen.items())
                + tuple(LISTING + folder for folder in self.listed))

    def state(self, keys: Iterable[str]) -> dict[str, str | None]:
        """Each key of `recorded` → what it is in this tree now: a file's size and digest, a path's kind, a folder's
        names; None for a path that is not there. Equal states mean the code would read the same repository. A file
        read is read again only when its size is unchanged (a PR cannot make this read more than the code did)."""
        out: dict[str, str | None] = {}
        listing = self._listing()
        for key in keys:
            if key.startswith(STAT):
                path = key[len(STAT):]
                size = None if path == "" or path in listing else self._size(path)
                out[key] = "dir" if path == "" or path in listing else None if size is None else f"file {size}"
            elif key.startswith(LISTING):
                names = listing.get(key[len(LISTING):])
                out[key] = None if names is None else _digest("\n".join(names).encode())
            else:
                out[key] = self._content_state(key)
        return out

    def _content_state(self, path: str) -> str | None:
        size = self._size(path)
        if size is None:
            return None
        if size > self.max_file_bytes:
            return f"{size} bytes, over the limit"
        raw = read_bounded(self.tree, path, self.max_file_bytes)
        return None if raw is None else f"{len(raw)} {_digest(raw)}"

    def changed(self, recorded: dict[str, Any]) -> list[str]:
        """The keys of a recorded state that differ in this tree. A file is read only when its size is the one recorded,
        so checking reads no more than the code did, whatever a PR put at those paths."""
        out = []
        for key, was in recorded.items():
            if not key.startswith(LISTING):  # a file read: its size first
                size = self._size(key)
                if was is None or size is None or not str(was).startswith(f"{size} "):
                    if not (was is None and size is None):
                        out.append(key)
                    continue
            if self.state([key])[key] != was:
                out.append(key)
        return out

    def bytes_of(self, keys: Iterable[str]) -> int:
        """What reading the files among `keys` in this tree would cost."""
        return sum(self._size(k) or 0 for k in keys if not k.startswith(LISTING))

    def raise_refusal(self) -> None:
        """A bound the code hit reading the repository, raised whatever the code did with the error it got."""
        if self.refusal is not None:
            raise SandboxError(Fault.UNSUPPORTED, f"reading the repository: {self.refusal}")

    def _refuse(self, why: str) -> str:
        self.refusal = why
        return json.dumps({"refused": why})

    def _size(self, path: str) -> int | None:
        if isinstance(self.tree, SizedTree):
            return self.tree.size(path)
        raw = self.tree.read(path)
        return None if raw is None else len(raw)

    def _listing(self) -> dict[str, list[str]]:
        """Each folder of the tree → the names in it (files and folders), sorted, as readdir gives them."""
        if self._dirs is None:
            dirs: dict[str, set[str]] = {}
            for path in self.tree.paths():
                parent, _, name = path.rpartition("/")
                while True:
                    dirs.setdefault(parent, set()).add(name)
                    if not parent:
                        break
                    parent, _, name = parent.rpartition("/")
            self._dirs = {d: sorted(names) for d, names in dirs.items()}
        return self._dirs


STAT = "//"  # the key of a path asked about without reading it, in `recorded` (no repository path starts with "/")
LISTING = "/"  # the key of a folder's listing (checked after STAT)


def _digest(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


# Code that can read the repository while its case runs (an assertion, a provider): JavaScript that requires Node's fs
# (its own text or a module it requires), Python that names anything that opens files. Only such code gets a reader —
# any other code still has no `fs` and no repository (a read is refused) — so a case whose code cannot read is never
# run only to learn what it reads (bot.evals.runner's probe).
_JS_FS = re.compile(r"""(?:require\s*\(\s*|\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"](?:node:)?fs(?:/promises)?['"]""")
_PY_FS = re.compile(r"\b(?:open|pathlib|Path|os|io|codecs|glob|fileinput|linecache|importlib|__import__|builtins|__builtins__"
                    r"|getattr|eval|exec|compile|csv|tomllib|configparser|shutil|zipfile|tarfile|sqlite3)\b")


@functools.lru_cache(maxsize=4096)  # asked for every case of a suite, of the same few pieces of code
def may_read(code: Any) -> bool:
    """Whether `code` (a JsCode or PyCode) can read the repository's files when it runs (see _JS_FS, _PY_FS)."""
    from bot.evals.sandbox.js_code import JsCode  # a leaf module: no cycle
    if isinstance(code, JsCode):
        return any(_JS_FS.search(text) for text in (code.written or code.source, *(m.written for m in code.modules)))
    modules = getattr(code, "modules", ())
    return any(_PY_FS.search(text) for text in (getattr(code, "source", ""), *(m.written for m in modules)))


def _content(raw: bytes) -> str:
    """A read's answer: the text of a UTF-8 file, else its bytes in base64."""
    try:
        return json.dumps({"text": raw.decode("utf-8")})
    except UnicodeDecodeError:
        return json.dumps({"base64": base64.b64encode(raw).decode("ascii")})
