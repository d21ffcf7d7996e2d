"""Image generation APIs of the scripted model server (a TEST DOUBLE): OpenAI's and xAI's images API, Hyperbolic's
image generation, fal.ai's queue (under /fal, where tests point FAL_BASE_URL), and the answers Imagen's predict and Gemini's
image models' generateContent (bot.modelserver.vendors) and Replicate's image models (bot.modelserver.vendors_more) give. An image is a
deterministic fake URL (under the reserved .invalid domain, never fetched) or a tiny base64 PNG.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from bot.modelserver import wire
from bot.modelserver.control import ServerState

TINY_PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
BeforeAnswer = Callable[[Request, wire.Api, str], Awaitable[Response | None]]


def image_url(model: str, prompt: str, ext: str = "png") -> str:
    """The same model and prompt always give the same URL."""
    digest = hashlib.sha256(f"{model}\n{prompt}".encode()).hexdigest()[:16]
    return f"https://images.scripted.invalid/{model.replace('/', '-').replace(':', '-')}/{digest}.{ext}"


def is_image_input(inputs: dict[str, Any]) -> bool:
    """A Replicate prediction for an image model: promptfoo's image provider always sends width and height."""
    return isinstance(inputs.get("width"), int) and isinstance(inputs.get("height"), int)


def imagen_predict(state: ServerState, endpoint: str, model: str, data: dict[str, Any]) -> Response | None:
    """Imagen's predict ({instances: [{prompt}], parameters}); None for a request that is not one (embeddings)."""
    instances = data.get("instances")
    if not model.startswith("imagen-") or not isinstance(instances, list) or not instances:
        return None
    prompts = [i.get("prompt") for i in instances if isinstance(i, dict)]
    if not prompts or not all(isinstance(p, str) and p for p in prompts):
        return JSONResponse({"error": {"code": 400, "message": "instances[].prompt is required", "status": "INVALID_ARGUMENT"}},
                            status_code=400)
    parameters = data.get("parameters")
    count = parameters.get("sampleCount", 1) if isinstance(parameters, dict) else 1
    if not isinstance(count, int) or not 1 <= count <= 4:
        return JSONResponse({"error": {"code": 400, "message": "sampleCount must be between 1 and 4", "status": "INVALID_ARGUMENT"}},
                            status_code=400)
    state.record(f"{endpoint.split('.')[0]}.imagen", model, [{"role": "user", "content": prompts[0]}])
    return JSONResponse({"predictions": [{"bytesBase64Encoded": TINY_PNG, "mimeType": "image/png"}] * count})


def gemini_image(state: ServerState, endpoint: str, model: str, data: dict[str, Any]) -> Response | None:
    """Gemini's native image generation: a generateContent request whose generationConfig.responseModalities asks
    for IMAGE gets one inline PNG part; None for every other request (a text answer)."""
    generation = data.get("generationConfig")
    modalities = generation.get("responseModalities") if isinstance(generation, dict) else None
    if not isinstance(modalities, list) or "IMAGE" not in modalities:
        return None
    contents = data.get("contents")
    parts = contents[0].get("parts") if isinstance(contents, list) and contents and isinstance(contents[0], dict) else None
    text = parts[0].get("text") if isinstance(parts, list) and parts and isinstance(parts[0], dict) else None
    if not isinstance(text, str) or not text:
        return JSONResponse({"error": {"code": 400, "message": "contents[0].parts[0].text is required", "status": "INVALID_ARGUMENT"}},
                            status_code=400)
    state.record(f"{endpoint.split('.')[0]}.image", model, [{"role": "user", "content": text}])
    prompt_tokens = wire.count_tokens(text)
    return JSONResponse({
        "candidates": [{"content": {"role": "model", "parts": [{"inlineData": {"mimeType": "image/png", "data": TINY_PNG}}]},
                        "finishReason": "STOP", "index": 0}],
        "usageMetadata": {"promptTokenCount": prompt_tokens, "candidatesTokenCount": 1290, "totalTokenCount": prompt_tokens + 1290,
                          "candidatesTokensDetails": [{"modality": "IMAGE", "tokenCount": 1290}]},
        "modelVersion": model,
    })


def register(app: FastAPI, state: ServerState, before_answer: BeforeAnswer, api_key: str | None) -> None:
    queued: dict[str, dict[str, Any]] = {}  # fal request id → {model, prompt, looks}

    def authorized(request: Request, scheme: str) -> bool:
        return api_key is None or request.headers.get("authorization", "") == f"{scheme} {api_key}"

    async def body_of(request: Request) -> dict[str, Any] | None:
        try:
            data = json.loads(await request.body() or b"null")
        except json.JSONDecodeError:
            return None
        return data if isinstance(data, dict) else None

    @app.post("/v1/images/generations")
    @app.post("/v1/images/edits")
    async def images(request: Request) -> Response:
        """OpenAI's images API (xAI's is the same): a URL answer, or b64_json (always for GPT Image models)."""
        if not authorized(request, "Bearer"):
            return wire.error_response("openai", 401, "Incorrect API key provided.")
        data = await body_of(request)
        if data is None or not isinstance(data.get("model"), str) or not isinstance(data.get("prompt"), str) or not data["prompt"]:
            return wire.error_response("openai", 400, "model and prompt are required", param="prompt")
        model, prompt, n = data["model"], data["prompt"], data.get("n", 1)
        if not isinstance(n, int) or not 1 <= n <= 10 or (model == "dall-e-3" and n != 1):
            return wire.error_response("openai", 400, "n must be between 1 and 10 (1 for dall-e-3)", param="n")
        state.record("images.generations", model, [{"role": "user", "content": prompt}])
        if (failed := await before_answer(request, "openai", model)) is not None:
            return failed
        b64 = data.get("response_format") == "b64_json" or model.startswith("gpt-image")
        item = {"b64_json": TINY_PNG} if b64 else {"url": image_url(model, prompt)}
        answer: dict[str, Any] = {"created": int(time.time()), "data": [item] * n}
        if model.startswith("gpt-image"):
            answer["usage"] = {"input_tokens": wire.count_tokens(prompt), "output_tokens": 272, "total_tokens": wire.count_tokens(prompt) + 272}
        return JSONResponse(answer)

    @app.post("/v1/image/generation")
    async def hyperbolic(request: Request) -> Response:
        if not authorized(request, "Bearer"):
            return JSONResponse({"detail": "Unauthorized"}, status_code=401)
        data = await body_of(request)
        if data is None or not isinstance(data.get("model_name"), str) or not isinstance(data.get("prompt"), str):
            return JSONResponse({"detail": "model_name and prompt are required"}, status_code=422)
        state.record("hyperbolic.image", data["model_name"], [{"role": "user", "content": data["prompt"]}])
        if (failed := await before_answer(request, "openai", data["model_name"])) is not None:
            return failed
        return JSONResponse({"images": [{"index": 0, "image": TINY_PNG, "random_seed": 42}], "inference_time": 0.1})

    @app.post("/fal/{model:path}")
    async def fal_submit(model: str, request: Request) -> Response:
        if not authorized(request, "Key"):
            return JSONResponse({"detail": "No user found for Key ID and Secret"}, status_code=401)
        data = await body_of(request)
        if data is None or not isinstance(data.get("prompt"), str) or not data["prompt"]:
            return JSONResponse({"detail": [{"loc": ["body", "prompt"], "msg": "field required", "type": "value_error.missing"}]},
                                status_code=422)
        state.record("fal.queue", model, [{"role": "user", "content": data["prompt"]}])
        if (failed := await before_answer(request, "openai", model)) is not None:
            return failed
        ident = str(uuid.uuid4())
        queued[ident] = {"model": model, "prompt": data["prompt"], "looks": 0}
        return JSONResponse({"request_id": ident, "status": "IN_QUEUE", "queue_position": 0})

    @app.get("/fal/{app_path:path}")
    async def fal_request(app_path: str, request: Request) -> Response:
        if not authorized(request, "Key"):
            return JSONResponse({"detail": "No user found for Key ID and Secret"}, status_code=401)
        head, _, rest = app_path.partition("/requests/")
        ident, _, what = rest.partition("/")
        job = queued.get(ident)
        if job is None or not job["model"].startswith(head):
            return JSONResponse({"detail": "Request not found"}, status_code=404)
        if what == "status":  # the first look finds it running: clients must poll
            job["looks"] += 1
            return JSONResponse({"status": "COMPLETED" if job["looks"] > 1 else "IN_PROGRESS", "request_id": ident, "logs": None})
        if what or job["looks"] < 2:
            return JSONResponse({"detail": "Request is still in progress"}, status_code=400)
        return JSONResponse({"images": [{"url": image_url(job["model"], job["prompt"], "jpeg"), "width": 1024, "height": 768,
                                         "content_type": "image/jpeg"}], "timings": {"inference": 0.1}, "seed": 42,
                             "has_nsfw_concepts": [False], "prompt": job["prompt"]})
