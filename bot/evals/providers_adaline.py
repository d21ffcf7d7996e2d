"""promptfoo's Adaline Gateway provider (`adaline:VENDOR:chat:MODEL`). Adaline's gateway is not a
service but a client library inside promptfoo that calls the vendor's own API with the vendor's
credentials, so here it is our own provider for that vendor: Adaline's config names are translated to
the vendor's, and the answer is shaped as promptfoo's adaline provider outputs it.
"""

from __future__ import annotations

import json
from typing import Any

from bot.evals.providers_shapes import Parsed, WireError, js_json, mapping

# ---- Adaline Gateway: config ---------------------------------------------------------------------

# Adaline's vendor names → ours (chat), and the vendors whose embedding models it calls.
ADALINE_CHAT = {"openai": "openai", "anthropic": "anthropic", "azureopenai": "azure", "google": "google", "vertex": "vertex",
                "groq": "groq", "togetherai": "together", "openrouter": "openrouter"}
ADALINE_EMBEDDING = {"openai": "openai", "azureopenai": "azure", "vertex": "vertex"}
# Adaline's own config names (its "gateway" format) → the names every wire format here reads.
_GATEWAY_NAMES = {"temperature": "temperature", "maxTokens": "max_tokens", "topP": "top_p", "topK": "top_k", "seed": "seed",
                  "stop": "stop", "frequencyPenalty": "frequency_penalty", "presencePenalty": "presence_penalty",
                  "toolChoice": "tool_choice", "tools": "tools", "safetySettings": "safetySettings"}
# Keys that make promptfoo read the config in Adaline's format rather than OpenAI's (its checkRequestFormat).
_GATEWAY_ONLY = {"maxTokens", "topP", "topK", "minP", "frequencyPenalty", "presencePenalty", "repetitionPenalty", "logProbs",
                 "responseFormat", "responseSchema", "toolChoice"}
_OPENAI_NAMES = {"temperature", "max_tokens", "max_completion_tokens", "top_p", "seed", "stop", "frequency_penalty",
                 "presence_penalty", "tools", "tool_choice", "response_format"}
# promptfoo fills these in when unset (OPENAI_TEMPERATURE / *_MAX_TOKENS defaults) for these vendors, and
# for every vendor when the config is in OpenAI's format (it builds an OpenAI request first).
_DEFAULTED = {"openai", "azure", "anthropic", "openrouter", "together"}
ADALINE_FORMS = {"tools", "tool_choice", "response_format"}  # in OpenAI's form; adaline_params rewrites them per vendor
ADALINE_INERT = {"logProbs", "logprobs", "top_logprobs", "cost"}


def adaline_config(config: dict[str, Any], vendor: str) -> tuple[dict[str, Any], dict[str, str], str]:
    """(config with the names the wire formats read, new name → the key as written, 'gateway' | 'openai').

    Keys that are neither Adaline's nor OpenAI's request settings (apiHost, apiBaseUrl, credentials, …)
    are kept as written, for parse_provider to accept or refuse like any provider's."""
    tools = config.get("tools")
    first = tools[0] if isinstance(tools, list) and tools and isinstance(tools[0], dict) else {}
    if "definition" in first:
        fmt = "gateway"
    elif "function" in first:
        fmt = "openai"
    else:
        fmt = "gateway" if _GATEWAY_ONLY & set(config) else "openai"
    out: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for key, value in config.items():
        if key in ADALINE_INERT:
            continue
        if key == "safetySettings" and vendor not in ("google", "vertex"):
            continue  # Adaline sends them to Google and Vertex only
        if key == "responseSchema":
            continue  # read with responseFormat
        if key == "responseFormat":
            if value == "json_object":
                out["response_format"] = {"type": "json_object"}
            elif value == "json_schema":
                out["response_format"] = {"type": "json_schema", "json_schema": config.get("responseSchema") or {}}
            elif value != "text":
                out[key] = value  # refused by parse_provider as an unknown key
                origin[key] = key
                continue
            origin["response_format"] = key
            continue
        name = _GATEWAY_NAMES.get(key) if fmt == "gateway" else (key if key in _OPENAI_NAMES else None)
        if name == "tools" and fmt == "gateway" and isinstance(value, list):
            value = [_openai_tool(t) for t in value]
        if name == "tool_choice" and fmt == "gateway" and isinstance(value, str) and value not in ("auto", "none", "required"):
            value = {"type": "function", "function": {"name": value}}  # Adaline names the one tool to call
        out[name or key] = value
        origin[name or key] = key
    if fmt == "openai" or vendor in _DEFAULTED:
        out.setdefault("temperature", 0)
        if "max_completion_tokens" not in out:
            out.setdefault("max_tokens", 1024)
    return out, origin, fmt


def adaline_chat_params(params: dict[str, Any]) -> dict[str, Any]:
    """The settings promptfoo sends for a chat prompt (a JSON message list) when the config is in Adaline's
    format: it then reads the config in OpenAI's names, so only those shared by both count (with its
    defaults); Adaline's own keys (maxTokens, topP, responseFormat, …) have no effect there."""
    out = {k: v for k, v in params.items() if k in ("temperature", "seed", "stop", "tools", "tool_choice", "safetySettings")}
    out.setdefault("temperature", 0)
    out["max_tokens"] = 1024
    if isinstance(out.get("tool_choice"), dict):  # Adaline's tool name is no OpenAI tool_choice value
        del out["tool_choice"]
    return out


def _openai_tool(tool: Any) -> Any:
    """Adaline's {type: function, definition: {schema: {name, description, parameters}}} as OpenAI's tool."""
    if isinstance(tool, dict) and isinstance(tool.get("definition"), dict) and isinstance(tool["definition"].get("schema"), dict):
        return {"type": "function", "function": tool["definition"]["schema"]}
    return tool


# ---- Adaline Gateway: request and answer ---------------------------------------------------------


def adaline_params(wire: str, params: dict[str, Any]) -> dict[str, Any]:
    """Settings in OpenAI's form (as adaline_config leaves them) in the form of the vendor's own API."""
    params = dict(params)
    tools, choice, fmt = params.pop("tools", None), params.pop("tool_choice", None), params.pop("response_format", None)
    functions = [t["function"] for t in tools or [] if isinstance(t, dict) and isinstance(t.get("function"), dict)]
    if wire == "anthropic":
        for key in ("seed", "frequency_penalty", "presence_penalty"):  # the messages API has none of them
            params.pop(key, None)
        if functions:
            params["tools"] = [{"name": f.get("name"), "description": f.get("description", ""),
                                "input_schema": f.get("parameters", {"type": "object"})} for f in functions]
        if choice in ("auto", "none"):
            params["tool_choice"] = {"type": choice}
        elif choice == "required":
            params["tool_choice"] = {"type": "any"}
        elif isinstance(choice, dict) and isinstance(choice.get("function"), dict):
            params["tool_choice"] = {"type": "tool", "name": choice["function"].get("name")}
        return params
    if wire in ("gemini", "vertex"):
        generation = dict(mapping(params.get("generationConfig")))
        for ours, theirs in (("frequency_penalty", "frequencyPenalty"), ("presence_penalty", "presencePenalty")):
            if ours in params:
                generation[theirs] = params.pop(ours)
        if isinstance(fmt, dict) and fmt.get("type") in ("json_object", "json_schema"):
            generation["responseMimeType"] = "application/json"
            schema = mapping(fmt.get("json_schema")).get("schema")
            if isinstance(schema, dict):
                generation["responseSchema"] = schema
        if generation:
            params["generationConfig"] = generation
        if functions:
            params["tools"] = [{"functionDeclarations": [{k: f[k] for k in ("name", "description", "parameters") if k in f}
                                                         for f in functions]}]
        mode = {"auto": "AUTO", "none": "NONE", "required": "ANY"}.get(choice) if isinstance(choice, str) else None
        if isinstance(choice, dict) and isinstance(choice.get("function"), dict):
            params["toolConfig"] = {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": [choice["function"].get("name")]}}
        elif mode:
            params["toolConfig"] = {"functionCallingConfig": {"mode": mode}}
        return params
    # OpenAI's chat completions (OpenAI, Azure, Groq, Together, OpenRouter): already in its form
    for key, value in (("tools", tools), ("tool_choice", choice), ("response_format", fmt)):
        if value is not None:
            params[key] = value
    return params


def _calls_and_text(wire: str, data: dict[str, Any]) -> tuple[str, list[tuple[str, str, str]]]:
    """The answer's text and its tool calls as (id, name, arguments JSON) in the vendor's order."""
    calls: list[tuple[str, str, str]] = []
    if wire == "anthropic":
        blocks = [b for b in data.get("content") or [] if isinstance(b, dict)]
        for b in blocks:
            if b.get("type") == "tool_use":
                calls.append((str(b.get("id", "")), str(b.get("name", "")), js_json(b.get("input", {}))))
        return "".join(b["text"] for b in blocks if b.get("type") == "text" and isinstance(b.get("text"), str)), calls
    if wire in ("gemini", "vertex"):
        candidate = mapping((data.get("candidates") or [{}])[0]) if isinstance(data.get("candidates"), list) else {}
        parts = [p for p in mapping(candidate.get("content")).get("parts") or [] if isinstance(p, dict)]
        for i, p in enumerate(parts):
            if isinstance(p.get("functionCall"), dict):
                fc = p["functionCall"]
                calls.append((str(fc.get("id") or i), str(fc.get("name", "")), js_json(fc.get("args", {}))))
        return "".join(p["text"] for p in parts if isinstance(p.get("text"), str) and not p.get("thought")), calls
    message = mapping(mapping((data.get("choices") or [{}])[0]).get("message")) if isinstance(data.get("choices"), list) else {}
    for c in message.get("tool_calls") or []:
        fn = mapping(mapping(c).get("function"))
        calls.append((str(mapping(c).get("id", "")), str(fn.get("name", "")), str(fn.get("arguments", ""))))
    content = message.get("content")
    return (content if isinstance(content, str) else ""), calls


def adaline_answer(wire: str, data: dict[str, Any], parsed: Parsed, fmt: str, json_schema: bool) -> Parsed:
    """The answer as promptfoo's adaline provider outputs it: the text; with a json_schema response
    format the parsed JSON; tool calls as OpenAI's tool_calls (OpenAI-format config) or as Adaline's
    content parts ({modality: tool-call, index, id, name, arguments}; gateway-format config)."""
    text, calls = _calls_and_text(wire, data)
    if not calls:
        if json_schema:
            try:
                value = json.loads(text)
            except ValueError:
                raise WireError(f"the answer is not the JSON its json_schema response format asks for: {text[:60]!r}") from None
            return Parsed(js_json(value), parsed.tokens_in, parsed.tokens_out, parsed.finish_reason,
                          parsed.model, parsed.system_fingerprint, structured=True)
        return Parsed(text, parsed.tokens_in, parsed.tokens_out, parsed.finish_reason, parsed.model, parsed.system_fingerprint)
    output: Any
    if fmt == "openai":
        tool_calls = [{"id": i, "type": "function", "function": {"name": n, "arguments": a}} for i, n, a in calls]
        output = {"content": text, "tool_calls": tool_calls} if text else tool_calls
    else:
        output = ([{"modality": "text", "value": text}] if text else []) + [
            {"modality": "tool-call", "index": k, "id": i, "name": n, "arguments": a} for k, (i, n, a) in enumerate(calls)]
    return Parsed(js_json(output), parsed.tokens_in, parsed.tokens_out, "tool_calls",
                  parsed.model, parsed.system_fingerprint, structured=True)


def adaline_kind(pid: str, rest: list[str]) -> tuple[str, str, tuple[tuple[str, Any], ...]] | str:
    """promptfoo's Adaline Gateway runs inside promptfoo and calls the vendor's own API with the vendor's
    credentials: adaline:VENDOR:chat:MODEL is our provider for that vendor, with Adaline's config names."""
    if len(rest) < 3 or not all(rest[:3]):
        return (f"provider {pid!r}: an Adaline Gateway provider is adaline:VENDOR:chat:MODEL or adaline:VENDOR:embedding:MODEL; "
                "promptfoo refuses it too")
    vendor, kind, model = rest[0], rest[1], ":".join(rest[2:])
    if kind in ("embedding", "embeddings"):
        if vendor not in ADALINE_EMBEDDING:
            return (f"unsupported: provider {pid!r}: Adaline embeddings of {vendor!r} are not part of prompt-review "
                    f"(embeddings of: {', '.join(sorted(ADALINE_EMBEDDING))})")
        return ADALINE_EMBEDDING[vendor], model, (("api", "embedding"), ("gateway", "adaline"))
    if kind != "chat":
        return f"unsupported: provider {pid!r} is not a chat model ({kind}); prompt-review reviews text answers of chat models"
    if vendor not in ADALINE_CHAT:
        return f"unsupported: provider {pid!r}: Adaline's {vendor!r} is not part of prompt-review (vendors: {', '.join(sorted(ADALINE_CHAT))})"
    if vendor == "vertex" and not model.startswith("gemini"):
        return f"unsupported: provider {pid!r}: Adaline calls Gemini models on Vertex; other model families are not part of it"
    return ADALINE_CHAT[vendor], model, (("gateway", "adaline"),)
