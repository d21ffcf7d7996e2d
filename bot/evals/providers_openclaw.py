"""promptfoo's OpenClaw providers (an OpenClaw gateway: the team's own agent service, OpenAI-compatible at GATEWAY/v1),
read for bot.evals.providers_vendors: the id forms, the model name and x-openclaw-* headers promptfoo builds for an agent,
the config keys, and the gateway's /v1 URL. A suite's gateway_url is a suite URL (the URL policy applies; the operator's
token goes there only where granted, see bot.evals.providers.Caller._endpoint); credentials come from the environment.
"""

from __future__ import annotations

from typing import Any

from bot.evals.providers_more import Kind, Reading

_URL = ("http://", "https://", "ws://", "wss://")
# promptfoo's OpenClaw providers that are not a model call
OPENCLAW_REFUSED = {
    "agent": "runs an agent with tools on the OpenClaw gateway (its WebSocket agent protocol, with a device identity "
             "kept in files); openclaw[:AGENT] (chat completions) and openclaw:responses[:AGENT] call the same agent over HTTP",
    "tools": "invokes the OpenClaw gateway's tools directly (POST /tools/invoke): it runs tools, not a model",
}
# OpenClaw config keys promptfoo sends as request headers (the agent id is added from the provider id)
OPENCLAW_HEADERS = {"session_key": "x-openclaw-session-key", "backend_model": "x-openclaw-model", "model_override": "x-openclaw-model",
                    "message_channel": "x-openclaw-message-channel", "account_id": "x-openclaw-account-id", "scopes": "x-openclaw-scopes"}
# read by promptfoo's openclaw:agent and openclaw:tools only (refused above): no effect on chat, responses and embeddings
OPENCLAW_AGENT_ONLY = {"thinking_level", "timeoutMs", "action", "dry_run", "device_family", "device_identity_path", "device_auth_path",
                       "disable_device_auth", "extraSystemPrompt", "agentId", "thinkingLevel"}


def openclaw_kind(pid: str, rest: list[str], embedding: bool) -> Kind | str:
    """promptfoo's OpenClaw ids: `openclaw[:AGENT]` chat completions, `openclaw:responses[:AGENT]` the responses API,
    `openclaw:embedding[:AGENT]` embeddings (AGENT: the third part only, as promptfoo); the agent is `openclaw/AGENT`."""
    sub = rest[0] if rest else None
    if sub in OPENCLAW_REFUSED:
        return f"unsupported: provider {pid!r} {OPENCLAW_REFUSED[sub]}; not part of prompt-review"
    if sub in ("responses", "embedding", "embeddings"):
        agent = rest[1] if len(rest) > 1 and rest[1] else "main"
    else:
        agent = ":".join(rest) if rest else "main"
    options: tuple[tuple[str, Any], ...] = (("agent", agent),)
    if sub in ("embedding", "embeddings"):
        if not embedding:
            return f"unsupported: provider {pid!r} is not a chat model (embedding); it serves as a grader's embedding only"
        return "openclaw", openclaw_model(agent), (("api", "embedding"), *options)
    if sub == "responses":
        options += (("api", "responses"),)
    return "openclaw", openclaw_model(agent), options


def openclaw_model(agent: str) -> str:
    """The model name promptfoo sends for an OpenClaw agent: `openclaw/AGENT`, `openclaw/default` for no agent."""
    name = agent.strip()
    for prefix in ("openclaw/", "openclaw:", "agent:"):
        if name.startswith(prefix):
            name = name[len(prefix):].strip()
            break
    else:
        if name == "openclaw":
            name = ""
    return f"openclaw/{name or 'default'}"


def openclaw_config(key: str, value: Any, reading: Reading) -> str | None:
    """None: not an OpenClaw key (read as for any OpenAI-compatible vendor); "": read into `reading`; else the problem."""
    if key in ("auth_token", "auth_password", "device_token"):
        return (f"refused: {key}: credentials come from the environment only, never from the repository "
                "(OPENCLAW_GATEWAY_TOKEN or OPENCLAW_GATEWAY_PASSWORD)")
    if key == "gateway_url":  # promptfoo: GATEWAY/v1, a ws(s):// gateway URL read as its http(s) origin
        url = value.strip() if isinstance(value, str) else ""
        if not url.startswith(_URL):
            return "gateway_url must be an http(s) or ws(s) URL (the OpenClaw gateway)"
        reading.base_url = openclaw_base(url)
        return ""
    if key == "headers":
        if not isinstance(value, dict):
            return "headers must be a mapping of header names to values"
        for name, v in value.items():
            if (problem := reading.header(str(name), v)) != "":
                return problem
        return ""
    if key in OPENCLAW_HEADERS:
        if key == "scopes" and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            return "scopes must be a list of text (promptfoo sends them joined by commas as x-openclaw-scopes)"
        if key != "scopes" and not isinstance(value, str):
            return f"{key} must be text (promptfoo sends it as the {OPENCLAW_HEADERS[key]} header)"
        reading.opts.setdefault("openclaw", {})[key] = value
        return ""
    if key in OPENCLAW_AGENT_ONLY:
        return f"{key} has no effect on openclaw chat, responses and embedding providers (promptfoo reads it for openclaw:agent and openclaw:tools only); remove it"
    if key == "text" and reading.opts.get("api") == "responses":
        return "text has no effect on openclaw:responses: promptfoo removes it from the request; remove it"
    return None


def openclaw_base(url: str) -> str:
    """The gateway's /v1 URL as promptfoo builds it (a ws:// or wss:// gateway URL is its http(s) origin)."""
    url = url.strip()
    for ws, http in (("wss://", "https://"), ("ws://", "http://")):
        if url.startswith(ws):
            url = http + url[len(ws):]
    return url.rstrip("/") + "/v1"


def openclaw_headers(reading: Reading) -> None:
    """promptfoo's order: the suite's headers, then x-openclaw-agent-id (the id's agent) and the context headers."""
    given = reading.opts.pop("openclaw", {})
    context = {"x-openclaw-agent-id": str(reading.opts.get("agent", "main"))}
    if given.get("session_key"):
        context["x-openclaw-session-key"] = given["session_key"]
    for name, value in (("x-openclaw-model", (given.get("backend_model") or given.get("model_override") or "").strip()),
                        ("x-openclaw-message-channel", (given.get("message_channel") or "").strip()),
                        ("x-openclaw-account-id", (given.get("account_id") or "").strip()),
                        ("x-openclaw-scopes", ",".join(s.strip() for s in given.get("scopes") or () if s.strip()))):
        if value:
            context[name] = value
    for name, value in context.items():
        if problem := reading.header(name, value):
            reading.problems.append(problem)
