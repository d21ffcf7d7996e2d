"""Bedrock's Converse API as promptfoo 0.121's AwsBedrockConverseProvider speaks it: the request body made from a
provider's config (pinned against promptfoo itself in tests/compat/data/converse_promptfoo.json) and promptfoo's
text of the answer. Transport and signing stay in bot.evals.providers.Caller.
"""

from __future__ import annotations

import re
from typing import Any

from bot.evals import providers_parts as content_parts
from bot.evals.providers_shapes import Messages, WireError, is_chat, js_json, segment

# Claude models whose API refuses sampling settings and manual thinking budgets (promptfoo's capability table):
# temperature and topP are left out, `thinking: {type: enabled}` becomes adaptive thinking.
SAMPLING_DEPRECATED = re.compile(r"(^|[^a-z0-9])claude-((fable|mythos)-5(?![a-z0-9])|(opus|sonnet)-5(?![0-9])|opus-4-[78](?![0-9]))", re.I)
# Claude models that always think adaptively: a disabled thinking and a forced tool choice are dropped
ALWAYS_ADAPTIVE = re.compile(r"(^|[^a-z0-9])claude-(fable|mythos)-5(?![a-z0-9])", re.I)
# Claude Opus 5 refuses disabled thinking at its two highest efforts
_OPUS_5 = re.compile(r"(^|[^a-z0-9])claude-opus-5(?![0-9])", re.I)
# answers promptfoo reports as errors (its words)
_MALFORMED = {
    "malformed_model_output": "Model produced invalid output. The response could not be parsed correctly.",
    "malformed_tool_use": "Model produced a malformed tool use request. Check tool configuration and input schema.",
}


def _first(params: dict[str, Any], *names: str) -> Any:
    """The first of `names` set to something other than null (JavaScript's `a ?? b`)."""
    return next((params[n] for n in names if params.get(n) is not None), None)


def _truthy(value: Any) -> bool:
    """JavaScript's truthiness (an empty list is true, 0 and "" are false), as promptfoo's `a || b` reads a setting."""
    return value is not None and value is not False and value != "" and not (isinstance(value, (int, float)) and value == 0)


def _tool_spec(tool: Any) -> dict[str, Any]:
    """One tool in Converse's form, from Converse's own ({toolSpec}), OpenAI's ({type: function, function}) or
    Anthropic's ({name, input_schema}; {name, parameters}) form."""
    if not isinstance(tool, dict):
        raise WireError(f"Invalid tool configuration: {js_json(tool)}")
    if tool.get("toolSpec"):
        return {"toolSpec": tool["toolSpec"]}
    if tool.get("type") == "function" and tool.get("function"):
        fn = tool["function"]
        spec = {"name": fn.get("name"), "description": fn.get("description"), "inputSchema": {"json": fn.get("parameters") or {}}}
    elif tool.get("name") and "parameters" in tool and "input_schema" not in tool:
        spec = {"name": tool["name"], "description": tool.get("description"),
                "inputSchema": {"json": tool.get("parameters") or {"type": "object", "properties": {}}}}
    elif tool.get("name"):
        spec = {"name": tool["name"], "description": tool.get("description"), "inputSchema": {"json": tool.get("input_schema") or {}}}
    else:
        raise WireError(f"Invalid tool configuration: {js_json(tool)}")
    return {"toolSpec": {k: v for k, v in spec.items() if v is not None}}


def _is_openai_function(tool: Any) -> bool:
    fn = tool.get("function") if isinstance(tool, dict) else None
    return isinstance(tool, dict) and tool.get("type") == "function" and isinstance(fn, dict) and isinstance(fn.get("name"), str)


def _tools(tools: list[Any]) -> list[dict[str, Any]]:
    if tools and _is_openai_function(tools[0]):  # promptfoo reads a list that starts in OpenAI's form as OpenAI's throughout
        if bad := next((t for t in tools if not _is_openai_function(t)), None):
            raise WireError(f"Invalid tool configuration: {js_json(bad)} (the list starts in OpenAI's form)")
        return [{"toolSpec": {"name": t["function"]["name"], **({"description": t["function"]["description"]}
                              if t["function"].get("description") else {}),
                              "inputSchema": {"json": t["function"].get("parameters") or {"type": "object", "properties": {}}}}}
                for t in tools]
    return [_tool_spec(t) for t in tools]


def _tool_choice(choice: Any) -> dict[str, Any] | None:
    """A tool choice as Converse's: OpenAI's (auto / none / required / a named function), `any`, Converse's named
    {tool: {name}}; anything else (Anthropic's {type: …} too) reads as auto, as in promptfoo."""
    if choice == "none":
        return None
    if choice in ("auto", "required"):
        return {"auto": {}} if choice == "auto" else {"any": {}}
    if _is_openai_function(choice):
        return {"tool": {"name": choice["function"]["name"]}}
    if choice == "any":
        return {"any": {}}
    named = choice.get("tool") if isinstance(choice, dict) else None
    if isinstance(named, dict) and isinstance(named.get("name"), str):
        return {"tool": {"name": named["name"]}}
    return {"auto": {}}


def _inference(model: str, params: dict[str, Any]) -> dict[str, Any]:
    reasoning: dict[str, Any] = params["reasoningConfig"] if isinstance(params.get("reasoningConfig"), dict) else {}
    enabled = reasoning.get("type") == "enabled"
    # Nova 2's reasoning refuses sampling settings, and at high effort a token cap too
    max_tokens = None if enabled and reasoning.get("maxReasoningEffort") == "high" else _first(params, "maxTokens", "max_tokens")
    sampling_off = enabled or bool(SAMPLING_DEPRECATED.search(model))
    temperature = None if sampling_off else params.get("temperature")
    top_p = None if sampling_off else _first(params, "topP", "top_p")
    stop = params.get("stopSequences") if _truthy(params.get("stopSequences")) else params.get("stop")
    found = {"maxTokens": max_tokens, "temperature": temperature, "topP": top_p, "stopSequences": stop if _truthy(stop) else None}
    # prompt-review's own mapping (promptfoo's invoke-API names for `bedrock:MODEL`), under promptfoo's names
    for ours in ("max_gen_len", "max_new_tokens"):
        if params.get(ours) is not None and found["maxTokens"] is None:
            found["maxTokens"] = params[ours]
    inference = {k: v for k, v in found.items() if v is not None}
    if isinstance(params.get("interfaceConfig"), dict):  # Nova's invoke-API settings, as Converse names them
        conf = params["interfaceConfig"]
        inference.update({theirs: conf[ours] for ours, theirs in (("temperature", "temperature"), ("top_p", "topP"),
                          ("max_new_tokens", "maxTokens"), ("stopSequences", "stopSequences")) if ours in conf})
    if isinstance(params.get("textGenerationConfig"), dict):  # Titan's invoke-API settings, as Converse names them
        conf = params["textGenerationConfig"]
        inference.update({theirs: conf[ours] for ours, theirs in (("maxTokenCount", "maxTokens"), ("temperature", "temperature"),
                          ("topP", "topP"), ("stopSequences", "stopSequences")) if ours in conf and conf[ours] != []})
    if isinstance(params.get("inferenceConfig"), dict):
        inference.update(params["inferenceConfig"])
    return inference


def claude_thinking(model: str, thinking: Any, effort: Any = None) -> Any:
    """promptfoo's normalising of a Claude thinking setting for the models that changed it (None: left out)."""
    kind = thinking.get("type") if isinstance(thinking, dict) else None
    if kind == "enabled" and SAMPLING_DEPRECATED.search(model):
        return {"type": "adaptive", **({"display": thinking["display"]} if thinking.get("display") else {})}
    if kind == "disabled" and (ALWAYS_ADAPTIVE.search(model) or (_OPUS_5.search(model) and effort in ("xhigh", "max"))):
        return None
    return thinking


def _model_fields(model: str, params: dict[str, Any]) -> dict[str, Any]:
    fields = dict(params.get("additionalModelRequestFields") or {})
    if SAMPLING_DEPRECATED.search(model):
        for key in ("temperature", "top_p", "top_k"):
            fields.pop(key, None)
        if "thinking" in fields:
            effort = fields["output_config"].get("effort") if isinstance(fields.get("output_config"), dict) else None
            normal = claude_thinking(model, fields["thinking"], effort)
            if normal is None:
                fields.pop("thinking")
            else:
                fields["thinking"] = normal
    if params.get("thinking"):
        normal = claude_thinking(model, params["thinking"])
        if normal is not None:
            fields["thinking"] = normal
    if params.get("reasoningConfig"):
        fields["reasoningConfig"] = params["reasoningConfig"]
    return fields


def _tool_config(model: str, params: dict[str, Any]) -> dict[str, Any] | None:
    if "toolConfig" in params:  # Converse's own field, written out (prompt-review's; promptfoo builds it from `tools`)
        return dict(params["toolConfig"])
    choice = _first(params, "tool_choice", "toolChoice")
    tools = params.get("tools")
    if choice == "none" or not isinstance(tools, list) or not tools:
        return None
    picked = _tool_choice(choice) if choice else None
    if picked is not None and ALWAYS_ADAPTIVE.search(model) and ("any" in picked or "tool" in picked):
        picked = None  # a forced choice is refused beside always-on thinking; promptfoo leaves it out
    return {"tools": _tools(tools), **({"toolChoice": picked} if picked else {})}


def _text_roles(prompt: str) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """A text prompt as promptfoo's Converse provider reads it: lines starting `system:`, `user:` or `assistant:` (any
    case, after spaces) start a message of that role (the last system line is the system prompt), the lines after
    one continue it, lines before any are the user's; a role with no text is dropped."""
    messages: list[dict[str, Any]] = []
    system: list[dict[str, str]] = []
    role: str | None = None
    lines: list[str] = []

    def push() -> None:
        nonlocal lines
        if role and lines:
            messages.append({"role": role, "content": [{"text": "\n".join(lines)}]})
        lines = []

    for line in prompt.split("\n"):
        trimmed = line.strip()
        head = next((r for r in ("system", "user", "assistant") if trimmed.lower().startswith(r + ":")), None)
        if head == "system":
            push()
            system, role = [{"text": trimmed[7:].strip()}], None
        elif head:
            push()
            role = head
            if rest := trimmed[len(head) + 1:].strip():
                lines.append(rest)
        else:
            role = role or "user"
            lines.append(line)
    push()
    return messages or [{"role": "user", "content": [{"text": prompt}]}], system


def converse_request(spec_id: str, model: str, params: dict[str, Any], messages: Messages) -> tuple[str, dict[str, Any]]:
    """(path, body) of one Converse call, as promptfoo makes it from the provider's config."""
    if not is_chat(messages) and isinstance(messages[0][1], str):
        converse, system = _text_roles(messages[0][1])
    else:
        converse, system = content_parts.converse_messages(spec_id, messages, claude="anthropic.claude" in model)
    body: dict[str, Any] = {"messages": converse}
    if system:
        body["system"] = system
    if inference := _inference(model, params):
        body["inferenceConfig"] = inference
    try:
        tool_config = _tool_config(model, params)
    except WireError as exc:
        raise WireError(f"{spec_id}: {exc}") from None
    if tool_config:
        body["toolConfig"] = tool_config
    if params.get("guardrailIdentifier"):
        version = params.get("guardrailVersion") or "DRAFT"
        body["guardrailConfig"] = {"guardrailIdentifier": _js_string(params["guardrailIdentifier"]), "guardrailVersion": _js_string(version),
                                   **({"trace": params["trace"]} if params.get("trace") else {})}
    elif "guardrailConfig" in params:  # Converse's own field, written out
        body["guardrailConfig"] = params["guardrailConfig"]
    if fields := _model_fields(model, params):
        body["additionalModelRequestFields"] = fields
    if params.get("additionalModelResponseFieldPaths"):
        body["additionalModelResponseFieldPaths"] = params["additionalModelResponseFieldPaths"]
    if params.get("performanceConfig"):
        latency = params["performanceConfig"].get("latency") if isinstance(params["performanceConfig"], dict) else None
        body["performanceConfig"] = {"latency": latency} if latency is not None else {}
    if params.get("serviceTier"):
        kind = params["serviceTier"].get("type") if isinstance(params["serviceTier"], dict) else None
        body["serviceTier"] = {"type": kind} if kind is not None else {}
    return f"/model/{segment(model)}/converse", body


def _js_string(value: Any) -> str:
    """JavaScript's String() of a YAML scalar (a guardrail version written as a number)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value) if isinstance(value, int) else js_json(value)


def converse_text(data: dict[str, Any], show_thinking: bool, tools_off: bool) -> str:
    """promptfoo's text of a Converse answer: with tool uses (and tools not turned off by a `none` choice), only
    those, each as {"type":"tool_use","id","name","input"}; otherwise the text, reasoning and tool-use blocks in
    order, joined by a blank line. A malformed answer (AWS's stop reason says so) is promptfoo's error."""
    message = data.get("output", {}).get("message") if isinstance(data.get("output"), dict) else None
    if not isinstance(message, dict):
        raise WireError("response has no output.message.content")
    blocks = [b for b in message.get("content") or [] if isinstance(b, dict)]
    if isinstance(data.get("stopReason"), str) and data["stopReason"] in _MALFORMED:
        raise WireError(_MALFORMED[data["stopReason"]])
    uses = [b for b in blocks if b.get("toolUse")]
    return _blocks_text(uses if uses and not tools_off else blocks, show_thinking)


def _blocks_text(blocks: list[dict[str, Any]], show_thinking: bool) -> str:
    parts = []
    for b in blocks:
        if b.get("text"):
            parts.append(str(b["text"]))
        elif b.get("reasoningContent"):
            reasoning = b["reasoningContent"]
            said = reasoning.get("reasoningText") if isinstance(reasoning, dict) else None
            if not show_thinking:
                continue
            if said:
                thought, signature = str(said.get("text") or ""), str(said.get("signature") or "")
                if thought.strip():
                    parts.append(f"<thinking>\n{thought}\n</thinking>")
                    if signature:
                        parts.append(f"Signature: {signature}")
            elif isinstance(reasoning, dict) and reasoning.get("redactedContent"):
                parts.append("<thinking>[Redacted]</thinking>")
        elif isinstance(b.get("toolUse"), dict):
            use = b["toolUse"]
            parts.append(js_json({"type": "tool_use", **{k: use[f] for k, f in (("id", "toolUseId"), ("name", "name"), ("input", "input"))
                                                         if f in use}}))
    return "\n\n".join(parts)
