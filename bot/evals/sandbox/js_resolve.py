"""Where a `require` of suite JavaScript leads, as Node resolves it, in the repository's own files only: a relative path
(the file, then with Node's and TypeScript's extensions, then as a directory), and a package the repository holds — a
committed `node_modules`, or a workspace package, its build output read from the source it is built from. Reading
stops at small bounds before anything is read whole; bot.evals.sandbox.js_modules links what these find.
"""

from __future__ import annotations

import json
import posixpath
import re
import weakref
from typing import TYPE_CHECKING, Any

from bot.evals.sandbox.result import Fault, SandboxError

if TYPE_CHECKING:
    from bot.core.files import FileTree

# Node's order for a relative require without an extension (.js, .json; .node addons are not code the sandbox runs),
# then TypeScript's, as tsx (which promptfoo loads TypeScript with) adds them
EXTENSIONS = (".js", ".json", ".ts", ".tsx", ".mts", ".cts")
LOADABLE = (".js", ".cjs", ".mjs", ".json", ".ts", ".tsx", ".mts", ".cts")
# tsx: a TypeScript file may name its sibling by the JavaScript it becomes (`./util.js` for util.ts)
_TS_FOR_JS = {".js": (".ts", ".tsx"), ".mjs": (".mts",), ".cjs": (".cts",)}

_ABSOLUTE = re.compile(r"\A(?:/|\\|[A-Za-z]:[\\/]|file:)")
# comments and string literals of JavaScript (and of JSONC: tsconfig.json)
_TOKENS = re.compile(r"//[^\n]*|/\*.*?(?:\*/|\Z)|'(?:\\.|[^'\\\n])*'|\"(?:\\.|[^\"\\\n])*\"|`(?:\\.|[^`\\])*`", re.S)


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
    for folder, manifest in _package_folders(importer, name, tree):
        for entry in _entries(manifest, sub):
            target = posixpath.normpath(posixpath.join(folder, entry))
            if target == ".." or target.startswith("../") or not (target + "/").startswith(folder + "/"):
                continue
            found = _as_file(target, tree) or _index(f"{target}/", tree) or _from_source(folder, target, tree)
            if found is not None:
                return found
    return None


def _package_folders(importer: str, name: str, tree: FileTree) -> list[tuple[str, dict]]:
    """Where package NAME may be, in Node's order, each with its package.json (empty when it is not JSON)."""
    out, here = [], posixpath.dirname(importer)
    while True:
        folder = posixpath.join(here, "node_modules", name) if here else f"node_modules/{name}"
        if _exists(f"{folder}/package.json", tree):
            out.append((folder, _manifest(f"{folder}/package.json", tree) or {}))
        if not here:
            break
        here = posixpath.dirname(here)
    return out + _workspaces(tree).get(name, [])


_WORKSPACES: weakref.WeakKeyDictionary[Any, dict[str, list[tuple[str, dict]]]] = weakref.WeakKeyDictionary()


def _workspaces(tree: FileTree) -> dict[str, list[tuple[str, dict]]]:
    """The repository's workspace packages by name, each folder with its package.json (of each package.json outside
    node_modules, at most MAX_MANIFESTS of them read), once per tree: a tree does not change."""
    try:
        return _WORKSPACES[tree]
    except (KeyError, TypeError):
        pass
    found: dict[str, list[tuple[str, dict]]] = {}
    manifests = [p for p in tree.paths() if posixpath.basename(p) == "package.json" and "/" in p and "node_modules/" not in p]
    for path in manifests[:MAX_MANIFESTS]:
        manifest = _manifest(path, tree) or {}
        if isinstance(manifest.get("name"), str):
            found.setdefault(manifest["name"], []).append((posixpath.dirname(path), manifest))
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
