"""Request and response shapes of the OpenAI chat-completions and Anthropic messages APIs.

Kept close to the real wire formats so provider code tested against the scripted server
behaves the same against api.openai.com / api.anthropic.com.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import uuid
from typing import Any, Literal

from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.modelserver.tools import ToolCall

_TOKEN = re.compile(r"\w+|[^\w\s]")

Api = Literal["openai", "anthropic"]


class OpenAIMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[dict[str, Any]] | None = None


class ChatCompletionRequest(BaseModel):
    model_config = ConfigDict(extra="allow")  # the real API has dozens of optional knobs; ignore the rest
    model: str = Field(min_length=1)
    messages: list[OpenAIMessage] = Field(min_length=1)
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, ge=0, le=1)
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    n: int = Field(1, ge=1, le=8)
    seed: int | None = None
    stream: bool = False
    tools: list[Any] | None = None
    tool_choice: str | dict[str, Any] | None = None


class AnthropicMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["user", "assistant"]
    content: str | list[dict[str, Any]]


class MessagesRequest(BaseModel):
    model_config = ConfigDict(extra="allow")
    model: str = Field(min_length=1)
    max_tokens: int = Field(ge=1)
    messages: list[AnthropicMessage] = Field(min_length=1)
    system: str | list[dict[str, Any]] | None = None
    temperature: float | None = Field(None, ge=0, le=1)
    top_p: float | None = Field(None, ge=0, le=1)
    stream: bool = False
    tools: list[Any] | None = None
    tool_choice: dict[str, Any] | None = None


def count_tokens(text: str) -> int:
    """A rough tokenizer (words and punctuation); real APIs report BPE counts, tests only need consistency."""
    return len(_TOKEN.findall(text))


def truncate(text: str, max_tokens: int | None) -> tuple[str, bool]:
    """Cut `text` after `max_tokens` tokens; returns (text, was_truncated)."""
    if max_tokens is None:
        return text, False
    tokens = list(_TOKEN.finditer(text))
    if len(tokens) <= max_tokens:
        return text, False
    return text[: tokens[max_tokens - 1].end()], True


def chat_completion(model: str, texts: list[str], truncated: bool, prompt_tokens: int) -> dict[str, Any]:
    completion_tokens = sum(count_tokens(t) for t in texts)
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:29]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": "fp_scripted",
        "choices": [
            {
                "index": i,
                "message": {"role": "assistant", "content": text, "refusal": None},
                "logprobs": None,
                "finish_reason": "length" if truncated else "stop",
            }
            for i, text in enumerate(texts)
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


_LOGPROB_TOKEN = re.compile(r"\s*(?:\w+|[^\w\s])|\s+$")


def token_logprobs(text: str, top: int | None) -> dict[str, Any]:
    """OpenAI's `choices[].logprobs` for an answer when the request set `logprobs: true`: one entry per token
    (a word or a punctuation mark with the whitespace before it, so the tokens spell the text), each with a
    log-probability that is a pure function of the token (-0.05 to -2.5: a longer answer of rarer words has a
    higher perplexity) and `top_logprobs` entries (the token itself first) when `top_logprobs` asks for them."""
    content = []
    for m in _LOGPROB_TOKEN.finditer(text):
        token = m.group(0)
        logprob = -(1 + hashlib.sha256(token.encode()).digest()[0] % 50) / 20
        entry: dict[str, Any] = {"token": token, "logprob": logprob, "bytes": list(token.encode())}
        entry["top_logprobs"] = [{"token": token, "logprob": logprob, "bytes": list(token.encode())}][: top or 0]
        content.append(entry)
    return {"content": content, "refusal": None}


def tool_call_completion(model: str, calls: list[ToolCall], n: int, prompt_tokens: int) -> dict[str, Any]:
    """A chat completion whose message calls tools: content null, finish_reason tool_calls."""
    tool_calls = [{"id": c.call_id("call_", i), "type": "function", "function": {"name": c.name, "arguments": c.arguments_json}}
                  for i, c in enumerate(calls)]
    completion_tokens = sum(count_tokens(c.name) + count_tokens(c.arguments_json) for c in calls)
    body = chat_completion(model, [""] * n, False, prompt_tokens)
    for choice in body["choices"]:
        choice["message"] = {"role": "assistant", "content": None, "tool_calls": tool_calls, "refusal": None}
        choice["finish_reason"] = "tool_calls"
    body["usage"] = {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens * n,
                     "total_tokens": prompt_tokens + completion_tokens * n}
    return body


def anthropic_tool_use(model: str, calls: list[ToolCall], input_tokens: int) -> dict[str, Any]:
    """A Claude message that uses tools: one tool_use block per call, stop_reason tool_use."""
    body = anthropic_message(model, "", False, input_tokens)
    body["content"] = [{"type": "tool_use", "id": c.call_id("toolu_", i), "name": c.name, "input": dict(c.arguments)}
                       for i, c in enumerate(calls)]
    body["stop_reason"] = "tool_use"
    body["usage"]["output_tokens"] = sum(count_tokens(c.name) + count_tokens(c.arguments_json) for c in calls)
    return body


def anthropic_message(model: str, text: str, truncated: bool, input_tokens: int) -> dict[str, Any]:
    return {
        "id": f"msg_{uuid.uuid4().hex[:24]}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": text}],
        "stop_reason": "max_tokens" if truncated else "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": input_tokens, "output_tokens": count_tokens(text)},
    }


def anthropic_events(message: dict[str, Any]) -> str:
    """A Claude message as the messages API streams it (server-sent events): message_start, each content block
    (text as a text delta, a tool use's input as one JSON delta), message_delta with the stop reason, message_stop."""
    def event(kind: str, data: dict[str, Any]) -> str:
        return f"event: {kind}\ndata: {json.dumps({'type': kind, **data})}\n\n"

    usage = message["usage"]
    start = {**message, "content": [], "stop_reason": None, "usage": {**usage, "output_tokens": 0}}
    out = [event("message_start", {"message": start})]
    for i, block in enumerate(message["content"]):
        if block["type"] == "tool_use":
            out.append(event("content_block_start", {"index": i, "content_block": {**block, "input": {}}}))
            delta = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
        else:
            out.append(event("content_block_start", {"index": i, "content_block": {"type": "text", "text": ""}}))
            delta = {"type": "text_delta", "text": block["text"]}
        out += [event("content_block_delta", {"index": i, "delta": delta}), event("content_block_stop", {"index": i})]
    out.append(event("message_delta", {"delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
                                       "usage": {"output_tokens": usage["output_tokens"]}}))
    out.append(event("message_stop", {}))
    return "".join(out)


# (openai error type, openai code, anthropic error type) per HTTP status, as the real APIs send them.
_ERROR_KINDS: dict[int, tuple[str, str | None, str]] = {
    400: ("invalid_request_error", None, "invalid_request_error"),
    401: ("invalid_request_error", "invalid_api_key", "authentication_error"),
    403: ("invalid_request_error", "unsupported_country_region_territory", "permission_error"),
    404: ("invalid_request_error", "model_not_found", "not_found_error"),
    413: ("invalid_request_error", None, "request_too_large"),
    429: ("requests", "rate_limit_exceeded", "rate_limit_error"),
    500: ("server_error", None, "api_error"),
    502: ("server_error", None, "api_error"),
    503: ("server_error", None, "api_error"),
    529: ("server_error", None, "overloaded_error"),
}
_DEFAULT_MESSAGES = {
    401: "Incorrect API key provided.",
    429: "Rate limit reached for requests. Please try again later.",
    500: "The server had an error while processing your request. Sorry about that!",
    503: "The engine is currently overloaded, please try again later.",
    529: "Overloaded",
}


def error_response(
    api: Api, status: int, message: str | None = None, *, param: str | None = None, retry_after: float | None = None
) -> JSONResponse:
    oa_type, oa_code, an_type = _ERROR_KINDS.get(status, ("server_error" if status >= 500 else "invalid_request_error", None, "api_error"))
    message = message or _DEFAULT_MESSAGES.get(status, f"Scripted error {status}.")
    if api == "openai":
        body: dict[str, Any] = {"error": {"message": message, "type": oa_type, "param": param, "code": oa_code}}
        headers = {"x-request-id": f"req_{uuid.uuid4().hex}"}
    else:
        body = {"type": "error", "error": {"type": an_type, "message": message}}
        headers = {"request-id": f"req_{uuid.uuid4().hex[:24]}"}
    if retry_after is not None:
        headers["retry-after"] = str(int(retry_after)) if float(retry_after).is_integer() else f"{retry_after:g}"
        headers["retry-after-ms"] = str(int(retry_after * 1000))
    return JSONResponse(body, status_code=status, headers=headers)


def validation_message(exc: ValidationError) -> tuple[str, str | None]:
    """The first problem phrased like the real APIs ("messages: Field required"), and its param."""
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"])
    return (f"{loc}: {err['msg']}" if loc else err["msg"]), (str(err["loc"][0]) if err["loc"] else None)


_EMBED_WORD = re.compile(r"\w+")
EMBEDDING_DIMS = 64


def bag_of_words(text: str) -> list[float]:
    """A deterministic embedding: words hashed into EMBEDDING_DIMS buckets (similar texts, similar vectors)."""
    vector = [0.0] * EMBEDDING_DIMS
    for word in _EMBED_WORD.findall(text.lower()):
        vector[hashlib.sha256(word.encode()).digest()[0] % EMBEDDING_DIMS] += 1.0
    return vector
