"""The repository's own Python modules that suite Python code imports (`from prompts import SYSTEM`,
`from app.agent.prompts.system import build_system_prompt`, `from .util import x` inside such a package), found when the
code is loaded: every import of a module outside the standard library and the sandbox's own modules is looked up in
the repository — beside the code's own file (sys.path[0] of the script promptfoo runs), then at the repository's root, then (for a file that edits sys.path, as a
provider putting its project's source folder there does) under the one folder of the repository that holds it, which
later imports search too, and (as `pip install -e .` makes a project's package importable) under the one `src` folder
or project folder (with pyproject.toml, setup.py or setup.cfg) that holds its top package — and what the found modules import in turn, bounded in count and bytes and never outside the repository. The child is handed them by name
(bot/evals/sandbox/py_child.py), so `import` finds them as Python would on the team's machine.

    code = link_python(code, tree, max_file_bytes)     # PyCode with .modules and .unresolved
    # SandboxError(Fault.UNSUPPORTED, …): a module past the bounds, or not UTF-8

What is imported is part of the code's identity (bot.evals.suite.required): the code gate treats a PR-changed module
as PR code, and a change to one re-runs the cases whose code imports it, naming it.
"""

from __future__ import annotations

import ast
import posixpath
import sys
from collections import deque
from dataclasses import replace
from typing import TYPE_CHECKING

from bot.evals.sandbox.js_modules import MAX_MODULES, MAX_TOTAL_BYTES
from bot.evals.sandbox.result import Fault, SandboxError

from bot.evals.sandbox.py import LIBRARIES, PyCode, PyModule

if TYPE_CHECKING:
    from bot.core.files import FileTree

SANDBOX_MODULES = ("openai", "anthropic", "requests", "httpx", "dotenv")  # a provider's network: bot/evals/sandbox/py_shims


def link_python(code: PyCode, tree: FileTree, max_file_bytes: int, also: tuple[str, ...] = ()) -> PyCode:
    """`code` (a file's) with the repository modules it imports, transitively, and the imports neither the standard
    library, `also` (the sandbox's own modules, for a provider) nor the repository has, as (file, line, name) — not
    counting imports the code guards with `except ImportError`. Unchanged when it imports none of the repository's."""
    if code.file is None:  # inline code: it has no folder to import the repository's modules from
        libraries = _libraries_in(code.source)
        return replace(code, libraries=libraries) if libraries else code
    finder = _Finder(tree, max_file_bytes, also, posixpath.dirname(code.file))
    todo: deque[tuple[str, str | None, str]] = deque([(code.file, None, code.source)])
    while todo:
        path, package, text = todo.popleft()
        for module in finder.imports(path, package, text):
            todo.append((module.path, module.name if module.package else module.name.rpartition(".")[0], module.written))
    modules = tuple(sorted(finder.found.values(), key=lambda m: m.name))
    if not modules and not finder.missing and not finder.libraries:
        return code
    return replace(code, modules=modules, unresolved=tuple(finder.missing), libraries=tuple(sorted(finder.libraries)))


class _Finder:
    def __init__(self, tree: FileTree, max_file_bytes: int, also: tuple[str, ...], home: str):
        self.tree, self.per_file, self.also, self.home = tree, max_file_bytes, also, home
        self.found: dict[str, PyModule] = {}
        self.missing: list[tuple[str, int, str]] = []
        self.libraries: set[str] = set()  # the sandbox's LIBRARIES imported
        self.bytes = 0
        self._paths: list[str] | None = None
        self._folders: set[str] | None = None
        self.roots: list[str] = []  # folders modules were found under, as sys.path entries: later imports look there too

    def imports(self, path: str, package: str | None, text: str) -> list[PyModule]:
        """The modules `text` (the file at `path`, in `package`) imports that are new; each import found nowhere is noted."""
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError):
            return []  # the sandbox reports the syntax error at its line when the code runs
        guarded = {id(inner) for node in ast.walk(tree) if isinstance(node, ast.Try) and any(_catches_import_error(h) for h in node.handlers)
                   for stmt in node.body for inner in ast.walk(stmt)}
        new: list[PyModule] = []
        for node in ast.walk(tree):
            wanted: list[tuple[str, tuple[str, ...]]]
            if isinstance(node, ast.Import):
                wanted = [(a.name, ()) for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = self._absolute(node.module or "", node.level, package)
                if base is None:  # a relative import above the top package, or in a file that is no package's
                    if id(node) not in guarded:
                        self.missing.append((path, node.lineno, "." * node.level + (node.module or "")))
                    continue
                wanted = [(base, tuple(a.name for a in node.names if a.name != "*"))]
            else:
                continue
            for name, items in wanted:
                if not name or self._provided(name):
                    continue
                modules = [] if name in self.found else self._find(name, path, "sys.path" in text)
                if modules is None and name.partition(".")[0] in LIBRARIES:  # not the repository's own: the sandbox's copy
                    self.libraries.add(name.partition(".")[0])
                    continue
                if modules is None:
                    if id(node) not in guarded:
                        self.missing.append((path, node.lineno, name))
                    continue
                for item in items:  # `from pkg import sub`: a submodule, when the package has one
                    if f"{name}.{item}" not in self.found:
                        modules += self._find(f"{name}.{item}", path, False) or []
                for module in modules:
                    if module.name not in self.found:
                        self.found[module.name] = module
                        new.append(module)
        return [m for m in new if m.path]

    def _provided(self, name: str) -> bool:
        """Found elsewhere than in the repository: the standard library and the sandbox's own modules (LIBRARIES are looked
        for in the repository first, as Python finds a module beside the script before site-packages)."""
        top = name.partition(".")[0]
        return top in sys.stdlib_module_names or top in self.also or top in ("__future__", "_prompt_review_sdk")

    @staticmethod
    def _absolute(module: str, level: int, package: str | None) -> str | None:
        if level == 0:
            return module
        if package is None:
            return None
        parts = package.split(".") if package else []
        if level - 1 > len(parts) or (level - 1 == len(parts) and not module):
            return None
        base = parts[: len(parts) - (level - 1)]
        return ".".join(base + ([module] if module else [])) or None

    def _find(self, name: str, importer: str, searching: bool) -> list[PyModule] | None:
        """The modules `import name` loads (each enclosing package, then the module), from the first root that has it:
        the code file's folder (sys.path[0] of the script promptfoo runs), the repository's root, a folder an earlier module was found under (as the sys.path
        entry it came from), and — when the importing file edits sys.path (`searching`) — the one folder holding it; then
        the one src or project folder holding its top package."""
        parts = name.split(".")
        roots = [self.home, "", *self.roots]
        for root in dict.fromkeys(roots + (self._holders("/".join(parts)) if searching else [])):
            found = self._at(root, parts)
            if found is not None:
                if root not in roots[:2] and root not in self.roots:
                    self.roots.append(root)
                return found
        # a project's own package installed in place (`pip install -e .`): the one src folder, or project folder (with
        # pyproject.toml, setup.py or setup.cfg), holding its top package — then on sys.path for later imports too
        for root in self._holders(parts[0]):
            if root not in roots and (posixpath.basename(root) == "src" or self._is_project(root)):
                found = self._at(root, parts)
                if found is not None:
                    self.roots.append(root)
                    return found
        return None

    def _is_project(self, folder: str) -> bool:
        prefix = f"{folder}/" if folder else ""
        return any(self._exists(prefix + f) for f in ("pyproject.toml", "setup.py", "setup.cfg"))

    def _holders(self, rel: str) -> list[str]:
        """The folders of the repository under which `rel` is a module or package: used only when exactly one has it."""
        if self._paths is None:
            self._paths = list(self.tree.paths())
        ends = (f"/{rel}.py", f"/{rel}/__init__.py")
        roots = {p[: -len(e)] for p in self._paths for e in ends if p.endswith(e)}
        return sorted(roots) if len(roots) == 1 else []

    def _at(self, root: str, parts: list[str]) -> list[PyModule] | None:
        prefix = f"{root}/" if root else ""
        out: list[PyModule] = []
        for i in range(1, len(parts)):  # the enclosing packages: a folder with __init__.py, or a namespace folder
            folder = prefix + "/".join(parts[:i])
            init = f"{folder}/__init__.py"
            if self._exists(init):
                out.append(self._read(".".join(parts[:i]), init))
            elif self._is_folder(folder):
                out.append(PyModule(".".join(parts[:i]), "", ""))
            else:
                return None
        rel = prefix + "/".join(parts)
        for path in (f"{rel}.py", f"{rel}/__init__.py"):
            if self._exists(path):
                return out + [self._read(".".join(parts), path)]
        if self._is_folder(rel) and len(parts) > 0:
            return out + [PyModule(".".join(parts), "", "")]
        return None

    def _exists(self, path: str) -> bool:
        from bot.evals.sandbox.js_resolve import _exists

        return _exists(path, self.tree)

    def _is_folder(self, folder: str) -> bool:
        """Whether `folder` holds Python files (at any depth): a package, maybe a namespace one."""
        if self._folders is None:
            if self._paths is None:
                self._paths = list(self.tree.paths())
            self._folders = {p.rsplit("/", n)[0] for p in self._paths if p.endswith(".py") for n in range(1, p.count("/") + 1)}
        return folder in self._folders

    def _read(self, name: str, path: str) -> PyModule:
        from bot.evals.sources import FileTooLarge, read_bounded

        if name in self.found:
            return self.found[name]
        if len(self.found) >= MAX_MODULES:
            raise SandboxError(Fault.UNSUPPORTED, f"{path}: more than {MAX_MODULES} modules are imported (directly or not) by "
                                                  "one piece of suite code; the sandbox loads at most that many")
        left = MAX_TOTAL_BYTES - self.bytes
        try:
            raw = read_bounded(self.tree, path, min(self.per_file, left))
        except FileTooLarge as exc:
            limit = "the per-file limit (`limits.max_prompt_bytes`)" if exc.limit == self.per_file else \
                f"what is left of the {MAX_TOTAL_BYTES:,} bytes all imported modules may take together"
            raise SandboxError(Fault.UNSUPPORTED, f"{path} (imported by suite code) is {exc.size:,} bytes, over {limit}") from None
        if raw is None:
            raise SandboxError(Fault.UNSUPPORTED, f"{path} (imported by suite code) could not be read")
        self.bytes += len(raw)
        try:
            return PyModule(name, path, raw.decode("utf-8"))
        except UnicodeDecodeError:
            raise SandboxError(Fault.UNSUPPORTED, f"{path} (imported by suite code) is not UTF-8 text") from None


def _libraries_in(source: str) -> tuple[str, ...]:
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return ()
    names = [a.name for node in ast.walk(tree) if isinstance(node, ast.Import) for a in node.names]
    names += [node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module]
    return tuple(sorted({n.partition(".")[0] for n in names} & set(LIBRARIES)))


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    names = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(n is None or (isinstance(n, ast.Name) and n.id in ("ImportError", "ModuleNotFoundError", "Exception", "BaseException"))
               for n in names)
