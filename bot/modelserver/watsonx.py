"""IBM watsonx.ai for the scripted model server (a TEST DOUBLE): IBM Cloud IAM's token exchange
(`POST /identity/token`, form `grant_type` + `apikey` → `{access_token, expires_in, expiration}`) and the text
generation API (`POST /ml/v1/text/generation?version=…` with a bearer token: an issued one, or the API key
itself standing in for a WATSONX_AI_BEARER_TOKEN). Tokens live `token_ttl_s` seconds (the `x-scripted-token-ttl`
header of the exchange overrides it), so tests can watch a cached token being exchanged again.
"""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from bot.modelserver import wire
from bot.modelserver.control import ServerState
from bot.modelserver.rules import answer
from bot.modelserver.vendors import BeforeAnswer

IAM_GRANT = "urn:ibm:params:oauth:grant-type:apikey"
TTL_HEADER = "x-scripted-token-ttl"


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"errors": [{"code": code, "message": message}], "trace": "scripted", "status_code": status}, status_code=status)


def register(app: FastAPI, state: ServerState, before_answer: BeforeAnswer, api_key: str | None, token_ttl_s: int = 3600) -> None:
    issued: dict[str, float] = {}  # token → expiry (time.time())
    numbers = itertools.count(1)

    @app.post("/identity/token")
    async def iam_token(request: Request) -> Response:
        form = await request.form()
        state.record("iam.token", "iam", [])
        if form.get("grant_type") != IAM_GRANT:
            return JSONResponse({"errorCode": "BXNIM0415E", "errorMessage": "Provided grant type is not supported"}, status_code=400)
        if not form.get("apikey") or (api_key is not None and form.get("apikey") != api_key):
            return JSONResponse({"errorCode": "BXNIM0415E", "errorMessage": "Provided API key could not be found."}, status_code=400)
        ttl = int(request.headers.get(TTL_HEADER, token_ttl_s))
        token = f"scripted-iam-token-{next(numbers)}"
        issued[token] = time.time() + ttl
        return JSONResponse({"access_token": token, "refresh_token": "not_supported", "token_type": "Bearer",
                             "expires_in": ttl, "expiration": int(issued[token])})

    @app.post("/ml/v1/text/generation")
    async def generation(request: Request) -> Response:
        presented = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if not (presented in issued and issued[presented] > time.time()) and not (api_key is not None and presented == api_key):
            return _error(401, "authentication_token_expired" if presented in issued else "authorization_rejected",
                          "Failed to authenticate the request due to an expired or invalid token")
        if not request.query_params.get("version"):
            return _error(400, "invalid_request_entity", "Missing query parameter `version`")
        try:
            data = json.loads(await request.body() or b"null")
        except json.JSONDecodeError:
            return _error(400, "json_type_error", "Json document validation error")
        if not isinstance(data, dict) or not isinstance(data.get("input"), str) or not isinstance(data.get("model_id"), str) \
                or not (data.get("project_id") or data.get("space_id")):
            return _error(400, "invalid_request_entity", "input, model_id and project_id (or space_id) are required")
        model, text = data["model_id"], data["input"]
        parameters: Any = data.get("parameters") or {}
        try:
            chat = json.loads(text)
        except ValueError:
            chat = None
        if not (isinstance(chat, list) and all(isinstance(m, dict) and "role" in m for m in chat)):
            chat = [{"role": "user", "content": text}]
        key = state.record("watsonx.generation", model, chat)
        if (failed := await before_answer(request, "openai", model)) is not None:
            return failed
        reply, truncated = wire.truncate(answer(chat, model, {}, call_index=state.answered(model, key)), parameters.get("max_new_tokens"))
        tokens_in = wire.count_tokens(text)
        return JSONResponse({
            "model_id": model, "model_version": "1.0.0", "created_at": "2025-01-01T00:00:00.000Z",
            "results": [{"generated_text": reply, "generated_token_count": wire.count_tokens(reply), "input_token_count": tokens_in,
                         "stop_reason": "max_tokens" if truncated else "eos_token"}],
            "system": {"warnings": []},
        })
