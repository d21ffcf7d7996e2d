"""What promptfoo makes the output of an OpenAI-style answer, so text checks and code read the same thing:
the chat completions message (refusals, reasoning, tool calls beside text, JSON response formats) and the
responses API's output items (function calls, reasoning summaries, web search, MCP calls…), each vendor
as promptfoo 0.121 reads it. The answer's transport and shape checks stay in bot.evals.providers_wire.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.evals.providers_shapes import js_json, js_string, mapping

# promptfoo's note on a responses-API function call that came back without arguments (its output then)
_NO_ARGUMENTS_NOTE = "Function called but no arguments were extracted. Consider using the correct Responses API tool format."


@dataclass(frozen=True)
class Output:
    text: str
    structured: bool = False  # the text is the JSON of an object (code sees the object)


def _value(value: Any) -> Output:
    return Output(value, False) if isinstance(value, str) else Output(js_json(value), True)


def parsed_json(text: str) -> Output:
    """promptfoo's JSON.parse of an answer under a JSON response format; the text as it is when it is not JSON."""
    try:
        return _value(json.loads(text))
    except ValueError:
        return Output(text)


def _js_text(item: Mapping[str, Any], key: str) -> str:
    """`${item.key}` in JavaScript: an absent key is undefined."""
    return js_string(item[key]) if key in item else "undefined"


def chat_output(kind: str, message: Mapping[str, Any], finish_reason: str | None, params: Mapping[str, Any],
                show_thinking: bool) -> Output:
    """The output of a chat completions answer's message, as promptfoo's provider for `kind` reads it."""
    content = message.get("content")
    tool_calls = message.get("tool_calls")
    function_call = message.get("function_call")
    fmt = mapping(params.get("response_format")).get("type")
    if kind == "azure":  # promptfoo's Azure provider: content, else the calls; JSON formats parsed
        if content is None:
            calls = tool_calls if tool_calls is not None else function_call
            return _value(calls) if calls is not None else Output("")
        return parsed_json(content) if fmt in ("json_schema", "json_object") and isinstance(content, str) else _value(content)
    if kind == "mistral":  # promptfoo's Mistral provider: text beside calls is the message; calls alone the calls
        if content and isinstance(tool_calls, list) and tool_calls:
            return _value(dict(message))
        if isinstance(tool_calls, list) and tool_calls:
            return _value(tool_calls)
        return _value(content if content is not None else "")
    if isinstance(message.get("refusal"), str) and message["refusal"]:
        return Output(message["refusal"])
    if finish_reason == "content_filter":
        return Output(content if isinstance(content, str) and content else "Content filtered by provider")
    reasoning = message.get("reasoning")
    if reasoning:
        out: Any = content
    elif content and (function_call or tool_calls):
        out = content if isinstance(tool_calls, list) and not tool_calls else dict(message)
    elif content is None or (content == "" and tool_calls):
        out = function_call or tool_calls
    else:
        out = content
    if out is None:
        out = ""
    if fmt == "json_schema" and isinstance(out, str):
        try:
            out = json.loads(out)
        except ValueError:
            pass
    if reasoning and isinstance(out, str) and show_thinking:
        out = f"Thinking: {reasoning}\n\n{out}"
    return _value(out)


def call_json(call: Mapping[str, Any]) -> str | None:
    """A function call's text in an answer without tool callbacks: its JSON."""
    return js_json(dict(call))


def responses_output(items: list[Any], params: Mapping[str, Any], call_text: Callable[[Mapping[str, Any]], str | None] = call_json) -> Output:
    """The output of a responses-API answer: each output item's text, joined by newlines (a refusal
    replaces them all), as promptfoo's responses processor writes them. `call_text` gives a function call's
    text (its JSON, or what a tool callback made of it: bot.evals.tool_callbacks)."""
    result, refusal = "", None
    for item in items:
        if not isinstance(item, dict):
            continue
        content, refused = _item_text(item, call_text)
        if refused:
            refusal = content
        elif content:
            result = f"{result}\n{content}" if result else content
    if refusal is not None:
        return Output(refusal)
    return parsed_json(result) if mapping(params.get("response_format")).get("type") == "json_schema" else Output(result)


def _item_text(item: Mapping[str, Any], call_text: Callable[[Mapping[str, Any]], str | None]) -> tuple[str, bool]:
    kind = item.get("type")
    if kind == "function_call":
        if item.get("arguments") == "{}" and item.get("status") == "completed":
            return js_json({"type": "function_call", "name": item.get("name"), "status": "no_arguments_provided",
                            "note": _NO_ARGUMENTS_NOTE}), False
        return call_text(item) or "", False
    if kind == "message":
        if item.get("role") != "assistant":
            return "", False
        parts = item.get("content")
        if not parts:
            return (str(item["refusal"]), True) if item.get("refusal") else ("", False)
        text, refusal = "", None
        for part in parts if isinstance(parts, list) else []:
            if not isinstance(part, dict):
                continue
            if part.get("type") == "output_text":
                text += str(part.get("text", ""))
            elif part.get("type") in ("tool_use", "function_call"):
                text = call_text(part) or ""
            elif part.get("type") == "refusal":
                refusal = str(part.get("refusal", ""))
        return (refusal, True) if refusal is not None else (text, False)
    if kind == "tool_result":
        return js_json(dict(item)), False
    if kind == "reasoning":
        summary = item.get("summary")
        if not isinstance(summary, list) or not summary:
            return "", False
        return "Reasoning: " + "\n".join(_js_text(mapping(s), "text") for s in summary), False
    if kind == "web_search_call":
        action = item.get("action")
        if isinstance(action, dict) and action:
            step = action.get("type")
            text = (f'Web Search: "{_js_text(action, "query")}"' if step == "search" else
                    f"Opening page: {_js_text(action, 'url')}" if step == "open_page" else
                    f'Finding in page: "{_js_text(action, "query")}"' if step == "find_in_page" else f"Web action: {_js_text(action, 'type')}")
        else:
            text = f"Web Search Call (status: {item.get('status') or 'unknown'})"
        return text + (f" (Error: {_js_text(item, 'error')})" if item.get("status") == "failed" and item.get("error") else ""), False
    if kind == "code_interpreter_call":
        text = f"Code Interpreter: {item.get('code') or 'Running code...'}"
        return text + (f" (Error: {_js_text(item, 'error')})" if item.get("status") == "failed" and item.get("error") else ""), False
    if kind == "mcp_list_tools":
        tools = json.dumps(item["tools"], ensure_ascii=False, indent=2) if "tools" in item else "undefined"
        return f"MCP Tools from {_js_text(item, 'server_label')}: {tools}", False
    if kind == "mcp_call":
        if item.get("error"):
            return f"MCP Tool Error ({_js_text(item, 'name')}): {_js_text(item, 'error')}", False
        return f"MCP Tool Result ({_js_text(item, 'name')}): {_js_text(item, 'output')}", False
    if kind == "mcp_approval_request":
        return f"MCP Approval Required for {_js_text(item, 'server_label')}.{_js_text(item, 'name')}: {_js_text(item, 'arguments')}", False
    return "", False


def token_logprobs(choice: Any) -> tuple[float, ...] | None:
    """The answer tokens' log-probabilities (`choices[0].logprobs.content[].logprob`), as promptfoo's OpenAI and
    Azure chat providers read them; None when the answer has none (they were not asked for). A token without a
    number counts as NaN, as JavaScript's sum of it would."""
    content = mapping(mapping(choice).get("logprobs")).get("content")
    if not isinstance(content, list):
        return None
    return tuple(float(t["logprob"]) if isinstance(t, dict) and isinstance(t.get("logprob"), (int, float))
                 and not isinstance(t.get("logprob"), bool) else math.nan for t in content)
