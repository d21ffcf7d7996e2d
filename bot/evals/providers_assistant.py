"""promptfoo's Assistants API providers — `openai:assistant:ASSISTANT_ID` and `azure:assistant:ASSISTANT_ID`
(`azureopenai:` too): their ids and the config keys each reads, checked at load with the suite's line. What one
call sends, how it polls the run and how the run's steps and messages become the answer:
bot.evals.providers_assistant_wire.
"""

from __future__ import annotations

from typing import Any

ASSISTANT = "assistant"  # ProviderSpec option `api`

# What promptfoo's OpenAI assistant provider sends from its config (config key → request field) …
OPENAI_SENT = {"modelName": "model", "instructions": "instructions", "tools": "tools", "metadata": "metadata",
               "temperature": "temperature", "toolChoice": "tool_choice", "tool_resources": "tool_resources",
               "attachments": "attachments"}
# … and its Azure provider (on the run it creates).
AZURE_SENT = {"modelName": "model", "instructions": "instructions", "tools": "tools", "temperature": "temperature",
              "top_p": "top_p", "tool_choice": "tool_choice", "tool_resources": "tool_resources"}
# Keys each provider reads but never sends: accepted, no effect on the answer (so not in the fingerprint).
OPENAI_UNSENT = {"top_p", "tool_choice", "response_format", "max_tokens", "max_completion_tokens"}
AZURE_UNSENT = {"response_format", "max_tokens", "metadata", "attachments", "toolChoice"}
# Pacing, pricing and logging: no effect on the answer. Azure's per-request timeout and retries are the Caller's
# (evals.timeout_s, its retries); the polling bound is maxPollTimeMs, kept in the options.
INERT = {"cost", "inputCost", "outputCost", "debug", "timeout", "maxRetries", "timeoutMs", "retryOptions", "apiVersion"}
MAX_POLL_KEY = "maxPollTimeMs"
AZURE_API_VERSION = "2024-04-01-preview"  # promptfoo's default for Azure assistants


def assistant_kind(pid: str, head: str, rest: list[str]) -> tuple[str, str, tuple[tuple[str, Any], ...]] | str | None:
    """(vendor, assistant id, options) for openai:assistant:ID and azure:assistant:ID, the message refusing one
    without an id, or None for every other id."""
    if head in ("azure", "azureopenai") and rest and rest[0] == "foundry-agent":
        return (f"unsupported: provider {pid!r}: an Azure AI Foundry agent is not an Assistants API provider in promptfoo 0.121 "
                "(it looks the agent up in the project with the Azure AI Projects v2 SDK, then calls the Responses API with an "
                "agent_reference, signed in by DefaultAzureCredential — the machine's Azure login); not part of prompt-review")
    if head not in ("openai", "azure", "azureopenai") or not rest or rest[0] != ASSISTANT:
        return None
    vendor = "openai" if head == "openai" else "azure"
    assistant_id = ":".join(rest[1:])
    if not assistant_id:
        return f"unsupported: provider {pid!r}: an Assistants API provider needs the assistant's id ({head}:assistant:ASSISTANT_ID)"
    return vendor, assistant_id, (("api", ASSISTANT),)


def assistant_config(kind: str, key: str, value: Any, params: list[tuple[str, Any]], opts: dict[str, Any]) -> tuple[str | None, str | None]:
    """(base URL or None, problem or None) for one config key of an assistant provider; a key that is read goes
    to `params` (sent: the provider's fingerprint) or `opts`. A base URL is a suite URL (the URL policy applies
    and the operator's key never goes there)."""
    sent = OPENAI_SENT if kind == "openai" else AZURE_SENT
    if key in INERT or key in (OPENAI_UNSENT if kind == "openai" else AZURE_UNSENT):
        if key == "apiVersion" and kind == "azure":
            if not isinstance(value, str) or not value.strip():
                return None, "apiVersion must be text such as 2024-05-01-preview"
            opts[key] = value.strip()  # part of every path (?api-version=)
        return None, None
    if key in ("apiBaseUrl", "apiBase", "baseUrl"):
        if not isinstance(value, str) or not value.startswith(("http://", "https://")):
            return None, f"{key} must be an http(s) URL"
        return value.rstrip("/"), None
    if key == "apiHost":
        host = value.removeprefix("https://").removeprefix("http://").rstrip("/") if isinstance(value, str) else ""
        if not host or "/" in host:
            return None, "apiHost must be a host name such as my-resource.openai.azure.com"
        return f"https://{host}" + ("/v1" if kind == "openai" else ""), None  # promptfoo: https://HOST/v1 for OpenAI
    if key == MAX_POLL_KEY:
        if kind != "azure":
            return None, f"unsupported provider config key {key!r} for openai:assistant (Azure's assistant provider reads it)"
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            return None, f"{key} must be a positive number of milliseconds"
        opts[key] = value
        return None, None
    if key not in sent:
        listed = sorted(set(sent) | {"apiBaseUrl", "apiHost"} | ({MAX_POLL_KEY, "apiVersion"} if kind == "azure" else set()))
        return None, f"unsupported provider config key {key!r} for {kind}:assistant (supported: {', '.join(listed)})"
    problem = _problem(key, value)
    if problem is None:
        params.append((key, value))
    return None, problem


def _problem(key: str, value: Any) -> str | None:
    if key in ("modelName", "instructions") and not isinstance(value, str):
        return f"{key} must be text"
    if key in ("temperature", "top_p") and (isinstance(value, bool) or not isinstance(value, (int, float))):
        return f"{key} must be a number"
    if key == "temperature" and not 0 <= value <= 2:
        return "temperature must be between 0 and 2"
    if key == "top_p" and not 0 <= value <= 1:
        return "top_p must be between 0 and 1"
    if key == "tools" and not (isinstance(value, str) and value.startswith("file://")) and not (
            isinstance(value, list) and all(isinstance(t, dict) for t in value)):
        return "tools must be a list of tool definitions (mappings), or file://tools.json"
    if key in ("tool_resources", "metadata") and not (isinstance(value, dict) or (isinstance(value, str) and value.startswith("file://"))):
        return f"{key} must be a mapping"
    if key == "metadata" and isinstance(value, dict) and not all(isinstance(v, str) for v in value.values()):
        return "metadata must be a mapping of name → text"
    if key in ("toolChoice", "tool_choice") and not (value in ("none", "auto", "required") or isinstance(value, dict)):
        return f"{key} must be none, auto, required or a mapping such as {{type: function, function: {{name: NAME}}}}"
    if key == "attachments" and not (isinstance(value, list) and all(isinstance(a, dict) for a in value)):
        return "attachments must be a list of mappings such as {file_id: FILE, tools: [{type: file_search}]}"
    return None
