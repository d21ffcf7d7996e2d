"""Reading a provider written in code (`file://x.js`, `file://x.py[:function]`) while a suite loads: its file
through the loader's reader (run later, per call, in the sandbox under the code gate: bot.evals.providers_code),
and — for Python — the imports the sandbox cannot satisfy, reported at the line that makes them.
"""

from __future__ import annotations

import posixpath
from dataclasses import replace
from typing import Any

from bot.core.yamlsrc import LocatedYaml, Path
from bot.evals.sandbox import PyCode, parse_ref
from bot.evals.sandbox.js_resolve import resolve_package
from bot.evals.sandbox.py_modules import SANDBOX_MODULES
from bot.evals.suite import Code

PYTHON_FUNCTION = "call_api"  # promptfoo's default function of a Python provider


def package_ref(tree: Any, base_dir: str, pid: str) -> tuple[str | None, str | None]:
    """promptfoo's `package:NAME:EXPORT` provider as the repository file it runs (`file://PATH:EXPORT`, relative to the
    suite's folder), or the problem: NAME is found as `require(NAME)` from the suite's folder finds the repository's own
    packages (bot.evals.sandbox.js_resolve.resolve_package: a committed node_modules, a workspace package, its build
    output read from its source). Only the repository's own files are run (in the sandbox, under the code gate): a
    package npm installs and nobody commits is not there to run."""
    _, name, export = pid.split(":", 2)
    entry = resolve_package(posixpath.join(base_dir, "promptfooconfig.yaml"), name, tree)
    if entry is None or not entry.endswith((".js", ".cjs", ".mjs", ".ts", ".mts", ".cts")):
        return None, (f"unsupported: provider {pid!r}: package {name!r} is not in the repository (looked for "
                      f"node_modules/{name} from {base_dir or 'the root'} up, and a workspace package.json named {name!r}, "
                      "with its entry or the source it is built from); prompt-review runs the repository's own code in its "
                      "sandbox, not packages npm installs")
    return f"file://{posixpath.relpath(entry, base_dir or '.')}:{export}", None


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
        for file, line, module in code.unresolved:
            errors.add(located, where, f"unsupported: provider {ref!r}: {file}:{line} imports {module!r}, which is not in "
                                       "Python's standard library nor the repository; a Python provider runs in the sandbox with the "
                                       f"standard library, PyYAML, the repository's own modules and the sandbox's own "
                                       f"{', '.join(m for m in SANDBOX_MODULES if m != 'dotenv')} (whose requests reach the model APIs "
                                       "prompt-review calls and the URLs the base branch allows) and dotenv only")
            return None
    return code
