"""The scripted model server's streaming chat APIs over WebSocket (a TEST DOUBLE): OpenAI's Realtime API at
`/v1/realtime?model=M` (Azure's at `/openai/v1/realtime?model=DEPLOYMENT`, with an `api-key` header) and Gemini's Live API at `/ws/google.ai.generativelanguage.VERSION.GenerativeService.
BidiGenerateContent`. Both answer with the chat rules (bot.modelserver.rules) and the tool rules
(bot.modelserver.tools), streamed word by word as the vendors stream text, with usage at the end.

- Realtime: session.created on connect; session.update → session.updated; conversation.item.create →
  conversation.item.added; response.create → response.created, response.output_text.delta…, .done,
  response.done {status, usage} (or a function_call item); the answer then stays in the session's items
  (conversation.item.added), and a question "what did I ask first?" after earlier turns is answered with the session's
  first user message; an unknown client event is an `error` event.
  A wrong key refuses the handshake (HTTP 401); an injected fault is an `error` event (401 invalid_api_key,
  429 rate_limit_exceeded, 5xx server_error); `delay_ms` stalls the answer. A model named `*endless*` streams
  deltas and never finishes; one named `*garbage*` starts with an event that is not JSON,
  `*nested*` with one nested 100,000 deep.
- Live: the first message must be `setup` → setupComplete; each clientContent with turnComplete is answered
  (serverContent.modelTurn parts…, turnComplete, usageMetadata); a toolCall waits for the toolResponse and
  the turn is then answered in text. Errors close the connection with Google's codes and status messages:
  a wrong key 1008 "API key not valid", a fault 429 → 1011 "Resource has been exhausted", 5xx → 1011.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
from typing import Any

from fastapi import FastAPI, WebSocket, WebSocketDisconnect
from starlette.responses import JSONResponse
from starlette.websockets import WebSocketState

from bot.modelserver.control import FaultSpec, ServerState
from bot.modelserver.rules import answer
from bot.modelserver.tools import UnknownTool, tool_calls
from bot.modelserver.wire import count_tokens, truncate

_ids = itertools.count(1)
BAD_KEY = "API key not valid. Please pass a valid API key."
_FIRST = re.compile(r"what did i ask first", re.IGNORECASE)  # answered from the session's first user message
EXHAUSTED = "Resource has been exhausted (e.g. check quota)."


def _id(prefix: str) -> str:
    return f"{prefix}_{next(_ids):06d}"


def _words(text: str) -> list[str]:
    """The text in streamed pieces: each word with the space before it."""
    pieces = text.split(" ")
    return [pieces[0]] + [" " + p for p in pieces[1:]]


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict) and p.get("type") in ("input_text", "text", "output_text"))
    return ""


async def _stall(fault: FaultSpec | None) -> None:
    if fault is not None and fault.delay_ms:
        await asyncio.sleep(fault.delay_ms / 1000)


def register(app: FastAPI, state: ServerState, api_key: str | None) -> None:
    @app.websocket("/v1/realtime")
    @app.websocket("/openai/v1/realtime")  # Azure OpenAI: the deployment is the model, the key an api-key header
    async def realtime(ws: WebSocket) -> None:
        model = ws.query_params.get("model", "")
        presented = ws.headers.get("api-key") if ws.url.path.startswith("/openai/") else ws.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if api_key is not None and presented != api_key:
            body = {"error": {"message": "Incorrect API key provided.", "type": "invalid_request_error", "code": "invalid_api_key"}}
            await ws.send_denial_response(JSONResponse(body, status_code=401))
            return
        await ws.accept()
        session: dict[str, Any] = {"id": _id("sess"), "object": "realtime.session", "type": "realtime", "model": model,
                                   "output_modalities": ["audio"], "instructions": "", "max_output_tokens": "inf"}
        items: list[dict[str, Any]] = []

        async def send(event: dict[str, Any]) -> None:
            await ws.send_text(json.dumps({"event_id": _id("event"), **event}))

        async def error(code: str, message: str, kind: str = "invalid_request_error") -> None:
            await send({"type": "error", "error": {"type": kind, "code": code, "message": message, "param": None}})

        async def respond(settings: dict[str, Any]) -> None:
            chat = [{"role": "system", "content": str(settings.get("instructions") or "")}] if settings.get("instructions") else []
            chat += [{"role": str(i.get("role")), "content": _text_of(i.get("content"))} for i in items if i.get("type") == "message"]
            key = state.record("realtime", model, chat)
            response: dict[str, Any] = {"id": _id("resp"), "object": "realtime.response", "status": "in_progress", "output": []}
            await send({"type": "response.created", "response": response})
            fault = state.take_fault(model)
            await _stall(fault)
            if fault is not None and fault.status is not None:
                code, kind = ("invalid_api_key", "invalid_request_error") if fault.status in (401, 403) else (
                    ("rate_limit_exceeded", "rate_limit_error") if fault.status == 429 else
                    ("server_error", "server_error") if fault.status >= 500 else ("invalid_value", "invalid_request_error"))
                await error(code, fault.message or {"invalid_api_key": "Incorrect API key provided.",
                                                    "rate_limit_exceeded": "Rate limit reached for requests.",
                                                    "server_error": "The server had an error while processing your request."}.get(code, "Invalid value."), kind)
                return
            prompt_tokens = sum(count_tokens(m["content"]) for m in chat)
            try:
                calls = tool_calls(chat, settings.get("tools"), settings.get("tool_choice"))
            except UnknownTool as exc:
                await error("invalid_value", str(exc))
                return
            if calls:
                for i, c in enumerate(calls):
                    item = {"id": _id("item"), "type": "function_call", "status": "completed", "name": c.name,
                            "call_id": c.call_id("call_", i), "arguments": c.arguments_json}
                    await send({"type": "response.output_item.added", "response_id": response["id"], "output_index": i,
                                "item": {**item, "arguments": "", "status": "in_progress"}})
                    await send({"type": "response.function_call_arguments.done", "response_id": response["id"], "item_id": item["id"],
                                "call_id": item["call_id"], "name": c.name, "arguments": c.arguments_json})
                    await send({"type": "response.output_item.done", "response_id": response["id"], "output_index": i, "item": item})
                    response["output"].append(item)
                await done(response, "completed", None, prompt_tokens, 0)
                return
            text = answer(chat, model, {}, call_index=state.answered(model, key))
            asked = [m["content"] for m in chat if m["role"] == "user"]
            if len(asked) > 1 and _FIRST.search(asked[-1]):  # the session's earlier turns are the model's memory
                text = f"You first asked: {asked[0]}"
            limit = settings.get("max_output_tokens")
            text, truncated = truncate(text, limit if isinstance(limit, int) else None)
            item_id = _id("item")
            await send({"type": "response.output_item.added", "response_id": response["id"], "output_index": 0,
                        "item": {"id": item_id, "type": "message", "role": "assistant", "status": "in_progress", "content": []}})
            if "endless" in model:  # until the client goes away (bounded, so a client that only stops reading ends it too)
                for _ in range(1_000_000):
                    if ws.client_state is not WebSocketState.CONNECTED:
                        return
                    await send({"type": "response.output_text.delta", "response_id": response["id"], "item_id": item_id, "delta": "more "})
                    await asyncio.sleep(0.0005)
                return
            for piece in _words(text):
                await send({"type": "response.output_text.delta", "response_id": response["id"], "item_id": item_id,
                            "output_index": 0, "content_index": 0, "delta": piece})
            await send({"type": "response.output_text.done", "response_id": response["id"], "item_id": item_id, "text": text})
            message = {"id": item_id, "type": "message", "role": "assistant", "status": "completed",
                       "content": [{"type": "output_text", "text": text}]}
            await send({"type": "response.output_item.done", "response_id": response["id"], "output_index": 0, "item": message})
            response["output"].append(message)
            items.append(message)  # the answer stays in the conversation, as the Realtime API keeps it
            await send({"type": "conversation.item.added", "previous_item_id": None, "item": message})
            await done(response, "incomplete" if truncated else "completed",
                       {"type": "incomplete", "reason": "max_output_tokens"} if truncated else None, prompt_tokens, count_tokens(text))

        async def done(response: dict[str, Any], status: str, details: dict[str, Any] | None, tokens_in: int, tokens_out: int) -> None:
            usage = {"total_tokens": tokens_in + tokens_out, "input_tokens": tokens_in, "output_tokens": tokens_out}
            await send({"type": "response.done", "response": {**response, "status": status, "status_details": details, "usage": usage}})

        if "garbage" in model:  # a hostile server: an event that is not JSON
            await ws.send_text("<html>not an event</html>")
        if "nested" in model:  # one nested past any parser's limit
            await ws.send_text("[" * 100_000 + "]" * 100_000)
        await send({"type": "session.created", "session": session})
        try:
            while True:
                try:
                    event = json.loads(await ws.receive_text())
                except ValueError:
                    await error("invalid_json", "The server could not parse the event: it is not JSON.")
                    continue
                kind = event.get("type") if isinstance(event, dict) else None
                if kind == "session.update" and isinstance(event.get("session"), dict):
                    if event["session"].get("type") != "realtime":
                        await error("invalid_value", "Missing or invalid session.type: expected 'realtime'.")
                        continue
                    session.update(event["session"])
                    await send({"type": "session.updated", "session": session})
                elif kind == "conversation.item.create" and isinstance(event.get("item"), dict):
                    item = {"id": _id("item"), "object": "realtime.item", "status": "completed", **event["item"]}
                    items.append(item)
                    await send({"type": "conversation.item.added", "previous_item_id": None, "item": item})
                    await send({"type": "conversation.item.done", "previous_item_id": None, "item": item})
                elif kind == "response.create":
                    await respond({**session, **(event.get("response") or {})})
                else:
                    await error("unknown_event", f"Unsupported or malformed client event type: {str(kind)[:60]!r}.")
        except (WebSocketDisconnect, OSError, RuntimeError):  # the client left (e.g. at its deadline, mid-answer)
            pass

    @app.websocket("/ws/google.ai.generativelanguage.{version}.GenerativeService.BidiGenerateContent")
    async def bidi(ws: WebSocket, version: str) -> None:
        presented = ws.headers.get("x-goog-api-key") or ws.query_params.get("key") or ""
        await ws.accept()
        if api_key is not None and presented != api_key:
            await ws.close(code=1008, reason=BAD_KEY)
            return
        try:
            first = json.loads(await ws.receive_text())
            setup = first.get("setup") if isinstance(first, dict) else None
            if not isinstance(setup, dict) or not str(setup.get("model", "")).startswith("models/"):
                await ws.close(code=1007, reason="Request contains an invalid argument: the first message must be setup {model: models/NAME}.")
                return
            model = setup["model"].removeprefix("models/")
            generation = setup.get("generationConfig") or setup.get("generation_config") or {}
            system = " ".join(str(p.get("text", "")) for p in (setup.get("systemInstruction") or {}).get("parts", []) if isinstance(p, dict))
            tools = [{"type": "function", "function": d} for t in setup.get("tools") or [] if isinstance(t, dict)
                     for d in t.get("functionDeclarations") or t.get("function_declarations") or [] if isinstance(d, dict)]
            choice = ((setup.get("toolConfig") or {}).get("functionCallingConfig") or {}).get("mode")
            await ws.send_text(json.dumps({"setupComplete": {}}))
            history: list[dict[str, Any]] = [{"role": "system", "content": system}] if system else []
            while True:
                message = json.loads(await ws.receive_text())
                content = message.get("clientContent") or message.get("client_content") if isinstance(message, dict) else None
                if not isinstance(content, dict):
                    await ws.close(code=1007, reason="Request contains an invalid argument: expected clientContent.")
                    return
                for turn in content.get("turns") or []:
                    text = "".join(str(p.get("text", "")) for p in turn.get("parts", []) if isinstance(p, dict))
                    history.append({"role": "assistant" if turn.get("role") == "model" else "user", "content": text})
                if not (content.get("turnComplete") or content.get("turn_complete")):
                    continue
                key = state.record("live", model, history)
                fault = state.take_fault(model)
                await _stall(fault)
                if fault is not None and fault.status is not None:
                    reason = BAD_KEY if fault.status in (401, 403) else EXHAUSTED if fault.status == 429 else (
                        "Internal error encountered." if fault.status >= 500 else fault.message or "Request contains an invalid argument.")
                    await ws.close(code=1008 if fault.status in (401, 403) else 1011 if fault.status == 429 or fault.status >= 500 else 1007,
                                   reason=reason)
                    return
                prompt_tokens = sum(count_tokens(m["content"]) for m in history)
                try:
                    calls = tool_calls(history, tools, {"NONE": "none", "ANY": "required"}.get(str(choice), "auto"))
                except UnknownTool:
                    calls = []
                if calls:
                    await ws.send_text(json.dumps({"toolCall": {"functionCalls": [
                        {"id": c.call_id("call_", i), "name": c.name, "args": c.arguments} for i, c in enumerate(calls)]}}))
                    reply = json.loads(await ws.receive_text())
                    responses = (reply.get("toolResponse") or reply.get("tool_response") or {}).get("functionResponses")
                    history.append({"role": "tool", "content": json.dumps(responses)})
                text = answer(history, model, {}, call_index=state.answered(model, key))
                text, truncated = truncate(text, generation.get("maxOutputTokens") or generation.get("max_output_tokens"))
                for piece in _words(text):
                    await ws.send_text(json.dumps({"serverContent": {"modelTurn": {"role": "model", "parts": [{"text": piece}]}}}))
                await ws.send_text(json.dumps({"serverContent": {"generationComplete": True}}))
                out = count_tokens(text)
                await ws.send_text(json.dumps({"serverContent": {"turnComplete": True}, "usageMetadata": {
                    "promptTokenCount": prompt_tokens, "responseTokenCount": out, "totalTokenCount": prompt_tokens + out}}))
                history.append({"role": "assistant", "content": text})
        except (WebSocketDisconnect, OSError, RuntimeError):  # the client left (e.g. at its deadline, mid-answer)
            pass
        except (ValueError, AttributeError):  # a message that is not JSON or not an object: Google's invalid argument
            await ws.close(code=1007, reason="Request contains an invalid argument.")
