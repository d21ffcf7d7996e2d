"""`functionToolCallbacks` of the Assistants API providers (openai:assistant, azure:assistant), as promptfoo 0.121
runs them: when a run stops with `requires_action` (`submit_tool_outputs`), the callbacks of the called functions
run in the sandbox and their results are submitted as the tool outputs; the run then goes on (the loop is in
bot.evals.providers_assistant_wire). The two providers differ:

- OpenAI: only the calls with a callback run (none: the run's answer is read as it stands); the callback gets the
  arguments parsed (`{}` when they are not JSON) and `{threadId, runId, assistantId, provider: 'openai'}`; its
  result is the output as text (null/undefined empty, an object its JSON, anything else String()); a callback that
  throws submits `{"error":"Error in NAME: MESSAGE"}`.
- Azure: with no call having a callback, every call gets `{"message":"No callback registered for function NAME"}`;
  else the calls with a callback run with the arguments' JSON text (`"{}"` when absent) and `{…, provider:
  'azure'}`; a text result is the output, anything else its JSON (null or undefined: no output — promptfoo
  submits "null" for null); a throw submits
  `{"error":"Error in NAME: Function callback failed"}`.

Every callback runs in a fresh sandbox under the code limits, after the code gate let the provider's code through
(the callbacks are part of ProviderSpec.code_items). A limit, a refusal or more than MAX_CALLBACK_RUNS runs in one
call is CallbackStopped: the case is an error naming the callback.
"""

from __future__ import annotations

import re
from typing import Any

from bot.core import safejson
from bot.evals.providers_shapes import js_json, js_string, mapping
from bot.evals.sandbox import CodeLimits, SandboxError
from bot.evals.suite import ProviderSpec
from bot.evals.tool_callbacks import CallbackRunner

_THREW_PREFIX = re.compile(r"^(?:JavaScript|Python) code threw an error: ")
_LINE_SUFFIX = re.compile(r" \(line \d+\)\Z")
_ERROR_NAME = re.compile(r"^[A-Za-z]*Error: ")


def _message(error: SandboxError) -> str:
    """The thrown error's message as promptfoo's `error.message || String(error)` gives it (the sandbox reports
    String(error) and the line; both are taken off)."""
    text = _LINE_SUFFIX.sub("", _THREW_PREFIX.sub("", error.message))
    return _ERROR_NAME.sub("", text, count=1)


def _function_name(call: dict[str, Any]) -> str | None:
    name = mapping(call.get("function")).get("name")
    return name if isinstance(name, str) else None


class AssistantCallbacks:
    """The callbacks of one provider for one call (their runs are counted across the call's rounds)."""

    def __init__(self, spec: ProviderSpec, limits: CodeLimits):
        self.vendor = spec.kind
        self.assistant = spec.model
        self.callbacks = dict(spec.tool_callbacks)
        self.runner = CallbackRunner(self.callbacks, limits, unit="call")  # its runs count across the call's rounds

    def _with_callback(self, calls: list[Any]) -> list[dict[str, Any]]:
        return [c for c in calls if isinstance(c, dict) and c.get("type") == "function" and
                (self.vendor == "openai" or c.get("function")) and _function_name(c) in self.callbacks]

    async def outputs(self, calls: Any, thread: str, run: str) -> list[dict[str, Any]] | None:
        """The tool outputs to submit for a run's pending `calls`; None when promptfoo submits nothing and reads the
        run as it stands (OpenAI: no call has a callback)."""
        calls = calls if isinstance(calls, list) else []
        chosen = self._with_callback(calls)
        context = {"threadId": thread, "runId": run, "assistantId": self.assistant, "provider": self.vendor}
        if not chosen:
            if self.vendor == "openai":
                return None
            return [{"tool_call_id": mapping(c).get("id"), "output": js_json(
                {"message": f"No callback registered for function {_function_name(mapping(c)) if mapping(c).get('type') == 'function' else js_string(mapping(c).get('type'))}"})}
                for c in calls]
        out = []
        for call in chosen:
            name = str(_function_name(call))
            arguments = mapping(call.get("function")).get("arguments")
            entry: dict[str, Any] = {"tool_call_id": call.get("id")}
            if self.vendor == "openai":
                entry["output"] = await self._openai(name, arguments, context)
            else:
                output = await self._azure(name, arguments, context)
                if output is not None:  # JSON.stringify(undefined): the field is left out of the body
                    entry["output"] = output
            out.append(entry)
        return out

    async def _openai(self, name: str, arguments: Any, context: dict[str, Any]) -> str:
        try:
            parsed = safejson.loads(arguments) if isinstance(arguments, str) else {}
        except (ValueError, safejson.JsonTooDeep):
            parsed = {}
        try:
            value = await self.runner.run(name, parsed, context)
        except SandboxError as exc:  # only a throw reaches here: limits are CallbackStopped
            return js_json({"error": f"Error in {name}: {_message(exc)}"})
        if value is None:
            return ""
        return js_json(value) if isinstance(value, (dict, list)) else js_string(value)

    async def _azure(self, name: str, arguments: Any, context: dict[str, Any]) -> str | None:
        given = arguments if isinstance(arguments, str) and arguments else "{}"
        try:
            value = await self.runner.run(name, given, context)
        except SandboxError:
            return js_json({"error": f"Error in {name}: Function callback failed"})
        if isinstance(value, str):
            return value
        return None if value is None else js_json(value)

