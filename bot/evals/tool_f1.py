"""`tool-call-f1` (promptfoo 0.121): the F1 of the tool names the output called against the expected names, as
unordered sets; the names are read from every vendor's form of a tool call, as promptfoo's extractToolNames.
"""

from __future__ import annotations

from typing import Any

from bot.core import safejson

DEFAULT_THRESHOLD = 1.0


def expected_tools(value: Any) -> list[str] | None:
    """The expected names: a list (each item as text) or comma-separated text (each name trimmed); None when
    the value is neither (the loader reports it)."""
    if isinstance(value, list):
        return [_js_string(v) for v in value]
    if isinstance(value, str):
        return [v.strip() for v in value.split(",")]
    return None


def _js_string(value: Any) -> str:
    """String(value) for the JSON values YAML gives."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (list, dict)):
        return ",".join(_js_string(v) for v in value) if isinstance(value, list) else "[object Object]"
    return str(value)


def _parse(text: str) -> tuple[bool, Any]:
    try:
        return True, safejson.loads(text)
    except (ValueError, safejson.JsonTooDeep):
        return False, None


def tool_names(output: Any) -> set[str]:
    """The names of the tools an output called: OpenAI's `tool_calls` (or a list of calls), a legacy function
    call, Anthropic `tool_use` blocks, Gemini `functionCall` parts, Google Live's `toolCall.functionCalls`, or
    a list of `{name}`; text is read as JSON, else each line that starts with `{` or `[` is."""
    names: set[str] = set()
    if output is None:
        return names
    if isinstance(output, str):
        ok, parsed = _parse(output)
        if ok:
            return tool_names(parsed)
        for line in output.split("\n"):
            line = line.strip()
            if line.startswith(("{", "[")):
                ok, parsed = _parse(line)
                if ok:
                    names |= tool_names(parsed)
        return names
    if isinstance(output, dict):
        if isinstance(output.get("tool_calls"), list):
            for call in output["tool_calls"]:
                if isinstance(call, dict):
                    fn = call.get("function")
                    if isinstance(fn, dict) and isinstance(fn.get("name"), str):
                        names.add(fn["name"])
                    if isinstance(call.get("name"), str):
                        names.add(call["name"])
            return names
        if output.get("type") == "tool_use" and isinstance(output.get("name"), str):
            return {output["name"]}
        if isinstance(output.get("functionCall"), dict):
            name = output["functionCall"].get("name")
            return {name} if isinstance(name, str) else names
        if isinstance(output.get("toolCall"), dict):
            calls = output["toolCall"].get("functionCalls")
            return {c["name"] for c in calls if isinstance(c, dict) and isinstance(c.get("name"), str)} if isinstance(calls, list) else names
        return names
    if isinstance(output, list):
        for block in output:
            if not isinstance(block, dict):
                continue
            if block.get("type") == "tool_use" and isinstance(block.get("name"), str):
                names.add(block["name"])
            elif isinstance(block.get("functionCall"), dict):
                if isinstance(block["functionCall"].get("name"), str):
                    names.add(block["functionCall"]["name"])
            elif isinstance(block.get("function"), dict):
                if isinstance(block["function"].get("name"), str):
                    names.add(block["function"]["name"])
            elif isinstance(block.get("name"), str):
                names.add(block["name"])
    return names


def f1(expected: list[str], output: Any) -> float:
    """Precision |called ∩ expected| / |called|, recall |called ∩ expected| / |expected|, their harmonic mean."""
    wanted, called = set(expected), tool_names(output)
    both = len(wanted & called)
    precision = both / len(called) if called else 0.0
    recall = both / len(wanted) if wanted else 0.0
    return 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0


def verdict(value: Any, threshold: float | None, output: Any, negated: bool) -> tuple[bool, float]:
    """Passes when F1 reaches the threshold (default 1); `not-` inverts the pass only — the score stays F1."""
    expected = expected_tools(value) or []
    score = f1(expected, output)
    return (score >= (DEFAULT_THRESHOLD if threshold is None else threshold)) != negated, score


def value_problem(value: Any) -> str | None:
    if value is None or expected_tools(value) is None:
        return "value must be the expected tool names: a list, or comma-separated text"
    if value == []:
        return "value must name at least one tool (promptfoo refuses an empty list)"
    return None

