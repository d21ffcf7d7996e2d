"""Wire formats beyond bot.evals.providers_wire: Cohere's chat API (v1, as promptfoo calls it),
Replicate's predictions API, and promptfoo's Adaline Gateway provider — which is not a service but a
client library inside promptfoo that calls the vendor's own API with the vendor's credentials, so
`adaline:VENDOR:chat:MODEL` is our own provider for that vendor with Adaline's config names and
output shapes (translated here).
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote

from bot.core.errors import CheckError
from bot.evals.providers_shapes import Messages, Parsed, WireError, count, finish, mapping, segment

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


def is_chat(messages: Messages) -> bool:
    """A prompt that promptfoo hands the provider as a JSON message list (not one user text)."""
    return not (len(messages) == 1 and messages[0][0] == "user")


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
                calls.append((str(b.get("id", "")), str(b.get("name", "")), json.dumps(b.get("input", {}), ensure_ascii=False)))
        return "".join(b["text"] for b in blocks if b.get("type") == "text" and isinstance(b.get("text"), str)), calls
    if wire in ("gemini", "vertex"):
        candidate = mapping((data.get("candidates") or [{}])[0]) if isinstance(data.get("candidates"), list) else {}
        parts = [p for p in mapping(candidate.get("content")).get("parts") or [] if isinstance(p, dict)]
        for i, p in enumerate(parts):
            if isinstance(p.get("functionCall"), dict):
                fc = p["functionCall"]
                calls.append((str(fc.get("id") or i), str(fc.get("name", "")), json.dumps(fc.get("args", {}), ensure_ascii=False)))
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
            return Parsed(json.dumps(value, ensure_ascii=False), parsed.tokens_in, parsed.tokens_out, parsed.finish_reason,
                          parsed.model, parsed.system_fingerprint, structured=True)
        return Parsed(text, parsed.tokens_in, parsed.tokens_out, parsed.finish_reason, parsed.model, parsed.system_fingerprint)
    output: Any
    if fmt == "openai":
        tool_calls = [{"id": i, "type": "function", "function": {"name": n, "arguments": a}} for i, n, a in calls]
        output = {"content": text, "tool_calls": tool_calls} if text else tool_calls
    else:
        output = ([{"modality": "text", "value": text}] if text else []) + [
            {"modality": "tool-call", "index": k, "id": i, "name": n, "arguments": a} for k, (i, n, a) in enumerate(calls)]
    return Parsed(json.dumps(output, ensure_ascii=False), parsed.tokens_in, parsed.tokens_out, "tool_calls",
                  parsed.model, parsed.system_fingerprint, structured=True)


# ---- Cohere (chat API v1, as promptfoo's cohere provider calls it) -------------------------------

# promptfoo's request defaults for cohere:MODEL (they change the answer: Cohere's own defaults differ)
COHERE_DEFAULTS = {"prompt_truncation": "OFF", "search_queries_only": False, "temperature": 0.3, "k": 0, "p": 0.75,
                   "frequency_penalty": 0, "presence_penalty": 0}
_COHERE_ROLES = {"user": "USER", "assistant": "CHATBOT", "system": "SYSTEM"}
_COHERE_FINISH = {"COMPLETE": "stop", "MAX_TOKENS": "length", "ERROR_TOXIC": "content_filter", "STOP_SEQUENCE": "stop",
                  "TOOL_CALL": "tool_calls"}


def cohere_request(model: str, params: dict[str, Any], messages: Messages) -> tuple[str, dict[str, Any]]:
    """The v1 chat body: the last user message is `message`, the turns before it `chat_history`, system
    messages the `preamble` (unless the config sets one)."""
    params = {**COHERE_DEFAULTS, **params}
    if "max_tokens" in params and not isinstance(params["max_tokens"], int):
        raise WireError("cohere: max_tokens must be a whole number", CheckError.OTHER)
    if "stop" in params:
        params.setdefault("stop_sequences", params.pop("stop"))
    if "top_p" in params:
        params.setdefault("p", params.pop("top_p"))
    if "top_k" in params:
        params.setdefault("k", params.pop("top_k"))
    history = params.pop("chatHistory", None)
    turns = [(r, c) for r, c in messages if r != "system"]
    system = "\n\n".join(c for r, c in messages if r == "system")
    last = turns[-1][1] if turns and turns[-1][0] == "user" else ""
    earlier = turns[:-1] if turns and turns[-1][0] == "user" else turns
    body: dict[str, Any] = {"message": last, **params, "model": model}
    if earlier or "chat_history" not in body:
        body["chat_history"] = [*(history if isinstance(history, list) else body.get("chat_history") or []),
                                *({"role": _COHERE_ROLES[r], "message": c} for r, c in earlier)]
    if system and "preamble" not in body and "preamble_override" not in body:
        body["preamble"] = system
    return "/v1/chat", body


def cohere_parse(data: dict[str, Any], show_search_queries: bool, show_documents: bool) -> Parsed:
    text = data.get("text")
    if not isinstance(text, str):
        message = data.get("message")
        if isinstance(message, str):  # an error reported in a 200 answer
            raise WireError(f"cohere: {message[:200]}", CheckError.OTHER)
        raise WireError("response has no text")
    if show_search_queries and isinstance(data.get("search_queries"), list):
        text += "\n\nSearch Queries:\n" + "\n".join(str(mapping(q).get("text", "")) for q in data["search_queries"])
    if show_documents and isinstance(data.get("documents"), list):
        text += "\n\nDocuments:\n" + "\n".join(json.dumps(d, ensure_ascii=False) for d in data["documents"])
    meta = mapping(data.get("meta"))
    units = mapping(meta.get("billed_units")) or mapping(meta.get("tokens"))
    tokens = mapping(data.get("token_count"))
    return Parsed(text, count(units.get("input_tokens")) or count(tokens.get("prompt_tokens")),
                  count(units.get("output_tokens")) or count(tokens.get("response_tokens")),
                  finish(data.get("finish_reason"), _COHERE_FINISH))


# ---- Replicate (predictions API) ------------------------------------------------------------------

_REPLICATE_MODEL = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}/[a-z0-9][a-z0-9._-]{0,99}(?::[0-9a-f]{64})?$", re.IGNORECASE)
_PREDICTION_ID = re.compile(r"^[a-z0-9]{1,64}$")
REPLICATE_PENDING = ("starting", "processing")


class Pending(Exception):
    """A prediction that has not finished: poll `path` (GET) until it has."""

    def __init__(self, path: str):
        super().__init__(path)
        self.path = path


def replicate_model_ok(model: str) -> bool:
    return bool(_REPLICATE_MODEL.match(model))


def replicate_request(model: str, params: dict[str, Any], messages: Messages) -> tuple[str, dict[str, Any]]:
    """promptfoo's input: every config key as written, then the prompt (its first user message, with the
    config's prompt prefix/suffix) and the system prompt (its first system message, else system_prompt)."""
    if not replicate_model_ok(model):
        raise WireError(f"replicate model {model[:80]!r} is not OWNER/NAME or OWNER/NAME:VERSION", CheckError.URL_REFUSED)
    affix = mapping(params.get("prompt"))
    prefix, suffix = str(affix.get("prefix") or ""), str(affix.get("suffix") or "")
    chat = not (len(messages) == 1 and messages[0][0] == "user")
    prompt = json.dumps([{"role": r, "content": c} for r, c in messages], ensure_ascii=False) if chat else messages[0][1]
    system = params.get("system_prompt")
    if prefix or suffix:  # promptfoo wraps the prompt first: a chat prompt is then sent as that text
        prompt = prefix + prompt + suffix
    elif chat:
        system = next((c for r, c in messages if r == "system"), None) or system
        prompt = next((c for r, c in messages if r == "user"), prompt)
    inputs = {**params, "prompt": prompt, **({"system_prompt": system} if system else {})}
    owner_name, _, version = model.partition(":")
    if version:
        return "/predictions", {"version": version, "input": inputs}
    owner, name = owner_name.split("/")
    return f"/models/{segment(owner)}/{segment(name)}/predictions", {"input": inputs}


def replicate_parse(data: dict[str, Any]) -> Parsed:
    status = data.get("status")
    if status in REPLICATE_PENDING:
        ident = data.get("id")
        if not isinstance(ident, str) or not _PREDICTION_ID.match(ident):
            raise WireError("replicate: a pending prediction without a valid id")
        raise Pending(f"/predictions/{ident}")
    if status != "succeeded":
        error = data.get("error")
        why = error[:200] if isinstance(error, str) and error else f"status {str(status)[:40]}"
        raise WireError(f"replicate: the prediction did not succeed ({why})", CheckError.OTHER)
    output = data.get("output")
    if isinstance(output, list) and all(isinstance(x, str) for x in output):
        output = "".join(output)
    if not isinstance(output, str):
        raise WireError("replicate: the output is not text (promptfoo reads text, or a list of text pieces)")
    metrics = mapping(data.get("metrics"))
    return Parsed(output, count(metrics.get("input_token_count")), count(metrics.get("output_token_count")), "stop")


# ---- Amazon SageMaker (InvokeEndpoint, as promptfoo's sagemaker provider formats it) --------------

SAGEMAKER_TYPES = ("openai", "llama", "huggingface", "jumpstart", "custom")
# promptfoo's defaults when the config leaves them unset (AWS_SAGEMAKER_* variables aside)
SAGEMAKER_DEFAULTS = {"maxTokens": 1024, "temperature": 0.7, "topP": 1.0}
MIME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,63}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,63}$")


def sagemaker_request(endpoint: str, model_type: str, params: dict[str, Any], messages: Messages) -> tuple[str, Any]:
    """The endpoint's path and payload for its model type: OpenAI-style messages (or a prompt), TGI-style
    `inputs` + `parameters` (llama, huggingface, jumpstart), or the prompt as it is (custom)."""
    max_tokens = params.get("maxTokens", SAGEMAKER_DEFAULTS["maxTokens"])
    temperature = params.get("temperature", SAGEMAKER_DEFAULTS["temperature"])
    top_p = params.get("topP", SAGEMAKER_DEFAULTS["topP"])
    stop = params.get("stopSequences") or None
    chat = not (len(messages) == 1 and messages[0][0] == "user")
    listed = [{"role": r, "content": c} for r, c in messages]
    prompt = json.dumps(listed, ensure_ascii=False) if chat else messages[0][1]
    payload: Any
    if model_type == "openai":
        payload = {"messages": listed} if chat else {"prompt": prompt}
        payload.update({"max_tokens": max_tokens, "temperature": temperature, "top_p": top_p})
        if stop:
            payload["stop"] = stop
    elif model_type == "llama":
        payload = {"inputs": listed if chat else prompt,
                   "parameters": {"max_new_tokens": max_tokens, "temperature": temperature, "top_p": top_p, **({"stop": stop} if stop else {})}}
    elif model_type in ("jumpstart", "huggingface"):
        parameters: dict[str, Any] = {"max_new_tokens": max_tokens, "temperature": temperature, "top_p": top_p,
                                      "do_sample": isinstance(temperature, (int, float)) and temperature > 0}
        if model_type == "huggingface":
            parameters["return_full_text"] = False
        payload = {"inputs": prompt, "parameters": parameters}
    else:
        payload = listed if chat else {"prompt": prompt}
    return f"/endpoints/{segment(endpoint, 'sagemaker endpoint')}/invocations", payload


def sagemaker_parse(model_type: str, path: tuple[str | int, ...] | None, data: Any) -> Parsed:
    """The output as promptfoo reads it: the value at responseFormat.path when it is there, else the
    first of the model type's usual fields, else the whole answer; text, or the JSON of anything else."""
    value: Any = data
    found = False
    if path:
        found = True
        for step in path:
            try:
                value = value[step]
            except (KeyError, IndexError, TypeError):
                value, found = data, False
                break
    if not found and isinstance(data, dict) and data.get("generated_text"):
        value = data["generated_text"]
    elif not found and isinstance(data, (dict, list)):
        first = mapping(data[0]) if isinstance(data, list) and data else {}
        choice = mapping((data.get("choices") or [{}])[0]) if isinstance(data, dict) and isinstance(data.get("choices"), list) else {}
        chat_text = mapping(choice.get("message")).get("content") or choice.get("text")
        d = mapping(data)
        candidates = {
            "openai": [chat_text, d.get("generation")],
            "llama": [d.get("generation"), chat_text],
            "huggingface": [first.get("generated_text"), data[0] if isinstance(data, list) and data else None],
            "jumpstart": [],
            "custom": [d.get("output"), d.get("generation"), d.get("response"), d.get("text"), chat_text],
        }[model_type]
        value = next((c for c in candidates if c), data)
    if isinstance(value, str):
        return Parsed(value)
    return Parsed(json.dumps(value, ensure_ascii=False), structured=isinstance(value, (dict, list)))


# ---- Hugging Face text generation (Inference API / an Inference Endpoint) ---------------------------

HF_PARAMETERS = {"top_k", "top_p", "temperature", "repetition_penalty", "max_new_tokens", "max_time", "return_full_text",
                 "num_return_sequences", "do_sample", "use_cache", "wait_for_model"}


def hf_request(model: str, own_endpoint: bool, params: dict[str, Any], messages: Messages) -> tuple[str, dict[str, Any]]:
    """promptfoo's body: the prompt as `inputs`, its known settings as `parameters` (return_full_text false
    unless set); the model's path under the operator's base, or the suite's endpoint as it is."""
    prompt = messages[0][1] if len(messages) == 1 and messages[0][0] == "user" else json.dumps(
        [{"role": r, "content": c} for r, c in messages], ensure_ascii=False)
    parameters = {"return_full_text": False, **{k: v for k, v in params.items() if k in HF_PARAMETERS}}
    return ("" if own_endpoint else "/" + "/".join(segment(p) for p in model.split("/"))), {"inputs": prompt, "parameters": parameters}


def hf_parse(data: Any) -> Parsed:
    if isinstance(data, dict) and data.get("error"):
        raise WireError(f"huggingface: {str(data['error'])[:200]}", CheckError.OTHER)
    first = mapping(data[0]) if isinstance(data, list) and data else {}
    text = mapping(data).get("generated_text") or first.get("generated_text")
    if not isinstance(text, str):
        raise WireError("response has no generated_text")
    return Parsed(text)


# ---- llama.cpp server (/completion) ---------------------------------------------------------------

LLAMACPP_PARAMS = {"n_predict", "temperature", "top_k", "top_p", "n_keep", "stop", "repeat_penalty", "repeat_last_n", "penalize_nl",
                   "presence_penalty", "frequency_penalty", "mirostat", "mirostat_tau", "mirostat_eta", "seed", "ignore_eos", "logit_bias"}


def llamacpp_request(params: dict[str, Any], messages: Messages) -> tuple[str, dict[str, Any]]:
    prompt = messages[0][1] if len(messages) == 1 and messages[0][0] == "user" else json.dumps(
        [{"role": r, "content": c} for r, c in messages], ensure_ascii=False)
    return "/completion", {"prompt": prompt, "n_predict": params.get("n_predict") or 512,
                           **{k: v for k, v in params.items() if k in LLAMACPP_PARAMS and k != "n_predict"}}


def llamacpp_parse(data: dict[str, Any]) -> Parsed:
    if not isinstance(data.get("content"), str):
        raise WireError("response has no content")
    stop = "length" if data.get("stopped_limit") else "stop" if data.get("stopped_eos") or data.get("stopped_word") else None
    return Parsed(data["content"], count(data.get("tokens_evaluated")), count(data.get("tokens_predicted")), stop)
