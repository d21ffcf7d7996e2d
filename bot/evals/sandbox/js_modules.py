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
import posixpath
import re
import weakref
from collections import deque
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from bot.evals.sandbox.js_code import JsCode, Links, Module, _commonjs
from bot.evals.sandbox.result import Fault, SandboxError
from bot.evals.sandbox.typescript import TranspileError, is_typescript, transpile

if TYPE_CHECKING:
    from bot.core.files import FileTree

MAX_MODULES = 256  # files one piece of code may require (directly or not), besides itself (a monorepo package: ~6 ms a call for 250)
MAX_TOTAL_BYTES = 2 * 1024 * 1024  # their bytes together

# Node's order for a relative require without an extension (.js, .json; .node addons are not code the sandbox runs),
# then TypeScript's, as tsx (which promptfoo loads TypeScript with) adds them
EXTENSIONS = (".js", ".json", ".ts", ".tsx", ".mts", ".cts")
LOADABLE = (".js", ".cjs", ".mjs", ".json", ".ts", ".tsx", ".mts", ".cts")
# tsx: a TypeScript file may name its sibling by the JavaScript it becomes (`./util.js` for util.ts)
_TS_FOR_JS = {".js": (".ts", ".tsx"), ".mjs": (".mts",), ".cjs": (".cts",)}

# a require with a string literal (imports are rewritten to these first: bot.evals.sandbox.js._commonjs)
_REQUIRE = re.compile(r"(?<![\w$.])require\s*\(\s*(?:'(?P<single>[^'\\\n]*)'|\"(?P<double>[^\"\\\n]*)\")\s*\)")
_TOKENS = re.compile(r"//[^\n]*|/\*.*?(?:\*/|\Z)|'(?:\\.|[^'\\\n])*'|\"(?:\\.|[^\"\\\n])*\"|`(?:\\.|[^`\\])*`", re.S)
_RELATIVE = re.compile(r"\A\.\.?(?:/|\Z)")
_ABSOLUTE = re.compile(r"\A(?:/|\\|[A-Za-z]:[\\/]|file:)")

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


# what `require(NAME)` gets from Node itself, or from the sandbox (promptfoo, node-fetch, dotenv: its own stand-ins), before any package
NODE_BUILTINS = frozenset({
    "assert", "buffer", "child_process", "cluster", "console", "constants", "crypto", "dgram", "dns", "domain", "events", "fs",
    "http", "http2", "https", "inspector", "module", "net", "os", "path", "perf_hooks", "process", "punycode", "querystring",
    "readline", "repl", "stream", "string_decoder", "sys", "timers", "tls", "trace_events", "tty", "url", "util", "v8", "vm",
    "wasi", "worker_threads", "zlib", "promptfoo", "node-fetch", "dotenv"})
_PACKAGE = re.compile(r"\A(?P<name>(?:@[\w.-]+/)?[\w.-]+)(?:/(?P<sub>.+))?\Z")
_BUILT_FOLDERS = ("dist/", "lib/", "build/", "out/", "esm/", "cjs/")  # where a package's build goes, when its tsconfig says nothing
MAX_MANIFESTS = 500  # package.json files read while looking for a workspace package by its name
_MANIFEST_BYTES = 256 * 1024


def resolve_package(importer: str, spec: str, tree: FileTree) -> str | None:
    """The repo file `require(spec)` in the file at `importer` loads when the package is the repository's own: found as
    Node finds it (`node_modules/NAME` in the importer's folder or one above, up to the root) or as the workspace package
    whose package.json is named NAME (a monorepo's `packages/*`, which the package manager links into node_modules);
    its entry is package.json's `exports` (the subpath's, its require/node/import/default condition), else `main`, else
    index. An entry that is a build output the repository does not hold (`dist/index.js`, built by `tsc`) is read from
    the source it is built from: tsconfig's `rootDir` for its `outDir` (else `src/` for dist/, lib/, build/), the
    TypeScript file for the JavaScript name. None for a Node built-in or a package the repository does not hold."""
    m = _PACKAGE.match(spec)
    if m is None or spec.startswith("node:") or m.group("name") in NODE_BUILTINS:
        return None
    name, sub = m.group("name"), m.group("sub")
    for folder in _package_folders(importer, name, tree):
        manifest = _manifest(f"{folder}/package.json", tree) or {}
        for entry in _entries(manifest, sub):
            target = posixpath.normpath(posixpath.join(folder, entry))
            if target == ".." or target.startswith("../") or not (target + "/").startswith(folder + "/"):
                continue
            found = _as_file(target, tree) or _index(f"{target}/", tree) or _from_source(folder, target, tree)
            if found is not None:
                return found
    return None


def _package_folders(importer: str, name: str, tree: FileTree) -> list[str]:
    out, here = [], posixpath.dirname(importer)
    while True:
        folder = posixpath.join(here, "node_modules", name) if here else f"node_modules/{name}"
        if _exists(f"{folder}/package.json", tree):
            out.append(folder)
        if not here:
            break
        here = posixpath.dirname(here)
    return out + _workspaces(tree).get(name, [])


_WORKSPACES: weakref.WeakKeyDictionary[Any, dict[str, list[str]]] = weakref.WeakKeyDictionary()


def _workspaces(tree: FileTree) -> dict[str, list[str]]:
    """The repository's workspace packages by name (the folder of each package.json outside node_modules, at most
    MAX_MANIFESTS of them read), once per tree: a tree does not change."""
    try:
        return _WORKSPACES[tree]
    except (KeyError, TypeError):
        pass
    found: dict[str, list[str]] = {}
    manifests = [p for p in tree.paths() if posixpath.basename(p) == "package.json" and "/" in p and "node_modules/" not in p]
    for path in manifests[:MAX_MANIFESTS]:
        name = (_manifest(path, tree) or {}).get("name")
        if isinstance(name, str):
            found.setdefault(name, []).append(posixpath.dirname(path))
    try:
        _WORKSPACES[tree] = found
    except TypeError:  # a tree that cannot be referred to weakly: looked for again next time
        pass
    return found


def _bounded_text(path: str, tree: FileTree) -> str | None:
    """A small settings file's text (package.json, tsconfig.json), None when absent or past _MANIFEST_BYTES (unread)."""
    from bot.evals.sources import FileTooLarge, read_bounded  # the loader's bounded reading; imported late (it imports this package)

    try:
        raw = read_bounded(tree, path, _MANIFEST_BYTES)
    except FileTooLarge:
        return None
    return raw.decode("utf-8", "replace") if raw is not None else None


def _manifest(path: str, tree: FileTree) -> dict | None:
    text = _bounded_text(path, tree)
    try:
        value = json.loads(text) if text is not None else None
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _entries(manifest: dict, sub: str | None) -> list[str]:
    """The package-relative paths `require(NAME[/sub])` may load, in Node's order."""
    exports = manifest.get("exports")
    key = f"./{sub}" if sub else "."
    if isinstance(exports, dict) and any(k.startswith(".") for k in exports):
        exports = exports.get(key)
        if exports is None and sub:  # a pattern: "./schemas/*"
            for pattern, value in manifest["exports"].items():
                if pattern.endswith("*") and key.startswith(pattern[:-1]) and isinstance(value, (str, dict)):
                    chosen = _condition(value)
                    if chosen is not None:
                        return [chosen.replace("*", key[len(pattern) - 1:])]
    elif sub:
        exports = None
    chosen = _condition(exports) if exports is not None else None
    if chosen is not None:
        return [chosen]
    if sub:
        return [sub]
    main = manifest.get("main")
    return [main, "index"] if isinstance(main, str) and main else ["index"]


def _condition(value: object) -> str | None:
    while isinstance(value, dict):
        value = next((value[k] for k in ("require", "node", "import", "default") if k in value), None)
    return value if isinstance(value, str) else None


def _from_source(folder: str, target: str, tree: FileTree) -> str | None:
    """The source file a build output is made from (see resolve_package)."""
    rel = target[len(folder) + 1:] if target.startswith(folder + "/") else target
    pairs = []
    options = (_tsconfig(f"{folder}/tsconfig.json", tree) or {}).get("compilerOptions") or {}
    out_dir, root_dir = options.get("outDir"), options.get("rootDir")
    if isinstance(out_dir, str) and isinstance(root_dir, str):
        pairs.append((posixpath.normpath(out_dir) + "/", "" if posixpath.normpath(root_dir) == "." else posixpath.normpath(root_dir) + "/"))
    pairs += [(built, "src/") for built in _BUILT_FOLDERS]
    for built, source in pairs:
        if rel.startswith(built):
            stem = posixpath.normpath(posixpath.join(folder, source + rel[len(built):]))
            if stem == ".." or stem.startswith("../"):  # a rootDir above the repository's root
                continue
            found = _as_file(stem, tree) or _as_file(posixpath.splitext(stem)[0], tree) or _index(f"{stem}/", tree)
            if found is not None:
                return found
    return None


def _tsconfig(path: str, tree: FileTree) -> dict | None:
    """tsconfig.json, which may hold comments and trailing commas (JSONC)."""
    raw = _bounded_text(path, tree)
    if raw is None:
        return None
    text = _TOKENS.sub(lambda m: "" if m.group(0).startswith("/") else m.group(0), raw)
    try:
        value = json.loads(re.sub(r",(\s*[}\]])", r"\1", text))
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _code_only(source: str) -> str:
    """`source` with its comments blanked (newlines kept): a require in a comment is not one. Strings and template
    literals are kept whole; a regex literal is not told apart (a `//` inside one blanks the rest of its line)."""
    return _TOKENS.sub(lambda m: "\n" * m.group(0).count("\n") if m.group(0).startswith("/") else m.group(0), source)


def resolve_relative(importer: str, spec: str, tree: FileTree, where: str = "") -> str | None:
    """The repo path a relative `spec` in the file at repo path `importer` names, by Node's rules: the path itself, then
    with each of EXTENSIONS, then as a directory (package.json's `main`, then index with each extension); None when
    nothing is there. SandboxError when the path climbs above the repository's root."""
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(importer), spec))
    if joined == ".." or joined.startswith("../"):
        raise SandboxError(Fault.UNSUPPORTED, f"{where or importer}: require('{spec}') leaves the repository (`..` above its "
                                              "root); only the repository's own files are loaded")
    base = "" if joined == "." else joined
    if not spec.endswith("/") and base:
        found = _as_file(base, tree)
        if found is not None:
            return found
    return _as_directory(base, tree)


def _exists(path: str, tree: FileTree) -> bool:
    from bot.evals.sources import SizedTree  # the loader's bounded reading; imported late (it imports this package)

    return (tree.size(path) if isinstance(tree, SizedTree) else tree.read(path)) is not None


def _as_file(path: str, tree: FileTree) -> str | None:
    if path.lower().endswith(LOADABLE) and _exists(path, tree):
        return path
    for ext in EXTENSIONS:
        if _exists(path + ext, tree):
            return path + ext
    stem, ext = posixpath.splitext(path)
    for ts in _TS_FOR_JS.get(ext.lower(), ()):
        if _exists(stem + ts, tree):
            return stem + ts
    return None


def _as_directory(path: str, tree: FileTree) -> str | None:
    prefix = f"{path}/" if path else ""
    manifest = _manifest(prefix + "package.json", tree)
    if manifest is not None:
        main = manifest.get("main")
        if isinstance(main, str) and main and not _ABSOLUTE.match(main):
            target = posixpath.normpath(posixpath.join(path or ".", main))
            if target != ".." and not target.startswith("../"):
                found = _as_file(target, tree) or _index(f"{target}/", tree)
                if found is not None:
                    return found
    return _index(prefix, tree)


def _index(prefix: str, tree: FileTree) -> str | None:
    for ext in EXTENSIONS:
        if _exists(f"{prefix}index{ext}", tree):
            return f"{prefix}index{ext}"
    return None


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
