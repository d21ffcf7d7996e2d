"""promptfoo's Ollama completion and embedding providers (`ollama:completion:MODEL` and `ollama:MODEL` at /api/generate,
`ollama:embeddings:MODEL` at /api/embeddings): their ids, the config keys they read, the bodies they send and the
answers read back. Ollama's chat (`ollama:chat:MODEL`, /api/chat) stays in bot.evals.providers_wire.
"""

from __future__ import annotations

from typing import Any

from bot.evals.providers_shapes import INERT_CONFIG, Parsed, WireError, count, finish, mapping

COMPLETION = "completion"
EMBEDDING = "embedding"
Kind = tuple[str, str, tuple[tuple[str, Any], ...]]
# The keys promptfoo's completion provider copies into the request's `options` as written (its option list but
# `think`, sent beside them, and `tools` and `passthrough`, which it reads otherwise)
OPTION_KEYS = frozenset({
    "num_predict", "top_k", "top_p", "tfs_z", "seed", "useNUMA", "num_ctx", "num_keep", "num_batch", "num_gqa", "num_gpu", "main_gpu",
    "low_vram", "f16_kv", "logits_all", "vocab_only", "use_mmap", "use_mlock", "embedding_only", "rope_frequency_base",
    "rope_frequency_scale", "typical_p", "repeat_last_n", "temperature", "repeat_penalty", "presence_penalty", "frequency_penalty",
    "mirostat", "mirostat_tau", "mirostat_eta", "penalize_newline", "stop", "num_thread",
})
_FINISH = {"stop": "stop", "length": "length"}


def ollama_kind(pid: str, rest: list[str], embedding: bool) -> Kind | str | None:
    """(vendor, model, options) for an `ollama:` id as promptfoo reads it: `chat:` is the chat API, `completion:` and a bare
    model the generate API, `embedding(s):` the embeddings API (a grader's `embedding:` only); None: no model named."""
    if rest and rest[0] in ("embedding", "embeddings"):
        model = ":".join(rest[1:])
        if not model:
            return None
        if embedding:
            return "ollama", model, (("api", EMBEDDING),)
        return f"unsupported: provider {pid!r} is not a chat model (embedding); it serves as a grader's embedding only"
    if rest and rest[0] == "chat":
        return ("ollama", ":".join(rest[1:]), ()) if ":".join(rest[1:]) else None
    model = ":".join(rest[1:]) if rest and rest[0] == COMPLETION else ":".join(rest)
    return ("ollama", model, (("api", COMPLETION),)) if model else None


def ollama_config(api: str | None, key: str, value: Any, params: list[tuple[str, Any]]) -> str | None:
    """An Ollama provider's config key: "" when read into `params` (or of no effect, as in promptfoo), None for a chat
    provider's other keys (read by parse_provider), else the problem with it."""
    if key == "options":
        return ""  # promptfoo's Ollama providers read the option keys at the config's top level only: `options` is never sent
    if api != EMBEDDING and (key in OPTION_KEYS or key in ("think", "passthrough")):  # chat and generate alike
        if key == "passthrough" and not isinstance(value, dict):
            return "passthrough must be a mapping (fields added to the request body as written)"
        params.append((key, value))
        return ""
    if api is None:  # the chat API: the other keys as other chat providers'
        if key in ("max_tokens", "format", "keep_alive"):
            hint = "num_predict" if key == "max_tokens" else f"passthrough: {{{key}: …}}"
            return (f"unsupported provider config key {key!r}: promptfoo's Ollama chat provider does not send it "
                    f"(use {hint})")
        return None
    if key in INERT_CONFIG or key in ("apiBaseUrl", "baseUrl", "apiBase"):
        return ""  # promptfoo's Ollama providers read OLLAMA_BASE_URL only: a suite's URL has no effect there either
    if api == EMBEDDING:
        return ""  # promptfoo's embedding request is the model and the text: no setting reaches it
    if key == "tools":
        return ("tools are not sent by promptfoo's Ollama completion provider (the generate API); Ollama's tool calls "
                "need ollama:chat:MODEL")
    return (f"unsupported provider config key {key!r}: promptfoo's Ollama completion provider does not send it (its keys: "
            f"{', '.join(sorted(OPTION_KEYS | {'think', 'passthrough'}))})")


def chat_request(model: str, params: dict[str, Any], messages: list[dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    """/api/chat's body as promptfoo 0.121 builds it: the messages; the option keys in `options` — with `think` and
    `passthrough` among them there too, as its chat provider copies them —, `think` beside them, then `passthrough`'s fields
    over everything. promptfoo leaves `stream` out and joins the streamed lines; asking for one answer gives the same
    message (the one difference in the request)."""
    options = {k: v for k, v in params.items() if k in OPTION_KEYS or k in ("think", "passthrough")}
    body: dict[str, Any] = {"model": model, "messages": messages, "options": options}
    if "think" in params:
        body["think"] = params["think"]
    body.update(mapping(params.get("passthrough")))
    body.setdefault("stream", False)
    return "/api/chat", body


def generate_request(model: str, params: dict[str, Any], prompt: str) -> tuple[str, dict[str, Any]]:
    """/api/generate's body as promptfoo builds it: the prompt's text whole, not streamed, the option keys in
    `options`, `think` beside them, then `passthrough`'s fields over everything."""
    body: dict[str, Any] = {"model": model, "prompt": prompt, "stream": False,
                            "options": {k: v for k, v in params.items() if k in OPTION_KEYS}}
    if "think" in params:  # (promptfoo sends any value it was given, null too)
        body["think"] = params["think"]
    body.update(mapping(params.get("passthrough")))
    return "/api/generate", body


def generate_parse(data: dict[str, Any]) -> Parsed:
    """The answer's `response` (promptfoo reads neither `thinking` nor anything else); its token counts."""
    text = data.get("response")
    if "response" not in data or (text is not None and not isinstance(text, str)):
        raise WireError("response has no response text")
    return Parsed(text or "", count(data.get("prompt_eval_count")), count(data.get("eval_count")), finish(data.get("done_reason"), _FINISH))


def embedding_request(model: str, text: str) -> tuple[str, dict[str, Any]]:
    return "/api/embeddings", {"model": model, "prompt": text}


def embedding_answer(data: Any) -> list[float]:
    vector = mapping(data).get("embedding")
    if not isinstance(vector, list) or not vector:
        raise WireError("response has no embedding")
    try:
        return [float(x) for x in vector]
    except (TypeError, ValueError):
        raise WireError("response's embedding is not a list of numbers") from None
