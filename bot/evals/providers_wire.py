"""The wire formats of the vendors' chat APIs: the request body for a list of (role, content) messages,
and the text, token counts and finish reason read back from the answer. Transport, deadlines, size
limits, credentials and the URL policy stay in bot.evals.providers.Caller, the same for every vendor.

Hand-written thin clients rather than LiteLLM or the vendors' SDKs: each format is one request and
one answer shape, and the SDKs would bring their own HTTP stacks, retries and timeouts that bypass
the Caller's deadlines, size limits and address pinning (the SSRF policy in bot.evals.urls).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from bot.evals import providers_adaline as adaline
from bot.evals import providers_anthropic as anthropic
from bot.evals import providers_answers as answers
from bot.evals import providers_ollama as ollama
from bot.evals import providers_parts as content_parts
from bot.evals import providers_wire_extra as more
from bot.evals.providers_converse import converse_request, converse_text
from bot.evals.providers_mantle import MANTLE, MANTLE_ANTHROPIC, claude_params, mantle_params
from bot.evals.providers_config import VENDORS, is_vertex_llama
from bot.evals.providers_vendors import SNOWFLAKE_PATH
from bot.evals.providers_shapes import (Messages, Parsed, WireError, checked_name, count, finish, is_chat, js_json, json_path, mapping, one_line, segment,
                                        vertex_place)
from bot.evals.http_body import request_body
from bot.evals.http_config import QUERY, query_suffix, rendered_query
from bot.evals.http_raw import RAW, raw_body
from bot.evals.http_templates import URL
from bot.evals.providers_watsonx import watsonx_parse
from bot.evals.suite import ProviderSpec

API_VERSION_AZURE = "2024-10-21"
ANTHROPIC_VERSION = "2023-06-01"
_mapping, _count, _finish = mapping, count, finish  # shared with bot.evals.providers_wire_extra
__all__ = ["Messages", "Parsed", "WireError", "checked_name", "is_chat", "one_line", "segment", "request", "parse"]


def _reported(data: dict, key: str) -> str | None:
    """A `model` or `system_fingerprint` as the provider reported it, made safe to show and store."""
    value = data.get(key)
    return one_line(value, 200) or None if isinstance(value, str) else None


def _params(spec: ProviderSpec) -> dict[str, Any]:
    return dict(spec.params)


def _pick(params: dict[str, Any], *names: str) -> Any:
    for name in names:
        if name in params:
            return params.pop(name)
    return None


# ---- requests ----------------------------------------------------------------------------------


def request(spec: ProviderSpec, messages: Messages) -> tuple[str, Any]:
    """(path under the base URL, JSON body) for one chat call; body None for a GET. The body is a JSON
    object but for a SageMaker `custom` endpoint given a chat (the message list, as promptfoo sends it)."""
    body: dict[str, Any]
    wire = _wire(spec)
    params = _params(spec)
    if spec.option("adaline"):  # promptfoo's Adaline Gateway: OpenAI-form settings in the vendor's own form
        if spec.option("adaline") == "gateway" and is_chat(messages):
            params = dict(spec.option("adaline_chat") or ())
        params = adaline.adaline_params(wire, params)
        messages = content_parts.from_gateway(spec.id, wire, messages)
    if wire in ("cohere", "huggingface", "llamacpp", "sagemaker", "replicate", "ollama"):
        content_parts.text_only(spec.id, messages)
    if wire == "cohere":
        return more.cohere_request(spec.model, params, messages)
    if wire == "huggingface":
        return more.hf_request(spec.model, spec.base_url is not None, params, messages)
    if wire == "llamacpp":
        return more.llamacpp_request(params, messages)
    if wire == "sagemaker":
        endpoint = checked_name(str(spec.option("endpoint") or spec.model), "sagemaker endpoint")
        return more.sagemaker_request(endpoint, str(spec.option("modelType")), params, messages)
    if wire == "replicate":
        try:
            return more.replicate_request(spec.model, params, messages)
        except WireError as exc:
            raise WireError(f"{spec.id}: {exc}", exc.kind) from None
    if wire == "openai":
        if spec.kind == MANTLE:
            params = mantle_params(spec.model, spec.option("api") == "responses", params)
        if spec.option("api") == "responses":
            max_out = _pick(params, "max_output_tokens", "max_tokens", "max_completion_tokens")
            if "reasoning_effort" in params:  # promptfoo's name for the responses API's reasoning.effort
                effort = params.pop("reasoning_effort")
                params.setdefault("reasoning", {"effort": effort})
            body = {"model": spec.model, "input": content_parts.listed(messages), **params}
            if max_out is not None:
                body["max_output_tokens"] = max_out
            return "/responses", body
        if spec.option("isReasoningModel") and "max_tokens" in params:  # reasoning models take max_completion_tokens
            params["max_completion_tokens"] = params.pop("max_tokens")
        extra = params.pop("passthrough", None)  # promptfoo's extra request fields, merged into the body
        body = {"model": spec.model, "messages": content_parts.listed(messages), **params}
        if isinstance(extra, dict):
            body.update(extra)
        if spec.kind == "azure":
            version = spec.option("apiVersion") or spec.option("api_version") or API_VERSION_AZURE
            deployment = spec.option("deployment_id") or spec.option("deploymentName") or spec.model
            return f"/openai/deployments/{segment(deployment, 'azure deployment')}/chat/completions?api-version={quote(version, safe='')}", body
        return (SNOWFLAKE_PATH if spec.kind == "snowflake" else "/chat/completions"), body  # Snowflake Cortex: its own path
    if wire in ("anthropic", "vertex-anthropic"):
        if wire == "anthropic" and not spec.option("adaline") and spec.kind != MANTLE_ANTHROPIC:  # promptfoo's Anthropic provider: its own body rules
            if not is_chat(messages) and isinstance(messages[0][1], str):  # a text prompt, read line by line
                text_system, text_listed, thinking = anthropic.text_prompt(messages[0][1])
                return "/v1/messages", anthropic.messages_body(spec.model, params, text_system, text_listed, thinking)
            system, listed = content_parts.anthropic_messages(spec.id, anthropic.first_system_only(messages))
            return "/v1/messages", anthropic.messages_body(spec.model, params, system, listed)
        if spec.kind == MANTLE_ANTHROPIC:
            params = claude_params(spec.model, params)
        system, listed = content_parts.anthropic_messages(spec.id, messages)
        params.pop("anthropic_version", None)
        body = {
            "model": spec.model,
            "max_tokens": _pick(params, "max_tokens") or 1024,
            "messages": listed,
            **params,
        }
        if system:
            body["system"] = system
        if wire == "anthropic":
            return "/v1/messages", body
        # Claude on Vertex: the messages API at the publisher's rawPredict, the model in the path
        del body["model"]
        body["anthropic_version"] = "vertex-2023-10-16"
        project, location = vertex_place(spec.option)
        return f"/v1/projects/{project}/locations/{location}/publishers/anthropic/models/{quote(spec.model, safe='')}:rawPredict", body
    if wire == "vertex-llama":  # Llama on Vertex (MaaS): the OpenAI-compatible endpoint, as promptfoo builds the body
        project, location = vertex_place(spec.option)
        if location != "us-central1":
            raise WireError(f"{spec.id}: Llama models are served in us-central1 only (the region is {location})")
        safety = _mapping(_mapping(params.get("llamaConfig")).get("safetySettings"))
        guard = safety.get("llama_guard_settings")
        if guard is not None and not isinstance(guard, dict):
            raise WireError(f"{spec.id}: llamaConfig.safetySettings.llama_guard_settings must be a mapping")
        body = {"model": f"meta/{spec.model}", "messages": content_parts.listed(messages),
                "max_tokens": params.get("maxOutputTokens") or 1024, "stream": False}
        for ours, theirs in (("temperature", "temperature"), ("topP", "top_p"), ("topK", "top_k")):
            if params.get(ours) is not None:
                body[theirs] = params[ours]
        body["extra_body"] = {"google": {"model_safety_settings": {"enabled": safety.get("enabled") is not False,
                                                                    "llama_guard_settings": guard or {}}}}
        return f"/v1beta1/projects/{project}/locations/{location}/endpoints/openapi/chat/completions", body
    if wire in ("gemini", "vertex"):
        generation = {}
        for ours, theirs in (("temperature", "temperature"), ("top_p", "topP"), ("topP", "topP"), ("top_k", "topK"), ("topK", "topK"),
                             ("max_tokens", "maxOutputTokens"), ("maxOutputTokens", "maxOutputTokens"), ("seed", "seed"),
                             ("stop", "stopSequences"), ("stopSequences", "stopSequences")):
            if ours in params:
                generation[theirs] = params[ours]
        if isinstance(params.get("generationConfig"), dict):
            generation.update(params["generationConfig"])
        if "responseSchema" in params:
            generation["responseSchema"] = params["responseSchema"]
        if "response_mime_type" in params:
            generation["responseMimeType"] = params["response_mime_type"]
        contents, system_texts = content_parts.gemini_contents(spec.id, messages)
        body = {"contents": contents}
        for ours, theirs in (("safetySettings", "safetySettings"), ("tools", "tools"), ("toolConfig", "toolConfig"), ("tool_config", "toolConfig")):
            if ours in params:
                body[theirs] = params[ours]
        system = "\n\n".join([*([str(spec.option("systemInstruction"))] if spec.option("systemInstruction") else []),
                                *system_texts])
        if system:
            body["systemInstruction"] = {"parts": [{"text": system}]}
        if generation:
            body["generationConfig"] = generation
        model = quote(spec.model, safe="")
        if wire == "gemini":
            return f"/v1beta/models/{model}:generateContent", body
        project, location = vertex_place(spec.option)
        return f"/v1/projects/{project}/locations/{location}/publishers/google/models/{model}:generateContent", body
    if wire == "bedrock":
        return converse_request(spec.id, spec.model, params, messages)
    if wire == "ollama" and spec.option("api") == ollama.COMPLETION:  # the generate API: the prompt's text
        return ollama.generate_request(spec.model, params, content_parts.prompt_json(messages))
    if wire == "ollama":
        return ollama.chat_request(spec.model, params, [{"role": r, "content": c} for r, c in messages])
    if wire == "http":
        pairs = (spec.call_values or {}).get(QUERY)  # made when the case was expanded; a grader's with its prompt only
        if pairs is None and spec.option("queryParams"):
            pairs = rendered_query(spec, content_parts.prompt_json(messages), {})
        query = query_suffix(str((spec.call_values or {}).get(URL) or spec.base_url or ""), pairs or [])
        if spec.option("method", "POST") == "GET":
            return query, None
        if spec.request_body is not None:  # made when the case was expanded (bot.evals.select, bot.evals.http_body)
            return query, spec.request_body
        # a grader's call (no case, so no test vars to render)
        if spec.option(RAW):
            template = spec.option("body")
            return query, None if template is None else raw_body(template, spec.option("headers"), content_parts.prompt_json(messages), {})
        return query, request_body(spec.option("body"), spec.option("headers"), content_parts.prompt_json(messages), {})
    raise WireError(f"{spec.id}: no wire format for {spec.kind}")


def _wire(spec: ProviderSpec) -> str:
    """The vendor's wire format; on Vertex, promptfoo's choice by the model's name (Claude, Gemini, then Llama)."""
    wire = VENDORS[spec.kind].wire
    if wire == "vertex" and "claude" in spec.model:
        return "vertex-anthropic"
    if wire == "vertex" and is_vertex_llama(spec.model):
        return "vertex-llama"
    return wire


# ---- answers -----------------------------------------------------------------------------------


_OPENAI_FINISH = {"stop": "stop", "length": "length", "content_filter": "content_filter", "tool_calls": "tool_calls", "function_call": "tool_calls"}
_ANTHROPIC_FINISH = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "tool_use": "tool_calls", "refusal": "content_filter"}
_GEMINI_BLOCKED = {"SAFETY", "RECITATION", "PROHIBITED_CONTENT", "BLOCKLIST", "SPII"}
_GEMINI_FINISH = {"STOP": "stop", "MAX_TOKENS": "length", "SAFETY": "content_filter", "RECITATION": "content_filter",
                  "BLOCKLIST": "content_filter", "PROHIBITED_CONTENT": "content_filter", "SPII": "content_filter"}
_BEDROCK_FINISH = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "tool_use": "tool_calls",
                   "guardrail_intervened": "content_filter", "content_filtered": "content_filter"}
_OLLAMA_FINISH = {"stop": "stop", "length": "length"}


def parse(spec: ProviderSpec, data: Any, chat: bool = False) -> Parsed:
    """The answer read back; WireError when it lacks the vendor's shape, more.Pending for a Replicate
    prediction that has not finished. `chat`: the prompt was a message list (Adaline's output depends on it)."""
    wire = _wire(spec)
    if wire == "http":
        return _parse_http(spec, data)
    if wire == "huggingface":
        try:
            return more.hf_parse(data)
        except WireError as exc:
            raise WireError(f"{spec.id}: {exc}", exc.kind) from None
    if wire == "sagemaker":
        path = spec.option("responsePath")
        return more.sagemaker_parse(str(spec.option("modelType")), json_path(path) if isinstance(path, str) else None, data)
    if not isinstance(data, dict):
        raise WireError(f"{spec.id}: unexpected answer shape (not a JSON object)")
    try:
        if wire == "cohere":
            return more.cohere_parse(data, bool(spec.option("showSearchQueries")), bool(spec.option("showDocuments")))
        if wire == "replicate":
            return more.replicate_parse(data)
        if wire == "llamacpp":
            return more.llamacpp_parse(data)
        if wire == "watsonx":
            return watsonx_parse(data)
        parsed = _parse(spec, wire, data)
        fmt = spec.option("adaline")
        if fmt:
            chat_reading = fmt == "gateway" and chat
            json_schema = not chat_reading and _mapping(dict(spec.params).get("response_format")).get("type") == "json_schema"
            return adaline.adaline_answer(wire, data, parsed, "openai" if chat_reading else fmt, json_schema)
        return parsed
    except WireError as exc:
        if str(exc).startswith(f"{spec.id}:"):
            raise
        raise WireError(f"{spec.id}: {exc}", exc.kind) from None


def _parse(spec: ProviderSpec, wire: str, data: dict) -> Parsed:
    usage = _mapping(data.get("usage"))
    if wire == "openai" and spec.option("api") == "responses":
        if not isinstance(data.get("output"), list) or not data["output"]:
            raise WireError(f"{spec.id}: response has no output items")
        out = answers.responses_output(data["output"], dict(spec.params))
        details = _mapping(data.get("incomplete_details"))
        finish = "length" if details.get("reason") == "max_output_tokens" else "content_filter" if details.get("reason") == "content_filter" else (
            "stop" if data.get("status") == "completed" else None)
        return Parsed(out.text, _count(usage.get("input_tokens")), _count(usage.get("output_tokens")), finish, structured=out.structured)
    if wire == "vertex-llama":  # promptfoo reads the first choice's text; none is an error
        choice = _mapping((data.get("choices") or [None])[0]) if isinstance(data.get("choices"), list) else {}
        text = _mapping(choice.get("message")).get("content")
        if not isinstance(text, str) or not text:
            raise WireError(f"{spec.id}: no output in the Llama answer (choices[0].message.content)")
        return Parsed(text, _count(usage.get("prompt_tokens")), _count(usage.get("completion_tokens")),
                      _finish(choice.get("finish_reason"), _OPENAI_FINISH), _reported(data, "model"))
    if wire == "openai":
        try:
            choice = data["choices"][0]
            message = choice["message"]
            content = message["content"]
        except (KeyError, IndexError, TypeError):
            raise WireError(f"{spec.id}: response has no choices[0].message.content") from None
        if content is not None and not isinstance(content, str):
            raise WireError(f"{spec.id}: choices[0].message.content is not text")
        finish = _finish(choice.get("finish_reason"), _OPENAI_FINISH)
        out = answers.chat_output(spec.kind, message, finish, dict(spec.params), spec.option("showThinking") is not False)
        return Parsed(out.text, _count(usage.get("prompt_tokens")), _count(usage.get("completion_tokens")), finish,
                      _reported(data, "model"), _reported(data, "system_fingerprint"), out.structured,
                      None if spec.kind == "mistral" else answers.token_logprobs(choice))
    if wire in ("anthropic", "vertex-anthropic"):
        blocks = data.get("content")
        if not isinstance(blocks, list):
            raise WireError(f"{spec.id}: response has no content blocks")
        text = _claude_text([b for b in blocks if isinstance(b, dict)], spec.option("showThinking") is not False)
        out = answers.parsed_json(text) if anthropic.json_answer(dict(spec.params)) else answers.Output(text)  # structured outputs
        return Parsed(out.text, _count(usage.get("input_tokens")), _count(usage.get("output_tokens")),
                      _finish(data.get("stop_reason"), _ANTHROPIC_FINISH), _reported(data, "model"), structured=out.structured)
    if wire in ("gemini", "vertex"):
        try:
            candidate = data["candidates"][0]
        except (KeyError, IndexError, TypeError):
            raise WireError(f"{spec.id}: response has no candidates[0]") from None
        if not isinstance(candidate, dict):
            raise WireError(f"{spec.id}: candidates[0] is not an object")
        if candidate.get("finishReason") in _GEMINI_BLOCKED:  # promptfoo: an error, not an answer
            raise WireError(f"{spec.id}: the answer was blocked (finish reason {candidate['finishReason']})")
        parts = _mapping(candidate.get("content")).get("parts")
        if not isinstance(parts, list):
            raise WireError(f"{spec.id}: no output in the answer (candidates[0].content.parts)")
        # promptfoo joins the text of every part, thought summaries included; an answer with a part that is not
        # text (a functionCall) is the parts themselves
        text = "".join(str(p["text"]) for p in parts if isinstance(p, dict) and "text" in p)
        structured = any(not (isinstance(p, dict) and "text" in p) for p in parts)
        if structured:
            text = js_json(parts)
        meta = _mapping(data.get("usageMetadata"))
        return Parsed(text, _count(meta.get("promptTokenCount")), _count(meta.get("candidatesTokenCount")),
                      _finish(candidate.get("finishReason"), _GEMINI_FINISH), structured=structured)
    if wire == "bedrock":
        config = _params(spec)  # a `none` tool choice turns tools off: then tool uses are read as any other block
        tools_off = next((config[n] for n in ("tool_choice", "toolChoice") if config.get(n) is not None), None) == "none"
        try:
            text = converse_text(data, spec.option("showThinking") is not False, tools_off)
        except WireError as exc:
            raise WireError(f"{spec.id}: {exc}") from None
        return Parsed(text, _count(usage.get("inputTokens")), _count(usage.get("outputTokens")), _finish(data.get("stopReason"), _BEDROCK_FINISH))
    if wire == "ollama" and spec.option("api") == ollama.COMPLETION:
        return ollama.generate_parse(data)
    if wire == "ollama":
        message = data.get("message")
        if not isinstance(message, dict) or not isinstance(message.get("content"), str):
            raise WireError(f"{spec.id}: response has no message.content")
        content, text, structured = message["content"], message["content"], False
        calls = message.get("tool_calls")
        if isinstance(calls, list) and calls:  # promptfoo: the calls (arguments as JSON text), beside any text
            listed = [{"function": {"name": _mapping(_mapping(c).get("function")).get("name"),
                                    "arguments": args if isinstance(args := _mapping(_mapping(c).get("function")).get("arguments"), str)
                                    else js_json(args)}} for c in calls]
            text, structured = js_json({"content": content, "tool_calls": listed} if content.strip() else listed), True
        return Parsed(text, _count(data.get("prompt_eval_count")), _count(data.get("eval_count")),
                      _finish(data.get("done_reason"), _OLLAMA_FINISH), structured=structured)
    raise WireError(f"{spec.id}: no wire format for {spec.kind}")


def _claude_text(blocks: list[dict], show_thinking: bool) -> str:
    """Claude's answer as promptfoo's text of it: the text blocks joined by a blank line; with a tool use or
    thinking, each other block as its JSON and thinking as "Thinking: …" (unless showThinking is false)."""
    if not any(b.get("type") in ("tool_use", "thinking", "redacted_thinking") for b in blocks):
        return "\n\n".join(b["text"] if isinstance(b.get("text"), str) else "" for b in blocks)
    parts = []
    for b in blocks:
        kind = b.get("type")
        if kind == "text":
            parts.append(b.get("text") if isinstance(b.get("text"), str) else "")
        elif kind == "thinking":
            if show_thinking and str(b.get("thinking") or "").strip():
                parts.append(f"Thinking: {b.get('thinking')}\nSignature: {b.get('signature', 'undefined')}")
        elif kind == "redacted_thinking":
            if show_thinking:
                parts.append(f"Redacted Thinking: {b.get('data', 'undefined')}")
        else:
            parts.append(js_json(b))
    return "\n\n".join(p for p in parts if p)


def _parse_http(spec: ProviderSpec, data: Any) -> Parsed:
    """An http provider's answer: the value at transformResponse's path, else the whole answer. With a
    JavaScript transformResponse, the whole answer (a JSON answer as its JSON, marked structured) for
    bot.evals.provider_output to run it on."""
    if spec.response_transform is not None:
        return Parsed(data) if isinstance(data, str) else Parsed(json.dumps(data, ensure_ascii=False), structured=True)
    path = spec.option("transformResponse")
    value = data
    if isinstance(path, str):
        for step in json_path(path) or ():
            try:
                value = value[step]
            except (KeyError, IndexError, TypeError):
                raise WireError(f"{spec.id}: the answer has nothing at {path}") from None
    if isinstance(value, str):
        return Parsed(value)
    return Parsed(js_json(value))
