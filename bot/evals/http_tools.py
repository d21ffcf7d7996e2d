"""An `http` provider's `tools` and `tool_choice` as promptfoo 0.121 gives them to the body: the vars `{{tools}}` and
`{{tool_choice}}` (an object or list as its JSON text, which a JSON body then sends as the object), written in OpenAI's
format and, with `transformToolsFormat`, turned into Anthropic's, Bedrock Converse's or Gemini's as promptfoo turns
them. Tools or a choice that are not in OpenAI's format are given as written. A prompt's `config.tools` /
`config.tool_choice` come before the provider's, as in promptfoo.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.evals.providers_shapes import js_json
from bot.evals.suite import ProviderSpec

FORMATS = ("openai", "anthropic", "bedrock", "google")
_CHOICES = ("auto", "none", "required")


def _openai_tools(tools: Any) -> bool:
    if not isinstance(tools, list) or not tools or not isinstance(tools[0], dict):
        return False
    first = tools[0]
    return first.get("type") == "function" and isinstance(first.get("function"), dict) and isinstance(first["function"].get("name"), str)


def _openai_choice(choice: Any) -> bool:
    if isinstance(choice, str):
        return choice in _CHOICES
    return (isinstance(choice, dict) and choice.get("type") == "function" and isinstance(choice.get("function"), dict)
            and isinstance(choice["function"].get("name"), str))


_EMPTY_SCHEMA = {"type": "object", "properties": {}}
_GOOGLE_DROPS = ("additionalProperties", "$schema", "default", "$id", "$ref")


def _google_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _GOOGLE_DROPS:
            continue
        if key == "type" and isinstance(value, str):
            out[key] = value.upper()
        elif key == "properties" and isinstance(value, dict):
            out[key] = {k: _google_schema(v) if isinstance(v, dict) else v for k, v in value.items()}
        elif key == "items" and isinstance(value, dict):
            out[key] = _google_schema(value)
        else:
            out[key] = value
    return out


def tools_as(tools: Any, form: str) -> Any:
    if not _openai_tools(tools) or form == "openai":
        return tools
    functions = [t["function"] for t in tools]

    def described(f: dict[str, Any]) -> dict[str, Any]:
        return {"description": f["description"]} if f.get("description") else {}

    if form == "anthropic":
        return [{"name": f["name"], **described(f), "input_schema": f.get("parameters") or _EMPTY_SCHEMA} for f in functions]
    if form == "bedrock":
        return [{"toolSpec": {"name": f["name"], **described(f), "inputSchema": {"json": f.get("parameters") or _EMPTY_SCHEMA}}}
                for f in functions]
    return [{"functionDeclarations": [
        {"name": f["name"], **described(f), **({"parameters": _google_schema(f["parameters"])} if f.get("parameters") else {})}
        for f in functions]}]


_MISSING = object()


def choice_as(choice: Any, form: str) -> Any:
    """The choice in `form` (_MISSING: promptfoo's undefined, Bedrock's 'none')."""
    if not _openai_choice(choice) or form == "openai":
        return choice
    name = choice["function"]["name"] if isinstance(choice, dict) else None
    if form == "anthropic":
        return {"auto": {"type": "auto"}, "none": {"type": "none"}, "required": {"type": "any"}}.get(choice) \
            if name is None else {"type": "tool", "name": name}
    if form == "bedrock":
        if choice == "none":
            return _MISSING
        return {"auto": {"auto": {}}, "required": {"any": {}}}.get(choice) if name is None else {"tool": {"name": name}}
    if name is None:
        return {"functionCallingConfig": {"mode": {"auto": "AUTO", "none": "NONE", "required": "ANY"}[choice]}}
    return {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": [name]}}


def _template_value(value: Any) -> Any:
    return js_json(value) if isinstance(value, (dict, list)) else value


def tool_vars(provider: ProviderSpec, vars_: Mapping[str, Any]) -> dict[str, Any]:
    """The vars an http provider's body, query and transformRequest see: the test's, with `tools` and `tool_choice`
    set from the provider (or the prompt's config) over any test var of that name, as promptfoo sets them."""
    out = dict(vars_)
    if provider.kind != "http":
        return out
    params = dict(provider.params)  # a prompt's config (ProviderSpec.for_prompt)
    form = str(provider.option("transformToolsFormat") or "")
    tools = params["tools"] if params.get("tools") is not None else provider.option("tools")
    choice = params["tool_choice"] if params.get("tool_choice") is not None else provider.option("tool_choice", _MISSING)
    if tools is not None:
        out["tools"] = _template_value(tools_as(tools, form) if form else tools)
    if choice is not _MISSING:
        shaped = choice_as(choice, form) if form else choice
        if shaped is not _MISSING:
            out["tool_choice"] = _template_value(shaped)
    return out
