"""What running a code assertion gives: a judgement (pass, score, reason) in promptfoo's terms, or a
typed SandboxError when the sandbox stopped the code before it could judge (never a pass).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from enum import Enum
from typing import Any

from bot.core.config import LimitsConfig
from bot.core.errors import CheckError


class Fault(str, Enum):
    """Why code could not judge an output. Each is a case error: never pass, never fail."""

    TIMEOUT = "timeout"  # wall clock or CPU time limit
    MEMORY = "memory"  # heap (address space) or stack/recursion limit
    OUTPUT = "output"  # printed or returned more than the output limit
    REFUSED = "refused"  # tried something the sandbox forbids (socket, file outside scratch, fork, ctypes…)
    CRASHED = "crashed"  # the process died without an answer (signal, interpreter failure)
    UNSUPPORTED = "unsupported"  # a form we do not run (e.g. require() of another module), said plainly
    THREW = "threw"  # a transform's code threw (an assertion's code that throws fails instead, as in promptfoo)

    @property
    def check_error(self) -> CheckError:
        # One CheckError for now: the case "could not be evaluated"; the message carries the fault.
        return CheckError.ASSERTION


class SandboxError(Exception):
    """The sandbox stopped the code; `message` is phrased for the PR comment (no Python exception text)."""

    def __init__(self, fault: Fault, message: str):
        self.fault = fault
        self.message = message
        super().__init__(f"{fault.value}: {message}")


@dataclass(frozen=True)
class CodeResult:
    """The code's judgement before `not-` is applied (the caller inverts, as for every assertion type)."""

    passed: bool
    score: float
    reason: str
    # the code gave no judgement (it threw, or returned something that is not one): a failure that
    # `not-` does not invert, as in promptfoo (its handlers return pass: false from their catch)
    threw: bool = False
    boolean: bool = False  # the code returned true/false: its score follows the (possibly inverted) pass


@dataclass(frozen=True)
class CodeLimits:
    """Bounds of one call. Defaults come from `limits.code_*` in .github/prompt-review.yml."""

    timeout_s: float = 5.0  # wall clock; CPU time is capped at the same number of seconds
    memory_mb: int = 256  # JS heap / Python address space
    max_output_bytes: int = 1_000_000  # the returned value (and, for Python, anything printed)
    max_stack_kb: int = 1024  # JS stack; Python uses its recursion limit

    @classmethod
    def from_config(cls, limits: LimitsConfig) -> CodeLimits:
        return cls(timeout_s=limits.code_timeout_s, memory_mb=limits.code_memory_mb)


def _config_hint(key: str) -> str:
    return f"(raise `limits.{key}` in .github/prompt-review.yml if it should)"


def timeout_error(limits: CodeLimits, what: str = "the code") -> SandboxError:
    return SandboxError(
        Fault.TIMEOUT,
        f"{what} ran longer than {limits.timeout_s:g} s and was stopped {_config_hint('code_timeout_s')}",
    )


def memory_error(limits: CodeLimits, what: str = "the code") -> SandboxError:
    return SandboxError(
        Fault.MEMORY,
        f"{what} needed more than {limits.memory_mb} MB of memory and was stopped {_config_hint('code_memory_mb')}",
    )


def stack_error(what: str = "the code") -> SandboxError:
    return SandboxError(Fault.MEMORY, f"{what} recursed deeper than the sandbox's stack limit and was stopped")


def output_error(limits: CodeLimits, what: str = "the code") -> SandboxError:
    return SandboxError(
        Fault.OUTPUT, f"{what} produced more than {limits.max_output_bytes:,} bytes of output and was stopped"
    )


def too_deep_error(what: str = "the code") -> SandboxError:
    return SandboxError(Fault.OUTPUT, f"{what} returned a value nested deeper than the sandbox reads (64 levels) and was stopped")


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def judge(value: Any, threshold: float | None, language: str) -> CodeResult:
    """A returned value in promptfoo's terms: bool; finite number (passes when > 0, or >= threshold);
    a {pass, score, reason} object (snake_case keys accepted; threshold enforced); 'true'/'false' or a
    JSON object in a string (Python); anything else fails saying what came back."""
    code = f"{language} code"
    if isinstance(value, str):
        text = value.strip()
        if text.lower() in ("true", "false"):
            value = text.lower() == "true"
        elif language == "Python" and text.startswith("{"):
            try:
                value = json.loads(text)
            except ValueError:
                return CodeResult(False, 0.0, f"{code} returned a string that is not valid JSON: {text[:200]}", threw=True)
        elif language == "Python":
            try:
                value = float(text)
            except ValueError:
                pass
    if isinstance(value, bool):
        return CodeResult(value, 1.0 if value else 0.0, "Assertion passed" if value else f"{code} returned false",
                          boolean=True)
    if _finite(value):
        passed = value > 0 if threshold is None else value >= threshold
        return CodeResult(passed, float(value), "Assertion passed" if passed else f"{code} returned {value:g}")
    if isinstance(value, dict):
        result = {_camel(k): v for k, v in value.items() if isinstance(k, str)}
        if isinstance(result.get("pass"), bool) and _finite(result.get("score", 0 if not result["pass"] else 1)):
            passed = result["pass"]
            score = float(result.get("score", 1.0 if passed else 0.0))
            reason = str(result.get("reason") or ("Assertion passed" if passed else f"{code} returned pass: false"))
            if threshold is not None and score < threshold:
                passed, reason = False, f"{language} score {score:g} is less than threshold {threshold:g}: {reason}"
            return CodeResult(passed, score, reason)
    kind = "null" if value is None else type(value).__name__
    return CodeResult(
        False, 0.0, f"{code} must return a boolean, a finite number, or a {{pass, score, reason}} object; got {kind}",
        threw=True,
    )


def threw(language: str, description: str) -> CodeResult:
    """promptfoo fails (does not error) an assertion whose own code throws; so do we, saying where."""
    return CodeResult(False, 0.0, f"{language} code threw an error: {description}", threw=True)
