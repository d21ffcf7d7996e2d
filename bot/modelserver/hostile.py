"""Hostile answers for tests of the reviewer's defences: a body dripped one byte at a time, an
answer of any size (streamed, never built in memory), JSON nested past any sane depth, and error
bodies padded with text that must never reach a PR comment.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from fastapi.responses import Response, StreamingResponse

from bot.modelserver import wire
from bot.modelserver.control import FaultSpec

CHUNK = 64 * 1024
_MARK = "\u0000PAD\u0000"


def _answer_json(api: wire.Api, model: str, text: str) -> dict:
    if api == "openai":
        return wire.chat_completion(model, [text], False, 1)
    return wire.anthropic_message(model, text, False, 1)


def _error_json(api: wire.Api, status: int, message: str | None) -> dict:
    return json.loads(bytes(wire.error_response(api, status, message).body))


def _padded(document: dict, pad_bytes: int) -> tuple[bytes, int, bytes]:
    """(prefix, filler length, suffix) so that prefix + 'x' * filler + suffix is `document` with the
    marker string replaced by filler and the whole at least `pad_bytes` long."""
    prefix, _, suffix = json.dumps(document).partition(json.dumps(_MARK)[1:-1])
    head, tail = prefix.encode(), suffix.encode()
    return head, max(0, pad_bytes - len(head) - len(tail)), tail


async def _stream(head: bytes, filler: int, tail: bytes, drip_s: float | None) -> AsyncIterator[bytes]:
    async def pieces() -> AsyncIterator[bytes]:
        yield head
        left = filler
        while left > 0:
            n = min(left, CHUNK)
            yield b"x" * n
            left -= n
        yield tail

    async for piece in pieces():
        if drip_s is None:
            yield piece
            continue
        for i in range(len(piece)):
            await asyncio.sleep(drip_s)
            yield piece[i : i + 1]


def hostile_response(api: wire.Api, model: str, fault: FaultSpec) -> Response:
    """The response a fault with drip_ms, pad_bytes or nest asks for (status, when set, is kept)."""
    status = fault.status or 200
    if fault.nest:
        depth = fault.nest
        body = json.dumps(_answer_json(api, model, "Hello"))[:-1] + ', "extra": ' + "[" * depth + "]" * depth + "}"
        return Response(body, status_code=status, media_type="application/json")
    document = _error_json(api, status, fault.message) if status >= 400 else _answer_json(api, model, _MARK)
    if status >= 400:
        document["error"]["detail"] = _MARK  # a field no client should ever show
    head, filler, tail = _padded(document, fault.pad_bytes or 0)
    drip_s = fault.drip_ms / 1000 if fault.drip_ms else None
    return StreamingResponse(_stream(head, filler, tail, drip_s), status_code=status, media_type="application/json")
