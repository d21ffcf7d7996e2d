"""Load a promptfoo-format suite from a FileTree into a `Suite`, collecting every problem as a
SourceError with file and line. Anything that would run code from the repository is refused.
"""

from __future__ import annotations

import functools
import json
import posixpath
from typing import Any, Protocol, runtime_checkable

import yaml

from bot.core import safejson
from bot.core.config import CONFIG_PATH, LimitsConfig
from bot.core.errors import SourceError, UserError
from bot.core.files import FileTree, matches, normalize
from bot.core.yamlsrc import LocatedYaml, Path, load_yaml
from bot.evals.suite import PromptSpec, ProviderSpec, Suite

TOP_KEYS = {"description", "prompts", "providers", "tests", "defaultTest"}
# Keys that only affect promptfoo's own output or UI; they cannot change a result.
INERT_KEYS = {"outputPath", "sharing", "writeLatestResults", "tags", "$schema"}
REFUSED_TOP = {
    "extensions": "extension hooks run JavaScript/Python code from the repository",
    "nunjucksFilters": "custom nunjucks filters are JavaScript files from the repository",
    "derivedMetrics": "derived metrics may be JavaScript expressions",
}
UNSUPPORTED_TOP = {
    "scenarios": "scenarios are not supported; list the combinations as tests",
    "env": "suite-level env is not supported; credentials come from the service environment only",
    "redteam": "red-team configs are not supported",
    "evaluateOptions": "set concurrency, repeats and timeouts in .github/prompt-review.yml (evals:)",
    "commandLineOptions": "command-line options are not supported",
}
CODE_EXTS = (".py", ".js", ".mjs", ".cjs", ".ts", ".mts", ".sh", ".bash", ".rb", ".go", ".exe")
PROVIDER_PARAMS = {"temperature", "max_tokens", "top_p", "seed", "stop", "presence_penalty", "frequency_penalty"}
REFUSED_PROVIDER_CONFIG = {
    "apiKey": "credentials come from the environment only, never from the repository",
    "apiKeyEnvar": "reading arbitrary environment variables is not allowed",
    "functionToolCallbacks": "tool callbacks run code from the repository",
    "transformResponse": "response transforms run JavaScript from the repository",
    "responseParser": "response parsers run JavaScript from the repository",
}
REFUSED_PROVIDER_PREFIXES = {
    "exec:": "exec providers run a shell command from the repository",
    "python:": "python providers run code from the repository",
    "file://": "file providers load provider code from the repository",
    "golang:": "golang providers run code from the repository",
    "ruby:": "ruby providers run code from the repository",
    "webhook:": "webhook providers are not supported",
    "http:": "custom HTTP providers run JavaScript transforms; use openai:chat:MODEL with config.apiBaseUrl",
    "https:": "custom HTTP providers run JavaScript transforms; use openai:chat:MODEL with config.apiBaseUrl",
}
DEFAULT_MAX_CASES: int = LimitsConfig.model_fields["max_cases"].default
OPENAI_NON_CHAT = {"completion", "embedding", "embeddings", "assistant", "image", "realtime", "responses", "moderation"}


class Collector:
    """Errors found while loading; loading goes on so a user sees all of them at once."""

    def __init__(self) -> None:
        self.errors: list[SourceError] = []

    def add(self, located: LocatedYaml, path: Path, message: str) -> None:
        self.errors.append(located.error(path, message))

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
    if tree.read(target) is None:
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
    except UnicodeDecodeError:
        raise UserError(SourceError(path, "not UTF-8 text")) from None


@functools.lru_cache(maxsize=32)
def _parse_suite_yaml(raw: bytes, path: str) -> LocatedYaml:
    # base and head usually hold the same suite text; parse it once (the result is never mutated)
    return load_yaml(raw, path)


def load_suite(
    tree: FileTree, path: str, limits: LimitsConfig | None = None, *, max_cases: int | None = None
) -> tuple[Suite | None, list[SourceError]]:
    """Parse the suite at `path`; returns (suite, errors). A suite with errors is None.

    `limits` is the repo config's `limits:` block (defaults when None): prompt files past
    `max_prompt_bytes` are errors, never read whole; `max_cases` (default `limits.max_cases`) bounds
    the tests the suite expands to, checked before expanding."""
    if max_cases is None:
        max_cases = (limits or LimitsConfig()).max_cases
    from bot.evals.testcases import load_tests  # tests live in their own module (size)

    raw = tree.read(path)
    if raw is None:
        return None, [SourceError(path, "suite file not found")]
    errors = Collector()
    try:
        located = _parse_suite_yaml(raw, path)
    except UserError as exc:
        return None, exc.errors
    data = located.data
    if not isinstance(data, dict):
        return None, [SourceError(path, "a suite must be a mapping with prompts, providers and tests", 1)]
    for key in data:
        if key in TOP_KEYS or key in INERT_KEYS:
            continue
        if key in REFUSED_TOP:
            errors.add(located, (key,), f"refused: {REFUSED_TOP[key]}")
        elif key in UNSUPPORTED_TOP:
            errors.add(located, (key,), f"unsupported key {key!r}: {UNSUPPORTED_TOP[key]}")
        else:
            errors.add(located, (key,), f"unknown key {key!r} (supported: {', '.join(sorted(TOP_KEYS))})")
    base_dir = posixpath.dirname(path)
    max_prompt_bytes = (limits or LimitsConfig()).max_prompt_bytes
    prompts = load_prompts(tree, base_dir, located, errors, max_prompt_bytes)
    providers = load_providers(located, errors)
    tests = load_tests(tree, base_dir, located, errors, max_cases)
    description = data.get("description")
    if description is not None and not isinstance(description, str):
        errors.add(located, ("description",), "description must be text")
    if errors.errors:
        return None, errors.errors
    return Suite(path, description or path, tuple(prompts), tuple(providers), tuple(tests)), []


# ---- prompts ---------------------------------------------------------------------------------


def load_prompts(
    tree: FileTree, base_dir: str, located: LocatedYaml, errors: Collector, max_bytes: int | None = None
) -> list[PromptSpec]:
    raw = located.data.get("prompts")
    if raw is None:
        errors.add(located, (), "a suite needs `prompts`")
        return []
    items: list[tuple[Path, Any, str | None]] = []
    if isinstance(raw, str):
        items.append((("prompts",), raw, None))
    elif isinstance(raw, dict):  # {'file://a.txt': 'label'}
        items.extend((("prompts", k), k, v if isinstance(v, str) else None) for k, v in raw.items())
    elif isinstance(raw, list):
        for i, item in enumerate(raw):
            where = ("prompts", i)
            if isinstance(item, str):
                items.append((where, item, None))
            elif isinstance(item, dict):
                for key in item:
                    if key not in ("id", "raw", "label"):
                        why = "prompt functions run code" if key == "function" else "supported: id, raw, label"
                        errors.add(located, where + (key,), f"unsupported prompt key {key!r} ({why})")
                ref = item.get("id", item.get("raw"))
                if not isinstance(ref, str):
                    errors.add(located, where, "a prompt needs `id` (file://…) or `raw` text")
                    continue
                items.append((where, ref, item.get("label")))
            else:
                errors.add(located, where, "a prompt must be text, file://path or {id, label}")
    else:
        errors.add(located, ("prompts",), "prompts must be a list")
    out: list[PromptSpec] = []
    for where, ref, label in items:
        out.extend(_prompt(tree, base_dir, located, errors, where, ref, label, max_bytes))
    seen: set[str] = set()
    for p in out:
        if p.label in seen:
            errors.add(located, ("prompts",), f"two prompts share the label {p.label!r}; give them distinct labels")
        seen.add(p.label)
    return out


def _prompt(tree, base_dir, located, errors, where, ref: str, label: str | None, max_bytes: int | None = None) -> list[PromptSpec]:
    line = located.line_of(where)
    if not ref.startswith("file://"):
        try:
            fmt, messages = _chat_from_text(ref, located.file, line)
        except UserError as exc:
            errors.extend(exc)
            return []
        return [PromptSpec(label or _short(ref), ref, fmt, None, messages, line)]
    found = file_ref_paths(tree, base_dir, located, errors, where, ref, "a prompt function")
    out = []
    for p in found:
        try:
            text = read_text(tree, p, max_bytes)
            fmt, messages = _parse_prompt_file(p, text)
        except UserError as exc:
            errors.extend(exc)
            continue
        except FileTooLarge as exc:
            errors.add(located, where, (
                f"prompt file {p} is {exc.size:,} bytes, over the limit of {exc.limit:,} "
                f"(raise `limits.max_prompt_bytes` in {CONFIG_PATH})"
            ))
            continue
        name = label if label and len(found) == 1 else (f"{label}:{p}" if label else p)
        out.append(PromptSpec(name, text, fmt, p, messages, line))
    return out


def _short(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= 60 else flat[:59] + "…"


def _parse_prompt_file(path: str, text: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    lower = path.lower()
    if lower.endswith(".json"):
        return "chat", _messages(path, load_json(path, text))
    if lower.endswith((".yaml", ".yml")):
        located = load_yaml(text, path)
        return "chat", _messages(path, located.data, located)
    if lower.endswith(".jsonl"):
        raise UserError(SourceError(path, "JSONL prompt files are not supported; use one JSON message list per file"))
    return "text", ()


def _chat_from_text(text: str, file: str = "<inline prompt>", line: int | None = None) -> tuple[str, tuple[tuple[str, str], ...]]:
    """An inline prompt that is a JSON message list is a chat prompt (as in promptfoo).

    Raises UserError (file, line) when it is nested too deeply to read: calling it text would review
    something other than what promptfoo runs.
    """
    stripped = text.strip()
    if stripped.startswith("["):
        try:
            data = safejson.loads(stripped)
            return "chat", _messages("<inline prompt>", data)
        except safejson.JsonTooDeep as exc:
            message = f"the inline chat prompt is JSON nested deeper than {exc.limit} levels (limit {exc.limit})"
            raise UserError(SourceError(file, message, line)) from None
        except (json.JSONDecodeError, UserError):
            pass
    return "text", ()


def load_json(path: str, text: str) -> Any:
    """JSON from a file of the PR, its depth bounded before parsing; UserError names the file and line."""
    try:
        return safejson.loads(text)
    except safejson.JsonTooDeep as exc:
        raise UserError(SourceError(path, f"JSON nested deeper than {exc.limit} levels (limit {exc.limit})",
                                    safejson.too_deep_line(text, exc.limit))) from None
    except json.JSONDecodeError as exc:
        raise UserError(SourceError(path, f"invalid JSON: {exc.msg}", exc.lineno)) from None


def _messages(path: str, data: Any, located: LocatedYaml | None = None) -> tuple[tuple[str, str], ...]:
    if not isinstance(data, list) or not data:
        raise UserError(SourceError(path, "a chat prompt must be a non-empty list of {role, content} messages", 1))
    out = []
    for i, msg in enumerate(data):
        line = located.line_of((i,)) if located else None
        if not isinstance(msg, dict) or set(msg) - {"role", "content"} or not isinstance(msg.get("content"), str):
            raise UserError(SourceError(path, f"message {i + 1} must have a role and text content", line))
        if msg.get("role") not in ("system", "user", "assistant"):
            raise UserError(SourceError(path, f"message {i + 1}: role must be system, user or assistant", line))
        out.append((msg["role"], msg["content"]))
    return tuple(out)


# ---- providers -------------------------------------------------------------------------------


def load_providers(located: LocatedYaml, errors: Collector) -> list[ProviderSpec]:
    raw = located.data.get("providers")
    if raw is None:
        errors.add(located, (), "a suite needs `providers`")
        return []
    if isinstance(raw, (str, dict)):
        raw = [raw]
        base: Path = ("providers",)
        paths = [base]
    elif isinstance(raw, list):
        paths = [("providers", i) for i in range(len(raw))]
    else:
        errors.add(located, ("providers",), "providers must be a list")
        return []
    out = []
    for where, item in zip(paths, raw):
        spec = parse_provider(item, located, where, errors)
        if spec is not None:
            out.append(spec)
    slots = [p.slot for p in out]
    for s in {s for s in slots if slots.count(s) > 1}:
        errors.add(located, ("providers",), f"provider {s!r} is listed twice; give each a distinct label")
    return out


def parse_provider(item: Any, located: LocatedYaml, where: Path, errors: Collector) -> ProviderSpec | None:
    """A provider from 'id', {id, label, config} or {'id': {label, config}}."""
    if isinstance(item, str):
        pid, body, body_where = item, {}, where
    elif isinstance(item, dict) and "id" in item:
        pid, body, body_where = item["id"], item, where
    elif isinstance(item, dict) and len(item) == 1:
        pid, body = next(iter(item.items()))
        body_where = where + (pid,)
        if not isinstance(body, dict):
            errors.add(located, where, "provider options must be a mapping")
            return None
    else:
        errors.add(located, where, "a provider must be an id such as openai:chat:gpt-4o or {id, label, config}")
        return None
    if not isinstance(pid, str):
        errors.add(located, where, "provider id must be text")
        return None
    for key in body:
        if key in ("id", "label", "config"):
            continue
        why = "transforms run JavaScript from the repository" if key == "transform" else "supported: id, label, config"
        errors.add(located, body_where + (key,), f"{'refused' if key == 'transform' else 'unsupported'} provider key {key!r} ({why})")
    kind_model = _provider_kind(pid)
    if isinstance(kind_model, str):
        errors.add(located, where, kind_model)
        return None
    kind, model = kind_model
    config = body.get("config") or {}
    if not isinstance(config, dict):
        errors.add(located, body_where + ("config",), "provider config must be a mapping")
        return None
    params, base_url = [], None
    for key, value in config.items():
        at = body_where + ("config", key)
        if key in REFUSED_PROVIDER_CONFIG:
            errors.add(located, at, f"refused: {key}: {REFUSED_PROVIDER_CONFIG[key]}")
        elif key == "apiBaseUrl":
            if not isinstance(value, str) or not value.startswith(("http://", "https://")):
                errors.add(located, at, "apiBaseUrl must be an http(s) URL")
            base_url = value
        elif key in PROVIDER_PARAMS:
            params.append((key, value))
        else:
            errors.add(located, at, f"unsupported provider config key {key!r} (supported: apiBaseUrl, {', '.join(sorted(PROVIDER_PARAMS))})")
    label = body.get("label")
    return ProviderSpec(pid, kind, model, label if isinstance(label, str) else None, tuple(sorted(params)), base_url, located.line_of(where))


def _provider_kind(pid: str) -> tuple[str, str] | str:
    for prefix, why in REFUSED_PROVIDER_PREFIXES.items():
        if pid.startswith(prefix):
            return f"refused: provider {pid!r}: {why}"
    if pid.lower().endswith(CODE_EXTS):
        return f"refused: provider {pid!r} is a code file; it would run code from the repository"
    parts = pid.split(":")
    if parts[0] == "openai":
        if len(parts) == 3 and parts[1] == "chat" and parts[2]:
            return "openai", parts[2]
        if len(parts) == 2 and parts[1] and parts[1] not in OPENAI_NON_CHAT:
            return "openai", parts[1]
    if parts[0] == "anthropic" and len(parts) == 3 and parts[1] == "messages" and parts[2]:
        return "anthropic", parts[2]
    return (
        f"unsupported provider {pid!r} (supported: openai:chat:MODEL, openai:MODEL, anthropic:messages:MODEL; "
        "other OpenAI-compatible servers through config.apiBaseUrl)"
    )


def yaml_or_json(path: str, text: str) -> Any:
    """Data from a referenced .json/.yaml file (JSON schemas, vars)."""
    if path.lower().endswith(".json"):
        return load_json(path, text)
    try:
        return load_yaml(text, path).data
    except yaml.YAMLError as exc:  # pragma: no cover - load_yaml converts these
        raise UserError(SourceError(path, f"invalid YAML: {exc}")) from None
