"""promptfoo's image-generation providers — `openai:image:MODEL`, `xai:image:MODEL`, `hyperbolic:image:MODEL`,
`google:image:MODEL` (Imagen), `cometapi:image:MODEL` (OpenAI's images API at CometAPI), `google:MODEL-image` (Gemini's own: bot.evals.providers_gemini_image), `replicate:image:MODEL` and `fal:image:MODEL`: their ids and the config keys each
reads, checked at load with the suite's line (promptfoo 0.121.20's providers; its own checks of sizes and counts
become load errors here, in its words). What one call sends and how the answer becomes the output text:
bot.evals.providers_image_wire.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from typing import Any

from bot.evals.providers_gemini_image import GENERATE, IMAGE_API, config_problem, is_gemini_image
from bot.evals.providers_wire_extra import replicate_model_ok

IMAGE = "image"  # ProviderSpec option `api`
IMAGE_VENDORS = ("openai", "xai", "hyperbolic", "google", "replicate", "fal", "cometapi")
OPENAI_IMAGE = ("openai", "cometapi")  # served by promptfoo's OpenAI image provider (CometAPI: at its own URL, with its key)
FAL_MODEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*){1,4}")
Check = Callable[[Any], str | None]
Kind = tuple[str, str, tuple[tuple[str, Any], ...]]

# Pacing, pricing and logging: no effect on the answer (promptfoo's cost overrides are not read by these providers).
INERT = {"cost", "inputCost", "outputCost", "debug", "timeout", "maxRetries"}
URL_KEYS = ("apiBaseUrl", "baseUrl", "apiBase")


def _text(key: str) -> Check:
    return lambda v: None if isinstance(v, str) and v else f"{key} must be text"


def _number(key: str) -> Check:
    return lambda v: None if isinstance(v, (int, float)) and not isinstance(v, bool) else f"{key} must be a number"


def _count(key: str) -> Check:
    return lambda v: None if isinstance(v, int) and not isinstance(v, bool) and v >= 1 else f"{key} must be a positive integer"


def _flag(key: str) -> Check:
    return lambda v: None if isinstance(v, bool) else f"{key} must be true or false"


def _one_of(key: str, *values: str) -> Check:
    return lambda v: None if v in values else f"{key} must be one of {', '.join(values)}"


def _any(_: Any) -> str | None:
    return None


OPENAI_KEYS: dict[str, Check] = {
    "n": _any, "size": _text("size"), "user": _text("user"), "response_format": _one_of("response_format", "url", "b64_json"),
    "quality": _text("quality"), "style": _text("style"), "background": _any, "output_format": _any,
    "output_compression": _any, "moderation": _any, "operation": _text("operation"), "model": _text("model"),
}
# promptfoo answers these with an error on every call (its words): a load error here
OPENAI_REFUSED = {
    "partial_images": "partial_images is only supported for streaming image generation, which the openai:image provider does not support yet.",
    "image": "Image edit/reference inputs are not implemented in the openai:image provider yet; only text-to-image generation is supported.",
    "mask": "Image edit/reference inputs are not implemented in the openai:image provider yet; only text-to-image generation is supported.",
    "input_fidelity": "Image edit/reference inputs are not implemented in the openai:image provider yet; only text-to-image generation is supported.",
}
XAI_KEYS: dict[str, Check] = {
    "n": _count("n"), "response_format": _one_of("response_format", "url", "b64_json"), "aspect_ratio": _text("aspect_ratio"),
    "quality": _text("quality"), "resolution": _text("resolution"), "image": _any, "images": _any, "mask": _any,
    "user": _text("user"),
}
HYPERBOLIC_KEYS: dict[str, Check] = {
    "model_name": _text("model_name"), "response_format": _one_of("response_format", "url", "b64_json"),
    "height": _count("height"), "width": _count("width"), "backend": _text("backend"), "prompt_2": _text("prompt_2"),
    "negative_prompt": _text("negative_prompt"), "negative_prompt_2": _text("negative_prompt_2"), "image": _text("image"),
    "strength": _number("strength"), "seed": _number("seed"), "cfg_scale": _number("cfg_scale"), "sampler": _text("sampler"),
    "steps": _count("steps"), "style_preset": _text("style_preset"), "enable_refiner": _flag("enable_refiner"),
    "controlnet_name": _text("controlnet_name"), "controlnet_image": _text("controlnet_image"), "loras": _any,
}
GOOGLE_KEYS: dict[str, Check] = {
    "n": _count("n"), "aspectRatio": _text("aspectRatio"), "personGeneration": _text("personGeneration"),
    "safetyFilterLevel": _text("safetyFilterLevel"), "addWatermark": _flag("addWatermark"), "seed": _number("seed"),
}
GOOGLE_PLACE = {"projectId", "region"}  # Vertex AI: the project (its presence chooses Vertex, as promptfoo) and location
SENT = {"openai": OPENAI_KEYS, "cometapi": OPENAI_KEYS, "xai": XAI_KEYS, "hyperbolic": HYPERBOLIC_KEYS, "google": GOOGLE_KEYS}
# keys these providers take that prompt-review does not, with the reason (never silently ignored)
NOT_READ = {
    "headers": "extra request headers from the repository are not sent to a vendor's API",
    "credentials": "credentials come from the environment only, never from the repository",
    "organization": "the OpenAI organization is the operator's, not the repository's",
}
XAI_REGION = "requests go to the operator's XAI_BASE_URL (else https://api.x.ai/v1), not a regional host a suite names"
FAL_CLIENT = "fal client settings (proxy URLs, middleware) are not part of prompt-review; requests go to the operator's FAL_BASE_URL"


def image_kind(pid: str, head: str, rest: list[str]) -> Kind | str | None:
    """(vendor, model, options) for an image provider id, the message refusing a malformed one, or None for every
    other id."""
    if is_gemini_image(head, rest):  # Gemini's native image generation (bot.evals.providers_gemini_image)
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}", rest[0]):  # a part of the request's path
            return f"unsupported: provider {pid!r}: a Gemini image model is a name such as google:gemini-2.5-flash-image"
        return head, rest[0], (("api", IMAGE), (IMAGE_API, GENERATE))
    if head not in IMAGE_VENDORS or len(rest) < 1 or rest[0] != IMAGE:
        return None
    model = ":".join(rest[1:])
    if head == "hyperbolic" and not model:
        model = "SDXL1.0-base"  # promptfoo's default
    if not model:
        return f"unsupported: provider {pid!r}: an image provider needs the model ({head}:image:MODEL)"
    if head == "replicate" and not replicate_model_ok(model):
        return f"unsupported: provider {pid!r}: a Replicate model is replicate:image:OWNER/NAME or replicate:image:OWNER/NAME:VERSION"
    if head == "google" and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}", model):  # a part of the request's path
        return f"unsupported: provider {pid!r}: an Imagen model is a name such as google:image:imagen-3.0-generate-002"
    if head == "fal" and not FAL_MODEL.fullmatch(model):
        return f"unsupported: provider {pid!r}: a fal model is fal:image:OWNER/APP[/PATH] such as fal:image:fal-ai/flux/schnell"
    return head, model, (("api", IMAGE),)


def image_config(kind: str, key: str, value: Any, params: list[tuple[str, Any]], opts: dict[str, Any]) -> tuple[str | None, str | None]:
    """(suite base URL or None, problem or None) for one config key of an image provider; a key that is sent goes to
    `params` (the provider's fingerprint), one that places the request to `opts`."""
    if kind in ("replicate", "fal"):  # every key is the model's input (promptfoo's rule), but the client's settings
        if kind == "fal" and key == "client":
            return None, f"unsupported provider config key 'client' for fal:image: {FAL_CLIENT}"
        params.append((key, value))
        return None, None
    if key in INERT:
        return None, None
    if kind in OPENAI_IMAGE and key == "stream":
        return None, (None if value is not True else "Streaming image generation is not supported by the openai:image "
                      "provider yet. Remove stream, or use a provider that supports streaming image events.")
    if kind in OPENAI_IMAGE and key in OPENAI_REFUSED:
        return None, OPENAI_REFUSED[key]
    if kind == "cometapi" and key in URL_KEYS + ("apiHost",):
        return None, f"{key} has no effect on cometapi providers: promptfoo sets their URL to the CometAPI URL; remove it"
    if kind != "google" and key in URL_KEYS + ("apiHost",):
        if key == "apiHost" and kind == "openai":
            host = value.removeprefix("https://").removeprefix("http://").rstrip("/") if isinstance(value, str) else ""
            return (f"https://{host}/v1", None) if host and "/" not in host else (None, "apiHost must be a host name")
        if key != "apiHost" and isinstance(value, str) and value.startswith(("http://", "https://")):
            return value.rstrip("/"), None
        return None, f"{key} must be an http(s) URL"
    if kind == "google" and key in GOOGLE_PLACE:
        if not isinstance(value, str) or not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,62}", value):
            return None, f"{key} must be a Google Cloud {'project id' if key == 'projectId' else 'location such as us-central1'}"
        opts[key] = value
        return None, None
    if kind == "google" and opts.get(IMAGE_API) == GENERATE:
        if key in NOT_READ:
            return None, f"unsupported provider config key {key!r} for Gemini image models: {NOT_READ[key]}"
        return None, config_problem(key, value, params)
    table = SENT[kind]
    if key not in table:
        why = XAI_REGION if (kind, key) == ("xai", "region") else NOT_READ.get(key)
        if why:
            return None, f"unsupported provider config key {key!r} for {kind}:image: {why}"
        return None, _unknown(kind, key, table)
    problem = table[key](value)
    if problem is None:
        params.append((key, value))
    return None, problem


def _unknown(kind: str, key: str, table: dict[str, Check]) -> str:
    known = sorted(set(table) | ({"apiBaseUrl"} if kind != "google" else GOOGLE_PLACE))
    close = difflib.get_close_matches(key, known, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unsupported provider config key {key!r} for {kind}:image{hint}; supported: {', '.join(known)}"


# --- promptfoo's own checks of an OpenAI image request (validateImageRequestConfig), in its words ---

DALLE2_SIZES = ("256x256", "512x512", "1024x1024")
DALLE3_SIZES = ("1024x1024", "1792x1024", "1024x1792")
GPT_IMAGE1_SIZES = ("1024x1024", "1024x1536", "1536x1024")


def is_gpt_image2(model: str) -> bool:
    return model == "gpt-image-2" or re.fullmatch(r"gpt-image-2-\d{4}-\d{2}-\d{2}", model) is not None


def gpt_image_family(model: str) -> str | None:
    """promptfoo's display name of a GPT Image model, None for every other model (DALL·E, unknown names)."""
    if is_gpt_image2(model):
        return "GPT Image 2"
    if model in ("gpt-image-1.5", "chatgpt-image-latest") or model.startswith("gpt-image-1.5-2025"):
        return "GPT Image 1.5"
    if model == "gpt-image-1-mini" or model.startswith("gpt-image-1-mini-2025"):
        return "GPT Image 1 Mini"
    if model == "gpt-image-1" or model.startswith("gpt-image-1-2025"):
        return "GPT Image 1"
    return None


def openai_image_problem(model: str, config: dict[str, Any]) -> str | None:
    """The first of promptfoo's objections to an openai:image request, None when it sends it."""
    operation = config.get("operation") or "generation"
    if operation != "generation":
        return f"Only 'generation' operations are currently supported. '{operation}' operations are not implemented."
    n, size, family = config.get("n"), config.get("size") or "1024x1024", gpt_image_family(model)
    if n is not None:
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            return "n must be a positive integer."
        if model == "dall-e-3" and n != 1:
            return "n must be 1 for DALL-E 3."
        if n > 10:
            return "n must be between 1 and 10."
    if model == "dall-e-3" and size not in DALLE3_SIZES:
        return f'Invalid size "{size}" for DALL-E 3. Valid sizes are: {", ".join(DALLE3_SIZES)}'
    if model == "dall-e-2" and size not in DALLE2_SIZES:
        return f'Invalid size "{size}" for DALL-E 2. Valid sizes are: {", ".join(DALLE2_SIZES)}'
    if family is None:
        return None
    if family == "GPT Image 2" and size != "auto" and not _gpt_image2_size_ok(size):
        return (f'Invalid size "{size}" for GPT Image 2. Valid sizes are auto or WIDTHxHEIGHT where both dimensions are '
                "multiples of 16, the maximum edge is 3840px, the long edge to short edge ratio is at most 3:1, and total "
                "pixels are between 655,360 and 8,294,400.")
    if family != "GPT Image 2" and size != "auto" and size not in GPT_IMAGE1_SIZES:
        return f'Invalid size "{size}" for {family}. Valid sizes are: {", ".join(GPT_IMAGE1_SIZES)}, auto'
    quality, fmt, background = config.get("quality"), config.get("output_format"), config.get("background")
    if quality is not None and quality not in ("low", "medium", "high", "auto"):
        return f'Invalid quality "{quality}" for {family}. Valid qualities are: low, medium, high, auto.'
    if fmt is not None and fmt not in ("png", "jpeg", "webp"):
        return f'Invalid output_format "{fmt}" for {family}. Valid output formats are: png, jpeg, webp.'
    if background is not None:
        allowed = ("opaque", "auto") if family == "GPT Image 2" else ("transparent", "opaque", "auto")
        if family == "GPT Image 2" and background == "transparent":
            return 'background: "transparent" is not supported for GPT Image 2. Use "opaque" or "auto".'
        if background not in allowed:
            return f'Invalid background "{background}" for {family}. Valid backgrounds are: {", ".join(allowed)}.'
        if background == "transparent" and fmt == "jpeg":
            return ('background: "transparent" is not supported with output_format: "jpeg". Use "png" or "webp", or choose '
                    '"opaque" or "auto" background.')
    compression = config.get("output_compression")
    if compression is not None:
        if isinstance(compression, bool) or not isinstance(compression, (int, float)) or not 0 <= compression <= 100:
            return "output_compression must be a number between 0 and 100."
        if fmt not in ("jpeg", "webp"):
            return ('output_compression is only supported when output_format is "jpeg" or "webp". Set output_format to '
                    '"jpeg" or "webp", or remove output_compression.')
    moderation = config.get("moderation")
    if moderation is not None and moderation not in ("auto", "low"):
        return f'Invalid moderation "{moderation}" for {family}. Valid moderation values are: auto, low.'
    return None


def _gpt_image2_size_ok(size: str) -> bool:
    m = re.fullmatch(r"(\d+)x(\d+)", size)
    if not m:
        return False
    w, h = int(m[1]), int(m[2])
    long, short = max(w, h), min(w, h)
    return (w > 0 and h > 0 and long <= 3840 and w % 16 == 0 and h % 16 == 0 and long / short <= 3
            and 655_360 <= w * h <= 8_294_400)
