"""Load a promptfoo-format suite from a FileTree into a `Suite`, collecting every problem as a
SourceError with file and line. javascript/python assertions, transforms and prompt functions are read
here and run later in bot.evals.sandbox, gated by where the code comes from; test generators and the
beforeAll/beforeEach extension hooks run here, under the same gate (bot.evals.generators, bot.evals.hooks).
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import io
import json
import posixpath
import re
from typing import Any, Literal

import yaml

from bot.core import safejson
from bot.core.config import CONFIG_PATH, LimitsConfig
from bot.core.errors import SourceError, UserError
from bot.core.parts import Parts
from bot.core.files import FileTree
from bot.core.yamlsrc import LocatedYaml, Path, load_yaml
from bot.evals.checks import MODEL_GRADED, transform_code
from bot.evals.generators import NOT_DECIDED, LoadCode, spread_call
from bot.evals.sandbox.py_modules import link_python
from bot.evals.hooked_tests import SuiteHooks
from bot.evals.hooks import load_extensions
from bot.evals.providers_config import PASSTHROUGH, PROVIDER_PARAMS, CodeReader, code_provider_ref, parse_provider, provider_kind
from bot.evals.providers_code_check import package_ref
from bot.evals.providers_shapes import INERT_CONFIG
from bot.evals.sandbox import SandboxError, typescript_code
from bot.evals.sandbox.js import JsCode
from bot.evals.sandbox.js_modules import link
from bot.evals.sandbox.py import SCRIPT, PyCode
from bot.evals.sandbox.typescript import is_typescript
from bot.evals.shapes import check
from bot.evals.provider_files import with_files
from bot.evals.sources import (Collector, FileTooLarge, expand_refs, file_ref_paths, is_code_ref, load_json, read_bounded, read_text,
                               request_reader, resolve)
from bot.evals.suite import Code, PromptSpec, ProviderSpec, Suite, TestSpec, prompt_matches, provider_ref_matches
from bot.evals.suite_models import (PromptEntry, SuiteFile, env_problems, grading_option_miss, ignored_evaluate_options, ignored_key,
                                    ignored_keys)
from bot.evals.testcases import load_tests

PromptFormat = Literal["text", "chat", "chat-template", "function"]  # PromptSpec.format

# Prompt sources promptfoo fetches from a prompt-management service: the text is not in the repository.
PROMPT_URI_SCHEMES = ("langfuse://", "portkey://", "helicone://", "pf://", "promptfoo://", "http://", "https://", "s3://", "gs://")


@functools.lru_cache(maxsize=32)
def _parse_suite_yaml(raw: bytes, path: str) -> LocatedYaml:
    # base and head usually hold the same suite text; parse it once (the result is never mutated)
    return load_yaml(raw, path)


@dataclasses.dataclass(frozen=True)
class SuiteLoad:
    """A suite as read from its file: the suite (None with errors), its errors, and its warnings — what the
    file says that changes nothing (a top-level key promptfoo ignores), shown to the user, never deciding."""

    suite: Suite | None
    errors: tuple[SourceError, ...]
    warnings: tuple[SourceError, ...] = ()


def load_suite(
    tree: FileTree, path: str, limits: LimitsConfig | None = None, *, max_cases: int | None = None,
    code: LoadCode = NOT_DECIDED,
) -> tuple[Suite | None, list[SourceError]]:
    """Parse the suite at `path`; returns (suite, errors). A suite with errors is None. (`read_suite` gives
    its warnings too.)"""
    found = read_suite(tree, path, limits, max_cases=max_cases, code=code)
    return found.suite, list(found.errors)


def read_suite(
    tree: FileTree, path: str, limits: LimitsConfig | None = None, *, max_cases: int | None = None,
    code: LoadCode = NOT_DECIDED,
) -> SuiteLoad:
    """Parse the suite at `path`, with its errors and warnings. A suite with errors is None.

    `limits` is the repo config's `limits:` block (defaults when None): prompt files past
    `max_prompt_bytes` are errors, never read whole; `max_cases` (default `limits.max_cases`) bounds
    the tests the suite expands to, checked before expanding. `code` says which test generators run (the
    base branch's always, the PR's by the code gate: bot.evals.generators.CodePolicy); none by default."""
    if max_cases is None:
        max_cases = (limits or LimitsConfig()).max_cases

    raw = tree.read(path)
    if raw is None:
        return SuiteLoad(None, (SourceError(path, "suite file not found"),))
    errors = Collector((limits or LimitsConfig()).max_prompt_bytes)
    try:
        located = _parse_suite_yaml(raw, path)
    except UserError as exc:
        return SuiteLoad(None, tuple(exc.errors))
    if not isinstance(located.data, dict):
        return SuiteLoad(None, (SourceError(path, "a suite must be a mapping with prompts, providers and tests", 1),))
    if b"$ref" in raw:
        located = _local_refs(located, errors)
    data = located.data
    ignored = ignored_keys(data)
    warnings = tuple(SourceError(path, ignored_key(key), located.line_of((key,))) for key in ignored)
    top_data = {k: v for k, v in data.items() if k not in ignored}
    ignored_options = ignored_evaluate_options(top_data.get("evaluateOptions"))
    if ignored_options:
        warnings += tuple(SourceError(path, ignored_key(f"evaluateOptions.{key}"), located.line_of(("evaluateOptions", key)))
                          for key in ignored_options)
        top_data["evaluateOptions"] = {k: v for k, v in top_data["evaluateOptions"].items() if k not in ignored_options}
    top = check(SuiteFile, located, (), top_data, errors)
    for key, problem in env_problems(top_data.get("env")):
        errors.errors.append(SourceError(path, problem, located.line_of(("env",) if key is None else ("env", key))))
    base_dir = posixpath.dirname(path)
    max_prompt_bytes = (limits or LimitsConfig()).max_prompt_bytes
    prompts = load_prompts(tree, base_dir, located, errors, max_prompt_bytes)
    providers = load_providers(located, errors, tree, base_dir, code)
    labels = {p.label for p in prompts}
    for provider in providers:
        for wanted in provider.prompts:
            if not any(prompt_matches(wanted, prompt) for prompt in prompts):
                errors.errors.append(SourceError(path, f"provider {provider.slot!r} lists prompt {wanted!r}, but no prompt has that label "
                                                       f"(labels: {', '.join(sorted(labels))})", provider.line))
    extensions = load_extensions(tree, base_dir, located, errors, code)
    hooks = None if not extensions or errors.errors else \
        SuiteHooks(extensions, suite_view(located, prompts, providers), code.limits, reader=(tree, base_dir))
    tests = load_tests(tree, base_dir, located, errors, max_cases, max_var_bytes=max_prompt_bytes, code=code, hooks=hooks)
    _check_test_filters(tests, prompts, providers, errors)
    _grading_option_misses(tests, errors)
    filters = _nunjucks_filters(tree, base_dir, located, top.nunjucksFilters if top else None, errors)
    warnings += tuple(errors.warnings)
    if errors.errors or top is None:
        return SuiteLoad(None, tuple(errors.errors), warnings)
    return SuiteLoad(Suite(path, top.description or path, tuple(prompts), tuple(providers), tuple(tests), filters,
                           located.line_of(("nunjucksFilters",)) if filters else None,
                           tuple(dict.fromkeys(e.path for e in extensions or ())), tuple(errors.helpers.items()),
                           tuple(errors.setting_files),
                           tuple((read, by) for by, touched in errors.reads.items() for read in touched)), (), warnings)


def suite_view(located: LocatedYaml, prompts: list[PromptSpec], providers: list[ProviderSpec]) -> dict[str, Any]:
    """promptfoo's test suite as a beforeAll hook sees it, besides its tests, defaultTest and scenarios: the prompts
    as loaded (raw text and label), the providers (id, label, settings), the rest as written."""
    data = located.data
    view: dict[str, Any] = {
        "prompts": [{"raw": p.template, "label": p.label, **({"config": dict(p.config)} if p.config else {})} for p in prompts],
        "providers": [{"id": p.id, **({"label": p.label} if p.label else {}), "config": {**dict(p.params), **dict(p.options)}}
                      for p in providers],
    }
    view["providerPromptMap"] = {p.slot: list(p.prompts) for p in providers if p.prompts}
    for key in ("tags", "nunjucksFilters"):  # promptfoo's are always there
        view[key] = data.get(key) if data.get(key) is not None else {}
    for key in ("description", "derivedMetrics", "extensions"):
        if data.get(key) is not None:
            view[key] = data[key]
    return view


MAX_FILTERS = 50


def _nunjucks_filters(tree: FileTree, base_dir: str, located: LocatedYaml, given: dict[str, str] | None,
                      errors: Collector) -> tuple[tuple[str, Code], ...]:
    """promptfoo's `nunjucksFilters: {name: path/to/filter.js}`: each file exports the filter function (called
    as fn(value, ...args) from a template). Read here from this side's tree; called while prompts render, in
    the sandbox, under the code gate (bot.evals.select)."""
    out: list[tuple[str, Code]] = []
    for name, ref in (given or {}).items():
        where: Path = ("nunjucksFilters", name)
        if len(out) >= MAX_FILTERS:
            errors.add(located, where, f"more than {MAX_FILTERS} nunjucksFilters")
            break
        if not re.fullmatch(r"[A-Za-z_]\w*", name) or name in ("dump", "load"):
            errors.add(located, where, f"nunjucksFilters: {name!r} must be a filter name (letters, digits, _) other than dump and load")
            continue
        inner = ref[len("file://"):] if ref.startswith("file://") else ref
        if not inner.lower().endswith((".js", ".cjs", ".mjs", ".ts", ".mts", ".cts", ".tsx")):
            errors.add(located, where, f"unsupported: nunjucks filter {ref}: prompt-review runs JavaScript (.js, .cjs, .mjs) and "
                                       "TypeScript (.ts, .mts, .cts, .tsx) filter files in its sandbox; other code is not run")
            continue
        path = resolve(base_dir, inner)
        try:
            raw = None if path is None else read_bounded(tree, path, errors.max_file_bytes)
        except FileTooLarge as exc:
            errors.add(located, where, f"nunjucks filter {exc.path} is {exc.size:,} bytes, over the limit of {exc.limit:,} "
                                       f"(raise `limits.max_prompt_bytes` in {CONFIG_PATH})")
            continue
        if path is None or raw is None:
            errors.add(located, where, f"nunjucks filter file {ref!r} not found")
            continue
        try:
            called = spread_call("javascript", raw.decode("utf-8", errors="replace"), path, None, "")
            out.append((name, link(called, tree, errors.max_file_bytes) if isinstance(called, JsCode) else called))
        except SandboxError as exc:  # TypeScript esbuild could not transpile: its file:line:column; a refused require
            errors.add(located, where, f"nunjucks filter {ref}: {exc.message}")
    return tuple(out)


def _check_test_filters(tests: list[TestSpec], prompts: list[PromptSpec], providers: list[ProviderSpec], errors: Collector) -> None:
    """A test's `providers:`/`prompts:` entry that names nothing of the suite would silently leave the test
    out (promptfoo runs it nowhere): an error at the test's line instead."""
    found: dict[tuple[str, int | None, str], None] = {}
    names = sorted({n for p in providers for n in (p.label, p.id) if n})
    labels = {p.label for p in prompts}
    for test in tests:
        for ref in test.prompts or ():
            if not any(prompt_matches(ref, prompt) for prompt in prompts):
                found[(test.file, test.line, f"test `prompts` entry {ref!r} names no prompt of the suite (labels: {', '.join(sorted(labels))})")] = None
        for ref in test.providers or ():
            if not any(provider_ref_matches(ref, p) for p in providers):
                found[(test.file, test.line, f"test `providers` entry {ref!r} names no provider of the suite (labels and ids: {', '.join(names)})")] = None
    errors.errors.extend(SourceError(file, message, line) for file, line, message in found)


# ---- prompts ---------------------------------------------------------------------------------


MAX_REF_NODES = 100_000  # values a suite's $refs may expand to: references to references grow exponentially


def _grading_option_misses(tests: list[TestSpec], errors: Collector) -> None:
    """A near miss of a grading option (`options.providers:`) is an error when a model grades any assertion of the suite
    (promptfoo would grade it with its default grader), else a warning once per file and key."""
    graded = any(a.base_type in MODEL_GRADED or a.base_type == "select-best" for t in tests for top in t.asserts for a in top.flat())
    for located, at, key, near in errors.grading_misses:
        if graded:
            errors.add(located, at, grading_option_miss(key, near, True))
        else:
            errors.warn_once(located, at, f"options.{key}", grading_option_miss(key, near, False))


def _local_refs(located: LocatedYaml, errors: Collector) -> LocatedYaml:
    """promptfoo dereferences `$ref: '#/a/b'` JSON pointers within its config (e.g. to an entry of
    `assertionTemplates`); the same here, on a copy, each expansion counted against MAX_REF_NODES.
    A value brought in by a $ref reports the $ref's line."""
    budget = [MAX_REF_NODES]

    def target_of(ref: str) -> Any:
        node = located.data
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                raise KeyError(ref)
        return node

    def walk(node: Any, where: Path, depth: int) -> Any:
        budget[0] -= 1
        if budget[0] < 0:
            raise OverflowError
        if isinstance(node, dict) and set(node) == {"$ref"} and isinstance(node["$ref"], str):
            ref = node["$ref"]
            if not ref.startswith("#/"):
                errors.add(located, where, f"unsupported: $ref {ref!r}: only references within this file (#/…) are resolved")
                return node
            if depth >= 8:
                errors.add(located, where, f"$ref {ref!r}: references nested more than 8 deep")
                return node
            try:
                return walk(target_of(ref), where, depth + 1)
            except KeyError:
                errors.add(located, where, f"$ref {ref!r} points at nothing in this file")
                return node
        if isinstance(node, dict):
            return {k: walk(v, where + (k,) if depth == 0 else where, depth) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v, where + (i,) if depth == 0 else where, depth) for i, v in enumerate(node)]
        return node

    try:
        data = walk(located.data, (), 0)
    except OverflowError:
        errors.add(located, (), f"the suite's $refs expand to more than {MAX_REF_NODES:,} values")
        return located
    return LocatedYaml(located.file, data, located.lines)


# keys a prompt entry may carry that promptfoo 0.121's prompt schema drops (they pair nothing): a warning each
DROPPED_PROMPT_KEYS = frozenset({"provider", "providers"})


def load_prompts(
    tree: FileTree, base_dir: str, located: LocatedYaml, errors: Collector, max_bytes: int | None = None
) -> list[PromptSpec]:
    raw = located.data.get("prompts")
    if raw is None:  # promptfoo's default: the test's `prompt` var is the prompt
        return [PromptSpec("{{prompt}}", "{{prompt}}", "text", None, (), None)]
    items: list[tuple[Path, Any, str | None, dict[str, Any], str | None]] = []
    if isinstance(raw, str):
        items.append((("prompts",), raw, None, {}, None))
    elif isinstance(raw, dict):  # {'file://a.txt': 'label'}
        for k, v in raw.items():
            if isinstance(k, str):
                items.append((("prompts", k), k, v if isinstance(v, str) else None, {}, None))
            else:
                errors.add(located, ("prompts", k), "a prompt must be text, file://path or {id, label}")
    elif isinstance(raw, list):
        for i, item in enumerate(raw):
            where: Path = ("prompts", i)
            if isinstance(item, str):
                items.append((where, item, None, {}, None))
            elif isinstance(item, dict):
                for key in DROPPED_PROMPT_KEYS & set(item):  # promptfoo's prompt schema drops them unread
                    errors.warn(located, where + (key,), f"ignored prompt key {key!r}: promptfoo drops it, and the prompt is "
                                                         "sent to every provider; to pair a prompt with a provider, list the "
                                                         "prompt's label in that provider's `prompts:`")
                item = {k: v for k, v in item.items() if k not in DROPPED_PROMPT_KEYS}
                given = (check(PromptEntry, located, where, item, errors) or PromptEntry()).given()
                if "config" in given:
                    _check_prompt_config(located, where + ("config",), given["config"], errors)
                # with `raw`, `id` only names the prompt (promptfoo); without it, `id` is the text or file://
                ref = given.get("raw", given.get("id"))
                if not isinstance(ref, str):
                    errors.add(located, where, "a prompt needs `id` (file://…) or `raw` text")
                    continue
                label = given.get("label") or (given.get("id") if "raw" in given and isinstance(given.get("id"), str) else None)
                name = given.get("id") if "raw" in given and isinstance(given.get("id"), str) else None
                items.append((where, ref, label, given.get("config") or {}, name))
            else:
                errors.add(located, where, "a prompt must be text, file://path or {id, label}")
    else:
        errors.add(located, ("prompts",), "prompts must be a list")
    out: list[PromptSpec] = []
    for where, ref, label, config, name in items:
        found = _prompt(tree, base_dir, located, errors, where, ref, label, max_bytes)
        if name is not None:  # promptfoo keeps the id of an inline prompt only (its string processor)
            found = [dataclasses.replace(p, name=name) if p.source is None and p.code is None else p for p in found]
        settings = tuple(sorted((k, v) for k, v in config.items() if k not in INERT_CONFIG))
        out.extend(dataclasses.replace(p, config=settings) if settings else p for p in found)
    # A prompt listed twice (by name and again through a glob, say) is one prompt: promptfoo runs it twice with the same
    # result, a review runs it once. Two different prompts under one label could not be told apart.
    kept: dict[str, PromptSpec] = {}
    for p in out:
        if p.source is None and p.label == _short(p.template) and p.label in kept and kept[p.label].template != p.template:
            # two inline prompts that begin alike (promptfoo labels each by its whole text): told apart by their order
            n = 2
            while f"{p.label} #{n}" in kept:
                n += 1
            p = dataclasses.replace(p, label=f"{p.label} #{n}")
        first = kept.setdefault(p.label, p)
        if first is not p and (dataclasses.replace(p, line=first.line) != first or first.config != p.config):
            errors.add(located, ("prompts",), f"two different prompts share the label {p.label!r}; give them distinct labels")
    return list(kept.values())


def _check_prompt_config(located: LocatedYaml, where: Path, config: dict[str, Any], errors: Collector) -> None:
    """A prompt's `config`: request settings sent with this prompt to every provider (sampling
    parameters and vendor request fields); credentials and URLs stay on the provider."""
    allowed = PROVIDER_PARAMS.union(*PASSTHROUGH.values())
    for key in config:
        if key not in allowed and key not in INERT_CONFIG:
            errors.add(located, where + (key,), f"unsupported prompt config key {key!r}: a prompt's config may hold request settings "
                                                "(temperature, max_tokens, response_format, tools, …); set anything else on the provider")


def _prompt(tree, base_dir, located, errors, where, ref: str, label: str | None, max_bytes: int | None = None) -> list[PromptSpec]:
    line = located.line_of(where)
    scheme = next((s for s in PROMPT_URI_SCHEMES if ref.startswith(s) and "\n" not in ref), None)
    if scheme is not None:
        errors.add(located, where, (
            f"unsupported: prompts from {scheme} are not part of prompt-review — the prompt text must be in the "
            "repository to be reviewed (commit it and use file://)"
        ))
        return []
    if not ref.startswith("file://") and _names_a_file(ref):  # promptfoo reads `prompts/a.txt`, `*.txt` as files too
        glob = any(ch in ref for ch in "*?[{")
        if not glob or not isinstance(expand_refs(tree, base_dir, ref), str):  # a glob matching nothing is text, as there
            return _prompt(tree, base_dir, located, errors, where, f"file://{ref}", label, max_bytes)
    if not ref.startswith("file://"):
        try:
            fmt, messages = _chat_from_text(ref, located.file, line)
        except UserError as exc:
            errors.extend(exc)
            return []
        return [PromptSpec(label or _short(ref), ref, fmt, None, messages, line)]
    if is_code_ref(ref[len("file://"):]):
        return _prompt_function(tree, base_dir, located, errors, where, ref, label, max_bytes)
    found = file_ref_paths(tree, base_dir, located, errors, where, ref, "a prompt function")
    out = []
    for p in found:
        try:
            text = read_text(tree, p, max_bytes)
            parts = _parse_prompt_file(p, text)
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
        if p.lower().endswith(".csv"):  # one prompt per row, each with its own label (promptfoo's processCsvPrompts)
            for row_label, row in csv_prompts(text, label):
                try:
                    fmt, messages = _chat_from_text(row, p, line)
                except UserError as exc:
                    errors.extend(exc)
                    continue
                out.append(PromptSpec(row_label, row, fmt, p, messages, line))
            continue
        for n, (part, fmt, messages) in enumerate(parts):
            out.append(PromptSpec(name if len(parts) == 1 else f"{name}#{n + 1}", part, fmt, p, messages, line))
    return out


# promptfoo's VALID_FILE_EXTENSIONS: a one-line prompt that ends with one (maybe before `:function`) names a file
_PROMPT_FILE_EXTENSIONS = (".cjs", ".cts", ".j2", ".js", ".json", ".jsonl", ".md", ".mjs", ".mts", ".py", ".ts", ".tsx", ".txt", ".yml", ".yaml")


def _names_a_file(ref: str) -> bool:
    """Whether promptfoo reads a prompt given without file:// as a file path: one line, and a known prompt-file
    extension at its end (or before a `:function`), or a glob. (promptfoo also takes any one-line text with a `/` or
    a dot near its end for a path and fails when no such file exists; here such text stays a prompt.)"""
    if "\n" in ref:
        return False
    tokens = ref.split(":")
    if any(t.endswith(_PROMPT_FILE_EXTENSIONS) for t in tokens[-2:]):
        return True
    return any(ch in ref for ch in "*?[{") and " " not in ref.strip()


_PROMPT_FUNCTION = re.compile(r"(?P<path>[^:]+?\.(?:py|js|cjs|mjs|ts|mts|cts|tsx))(?::(?P<name>[A-Za-z_$][\w$]*(?:\.[A-Za-z_]\w*)?))?\Z")


def _prompt_function(tree, base_dir, located, errors, where, ref: str, label: str | None, max_bytes: int | None) -> list[PromptSpec]:
    """`file://prompt.js[:name]` or `file://prompt.py:name`: a function of the test's vars that returns the
    prompt (text or messages). It runs in the sandbox when the cases are expanded, under the same gate as
    any suite code (docs/sandbox.md); nothing runs while loading."""
    inner = ref[len("file://"):]
    m = _PROMPT_FUNCTION.match(inner)
    if m is None:
        errors.add(located, where, f"refused: {ref} is a prompt function prompt-review does not run (it runs JavaScript "
                                   ".js/.cjs/.mjs, TypeScript .ts/.mts/.cts/.tsx and Python .py functions in its sandbox; "
                                   "other code is not run)")
        return []
    path, name = resolve(base_dir, m["path"]), m["name"]
    if path is None or tree.read(path) is None:
        errors.add(located, where, f"prompt function file {m['path']!r} not found")
        return []
    try:
        text = read_text(tree, path, max_bytes)
    except FileTooLarge as exc:
        errors.add(located, where, f"prompt function file {path} is {exc.size:,} bytes, over the limit of {exc.limit:,} "
                                   f"(raise `limits.max_prompt_bytes` in {CONFIG_PATH})")
        return []
    except UserError as exc:
        errors.extend(exc)
        return []
    code: Code
    if path.endswith(".py"):
        if name is None:  # promptfoo runs the script with the context's JSON as its argument: what it prints is the prompt
            code = PyCode(text, file=path, function=SCRIPT)
        else:  # promptfoo calls fn(context); the sandbox calls (output, context): a wrapper after the file's own lines
            code = PyCode(f"{text}\n\ndef __pr_prompt(output, context):\n    return {name}(context)\n", file=path, function="__pr_prompt")
        try:  # the repository's own modules it imports (bot.evals.sandbox.py_modules)
            code = link_python(code, tree, errors.max_file_bytes)
        except SandboxError as exc:
            errors.add(located, where, f"prompt function {ref}: {exc.message}")
            return []
    else:
        if name is not None and "." in name:
            errors.add(located, where, f"{ref}: a JavaScript prompt function is a module export (file://{m['path']}:name)")
            return []
        try:  # called as fn(context): its first argument is the context
            js = typescript_code(text, path, name) if is_typescript(path) else JsCode(text, file=path, function=name)
            code = link(js, tree, errors.max_file_bytes)
        except SandboxError as exc:  # TypeScript esbuild could not transpile: its file:line:column; a refused require
            errors.add(located, where, f"prompt function {ref}: {exc.message}")
            return []
    return [PromptSpec(label or inner, text, "function", path, (), located.line_of(where), code=code)]


def _short(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= 60 else flat[:59] + "…"


_TEMPLATE_TAG = re.compile(r"{%|{{")


def _json_lines(path: str, text: str) -> LocatedYaml | None:
    """Line numbers for a JSON file's values (JSON is YAML); None in the rare case YAML reads it otherwise."""
    try:
        return load_yaml(text, path)
    except UserError:
        return None


def csv_prompts(text: str, label: str | None) -> list[tuple[str, str]]:
    """(label, prompt) per prompt of a .csv prompt file, as promptfoo 0.121's processCsvPrompts reads it: text without
    a comma is one prompt per non-blank line (a first line `prompt` is a header); otherwise a table whose `prompt`
    column holds the prompts (values trimmed; rows without one skipped) and whose `label` column names them. A
    prompt without a label is named by the entry's label — `LABEL: PROMPT` when the file holds several, as newer
    promptfoo names them, so they stay apart and `prompts: [LABEL]` still names them all — else `Prompt N - PROMPT`."""
    text = text.removeprefix("\ufeff")
    rows: list[tuple[str | None, str]]
    if "," not in text:
        lines = [ln for ln in re.split(r"\r?\n", text) if ln.strip()]
        rows = [(None, ln) for ln in lines[1 if lines and lines[0].strip().lower() == "prompt" else 0:]]
    else:
        table = list(csv.reader(io.StringIO(text, newline="")))
        header = [h.strip() for h in table[0]] if table else []
        rows = []
        for values in table[1:]:
            if not any(v.strip() for v in values):
                continue
            record = {h: v.strip() for h, v in zip(header, values)}
            if record.get("prompt"):
                rows.append((record.get("label") or None, record["prompt"]))
    out = []
    for n, (own, prompt) in enumerate(rows, 1):
        if own:
            name = own
        elif label:
            name = f"{label}: {prompt}" if len(rows) > 1 else label
        else:
            name = f"Prompt {n} - {prompt}"
        out.append((name, prompt))
    return out


def _parse_prompt_file(path: str, text: str) -> list[tuple[str, PromptFormat, tuple[tuple[str, str], ...]]]:
    """(template, format, messages) per prompt in the file: a .txt file holds several prompts separated
    by lines of `---` (as promptfoo splits them); a .jsonl file one chat prompt per line."""
    lower = path.lower()
    if lower.endswith(".json"):
        try:
            data = load_json(path, text)
        except UserError:
            if not _TEMPLATE_TAG.search(text):
                raise
            # template tags between the messages ({% for %} over a history): promptfoo renders the whole
            # file, then reads the message list; so does the renderer for this format
            return [(text, "chat-template", ())]
        return [(text, "chat", chat_messages(path, data, _json_lines(path, text)))]
    if lower.endswith((".yaml", ".yml")):
        located = load_yaml(text, path)
        return [(text, "chat", chat_messages(path, located.data, located))]
    if lower.endswith(".jsonl"):
        lines = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
        if not lines:
            raise UserError(SourceError(path, "a .jsonl prompt file needs one JSON message list per line", 1))
        out: list[tuple[str, PromptFormat, tuple[tuple[str, str], ...]]] = []
        for n, line in lines:
            try:
                out.append((line, "chat", chat_messages(path, load_json(path, line))))
            except UserError as exc:
                raise UserError(SourceError(path, exc.errors[0].message, n)) from None
        return out
    if lower.endswith(".txt"):
        parts: list[str] = []
        buf: list[str] = []
        split = False
        for line in text.split("\n"):
            if line.strip() == "---":
                split = True
                parts.append("\n".join(buf).strip())
                buf = []
            else:
                buf.append(line.rstrip("\r"))
        parts.append("\n".join(buf).strip())
        parts = [p for p in parts if p]
        if split and parts:
            return [(p, "text", ()) for p in parts]
    return [(text, "text", ())]


def _chat_from_text(text: str, file: str = "<inline prompt>", line: int | None = None) -> tuple[PromptFormat, tuple[tuple[str, str], ...]]:
    """An inline prompt that is a JSON message list is a chat prompt (as in promptfoo).

    Raises UserError (file, line) when it is nested too deeply to read: calling it text would review
    something other than what promptfoo runs.
    """
    stripped = text.strip()
    if stripped.startswith("["):
        try:
            data = safejson.loads(stripped)
            return "chat", chat_messages("<inline prompt>", data)
        except safejson.JsonTooDeep as exc:
            message = f"the inline chat prompt is JSON nested deeper than {exc.limit} levels (limit {exc.limit})"
            raise UserError(SourceError(file, message, line)) from None
        except (json.JSONDecodeError, UserError):
            pass
    return "text", ()


def chat_messages(path: str, data: Any, located: LocatedYaml | None = None) -> tuple[tuple[str, str], ...]:
    """(role, content) pairs of a chat prompt's message list; UserError (file, line) for anything else.

    A content given as parts (text, images, audio, in any vendor's form) is a Parts: the parts as
    written, sent to the vendor as promptfoo sends them (bot.evals.providers_wire)."""
    if not isinstance(data, list) or not data:
        raise UserError(SourceError(path, "a chat prompt must be a non-empty list of {role, content} messages", 1))
    out: list[tuple[str, str]] = []
    for i, msg in enumerate(data):
        line = located.line_of((i,)) if located else None
        if not isinstance(msg, dict):
            raise UserError(SourceError(path, f"message {i + 1} must have a role and text content", line))
        content = msg.get("content")
        extra = set(msg) - {"role", "content"}
        if msg.get("type") == "message":  # OpenAI's responses API writes it; the role and content say it all
            extra.discard("type")
        if isinstance(content, list):
            if not content or not all(isinstance(p, (dict, str)) for p in content):
                raise UserError(SourceError(path, f"message {i + 1}: content parts must be a non-empty list of part mappings", line))
        elif extra or not isinstance(content, str):
            raise UserError(SourceError(path, f"message {i + 1} must have a role and text content (or a list of content parts)", line))
        if msg.get("role") not in ("system", "user", "assistant"):
            raise UserError(SourceError(path, f"message {i + 1}: role must be system, user or assistant", line))
        out.append((msg["role"], Parts(content) if isinstance(content, list) else content))
    return tuple(out)


# ---- providers -------------------------------------------------------------------------------


def _code_reader(tree: FileTree | None, base_dir: str, located: LocatedYaml, errors: Collector) -> CodeReader | None:
    """How a provider's transforms are read: from this side's tree, relative to the suite's folder (run later,
    under the code gate). Without a tree nothing can be read, and they are refused."""
    if tree is None:
        return None
    def read(where: Path, value: Any, what: str) -> Code | None:
        if what == "provider" and isinstance(value, str) and value.startswith("package:"):  # the package's file
            value, problem = package_ref(tree, base_dir, value)
            if problem:
                errors.add(located, where, problem)
                return None
        # a provider's `transform` is read by promptfoo's getInlineTransformFunction, as options.transform is
        return transform_code(tree, base_dir, located, where, value, errors, what, as_written=what == "provider transform")

    return read


def load_providers(located: LocatedYaml, errors: Collector, tree: FileTree | None = None, base_dir: str = "",
                   code: LoadCode = NOT_DECIDED) -> list[ProviderSpec]:
    data = located.data
    key = "targets" if "targets" in data and "providers" not in data else "providers"
    if "targets" in data and "providers" in data:
        errors.add(located, ("targets",), "give either `providers` or its alias `targets`, not both")
    raw = data.get(key)
    if raw is None:
        errors.add(located, (), "a suite needs `providers` (or its alias `targets`)")
        return []
    entries: list[tuple[LocatedYaml, Path, Any]]
    if isinstance(raw, (str, dict)):
        entries = [(located, (key,), raw)]
    elif isinstance(raw, list):
        entries = [(located, (key, i), item) for i, item in enumerate(raw)]
    else:
        errors.add(located, (key,), f"{key} must be a list")
        return []
    out = []
    for src, where, item in entries:
        if isinstance(item, str) and item.startswith("file://") and tree is not None and code_provider_ref(item) is None:
            for doc, at, loaded in _providers_from_file(tree, base_dir, src, where, item, errors):
                spec = parse_provider(loaded, doc, at, errors, code=_code_reader(tree, base_dir, doc, errors),
                                      files=request_reader(tree, base_dir, doc, errors))
                if spec is not None:
                    out.append(with_files(spec, tree, base_dir, doc, at, errors, code))  # paths from the suite folder, as promptfoo
            continue
        spec = parse_provider(item, src, where, errors, code=_code_reader(tree, base_dir, src, errors),
                              files=request_reader(tree, base_dir, src, errors))
        if spec is not None:
            out.append(with_files(spec, tree, base_dir, src, where, errors, code))
    # promptfoo runs the same id twice (e.g. with two settings); unlabelled, they are told apart by position
    slots = [p.slot for p in out]
    twice = {s for s in slots if slots.count(s) > 1}
    numbered = {s for s in twice if all(p.label is None for p in out if p.slot == s)}
    seen: dict[str, int] = {}
    for i, p in enumerate(out):
        if p.slot in numbered:
            seen[p.slot] = seen.get(p.slot, 0) + 1
            out[i] = dataclasses.replace(p, label=f"{p.id}#{seen[p.slot]}")
    for s in sorted(twice - numbered):
        errors.add(located, (key,), f"provider {s!r} is listed twice; give each a distinct label")
    return out


def _providers_from_file(tree, base_dir, located, where, ref: str, errors) -> list[tuple[LocatedYaml, Path, Any]]:
    """Providers defined in a YAML/JSON file (`file://provider.yaml`): one mapping or a list of them."""
    if not ref.lower().endswith((".yaml", ".yml", ".json")) and not any(ch in ref for ch in "*?["):
        refused = provider_kind(ref)  # code the sandbox does not run (TypeScript, Go, a shell script…) says so
        errors.add(located, where, refused if is_code_ref(ref[len("file://"):]) and isinstance(refused, str)
                   else f"unsupported: provider {ref!r}: must be a .yaml, .yml or .json file")
        return []
    out: list[tuple[LocatedYaml, Path, Any]] = []
    for path in file_ref_paths(tree, base_dir, located, errors, where, ref, "a provider written in code"):
        try:
            doc = load_yaml(read_text(tree, path), path)  # JSON is YAML; this keeps line numbers
        except UserError as exc:
            errors.extend(exc)
            continue
        if isinstance(doc.data, list):
            out.extend((doc, (i,), item) for i, item in enumerate(doc.data))
        elif isinstance(doc.data, dict):
            out.append((doc, (), doc.data))
        else:
            errors.add(doc, (), "a provider file must hold a provider mapping or a list of them")
    return out
