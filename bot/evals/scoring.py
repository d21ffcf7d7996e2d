"""promptfoo's `assertScoringFunction` (a test's, else defaultTest's): a JavaScript or Python function that gets
the test's named scores (each assertion `metric`'s weighted mean) and the assertions' results, and returns the
test's grading result, which replaces the combined one. Read while the tests load (`scoring_code`), run in the
sandbox when the test's assertions are combined (bot.evals.assertions.score_output), under the code gate.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from typing import Any

from bot.core.errors import SourceError
from bot.evals.checks import load_code
from bot.evals.generators import spread_call
from bot.evals.sandbox import CodeLimits, Fault, JsCode, SandboxError, transform
from bot.evals.suite import AssertionSpec, Code

KEY = "assertScoringFunction"
_FILE_EXTS = (".js", ".cjs", ".mjs", ".ts", ".mts", ".cts", ".tsx", ".py")  # TypeScript: types stripped by esbuild


def scoring_code(tree: Any, base_dir: str, located: Any, where: Any, value: Any, errors: Any) -> Code | None:
    """The scoring function a test names: `file://x.js[:name]` (the named export, else the module's function or
    default export) or `file://x.py[:name]` (default `func`), as promptfoo's loadFunction reads them; it is called
    with the arguments as the sandbox's `output` (a list)."""
    if not isinstance(value, str) or not value.strip():
        errors.add(located, where, f"{KEY} must be a file: file://x.js[:name] or file://x.py[:name]")
        return None
    ref = value.strip() if value.strip().startswith("file://") else f"file://{value.strip()}"
    path = ref[len("file://"):].rsplit(":", 1)[0] if ref.count(":") > 1 else ref[len("file://"):]
    if not path.lower().endswith(_FILE_EXTS):
        errors.add(located, where, f"{KEY} must be a JavaScript (.js, .cjs, .mjs), TypeScript (.ts, .mts, .cts, .tsx) or Python (.py) file, as promptfoo loads it; "
                                   f"got {value.strip()!r}")
        return None
    language = "python" if path.lower().endswith(".py") else "javascript"
    loaded = load_code(tree, base_dir, located, where, language, ref, errors, KEY)
    if loaded is None or loaded.file is None:
        return None
    if language == "python":
        return spread_call(language, loaded.source, loaded.file, loaded.function, "func")
    called = _javascript_call(loaded.source, loaded.file, loaded.function)
    if isinstance(loaded, JsCode):  # the file as written and what it requires stay its identity
        called = replace(called, links=loaded.links, modules=loaded.modules)
    return replace(called, written=loaded.written) if isinstance(loaded, JsCode) and loaded.written is not None else called


def _javascript_call(source: str, path: str, name: str | None) -> JsCode:
    """promptfoo's loadFunction for a JavaScript file: the named export, else the module's function, its default
    export, or its `func` export; the arguments come as the sandbox's `output` (a list). Read when called, after
    any `export` the sandbox rewrites at the end of the module."""
    pick = (f"ex[{name!r}]" if name else
            "(typeof ex === 'function' ? ex : ex && typeof ex.default === 'function' ? ex.default : ex && ex.func)")
    wanted = f"a {name!r} function" if name else "a function (as default export or named export 'func')"
    return JsCode(
        f"{source}\n;module.exports.__pr_call = async function (args) {{ const ex = module.exports; const t = {pick}; "
        f"if (typeof t !== 'function') throw new Error({json.dumps(path + ' must export ' + wanted)}); return await t(...args); }};\n",
        file=path, function="__pr_call",
    )


class ScoringStopped(Exception):
    """The sandbox stopped the scoring function (a limit, a refusal): the case is an error at the test's line."""

    def __init__(self, error: SourceError, cause: SandboxError):
        super().__init__(str(error))
        self.error, self.cause = error, cause


@dataclass(frozen=True)
class Scored:
    """The test's result as the scoring function gives it."""

    passed: bool
    score: float
    reason: str


@dataclass(frozen=True)
class Component:
    """One assertion's result, as the scoring function sees it (promptfoo's componentResults)."""

    assertion: AssertionSpec
    passed: bool
    score: float
    children: tuple[Component, ...] = ()  # an assert-set's assertions


def flattened(components: list[Component]) -> list[Component]:
    """promptfoo's componentResults: each assert-set's own result followed by its assertions'."""
    return [x for c in components for x in (c, *c.children)]


def _named_totals(components: tuple[Component, ...] | list[Component]) -> dict[str, list[float]]:
    """Each metric's (weighted sum, weight). An assert-set counts with its own metric, and its assertions' other
    metrics count with their weights times the set's (promptfoo's AssertionsResult.addResult)."""
    totals: dict[str, list[float]] = {}
    for c in components:
        metric, weight = c.assertion.metric, c.assertion.weight
        if metric:
            entry = totals.setdefault(metric, [0.0, 0.0])
            entry[0] += c.score * weight
            entry[1] += weight
        for name, (inner_sum, inner_weight) in _named_totals(c.children).items() if c.assertion.is_set else ():
            if name != metric:
                entry = totals.setdefault(name, [0.0, 0.0])
                entry[0] += (inner_sum / inner_weight if inner_weight > 0 else 0.0) * inner_weight * weight
                entry[1] += inner_weight * weight
    return totals


def named_scores(components: list[Component]) -> dict[str, float]:
    """Each metric's weighted mean over the assertions that name it (promptfoo's normalised namedScores)."""
    return {k: (total / weight if weight > 0 else 0.0) for k, (total, weight) in _named_totals(components).items()}


async def run_scoring(code: Code, components: list[Component], threshold: float | None, limits: CodeLimits,
                      file: str, line: int | None) -> Scored:
    """The scoring function's verdict. A throw or a result that is not {pass: bool, score: number, reason: text}
    fails the test with score 0, as promptfoo does ("Scoring function error: …"); a limit raises ScoringStopped."""
    context: dict[str, Any] = {
        "componentResults": [_component(c) for c in flattened(components)],
        "tokensUsed": {"total": 0, "prompt": 0, "completion": 0, "cached": 0, "numRequests": 0},
    }
    if threshold is not None:  # undefined in promptfoo: absent from what the function reads
        context["threshold"] = threshold
    try:
        value = await transform(code, [named_scores(components), context], {}, limits)
    except SandboxError as exc:
        if exc.fault is not Fault.THREW:
            where = KEY + (f" ({code.file})" if code.file else "")
            raise ScoringStopped(SourceError(file, f"{where}: {exc.message}", line), exc) from None
        return Scored(False, 0.0, f"Scoring function error: {_thrown(exc.message)}")
    if not (isinstance(value, dict) and isinstance(value.get("pass"), bool) and _number(value.get("score"))
            and isinstance(value.get("reason"), str)):
        return Scored(False, 0.0, "Scoring function error: assertion scoring function must return a GradingResult")
    return Scored(value["pass"], float(value["score"]), value["reason"])


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and not (isinstance(value, float) and math.isnan(value))


def _thrown(message: str) -> str:
    """The error's own message (promptfoo reports err.message), without the sandbox's preface."""
    for preface in ("JavaScript code threw an error: ", "Python code raised "):
        if message.startswith(preface):
            return message[len(preface):]
    return message


def _component(c: Component) -> dict[str, Any]:
    a = c.assertion
    if a.is_set:  # promptfoo's set result names no assertion, only the set in its metadata
        described_set: dict[str, Any] = {"type": a.type, "assertionCount": len(a.children)}
        for key, value in (("metric", a.metric), ("threshold", a.threshold)):
            if value is not None:
                described_set[key] = value
        reason = "All assertions passed" if c.passed else f"Assertion failed: {a.describe()}"
        return {"pass": c.passed, "score": c.score, "reason": reason, "metadata": {"assertionSet": described_set}}
    described: dict[str, Any] = {"type": a.type}
    for key, value in (("value", a.value), ("metric", a.metric), ("threshold", a.threshold)):
        if value is not None:
            described[key] = value
    if a.weight != 1.0:
        described["weight"] = a.weight
    reason = "Assertion passed" if c.passed else f"Assertion failed: {a.describe()}"
    return {"pass": c.passed, "score": c.score, "reason": reason, "assertion": described}
