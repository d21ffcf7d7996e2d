"""promptfoo's `functionToolCallbacks` (OpenAI chat and responses, Azure chat): when the model answers with
function calls and the provider's config has a callback for a called function, the callback's JavaScript runs
with the call's arguments (their JSON text) and what it returns becomes the output, with promptfoo 0.121's rules
per provider (which calls run, how results are joined, what a callback that throws leaves). Read while the
provider entry loads (`parse_callbacks`), run in the sandbox on the parsed answer (bot.evals.provider_output),
under the code gate like the provider's other code (docs/sandbox.md).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from bot.core import safejson
from bot.core.yamlsrc import LocatedYaml, Path
from bot.evals.providers_answers import Output, call_json, responses_output
from bot.evals.providers_http import CodeReader
from bot.evals.providers_shapes import js_json, mapping
from bot.evals.sandbox import CodeLimits, Fault, SandboxError, transform
from bot.evals.suite import Code, ProviderSpec

CONFIG_KEY = "functionToolCallbacks"
CALLBACK_KINDS = ("openai", "azure")  # the providers whose promptfoo counterparts run callbacks
_JS_FILE = (".js", ".cjs", ".mjs", ".ts", ".mts", ".cts", ".tsx")  # TypeScript: promptfoo's importModule loads it with tsx
# callbacks run for one answer, each in a fresh sandbox under the code limits: an answer with more calls than this
# is a case error (a prompt could otherwise make the model ask for thousands of runs)
MAX_CALLBACK_RUNS = 32


class CallbackStopped(Exception):
    """The sandbox stopped a callback (a limit, a refusal, an unsupported form): the case is an error."""

    def __init__(self, name: str, code: Code, error: SandboxError):
        super().__init__(error.message)
        self.name, self.code, self.error = name, code, error


class _Threw(Exception):
    """The callback threw: promptfoo falls back to the call itself (per provider, see below)."""


def parse_callbacks(value: Any, at: Path, code: CodeReader | None, located: LocatedYaml, errors: Any,
                    with_context: bool = False) -> tuple[tuple[str, Code], ...]:
    """`functionToolCallbacks: {name: code}` → (name, Code) pairs, as promptfoo loads them: a JavaScript function
    expression (called with the arguments' JSON text, and with a context when `with_context`: the Assistants
    providers, bot.evals.assistant_callbacks) or file://x.js[:export]. Problems go to `errors` at their line."""
    if code is None:
        errors.add(located, at, f"refused: {CONFIG_KEY} of a grader: executes code (tool callbacks); prompt-review runs "
                                "tool callbacks only for the suite's providers")
        return ()
    if not isinstance(value, dict):
        errors.add(located, at, f"{CONFIG_KEY} must be a mapping of function name → a JavaScript function or file://x.js[:name]")
        return ()
    out: list[tuple[str, Code]] = []
    for name, source in value.items():
        where = at + (name,)
        if not isinstance(source, str) or not source.strip():
            errors.add(located, where, f"the tool callback for {name!r} must be text: a JavaScript function such as "
                                       "'(args) => JSON.parse(args).a', or file://x.js[:name]")
            continue
        text = source.strip()
        if text.startswith("file://"):
            path = text[len("file://"):].split(":", 1)[0]
            if not path.lower().endswith(_JS_FILE):
                errors.add(located, where, f"unsupported: the tool callback for {name!r} is {path}; promptfoo 0.121 loads "
                                           "tool callbacks as JavaScript or TypeScript modules only (file://x.js[:name], file://x.ts[:name], "
                                           "or an inline function)")
                continue
            loaded = code(where, text, f"tool callback {name}")
        else:  # promptfoo: `new Function("return " + text)()` is the callback; it is called with the arguments
            called = "(output, context)" if with_context else "(output)"
            loaded = code(where, f"\nreturn ({text}){called};", f"tool callback {name}")
        if loaded is not None:
            out.append((str(name), loaded))
    return tuple(out)


def tool_answer(spec: ProviderSpec, data: Any) -> str | None:
    """The part of a vendor's JSON answer the callbacks read (the chat message, or the responses API's output
    items), as JSON text kept beside the parsed output; None when the provider has no callbacks."""
    if not spec.tool_callbacks or not isinstance(data, dict):
        return None
    if spec.option("api") == "responses":
        items = data.get("output")
        return json.dumps(items, ensure_ascii=False) if isinstance(items, list) else None
    choices = data.get("choices")
    message = mapping(choices[0]).get("message") if isinstance(choices, list) and choices else None
    return json.dumps(message, ensure_ascii=False) if isinstance(message, dict) else None


async def callback_output(spec: ProviderSpec, answer: str, finish_reason: str | None, limits: CodeLimits) -> Output | None:
    """The output promptfoo makes of an answer when the provider has callbacks; None when they leave the parsed
    output as it was. CallbackStopped when the sandbox stopped a callback."""
    try:
        raw = safejson.loads(answer)
    except (ValueError, safejson.JsonTooDeep):
        return None
    callbacks = dict(spec.tool_callbacks)
    runner = _Runner(callbacks, limits)
    if spec.option("api") == "responses" and isinstance(raw, list):
        return await _responses(raw, dict(spec.params), runner)
    if not isinstance(raw, dict):
        return None
    if spec.kind == "azure":
        return await _azure(raw, runner)
    return await _chat(raw, finish_reason, runner)


class CallbackRunner:
    """Runs a provider's callbacks under the code limits, at most MAX_CALLBACK_RUNS of them for one `unit` (an answer,
    an Assistants call)."""

    def __init__(self, callbacks: dict[str, Code], limits: CodeLimits, unit: str = "answer"):
        self.callbacks, self.limits, self.unit, self.runs = callbacks, limits, unit, 0

    async def run(self, name: str, arguments: Any, context: Any) -> Any:
        """What the callback for `name` returns (None for null/undefined); SandboxError(THREW) when it threw;
        CallbackStopped when a limit or the run count stopped it."""
        code = self.callbacks[name]
        self.runs += 1
        if self.runs > MAX_CALLBACK_RUNS:
            raise CallbackStopped(name, code, SandboxError(
                Fault.OUTPUT, f"the {self.unit} asks for more than {MAX_CALLBACK_RUNS} tool calls with callbacks; prompt-review "
                              f"runs at most {MAX_CALLBACK_RUNS} per {self.unit}"))
        try:
            return await transform(code, arguments, context, self.limits)
        except SandboxError as exc:
            if exc.fault is Fault.THREW:
                raise
            raise CallbackStopped(name, code, exc) from None


class _Runner(CallbackRunner):
    async def __call__(self, name: str, arguments: Any) -> Any:
        """What the callback for `name` returns for `arguments` (None for null/undefined); _Threw when it threw."""
        try:
            return await self.run(name, arguments, None)  # promptfoo passes no context
        except SandboxError:
            raise _Threw() from None


def _truthy(value: Any) -> bool:
    """JavaScript's truthiness of a JSON value."""
    return value not in (None, False, "", 0) or isinstance(value, (dict, list))


async def _chat(message: Mapping[str, Any], finish_reason: str | None, run: _Runner) -> Output | None:
    """promptfoo's OpenAI chat provider: a refusal or filtered answer stays; otherwise the calls in order, each with a
    callback run; the first that throws stops them and the answer stays as it was; the results (null → '', objects
    as JSON) joined by newlines are the output."""
    if _truthy(message.get("refusal")) or finish_reason == "content_filter":
        return None
    calls = [message["function_call"]] if _truthy(message.get("function_call")) else message.get("tool_calls")
    if not isinstance(calls, list):
        return None
    results: list[str] = []
    succeeded = False
    for call in calls:
        call = mapping(call)
        name = call.get("name") or mapping(call.get("function")).get("name")
        if not isinstance(name, str) or name not in run.callbacks:
            continue
        arguments = call.get("arguments") or mapping(call.get("function")).get("arguments")
        try:
            value = await run(name, arguments if _truthy(arguments) else None)
        except _Threw:
            succeeded = False
            break
        results.append("" if value is None else value if isinstance(value, str) else js_json(value))
        succeeded = True
    return Output("\n".join(results)) if succeeded and results else None


def _function(call: Any) -> tuple[str, Any] | None:
    """(name, arguments) of a call in any of the forms promptfoo's FunctionCallbackHandler reads."""
    if not isinstance(call, dict):
        return None
    if isinstance(call.get("name"), str) and call["name"]:
        return call["name"], call.get("arguments")
    function = mapping(call.get("function"))
    if call.get("type") == "function" and _truthy(function.get("name")):
        return str(function["name"]), function.get("arguments")
    return None


async def _process_calls(calls: Any, run: _Runner) -> Any:
    """promptfoo's FunctionCallbackHandler.processCalls: every call with a callback runs (a throw leaves that call's
    JSON); when any result differs from its call's JSON, the results (one alone; several joined by newlines when
    all are text, else their list); otherwise the call's JSON (one) or the calls (several)."""
    several = isinstance(calls, list)
    items = calls if several else [calls]
    results: list[tuple[Any, bool]] = []
    for call in items:
        own = call if isinstance(call, str) else js_json(call)
        info = _function(call)
        if info is None or info[0] not in run.callbacks:
            results.append((own, False))
            continue
        try:
            value = await run(info[0], info[1] if _truthy(info[1]) else "{}")
        except _Threw:
            results.append((own, True))
            continue
        results.append((value if isinstance(value, str) or value is None else js_json(value), False))
    if any(not threw and out != (c if isinstance(c, str) else js_json(c)) for (out, threw), c in zip(results, items)):
        outs = [out for out, _ in results]
        if not several:
            return outs[0]
        return "\n".join(outs) if all(isinstance(o, str) for o in outs) else outs
    return results[0][0] if not several else calls


def _output(value: Any) -> Output:
    if value is None:  # undefined: promptfoo's output is then empty
        return Output("")
    return Output(value) if isinstance(value, str) else Output(js_json(value), True)


async def _azure(message: Mapping[str, Any], run: _Runner) -> Output | None:
    """promptfoo's Azure chat provider: with no text, the tool calls and the function call, one alone or all as a
    list, through processCalls."""
    if message.get("content") is not None:
        return None
    tool_calls, function_call = message.get("tool_calls"), message.get("function_call")
    if not (_truthy(tool_calls) or _truthy(function_call)):
        return None
    calls = (list(tool_calls) if isinstance(tool_calls, list) else [tool_calls]) if _truthy(tool_calls) else []
    if _truthy(function_call):
        calls.append(function_call)
    return _output(await _process_calls(calls[0] if len(calls) == 1 else calls, run))


async def _responses(items: list[Any], params: Mapping[str, Any], run: _Runner) -> Output:
    """promptfoo's responses processor: each function call (an output item, or a part of a message) through
    processCalls on its own, its text in the item's place."""
    texts: dict[str, str | None] = {}
    for item in items:
        for call in _calls_in(item):
            key = js_json(call)
            if key not in texts:
                value = await _process_calls(call, run)
                texts[key] = value if isinstance(value, str) or value is None else js_json(value)
    return responses_output(items, params, lambda call: texts.get(js_json(dict(call)), call_json(call)))


def _calls_in(item: Any) -> list[dict[str, Any]]:
    """The function calls promptfoo's responses processor hands to processCalls: a `function_call` item (not one
    completed without arguments, which it describes instead), and a `function_call`/`tool_use` part of an
    assistant message."""
    if not isinstance(item, dict):
        return []
    if item.get("type") == "function_call":
        return [] if item.get("arguments") == "{}" and item.get("status") == "completed" else [item]
    if item.get("type") == "message" and item.get("role") == "assistant" and isinstance(item.get("content"), list):
        return [p for p in item["content"] if isinstance(p, dict) and p.get("type") in ("tool_use", "function_call")]
    return []
