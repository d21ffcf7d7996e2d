"""The scripted model server's HTTP surface (a TEST DOUBLE, never a real provider).

`POST /v1/chat/completions` and `GET /v1/models` speak OpenAI, `POST /v1/messages` speaks
Anthropic (streamed as server-sent events when asked, as promptfoo's `stream: true` asks), and bot.modelserver.vendors and vendors_more add the other vendors' formats; `/_control/faults`,
`/_control/stats` and `/_control/reset` let tests inject faults (errors, delays, hostile bodies)
and read counters; `/_control/drift` changes a model's answers and reported fingerprint behind
the same name. Answers come from `bot.modelserver.rules.answer`.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ValidationError

from bot.modelserver import agents, assistants, images, knowledge, live, vendors, vendors_more, watsonx, websocket, wire
from bot.modelserver.control import Drift, FaultSpec, ServerState
from bot.modelserver.hostile import hostile_response
from bot.modelserver.rules import answer
from bot.modelserver.tools import UnknownTool, tool_calls

LATENCY_HEADER = "x-scripted-latency-ms"
KNOWN_MODELS = (
    "gpt-4o-mini", "gpt-4o", "gpt-4.1-mini", "gpt-4.1", "scripted-flaky",
    "claude-3-5-haiku-latest", "claude-sonnet-4-0",
)


def create_app(latency_ms: float = 0, *, api_key: str | None = None) -> FastAPI:
    """A fresh server. `latency_ms` delays every answer (the `x-scripted-latency-ms` header overrides it
    per request); with `api_key`, requests must present it like the real APIs require."""
    app = FastAPI(title="prompt-review scripted model server (test double)", docs_url=None, redoc_url=None)
    state = ServerState()
    app.state.scripted = state

    async def body_or_error(request: Request, api: wire.Api, model_cls: type[BaseModel]) -> Any:
        try:
            raw = await request.body()
            return model_cls.model_validate(json.loads(raw or b"null"))
        except json.JSONDecodeError:
            return wire.error_response(api, 400, "We could not parse the JSON body of your request.")
        except ValidationError as exc:
            message, param = wire.validation_message(exc)
            return wire.error_response(api, 400, message, param=param)

    def auth_error(request: Request, api: wire.Api) -> Response | None:
        if api_key is None:
            return None
        presented = (
            request.headers.get("authorization", "").removeprefix("Bearer ").strip()
            if api == "openai"
            else request.headers.get("x-api-key", "")
        )
        if presented == api_key:
            return None
        return wire.error_response(api, 401, "Incorrect API key provided." if api == "openai" else "invalid x-api-key")

    async def before_answer(request: Request, api: wire.Api, model: str) -> Response | None:
        """Injected faults first, then the configured latency."""
        fault = state.take_fault(model)
        if fault is not None:
            if fault.delay_ms:
                await asyncio.sleep(fault.delay_ms / 1000)
            if fault.hostile:
                return hostile_response(api, model, fault)
            if fault.status is not None:
                return wire.error_response(api, fault.status, fault.message, retry_after=fault.retry_after)
        delay = request.headers.get(LATENCY_HEADER)
        try:
            wait_ms = float(delay) if delay is not None else latency_ms
        except ValueError:
            return wire.error_response(api, 400, f"{LATENCY_HEADER} must be a number of milliseconds")
        if wait_ms > 0:
            await asyncio.sleep(wait_ms / 1000)
        return None

    @app.post("/v1/chat/completions")
    @app.post("/v1beta1/projects/{project}/locations/{location}/endpoints/openapi/chat/completions")  # Llama on Vertex (MaaS)
    async def chat_completions(request: Request) -> Response:
        if (denied := auth_error(request, "openai")) is not None:
            return denied
        req = await body_or_error(request, "openai", wire.ChatCompletionRequest)
        if isinstance(req, Response):
            return req
        if req.stream:
            return wire.error_response("openai", 400, "stream is not supported by the scripted model server", param="stream")
        messages = [m.model_dump(exclude_none=True) for m in req.messages]
        try:
            calls = tool_calls(messages, req.tools, req.tool_choice)
        except UnknownTool as exc:
            return wire.error_response("openai", 400, str(exc), param="tool_choice")
        key = state.record("chat.completions", req.model, messages)
        if (failed := await before_answer(request, "openai", req.model)) is not None:
            return failed
        prompt_tokens = sum(wire.count_tokens(json.dumps(m.get("content", ""))) + 4 for m in messages)
        if calls:
            return JSONResponse(wire.tool_call_completion(req.model, calls, req.n, prompt_tokens))
        params = req.model_dump(exclude={"model", "messages", "tools", "tool_choice"}, exclude_none=True)
        text = answer(messages, req.model, params, call_index=state.answered(req.model, key))
        drift = state.drift(req.model)
        text = drift.apply(text, messages) if drift else text
        text, truncated = wire.truncate(text, req.max_completion_tokens or req.max_tokens)
        body = wire.chat_completion(req.model, [text] * req.n, truncated, prompt_tokens)
        if (req.model_extra or {}).get("logprobs") is True:  # the answer tokens' log-probabilities, as OpenAI gives them
            top = (req.model_extra or {}).get("top_logprobs")
            for choice in body["choices"]:
                choice["logprobs"] = wire.token_logprobs(text, top if isinstance(top, int) else None)
        if drift:
            body.update(model=drift.reported_model or req.model, system_fingerprint=drift.system_fingerprint or body["system_fingerprint"])
        return JSONResponse(body)

    @app.post("/v1/messages")
    async def messages(request: Request) -> Response:
        if (denied := auth_error(request, "anthropic")) is not None:
            return denied
        req = await body_or_error(request, "anthropic", wire.MessagesRequest)
        if isinstance(req, Response):
            return req
        return await claude(request, req)

    @app.post("/v1/projects/{project}/locations/{location}/publishers/anthropic/models/{model_action}")
    async def vertex_claude(project: str, location: str, model_action: str, request: Request) -> Response:
        """Claude on Vertex: the messages API at rawPredict, the model in the path and an OAuth bearer token."""
        model, _, action = model_action.partition(":")
        if action != "rawPredict":
            return wire.error_response("anthropic", 404, f"unknown method {action!r}")
        if api_key is not None and request.headers.get("authorization", "") != f"Bearer {api_key}":
            return wire.error_response("anthropic", 401, "Request had invalid authentication credentials.")
        try:
            data = json.loads(await request.body() or b"null")
            if not isinstance(data, dict) or data.get("anthropic_version") != "vertex-2023-10-16" or "model" in data:
                return wire.error_response("anthropic", 400, "anthropic_version must be vertex-2023-10-16, and the model is named in the URL")
            req = wire.MessagesRequest.model_validate({**data, "model": model})
        except json.JSONDecodeError:
            return wire.error_response("anthropic", 400, "We could not parse the JSON body of your request.")
        except ValidationError as exc:
            message, param = wire.validation_message(exc)
            return wire.error_response("anthropic", 400, message, param=param)
        return await claude(request, req)

    async def claude(request: Request, req: wire.MessagesRequest) -> Response:
        answered = await claude_message(request, req)
        if not req.stream or not isinstance(answered, dict):  # an error is never streamed
            return JSONResponse(answered) if isinstance(answered, dict) else answered
        return Response(wire.anthropic_events(answered), media_type="text/event-stream")  # as the API streams it (promptfoo's stream: true)

    async def claude_message(request: Request, req: wire.MessagesRequest) -> dict[str, Any] | Response:
        chat = [m.model_dump() for m in req.messages]
        if req.system:
            chat.insert(0, {"role": "system", "content": req.system})
        try:
            calls = tool_calls(chat, req.tools, req.tool_choice)
        except UnknownTool as exc:
            return wire.error_response("anthropic", 400, f"tool_choice: {exc}")
        key = state.record("messages", req.model, chat)
        if (failed := await before_answer(request, "anthropic", req.model)) is not None:
            return failed
        input_tokens = sum(wire.count_tokens(json.dumps(m["content"])) for m in chat)
        if calls:
            return wire.anthropic_tool_use(req.model, calls, input_tokens)
        params = req.model_dump(exclude={"model", "messages", "system", "tools", "tool_choice", "stream"}, exclude_none=True)
        text = answer(chat, req.model, params, call_index=state.answered(req.model, key))
        drift = state.drift(req.model)
        text = drift.apply(text, chat) if drift else text
        text, truncated = wire.truncate(text, req.max_tokens)
        body = wire.anthropic_message(req.model, text, truncated, input_tokens)
        if drift and drift.reported_model:
            body["model"] = drift.reported_model
        return body

    @app.get("/v1/models")
    async def models(request: Request) -> dict[str, Any]:
        now = int(time.time())
        if "anthropic-version" in request.headers:
            data = [
                {"type": "model", "id": m, "display_name": m, "created_at": "2025-01-01T00:00:00Z"}
                for m in KNOWN_MODELS
                if m.startswith("claude")
            ]
            return {"data": data, "has_more": False, "first_id": data[0]["id"], "last_id": data[-1]["id"]}
        return {
            "object": "list",
            "data": [{"id": m, "object": "model", "created": now, "owned_by": "scripted"} for m in KNOWN_MODELS],
        }

    vendors.register(app, state, before_answer, api_key)
    vendors_more.register(app, state, before_answer, api_key)
    assistants.register(app, state, before_answer, api_key)
    knowledge.register(app, state, before_answer, api_key)  # Bedrock knowledge bases (RetrieveAndGenerate)
    agents.register(app, state, before_answer, api_key)  # Bedrock agents (InvokeAgent, an event stream)
    live.register(app, state, api_key)  # before websocket's /ws/{variant}, which would take Gemini's path
    websocket.register(app, state)
    watsonx.register(app, state, before_answer, api_key)
    images.register(app, state, before_answer, api_key)

    @app.post("/_control/faults")
    async def add_fault(request: Request) -> Response:
        try:
            spec = FaultSpec.model_validate(json.loads(await request.body() or b"null"))
        except (json.JSONDecodeError, ValidationError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse({"queued": state.add_fault(spec)})

    @app.post("/_control/drift")
    async def set_drift(request: Request) -> Response:
        try:
            drift = Drift.model_validate(json.loads(await request.body() or b"null"))
        except (json.JSONDecodeError, ValidationError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        state.set_drift(drift)
        return JSONResponse({"drifted": drift.model})

    @app.get("/_control/stats")
    async def stats() -> dict[str, Any]:
        return state.stats()

    @app.post("/_control/reset")
    async def reset() -> dict[str, Any]:
        state.reset()
        return state.stats()

    return app
