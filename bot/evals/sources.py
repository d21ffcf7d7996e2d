"""Reading a suite's files from a FileTree, bounded: references resolved inside the repository, sizes
checked before reading, JSON/YAML parsed with depth limits, errors collected with file and line. Shared by
the suite loader, the test-case reader and the assertion reader, which each build on it."""

from __future__ import annotations

import hashlib
import json
import pickle
import posixpath
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import yaml

from bot.core import safejson
from bot.core.config import CONFIG_PATH, LimitsConfig
from bot.core.errors import SourceError, UserError
from bot.core.files import FileTree, matches, normalize
from bot.core.yamlsrc import DEFAULT_LIMITS, LocatedYaml, Path, YamlLimits, load_yaml

CODE_EXTS = (".py", ".js", ".mjs", ".cjs", ".ts", ".mts", ".cts", ".tsx", ".sh", ".bash", ".rb", ".go", ".exe")
DEFAULT_MAX_CASES: int = LimitsConfig.model_fields["max_cases"].default


def load_yaml_kept(text: str, file: str, limits: YamlLimits = DEFAULT_LIMITS) -> LocatedYaml:
    """load_yaml, with documents kept by their text: a review loads the same suite and test files again for each
    variant of a PR it tries while it explains a regression (bot/evals/explain.py), and a copy of a parsed document
    costs a tenth of parsing it. Kept as pickled bytes, so nothing a caller does to its copy reaches the next one;
    errors are not kept (the document is parsed again and fails again)."""
    if not _KEPT_MIN_CHARS <= len(text) <= _KEPT_MAX_CHARS:
        return load_yaml(text, file, limits)
    key = (file, hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest(), limits)
    with _kept_lock:
        kept = _kept.get(key)
        if kept is not None:
            _kept.move_to_end(key)
    if kept is None:
        kept = pickle.dumps(load_yaml(text, file, limits), pickle.HIGHEST_PROTOCOL)
        with _kept_lock:
            _kept[key] = kept
            while sum(len(v) for v in _kept.values()) > _KEPT_BYTES:
                _kept.popitem(last=False)
    return pickle.loads(kept)  # noqa: S301 - bytes this process pickled itself


_KEPT_MIN_CHARS, _KEPT_MAX_CHARS = 2048, 2_000_000
_KEPT_BYTES = 32_000_000  # of pickled documents in all, per process
_kept: OrderedDict[tuple[str, bytes, YamlLimits], bytes] = OrderedDict()
_kept_lock = threading.Lock()


class Collector:
    """Errors found while loading; loading goes on so a user sees all of them at once."""

    def __init__(self, max_file_bytes: int = LimitsConfig.model_fields["max_prompt_bytes"].default) -> None:
        self.errors: list[SourceError] = []
        self.max_file_bytes = max_file_bytes  # code files (assertions, transforms) past this are refused unread
        # repository files that code run while the suite loads (test generators, hooks) requires → the requiring file:
        # dependencies of the suite (bot.evals.sandbox.js_modules), as the generator's own file is
        self.helpers: dict[str, str] = {}
        self.warnings: list[SourceError] = []  # what promptfoo drops unread and so does prompt-review: shown, not refused
        self.warned: set[tuple[str, str]] = set()  # (file, key) already warned of: once per file, not once per test
        self.setting_files: dict[str, None] = {}  # files providers' settings were read from: dependencies of the suite
        # code run while the suite loads → the repository paths its `fs` looked at (bot.evals.sandbox.repo_files), filled
        # as it runs: dependencies of the suite, as the files it requires are
        self.reads: dict[str, dict[str, None]] = {}
        # near misses of a grading option in a test's options (`providers:`): (where, key, the option it resembles),
        # an error or a warning once the suite's assertions are known (bot.evals.loader)
        self.grading_misses: list[tuple[LocatedYaml, Path, str, str]] = []

    def add(self, located: LocatedYaml, path: Path, message: str) -> None:
        self.errors.append(located.error(path, message))

    def warn(self, located: LocatedYaml, path: Path, message: str) -> None:
        self.warnings.append(located.error(path, message))

    def warn_once(self, located: LocatedYaml, path: Path, key: str, message: str) -> None:
        """A warning about `key` (say `assert.label`) once per file, however many tests or assertions repeat it."""
        if (located.file, key) not in self.warned:
            self.warned.add((located.file, key))
            self.warn(located, path, message)

    def extend(self, exc: UserError) -> None:
        self.errors.extend(exc.errors)


def resolve(base_dir: str, ref: str) -> str | None:
    """A repo path for `ref` relative to the suite's directory; None if it leaves the repo."""
    if ref.startswith("/"):
        return None
    joined = posixpath.normpath(posixpath.join(base_dir or ".", ref))
    if joined == ".." or joined.startswith("../"):
        return None
    return normalize(joined)


def is_code_ref(ref: str) -> bool:
    # promptfoo's 'file://x.py:func' form names a function inside a code file
    stem = ref.split(":", 1)[0] if ":" in ref else ref
    return stem.lower().endswith(CODE_EXTS)


def expand_refs(tree: FileTree, base_dir: str, ref: str) -> list[str] | str:
    """Paths a file:// reference (maybe a glob) names, or an error message."""
    target = resolve(base_dir, ref)
    if target is None:
        return f"{ref!r} points outside the repository"
    if any(ch in ref for ch in "*?[{"):
        found = [p for p in tree.paths() if matches(p, [target])]
        return found or f"no files match {ref!r}"
    if (tree.size(target) if isinstance(tree, SizedTree) else tree.read(target)) is None:  # not read to check it is there
        return f"file {ref!r} not found (looked for {target})"
    return [target]


def file_ref_paths(tree: FileTree, base_dir: str, located, errors, where, ref: str, code_kind: str) -> list[str]:
    """The repo paths a `file://` reference names; refused (with file and line) when it names code to run."""
    target = ref[len("file://"):]
    if is_code_ref(target):
        errors.add(located, where, f"refused: {ref} is {code_kind} — it would run code from the repository")
        return []
    found = expand_refs(tree, base_dir, target)
    if isinstance(found, str):
        errors.add(located, where, found)
        return []
    return found


@runtime_checkable
class SizedTree(Protocol):
    """A FileTree that knows a file's size without reading it (the GitHub tree listing does)."""

    def size(self, path: str) -> int | None: ...


class FileTooLarge(Exception):
    def __init__(self, path: str, size: int, limit: int):
        self.path, self.size, self.limit = path, size, limit
        super().__init__(f"{path} is {size:,} bytes, over the limit of {limit:,}")


def read_bounded(tree: FileTree, path: str, limit: int) -> bytes | None:
    """A file's bytes (None when absent); FileTooLarge past `limit`, before reading where the tree knows sizes."""
    if isinstance(tree, SizedTree):
        size = tree.size(path)
        if size is not None and size > limit:
            raise FileTooLarge(path, size, limit)
    raw = tree.read(path)
    if raw is not None and len(raw) > limit:
        raise FileTooLarge(path, len(raw), limit)
    return raw


def read_text(tree: FileTree, path: str, limit: int | None = None) -> str:
    """A file's text; FileTooLarge past `limit` bytes when one is given."""
    raw = (tree.read(path) if limit is None else read_bounded(tree, path, limit)) or b""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = raw[exc.start:exc.start + 1].hex()
        raise UserError(SourceError(
            path, f"not UTF-8 text: byte 0x{bad} at offset {exc.start} (saved in another encoding, such as Windows-1252?); "
                  "save the file as UTF-8 (promptfoo would send the character as U+FFFD)",
            raw.count(b"\n", 0, exc.start) + 1)) from None


def load_json(path: str, text: str) -> Any:
    """JSON from a file of the PR, its depth bounded before parsing; UserError names the file and line."""
    try:
        return safejson.loads(text)
    except safejson.JsonTooDeep as exc:
        raise UserError(SourceError(path, f"JSON nested deeper than {exc.limit} levels (limit {exc.limit})",
                                    safejson.too_deep_line(text, exc.limit))) from None
    except json.JSONDecodeError as exc:
        raise UserError(SourceError(path, f"invalid JSON: {exc.msg}", exc.lineno)) from None


def yaml_or_json(path: str, text: str) -> Any:
    """Data from a referenced .json/.yaml file (JSON schemas, vars)."""
    if path.lower().endswith(".json"):
        return load_json(path, text)
    try:
        return load_yaml(text, path).data
    except yaml.YAMLError as exc:  # pragma: no cover - load_yaml converts these
        raise UserError(SourceError(path, f"invalid YAML: {exc}")) from None


def read_code_file(tree: FileTree, base_dir: str, written: str, located: LocatedYaml, where: Path, errors: Collector,
                   too_large: str, missing: str) -> tuple[str, bytes] | None:
    """The repo path and bytes of a code file a suite names (a test generator, a var's code, an extension hook), read
    within the code size limit; None, with the error at `where`, when it is too large (`{too_large} PATH is N bytes …`)
    or absent (`{missing} 'WRITTEN' not found`)."""
    path = resolve(base_dir, written)
    try:
        raw = None if path is None else read_bounded(tree, path, errors.max_file_bytes)
    except FileTooLarge as exc:
        errors.add(located, where, f"{too_large} {exc.path} is {exc.size:,} bytes, over the limit of {exc.limit:,} "
                                   f"(raise `limits.max_prompt_bytes` in {CONFIG_PATH})")
        return None
    if path is None or raw is None:
        errors.add(located, where, f"{missing} {written!r} not found")
        return None
    return path, raw


def request_reader(tree: FileTree | None, base_dir: str, located: LocatedYaml,
                   errors: Collector) -> Callable[[Path, str], tuple[str, str] | None] | None:
    """How a provider entry's text file (an http provider's `request: file://…`) is read: from this side's tree,
    relative to the suite's folder, never outside the repository, within the file size limit; a problem is an error at
    the entry's line naming the file."""
    if tree is None:
        return None

    def read(where: Path, ref: str) -> tuple[str, str] | None:
        written = ref[len("file://"):]
        path = resolve(base_dir, written)
        if path is None:
            errors.add(located, where, f"request file {written!r} points outside the repository")
            return None
        try:
            raw = read_bounded(tree, path, errors.max_file_bytes)
        except FileTooLarge as exc:
            errors.add(located, where, f"request file {exc.path} is {exc.size:,} bytes, over the limit of {exc.limit:,} "
                                       f"(raise `limits.max_prompt_bytes` in {CONFIG_PATH})")
            return None
        if raw is None:
            errors.add(located, where, f"request file {written!r} not found (looked for {path})")
            return None
        try:
            return path, raw.decode("utf-8")
        except UnicodeDecodeError:
            errors.add(located, where, f"request file {path} is not UTF-8 text")
            return None

    return read
