"""No import cycles inside bot/: the modules form a graph without loops, so each can be read (and
imported) after the ones it names. Every import statement is an edge, also one inside a function or
under `if TYPE_CHECKING:`: moving an import there hides a cycle from the interpreter, not from the reader."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "bot"

# Cycles that stay until their files are free to change, each as the set of modules in the loop. None are left.
ALLOWED: set[frozenset[str]] = set()


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def import_graph(root: Path, package: str) -> dict[str, set[str]]:
    """module → the modules of `package` it imports."""
    files = {_module_name(p, root): p for p in sorted((root / package).rglob("*.py"))}
    graph: dict[str, set[str]] = {name: set() for name in files}
    for name, path in files.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if not isinstance(node, (ast.Import, ast.ImportFrom)):
                continue
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:
                    anchor = name.split(".") if is_package else name.split(".")[:-1]
                    anchor = anchor[: len(anchor) - (node.level - 1)]
                    base = ".".join([*anchor, *([base] if base else [])])
                # `from pkg import sub` names the submodule pkg.sub when there is one, else a name of pkg
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in files else base for a in node.names]
            graph[name] |= {t for t in targets if t in files and t != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """The strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, edges = work[-1]
            advanced = False
            for nxt in edges:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                    advanced = True
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(frozenset(component))
    return found


def test_bot_has_no_import_cycles():
    found = set(cycles(import_graph(ROOT, PACKAGE)))
    new = sorted(" ↔ ".join(sorted(c)) for c in found - ALLOWED)
    assert new == [], "import cycles in bot/ (move the shared part to its own module):\n" + "\n".join(new)


def test_the_allowlist_names_only_cycles_that_still_exist():
    found = set(cycles(import_graph(ROOT, PACKAGE)))
    fixed = sorted(" ↔ ".join(sorted(c)) for c in ALLOWED - found)
    assert fixed == [], "these cycles are gone: remove them from ALLOWED\n" + "\n".join(fixed)


def test_the_check_finds_a_cycle_through_relative_lazy_and_type_only_imports(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from pkg.sub import b\n")
    (pkg / "sub" / "b.py").write_text("from typing import TYPE_CHECKING\nfrom .. import c\nif TYPE_CHECKING:\n    from pkg import d\n")
    (pkg / "c.py").write_text("import pkg.a\n\ndef later():\n    from pkg import d\n")
    (pkg / "d.py").write_text("from pkg import c\n")
    (pkg / "e.py").write_text("import pkg.a\n")
    assert cycles(import_graph(tmp_path, "pkg")) == [frozenset({"pkg.a", "pkg.sub.b", "pkg.c", "pkg.d"})]
