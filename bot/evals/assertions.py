"""Score one model output against a test's assertions (promptfoo semantics: `not-` inverts,
weights average, a test `threshold` replaces all-must-pass). Model-graded types ask a Grader.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol

import jsonschema
from rapidfuzz.distance import Levenshtein

from bot.core import safejson
from bot.core.errors import CheckError, SourceError
from bot.evals import html_checks, markup, metrics, perplexity, refusal, similarity, sql, tool_f1
from bot.evals.classifier import classifier_score
from bot.evals.context_transform import ContextStopped, code_context, context_text
from bot.evals.patterns import DEFAULT_BUDGET_S, DEFAULT_TIMEOUT_S, PatternError, PatternTimeout, RegexClock
from bot.evals.sandbox import CodeLimits, SandboxError, run_code, transform
from bot.evals.sandbox.repo_files import RepoFiles, may_read
from bot.evals.scoring import Component, ScoringStopped, run_scoring
from bot.evals.suite import AssertionSpec, Code, ProviderSpec

MAX_MATCH_CHARS = 200_000  # regexes from the PR run on at most this much output


class AssertionBroken(Exception):
    """An assertion could not decide pass or fail (a regex timed out or rendered invalid):
    the case is `error`. str() names the assertion's file and line and what to do."""

    def __init__(self, error: SourceError, kind: CheckError = CheckError.ASSERTION):
        self.error = error
        self.kind = kind
        super().__init__(str(error))


class Grader(Protocol):
    async def rubric(self, grader: ProviderSpec | None, rubric: str, output: str, rubric_prompt: str | None = None,
                     inputs: tuple[tuple[str, str], ...] = ()) -> tuple[bool, float, str]: ...

    async def similarity(self, grader: ProviderSpec | None, expected: str, output: str, metric: str = "cosine") -> float: ...

    async def graded(self, a: AssertionSpec, grader: ProviderSpec | None, value: Any, output: str,
                     prompt: str = "") -> tuple[bool, float, str]: ...

    async def relevant(self, grader: ProviderSpec | None, window: list[tuple[str, str]]) -> bool: ...

    async def classification(self, grader: ProviderSpec, output: str) -> dict[str, float]: ...


class Response(Protocol):
    """What a model call measured, for latency / cost / finish-reason (bot.evals.providers.Completion)."""

    @property
    def latency_ms(self) -> float | None: ...
    @property
    def cost_usd(self) -> float | None: ...
    @property
    def finish_reason(self) -> str | None: ...
    @property
    def structured(self) -> bool: ...  # the output is the JSON of tool calls / parts: code sees the object


# a model-graded type's default pass mark on its 0..1 score (promptfoo's defaults)
GRADED_THRESHOLD = {"g-eval": 0.7, "conversation-relevance": 0.5, "answer-relevance": 0.0, "context-faithfulness": 0.0, "context-recall": 0.0, "context-relevance": 0.0}


@dataclass(frozen=True)
class CodeContext:
    """What suite code sees besides the output (promptfoo's `context`), and the limits it runs under.
    The code was let through by the gate (bot.evals.select) before the case was run."""

    vars: dict[str, Any]
    prompt: str  # the rendered prompt (a chat prompt as its JSON message list)
    test: dict[str, Any]  # description, vars, metadata
    provider: dict[str, Any]  # id, label
    limits: CodeLimits = CodeLimits()
    file: str = "suite"  # where the test is (a failing options.transform is reported there)
    line: int | None = None
    # the provider response's metadata (a Bedrock knowledge base's citations), as promptfoo hands it to code
    metadata: dict[str, Any] | None = None
    # the answer as the provider's code left it, before the test's options.transform (what contextTransform reads)
    answer: Any = None
    # the side's repository, read-only, for code that reads files while its case runs (bot.evals.runner records what
    # it read with the result); None: no code of this run reads the repository
    files: RepoFiles | None = None

    def reader(self, code: Any) -> RepoFiles | None:
        """The repository for `code` when it can read files (repo_files.may_read); any other code gets none."""
        return self.files if self.files is not None and may_read(code) else None

    def for_code(self, config: Any = None) -> dict[str, Any]:
        return {"vars": self.vars, "prompt": self.prompt, "test": self.test, "provider": self.provider,
                "config": config if isinstance(config, dict) else {},
                **({"metadata": self.metadata} if self.metadata is not None else {})}


def _sandbox_broken(file: str, line: int | None, what: str, exc: SandboxError) -> AssertionBroken:
    # a limit or a refusal stopped the code: the case is an error (could not check), never a pass
    return AssertionBroken(SourceError(file or "suite", f"{what}: {exc.message}", line), exc.fault.check_error)


async def transformed(code: Code, value: Any, context: CodeContext, file: str, line: int | None, what: str) -> Any:
    """A `transform` of the output (promptfoo: the transform's return value becomes the output)."""
    try:
        new = await transform(code, value, context.for_code(), context.limits, context.reader(code))
    except SandboxError as exc:
        raise _sandbox_broken(file, line, what, exc) from None
    if new is None:  # promptfoo: "Transform function did not return a value" fails the case
        raise AssertionBroken(SourceError(file or "suite", f"{what} returned nothing (null or undefined)", line))
    return new


async def with_context(a: AssertionSpec, context: CodeContext | None, output: str) -> AssertionSpec:
    """The assertion with the context its contextTransform gives in place of the `context` var (promptfoo: the
    code reads the answer as the provider's code left it, before the test's options.transform)."""
    if context is None or a.context_transform is None:
        raise AssertionBroken(SourceError(a.file or "suite", f"{a.type}: its contextTransform could not be run here", a.line))
    answer = output if context.answer is None else context.answer
    try:
        text = await context_text(a.context_transform, answer, code_context(context.vars, context.prompt, context.metadata),
                                  context.limits, f"{a.type} contextTransform", a.file, a.line)
    except ContextStopped as exc:
        raise AssertionBroken(exc.error, exc.kind) from None
    return replace(a, inputs=(*((k, v) for k, v in a.inputs if k != "context"), ("context", text)))


def as_output_text(value: Any) -> str:
    """How promptfoo's string assertions read a transformed output that is not a string (JSON text)."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))  # JSON.stringify


async def _check_code(a: AssertionSpec, value: Any, context: CodeContext | None) -> tuple[bool, float]:
    """promptfoo's semantics for javascript/python: `not-` inverts pass; the score is what the code gave
    (a number or the object's score; 1/0 for a boolean — after inverting); code that threw or gave no
    judgement fails whether negated or not."""
    if context is None or a.code is None:
        raise AssertionBroken(SourceError(a.file or "suite", f"{a.type}: the code could not be run here", a.line))
    try:
        result = await run_code(a.code, value, context.for_code(a.config), a.threshold, context.limits, context.reader(a.code))
    except SandboxError as exc:
        raise _sandbox_broken(a.file, a.line, f"{a.type} assertion", exc) from None
    if result.threw:
        return False, 0.0
    passed = result.passed != a.negated
    return passed, (1.0 if passed else 0.0) if result.boolean else result.score


@dataclass(frozen=True)
class Outcome:
    passed: bool
    score: float
    failed: tuple[str, ...]  # descriptions of failed assertions, e.g. 'icontains "30 days"'
    components: tuple[tuple[str, float], ...] = ()  # (type, score) of each assertion scored here, for max-score
    output: str | None = None  # the output after the test's options.transform (what storeOutputAs stores)


# Assertions that compare the outputs of all cases of one test (bot.evals.comparisons): not scored per case.
COMPARISON_TYPES = frozenset({"select-best", "max-score"})


def _as_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return [str(v) for v in value]


# Where a JSON object or array can start: `{` before a key or `}`, `[` before a value or `]`. Other
# brackets (prose, code, a run of 100k `{`) are never handed to the decoder.
_JSON_START = re.compile(r'\{\s*["}]|\[\s*[\[\]{"\-0-9tfn]')
# Bounds on the search, so an answer built to make it slow cannot: failed decodes, and characters the
# decoder may read over all attempts (a multiple of the text, plus slack for many small candidates).
MAX_JSON_ATTEMPTS = 2_000
_SCAN_FACTOR, _SCAN_SLACK = 8, 1_000_000


class JsonSearchTooLong(ValueError):
    """The output holds so many would-be JSON starts that searching them all was cut short."""


def json_candidates(text: str, strict: bool = False) -> list[Any]:
    """Every JSON object/array embedded in text, in order.

    One nested deeper than safejson.MAX_DEPTH (it would exhaust the recursion of the decoder or of a
    schema validator) is skipped, or with `strict` raises safejson.JsonTooDeep: contains-json must not
    call an output without JSON when it could not look at the JSON. The search itself is bounded
    (MAX_JSON_ATTEMPTS failed decodes, a scan budget linear in the text): past it, `strict` raises
    JsonSearchTooLong and otherwise what was found so far is returned.
    """
    decoder = json.JSONDecoder()
    found: list[Any] = []
    i, failures, scanned = 0, 0, 0
    budget = _SCAN_FACTOR * len(text) + _SCAN_SLACK
    for m in _JSON_START.finditer(text):
        j = m.start()
        if j < i:
            continue  # inside a value already decoded
        if failures >= MAX_JSON_ATTEMPTS or scanned > budget:
            if strict:
                raise JsonSearchTooLong(f"gave up after {failures:,} would-be JSON values that did not parse")
            break
        try:
            value, end = decoder.raw_decode(text, j)
            depth = safejson.depth_of(text[j:end])
        except json.JSONDecodeError as exc:
            failures += 1
            scanned += max(1, exc.pos - j)
            continue
        except RecursionError:  # the C decoder stops cleanly at the interpreter's recursion limit
            if strict:
                raise safejson.JsonTooDeep(safejson.MAX_DEPTH + 1, safejson.MAX_DEPTH) from None
            break  # where this value ends is unknown; retrying from every bracket inside it is quadratic
        scanned += end - j
        if depth > safejson.MAX_DEPTH:
            if strict:
                raise safejson.JsonTooDeep(depth, safejson.MAX_DEPTH)
            i = end
            continue
        found.append(value)
        i = end
    return found


def _valid(value: Any, schema: Any) -> bool:
    if schema is None:
        return True
    return jsonschema.validators.validator_for(schema)(schema).is_valid(value)


def check_deterministic(
    kind: str, value: Any, threshold: float | None, output: str, regexes: RegexClock | None = None
) -> tuple[bool, float]:
    """(pass, score) for a non-negated deterministic assertion type.

    `regex` raises PatternError / PatternTimeout (see bot.evals.patterns); equals/is-json/contains-json raise
    safejson.JsonTooDeep on an output nested too deeply to judge; check_one names the assertion.
    """
    if kind == "equals":
        if isinstance(value, (dict, list)):
            try:
                ok = safejson.loads(output) == value
            except json.JSONDecodeError:
                ok = False
        else:
            ok = output == str(value)
    elif kind == "contains":
        ok = str(value) in output
    elif kind == "icontains":
        ok = str(value).lower() in output.lower()
    elif kind == "contains-any":
        ok = any(v in output for v in _as_list(value))
    elif kind == "contains-all":
        ok = all(v in output for v in _as_list(value))
    elif kind == "icontains-any":
        ok = any(v.lower() in output.lower() for v in _as_list(value))
    elif kind == "icontains-all":
        ok = all(v.lower() in output.lower() for v in _as_list(value))
    elif kind == "regex":
        ok = (regexes or RegexClock()).search(str(value), output[:MAX_MATCH_CHARS])
    elif kind == "starts-with":
        ok = output.startswith(str(value))
    elif kind == "is-json":
        try:
            ok = _valid(safejson.loads(output), value)
        except json.JSONDecodeError:
            ok = False
    elif kind == "contains-json":
        ok = any(_valid(v, value) for v in json_candidates(output[:MAX_MATCH_CHARS], strict=True))
    elif kind == "levenshtein":
        limit = 5 if threshold is None else threshold
        ok = Levenshtein.distance(output, str(value)) <= limit
    elif kind in metrics.TYPES:
        return metrics.verdict(kind, value, threshold, output)
    elif kind in ("is-sql", "contains-sql"):
        spec, problem = sql.parse_value(value)
        if spec is None:  # the loader checked the value
            raise ValueError(f"{kind}: {problem}")
        ok = (sql.is_sql if kind == "is-sql" else sql.contains_sql)(output, spec, regexes or RegexClock())
    elif kind in ("is-xml", "contains-xml"):
        required, problem = markup.required_elements(value)
        if problem:  # the loader checked the value
            raise ValueError(f"{kind}: {problem}")
        ok = (markup.is_xml if kind == "is-xml" else markup.contains_xml)(output, required)
    elif kind == "is-html":
        ok = html_checks.is_html(output)
    elif kind == "contains-html":
        ok = html_checks.contains_html(output)
    elif kind == "is-refusal":
        ok = refusal.is_refusal(output)
    else:  # the loader only lets supported types through
        raise ValueError(f"not a deterministic assertion type: {kind}")
    return ok, 1.0 if ok else 0.0


def _valid_tool_calls(a: AssertionSpec, output: str, context: CodeContext | None) -> bool:
    """promptfoo's is-valid-openai-tools-call / -function-call: the output is the model's tool calls
    (their JSON, as the OpenAI wire gives it when the answer has no text), each naming a function of
    the provider's `tools` (or `functions`) with arguments valid against its parameters schema."""
    config = (context.provider.get("config") if context else None) or {}
    provider_id = str(context.provider.get("id", "")) if context else ""
    if a.base_type == "is-valid-function-call" and provider_id.startswith(("google:", "vertex:")):
        return _valid_gemini_calls(output, config.get("tools"))
    tools = config.get("tools") if a.base_type == "is-valid-openai-tools-call" else config.get("functions")
    if a.base_type == "is-valid-openai-tools-call" and ("MCP Tool Result" in output or "MCP Tool Error" in output):
        return "MCP Tool Error" not in output  # promptfoo: a hosted MCP call's result line passes, its error line fails
    try:
        calls = json.loads(output)
    except ValueError:
        return False
    if a.base_type == "is-valid-openai-tools-call":
        calls = calls.get("tool_calls") if isinstance(calls, dict) and "tool_calls" in calls else calls
        if not isinstance(calls, list) or not calls or not all(
                isinstance(c, dict) and isinstance(c.get("function"), dict) and isinstance(c["function"].get("name"), str)
                and isinstance(c["function"].get("arguments"), str) for c in calls):
            return False
        functions = [t["function"] for t in tools or [] if isinstance(t, dict) and t.get("type") == "function" and isinstance(t.get("function"), dict)]
        return bool(tools) and all(_valid_call(c["function"], functions) for c in calls)
    calls = calls.get("function_call") if isinstance(calls, dict) and "function_call" in calls else calls
    return isinstance(tools, list) and _valid_call(calls, [f for f in tools if isinstance(f, dict)])


_GEMINI_TYPES = {"STRING", "NUMBER", "INTEGER", "BOOLEAN", "ARRAY", "OBJECT", "NULL"}


def _valid_gemini_calls(output: str, tools: Any) -> bool:
    """promptfoo's Gemini check: the answer's functionCall parts (its output when the answer is not all
    text) each name a declared function, with args valid against its parameters (Gemini's upper-case
    type names read as JSON Schema's)."""
    try:
        parsed = json.loads(output)
    except ValueError:
        return False
    if isinstance(parsed, dict) and isinstance(parsed.get("toolCall"), dict):
        calls = parsed["toolCall"].get("functionCalls")
    elif isinstance(parsed, list):
        calls = [p["functionCall"] for p in parsed if isinstance(p, dict) and "functionCall" in p]
    else:
        return False
    declared = next((t.get("functionDeclarations") for t in tools or [] if isinstance(t, dict) and "functionDeclarations" in t), None) or []

    def lower(node: Any) -> Any:
        if isinstance(node, list):
            return [lower(n) for n in node]
        if not isinstance(node, dict):
            return node
        return {k: (v.lower() if k == "type" and v in _GEMINI_TYPES else
                    [t.lower() if t in _GEMINI_TYPES else t for t in v] if k == "type" and isinstance(v, list) else lower(v))
                for k, v in node.items()}

    for call in calls if isinstance(calls, list) else []:
        if not isinstance(call, dict):
            return False
        fn = next((f for f in declared if isinstance(f, dict) and f.get("name") == call.get("name")), None)
        args = call.get("args") or {}
        if isinstance(args, str):
            try:
                args = json.loads(args)
            except ValueError:
                return False
        if fn is None:
            return False
        if args and fn.get("parameters"):
            try:
                if not _valid(args, lower(fn["parameters"])):
                    return False
            except jsonschema.SchemaError:
                return False
        elif not (args == {} and not fn.get("parameters")):
            return False
    return isinstance(calls, list)


def _valid_call(call: Any, functions: list[dict]) -> bool:
    if not isinstance(call, dict) or not isinstance(call.get("name"), str) or not isinstance(call.get("arguments"), str):
        return False
    schema = next((f.get("parameters") for f in functions if f.get("name") == call["name"]), None)
    if schema is None:
        return False
    try:
        return _valid(json.loads(call["arguments"]), schema)
    except ValueError:
        return False


def cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


MAX_TURNS = 200  # conversation-relevance asks the grader once per turn


def _conversation(a: AssertionSpec, output: str, context: CodeContext | None) -> list[tuple[str, str]]:
    """promptfoo's conversation-relevance turns: the test's `_conversation` var ({input, output} each,
    bound into the assertion's inputs at load, one JSON object a line), else (rendered prompt, output)."""
    def broken(message: str) -> AssertionBroken:
        return AssertionBroken(SourceError(a.file or "suite", f"{a.type}: {message}", a.line))

    if a.rubric_prompt is not None:
        raise broken("unsupported: a rubricPrompt for conversation-relevance (it is given the messages, not an output); remove it")
    raw = dict(a.inputs).get("_conversation")
    if not raw:
        return [(context.prompt if context is not None else "", output)]
    turns: list[tuple[str, str]] = []
    for line in raw.splitlines():
        try:
            turn = json.loads(line)
        except ValueError:
            turn = None
        if not isinstance(turn, dict) or "input" not in turn or "output" not in turn:
            raise broken("the _conversation var must be a list of {input, output} turns")
        said, answered = (t if isinstance(t, str) else json.dumps(t, ensure_ascii=False) for t in (turn["input"], turn["output"]))
        turns.append((said, answered))
    if len(turns) > MAX_TURNS:
        raise broken(f"the _conversation var has {len(turns):,} turns; at most {MAX_TURNS} are graded (one grader call each)")
    return turns


def _broken(a: AssertionSpec, exc: PatternError | PatternTimeout) -> AssertionBroken:
    if isinstance(exc, PatternTimeout) and exc.budget_s is not None:
        message = (
            f"{a.type} {exc.pattern!r} was not run to the end: the suite regexes of this review used up their "
            f"{exc.budget_s:g} s together, so the case is an error (neither pass nor fail). Rewrite the slow "
            "patterns (see the cases stopped earlier), or raise the limit (evals.regex_budget_s in "
            f".github/prompt-review.yml, default {DEFAULT_BUDGET_S:g} s)"
        )
    elif isinstance(exc, PatternTimeout):
        message = (
            f"{a.type} {exc.pattern!r} was stopped after {exc.limit_s:g} s on this output, so the case is an error "
            "(neither pass nor fail). The pattern backtracks catastrophically; rewrite it without nested or "
            "overlapping repetition such as (a+)+ or (a|aa)+, or raise the limit (evals.regex_timeout_s in "
            f".github/prompt-review.yml, default {DEFAULT_TIMEOUT_S:g} s)"
        )
    else:  # the loader validates patterns, so this is one that became invalid when {{ vars }} were rendered in
        message = f"{a.type} {str(a.value)!r} is not a valid regular expression after rendering vars: {exc}"
    kind = CheckError.REGEX_BUDGET if isinstance(exc, PatternTimeout) else CheckError.ASSERTION
    return AssertionBroken(SourceError(a.file or "suite", message, a.line), kind)


def _too_deep(a: AssertionSpec, exc: safejson.JsonTooDeep) -> AssertionBroken:
    # Neither pass nor fail: calling it "not JSON" would let a not-is-json assertion pass unchecked.
    message = (
        f"{a.type}: the output nests JSON deeper than {exc.limit} levels, so it was not parsed and the case is an "
        "error (neither pass nor fail); the limit is fixed"
    )
    return AssertionBroken(SourceError(a.file or "suite", message, a.line), CheckError.BAD_RESPONSE)


def _measured(a: AssertionSpec, response: Response | None) -> tuple[bool, float]:
    """latency (ms) and cost (USD) at most the threshold; finish-reason equal to the value."""
    kind = a.base_type
    what = {"latency": "latency_ms", "cost": "cost_usd", "finish-reason": "finish_reason"}[kind]
    measured = getattr(response, what, None) if response is not None else None
    if measured is None:
        why = {"latency": "no latency was measured (the result came from the cache)",
               "cost": "the model has no price in prompt-review's price table",
               "finish-reason": "the provider did not report why the answer ended"}[kind]
        message = f"{a.type}: {why}, so the case is an error (neither pass nor fail)"
        raise AssertionBroken(SourceError(a.file or "suite", message, a.line), CheckError.ASSERTION)
    if kind == "finish-reason":
        ok = str(measured).lower() == str(a.value).lower()
    else:
        ok = float(measured) <= float(a.threshold or 0)
    return ok, 1.0 if ok else 0.0


async def check_one(
    a: AssertionSpec,
    output: str,
    grader: Grader | None,
    default_grader: ProviderSpec | None,
    regexes: RegexClock | None = None,
    response: Response | None = None,
    context: CodeContext | None = None,
    value: Any = None,
) -> tuple[bool, float]:
    """(pass, score) of one assertion; `value` is the output as code sees it (a transform may have made
    it an object), `output` its text."""
    kind = a.base_type
    value = output if value is None else value
    if a.transform is not None:
        if context is None:
            raise AssertionBroken(SourceError(a.file or "suite", f"{a.type}: its transform could not be run here", a.line))
        value = await transformed(a.transform, value, context, a.file, a.line, f"{a.type} transform")
        output = as_output_text(value)
    if kind in ("javascript", "python"):
        return await _check_code(a, value, context)
    if kind == "is-refusal" and (not isinstance(value, str) or not output.strip()):
        # promptfoo: an empty answer, or one that is not text (tool calls, an object a transform made), is a
        # refusal, scored 0 either way
        return not a.negated, 0.0
    if kind in ("latency", "cost", "finish-reason"):
        ok, score = _measured(a, response)
    elif kind in ("is-valid-openai-tools-call", "is-valid-openai-function-call", "is-valid-function-call"):
        ok = _valid_tool_calls(a, output, context)
        # promptfoo 0.121's handlers of these types never read `inverse`: a not- form checks the same
        return ok, 1.0 if ok else 0.0
    elif kind in ("perplexity", "perplexity-score"):
        try:  # the handler reads `not-` itself: no inverting below
            return perplexity.verdict(kind, getattr(response, "logprobs", None), a.threshold, a.negated)
        except perplexity.NoLogprobs as exc:
            message = (f"{a.type}: {exc} (this provider's answer carried no token log-probabilities; OpenAI and Azure chat "
                       "return them when asked: config `passthrough: {logprobs: true}`)")
            raise AssertionBroken(SourceError(a.file or "suite", message, a.line), CheckError.ASSERTION) from None
    elif kind == "tool-call-f1":  # the calls as the provider answered them (an object), or as a transform left them
        return tool_f1.verdict(a.value, a.threshold, value, a.negated)
    elif kind == "llm-rubric":
        if grader is None:
            raise RuntimeError("no grader configured")
        rubric_text = "" if a.value is None else str(a.value)  # promptfoo: a rubricPrompt may carry the whole rubric
        if a.rubric_prompt is not None or a.inputs:
            ok, score, _ = await grader.rubric(a.grader or default_grader, rubric_text, output,
                                               rubric_prompt=a.rubric_prompt, inputs=a.inputs)
        else:  # graders without rubric options stay usable
            ok, score, _ = await grader.rubric(a.grader or default_grader, rubric_text, output)
        if a.threshold is not None:
            ok = score >= a.threshold
    elif kind in similarity.METRICS:
        if grader is None:
            raise RuntimeError("no grader configured")
        expected = a.value if isinstance(a.value, list) else [a.value]

        async def measured(text: str, metric: str) -> float:  # cosine as before: graders that know only cosine stay usable
            if metric == "cosine":
                return await grader.similarity(a.grader or default_grader, text, output)
            return await grader.similarity(a.grader or default_grader, text, output, metric)

        try:
            return await similarity.similar(kind, a.negated, a.threshold, [str(e) for e in expected], measured)
        except similarity.VectorsDiffer as exc:  # promptfoo throws: the case is an error
            raise AssertionBroken(SourceError(a.file or "suite", f"{a.type}: {exc}", a.line), CheckError.BAD_RESPONSE) from None
    elif kind == "classifier":
        if grader is None or a.grader is None:  # bound when the suite was loaded (an error there without one)
            raise RuntimeError("no classification grader configured")
        ok, score = classifier_score(a.value, await grader.classification(a.grader, output), a.threshold)
    elif kind == "conversation-relevance":
        if grader is None:
            raise RuntimeError("no grader configured")
        turns = _conversation(a, output, context)
        size = (a.config or {}).get("windowSize") or 5
        if not isinstance(size, int) or isinstance(size, bool) or size < 1:
            raise AssertionBroken(SourceError(a.file or "suite", f"{a.type}: config.windowSize must be a whole number of turns, at least 1", a.line))
        relevant = [await grader.relevant(a.grader or default_grader, turns[max(0, i - size + 1):i + 1]) for i in range(len(turns))]
        score = sum(relevant) / len(relevant)
        ok = score >= (0.5 if a.threshold is None else a.threshold) - 1e-12
    elif kind in GRADED_THRESHOLD or kind in ("factuality", "model-graded-factuality", "model-graded-closedqa"):
        if grader is None:
            raise RuntimeError("no grader configured")
        if a.context_transform is not None:
            a = await with_context(a, context, output)
        ok, score, _ = await grader.graded(a, a.grader or default_grader, a.value, output, context.prompt if context else "")
        if kind in GRADED_THRESHOLD:  # promptfoo allows a float's rounding below the pass mark
            ok = score >= (GRADED_THRESHOLD[kind] if a.threshold is None else a.threshold) - 1e-12
    else:
        try:
            ok, score = check_deterministic(kind, a.value, a.threshold, output, regexes)
        except (PatternError, PatternTimeout) as exc:
            raise _broken(a, exc) from None
        except safejson.JsonTooDeep as exc:
            raise _too_deep(a, exc) from None
        except metrics.NotScored as exc:  # promptfoo stops on it: an error, neither pass nor fail
            raise AssertionBroken(SourceError(a.file or "suite", f"{a.type}: {exc}; the case is an error (neither pass nor fail)",
                                              a.line), CheckError.BAD_RESPONSE) from None
        except (sql.SqlNotRead, markup.MarkupNotRead) as exc:  # neither pass nor fail: a verdict on text that was not read
            raise AssertionBroken(SourceError(a.file or "suite", f"{a.type}: {exc} (the limit is fixed); the case is an error "
                                              "(neither pass nor fail)", a.line), CheckError.BAD_RESPONSE) from None
        except JsonSearchTooLong as exc:  # neither pass nor fail, like an output nested too deeply
            raise AssertionBroken(SourceError(a.file or "suite", f"{a.type}: the output was not fully searched for JSON: {exc} "
                                              f"(the limit is fixed); the case is an error (neither pass nor fail)",
                                              a.line), CheckError.BAD_RESPONSE) from None
    if a.negated:
        return (not ok), 1.0 - score
    return ok, score


async def _assert_set(a: AssertionSpec, one: Callable[[AssertionSpec], Awaitable[Component]]) -> Component:
    """promptfoo's assert-set: its assertions' weighted mean score (0 when their weights sum to 0, an empty set
    included); it passes when none of them failed (a weight-0 one never fails), or, with the set's threshold,
    when the score reaches it."""
    children = tuple([await one(c) for c in a.children])
    weight = sum(c.assertion.weight for c in children)
    score = sum(c.score * c.assertion.weight for c in children) / weight if weight > 0 else 0.0
    passed = all(c.passed or c.assertion.weight == 0 for c in children)
    if a.threshold is not None:
        passed = score >= a.threshold
    return Component(a, passed, score, children)


async def score_output(
    asserts: tuple[AssertionSpec, ...],
    threshold: float | None,
    output: str,
    grader: Grader | None = None,
    default_grader: ProviderSpec | None = None,
    regexes: RegexClock | None = None,
    response: Response | None = None,
    context: CodeContext | None = None,
    output_transform: Code | None = None,
    scoring: Code | None = None,
) -> Outcome:
    """All assertions of one test against one output. Raises AssertionBroken when one cannot decide.
    `response` carries what the call measured (latency, cost, finish reason) for the assertions on them;
    `context` is what code assertions and transforms see; `output_transform` the test's options.transform;
    `scoring` its assertScoringFunction, whose verdict replaces the combined one (bot.evals.scoring)."""
    failed: list[str] = []
    blocking = False
    total = weight_sum = 0.0
    value: Any = output
    if response is not None and response.structured:  # promptfoo hands code the answer's object, not its JSON text
        try:
            value = safejson.loads(output)
        except (ValueError, safejson.JsonTooDeep):
            value = output
    if context is not None:
        context = replace(context, answer=value)
    if output_transform is not None:
        if context is None:
            raise AssertionBroken(SourceError("suite", "options.transform could not be run here"))
        value = await transformed(output_transform, value, context, context.file, context.line, "options.transform")
        output = as_output_text(value)
    components: list[tuple[str, float]] = []
    results: list[Component] = []

    async def one(a: AssertionSpec) -> Component:
        ok, score = await check_one(a, output, grader, default_grader, regexes, response, context, value)
        components.append((a.type, score))
        return Component(a, ok, score)

    for a in asserts:
        if a.base_type in COMPARISON_TYPES:
            continue  # decided once every case of the test has run
        if a.is_set:
            group = await _assert_set(a, one)
            results.append(group)
            if not group.passed:  # promptfoo: a failed set fails the test whatever its weight (0 included)
                inner = [c.assertion.describe() for c in group.children if not c.passed]
                failed.extend([f"assert-set: {d}" for d in inner] or [f"{a.describe()}: score {group.score:.2f} below {a.threshold}"])
                blocking = True
            total += group.score * a.weight
            weight_sum += a.weight
            continue
        result = await one(a)
        results.append(result)
        if not result.passed:
            failed.append(a.describe())
            blocking = blocking or a.weight > 0  # weight 0: reported, never decides the verdict
        total += result.score * a.weight
        weight_sum += a.weight
    score = total / weight_sum if weight_sum else (0.0 if blocking else 1.0)
    passed = score >= threshold if threshold is not None else not blocking
    if scoring is not None and asserts:  # promptfoo: a test without assertions passes without it
        if context is None:
            raise AssertionBroken(SourceError("suite", "assertScoringFunction could not be run here"))
        try:
            verdict = await run_scoring(scoring, results, threshold, context.limits, context.file, context.line)
        except ScoringStopped as exc:
            raise AssertionBroken(exc.error, exc.cause.fault.check_error) from None
        failed = [] if verdict.passed else [*failed, f"assertScoringFunction: {verdict.reason[:200]}"]
        return Outcome(verdict.passed, verdict.score, tuple(failed), tuple(components), output)
    return Outcome(passed, score, tuple(failed), tuple(components), output)
