"""Wire formats beyond bot.evals.providers_wire, each as promptfoo's provider speaks it: Cohere's chat
API (v1), Replicate's predictions API, SageMaker's InvokeEndpoint payloads, Hugging Face text
generation and a llama.cpp server's /completion. (The Adaline Gateway is bot.evals.providers_adaline.)
"""

from __future__ import annotations

import json
import re
from typing import Any

from bot.core import safejson
from bot.core.errors import CheckError
from bot.evals.providers_shapes import Messages, Parsed, WireError, count, finish, js_json, mapping, one_line, segment

# ---- Cohere (chat API v1, as promptfoo's cohere provider calls it) -------------------------------

# promptfoo's request defaults for cohere:MODEL (they change the answer: Cohere's own defaults differ)
COHERE_DEFAULTS = {"prompt_truncation": "OFF", "search_queries_only": False, "temperature": 0.3, "k": 0, "p": 0.75,
                   "frequency_penalty": 0, "presence_penalty": 0}
_COHERE_ROLES = {"user": "USER", "assistant": "CHATBOT", "system": "SYSTEM"}
_COHERE_FINISH = {"COMPLETE": "stop", "MAX_TOKENS": "length", "ERROR_TOXIC": "content_filter", "STOP_SEQUENCE": "stop",
                  "TOOL_CALL": "tool_calls"}


# models promptfoo sends to Cohere's chat API v2 (messages in, message.content out); every other model: v1
COHERE_V2_MODELS = {"command-a-plus-05-2026", "north-mini-code-1-0"}
_COHERE_V2_FIELDS = {"tools", "response_format", "safety_mode", "max_tokens", "stop_sequences", "temperature", "seed",
                     "frequency_penalty", "presence_penalty", "k", "p", "logprobs", "tool_choice", "thinking", "priority",
                     "strict_tools", "documents", "citation_options"}
_V1_ONLY = {"connectors": "connectors", "search_queries_only": "search_queries_only", "prompt_truncation": "prompt_truncation"}


def cohere_request(model: str, params: dict[str, Any], messages: Messages) -> tuple[str, dict[str, Any]]:
    """The v1 chat body: the last user message is `message`, the turns before it `chat_history`, system
    messages the `preamble` (unless the config sets one). For the v2 models, the messages themselves."""
    if model in COHERE_V2_MODELS:
        return _cohere_v2(model, params, messages)
    params = {**COHERE_DEFAULTS, **params}
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


def _cohere_v2(model: str, params: dict[str, Any], messages: Messages) -> tuple[str, dict[str, Any]]:
    for key, name in _V1_ONLY.items():
        if params.get(key) and params.get(key) != "OFF":
            raise WireError(f"cohere: the v2 chat API of {model} has no {name} (use a v2 tool definition)", CheckError.OTHER)
    params = {**{k: v for k, v in COHERE_DEFAULTS.items() if k in _COHERE_V2_FIELDS}, **params}
    if "stop" in params:
        params.setdefault("stop_sequences", params.pop("stop"))
    listed = [{"role": r, "content": c} for r, c in messages]
    preamble = params.get("preamble") or params.get("preamble_override")
    history = params.get("chat_history") or params.get("chatHistory") or []
    head = ([{"role": "system", "content": preamble}] if isinstance(preamble, str) and preamble else []) + [
        {"role": "assistant" if str(mapping(m).get("role", "")).lower() == "chatbot" else str(mapping(m).get("role", "user")).lower(),
         "content": mapping(m).get("message", "")} for m in history if isinstance(history, list)]
    body = {k: v for k, v in params.items() if k in _COHERE_V2_FIELDS}
    return "/v2/chat", {**body, "model": model, "messages": head + listed}


def cohere_parse(data: dict[str, Any], show_search_queries: bool, show_documents: bool) -> Parsed:
    if isinstance(data.get("message"), dict):  # the v2 answer
        return _cohere_v2_parse(data)
    text = data.get("text")
    if not isinstance(text, str):
        message = data.get("message")
        if isinstance(message, str):  # an error reported in a 200 answer
            raise WireError(f"cohere: {one_line(message)}", CheckError.OTHER)
        raise WireError("response has no text")
    if show_search_queries and isinstance(data.get("search_queries"), list):
        text += "\n\nSearch Queries:\n" + "\n".join(str(mapping(q).get("text", "")) for q in data["search_queries"])
    if show_documents and isinstance(data.get("documents"), list):
        text += "\n\nDocuments:\n" + "\n".join(js_json(d) for d in data["documents"])
    meta = mapping(data.get("meta"))
    units = mapping(meta.get("billed_units")) or mapping(meta.get("tokens"))
    tokens = mapping(data.get("token_count"))
    return Parsed(text, count(units.get("input_tokens")) or count(tokens.get("prompt_tokens")),
                  count(units.get("output_tokens")) or count(tokens.get("response_tokens")),
                  finish(data.get("finish_reason"), _COHERE_FINISH))


def _cohere_v2_parse(data: dict[str, Any]) -> Parsed:
    message = data["message"]
    content = message.get("content")
    text = content if isinstance(content, str) else "".join(
        p if isinstance(p, str) else str(mapping(p).get("text", "")) for p in content or [] if isinstance(p, (str, dict)))
    calls = message.get("tool_calls") if isinstance(message.get("tool_calls"), list) and message.get("tool_calls") else None
    reason = finish(data.get("finish_reason"), {**_COHERE_FINISH, "ERROR": "error", "TIMEOUT": "timeout"})
    if reason in ("error", "timeout"):  # a failed generation reported with HTTP 200 (promptfoo: an error)
        raise WireError(f"cohere: generation failed with finish_reason {one_line(str(data.get('finish_reason')), 40)}", CheckError.OTHER)
    usage = mapping(data.get("usage"))
    units = mapping(usage.get("tokens")) or mapping(usage.get("billed_units"))
    tokens = (count(units.get("input_tokens")), count(units.get("output_tokens")))
    if calls:  # promptfoo's output: the tool calls, or the message with its text when it has both
        output = {**message, "content": text} if text else calls
        return Parsed(js_json(output), *tokens, "tool_calls", structured=True)
    if not text:
        raise WireError("cohere: the v2 answer has no text content")
    return Parsed(text, *tokens, reason)


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
        why = one_line(error) if isinstance(error, str) and error else f"status {one_line(str(status), 40)}"
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
    # promptfoo formats the prompt string it was given (a chat prompt is its JSON; a prompt transform's result is
    # text): openai and llama read a JSON list as messages, custom sends a JSON value as the payload itself
    parsed = _json_value(prompt)
    payload: Any
    if model_type == "openai":
        payload = {"messages": parsed} if isinstance(parsed, list) else {"prompt": prompt}
        payload.update({"max_tokens": max_tokens, "temperature": temperature, "top_p": top_p})
        if stop:
            payload["stop"] = stop
    elif model_type == "llama":
        payload = {"inputs": parsed if isinstance(parsed, list) else prompt,
                   "parameters": {"max_new_tokens": max_tokens, "temperature": temperature, "top_p": top_p, **({"stop": stop} if stop else {})}}
    elif model_type in ("jumpstart", "huggingface"):
        parameters: dict[str, Any] = {"max_new_tokens": max_tokens, "temperature": temperature, "top_p": top_p,
                                      "do_sample": isinstance(temperature, (int, float)) and temperature > 0}
        if model_type == "huggingface":
            parameters["return_full_text"] = False
        payload = {"inputs": prompt, "parameters": parameters}
    else:
        payload = parsed if parsed is not None else {"prompt": prompt}
    return f"/endpoints/{segment(endpoint, 'sagemaker endpoint')}/invocations", payload


def _json_value(text: Any) -> Any:
    """`text` parsed as JSON (depth-bounded), or None when it is not JSON text (JSON's own null counts as none)."""
    if not isinstance(text, str):
        return None
    try:
        return safejson.loads(text)
    except ValueError:
        return None


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
    return Parsed(js_json(value), structured=isinstance(value, (dict, list)))


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
        raise WireError(f"huggingface: {one_line(str(data['error']))}", CheckError.OTHER)
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
