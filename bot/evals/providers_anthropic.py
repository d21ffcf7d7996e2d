"""Anthropic's messages API as promptfoo 0.121's Anthropic messages provider calls it: the config keys it reads
(`anthropic_config`), the body (`messages_body`) and the `anthropic-beta` header (`beta_headers`) it builds from them,
with its per-model rules for sampling parameters and thinking. Each rule is pinned against promptfoo's own requests
(bench/vendor_request_oracle.mjs → tests/compat/data/anthropic_requests.json)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from bot.evals.providers_more import Reading
from bot.evals.providers_shapes import headers_problem, mapping

STRUCTURED_OUTPUTS_BETA = "structured-outputs-2025-11-13"
# Claude families whose API refuses temperature, top_p and top_k (promptfoo omits them, its default temperature too)
_SAMPLING_DEPRECATED = re.compile(r"(^|[^a-z0-9])claude-(?:(?:fable|mythos)-5(?![a-z0-9])|(?:opus|sonnet)-5(?![0-9])|opus-4-[78](?![0-9]))",
                                  re.I)
_ALWAYS_THINKING = re.compile(r"(^|[^a-z0-9])claude-(?:fable|mythos)-5(?![a-z0-9])", re.I)  # adaptive thinking always on
_OPUS_5 = re.compile(r"(^|[^a-z0-9])claude-opus-5(?![0-9])", re.I)  # thinks unless told not to; refuses "disabled" above high effort
# server tools promptfoo rebuilds from the fields it knows (the type's name set, other fields dropped), and the beta each needs
_FETCH_FIELDS = ("allowed_callers", "max_uses", "allowed_domains", "blocked_domains", "citations", "max_content_tokens",
                 "cache_control", "defer_loading", "strict")
_SEARCH_FIELDS = ("allowed_callers", "allowed_domains", "blocked_domains", "cache_control", "defer_loading", "max_uses", "strict",
                  "user_location")
_SERVER_TOOLS: dict[str, tuple[str, tuple[str, ...], str | None]] = {
    "web_fetch_20250910": ("web_fetch", _FETCH_FIELDS, "web-fetch-2025-09-10"),
    "web_fetch_20260209": ("web_fetch", _FETCH_FIELDS, None),
    "web_fetch_20260309": ("web_fetch", (*_FETCH_FIELDS, "use_cache"), None),
    "web_search_20250305": ("web_search", _SEARCH_FIELDS, None),
    "web_search_20260209": ("web_search", _SEARCH_FIELDS, None),
}
# keys of the config the body below is built from (any other request field is sent as written, as before)
BODY_KEYS = {"max_tokens", "temperature", "top_p", "top_k", "cache_control", "service_tier", "stop_sequences", "metadata", "tools",
             "tool_choice", "thinking", "output_format", "effort", "extra_body", "beta"}
_SUITE_MAY_NOT_SET = {"x-api-key", "host", "content-length"}


def anthropic_config(key: str, value: Any, reading: Reading) -> str | None:
    """One config key of an `anthropic:` provider that needs more than being passed on: None when it is not one of
    them, "" when read into `reading`, else the problem with it."""
    if key == "output_format":  # structured outputs: sent as output_config.format (a file:// is read with the suite)
        if not isinstance(value, dict) and not (isinstance(value, str) and value.startswith("file://")):
            return "output_format must be a mapping ({type: json_schema, schema: …}) or file://FILE.json|.yaml"
    elif key == "extra_body":
        if value is not None and not isinstance(value, dict):
            return "extra_body must be a mapping of request fields (merged into the body, as promptfoo does)"
        if isinstance(value, dict) and value.get("stream"):
            return "extra_body.stream: prompt-review asks for the whole answer (promptfoo's `stream: true` assembles the same answer)"
    elif key == "cache_control":  # automatic prompt caching: a request field here (other vendors' cache_control changes nothing)
        pass
    elif key == "beta":
        if not isinstance(value, list) or not all(isinstance(b, str) for b in value):
            return "beta must be a list of Anthropic beta feature names (sent in the anthropic-beta header)"
    elif key == "headers":
        if (problem := headers_problem(value)) is not None:
            return problem
        refused = sorted(name for name in value if str(name).lower() in _SUITE_MAY_NOT_SET)
        if refused:
            return (f"header {refused[0]!r} cannot be set by a suite (prompt-review sends ANTHROPIC_API_KEY as x-api-key, "
                    "from the service's environment)")
        reading.opts["headers"] = {str(k): v for k, v in value.items()}
        return ""
    elif key == "max_tool_calls":  # promptfoo's cap on MCP tool calls: read only with an enabled mcp, which is refused
        return "" if isinstance(value, (int, float)) and not isinstance(value, bool) else "max_tool_calls must be a number"
    elif key == "apiKeyRequired":
        # false lets promptfoo fall back to a Claude Code login read from the machine (keychain, ~/.claude) when no key is
        # set; prompt-review takes ANTHROPIC_API_KEY from the service's environment only, so with the key set the request
        # is the same, and without it the case says the key is missing
        return "" if isinstance(value, bool) else "apiKeyRequired must be true or false"
    else:
        return None
    reading.params.append((key, value))
    return ""


def text_prompt(text: str) -> tuple[str | None, list[dict[str, Any]], Any]:
    """(system, messages, thinking) as promptfoo reads a prompt that is not a message list: line by line, each trimmed
    and blank ones dropped; `system: …` is the system prompt (the last one wins), `thinking: {…}` the thinking config
    (when it is JSON), `user: …` / `assistant: …` starts a message of that role, and any other line continues the
    current message (a user message at first). A text with none of them is one user message."""
    system: str | None = None
    thinking: Any = None
    out: list[dict[str, Any]] = []
    role: str | None = None
    lines: list[str] = []
    for line in (raw.strip() for raw in text.split("\n")):
        if not line:
            continue
        if line.startswith("system:"):
            system = line[len("system:"):].strip()
        elif line.startswith("thinking:"):
            try:
                thinking = json.loads(line[len("thinking:"):].strip())
            except ValueError:
                pass
        elif line.startswith(("user:", "assistant:")):
            if role and lines:
                out.append({"role": role, "content": "\n".join(lines)})
            role, lines = line.split(":", 1)[0], [line.split(":", 1)[1].strip()]
        else:
            role = role or "user"
            lines.append(line)
    if role and lines:
        out.append({"role": role, "content": "\n".join(lines)})
    if not out and system is None:
        out.append({"role": "user", "content": text.strip()})
    return system, out, thinking


def first_system_only(messages: Sequence[tuple[str, Any]]) -> tuple[tuple[str, Any], ...]:
    """A chat prompt as promptfoo's provider sends it: the first system message is the system prompt and any later
    one is dropped."""
    first = next((i for i, (role, _) in enumerate(messages) if role == "system"), None)
    return tuple(m for i, m in enumerate(messages) if m[0] != "system" or i == first)


def _set(value: Any) -> bool:
    """JavaScript's truthiness, which decides whether promptfoo sends a field: an empty mapping or list is sent."""
    return value is not None and value is not False and value != 0 and value != ""


def sampling_deprecated(model: str) -> bool:
    return _SAMPLING_DEPRECATED.search(model) is not None


def _thinking(model: str, requested: Any, effort: Any) -> tuple[Any, bool, bool]:
    """(the thinking config sent, whether the model thinks, whether thinking takes output tokens) — promptfoo's
    reconciliation of the config with what the model accepts."""
    kind = mapping(requested).get("type")
    resolved = requested
    if kind == "enabled" and sampling_deprecated(model):  # manual budgets become adaptive thinking
        resolved = {"type": "adaptive", **({"display": requested["display"]} if requested.get("display") else {})}
    elif kind == "disabled" and (_ALWAYS_THINKING.search(model) or (_OPUS_5.search(model) and effort in ("xhigh", "max"))):
        resolved = None  # the model refuses "disabled": left out
    on = mapping(resolved).get("type") in ("enabled", "adaptive")
    always = _ALWAYS_THINKING.search(model) is not None
    return resolved, always or on, always or on or (resolved is None and _OPUS_5.search(model) is not None)


def _tools(tools: Any) -> tuple[list[Any], list[str]]:
    """The tools as sent (OpenAI-form tools as Anthropic's; server tools rebuilt) and the betas they need."""
    if not isinstance(tools, list):
        return [], []
    first = tools[0] if tools else None
    if isinstance(first, dict) and first.get("type") == "function" and isinstance(first.get("function"), dict):
        tools = [{"name": f.get("name"), **({"description": f["description"]} if f.get("description") else {}),
                  "input_schema": f.get("parameters") or {"type": "object", "properties": {}}}
                 if isinstance(f := mapping(t).get("function"), dict) else t for t in tools]
    sent, betas = [], []
    for tool in tools:
        kind = mapping(tool).get("type")
        server = _SERVER_TOOLS.get(kind) if isinstance(kind, str) else None
        if server is not None:
            name, fields, beta = server
            sent.append({"type": kind, "name": name, **{f: tool[f] for f in fields if f in tool}})
            if beta and beta not in betas:
                betas.append(beta)
        else:
            sent.append(tool)
        if isinstance(tool, dict) and tool.get("strict") is True and STRUCTURED_OUTPUTS_BETA not in betas:
            betas.append(STRUCTURED_OUTPUTS_BETA)
    return sent, betas


def _tool_choice(choice: Any) -> Any:
    """OpenAI's tool_choice in Anthropic's form; any other value as written."""
    if choice in ("auto", "none"):
        return {"type": choice}
    if choice == "required":
        return {"type": "any"}
    function = mapping(choice).get("function")
    if mapping(choice).get("type") == "function" and isinstance(function, dict) and isinstance(function.get("name"), str):
        return {"type": "tool", "name": function["name"]}
    return choice


def messages_body(model: str, params: Mapping[str, Any], system: Any, messages: list[Any], prompt_thinking: Any = None) -> dict[str, Any]:
    """The request body promptfoo sends for `params` (the provider's config; `prompt_thinking`: a thinking config the
    prompt's text gave, used when the config has none). `stream` is always false: promptfoo's `stream: true`
    assembles the streamed answer into the same message. Request fields promptfoo does not read are sent as
    written, before `extra_body`."""
    requested, effort = params.get("thinking"), params.get("effort")
    if requested is None:
        requested = prompt_thinking
    thinking, thinks, spends = _thinking(model, requested, effort)
    deprecated = sampling_deprecated(model)
    top_p = params.get("top_p")
    if isinstance(top_p, (int, float)) and thinks:
        top_p = max(0.95, min(1, top_p))
    choice = _tool_choice(params["tool_choice"]) if _set(params.get("tool_choice")) else None
    if mapping(thinking).get("type") == "enabled" and mapping(choice).get("type") in ("any", "tool"):
        choice = None  # forced tool use is refused with extended thinking: left out
    tools, _ = _tools(params.get("tools"))
    body: dict[str, Any] = {"model": model}
    if system:
        body["system"] = system
    body["max_tokens"] = params["max_tokens"] if params.get("max_tokens") is not None else 2048 if spends else 1024
    body.update(messages=messages, stream=False)
    if not (top_p is not None or thinks or deprecated):
        body["temperature"] = params["temperature"] if params.get("temperature") is not None else 0
    if top_p is not None and not deprecated:
        body["top_p"] = top_p
    if params.get("top_k") is not None and not thinks and not deprecated:
        body["top_k"] = params["top_k"]
    for key in ("cache_control", "service_tier", "metadata"):
        if _set(params.get(key)):
            body[key] = params[key]
    if isinstance(params.get("stop_sequences"), (list, str)) and params["stop_sequences"]:
        body["stop_sequences"] = params["stop_sequences"]
    if tools:
        body["tools"] = tools
    if _set(choice):
        body["tool_choice"] = choice
    if _set(thinking):
        body["thinking"] = thinking
    output = params.get("output_format")
    if _set(output) or _set(effort):
        body["output_config"] = {**({"format": output} if _set(output) else {}), **({"effort": effort} if _set(effort) else {})}
    body.update({k: v for k, v in params.items() if k not in BODY_KEYS})
    if isinstance(params.get("extra_body"), dict):
        body.update(params["extra_body"])
    return body


def beta_headers(params: Mapping[str, Any], headers: Mapping[str, str]) -> dict[str, str]:
    """The suite's headers with `anthropic-beta` as promptfoo merges it: `beta`, the betas the tools need, the
    header's own comma-separated names, then structured outputs' beta when `output_format` is set; each once."""
    out = dict(headers)
    betas = [*(params.get("beta") or []), *_tools(params.get("tools"))[1]]
    given = headers.get("anthropic-beta")
    if isinstance(given, str):
        betas += [b.strip() for b in given.split(",") if b.strip()]
    if _set(params.get("output_format")):
        betas.append(STRUCTURED_OUTPUTS_BETA)
    betas = list(dict.fromkeys(betas))
    if betas:
        out["anthropic-beta"] = ",".join(betas)
    return out


def json_answer(params: Mapping[str, Any]) -> bool:
    """promptfoo parses the answer as JSON under a json_schema output format."""
    return mapping(params.get("output_format")).get("type") == "json_schema"
