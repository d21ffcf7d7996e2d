"""What promptfoo 0.121.20's image providers send and what they make of the answer (bot.evals.providers_image reads
their ids and config): OpenAI's and xAI's images API, Hyperbolic's image generation, Imagen's predict (Gemini API
or Vertex AI), Gemini's generateContent (bot.evals.providers_gemini_image), Replicate's predictions and fal.ai's queue. Pure: a request is (path, body); an answer is the output
text promptfoo makes (a markdown image `![PROMPT](URL)`, or the data URI of a base64 image) with its cost, or
`Poll` saying which path to look at next. Polling paths are built from the ids the vendor returned, checked, never
from URLs in the answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bot.core.errors import CheckError
from bot.evals import providers_gemini_image as gemini_image
from bot.evals.providers_image import OPENAI_IMAGE, gpt_image_family
from bot.evals.providers_shapes import WireError, js_json
from bot.evals.suite import ProviderSpec

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")
REPLICATE_POLL_S = 1.0  # promptfoo's pace for both
FAL_POLL_S = 0.5  # @fal-ai/client's default poll interval


@dataclass(frozen=True)
class ImageAnswer:
    text: str
    cost_usd: float | None  # None: promptfoo reports no cost for this provider


class Poll(Exception):
    """Not finished: GET `path` after `wait_s` seconds and read that answer (`answer` is told which path it was)."""

    def __init__(self, path: str, wait_s: float):
        super().__init__(path)
        self.path, self.wait_s = path, wait_s


def ellipsize(text: str, limit: int) -> str:
    """promptfoo's ellipsize: at most `limit` UTF-16 code units (JavaScript's string length), '...' when cut."""
    units = text.encode("utf-16-le")
    if len(units) // 2 <= limit:
        return text
    return units[: (limit - 3) * 2].decode("utf-16-le", errors="ignore") + "..."


def markdown_image(prompt: str, url: str) -> str:
    """The output of a provider that answers an image URL: the prompt on one line, brackets made parentheses, cut to 50."""
    alt = re.sub(r"\r?\n|\r", " ", prompt).replace("[", "(").replace("]", ")")
    return f"![{ellipsize(alt, 50)}]({url})"


# --- requests ---

HYPERBOLIC_MODELS = {  # promptfoo's table: id → (aliases, USD per image)
    "Flux.1-dev": (("flux-dev", "flux.1-dev", "FLUX.1-dev"), 0.025), "SDXL1.0-base": (("sdxl", "sdxl-base"), 0.01),
    "SD1.5": (("stable-diffusion-1.5", "sd-1.5"), 0.005), "SD2": (("stable-diffusion-2", "sd-2"), 0.008),
    "SSD": (("segmind-sd-1b",), 0.005), "SDXL-turbo": (("sdxl-turbo",), 0.008),
    "SDXL-ControlNet": (("sdxl-controlnet",), 0.015), "SD1.5-ControlNet": (("sd1.5-controlnet",), 0.008),
}
HYPERBOLIC_OPTIONAL = ("prompt_2", "negative_prompt", "negative_prompt_2", "image", "sampler", "style_preset",
                       "controlnet_name", "controlnet_image", "loras")  # sent when truthy
HYPERBOLIC_NUMERIC = ("strength", "seed", "cfg_scale", "steps", "enable_refiner")  # sent when set
XAI_MODELS = {"grok-imagine-image": "grok-imagine-image", "grok-imagine-image-2026-03-02": "grok-imagine-image",
              "grok-imagine-image-quality": "grok-imagine-image-quality",
              "grok-imagine-image-quality-latest": "grok-imagine-image-quality",
              "grok-imagine-image-quality-20260403": "grok-imagine-image-quality",
              "grok-imagine-image-pro": "grok-imagine-image-pro", "grok-2-image": "grok-2-image", "grok-image": "grok-2-image"}
IMAGEN_COSTS = {"imagen-4.0-ultra-generate-001": 0.06, "imagen-4.0-generate-001": 0.04, "imagen-4.0-fast-generate-001": 0.02,
                "imagen-4.0-ultra-generate-preview-06-06": 0.06, "imagen-4.0-generate-preview-06-06": 0.04,
                "imagen-4.0-fast-generate-preview-06-06": 0.02, "imagen-3.0-generate-002": 0.04,
                "imagen-3.0-generate-001": 0.04, "imagen-3.0-fast-generate-001": 0.02}


def hyperbolic_model(name: str) -> str:
    return next((model for model, (aliases, _) in HYPERBOLIC_MODELS.items() if name == model or name in aliases), name)


def xai_model(name: str) -> str:
    return XAI_MODELS.get(name) or (name if name.startswith("grok-imagine-") else "grok-2-image")


def imagen_model(name: str) -> str:
    return name if name.startswith("imagen-") else f"imagen-{name}"


def image_request(spec: ProviderSpec, prompt: str) -> tuple[str, dict[str, Any]]:
    """(path under the vendor's base URL, JSON body) of the first request."""
    config, model = dict(spec.params), spec.model
    if spec.kind in OPENAI_IMAGE:
        body: dict[str, Any] = {"model": model, "prompt": prompt, "n": config.get("n", 1), "size": config.get("size") or "1024x1024"}
        if config.get("user"):
            body["user"] = config["user"]
        family = gpt_image_family(model)
        if family is None:
            body["response_format"] = config.get("response_format") or "url"
        keys = ("quality", "style") if model == "dall-e-3" else (
            "quality", "background", "output_format", "output_compression", "moderation") if family else ()
        body.update({k: config[k] for k in keys if config.get(k) or (k == "output_compression" and k in config)})
        return "/images/generations", body
    if spec.kind == "xai":
        body = {"model": xai_model(model), "prompt": prompt, "n": config.get("n") or 1, "response_format": config.get("response_format") or "url"}
        body.update({k: config[k] for k in ("aspect_ratio", "quality", "resolution", "image", "images", "mask", "user") if config.get(k)})
        edits = bool(config.get("image") or config.get("images") or config.get("mask"))
        return ("/images/edits" if edits else "/images/generations"), body
    if spec.kind == "hyperbolic":
        body = {"model_name": config.get("model_name") or hyperbolic_model(model), "prompt": prompt,
                "height": config.get("height") or 1024, "width": config.get("width") or 1024, "backend": config.get("backend") or "auto"}
        for key in HYPERBOLIC_OPTIONAL + HYPERBOLIC_NUMERIC:
            if key in config and (key in HYPERBOLIC_NUMERIC or config[key]):
                body[key] = config[key]
        return "/image/generation", body
    if spec.option(gemini_image.IMAGE_API) == gemini_image.GENERATE:  # google:MODEL-image, Gemini API or Vertex AI
        if spec.kind == "google":
            return f"/v1beta/models/{model}:generateContent", gemini_image.request_body(model, config, prompt)
        project, location = spec.option("projectId"), spec.option("region")
        path = f"/v1/projects/{project}/locations/{location}/publishers/google/models/{model}:generateContent"
        return path, gemini_image.request_body(model, config, prompt)
    if spec.kind in ("google", "vertex"):
        parameters: dict[str, Any] = {"sampleCount": config.get("n") or 1, "aspectRatio": config.get("aspectRatio") or "1:1",
                                      "personGeneration": config.get("personGeneration") or "allow_all"}
        if spec.kind == "google":  # the Gemini API takes one safety setting (promptfoo overrides any other)
            parameters["safetySetting"] = "block_low_and_above"
            path = f"/v1beta/models/{imagen_model(model)}:predict"
        else:
            parameters["safetySetting"] = config.get("safetyFilterLevel") or "block_some"
            parameters["addWatermark"] = config.get("addWatermark") is not False
            if "seed" in config and config.get("addWatermark") is False:
                parameters["seed"] = config["seed"]
            project, location = spec.option("projectId"), spec.option("region")
            path = f"/v1/projects/{project}/locations/{location}/publishers/google/models/{imagen_model(model)}:predict"
        return path, {"instances": [{"prompt": prompt.strip()}], "parameters": parameters}
    if spec.kind == "replicate":
        inputs = {"prompt": prompt, "width": config.get("width") or 768, "height": config.get("height") or 768}
        inputs.update({k: v for k, v in config.items() if k not in ("width", "height")})
        body = {"input": inputs}
        if ":" in model:
            body["version"] = model.split(":")[1]
            return "/predictions", body
        return f"/models/{model}/predictions", body
    if spec.kind == "fal":
        return f"/{spec.model}", {"prompt": prompt, **config}
    raise WireError(f"{spec.id}: not an image provider")


def fal_app(model: str) -> str:
    """The app part of a fal model id (owner/alias; workflows/ and comfy/ keep their namespace): where its queue is."""
    parts = model.split("/")
    return "/".join(parts[:3] if parts[0] in ("workflows", "comfy") else parts[:2])


# --- answers ---


def image_answer(spec: ProviderSpec, data: Any, prompt: str, fetched: str | None) -> ImageAnswer:
    """The output of one answer; `fetched` is the path that answer came from (None: the first request). Raises
    Poll to look again, WireError when promptfoo's provider would answer an error."""
    if not isinstance(data, dict):
        raise WireError(f"{spec.id}: unexpected answer shape (not a JSON object)")
    config = dict(spec.params)
    if spec.kind in OPENAI_IMAGE + ("xai",):
        return _openai_like(spec, data, prompt, config)
    if spec.kind == "hyperbolic":
        return _hyperbolic(spec, data, config)
    if spec.option(gemini_image.IMAGE_API) == gemini_image.GENERATE:
        return ImageAnswer(*gemini_image.answer(spec.id, spec.model, config, data))
    if spec.kind in ("google", "vertex"):
        return _imagen(spec, data)
    if spec.kind == "replicate":
        return _replicate(spec, data, prompt)
    if spec.kind == "fal":
        return _fal(spec, data, fetched, str(config.get("prompt", prompt)))
    raise WireError(f"{spec.id}: not an image provider")


def _error_text(error: Any) -> str:
    return error if isinstance(error, str) else js_json(error)


def _openai_like(spec: ProviderSpec, data: dict[str, Any], prompt: str, config: dict[str, Any]) -> ImageAnswer:
    if data.get("error"):
        error = data["error"]
        if spec.kind == "xai" or not isinstance(error, dict):
            raise WireError(f"{spec.id}: {_error_text(error)[:300]}", CheckError.OTHER)
        words = [f"API error: {error.get('message')}"] + [f"{name}: {error[key]}" for key, name in (("type", "Type"), ("code", "Code"))
                                                           if error.get(key)]
        raise WireError(f"{spec.id}: {', '.join(words)[:400]}", CheckError.OTHER)
    model = xai_model(spec.model) if spec.kind == "xai" else spec.model
    b64 = (config.get("response_format") == "b64_json") or (spec.kind in OPENAI_IMAGE and gpt_image_family(model) is not None)
    items = data.get("data")
    first = items[0] if isinstance(items, list) and items and isinstance(items[0], dict) else None
    if first is None:
        raise WireError(f"{spec.id}: the answer has no image (data[0])")
    if b64:
        if not isinstance(first.get("b64_json"), str) or not first["b64_json"]:
            raise WireError(f"{spec.id}: No base64 image data found in response")
        fmt = config.get("output_format") if spec.kind in OPENAI_IMAGE else None
        mime = {"jpeg": "image/jpeg", "webp": "image/webp"}.get(str(fmt), "image/png")
        text = f"data:{mime};base64,{first['b64_json']}"
    else:
        if not isinstance(first.get("url"), str) or not first["url"]:
            raise WireError(f"{spec.id}: No image URL found in response")
        text = markdown_image(prompt, first["url"])
    n = config.get("n") or 1
    return ImageAnswer(text, _xai_cost(model, data, n, config) if spec.kind == "xai" else _openai_cost(model, config, data, n))


def _openai_cost(model: str, config: dict[str, Any], data: dict[str, Any], n: int) -> float | None:
    """promptfoo's per-image price of DALL·E (a GPT Image model's answer carries token usage: priced per token, or not)."""
    size, quality = config.get("size") or "1024x1024", config.get("quality")
    if model == "dall-e-3":
        table = {"standard_1024x1024": 0.04, "standard_1024x1792": 0.08, "standard_1792x1024": 0.08,
                 "hd_1024x1024": 0.08, "hd_1024x1792": 0.12, "hd_1792x1024": 0.12}
        return table.get(f"{quality or 'standard'}_{size}", 0.04) * n
    if model == "dall-e-2":
        return {"256x256": 0.016, "512x512": 0.018, "1024x1024": 0.02}.get(size, 0.02) * n
    family = gpt_image_family(model)
    if family is None:
        return 0.04 * n
    usage = data.get("usage")
    if isinstance(usage, dict) and (cost := _gpt_image_usage_cost(family, usage)) is not None:
        return cost
    table, q = GPT_IMAGE_COSTS[family], quality if quality in ("low", "medium", "high") else "low"
    if family == "GPT Image 2":  # promptfoo prices it only at a named quality and a listed size
        return table[f"{q}_{size}"] * n if quality == q and f"{q}_{size}" in table else None
    return table.get(f"{q}_{size}", table["low_1024x1024"]) * n


# promptfoo's prices of GPT Image models: per image by quality and size, and per million tokens (text in, text out,
# image in, image out) when the answer reports usage
_SIZES = ("1024x1024", "1024x1536", "1536x1024")
GPT_IMAGE_COSTS = {family: {f"{q}_{size}": price for q, prices in table.items() for size, price in zip(_SIZES, prices)}
                   for family, table in {
                       "GPT Image 1": {"low": (0.011, 0.016, 0.016), "medium": (0.042, 0.063, 0.063), "high": (0.167, 0.25, 0.25)},
                       "GPT Image 1 Mini": {"low": (0.005, 0.006, 0.006), "medium": (0.011, 0.015, 0.015), "high": (0.036, 0.052, 0.052)},
                       "GPT Image 2": {"low": (0.006, 0.005, 0.005), "medium": (0.053, 0.041, 0.041), "high": (0.211, 0.165, 0.165)},
                       "GPT Image 1.5": {"low": (0.009, 0.013, 0.013), "medium": (0.034, 0.05, 0.05), "high": (0.133, 0.2, 0.2)},
                   }.items()}
GPT_IMAGE_RATES = {"GPT Image 2": (5, None, 8, 30), "GPT Image 1.5": (5, 10, 8, 32), "GPT Image 1": (5, None, 10, 40),
                   "GPT Image 1 Mini": (2, None, 2.5, 8)}


def _tokens(details: Any, key: str) -> int | None:
    value = details.get(key) if isinstance(details, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _first(value: int | None, otherwise: int) -> int:
    return otherwise if value is None else value


def _gpt_image_usage_cost(family: str, usage: dict[str, Any]) -> float | None:
    """The cost promptfoo computes from a GPT Image answer's token usage; None where it would fall back to the
    per-image table (and where cached input tokens make its sum more than this one models)."""
    text_in_rate, text_out_rate, image_in_rate, image_out_rate = GPT_IMAGE_RATES[family]
    inputs, outputs = usage.get("input_tokens_details"), usage.get("output_tokens_details")
    if _tokens(inputs, "cached_tokens"):
        return None
    total_in, total_out = _tokens(usage, "input_tokens") or 0, _tokens(usage, "output_tokens") or 0
    image_in = _tokens(inputs, "image_tokens") or 0
    text_in = _first(_tokens(inputs, "text_tokens"), max(total_in - image_in, 0))
    image_out = _tokens(outputs, "image_tokens") or 0
    text_out = _first(_tokens(outputs, "text_tokens"), max(total_out - image_out, 0))
    breakdown = any(_tokens(outputs, k) is not None for k in ("text_tokens", "image_tokens", "audio_tokens"))
    if text_out_rate and total_out > 0 and image_out == 0 and not breakdown:
        return None
    if text_out_rate is None and total_out > 0 and image_out == 0 and text_out == total_out:
        image_out, text_out = total_out, 0
    return (text_in * text_in_rate + image_in * image_in_rate + image_out * image_out_rate
            + text_out * (text_out_rate or 0)) / 1_000_000


def _xai_cost(model: str, data: dict[str, Any], n: int, config: dict[str, Any]) -> float:
    usage = data.get("usage")
    ticks = usage.get("cost_in_usd_ticks") if isinstance(usage, dict) else None
    if isinstance(ticks, (int, float)) and not isinstance(ticks, bool) and ticks >= 0:
        return ticks / 1e10
    sources = int(bool(config.get("image"))) + (len(config["images"]) if isinstance(config.get("images"), list) else 0)
    priced = "grok-imagine-image-quality" if model.startswith("grok-imagine-") and model != "grok-imagine-image" else model
    if priced == "grok-imagine-image":
        return 0.02 * n + 0.002 * sources
    if priced == "grok-imagine-image-quality":
        return (0.07 if config.get("resolution") == "2k" else 0.05) * n + 0.01 * sources
    return 0.07 * n


def _hyperbolic(spec: ProviderSpec, data: dict[str, Any], config: dict[str, Any]) -> ImageAnswer:
    if data.get("error"):
        raise WireError(f"{spec.id}: {_error_text(data['error'])[:300]}", CheckError.OTHER)
    images = data.get("images")
    if not isinstance(images, list) or not images:
        raise WireError(f"{spec.id}: No images returned from API", CheckError.OTHER)
    image = images[0].get("image") if isinstance(images[0], dict) else None
    if not isinstance(image, str):
        raise WireError(f"{spec.id}: the answer's images[0].image is not base64 text")
    cost = next((c for m, (aliases, c) in HYPERBOLIC_MODELS.items() if spec.model == m or spec.model in aliases), 0.01)
    if config.get("response_format") == "b64_json":
        return ImageAnswer(js_json({"data": [{"b64_json": image}]}), cost)
    mime = "image/png" if image.startswith("iVBORw0KGgo") else "image/webp" if image.startswith("UklGR") else "image/jpeg"
    return ImageAnswer(f"data:{mime};base64,{image}", cost)


def _imagen(spec: ProviderSpec, data: dict[str, Any]) -> ImageAnswer:
    if data.get("error"):
        error = data["error"]
        message = error.get("message") if isinstance(error, dict) else None
        raise WireError(f"{spec.id}: {str(message or _error_text(error))[:300]}", CheckError.OTHER)
    predictions = data.get("predictions")
    if not isinstance(predictions, list) or not predictions:
        raise WireError(f"{spec.id}: No images generated", CheckError.OTHER)
    uris = []
    for prediction in predictions:
        image = prediction.get("image") or prediction if isinstance(prediction, dict) else {}
        b64 = image.get("bytesBase64Encoded") if isinstance(image, dict) else None
        if b64:
            uris.append(f"data:{image.get('mimeType') or 'image/png'};base64,{b64}")
    if not uris:
        raise WireError(f"{spec.id}: No valid images generated", CheckError.OTHER)
    return ImageAnswer(uris[0], IMAGEN_COSTS.get(imagen_model(spec.model), 0.04) * len(uris))


def _replicate(spec: ProviderSpec, data: dict[str, Any], prompt: str) -> ImageAnswer:
    status = data.get("status")
    if status in ("starting", "processing"):
        ident = data.get("id")
        if not isinstance(ident, str) or not _ID.fullmatch(ident):
            raise WireError(f"{spec.id}: a pending prediction without a valid id")
        raise Poll(f"/predictions/{ident}", REPLICATE_POLL_S)
    if status == "failed":
        error = data.get("error")
        raise WireError(f"{spec.id}: {str(error)[:300] if error else 'Image generation failed'}", CheckError.OTHER)
    output = data.get("output")
    if not output:
        raise WireError(f"{spec.id}: No output received from Replicate", CheckError.OTHER)
    url = output[0] if isinstance(output, list) else output if isinstance(output, str) else None
    if not isinstance(url, str) or not url:
        raise WireError(f"{spec.id}: No image URL found in response")
    return ImageAnswer(markdown_image(prompt, url), None)


def _fal(spec: ProviderSpec, data: dict[str, Any], fetched: str | None, prompt: str) -> ImageAnswer:
    app, looked = fal_app(spec.model), (fetched or "").split("?")[0]
    if fetched is None or looked.endswith("/status"):  # the queue's receipt, or a look at the request's status
        ident = data.get("request_id") if fetched is None else looked.split("/")[-2]
        if not isinstance(ident, str) or not _ID.fullmatch(ident):
            raise WireError(f"{spec.id}: the queue's answer has no valid request_id")
        if fetched is not None and data.get("status") == "COMPLETED":
            raise Poll(f"/{app}/requests/{ident}", 0.0)
        if fetched is not None and data.get("status") not in ("IN_QUEUE", "IN_PROGRESS"):
            raise WireError(f"{spec.id}: the request's status is {str(data.get('status'))[:40]!r}")
        raise Poll(f"/{app}/requests/{ident}/status?logs=0", 0.0 if fetched is None else FAL_POLL_S)
    images = data.get("images")
    image = images[0] if isinstance(images, list) and images else data.get("image")
    url = image.get("url") if isinstance(image, dict) else None
    if not isinstance(url, str) or not url:
        raise WireError(f"{spec.id}: Failed to resolve image URL.", CheckError.OTHER)
    return ImageAnswer(markdown_image(prompt, url), None)
