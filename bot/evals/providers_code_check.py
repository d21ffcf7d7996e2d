"""Reading a provider written in code (`file://x.js`, `file://x.py[:function]`) while a suite loads: its file
through the loader's reader (run later, per call, in the sandbox under the code gate: bot.evals.providers_code),
and — for Python — the imports the sandbox cannot satisfy, reported at the line that makes them.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from bot.core.yamlsrc import LocatedYaml, Path
from bot.evals.sandbox import PyCode, parse_ref
from bot.evals.sandbox.py_modules import SANDBOX_MODULES
from bot.evals.suite import Code

PYTHON_FUNCTION = "call_api"  # promptfoo's default function of a Python provider


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
                                       f"standard library, the repository's own modules and the sandbox's own "
                                       f"{', '.join(m for m in SANDBOX_MODULES if m != 'dotenv')} (whose requests reach the model APIs "
                                       "prompt-review calls and the URLs the base branch allows) and dotenv only")
            return None
    return code
