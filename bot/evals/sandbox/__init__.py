"""Running suite code (javascript/python assertions) safely — the integration surface for the evals.

    allowed, reason = may_run(origin_of(head_code, base_code), same_repo, config.evals, "javascript assertion")
    if not allowed: the case is an error whose message is `reason` (it names the rule)
    code = code_for("javascript", assertion.value, read_file)      # inline text or file://x.js[:name]
    result = await run_code(code, output, context, assertion.threshold, CodeLimits.from_config(config.limits))
    # result: CodeResult(passed, score, reason) before `not-` is applied
    # SandboxError(fault, message): a case error (never pass): fault.check_error is its CheckError
    value = await transform(code, output, context, limits)         # transform / transformVars: a JSON value

docs/sandbox.md says what is isolated, how, and what is not.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from typing import Any, Literal

from bot.evals.sandbox.js import JsCode, run_javascript, transform_javascript
from bot.evals.sandbox.policy import Origin, may_run, origin_of
from bot.evals.sandbox.repo_files import RepoFiles
from bot.evals.sandbox.py import Isolation, PyCode, available, isolation, run_python, transform_python
from bot.evals.sandbox.result import CodeLimits, CodeResult, Fault, SandboxError
from bot.evals.sandbox.typescript import TSX_EXT, TranspileError, is_typescript, transpile

Language = Literal["javascript", "python"]
_REF = re.compile(r"file://(?P<path>.+?\.(?:js|cjs|mjs|ts|mts|cts|tsx|py))(?::(?P<name>[A-Za-z_$][\w$]*))?\s*\Z")


def parse_ref(value: str) -> tuple[str, str | None] | None:
    """`file://path.js`, `file://path.ts:fn`, `file://path.py:get_score` → (path, function or None); None
    for inline code."""
    match = _REF.match(value.strip())
    return (match.group("path"), match.group("name")) if match else None


def code_for(language: Language, value: str, read: Callable[[str], str | None],
             shown: Callable[[str], str] | None = None) -> JsCode | PyCode:
    """The code an assertion value stands for. `read(path)` gives a suite-relative file's text (None if
    absent). A TypeScript file (.ts/.mts/.cts) becomes JavaScript by esbuild (bot.evals.sandbox.typescript),
    keeping its own text as `written`; a syntax error in it is a SandboxError naming file:line:column (.tsx with
    esbuild's tsx loader). A file ref to another language is refused plainly. `shown(path)` is the path messages name (the
    repository's path of a suite-relative one)."""
    ref = parse_ref(value)
    cls = JsCode if language == "javascript" else PyCode
    if ref is None:
        stripped = value.strip()
        if stripped.startswith("file://"):
            raise SandboxError(Fault.UNSUPPORTED, f"{stripped} is not a .js, .ts or .py file this sandbox can run")
        return cls.inline(value)
    path, name = ref
    if (language == "python") != path.endswith(".py"):
        raise SandboxError(Fault.UNSUPPORTED, f"a {language} assertion cannot run {path}")
    text = read(path)
    if text is None:
        raise SandboxError(Fault.UNSUPPORTED, f"{path} does not exist")
    if is_typescript(path):
        try:
            return typescript_code(text, path, name)
        except SandboxError as exc:
            raise SandboxError(exc.fault, exc.message.replace(path, shown(path), 1) if shown else exc.message) from None
    return cls(text, file=path, function=name)


def typescript_code(text: str, path: str, function: str | None) -> JsCode:
    """A TypeScript module's JavaScript (types stripped by esbuild) that remembers the text as written."""
    try:
        return JsCode(transpile(text, path), file=path, function=function, written=text)
    except TranspileError as exc:
        raise SandboxError(Fault.UNSUPPORTED, str(exc)) from None


def run_code_sync(
    code: JsCode | PyCode, output: Any, context: dict[str, Any], threshold: float | None, limits: CodeLimits,
    files: RepoFiles | None = None,
) -> CodeResult:
    """Judge `output`; given `files` (bot.evals.sandbox.repo_files), the code reads the repository through it."""
    if isinstance(code, JsCode):
        return run_javascript(code, output, context, threshold, limits, files)
    return run_python(code, output, context, threshold, limits, files=files)


def transform_sync(code: JsCode | PyCode, output: Any, context: dict[str, Any], limits: CodeLimits,
                   files: RepoFiles | None = None) -> Any:
    """What `code` returns for `output`; given `files`, the code reads the repository through it."""
    if isinstance(code, JsCode):
        return transform_javascript(code, output, context, limits, files)
    return transform_python(code, output, context, limits, files=files)


async def transform(
    code: JsCode | PyCode, output: Any, context: dict[str, Any], limits: CodeLimits | None = None,
    files: RepoFiles | None = None,
) -> Any:
    """A `transform` (output → new output) or `transformVars` (vars → vars) off the event loop."""
    return await asyncio.to_thread(transform_sync, code, output, context, limits or CodeLimits(), files)


async def run_code(
    code: JsCode | PyCode,
    output: Any,
    context: dict[str, Any],
    threshold: float | None = None,
    limits: CodeLimits | None = None,
    files: RepoFiles | None = None,
) -> CodeResult:
    """Judge one output off the event loop (QuickJS releases the GIL; Python waits on its child)."""
    return await asyncio.to_thread(run_code_sync, code, output, context, threshold, limits or CodeLimits(), files)


__all__ = [
    "CodeLimits",
    "CodeResult",
    "Fault",
    "Isolation",
    "JsCode",
    "Origin",
    "PyCode",
    "SandboxError",
    "TSX_EXT",
    "TranspileError",
    "available",
    "code_for",
    "isolation",
    "may_run",
    "origin_of",
    "parse_ref",
    "run_code",
    "run_code_sync",
    "run_javascript",
    "run_python",
    "transform",
    "transform_javascript",
    "transform_python",
    "transform_sync",
    "transpile",
    "typescript_code",
]
