"""Code that makes a suite's data. Test generators (promptfoo's `tests: file://gen.py:fn`, `file://gen.js[:fn]`)
return the suite's tests: they run while the suite is loaded, in the sandbox, under the same gate as any
suite code (the base branch's code always, the PR's by `evals.run_pr_code`, a fork's never); what they
return is hostile data, bounded before it is read and checked like tests written in a file. A var computed
by code (`context: file://load_context.py`) is read here and run with the case (bot.evals.select).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from bot.core.config import CONFIG_PATH, EvalsConfig, LimitsConfig
from bot.core.errors import SourceError
from bot.core.files import FileTree
from bot.core.yamlsrc import DEFAULT_LIMITS, LocatedYaml, Path
from bot.evals.sandbox import JsCode, Origin, PyCode, SandboxError, may_run, origin_of, transform_sync, typescript_code
from bot.evals.sandbox.js_modules import link
from bot.evals.sandbox.py_modules import link_python
from bot.evals.sandbox.repo_files import RepoFiles
from bot.evals.sandbox.typescript import is_typescript
from bot.evals.sandbox.result import CodeLimits
from bot.evals.sources import Collector, read_code_file

# promptfoo's form: a path, then `:function` (Python's default generate_tests; JavaScript's the module's export)
_REF = re.compile(r"(?P<path>[^:]+?\.(?P<ext>[A-Za-z]+))(?::(?P<name>[A-Za-z_$][\w$]*))?\Z")
RUNS = {"py": "python", "js": "javascript", "cjs": "javascript", "mjs": "javascript",
        "ts": "javascript", "mts": "javascript", "cts": "javascript", "tsx": "javascript"}  # TypeScript: types stripped by esbuild first
# values (mapping keys, values and items) one generator may return: as many as a test file may hold
MAX_VALUES = DEFAULT_LIMITS.max_nodes
# generators one suite may list: each runs up to limits.code_timeout_s while the suite loads
MAX_GENERATORS = 20


@dataclass(frozen=True)
class LoadCode:
    """Which code of one side may run while its suites are loaded. On the base side (`decide` None) all of
    it runs; on the head, a file the base branch has with the very same bytes at the same path is the
    base's, anything else the PR's, for which `decide(what)` says (allowed, reason)."""

    base: FileTree | None = None
    decide: Callable[[str], tuple[bool, str]] | None = None
    limits: CodeLimits = CodeLimits()

    def refusal(self, path: str, text: bytes, what: str) -> str | None:
        if self.decide is None:
            return None
        if origin_of(text, self.base.read(path) if self.base is not None else None) is Origin.BASE:
            return None
        allowed, reason = self.decide(what)
        return None if allowed else reason

    def helpers_refusal(self, code: JsCode | PyCode, what: str) -> str | None:
        """The refusal of the first file `code` requires (bot.evals.sandbox.js_modules) that is the PR's, naming it."""
        for m in code.modules:
            if not m.path:
                continue
            refused = self.refusal(m.path, m.written.encode("utf-8"), f"{what}, which requires {m.path} (changed by the PR)")
            if refused:
                return refused
        return None


def _undecided(what: str) -> tuple[bool, str]:
    return False, f"refused: {what} is not run without a decision on where it comes from (bot.evals.generators.CodePolicy)"


NOT_DECIDED = LoadCode(decide=_undecided)  # safe by default: the caller says which code may run


@dataclass(frozen=True)
class CodePolicy:
    """The code gate of one review for what runs while suites load: `base` is the base branch's tree (its
    code always runs); the head's own code runs when `may_run` allows it for this PR."""

    base: FileTree
    same_repo: bool = True
    evals: EvalsConfig = field(default_factory=EvalsConfig)
    limits: LimitsConfig = field(default_factory=LimitsConfig)

    def for_tree(self, tree: FileTree) -> LoadCode:
        limits = generator_limits(self.limits)
        if tree is self.base:
            return LoadCode(limits=limits)
        return LoadCode(self.base, lambda what: may_run(Origin.PR, self.same_repo, self.evals, what), limits)


def generator_limits(limits: LimitsConfig) -> CodeLimits:
    """A generator's bounds: the code limits of the repo config, and as much output as a test file may hold."""
    return replace(CodeLimits.from_config(limits), max_output_bytes=DEFAULT_LIMITS.max_bytes)


def base_code(limits: LimitsConfig | None = None) -> LoadCode:
    """Every generator runs: for a tree of merged code (the default branch, a deployed version)."""
    return LoadCode(limits=generator_limits(limits or LimitsConfig()))


class GeneratedTests(LocatedYaml):
    """The tests a generator returned, read like a test file without lines: each problem names the
    generator's file, the test's position in what it returned, and the suite line that lists it."""

    def __init__(self, file: str, data: Any, origin: str) -> None:
        super().__init__(file, data)
        self.origin = origin

    def error(self, path: Path, message: str) -> SourceError:
        at = f"test {path[0]}" + "".join(f".{p}" for p in path[1:]) if path else "the returned value"
        return SourceError(self.file, f"{message} ({at} returned by {self.origin})")


def generated_tests(
    tree: FileTree, base_dir: str, located: LocatedYaml, where: Path, ref: str, config: Any, errors: Collector,
    code: LoadCode, max_cases: int,
) -> list[tuple[LocatedYaml, Path, Any]]:
    """The tests `ref` (file://gen.py[:fn], file://gen.js[:fn]) returns, each to be checked as a test; problems
    are added to `errors` at the suite's line (`where`) or, for a returned test, with the generator's file."""
    inner = ref[len("file://"):]
    m = _REF.match(inner)
    ext = m["ext"].lower() if m else ""
    if m is None or ext not in RUNS:
        what = "prompt-review runs JavaScript (.js, .cjs, .mjs), TypeScript (.ts, .mts, .cts, .tsx) and Python (.py) test generators"
        errors.add(located, where, f"unsupported: {ref} is a test generator prompt-review does not run ({what})")
        return []
    name = m["name"]
    found = read_code_file(tree, base_dir, m["path"], located, where, errors, "test generator", "test generator file")
    if found is None:
        return []
    path, raw = found
    args = [] if config is None else [config]  # promptfoo passes the entry's config only when it has one
    ran, value = run_at_load(tree, path, raw, RUNS[ext], name, "generate_tests", args, code, errors, located, where,
                             f"test generator {ref}", "test generator", cwd=base_dir)
    if not ran:
        return []
    label = f"{ref} (listed at {located.file}:{located.line_of(where)})"
    if not isinstance(value, list):
        kind = "null" if value is None else {"dict": "a mapping", "str": "text"}.get(type(value).__name__, type(value).__name__)
        errors.add(located, where, f"test generator {ref} must return a list of tests; it returned {kind}")
        return []
    if len(value) > max_cases:  # before a single returned test is read
        errors.add(located, where, f"test generator {ref} returned {len(value):,} tests, over the limit of {max_cases:,} cases "
                                   f"per suite; raise `limits.max_cases` in {CONFIG_PATH} if they are all wanted")
        return []
    if _values(value, MAX_VALUES) > MAX_VALUES:
        errors.add(located, where, f"test generator {ref} returned more than {MAX_VALUES:,} values (keys, values and items), "
                                   "more than a test file may hold")
        return []
    doc = GeneratedTests(path, value, label)
    out: list[tuple[LocatedYaml, Path, Any]] = []
    for i, item in enumerate(value):
        if isinstance(item, dict):
            out.append((doc, (i,), item))
        else:
            errors.add(doc, (i,), "a generated test must be a mapping with vars and assert")
    return out


def run_at_load(tree: FileTree, path: str, raw: bytes, language: str, name: str | None, python_default: str, args: list[Any],
                code: LoadCode, errors: Collector, located: LocatedYaml, where: Path, label: str, what: str,
                cwd: str = "") -> tuple[bool, Any]:
    """(True, what the file's function returns for `args`) — code that runs while a suite loads (a test generator, a
    provider's config function), under `code`'s gate: the file and the repository files it requires or imports (each a
    dependency of the suite), in the sandbox. It reads the repository, read-only, in the folder `cwd` (the suite's):
    what it looks at is a dependency of the suite too. (False, None) when it was refused or
    failed, the problem in `errors` at `where`, prefixed by `label`."""
    refused = code.refusal(path, raw, what)
    if refused:
        errors.add(located, where, refused)
        return False, None
    try:
        runnable = spread_call(language, raw.decode("utf-8", errors="replace"), path, name, python_default, exported_value=True)
        runnable = link(runnable, tree, errors.max_file_bytes) if isinstance(runnable, JsCode) else \
            link_python(runnable, tree, errors.max_file_bytes)
    except SandboxError as exc:  # a TypeScript file esbuild could not transpile: its file:line:column; a refused require
        errors.add(located, where, f"{label}: {exc.message}")
        return False, None
    refused = code.helpers_refusal(runnable, what)
    if refused:
        errors.add(located, where, refused)
        return False, None
    errors.helpers.update((m.path, path) for m in runnable.modules if m.path)
    files = RepoFiles(tree, cwd, errors.reads.setdefault(path, {}))
    try:
        return True, transform_sync(runnable, args, {}, code.limits, files)
    except SandboxError as exc:
        errors.add(located, where, f"{label}: {exc.message}")
        return False, None


def spread_call(language: str, source: str, path: str, name: str | None, python_default: str,
                exported_value: bool = False, transpiled: bool = False) -> JsCode | PyCode:
    """Code that calls a file's function with the positional arguments given as the sandbox's `output` (a
    list), as promptfoo calls generators and var functions: Python's `name` (default `python_default`);
    JavaScript's named export, else the module's function or default export — or, with `exported_value`,
    an exported value that is not a function, as it is. The wrapper is the same for the same file on either
    side, so the code's identity is still its file's. A TypeScript file is transpiled first (SandboxError for
    one esbuild refuses), and its identity is its text as written."""
    if is_typescript(path) and not transpiled:
        called = spread_call(language, typescript_code(source, path, name).source, path, name, python_default, exported_value,
                             transpiled=True)
        return replace(called, written=source) if isinstance(called, JsCode) else called
    if language == "python":
        # the sandbox calls (output, context): a wrapper after the file's own lines
        return PyCode(f"{source}\n\ndef __pr_call(output, context):\n    return {name or python_default}(*output)\n",
                      file=path, function="__pr_call")
    # read when called, after any `export` the sandbox rewrites at the end of the module
    pick = f"ex[{name!r}]" if name else "(typeof ex === 'function' || !ex || ex.default === undefined ? ex : ex.default)"
    value = "t" if exported_value else "undefined"
    return JsCode(
        f"{source}\n;module.exports.__pr_call = async function (args) {{ const ex = module.exports; const t = {pick}; "
        f"return typeof t === 'function' ? await t(...args) : {value}; }};\n",
        file=path, function="__pr_call",
    )


def var_code(tree: FileTree, base_dir: str, located: LocatedYaml, where: Path, ref: str, errors: Collector) -> JsCode | PyCode | None:
    """The code of a var whose value is `file://x.py[:fn]` or `file://x.js[:fn]` (promptfoo: Python's `get_var`
    called as get_var(var_name, prompt, other_vars); JavaScript's function export as fn(var_name, prompt,
    other_vars, provider)), read from this side's tree; it runs when the case is expanded, under the code gate."""
    m = _REF.match(ref[len("file://"):])
    ext = m["ext"].lower() if m else ""
    if m is None or ext not in RUNS:
        errors.add(located, where, f"unsupported: {ref} is a var computed by code prompt-review does not run "
                                   "(it runs JavaScript .js/.cjs/.mjs, TypeScript .ts/.mts/.cts/.tsx and Python .py in its sandbox; "
                                   "other code is not run)")
        return None
    found = read_code_file(tree, base_dir, m["path"], located, where, errors, "var code file", "var code file")
    if found is None:
        return None
    path, raw = found
    try:
        called = spread_call(RUNS[ext], raw.decode("utf-8", errors="replace"), path, m["name"], "get_var")
        return link(called, tree, errors.max_file_bytes) if isinstance(called, JsCode) else \
            link_python(called, tree, errors.max_file_bytes)
    except SandboxError as exc:
        errors.add(located, where, f"var code {ref}: {exc.message}")
        return None


def _values(value: Any, limit: int) -> int:
    """How many values `value` holds, counting stops past `limit` (iterative: the nesting is bounded already)."""
    count, stack = 0, [value]
    while stack and count <= limit:
        item = stack.pop()
        count += 1
        if isinstance(item, dict):
            count += len(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return count
