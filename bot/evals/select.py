"""Affected-case selection: expand a suite into cases (test × prompt × provider) on each side,
render them, and keep only the cases whose result-determining inputs differ, each with reasons.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from bot.core.config import EvalsConfig
from bot.core.errors import CheckError, SourceError, UserError
from bot.core.files import FileTree
from bot.evals.loader import chat_messages
from bot.evals.patterns import PatternError, compile_pattern
from bot.evals.http_config import with_header_vars, with_query, with_rendered_headers
from bot.evals.http_raw import RAW_KEYS, REQUEST_FILE
from bot.evals.http_tools import tool_vars
from bot.evals.providers_request import http_fill, requested, with_body, with_url
from bot.evals.providers_config import PASSTHROUGH, PROVIDER_PARAMS
from bot.evals.providers_shapes import INERT_CONFIG, js_json, js_string
from bot.evals.realtime_turns import kept_turns
from bot.evals.render import Messages, RenderBounds, Renderer, RenderError
from bot.evals.sandbox import CodeLimits, JsCode, Origin, PyCode, SandboxError, may_run, transform_sync
from bot.evals.sandbox.py import SCRIPT
from bot.evals.sandbox.repo_files import RepoFiles, may_read
from bot.evals.suite import AssertionSpec, Code, PromptSpec, ProviderSpec, Suite, TestSpec, code_fingerprint, code_identity, module_identities, required
from bot.evals.test_provider import answering


def digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str, ensure_ascii=False).encode()).hexdigest()


@dataclass(frozen=True)
class CaseInput:
    """Everything that determines one side's result for one case."""

    key: str
    description: str
    test: TestSpec
    prompt: PromptSpec
    provider: ProviderSpec
    messages: Messages | None
    asserts: tuple[AssertionSpec, ...]  # with {{ var }} values rendered
    deps: tuple[str, ...]
    error: SourceError | None = None
    prompt_index: int = 0  # position of the prompt in the suite: identifies an edited inline prompt
    error_kind: CheckError = CheckError.RENDER  # why `error`: a render error, or code the gate refused
    vars: dict[str, Any] | None = None  # the vars after options.transformVars (None: the test's own)
    # the suite's provider the case runs under when the test's own provider answers it (`provider` is then the
    # test's, bot.evals.test_provider): code sees this one as context.provider, as in promptfoo
    column: ProviderSpec | None = None

    @property
    def case_vars(self) -> dict[str, Any]:
        return self.test.vars if self.vars is None else self.vars

    def code_items(self) -> tuple[tuple[str, Code], ...]:
        """Every piece of code this case runs, named for a refusal."""
        out: list[tuple[str, Code]] = []
        if self.prompt.code is not None:
            out.append(("prompt function", self.prompt.code))
        if self.test.transform_vars is not None:
            out.append(("options.transformVars", self.test.transform_vars))
        out.extend((f"var {name} computed by code", code) for name, code in self.test.var_code)
        if self.test.transform is not None:
            out.append(("options.transform", self.test.transform))
        for a in self.asserts:
            out.extend(a.code_items())
        if self.test.scoring is not None:
            out.append(("assertScoringFunction", self.test.scoring))
        if self.test.grader is not None and self.test.grader.code is not None:  # options.provider written in code
            out.append((f"grader {self.test.grader.id}", self.test.grader.code))
        out.extend((f"provider {what}", code) for what, code in self.provider.code_items())
        return tuple(out)

    @property
    def suite(self) -> str:
        """The suite's path: the first part of the key."""
        return self.key.split("::", 1)[0]

    def fingerprint(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "messages": [list(m) for m in self.messages or ()],
            "provider": self.provider.fingerprint(),
            "asserts": [a.fingerprint() for a in self.asserts],
            "threshold": self.test.threshold,
            "grader": self.test.grader.fingerprint() if self.test.grader else None,
        }
        if self.code_items():  # code reads context.vars and is transformed: both decide the result
            code: dict[str, Any] = {"vars": self.case_vars, "prompt_label": self.prompt.label,
                                    "transform": code_fingerprint(self.test.transform) if self.test.transform else None}
            if self.test.scoring is not None:  # absent otherwise: existing cache keys stay the same
                code["scoring"] = code_fingerprint(self.test.scoring)
            out["code"] = code
        if self.provider.call_values:  # an http provider's query and header vars for this case (absent otherwise)
            out["call"] = self.provider.call_values
        if self.provider.conversation:  # absent otherwise: existing cache keys stay the same
            out["conversation"] = [[list(m) for m in turn] for turn in self.provider.conversation]
        return out


@dataclass(frozen=True)
class CodeGate:
    """Which code of one side may run. The base branch's code always runs; on the head, code the base has
    too (the same language, file and exact text) is the base's, anything else the PR's, for which
    `decide(what)` says (allowed, reason) — bot.evals.sandbox.may_run with the PR's origin."""

    base_code: frozenset = frozenset()
    decide: Callable[[str], tuple[bool, str]] | None = None  # None: all of this side's code runs (the base side)
    limits: CodeLimits = CodeLimits()

    def refusal(self, items: tuple[tuple[str, Code], ...]) -> str | None:
        if self.decide is None:
            return None
        for what, code in items:
            if code_identity(code) in self.base_code:
                continue
            allowed, reason = self.decide(what + changed_helpers(code, self.base_code))
            if not allowed:
                return reason
        return None


def changed_helpers(code: Code, base: frozenset | set) -> str:
    """', which requires checks/lib.js (changed by the PR)': the required files the base does not have as they are."""
    changed = [m[1] for m in sorted(module_identities(code) - set(base))]
    return f", which requires {', '.join(changed)} (changed by the PR)" if changed else ""


def _not_here(what: str) -> tuple[bool, str]:
    return False, f"refused: {what} is not run without a decision on where it comes from (bot.evals.select.CodeGate)"


def base_only_gate(base: Suite | None, limits: CodeLimits | None = None) -> CodeGate:
    """A gate that runs only code the base suite has (e.g. while re-running head variants to find causes)."""
    never = EvalsConfig(run_pr_code="never")
    return CodeGate(_suite_code(base), lambda what: may_run(Origin.PR, True, never, what), limits or CodeLimits())


def code_of(cases: dict[str, CaseInput]) -> frozenset:
    """The identities of every piece of code a side's cases run: what the head's code is compared with."""
    codes = [code for c in cases.values() for _, code in c.code_items()]
    return frozenset(_with_modules({code_identity(code) for code in codes}, codes))


@dataclass(frozen=True)
class PlannedCase:
    key: str
    base: CaseInput | None
    head: CaseInput | None
    reasons: tuple[str, ...]
    skip: str | None = None  # why an affected case is not run (formatting-only)


@dataclass
class SuitePlan:
    path: str
    description: str
    cases: list[PlannedCase] = field(default_factory=list)
    unaffected: int = 0
    errors: list[SourceError] = field(default_factory=list)
    # a test stores its output for later tests (options.storeOutputAs): the cases run in order, and
    # each is rendered again with the outputs stored before it (bot.evals.runner)
    chained: bool = False
    # (path, the prompt function's file) of what its prompt functions read on either side: under review
    reads: tuple[tuple[str, str], ...] = ()
    # unaffected cases whose code reads the repository while the case runs (case_readers): what it reads is known only
    # by running it, so the runner runs their base first and re-runs those whose reads the PR changed
    probes: list[PlannedCase] = field(default_factory=list)
    # the unaffected cases by key (both sides' inputs), for a probe found affected to bring its test's compared cases
    unaffected_pairs: dict[str, tuple[CaseInput, CaseInput]] = field(default_factory=dict)


def _identity_vars(test: TestSpec) -> dict[str, Any]:
    """A test's vars with file vars named by path, so editing the file keeps the case's identity."""
    return {k: (f"file://{test.var_files[k]}" if k in test.var_files else v) for k, v in test.vars.items()}


def stable_test_ids(tests: tuple[TestSpec, ...]) -> list[str]:
    """Unique descriptions identify a test (so its data can change); otherwise its vars do."""
    counts = Counter(t.description for t in tests if t.description)
    ids: list[str] = []
    seen: Counter[str] = Counter()
    for t in tests:
        base = t.description if t.description and counts[t.description] == 1 else f"{t.description or 'test'} [{digest(_identity_vars(t))[:8]}]"
        seen[base] += 1
        ids.append(base if seen[base] == 1 else f"{base} ~{seen[base]}")
    return ids


def _provider_aliases(base: Suite | None, head: Suite | None) -> dict[str, str]:
    """Base slot → head slot for unlabelled providers edited in place (a model upgrade keeps its cases)."""
    if base is None or head is None:
        return {}
    head_slots = {p.slot for p in head.providers}
    base_slots = {p.slot for p in base.providers}
    lost = [p for p in base.providers if p.slot not in head_slots and not p.label]
    gained = [p for p in head.providers if p.slot not in base_slots and not p.label]
    if len(lost) != len(gained):
        return {}
    return {b.slot: h.slot for b, h in zip(lost, gained)}


def expand(
    suite: Suite, renderer: Renderer, aliases: dict[str, str] | None = None, gate: CodeGate | None = None,
    reads: dict[str, dict[str, None]] | None = None,
) -> tuple[dict[str, CaseInput], list[SourceError]]:
    """Every case of one side. Code the `gate` refuses makes its case an error naming the rule, and is
    never run (a refused options.transformVars is not run to render the prompt either). A prompt function reads the
    repository (bot.evals.sandbox.repo_files): what it read for a case is among the case's prompt files, and what it
    read at all is put in `reads` (the function's file → the paths), for the review's files under review."""
    aliases = aliases or {}
    reads = {} if reads is None else reads
    readers: dict[str, RepoFiles] = {}

    def reader(code: Code) -> RepoFiles:  # one per piece of code and side: its answers are kept between calls
        key = code.file or suite.path
        if key not in readers:
            readers[key] = RepoFiles(renderer.tree, posixpath.dirname(suite.path), reads.setdefault(key, {}))
        return readers[key]

    gate = gate or CodeGate(decide=_not_here)  # safe by default: the caller says which code may run
    cases: dict[str, CaseInput] = {}
    errors: dict[str, SourceError] = {}
    deps = {p.label: renderer.dependencies(p) for p in suite.prompts}
    # the suite's nunjucksFilters run while templates render: all of them pass the gate, or no case renders
    filters_refused = gate.refusal(filter_items(suite)) if suite.filters else None
    if suite.filters and not filters_refused:
        renderer = Renderer(renderer.tree, renderer.bounds, suite.filters, gate.limits)
    renderer.prefetch(_render_jobs(suite))  # every render below, in a few round trips to the render worker
    for test, test_id in zip(suite.tests, stable_test_ids(suite.tests)):
        for prompt_index, prompt in enumerate(suite.prompts):
            error, error_kind, vars_ = None, CheckError.RENDER, dict(test.vars)
            vars_read: dict[str, None] = {}  # what code computing the vars read: files of each of these cases
            refused = gate.refusal(_vars_code(test))
            try:
                if filters_refused:
                    raise _CodeStopped(SourceError(suite.path, filters_refused, suite.filters_line))
                if refused:
                    raise _CodeStopped(SourceError(test.file, refused, test.line))
                if test.transform_vars is not None:
                    vars_ = _transform_vars(test, prompt, vars_, gate.limits, reader, vars_read)
                if test.var_code:
                    vars_ = _computed_vars(test, prompt, vars_, gate.limits, reader, vars_read)
                vars_ = promptfoo_vars(vars_)
                messages: Messages | None = renderer.render(with_affixes(prompt, test), vars_) if prompt.code is None else None
                asserts = tuple(_render_assert(renderer, a, vars_) for a in test.asserts)
            except RenderError as exc:
                messages, asserts, error = None, test.asserts, exc.error
                error_kind = CheckError.ASSERTION if isinstance(exc, _CodeStopped) else CheckError.RENDER
                errors[str(exc.error)] = exc.error
            for provider in suite.providers:
                if not provider.runs(prompt) or not test.runs_on(prompt, provider):  # the provider's or the test's filters
                    continue
                provider = provider.for_prompt(prompt)
                body_template = provider.option("body")  # as written: bot.evals.http_body renders it with the vars
                provider_vars = tool_vars(provider, vars_)  # an http provider's {{tools}}, {{tool_choice}} (bot.evals.http_tools)
                provider = provider.with_vars(provider_vars)
                slot = aliases.get(provider.slot, provider.slot)
                key = f"{suite.path}::{test_id}::{prompt.label}::{slot}"
                case_messages, case_error, case_kind = messages, error, error_kind
                case_read = dict(vars_read)  # what the code rendering this case read: its prompt files
                if prompt.code is not None and error is None:  # promptfoo calls a prompt function per provider
                    try:
                        with _reading(reader, prompt.code, case_read) as files:
                            case_messages, config = _prompt_function(prompt, provider, vars_, gate, suite.path, files)
                        if config:  # promptfoo: the function's `config` over the prompt's, for this call
                            provider = replace(provider, params=tuple(sorted({**dict(provider.params), **config}.items())))
                    except RenderError as exc:
                        case_messages, case_error = None, exc.error
                        case_kind = CheckError.ASSERTION if isinstance(exc, _CodeStopped) else CheckError.RENDER
                        errors[str(exc.error)] = exc.error
                column, provider_file = provider, suite.path
                if test.provider is not None:  # the test's own provider answers (bot.evals.test_provider)
                    provider = answering(column, test.provider.for_prompt(prompt).with_vars(vars_))
                    provider_file = test.file
                    body_template = test.provider.option("body")  # its own body, as written
                prompt_code = provider.prompt_transform
                if prompt_code is not None and case_error is None and case_messages is not None \
                        and not gate.refusal((("provider prompt transform", prompt_code),)):  # refused: an error below, not run
                    try:
                        case_messages = _transformed_prompt(prompt_code, prompt, provider, case_messages, vars_, gate.limits, provider_file)
                    except RenderError as exc:
                        case_messages, case_error, case_kind = None, exc.error, CheckError.ASSERTION
                        errors[str(exc.error)] = exc.error
                request_code = provider.request_transform
                fill = http_fill(renderer, provider)  # filters, tags or a templated url: rendered in the sandbox
                try:
                    if request_code is not None and case_error is None and case_messages is not None \
                            and not gate.refusal((("provider transformRequest", request_code),)):  # refused: an error below, not run
                        try:
                            provider = requested(provider, body_template, prompt_text(prompt, case_messages), provider_vars, prompt,
                                                 gate.limits, fill)
                        except SandboxError as exc:
                            named = f"transformRequest of provider {provider.slot}" + (f" ({request_code.file})" if request_code.file else "")
                            case_messages, case_error = None, SourceError(provider_file, f"{named}: {exc.message}", provider.line)
                            case_kind = CheckError.ASSERTION
                            errors[str(case_error)] = case_error
                    elif request_code is None and provider.kind == "http" and case_error is None and case_messages is not None:
                        provider = with_body(provider, body_template, prompt_text(prompt, case_messages), provider_vars, fill)
                    if provider.kind == "http" and case_messages is not None:  # queryParams and url with this case's vars
                        provider = with_query(provider, prompt_text(prompt, case_messages), provider_vars, fill)
                        provider = with_url(provider, prompt_text(prompt, case_messages), provider_vars, fill)
                        provider = with_header_vars(provider, prompt_text(prompt, case_messages), provider_vars)
                        provider = with_rendered_headers(provider, prompt_text(prompt, case_messages), provider_vars, fill)
                except RenderError as exc:  # the provider's template: an error of the case, at the provider's entry
                    case_messages, case_kind = None, CheckError.RENDER
                    case_error = SourceError(provider_file, f"{exc.error.file}: {exc.error.message}", provider.line)
                    errors[str(case_error)] = case_error
                case = CaseInput(
                    key, test.description or test_id, test, prompt, provider, case_messages, asserts,
                    deps[prompt.label] + tuple(case_read) + tuple(dict.fromkeys(test.var_files.values())), case_error, prompt_index,
                    case_kind, vars_ if vars_ != test.vars else None, column if test.provider is not None else None,
                )
                refused_here = None if case_error else gate.refusal(case.code_items())
                if refused_here:
                    where = next((a for a in asserts if any(gate.refusal(((w, c),)) for w, c in a.code_items())), None)
                    file, line = (where.file, where.line) if where else (test.file, test.line)
                    if where is None and any(gate.refusal(((f"provider {w}", c),)) for w, c in provider.code_items()):
                        file, line = suite.path, column.line  # the provider's own code: its entry in the suite …
                        if test.provider is not None and any(gate.refusal(((f"provider {w}", c),)) for w, c in test.provider.code_items()):
                            file, line = provider_file, provider.line  # … or the test's provider entry
                    case = replace(case, error=SourceError(file, refused_here, line), error_kind=CheckError.ASSERTION)
                cases[key] = case
    return kept_turns(cases), list(errors.values())


class _CodeStopped(RenderError):
    """options.transformVars was refused or stopped: the case is an error of its code, not of a template."""


def _prompt_function(prompt: PromptSpec, provider: ProviderSpec, vars_: dict[str, Any], gate: CodeGate,
                     suite_path: str, files: RepoFiles | None = None) -> tuple[Messages, dict[str, Any]]:
    """The messages a prompt function returns for these vars (promptfoo's context: vars and provider), and the request
    settings it returns beside them (`{prompt, config}`); code the gate refuses is not run. Errors name the suite's
    line that lists the prompt (and the sandbox's message the line in the function's file)."""
    assert prompt.code is not None
    where = SourceError(suite_path, "", prompt.line)
    refused = gate.refusal((("prompt function", prompt.code),))
    if refused:
        raise _CodeStopped(replace(where, message=refused))
    context: dict[str, Any] = {"vars": vars_, "provider": {"id": provider.id, "label": provider.label or provider.id}}
    if isinstance(prompt.code, PyCode) and prompt.code.function == SCRIPT:  # the JSON promptfoo gives the script
        context = {"vars": vars_, "provider": {"id": provider.id, "label": provider.label or ""}, "config": dict(prompt.config)}
    try:
        value = transform_sync(prompt.code, context, context, gate.limits, files)
    except SandboxError as exc:
        raise _CodeStopped(replace(where, message=f"prompt function {prompt.label}: {exc.message}")) from None
    config: dict[str, Any] = {}
    if isinstance(value, dict) and "prompt" in value:  # promptfoo: {prompt, config}; the config goes with this call
        given = value.get("config")
        if given not in (None, False, 0, "") and not isinstance(given, dict):
            raise RenderError(replace(where, message=f"prompt function {prompt.label}: its `config` must be a mapping of "
                                                     f"request settings, not {type(given).__name__}"))
        config = _function_config(prompt, given or {}, where)
        value = value["prompt"]
    if isinstance(value, str):
        return (("user", value),), config
    if isinstance(value, dict):  # promptfoo sends any other object as its JSON text
        return (("user", js_json(value)),), config
    try:
        return chat_messages(where.file, value), config
    except UserError as exc:
        kind = "null" if value is None else type(value).__name__
        raise RenderError(replace(where, message=f"prompt function {prompt.label}: it must return text, a list of {{role, content}} "
                                                 f"messages or {{prompt, config}}; it returned {kind} ({exc.errors[0].message})")) from None


def _function_config(prompt: PromptSpec, config: dict[str, Any], where: SourceError) -> dict[str, Any]:
    """A prompt function's returned `config`: request settings as a prompt's `config` may hold (checked like one)."""
    allowed = PROVIDER_PARAMS.union(*PASSTHROUGH.values())
    unknown = sorted(k for k in config if k not in allowed and k not in INERT_CONFIG)
    if unknown:
        raise RenderError(replace(where, message=f"prompt function {prompt.label}: unsupported config key {unknown[0]!r} in what it "
                                                 "returned: a prompt's config may hold request settings (temperature, max_tokens, "
                                                 "response_format, tools, …)"))
    return {k: v for k, v in config.items() if k not in INERT_CONFIG}


def filter_items(suite: Suite) -> tuple[tuple[str, Code], ...]:
    """The suite's nunjucks filters as code, named for a refusal."""
    return tuple((f"nunjucks filter {name}", code) for name, code in suite.filters)


def _vars_code(test: TestSpec) -> tuple[tuple[str, Code], ...]:
    """The code that makes a test's vars before its prompt is rendered: transformVars, vars computed by code."""
    found = (("options.transformVars", test.transform_vars),) if test.transform_vars is not None else ()
    return found + tuple((f"var {name} computed by code", code) for name, code in test.var_code)


Readers = Callable[[Code], RepoFiles]  # the side's files for a piece of code that renders a case (bot.evals.sandbox.repo_files)


@contextmanager
def _reading(reader: Readers, code: Code, seen: dict[str, None]) -> Iterator[RepoFiles]:
    """`code`'s reader for one call; what the call read is added to `seen` (the case's files), however it ended."""
    files = reader(code)
    files.begin()
    try:
        yield files
    finally:
        seen.update(files.used)


def _computed_vars(test: TestSpec, prompt: PromptSpec, vars_: dict[str, Any], limits: CodeLimits,
                   reader: Readers, seen: dict[str, None]) -> dict[str, Any]:
    """promptfoo's vars computed by code, in the order of the test's vars: Python's get_var(var_name, prompt,
    other_vars) and JavaScript's fn(var_name, prompt, other_vars, provider) return {output} (the var's value)
    or {error} (the case's error); `prompt` is the prompt as written, `other_vars` the vars so far."""
    out = dict(vars_)
    for name, code in test.var_code:
        where = f"var {name} ({code.file})"
        try:
            with _reading(reader, code, seen) as files:
                result = transform_sync(code, [name, prompt.template, out], {}, limits, files)
        except SandboxError as exc:
            raise _CodeStopped(SourceError(test.file, f"{where}: {exc.message}", test.line)) from None
        if isinstance(result, dict) and result.get("error"):
            raise _CodeStopped(SourceError(test.file, f"{where} returned an error: {str(result['error'])[:500]}", test.line))
        if not isinstance(result, dict) or "output" not in result:
            kind = "null" if result is None else type(result).__name__
            raise _CodeStopped(SourceError(test.file, f"{where} must return {{output}} (the value) or {{error}}; it returned {kind}", test.line))
        out[name] = result["output"]
    return out


def prompt_text(prompt: PromptSpec, messages: Messages) -> str:
    """The prompt as promptfoo hands it to a provider: a text prompt's text, a chat prompt's JSON."""
    if len(messages) == 1 and messages[0][0] == "user" and prompt.format in ("text", "function"):
        return messages[0][1] if isinstance(messages[0][1], str) else json.dumps(messages[0][1], ensure_ascii=False)
    return json.dumps([{"role": r, "content": c} for r, c in messages], ensure_ascii=False)


def _transformed_prompt(code: Code, prompt: PromptSpec, provider: ProviderSpec, messages: Messages, vars_: dict[str, Any],
                        limits: CodeLimits, suite_path: str) -> Messages:
    """A SageMaker provider's prompt transform, as promptfoo applies it before the call: called with the prompt
    (text, or a chat prompt's JSON) and {vars, prompt}; text is the prompt sent, an object its JSON, nothing
    (null or undefined) leaves the prompt as it was. A failure is the case's error at the provider's line
    (promptfoo logs it and sends the prompt untransformed: a case that could not be checked is not run here)."""
    text = prompt_text(prompt, messages)
    context = {"vars": vars_, "prompt": {"raw": prompt.template, "label": prompt.label}}
    where = f"transform of provider {provider.slot}" + (f" ({code.file})" if code.file else "")
    try:
        value = transform_sync(code, text, context, limits)
    except SandboxError as exc:
        raise _CodeStopped(SourceError(suite_path, f"{where}: {exc.message}", provider.line)) from None
    if value is None:
        return messages
    if not isinstance(value, str):  # JavaScript's JSON.stringify / String()
        value = json.dumps(value, ensure_ascii=False, separators=(",", ":")) if isinstance(value, (dict, list)) else js_string(value)
    return (("user", value),)


def _transform_vars(test: TestSpec, prompt: PromptSpec, vars_: dict[str, Any], limits: CodeLimits,
                    reader: Readers, seen: dict[str, None]) -> dict[str, Any]:
    """promptfoo's options.transformVars: the returned mapping is merged over the test's vars."""
    assert test.transform_vars is not None
    context = {"prompt": {"label": prompt.label, "raw": prompt.template}, "vars": vars_}
    try:
        with _reading(reader, test.transform_vars, seen) as files:
            new = transform_sync(test.transform_vars, vars_, context, limits, files)
    except SandboxError as exc:
        raise _CodeStopped(SourceError(test.file, f"options.transformVars: {exc.message}", test.line)) from None
    if not isinstance(new, dict):
        kind = "null" if new is None else type(new).__name__
        raise _CodeStopped(SourceError(test.file, f"options.transformVars must return a mapping of vars; it returned {kind}", test.line))
    return {**vars_, **new}


_VAR_REF = re.compile(r"\{\{\s*(\w+)\s*\}\}", re.ASCII)
_JS_REPLACEMENT = re.compile(r"\$([$&`'])")


def promptfoo_vars(vars_: dict[str, Any]) -> dict[str, Any]:
    """The vars as promptfoo hands them to the template: one trailing newline dropped from each text var,
    then references between them resolved (`resolve_references`)."""
    if not any(isinstance(v, str) and ("\n" in v or "{{" in v) for v in vars_.values()):
        return vars_
    return resolve_references({k: (v[:-1] if isinstance(v, str) and v.endswith("\n") else v) for k, v in vars_.items()})


def resolve_references(vars_: dict[str, Any]) -> dict[str, Any]:
    """A var whose text names another var (`sentence: "tweet about {{topic}}"`) gets that var's value, as
    promptfoo's resolveVariables: up to five passes; in each, a var's first `{{ name }}` is replaced (its
    first occurrence, JavaScript replacement patterns and all) when `name` is a var, and a first reference
    to an unknown name leaves that var as it is for the template to report."""
    out = dict(vars_)
    for _ in range(5):
        changed = False
        for key, value in out.items():
            if not isinstance(value, str) or (found := _VAR_REF.search(value)) is None or found.group(1) not in out:
                continue
            placeholder, at = found.group(0), value.index(found.group(0))
            before, after = value[:at], value[at + len(placeholder):]
            special = {"$": "$", "&": placeholder, "`": before, "'": after}
            replacement = _JS_REPLACEMENT.sub(lambda m: special[m.group(1)], js_string(out[found.group(1)]))
            out[key] = before + replacement + after
            changed = True
        if not changed:
            break
    return out


def with_affixes(prompt: PromptSpec, test: TestSpec) -> PromptSpec:
    """The prompt with the test's options.prefix and options.suffix around its template, as promptfoo joins
    them to the raw prompt before rendering: a chat prompt's JSON with text around it is no longer a
    message list, so it is sent as text, as promptfoo then does."""
    if not (test.prefix or test.suffix) or prompt.code is not None:
        return prompt
    return replace(prompt, template=test.prefix + prompt.template + test.suffix, format="text", messages=())


def _render_jobs(suite: Suite):
    for test in suite.tests:
        vars_ = promptfoo_vars(test.vars)
        for prompt in suite.prompts:
            if prompt.code is None:
                yield with_affixes(prompt, test), vars_
        yield from ((_assert_prompt(a), vars_) for t in test.asserts for a in t.flat() if _templated(a))


def _templated(a: AssertionSpec) -> bool:
    return isinstance(a.value, str) and ("{{" in a.value or "{%" in a.value)


def _assert_prompt(a: AssertionSpec) -> PromptSpec:
    return PromptSpec(a.file, a.value, "text", None)


def _render_assert(renderer: Renderer, a: AssertionSpec, vars_: dict[str, Any]) -> AssertionSpec:
    # promptfoo renders assertion values with the test's vars ('value: "{{ expected }}"')
    if a.is_set:
        return replace(a, children=tuple(_render_assert(renderer, c, vars_) for c in a.children))
    if _templated(a):
        rendered = renderer.render(_assert_prompt(a), vars_)[0][1]
        if a.base_type == "regex":
            try:  # the loader checked the template; a var value can still break the pattern
                compile_pattern(rendered)
            except PatternError as exc:
                message = f"{a.type} {rendered!r} is not a valid regular expression after rendering vars: {exc}"
                raise RenderError(SourceError(a.file, message, a.line)) from None
        if a.code is not None and a.code.file is None:  # inline code is rendered like any value (promptfoo)
            return replace(a, value=rendered, code=type(a.code).inline(rendered))
        return replace(a, value=rendered)
    return a


def plan_suite(
    path: str,
    base_tree: FileTree,
    head_tree: FileTree,
    base: Suite | None,
    head: Suite | None,
    formatting_only: frozenset[str] = frozenset(),
    bounds: RenderBounds | None = None,
    pr_code: Callable[[str], tuple[bool, str]] | None = None,
    code_limits: CodeLimits | None = None,
) -> SuitePlan:
    """`pr_code(what)` decides whether head code the base does not have may run (may_run with the PR's
    origin, same_repo and the base config); None lets it run."""
    either = head or base
    description = either.description if either else path
    plan = SuitePlan(path, description)
    aliases = _provider_aliases(base, head)
    bounds = bounds or RenderBounds()  # one per review when the runner passes it: renders share its time budget
    limits = code_limits or CodeLimits()
    base_reads: dict[str, dict[str, None]] = {}
    head_reads: dict[str, dict[str, None]] = {}
    base_cases, _ = expand(base, Renderer(base_tree, bounds), aliases, CodeGate(limits=limits), base_reads) if base else ({}, [])
    head_gate = CodeGate(code_of(base_cases) | _suite_code(base), pr_code, limits)
    head_cases, head_errors = expand(head, Renderer(head_tree, bounds), gate=head_gate, reads=head_reads) if head else ({}, [])
    plan.reads = tuple(dict.fromkeys((path, by) for side in (base_reads, head_reads) for by, paths in side.items() for path in paths))
    plan.errors.extend(head_errors)
    renamed = match_renamed(base_cases, head_cases)
    paired_base = set(renamed.values())
    unaffected: dict[str, tuple[CaseInput, CaseInput]] = {}
    for key in list(head_cases) + [k for k in base_cases if k not in head_cases and k not in paired_base]:
        b, h = base_cases.get(renamed.get(key, key)), head_cases.get(key)
        if b is None or h is None:
            plan.cases.append(PlannedCase(key, b, h, ("new case",) if b is None else ("case removed",)))
            continue
        reasons = _reasons(b, h, base_tree, head_tree)
        if key in renamed:
            reasons = (f"renamed from {b.description!r}",) + reasons if b.description != h.description else reasons
        if not reasons:
            plan.unaffected += 1
            unaffected[key] = (b, h)
            continue
        prompt_files = [r[len("prompt "):-len(" changed")] for r in reasons if r.startswith("prompt ")]
        only_formatting = prompt_files and len(prompt_files) == len(reasons) and set(prompt_files) <= formatting_only
        skip = f"formatting-only change to {', '.join(prompt_files)}" if only_formatting else None
        plan.cases.append(PlannedCase(key, b, h, reasons, skip))
    with_compared_cases(plan, unaffected)
    plan.chained = any(t.store_output_as for suite in (base, head) if suite is not None for t in suite.tests)
    # a later test's prompt depends on earlier outputs: the whole suite runs — also when code reads the repository as its
    # case runs, since what it reads is learned only by running the chain
    reading = plan.chained and any(case_readers(h) for _, h in unaffected.values())
    if plan.chained and (plan.cases or reading):
        why = "runs in order with the outputs earlier tests store (storeOutputAs)" + (
            "; code of the suite reads the repository as its cases run" if not plan.cases else "")
        plan.cases += [PlannedCase(key, b, h, (why,)) for key, (b, h) in unaffected.items()]
        plan.unaffected = 0
        unaffected = {}
    plan.unaffected_pairs = unaffected
    plan.probes = [PlannedCase(key, b, h, ()) for key, (b, h) in unaffected.items() if case_readers(h)]
    return plan


def case_readers(case: CaseInput) -> tuple[Code, ...]:
    """The case's code that can read the repository while the case runs (bot.evals.sandbox.repo_files.may_read): its
    assertions' code (and their transforms), options.transform, a provider written in code and its transforms
    (transformResponse, transform). The runner gives these a
    read-only view of the side's tree and records what they read with the result."""
    code: list[Code] = [c for a in case.asserts for _, c in a.code_items()]
    if case.test.transform is not None:
        code.append(case.test.transform)
    code += [c for c in (case.provider.code, case.provider.response_transform, case.provider.transform) if c is not None]
    return tuple(c for c in code if may_read(c))


def with_stored_outputs(case: CaseInput, stored: dict[str, str], renderer: Renderer) -> CaseInput:
    """The case as promptfoo runs it after earlier tests stored outputs (options.storeOutputAs): the stored
    values are vars (over the test's own), a var's reference to a stored name is resolved as any reference
    between vars (the case's vars are already resolved otherwise), and the prompt and assertion values are
    rendered again. A render error makes the case an error."""
    if not stored or case.error is not None or case.prompt.code is not None:
        return case
    vars_ = resolve_references({**case.case_vars, **stored})
    try:
        messages = renderer.render(with_affixes(case.prompt, case.test), vars_)
        asserts = tuple(_render_assert(renderer, a, vars_) for a in case.test.asserts)
    except RenderError as exc:
        return replace(case, error=exc.error, error_kind=CheckError.RENDER, vars=vars_)
    return replace(case, messages=messages, asserts=asserts, vars=vars_)


def with_compared_cases(plan: SuitePlan, unaffected: dict[str, tuple[CaseInput, CaseInput]]) -> None:
    """select-best / max-score compare every case of a test: when one of them runs, the test's unaffected
    cases run too (on both sides), so each side's comparison sees all of the test's outputs."""
    compared = {h.test.index for c in plan.cases if not c.skip and (h := c.head) is not None
                and any(a.base_type in ("select-best", "max-score") for a in h.asserts)}
    for key, (b, h) in list(unaffected.items()):
        if h.test.index in compared and not any(c.key == key for c in plan.cases):
            del unaffected[key]
            plan.cases.append(PlannedCase(key, b, h, ("compared with a changed case of the same test (select-best/max-score)",)))
            plan.unaffected -= 1


def _suite_code(suite: Suite | None) -> frozenset:
    """The base's code as loaded (before rendering): a base transformVars that failed still counts as base code."""
    if suite is None:
        return frozenset()
    found = set()
    for t in suite.tests:
        found |= {code_identity(c) for c in (t.transform, t.transform_vars, t.scoring) if c is not None}
        found |= {code_identity(c) for _, c in t.var_code}
        found |= {code_identity(c) for a in t.asserts for _, c in a.code_items()}
        found |= {code_identity(c) for _, c in t.provider.code_items()} if t.provider else set()
        found |= {code_identity(t.grader.code)} if t.grader is not None and t.grader.code is not None else set()
    found |= {code_identity(p.code) for p in suite.prompts if p.code is not None}
    found |= {code_identity(c) for _, c in suite.filters}
    found |= {code_identity(c) for p in suite.providers for _, c in p.code_items()}
    return frozenset(_with_modules(found, _all_code(suite)))


def _all_code(suite: Suite) -> list[Code]:
    out: list[Code] = []
    for t in suite.tests:
        out += [c for c in (t.transform, t.transform_vars, t.scoring) if c is not None]
        out += [c for _, c in t.var_code] + [c for a in t.asserts for _, c in a.code_items()]
    out += [p.code for p in suite.prompts if p.code is not None] + [c for _, c in suite.filters]
    return out + [c for p in suite.providers for _, c in p.code_items()]


def _with_modules(found: set, codes: list[Code]) -> set:
    """Identities plus those of every file the code requires: how the gate names a helper the PR changed."""
    for code in codes:
        found |= module_identities(code)
    return found


def match_renamed(base: dict[str, CaseInput], head: dict[str, CaseInput]) -> dict[str, str]:
    """Head key → base key for cases that lost their key but not their identity, so base and head are
    still compared: a renamed test description (same vars, prompt and provider), or an edited inline
    prompt (same test, same prompt position and provider). Only unambiguous pairs are matched."""
    lost = [k for k in base if k not in head]
    gained = [k for k in head if k not in base]
    pairs: dict[str, str] = {}
    signatures = (
        lambda c: (digest(_identity_vars(c.test)), c.prompt.label, c.provider.slot, "vars"),
        lambda c: (c.key.split("::")[1], c.prompt_index, c.provider.slot, "position"),
    )
    for signature in signatures:
        by_base = Counter(signature(base[k]) for k in lost if k not in pairs.values())
        by_head = Counter(signature(head[k]) for k in gained if k not in pairs)
        unique = {s for s in by_base if by_base[s] == 1 and by_head.get(s) == 1}
        index = {signature(base[k]): k for k in lost if k not in pairs.values() and signature(base[k]) in unique}
        for k in gained:
            if k not in pairs and signature(head[k]) in index:
                pairs[k] = index[signature(head[k])]
    return pairs


def checks_changed(b: CaseInput, h: CaseInput) -> bool:
    """The PR changed what judges this case: assertions (values, weights, thresholds), the test's
    threshold or its grader."""
    b_grader = b.test.grader.fingerprint() if b.test.grader else None
    h_grader = h.test.grader.fingerprint() if h.test.grader else None
    return (
        [a.fingerprint() for a in b.asserts] != [a.fingerprint() for a in h.asserts]
        or b.test.threshold != h.test.threshold
        or b_grader != h_grader
    )


def _literal_vars(test: TestSpec) -> dict[str, Any]:
    return {k: v for k, v in test.vars.items() if k not in test.var_files}


def _reasons(b: CaseInput, h: CaseInput, base_tree: FileTree, head_tree: FileTree) -> tuple[str, ...]:
    reasons: list[str] = []
    # a render error is the prompt's; a refused or failed piece of code is named by its own reason below
    rendered_b, rendered_h = (c.error is None or c.error_kind is not CheckError.RENDER for c in (b, h))
    if b.messages != h.messages or rendered_b != rendered_h:
        changed = [d for d in dict.fromkeys(b.deps + h.deps) if base_tree.read(d) != head_tree.read(d)]
        reasons += [f"prompt {d} changed" for d in changed]
        if _literal_vars(b.test) != _literal_vars(h.test) or b.test.var_files != h.test.var_files:
            reasons.append("test data changed")
        if not reasons:
            reasons.append(f"prompt {h.prompt.label} changed")
    if b.provider.fingerprint() != h.provider.fingerprint():
        request_files = [f for f in dict.fromkeys(p.option(REQUEST_FILE) for p in (b.provider, h.provider))
                         if f and base_tree.read(f) != head_tree.read(f)]
        reasons += [f"provider {b.provider.slot} request file {f} changed" for f in request_files]
        config = (_from_request(b.provider).describe_change(_from_request(h.provider)) if request_files
                  else b.provider.describe_change(h.provider))  # what the file says is named by the file
        if config:
            reasons.append(f"provider {b.provider.slot} config changed ({config})")
        reasons += [f"provider {what} changed" for what in b.provider.code_changes(h.provider)]
    if b.provider.call_values != h.provider.call_values and not reasons:  # a var only an http query or header uses
        reasons.append("test data changed")
    if [_own(a) for a in b.asserts] != [_own(a) for a in h.asserts] or b.test.threshold != h.test.threshold:
        reasons.append("assertions changed")  # a changed helper the code requires is named on its own below
    b_grader = b.test.grader.fingerprint() if b.test.grader else None
    h_grader = h.test.grader.fingerprint() if h.test.grader else None
    if b_grader != h_grader:
        reasons.append("grader changed")
    if (b.test.scoring and code_fingerprint(b.test.scoring)) != (h.test.scoring and code_fingerprint(h.test.scoring)):
        reasons.append("assertScoringFunction changed")
    if (b.code_items() or h.code_items()) and "test data changed" not in reasons and (
            b.case_vars != h.case_vars or b.test.transform != h.test.transform):
        reasons.append("test data changed")  # code reads context.vars and the test's transform
    reasons += _helper_reasons(b, h)
    if (b.error is None) != (h.error is None) and not reasons:
        reasons.append("suite code changed")
    if reasons:  # what a changed hook made of the test is above; the hook is named as its cause
        hooks = dict.fromkeys(b.test.hooks + h.test.hooks)
        reasons += [f"extension hook {f} changed" for f in hooks if base_tree.read(f) != head_tree.read(f)]
    return tuple(reasons)


def _from_request(provider: ProviderSpec) -> ProviderSpec:
    """An http provider less what its raw request file says (url, method, headers, body)."""
    return replace(provider, base_url=None, options=tuple(o for o in provider.options if o[0] not in RAW_KEYS))


def _helper_reasons(b: CaseInput, h: CaseInput) -> list[str]:
    """'code helper checks/lib.js changed (required by checks/grade.js)': a file the case's code requires by relative
    path whose text differs between the sides. A prompt function's helpers count through what it renders."""
    def files(case: CaseInput) -> dict[str, tuple[str, str]]:
        out: dict[str, tuple[str, str]] = {}
        for what, code in case.code_items():
            if what == "prompt function" and b.messages == h.messages:
                continue
            for path, text in required(code):
                out.setdefault(path, (text, code.file or what))
        return out

    before, after = files(b), files(h)
    return [f"code helper {path} changed (required by {(after.get(path) or before[path])[1]})"
            for path in sorted(set(before) | set(after)) if (before.get(path) or ("",))[0] != (after.get(path) or ("",))[0]]


def _own(a: AssertionSpec) -> dict[str, Any]:
    """An assertion's fingerprint without the files its code requires (those are named by _helper_reasons)."""
    def bare(code: Code | None) -> Code | None:
        if isinstance(code, JsCode) and code.modules:
            return replace(code, links=(), modules=())
        if isinstance(code, PyCode) and code.modules:
            return replace(code, modules=())
        return code

    return replace(a, code=bare(a.code), transform=bare(a.transform), context_transform=bare(a.context_transform)).fingerprint()
