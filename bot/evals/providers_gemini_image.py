"""Gemini's native image generation — promptfoo 0.121.20 routes `google:MODEL` whose model name holds `-image`
(gemini-2.5-flash-image, gemini-3-pro-image, …) to it: one generateContent request asking for text and image
parts, on the Gemini API or, when a Google Cloud project is named, on Vertex AI. The config keys it reads, the
request, and what its answer becomes (the image's data URI, or the text parts) with promptfoo's price. Pure.
"""

from __future__ import annotations

import difflib
from typing import Any

from bot.core.errors import CheckError
from bot.evals.providers_shapes import WireError, js_json

IMAGE_API = "imageApi"  # ProviderSpec option naming this provider (its value: GENERATE)
GENERATE = "generateContent"
MARK = "-image"  # promptfoo's test on the model name of a two-part google: id


def is_gemini_image(head: str, rest: list[str]) -> bool:
    """google:MODEL with `-image` in the name (never google:image:…, Imagen's form)."""
    return head == "google" and len(rest) == 1 and MARK in rest[0]


def _number(key: str) -> Any:
    return lambda v: None if isinstance(v, (int, float)) and not isinstance(v, bool) else f"{key} must be a number"


def _text(key: str) -> Any:
    return lambda v: None if isinstance(v, str) and v else f"{key} must be text"


def _mapping(key: str) -> Any:
    return lambda v: None if isinstance(v, dict) else f"{key} must be a mapping"


def _safety(v: Any) -> str | None:
    ok = isinstance(v, list) and all(isinstance(s, dict) for s in v)
    return None if ok else "safetySettings must be a list of {category, threshold} mappings"


KEYS = {
    "temperature": _number("temperature"), "topP": _number("topP"), "topK": _number("topK"),
    "maxOutputTokens": _number("maxOutputTokens"), "generationConfig": _mapping("generationConfig"),
    "imageAspectRatio": _text("imageAspectRatio"), "imageSize": _text("imageSize"), "safetySettings": _safety,
}
NOT_SENT = {
    **{k: "tools are not sent by prompt-review's Gemini image provider (it reviews the image or text answered)"
       for k in ("tools", "toolConfig", "tool_config", "tool_choice")},
    "apiHost": "requests go to the operator's GEMINI_BASE_URL (else the Gemini API), not a host a suite names",
}
# promptfoo's prices: per image by model (and, for the 3.x flash and pro models, the image size), plus tokens
_FLASH = {"0.5K": 0.045, "1K": 0.067, "2K": 0.101, "4K": 0.151}
_PRO = {"1K": 0.134, "2K": 0.134, "4K": 0.24}
PER_IMAGE: dict[str, dict[str, float]] = {
    "gemini-2.5-flash-image": {"default": 0.039}, "gemini-2.5-flash-preview-image-generation": {"default": 0.039},
    "gemini-3.1-flash-lite-image": {"default": 0.0336}, "gemini-3.1-flash-image": _FLASH,
    "gemini-3.1-flash-image-preview": _FLASH, "gemini-3-pro-image": _PRO, "gemini-3-pro-image-preview": _PRO,
}
UNLISTED_IMAGE = 0.04
TOKEN_RATES = {  # USD per million (prompt, text and thinking output)
    "gemini-2.5-flash-image": (0.3, 0.0), "gemini-2.5-flash-preview-image-generation": (0.3, 0.0),
    "gemini-3.1-flash-lite-image": (0.25, 1.5), "gemini-3.1-flash-image": (0.5, 3.0), "gemini-3.1-flash-image-preview": (0.5, 3.0),
    "gemini-3-pro-image": (2.0, 12.0), "gemini-3-pro-image-preview": (2.0, 12.0),
}
SIZES_ONLY = {"gemini-3.1-flash-lite-image": ("1K",)}
BLOCKED = ("SAFETY", "RECITATION", "PROHIBITED_CONTENT", "BLOCKLIST", "SPII")


def config_problem(key: str, value: Any, params: list[tuple[str, Any]]) -> str | None:
    """None when `key` is read (then in `params`), else the problem (projectId, region and pacing keys are read by
    the caller, bot.evals.providers_image)."""
    if key in NOT_SENT:
        return f"unsupported provider config key {key!r} for Gemini image models: {NOT_SENT[key]}"
    if key not in KEYS:
        known = sorted(set(KEYS) | {"projectId", "region"})
        close = difflib.get_close_matches(key, known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return f"unsupported provider config key {key!r} for Gemini image models{hint}; supported: {', '.join(known)}"
    problem = KEYS[key](value)
    if problem is None:
        params.append((key, value))
    return problem


def uses_global(model: str) -> bool:
    """Gemini 3.x image models are served from Vertex AI's global endpoint only; they also take imageSize."""
    return model.startswith("gemini-3")


def image_size(model: str, config: dict[str, Any]) -> Any:
    """The size the request asks for: imageSize (3.x models), else generationConfig.imageConfig.imageSize."""
    own = config.get("imageSize") if uses_global(model) else None
    nested = config.get("generationConfig", {}).get("imageConfig")
    return own if own is not None else nested.get("imageSize") if isinstance(nested, dict) else None


def _tier(size: Any) -> str:
    raw = str(size).upper()
    return "0.5K" if raw == "512PX" else raw


def size_problem(model: str, config: dict[str, Any]) -> str | None:
    """promptfoo's answer to every call of a model asked for a size it does not render (its words)."""
    allowed, requested = SIZES_ONLY.get(model), image_size(model, config)
    if allowed is None or requested is None or _tier(requested) in allowed:
        return None
    return f"Model {model} only supports imageSize {', '.join(allowed)}; got '{requested}'"


def request_body(model: str, config: dict[str, Any], prompt: str) -> dict[str, Any]:
    generation: dict[str, Any] = {"responseModalities": ["TEXT", "IMAGE"]}
    generation.update({k: config[k] for k in ("temperature", "topP", "topK", "maxOutputTokens") if k in config})
    generation.update(config.get("generationConfig") or {})
    nested = (config.get("generationConfig") or {}).get("imageConfig")
    image_config = dict(nested) if isinstance(nested, dict) else {}
    if config.get("imageAspectRatio"):
        image_config["aspectRatio"] = config["imageAspectRatio"]
    if config.get("imageSize") and uses_global(model):
        image_config["imageSize"] = config["imageSize"]
    if image_config:
        generation["imageConfig"] = image_config
    body: dict[str, Any] = {"contents": [{"parts": [{"text": prompt}], "role": "user"}], "generationConfig": generation}
    if config.get("safetySettings"):
        body["safetySettings"] = [{"category": s.get("category"), "threshold": s.get("threshold") or s.get("probability") or ""}
                                  for s in config["safetySettings"]]
    return body


def answer(who: str, model: str, config: dict[str, Any], data: dict[str, Any]) -> tuple[str, float | None]:
    """(output, cost or None) of a generateContent answer: the first image's data URI when it has images and no
    text, else its text parts joined by a blank line; WireError with promptfoo's words when it answers an error."""
    if data.get("error"):
        error = data["error"]
        message = error.get("message") if isinstance(error, dict) else None
        raise WireError(f"{who}: {str(message or js_json(error))[:300]}", CheckError.OTHER)
    candidates = data.get("candidates")
    if not isinstance(candidates, list) or not candidates:
        feedback = data.get("promptFeedback")
        reason = feedback.get("blockReason") if isinstance(feedback, dict) else None
        raise WireError(f"{who}: " + (f"Response blocked: {reason}" if reason else "No candidates returned in API response."),
                        CheckError.OTHER)
    first = candidates[0] if isinstance(candidates[0], dict) else {}
    if first.get("finishReason") in BLOCKED:
        raise WireError(f"{who}: Response was blocked with finish reason: {first['finishReason']}", CheckError.OTHER)
    content = first.get("content")
    parts = content.get("parts") if isinstance(content, dict) else None
    if not isinstance(parts, list) or not parts:
        raise WireError(f"{who}: No content parts in response", CheckError.OTHER)
    texts, images = [], []
    for part in parts:
        if not isinstance(part, dict) or part.get("thought"):
            continue
        inline = part.get("inlineData")
        if part.get("text"):
            texts.append(str(part["text"]))
        elif isinstance(inline, dict):
            images.append(f"data:{inline.get('mimeType') or 'image/png'};base64,{inline.get('data')}")
    if not texts and not images:
        raise WireError(f"{who}: No valid content generated", CheckError.OTHER)
    cost = len(images) * _per_image(model, config) + _token_cost(model, data.get("usageMetadata"))
    return (images[0] if images and not texts else "\n\n".join(texts)), (cost or None)


def _per_image(model: str, config: dict[str, Any]) -> float:
    table = PER_IMAGE.get(model)
    if table is None:
        return UNLISTED_IMAGE
    if "default" in table:
        return table["default"]
    return table.get(_tier(image_size(model, config) or "1K"), table.get("1K", UNLISTED_IMAGE))


def _count(usage: dict[str, Any], key: str) -> float:
    value = usage.get(key)
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else 0


def _token_cost(model: str, usage: Any) -> float:
    rates = TOKEN_RATES.get(model)
    if rates is None or not isinstance(usage, dict):
        return 0.0
    details = usage.get("candidatesTokensDetails")
    text = sum(_count(d, "tokenCount") for d in details if isinstance(d, dict) and d.get("modality") == "TEXT") \
        if isinstance(details, list) else 0
    return (_count(usage, "promptTokenCount") * rates[0] + (text + _count(usage, "thoughtsTokenCount")) * rates[1]) / 1e6
