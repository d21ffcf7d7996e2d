"""Reading a provider written in code (`file://x.js`, `file://x.py[:function]`) while a suite loads: its file
through the loader's reader (run later, per call, in the sandbox under the code gate: bot.evals.providers_code),
and — for Python — the imports the sandbox cannot satisfy, reported at the line that makes them.
"""

from __future__ import annotations

import json
import posixpath
from dataclasses import replace
from typing import Any

from bot.core.yamlsrc import LocatedYaml, Path
from bot.evals.sandbox import PyCode, parse_ref
from bot.evals.sandbox.py_modules import SANDBOX_MODULES
from bot.evals.suite import Code

PYTHON_FUNCTION = "call_api"  # promptfoo's default function of a Python provider
PACKAGE_JSON_BYTES = 256 * 1024  # one package.json read while looking for a package
MAX_WORKSPACE_MANIFESTS = 500  # package.json files read while looking for a workspace package by its name
_JS = (".js", ".cjs", ".mjs")


def package_ref(tree: Any, base_dir: str, pid: str) -> tuple[str | None, str | None]:
    """promptfoo's `package:NAME:EXPORT` provider as the repository file it runs (`file://PATH:EXPORT`, relative to the
    suite's folder), or the problem. NAME is found as Node finds it from the suite's folder — `node_modules/NAME` in
    that folder or one above it, up to the repository's root — or, in a monorepo, as the workspace package whose
    package.json is named NAME; its entry is package.json's `exports` or `main` (else index.js). Only the repository's own files
    are run (in the sandbox, under the code gate): a package npm installs and nobody commits is not there to run."""
    _, name, export = pid.split(":", 2)
    folders, here = [], base_dir
    while True:
        folders.append(posixpath.join(here, "node_modules", name) if here else posixpath.join("node_modules", name))
        if not here:
            break
        here = posixpath.dirname(here)
    paths = tree.paths()
    manifests = [p for p in paths if posixpath.basename(p) == "package.json" and "node_modules/" not in p]
    for folder in folders + [posixpath.dirname(p) for p in manifests[:MAX_WORKSPACE_MANIFESTS]]:
        manifest = _manifest(tree, posixpath.join(folder, "package.json") if folder else "package.json")
        if manifest is None or ("node_modules/" not in folder + "/" and manifest.get("name") != name):
            continue
        main = _entry(manifest)
        entry = posixpath.normpath(posixpath.join(folder, main))
        for candidate in (entry, *(entry + ext for ext in _JS), *(posixpath.join(entry, "index" + ext) for ext in _JS)):
            if candidate.endswith(_JS) and tree.read(candidate) is not None:
                return f"file://{posixpath.relpath(candidate, base_dir or '.')}:{export}", None
        return None, (f"unsupported: provider {pid!r}: package {name!r} in {folder or '.'} has no JavaScript entry "
                      f"({main!r} from its package.json)")
    return None, (f"unsupported: provider {pid!r}: package {name!r} is not in the repository (looked for "
                  f"node_modules/{name} from {base_dir or 'the root'} up, and a workspace package.json named {name!r}); "
                  "prompt-review runs the repository's own code in its sandbox, not packages npm installs")


def _entry(manifest: dict) -> str:
    """The file `require(NAME)` loads: package.json's `exports` for "." (its require or default condition), else `main`,
    else index.js."""
    exports = manifest.get("exports")
    if isinstance(exports, dict) and "." in exports:
        exports = exports["."]
    if isinstance(exports, dict):
        exports = next((exports[k] for k in ("require", "node", "default") if isinstance(exports.get(k), str)), None)
    if isinstance(exports, str):
        return exports
    return manifest["main"] if isinstance(manifest.get("main"), str) else "index.js"


def _manifest(tree: Any, path: str) -> dict | None:
    raw = tree.read(path)
    if raw is None or len(raw) > PACKAGE_JSON_BYTES:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


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
