"""The repository's own files that suite code requires by relative path (`require('./utils')`,
`import {x} from '../lib/checks.js'`, a directory's index, a `.json` file), found when the code is loaded: every
string-literal relative require of a file and of what it requires in turn, resolved as Node resolves relative paths,
read from the same side's tree (bounded in count and bytes, never outside the repository) and handed to the engine as a
table of modules (LINKER below), where `require` loads each once per run, cycles included, as Node does.

    code = link(code, tree, max_file_bytes)     # JsCode with .links (its own requires) and .modules (the files)
    # SandboxError(Fault.UNSUPPORTED, …): a required file past the bounds, not UTF-8, bad JSON or TypeScript
    # when it runs: a require out of the repository is refused ("checks/grade.js:3: require('/etc/x') is an absolute
    # path …"), a relative path that names no file is Node's "Cannot find module"

What is required is part of the code's identity: bot.evals.suite.code_identity / code_fingerprint include every
module's path and text, so the code gate treats a PR-changed helper as PR code and a helper-only change re-runs the
cases whose code requires it.
"""

from __future__ import annotations

import json
import re
from collections import deque
from dataclasses import replace
from typing import TYPE_CHECKING

from bot.evals.sandbox.js_code import JsCode, Links, Module, _commonjs
from bot.evals.sandbox.js_resolve import _ABSOLUTE, _TOKENS, resolve_package, resolve_relative
from bot.evals.sandbox.result import Fault, SandboxError
from bot.evals.sandbox.typescript import TranspileError, is_typescript, transpile

if TYPE_CHECKING:
    from bot.core.files import FileTree

MAX_MODULES = 256  # files one piece of code may require (directly or not), besides itself (a monorepo package: ~6 ms a call for 250)
MAX_TOTAL_BYTES = 2 * 1024 * 1024  # their bytes together

# a require with a string literal (imports are rewritten to these first: bot.evals.sandbox.js._commonjs)
_REQUIRE = re.compile(r"(?<![\w$.])require\s*\(\s*(?:'(?P<single>[^'\\\n]*)'|\"(?P<double>[^\"\\\n]*)\")\s*\)")
_RELATIVE = re.compile(r"\A\.\.?(?:/|\Z)")

REFUSED = "\x00"  # a link target that is a refusal (its message follows): no repository path starts with NUL


class _Budget:
    def __init__(self, per_file: int):
        self.per_file, self.files, self.bytes = per_file, 0, 0


def link(code: JsCode, tree: FileTree, max_file_bytes: int) -> JsCode:
    """`code` (a file's) with the files it requires by relative path, transitively; unchanged when it requires none.
    Raises SandboxError naming the file for a required file past the bounds, or one that is not UTF-8 / valid JSON /
    TypeScript esbuild can read."""

    if code.file is None:
        return code
    budget = _Budget(max_file_bytes)
    main_written = code.written if code.written is not None else code.source
    links = _links(code.file, _commonjs(code), main_written, tree)
    if not links:
        return code
    modules: dict[str, Module] = {}
    todo = deque(target for _, target in links if target is not None and not target.startswith(REFUSED))
    while todo:
        path = todo.popleft()
        if path in modules or path == code.file:
            continue
        module = _read(path, tree, budget)
        modules[path] = module  # before its own requires: a cycle comes back to it
        module = replace(module, links=_links(path, module.source, module.written, tree))
        modules[path] = module
        todo.extend(t for _, t in module.links if t is not None and not t.startswith(REFUSED) and t not in modules)
    return replace(code, links=links, modules=tuple(sorted(modules.values(), key=lambda m: m.path)))


def _links(path: str, source: str, written: str, tree: FileTree) -> Links:
    """Where each string-literal require of the file leads. A path out of the repository (absolute, or `..` above its
    root) leads to its refusal (REFUSED + the message, with the requiring file's line): the require is refused when it
    runs, as a missing file fails when it runs — the rest of the suite loads, as in promptfoo."""
    out: dict[str, str | None] = {}
    for m in _REQUIRE.finditer(_code_only(source)):
        spec = m.group("single") if m.group("single") is not None else m.group("double")
        if spec in out:
            continue
        if not (_RELATIVE.match(spec) or _ABSOLUTE.match(spec)):
            # a package: the repository's own (a workspace package, a committed node_modules) is loaded as its files;
            # any other the engine's require answers (a Node built-in, promptfoo) or refuses, saying so
            found = resolve_package(path, spec, tree)
            if found is not None:
                out[spec] = found
            continue
        where = _where(path, written, spec)
        if _ABSOLUTE.match(spec):
            out[spec] = REFUSED + (f"{where}: require('{spec}') is an absolute path; only the repository's own files are "
                                   "loaded, by a path relative to the requiring file ('./x', '../lib/x')")
            continue
        try:
            out[spec] = resolve_relative(path, spec, tree, where)
        except SandboxError as exc:
            out[spec] = REFUSED + exc.message
    return tuple(out.items())


def _code_only(source: str) -> str:
    """`source` with its comments blanked (newlines kept): a require in a comment is not one. Strings and template
    literals are kept whole; a regex literal is not told apart (a `//` inside one blanks the rest of its line)."""
    return _TOKENS.sub(lambda m: "\n" * m.group(0).count("\n") if m.group(0).startswith("/") else m.group(0), source)


def _read(path: str, tree: FileTree, budget: _Budget) -> Module:
    from bot.evals.sources import FileTooLarge, read_bounded

    budget.files += 1
    if budget.files > MAX_MODULES:
        raise SandboxError(Fault.UNSUPPORTED, f"{path}: more than {MAX_MODULES} files are required (directly or not) by one "
                                              "piece of suite code; the sandbox loads at most that many")
    left = MAX_TOTAL_BYTES - budget.bytes
    try:
        raw = read_bounded(tree, path, min(budget.per_file, left))
    except FileTooLarge as exc:
        limit = "the per-file limit (`limits.max_prompt_bytes`)" if exc.limit == budget.per_file else \
            f"what is left of the {MAX_TOTAL_BYTES:,} bytes all required files may take together"
        raise SandboxError(Fault.UNSUPPORTED, f"{path} (required by suite code) is {exc.size:,} bytes, over {limit}") from None
    if raw is None:  # it was there a moment ago: a tree does not change, but be plain about it
        raise SandboxError(Fault.UNSUPPORTED, f"{path} (required by suite code) could not be read")
    budget.bytes += len(raw)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise SandboxError(Fault.UNSUPPORTED, f"{path} (required by suite code) is not UTF-8 text") from None
    if path.lower().endswith(".json"):
        from bot.core import safejson

        try:
            data = safejson.loads(text)
        except (ValueError, safejson.JsonTooDeep) as exc:
            line = f":{exc.lineno}" if isinstance(exc, json.JSONDecodeError) else ""
            raise SandboxError(Fault.UNSUPPORTED, f"{path}{line}: invalid JSON (required by suite code)") from None
        return Module(path, f"module.exports = {json.dumps(data)};", text)
    if is_typescript(path):
        try:
            js = transpile(text, path)
        except TranspileError as exc:
            raise SandboxError(Fault.UNSUPPORTED, str(exc)) from None
        return Module(path, _commonjs(JsCode(js, file=path)), text)
    return Module(path, _commonjs(JsCode(text, file=path)), text)


def _where(path: str, written: str, spec: str) -> str:
    """`file:line` of the first place the file's text names `spec` in quotes (its text as written, for TypeScript)."""
    for quote in ("'", '"', "`"):
        at = written.find(f"{quote}{spec}{quote}")
        if at >= 0:
            return f"{path}:{written.count(chr(10), 0, at) + 1}"
    return path


def table(code: JsCode) -> str:
    """The engine's module table for `code` (LINKER): every file's JavaScript and where each require leads; '' for
    inline code (not a module: its require is the harness's own)."""
    if code.file is None:
        return ""
    return json.dumps({"files": {m.path: m.source for m in code.modules},
                       "links": {code.file: dict(code.links), **{m.path: dict(m.links) for m in code.modules}}})


# `__pr_link(tableJson, mainPath, mainModule, fallback)`: the `require` of the main module, which loads the table's files
# (each once, registered before it runs, so a cycle gets the exports filled so far, as in Node) and hands any other name
# to `fallback` (the harness's own require: promptfoo, node-fetch, Node built-ins, or its refusal).
LINKER = r"""
(function () {
  const parse = JSON.parse, has = (o, k) => Object.prototype.hasOwnProperty.call(o, k);
  const F = Function, SyntaxErr = SyntaxError;
  // an ES module's top-level await: Node runs it, a module here runs as a function body, where it cannot be
  const TOP_AWAIT = /^[ \t]*(?:(?:export[ \t]+)?(?:const|let|var)[ \t][^=\n]*=[ \t]*)?await\b/m;
  // a module's function, or a SyntaxError naming the file and line (its line 1 is line 3 of the function's source)
  const moduleFn = globalThis.__pr_module_fn = function (source, path) {
    try {
      return new F("module", "exports", "require", "__filename", "__dirname", source);
    } catch (e) {
      if (!(e instanceof SyntaxErr)) throw e;
      const at = /<input>:(\d+)/.exec(String(e.stack || ""));
      const line = at && Number(at[1]) > 2 ? ":" + (Number(at[1]) - 2) : "";
      throw new SyntaxErr(e.message + " (in " + path + line + ")" + (TOP_AWAIT.test(source)
        ? "; it awaits at the top level of an ES module, which the sandbox does not run: await inside the exported function" : ""));
    }
  };
  globalThis.__pr_link = function (tableJson, mainPath, mainModule, fallback, unsupported) {
    const table = parse(tableJson);
    const cache = new Map([[mainPath, mainModule]]);
    const dirname = (p) => { const i = p.lastIndexOf("/"); return i < 0 ? "." : p.slice(0, i); };
    const requireFrom = (from) => function require(spec) {
      spec = String(spec);
      const links = table.links[from] || {};
      if (has(links, spec)) {
        const target = links[spec];
        if (target === null) {
          const e = new Error("Cannot find module '" + spec + "' (required from " + from + ")");
          e.code = "MODULE_NOT_FOUND";
          throw e;
        }
        if (target.charAt(0) === "\u0000") unsupported(target.slice(1));
        return load(target);
      }
      if (/^(\.\.?(\/|$)|\/)/.test(spec))
        unsupported("require('" + spec + "') in " + from + ": only relative requires written as a string literal are loaded "
                    + "(the sandbox reads the files a module requires when the suite is loaded)");
      return fallback(spec);
    };
    const load = (path) => {
      if (cache.has(path)) return cache.get(path).exports;
      const module = { exports: {}, id: path, filename: path, loaded: false };
      cache.set(path, module);
      const dir = dirname(path);  // Node's absolute names, under the repository's root as the code sees it
      moduleFn(table.files[path], path)(
        module, module.exports, requireFrom(path), "/repo/" + path, dir === "." ? "/repo" : "/repo/" + dir);
      module.loaded = true;
      return module.exports;
    };
    return requireFrom(mainPath);
  };
})();
"""
