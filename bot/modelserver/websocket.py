"""The scripted model server's WebSocket endpoints (a TEST DOUBLE), for promptfoo's websocket provider: each
text message is a request whose `prompt` (else `input`, `message`, or the whole text) is answered by the chat
rules, as `{"output": answer, "model": MODEL}`. Hostile variants for the client's defences: `/ws/silent`
never answers, `/ws/huge?bytes=N` answers one frame of N bytes, `/ws/close` closes without answering,
`/ws/plain` answers the bare text, `/ws/auth` the Authorization header it was sent. `/ws/stream` streams the answer word by word as
`{"type": "chunk", "message": SO_FAR}` then `{"type": "message", "message": ANSWER}`; `/ws/endless` sends chunks
and never the last one.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from fastapi import FastAPI, WebSocket, WebSocketDisconnect

from bot.modelserver.control import ServerState
from bot.modelserver.rules import answer

MODEL = "scripted-websocket"


def _question(text: str) -> list[dict[str, Any]]:
    """The chat a message asks: its prompt field (a JSON message list is the chat itself), else the text."""
    try:
        data = json.loads(text)
    except ValueError:
        data = text
    prompt = next((data[k] for k in ("prompt", "input", "message") if isinstance(data, dict) and k in data), data)
    if isinstance(prompt, str):
        try:
            chat = json.loads(prompt)
        except ValueError:
            chat = None
        if isinstance(chat, list) and all(isinstance(m, dict) and "role" in m for m in chat):
            return chat
    return [{"role": "user", "content": prompt if isinstance(prompt, str) else json.dumps(prompt)}]


def register(app: FastAPI, state: ServerState) -> None:
    @app.websocket("/ws/{variant}")
    async def hostile(ws: WebSocket, variant: str) -> None:
        await ws.accept()
        try:
            text = await ws.receive_text()
            state.record(f"websocket/{variant}", MODEL, text)
            if variant == "silent":
                while True:
                    await asyncio.sleep(3600)
            elif variant == "huge":
                await ws.send_text("x" * int(ws.query_params.get("bytes", "1000000")))
            elif variant == "plain":
                await ws.send_text(answer(_question(text), MODEL))
            elif variant == "stream":
                reply = answer(_question(text), MODEL)
                words = reply.split(" ")
                for i in range(1, len(words) + 1):
                    await ws.send_text(json.dumps({"type": "chunk", "message": " ".join(words[:i])}))
                await ws.send_text(json.dumps({"type": "message", "message": reply}))
            elif variant == "endless":
                while True:
                    await ws.send_text(json.dumps({"type": "chunk", "message": "more"}))
                    await asyncio.sleep(0.01)
            elif variant == "auth":  # the Authorization header the client sent, as the answer (a test of header filling)
                await ws.send_text(json.dumps({"output": ws.headers.get("authorization", "")}))
            elif variant == "close":
                await ws.close(code=1011)
                return
            else:
                await ws.send_text(json.dumps({"error": f"unknown scripted websocket variant {variant!r}"}))
            await ws.receive_text()  # until the client closes
        except WebSocketDisconnect:
            pass

    @app.websocket("/ws")
    async def chat(ws: WebSocket) -> None:
        await ws.accept()
        try:
            while True:
                text = await ws.receive_text()
                chat = _question(text)
                key = state.record("websocket", MODEL, chat)
                reply = answer(chat, MODEL, call_index=state.answered(MODEL, key))
                await ws.send_text(json.dumps({"output": reply, "model": MODEL}))
        except WebSocketDisconnect:
            pass
