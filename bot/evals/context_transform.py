"""promptfoo's `contextTransform` of the context-* assertions: code (inline JavaScript, or file:// JavaScript or
Python) that the answer and promptfoo's small context — `vars`, `prompt: {label}` (the rendered prompt) and the
provider response's `metadata` when it has some — are handed to, whose result is the context the grader reads
in place of the test's `context` var. Run in the sandbox; the gate let it through before the case ran.
"""

from __future__ import annotations

from typing import Any

from bot.core.errors import CheckError, SourceError
from bot.evals.sandbox import CodeLimits, SandboxError, transform
from bot.evals.suite import Code

CONTEXT_TYPES = frozenset({"context-faithfulness", "context-recall", "context-relevance"})


class ContextStopped(Exception):
    """The code gave no usable context: the case is an error (promptfoo ends the case with an error too)."""

    def __init__(self, error: SourceError, kind: CheckError = CheckError.ASSERTION):
        self.error = error
        self.kind = kind
        super().__init__(str(error))


def code_context(vars_: dict[str, Any], prompt: str, metadata: dict[str, Any] | None) -> dict[str, Any]:
    """What promptfoo passes as the code's `context` (it has no test, provider or config, unlike an assertion's)."""
    return {"vars": vars_, "prompt": {"label": prompt}, **({"metadata": metadata} if metadata else {})}


def _js_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return "object"  # a mapping, or a list holding something other than text


async def context_text(code: Code, answer: Any, context: dict[str, Any], limits: CodeLimits, what: str, file: str,
                       line: int | None) -> str:
    """The context the code returns: text, or a list of texts (joined one a line, as a `context` var that is a
    list). Anything else, nothing, an empty context, or code that threw or hit a limit is ContextStopped naming
    `what` (e.g. 'context-faithfulness contextTransform') at the assertion's file and line."""
    def stopped(message: str, kind: CheckError = CheckError.ASSERTION) -> ContextStopped:
        return ContextStopped(SourceError(file or "suite", f"{what}: {message}", line), kind)

    try:
        value = await transform(code, answer, context, limits)
    except SandboxError as exc:
        raise stopped(exc.message, exc.fault.check_error) from None
    if value is None:
        raise stopped("returned nothing (null or undefined); it must return the context as text or a list of texts")
    if not isinstance(value, str) and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
        raise stopped(f"must return text or a list of texts, not a {_js_type(value)}")
    if not value or (isinstance(value, list) and not all(value)):
        raise stopped("returned an empty context (promptfoo needs non-empty text, or a list of non-empty texts)")
    return value if isinstance(value, str) else "\n".join(value)
