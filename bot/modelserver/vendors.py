"""More vendors' wire formats on the scripted model server (a TEST DOUBLE): the OpenAI responses API,
Azure OpenAI deployments, Google Gemini and Vertex generateContent, AWS Bedrock Converse (requests must
carry a SigV4 signature that verifies against the test credentials, or a Bedrock API key; tools answered with
`toolUse` blocks, and a reasoning block before the text when thinking or Nova 2's reasoning is asked for), Ollama's
/api/chat, /api/generate and /api/embeddings, and a plain JSON endpoint for `http` providers. Answers come from the same rules as the
OpenAI and Anthropic endpoints, so a suite scores the same whichever vendor it names.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from bot.modelserver import images, wire
from bot.modelserver.control import ServerState
from bot.modelserver.rules import answer
from bot.modelserver.tools import UnknownTool, tool_calls

# The credentials a test gives the reviewer for Bedrock; the server re-signs each request with them.
TEST_AWS_KEY_ID = "AKIDSCRIPTEDTEST"
TEST_AWS_SECRET = "scripted-secret-key"
_SIGV4 = re.compile(r"^AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([a-z0-9-]+)/([a-z]+)/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$")

BeforeAnswer = Callable[[Request, wire.Api, str], Awaitable[Response | None]]


def _mapping(value: object) -> dict:
    """A JSON object from an answer, or {} for anything else (a missing or odd field never fails the parse)."""
    return value if isinstance(value, dict) else {}


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": status, "message": message, "status": "INVALID_ARGUMENT"}}, status_code=status)


def _texts(parts: Any) -> str:
    if isinstance(parts, str):
        return parts
    return "".join(p.get("text", "") for p in parts or [] if isinstance(p, dict) and isinstance(p.get("text"), str))


def _tokens(chat: list[dict[str, Any]]) -> int:
    return sum(wire.count_tokens(json.dumps(m["content"])) for m in chat)


def _listed(prompt: str) -> list[dict[str, Any]] | None:
    """A completion prompt that is a JSON message list (a chat prompt or a grader's, as promptfoo passes it to a completion
    API), read as those messages so the rules see the same chat as on the chat endpoints; None for any other text."""
    try:
        value = json.loads(prompt) if prompt.lstrip().startswith("[") else None
    except json.JSONDecodeError:
        return None
    if not isinstance(value, list) or not value or not all(isinstance(m, dict) and "content" in m for m in value):
        return None
    return [{"role": m.get("role", "user"), "content": m["content"]} for m in value]


def _converse_choice(choice: dict[str, Any]) -> dict[str, Any] | None:
    """Converse's toolChoice ({auto: {}} | {any: {}} | {tool: {name}}) as Anthropic's."""
    if "any" in choice:
        return {"type": "any"}
    if isinstance(choice.get("tool"), dict):
        return {"type": "tool", "name": choice["tool"].get("name")}
    return None


def verify_sigv4(request: Request, body: bytes, service: str = "bedrock") -> str | None:
    """None when the Authorization header is a SigV4 signature of this very request by the test credentials."""
    # Imported here: ~150 ms of botocore at every model-server start, for the Bedrock routes only.
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    m = _SIGV4.match(request.headers.get("authorization", ""))
    if m is None:
        return "missing or malformed SigV4 Authorization header"
    key_id, _day, region, signed_for, signed, signature = m.groups()
    if key_id != TEST_AWS_KEY_ID:
        return "unknown access key id"
    if signed_for != service:
        return f"signed for {signed_for}, not {service}"
    headers = {name: request.headers.get(name, "") for name in signed.split(";")}
    # the path as sent (still percent-encoded): SigV4 signs the encoded form
    url = f"{request.url.scheme}://{request.headers.get('host', '')}{request.scope.get('raw_path', b'').decode('latin-1')}"
    if request.url.query:
        url += "?" + request.url.query
    again = AWSRequest(method=request.method, url=url, data=body, headers=headers)
    signer = SigV4Auth(Credentials(TEST_AWS_KEY_ID, TEST_AWS_SECRET), service, region)
    again.context["timestamp"] = request.headers.get("x-amz-date", "")
    canonical = signer.canonical_request(again)
    expected = signer.signature(signer.string_to_sign(again, canonical), again)
    return None if expected == signature else "the signature does not match"


def register(app: FastAPI, state: ServerState, before_answer: BeforeAnswer, api_key: str | None) -> None:
    async def reply(request: Request, endpoint: str, model: str, chat: list[dict[str, Any]], params: dict[str, Any],
                    max_tokens: int | None) -> tuple[str, bool] | Response:
        key = state.record(endpoint, model, chat)
        if (failed := await before_answer(request, "openai", model)) is not None:
            return failed
        text = answer(chat, model, params, call_index=state.answered(model, key))
        return wire.truncate(text, max_tokens)

    async def calling(request: Request, endpoint: str, model: str, chat: list[dict[str, Any]]) -> Response | None:
        """A request answered with tool calls counts and fails like any other (None: answer it)."""
        state.record(endpoint, model, chat)
        return await before_answer(request, "openai", model)

    def key_ok(request: Request, header: str, prefix: str = "") -> bool:
        return api_key is None or request.headers.get(header, "") == prefix + api_key

    async def body_of(request: Request) -> dict[str, Any] | Response:
        try:
            data = json.loads(await request.body() or b"null")
        except json.JSONDecodeError:
            return _error(400, "Invalid JSON payload received.")
        return data if isinstance(data, dict) else _error(400, "The request body must be a JSON object.")

    @app.post("/v1/responses")
    async def responses(request: Request) -> Response:
        if not key_ok(request, "authorization", "Bearer "):
            return wire.error_response("openai", 401)
        data = await body_of(request)
        if isinstance(data, Response):
            return data
        model, items = data.get("model"), data.get("input")
        if not isinstance(model, str) or not isinstance(items, (list, str)):
            return wire.error_response("openai", 400, "model and input are required", param="input")
        chat = [{"role": "user", "content": items}] if isinstance(items, str) else [
            {"role": m.get("role", "user"), "content": m.get("content")} for m in items if isinstance(m, dict)]
        try:  # rule 12: a request that declares tools and names one is answered with function_call items
            calls = tool_calls(chat, data.get("tools"), data.get("tool_choice"))
        except UnknownTool as exc:
            return wire.error_response("openai", 400, str(exc), param="tool_choice")
        if calls:
            if (failed := await calling(request, "responses", model, chat)) is not None:
                return failed
            return JSONResponse({
                "id": f"resp_{uuid.uuid4().hex}", "object": "response", "model": model, "status": "completed", "incomplete_details": None,
                "output": [{"type": "function_call", "id": c.call_id("fc_", i), "call_id": c.call_id("call_", i), "name": c.name,
                            "arguments": c.arguments_json, "status": "completed"} for i, c in enumerate(calls)],
                "usage": {"input_tokens": _tokens(chat), "output_tokens": sum(wire.count_tokens(c.arguments_json) for c in calls)},
            })
        got = await reply(request, "responses", model, chat, {k: v for k, v in data.items() if k not in ("model", "input")},
                          data.get("max_output_tokens"))
        if isinstance(got, Response):
            return got
        text, truncated = got
        return JSONResponse({
            "id": f"resp_{uuid.uuid4().hex}", "object": "response", "model": model,
            "status": "incomplete" if truncated else "completed",
            "incomplete_details": {"reason": "max_output_tokens"} if truncated else None,
            "output": [{"type": "message", "id": f"msg_{uuid.uuid4().hex[:16]}", "role": "assistant", "status": "completed",
                        "content": [{"type": "output_text", "text": text, "annotations": []}]}],
            "usage": {"input_tokens": _tokens(chat), "output_tokens": wire.count_tokens(text)},
        })

    @app.post("/openai/deployments/{deployment}/chat/completions")
    async def azure(deployment: str, request: Request) -> Response:
        if not request.query_params.get("api-version"):
            return wire.error_response("openai", 404, "Resource not found")
        if not key_ok(request, "api-key"):
            return wire.error_response("openai", 401, "Access denied due to invalid subscription key.")
        data = await body_of(request)
        if isinstance(data, Response):
            return data
        chat = [{"role": m.get("role"), "content": m.get("content")} for m in data.get("messages") or [] if isinstance(m, dict)]
        try:  # rule 12, as the OpenAI endpoint
            calls = tool_calls(chat, data.get("tools"), data.get("tool_choice"))
        except UnknownTool as exc:
            return wire.error_response("openai", 400, str(exc), param="tool_choice")
        if calls:
            if (failed := await calling(request, "azure.chat.completions", deployment, chat)) is not None:
                return failed
            return JSONResponse(wire.tool_call_completion(deployment, calls, 1, _tokens(chat)))
        got = await reply(request, "azure.chat.completions", deployment, chat, {}, data.get("max_tokens"))
        if isinstance(got, Response):
            return got
        text, truncated = got
        return JSONResponse(wire.chat_completion(deployment, [text], truncated, _tokens(chat)))

    async def generate_content(request: Request, model_action: str, endpoint: str, auth_ok: bool) -> Response:
        model, _, action = model_action.partition(":")
        embeds = {"gemini": "embedContent", "vertex": "predict"}[endpoint.split(".")[0]]
        if action not in ("generateContent", embeds, "predict"):  # predict: Imagen (bot.modelserver.images)
            return _error(404, f"unknown method {action!r}")
        if not auth_ok:
            return _error(401, "API key not valid. Please pass a valid API key.")
        data = await body_of(request)
        if isinstance(data, Response):
            return data
        if action == embeds or action == "predict":
            if action == "predict" and (imagen := images.imagen_predict(state, endpoint, model, data)) is not None:
                return imagen
            if action != embeds:
                return _error(404, f"unknown method {action!r}")
            return _embedding(endpoint, model, data)
        if (image := images.gemini_image(state, endpoint, model, data)) is not None:
            return await before_answer(request, "openai", model) or image  # faults apply to image models too
        chat: list[dict[str, Any]] = []
        system = data.get("systemInstruction")
        if isinstance(system, dict):
            chat.append({"role": "system", "content": _texts(system.get("parts"))})
        for c in data.get("contents") or []:
            if isinstance(c, dict):
                chat.append({"role": "assistant" if c.get("role") == "model" else "user", "content": c.get("parts")})
        generation = _mapping(data.get("generationConfig"))
        got = await reply(request, endpoint, model, chat, {}, generation.get("maxOutputTokens"))
        if isinstance(got, Response):
            return got
        text, truncated = got
        return JSONResponse({
            "candidates": [{"content": {"role": "model", "parts": [{"text": text}]}, "finishReason": "MAX_TOKENS" if truncated else "STOP", "index": 0}],
            "usageMetadata": {"promptTokenCount": _tokens(chat), "candidatesTokenCount": wire.count_tokens(text)},
            "modelVersion": model,
        })

    def _embedding(endpoint: str, model: str, data: dict[str, Any]) -> Response:
        """Gemini's embedContent ({content: {parts}}) and Vertex's predict ({instances: [{content}]}): bag-of-words vectors."""
        if endpoint.startswith("gemini"):
            text = _texts(_mapping(data.get("content")).get("parts"))
            state.record("gemini.embedContent", model, [{"role": "user", "content": text}])
            return JSONResponse({"embedding": {"values": wire.bag_of_words(text)}})
        instances = [str(_mapping(i).get("content", "")) for i in data.get("instances") or []]
        if not instances:
            return _error(400, "instances is required")
        state.record("vertex.predict", model, [{"role": "user", "content": t} for t in instances])
        return JSONResponse({"predictions": [{"embeddings": {"values": wire.bag_of_words(t), "statistics": {"token_count": wire.count_tokens(t)}}}
                                             for t in instances]})

    @app.post("/v1beta/models/{model_action}")
    async def gemini(model_action: str, request: Request) -> Response:
        return await generate_content(request, model_action, "gemini.generateContent", key_ok(request, "x-goog-api-key"))

    @app.post("/v1/projects/{project}/locations/{location}/publishers/google/models/{model_action}")
    async def vertex(project: str, location: str, model_action: str, request: Request) -> Response:
        return await generate_content(request, model_action, "vertex.generateContent", key_ok(request, "authorization", "Bearer "))

    @app.post("/model/{model_id}/converse")
    async def bedrock(model_id: str, request: Request) -> Response:
        raw = await request.body()
        bearer = request.headers.get("authorization", "")
        if api_key is not None and bearer != f"Bearer {api_key}":
            problem = verify_sigv4(request, raw)
            if problem:
                return JSONResponse({"message": f"The request signature we calculated does not match: {problem}"}, status_code=403)
        data = await body_of(request)
        if isinstance(data, Response):
            return data
        chat: list[dict[str, Any]] = [{"role": "system", "content": _texts(data.get("system"))}] if data.get("system") else []
        chat += [{"role": m.get("role"), "content": m.get("content")} for m in data.get("messages") or [] if isinstance(m, dict)]
        inference = _mapping(data.get("inferenceConfig"))
        tool_config = _mapping(data.get("toolConfig"))
        try:  # rule 12 in Converse's form: toolSpecs read as Anthropic's tools, the choice as Anthropic's
            calls = tool_calls(chat, [{"name": t.get("name"), "description": t.get("description"), "input_schema": _mapping(t.get("inputSchema")).get("json")}
                                      for t in (_mapping(x).get("toolSpec") for x in tool_config.get("tools") or []) if isinstance(t, dict)],
                               _converse_choice(_mapping(tool_config.get("toolChoice"))))
        except UnknownTool as exc:
            return JSONResponse({"message": str(exc)}, status_code=400, headers={"x-amzn-errortype": "ValidationException"})
        if calls:
            if (failed := await calling(request, "bedrock.converse", model_id, chat)) is not None:
                return failed
            uses = [{"toolUse": {"toolUseId": c.call_id("tooluse_", i), "name": c.name, "input": dict(c.arguments)}} for i, c in enumerate(calls)]
            return JSONResponse({"output": {"message": {"role": "assistant", "content": uses}}, "stopReason": "tool_use",
                                 "usage": {"inputTokens": _tokens(chat), "outputTokens": 1, "totalTokens": 0}, "metrics": {"latencyMs": 1}})
        got = await reply(request, "bedrock.converse", model_id, chat, {}, inference.get("maxTokens"))
        if isinstance(got, Response):
            return got
        text, truncated = got
        content: list[dict[str, Any]] = [{"text": text}]
        fields = _mapping(data.get("additionalModelRequestFields"))
        if _mapping(fields.get("thinking")).get("type") in ("enabled", "adaptive") or _mapping(fields.get("reasoningConfig")).get("type") == "enabled":
            # reasoning asked for (Claude's thinking, Nova 2's reasoningConfig): a reasoning block before the text, as AWS answers it
            said = _texts([b for m in data.get("messages") or [] if isinstance(m, dict) and m.get("role") == "user"
                           for b in m.get("content") or [] if isinstance(b, dict)][-1:])
            content.insert(0, {"reasoningContent": {"reasoningText": {"text": f"The question is: {said}", "signature": "scripted-signature"}}})
        return JSONResponse({
            "output": {"message": {"role": "assistant", "content": content}},
            "stopReason": "max_tokens" if truncated else "end_turn",
            "usage": {"inputTokens": _tokens(chat), "outputTokens": wire.count_tokens(text), "totalTokens": 0},
            "metrics": {"latencyMs": 1},
        })

    @app.post("/api/chat")
    async def ollama(request: Request) -> Response:
        data = await body_of(request)
        if isinstance(data, Response):
            return data
        model = data.get("model")
        if not isinstance(model, str):
            return _error(400, "model is required")
        chat = [{"role": m.get("role"), "content": m.get("content")} for m in data.get("messages") or [] if isinstance(m, dict)]
        options = _mapping(data.get("options"))
        got = await reply(request, "ollama.chat", model, chat, {}, options.get("num_predict"))
        if isinstance(got, Response):
            return got
        text, truncated = got
        return _ollama_answer(data, {"message": {"role": "assistant", "content": text}},
                              {"message": {"role": "assistant", "content": ""}}, _tokens(chat), text, truncated)

    def ollama_key_ok(request: Request) -> bool:
        """An Ollama behind an authenticating proxy: a bearer token, when one is sent, must be the test key (none is fine)."""
        sent = request.headers.get("authorization")
        return sent is None or api_key is None or sent == f"Bearer {api_key}"

    async def ollama_prompt(request: Request) -> tuple[dict[str, Any], str, str] | Response:
        """A generate or embeddings request's body, model and prompt; or the answer refusing it (401 or 400)."""
        if not ollama_key_ok(request):
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        data = await body_of(request)
        if isinstance(data, Response):
            return data
        model, prompt = data.get("model"), data.get("prompt")
        if not isinstance(model, str) or not isinstance(prompt, str):
            return _error(400, "model and prompt are required")
        return data, model, prompt

    @app.post("/api/generate")
    async def ollama_generate(request: Request) -> Response:
        """Ollama's generate API, unstreamed: one prompt text → {response, done, done_reason, counts}."""
        asked = await ollama_prompt(request)
        if isinstance(asked, Response):
            return asked
        data, model, prompt = asked
        if data.get("stream", True) is not False:
            return _error(400, "stream must be false for the scripted server")
        chat = _listed(prompt) or [{"role": "user", "content": prompt}]
        got = await reply(request, "ollama.generate", model, chat, {}, _mapping(data.get("options")).get("num_predict"))
        if isinstance(got, Response):
            return got
        text, truncated = got
        return JSONResponse({"model": model, "response": text, "done": True, "done_reason": "length" if truncated else "stop",
                             "prompt_eval_count": wire.count_tokens(prompt), "eval_count": wire.count_tokens(text)})

    @app.post("/api/embeddings")
    async def ollama_embeddings(request: Request) -> Response:
        """Ollama's (older) embeddings API: {model, prompt} → {embedding}, a bag-of-words vector."""
        asked = await ollama_prompt(request)
        if isinstance(asked, Response):
            return asked
        _, model, prompt = asked
        state.record("ollama.embeddings", model, [{"role": "user", "content": prompt}])
        return JSONResponse({"embedding": wire.bag_of_words(prompt)})

    @app.post("/custom/generate")
    async def custom(request: Request) -> Response:
        """A team's own service, as an `http` provider calls it: {"prompt": …} → {"result": {"text": …}}."""
        data = await body_of(request)
        if isinstance(data, Response):
            return data
        prompt = data.get("prompt") if isinstance(data.get("prompt"), str) else ""
        got = await reply(request, "custom.generate", "custom", [{"role": "user", "content": prompt}], {}, None)
        if isinstance(got, Response):
            return got
        return JSONResponse({"result": {"text": got[0]}})


def _ollama_answer(data: dict[str, Any], part: dict[str, Any], last: dict[str, Any], prompt_tokens: int, text: str,
                   truncated: bool) -> Response:
    """One JSON object with `stream: false`; else Ollama's default, a stream of JSON lines: the answer (`part`), then a
    `done` line with the counts (`last`: the answer's key, empty). promptfoo sends no `stream` to /api/chat and reads
    the lines."""
    model = data.get("model")
    done = {"model": model, "done": True, "done_reason": "length" if truncated else "stop",
            "prompt_eval_count": prompt_tokens, "eval_count": wire.count_tokens(text)}
    if data.get("stream", True) is False:
        return JSONResponse({"model": model, **part, **done})
    lines = [{"model": model, **part, "done": False}, {**done, **last}]
    return Response("".join(json.dumps(line) + "\n" for line in lines), media_type="application/x-ndjson")
