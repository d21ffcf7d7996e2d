"""Reading a provider written in code (`file://x.js`, `file://x.py[:function]`) while a suite loads: its file
through the loader's reader (run later, per call, in the sandbox under the code gate: bot.evals.providers_code),
and — for Python — the imports the sandbox cannot satisfy, reported at the line that makes them.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import replace
from typing import Any

from bot.core.yamlsrc import LocatedYaml, Path
from bot.evals.sandbox import PyCode, parse_ref
from bot.evals.suite import Code

PYTHON_FUNCTION = "call_api"  # promptfoo's default function of a Python provider
SANDBOX_MODULES = ("openai", "anthropic", "requests", "httpx")  # a Python provider's network: bot/evals/sandbox/py_shims


def code_provider(ref: str, where: Path, reader: Any, located: LocatedYaml, errors: Any) -> Code | None:
    """The provider's code, or None (the problem is in `errors`). `reader` is the loader's CodeReader; None
    for a grader, whose providers never run code."""
    if reader is None:
        errors.add(located, where, f"refused: provider {ref!r} of a grader: executes code (a provider written in code); "
                                   "graders are model providers")
        return None
    code = reader(where, ref, "provider")
    if code is None:
        return None
    parsed = parse_ref(ref)
    if isinstance(code, PyCode):
        if parsed is not None and parsed[1] is None:
            code = replace(code, function=PYTHON_FUNCTION)
        for line, module in missing_imports(code.source, SANDBOX_MODULES):
            errors.add(located, where, f"unsupported: provider {ref!r}: {code.file}:{line} imports {module!r}, which is not in "
                                       "Python's standard library; a Python provider runs in the sandbox with the standard "
                                       f"library and the sandbox's own {', '.join(SANDBOX_MODULES[:-1])} and {SANDBOX_MODULES[-1]} (whose requests reach "
                                       "the model APIs prompt-review calls and the URLs the base branch allows) only")
            return None
    return code


def missing_imports(source: str, also: tuple[str, ...] = ()) -> list[tuple[int, str]]:
    """(line, module) of each top-level `import`/`from … import` of a module outside the standard library and
    `also` (the sandbox's own modules, for a provider); relative imports count (the sandbox holds the provider's
    file alone). A file that does not parse has none here: the sandbox reports its syntax error at its line."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    guarded = {id(inner) for node in ast.walk(tree) if isinstance(node, ast.Try) and any(_catches_import_error(h) for h in node.handlers)
               for stmt in node.body for inner in ast.walk(stmt)}  # `try: import x except ImportError:` is the code's own fallback
    out = []
    for node in ast.walk(tree):
        if id(node) in guarded:
            continue
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = ["." * node.level + (node.module or node.names[0].name)] if node.level else [node.module or ""]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            if name.startswith(".") or (top and top not in sys.stdlib_module_names and top != "__future__" and top not in also):
                out.append((node.lineno, name))
    return out


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    names = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(n is None or (isinstance(n, ast.Name) and n.id in ("ImportError", "ModuleNotFoundError", "Exception", "BaseException"))
               for n in names)
