"""promptfoo's extension hooks (`extensions: [file://hooks.py:fn, file://hooks.js:fn]`). `beforeAll` may change the
suite's tests, defaultTest and scenarios, `beforeEach` each test: both run while the suite loads (like test
generators), in the sandbox, under the same code gate (the base branch's hook always, the PR's by
`evals.run_pr_code`, a fork's never), and what they give back is hostile data, bounded and then checked like tests
written in a file. `afterEach` and `afterAll` are not run: in promptfoo they cannot change a verdict (docs/sandbox.md).

Calling conventions, as promptfoo's runExtensionHook: `file://x:beforeAll` (a hook's own name) runs for that hook only,
called as fn(context, {hookName}); any other name runs for every hook, called as fn(hookName, context). A falsy
answer leaves the context as it was — except that a JavaScript hook's changes made in place count (promptfoo hands it
live objects); a Python hook gets a copy (promptfoo's JSON round trip).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from bot.core.errors import SourceError
from bot.core.files import FileTree
from bot.core.yamlsrc import LocatedYaml, Path
from bot.evals.generators import MAX_VALUES, LoadCode, _values
from bot.evals.sandbox import JsCode, PyCode, SandboxError, transform_sync, typescript_code
from bot.evals.sandbox.js_modules import link
from bot.evals.sandbox.js_hooks import HookError, JsHookSession, call_hooks_javascript
from bot.evals.sandbox.repo_files import RepoFiles
from bot.evals.sandbox.result import CodeLimits, Fault
from bot.evals.sandbox.typescript import is_typescript
from bot.evals.sources import Collector, read_code_file

HOOK_NAMES = ("beforeAll", "beforeEach", "afterEach", "afterAll")
RUN = ("beforeAll", "beforeEach")  # the hooks that can change what is checked
MAX_EXTENSIONS = 10  # each may run up to limits.code_timeout_s per hook while the suite loads
CHUNK = 250  # tests per beforeEach run, and about as many bytes of them (as JSON): bounds what one run reads and returns
CHUNK_BYTES = 2_000_000
# suite fields a beforeAll hook's answer replaces (promptfoo's runExtensionHook); the rest stay as they were
REPLACED = ("prompts", "providerPromptMap", "tests", "scenarios", "defaultTest", "nunjucksFilters", "derivedMetrics", "redteam")
CHANGEABLE = ("tests", "scenarios", "defaultTest")  # what prompt-review takes from them; a change to the others is an error

_REF = re.compile(r"file://(?P<path>[^:]+?\.(?P<ext>py|js|cjs|mjs|ts|mts|cts|tsx)):(?P<name>[A-Za-z_$][\w$]*)\Z")

# A Python hook runs in a fresh process per call in promptfoo: here one sandbox child runs the module afresh for each
# call. Its folder exists inside the scratch directory, so a hook that writes next to its own file writes there.
_PY_BATCH = '''\
import os as _os


def __pr_hooks(output, context):
    folder = _os.path.dirname(__file__)
    if folder:
        _os.makedirs(folder, exist_ok=True)
    out = []
    for index, args in enumerate(output):
        scope = {"__name__": context["module"], "__file__": __file__}
        try:
            exec(compile(context["source"], __file__, "exec"), scope)
            fn = scope.get(context["name"])
            if not callable(fn):
                return {"missing": context["name"]}
            out.append({"ret": fn(*args)})
        except (MemoryError, RecursionError, ModuleNotFoundError):
            raise
        except Exception as exc:
            line, tb = getattr(exc, "lineno", None) if isinstance(exc, SyntaxError) else None, exc.__traceback__
            while tb is not None:
                if tb.tb_frame.f_code.co_filename == __file__ and tb.tb_frame.f_code.co_name != "__pr_hooks":
                    line = tb.tb_lineno
                tb = tb.tb_next
            return {"threw": type(exc).__name__ + ": " + str(exc)[:2000], "line": line, "index": index}
    return out
'''


@dataclass(frozen=True)
class Extension:
    """One entry of `extensions`: the hook file's function, its code as read from this side's tree."""

    ref: str  # as written: file://hooks.py:extension_hook
    path: str  # the file's repo path
    name: str  # the function
    text: str  # the file as written (what the gate, fingerprints and change reasons compare)
    code: JsCode | PyCode
    where: Path  # ("extensions", i) in the suite file
    listed: str  # "suite.yaml:12": where the suite lists it, for messages about what it returned

    @property
    def only(self) -> str | None:
        """The one hook it runs for (promptfoo's new convention), or None: every hook, called with its name."""
        return self.name if self.name in HOOK_NAMES else None

    def runs(self, hook: str) -> bool:
        return hook in RUN and self.only in (None, hook)

    def call(self, hook: str, context: dict[str, Any]) -> list[Any]:
        return [context, {"hookName": hook}] if self.only else [hook, context]


def load_extensions(tree: FileTree, base_dir: str, located: LocatedYaml, errors: Collector, code: LoadCode) -> tuple[Extension, ...] | None:
    """The suite's extensions, read from this side's tree; None when one of them is an error (added to `errors` at its
    line: a bad form, a missing file, a hook the code gate refuses). A hook that runs only after the cases
    (`:afterEach`, `:afterAll`) is read (it is part of the suite under review) but never run, so never refused."""
    raw = located.data.get("extensions")
    if raw is None:
        return ()
    if not isinstance(raw, list):
        errors.add(located, ("extensions",), "extensions must be a list of file://path:function entries")
        return None
    if len(raw) > MAX_EXTENSIONS:
        errors.add(located, ("extensions",), f"more than {MAX_EXTENSIONS} extensions in one suite; one hook function may do "
                                             "the work of several")
        return None
    out: list[Extension] = []
    before = len(errors.errors)
    for i, item in enumerate(raw):
        where: Path = ("extensions", i)
        ext = _extension(tree, base_dir, located, where, item, errors, code)
        if ext is not None:
            out.append(ext)
    return tuple(out) if len(errors.errors) == before else None


def _extension(tree: FileTree, base_dir: str, located: LocatedYaml, where: Path, item: Any, errors: Collector,
               code: LoadCode) -> Extension | None:
    m = _REF.match(item.strip()) if isinstance(item, str) else None
    if m is None:
        text = item if isinstance(item, str) else repr(item)
        errors.add(located, where, f"extension {text[:200]!r} must be file://path/to/file.py:function_name, or a JavaScript "
                                   "(.js, .cjs, .mjs) or TypeScript (.ts, .mts, .cts, .tsx) file and its function (promptfoo's form)")
        return None
    name = m["name"]
    found = read_code_file(tree, base_dir, m["path"], located, where, errors, "extension hook", "extension hook file")
    if found is None:
        return None
    path, raw = found
    text = raw.decode("utf-8", errors="replace")
    listed = f"{located.file}:{located.line_of(where)}"
    stub: JsCode | PyCode = PyCode(_PY_BATCH, file=path, function="__pr_hooks")
    ext = Extension(item.strip(), path, name, text, stub, where, listed)
    if not any(ext.runs(hook) for hook in RUN):
        return ext  # afterEach/afterAll only: never run
    refused = code.refusal(path, raw, "extension hook")
    if refused:
        errors.add(located, where, refused)
        return None
    if m["ext"] == "py":
        return ext
    try:
        js = typescript_code(text, path, name) if is_typescript(path) else JsCode(text, file=path, function=name)
        js = link(js, tree, errors.max_file_bytes)
    except SandboxError as exc:  # TypeScript esbuild could not transpile: its file:line:column; a refused require
        errors.add(located, where, f"extension hook {ext.ref}: {exc.message}")
        return None
    refused = code.helpers_refusal(js, "extension hook")
    if refused:
        errors.add(located, where, refused)
        return None
    errors.helpers.update((m.path, path) for m in js.modules)
    return Extension(ext.ref, path, name, text, js, where, listed)


Sessions = dict[str, JsHookSession]  # a JavaScript hook file's runtime for one suite load, by path


Readers = Callable[[str], RepoFiles]  # the repository's files, read-only, for a hook file's code, by path


def run_hook(ext: Extension, hook: str, contexts: list[dict[str, Any]], limits: CodeLimits,
             sessions: Sessions | None = None, files: RepoFiles | None = None) -> list[tuple[Any, Any]]:
    """Per context, (what the hook returned — None when falsy —, the context after the call: the same for a Python
    hook, changed in place for a JavaScript one). SandboxError when it threw or a limit or refusal stopped it. A
    JavaScript file runs in its session of `sessions` (made on first use), so its module is loaded once; with
    `files`, its `fs` reads the repository through it."""
    calls = [ext.call(hook, c) for c in contexts]
    at = 0 if ext.only else 1
    if isinstance(ext.code, JsCode):
        if sessions is None:
            found = call_hooks_javascript(ext.code, calls, at, limits, files)
        else:
            if ext.path not in sessions:
                sessions[ext.path] = JsHookSession(replace(ext.code, function=None), limits, files)
            found = sessions[ext.path].run(calls, at, ext.name)
        return [(r.get("context") if r.get("same") else r["ret"] if "ret" in r else None, r.get("context", contexts[i]))
                for i, r in enumerate(found)]  # no "context": unchanged
    module = ext.path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    value = transform_sync(ext.code, calls, {"source": ext.text, "name": ext.name, "module": module}, limits, files)
    if isinstance(value, dict) and "missing" in value:
        raise SandboxError(Fault.UNSUPPORTED, f"{ext.path} defines no function {value['missing']!r} to call")
    if isinstance(value, dict) and "threw" in value:
        line, index = value.get("line"), value.get("index")
        at_line = f" (line {line})" if isinstance(line, int) else ""
        raise HookError(Fault.THREW, f"Python code threw an error: {str(value['threw'])[:2000]}{at_line}",
                        index if isinstance(index, int) else None)
    if not isinstance(value, list) or len(value) != len(calls) or not all(isinstance(r, dict) for r in value):
        raise SandboxError(Fault.THREW, "the hook's answer could not be read")
    return [(None if _falsy(r.get("ret")) else r.get("ret"), contexts[i]) for i, r in enumerate(value)]


def _falsy(value: Any) -> bool:
    """JavaScript's falsy, for a JSON value (promptfoo tests a hook's answer with `if (answer)`)."""
    return value is None or value is False or value == "" or (isinstance(value, (int, float)) and not isinstance(value, bool) and value == 0)


class HookOutput(LocatedYaml):
    """What a hook gave back, read like a suite file without lines: each problem names the hook's file, where in its
    answer, and the suite line that lists it."""

    def __init__(self, ext: Extension, hook: str, data: Any) -> None:
        super().__init__(ext.path, data)
        self.origin = f"{hook} hook {ext.ref} (listed at {ext.listed})"

    def error(self, path: Path, message: str) -> SourceError:
        at = ".".join(str(p) for p in path) or "the returned value"
        return SourceError(self.file, f"{message} ({at} returned by {self.origin})")


def _chunks(tests: list[dict[str, Any]]) -> list[tuple[int, int]]:
    """(start, end) of each run of beforeEach: at most CHUNK tests and about CHUNK_BYTES of them."""
    out, start, size = [], 0, 0
    for i, test in enumerate(tests):
        weight = len(json.dumps(test, default=str))
        if i > start and (i - start >= CHUNK or size + weight > CHUNK_BYTES):
            out.append((start, i))
            start, size = i, 0
        size += weight
    if start < len(tests):
        out.append((start, len(tests)))
    return out


def _kind(value: Any) -> str:
    return "null" if value is None else {"dict": "a mapping", "str": "text", "list": "a list"}.get(type(value).__name__, type(value).__name__)


def _bounded(value: Any, ext: Extension, hook: str, located: LocatedYaml, errors: Collector) -> bool:
    if _values(value, MAX_VALUES) > MAX_VALUES:
        errors.add(located, ext.where, f"{hook} hook {ext.ref} returned more than {MAX_VALUES:,} values (keys, values and items), "
                                       "more than a test file may hold")
        return False
    return True


def _files(ext: Extension, readers: Readers | None, errors: Collector) -> RepoFiles | None:
    """The reader of `ext`'s code, whose reads are dependencies of the suite (recorded as they happen)."""
    if readers is None:
        return None
    files = readers(ext.path)
    files.touched = errors.reads.setdefault(ext.path, files.touched)
    return files


def before_all(exts: tuple[Extension, ...], suite: dict[str, Any], located: LocatedYaml, errors: Collector,
               limits: CodeLimits, sessions: Sessions | None = None,
               readers: Readers | None = None) -> tuple[dict[str, Any], Extension | None] | None:
    """The suite view after every beforeAll hook, and the last hook that changed it (None: none did); None when one
    failed (the error is added at the line that lists it)."""
    changed_by: Extension | None = None
    for ext in exts:
        if not ext.runs("beforeAll"):
            continue
        try:
            (returned, after), = run_hook(ext, "beforeAll", [{"suite": suite}], limits, sessions, _files(ext, readers, errors))
        except SandboxError as exc:
            errors.add(located, ext.where, f"extension hook {ext.ref} (beforeAll): {exc.message}")
            return None
        if returned is not None and not (isinstance(returned, dict) and isinstance(returned.get("suite"), dict)):
            errors.add(located, ext.where, f"extension hook {ext.ref} (beforeAll) must return its context (with `suite`) or "
                                           f"nothing; it returned {_kind(returned)}")
            return None
        kept: dict[str, Any] = after["suite"] if isinstance(after, dict) and isinstance(after.get("suite"), dict) else suite
        new = kept if returned is None else {**kept, **{k: returned["suite"].get(k) for k in REPLACED}}
        new = {k: v for k, v in new.items() if v is not None}
        if not _bounded(new, ext, "beforeAll", located, errors):
            return None
        for key in REPLACED:
            if key not in CHANGEABLE and new.get(key) != suite.get(key):
                errors.add(located, ext.where, f"unsupported: extension hook {ext.ref} (beforeAll) changed the suite's `{key}`; "
                                               "prompt-review takes tests, defaultTest and scenarios from a hook (prompts, "
                                               "providers and filters are reviewed as the suite's files say)")
                return None
        if any(new.get(k) != suite.get(k) for k in CHANGEABLE):
            changed_by = ext
        suite = new
    return suite, changed_by


def before_each(exts: tuple[Extension, ...], tests: list[dict[str, Any]], located: LocatedYaml, errors: Collector,
                limits: CodeLimits, names: list[str] | None = None, sessions: Sessions | None = None,
                readers: Readers | None = None) -> list[tuple[dict[str, Any], tuple[Extension, ...]]] | None:
    """Each test after every beforeEach hook, with the hooks that changed it; None when one failed (the error is added
    at the line that lists it, naming the test: `names`, one per test, say where each is written)."""
    out: list[tuple[dict[str, Any], tuple[Extension, ...]]] = [(t, ()) for t in tests]
    for ext in exts:
        if not ext.runs("beforeEach"):
            continue
        for start, end in _chunks([t for t, _ in out]):
            part = out[start:end]
            try:
                found = run_hook(ext, "beforeEach", [{"test": t} for t, _ in part], limits, sessions, _files(ext, readers, errors))
            except SandboxError as exc:
                index = exc.index if isinstance(exc, HookError) else None
                on = f" on test {start + index}" + (f" ({names[start + index]})" if names else "") \
                    if index is not None and start + index < len(out) else ""
                errors.add(located, ext.where, f"extension hook {ext.ref} (beforeEach){on}: {exc.message}")
                return None
            for i, ((test, by), (returned, after)) in enumerate(zip(part, found)):
                if returned is not None and not (isinstance(returned, dict) and isinstance(returned.get("test"), dict)):
                    named = f" ({names[start + i]})" if names else ""
                    errors.add(located, ext.where, f"extension hook {ext.ref} (beforeEach) must return its context (with `test`) "
                                                   f"or nothing; for test {start + i}{named} it returned {_kind(returned)}")
                    return None
                new = returned["test"] if returned is not None else after.get("test") if isinstance(after, dict) else test
                if not isinstance(new, dict):
                    new = test
                if not _bounded(new, ext, "beforeEach", located, errors):
                    return None
                out[start + i] = (new, by + (ext,)) if new != test else (test, by)
    return out
