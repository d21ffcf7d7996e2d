"""Amazon Bedrock Agents on the scripted model server (a TEST DOUBLE): InvokeAgent of the Agents for Amazon Bedrock
runtime (`POST /agents/ID/agentAliases/ALIAS/sessions/SESSION/text`, signed with SigV4 for `bedrock` by the test
credentials, or a Bedrock API key), answered as AWS's API reference describes it: an
`application/vnd.amazon.eventstream` body of binary frames (prelude with lengths and its CRC32, typed headers,
JSON payload, message CRC32) — the answer's text in two `chunk` events (base64 `bytes`), and with `enableTrace`
trace events before them — and the session id in `x-amz-bedrock-agent-session-id`. The answer comes from the same
rules as the chat endpoints. AWS's id patterns are checked (ValidationException, like AWS); an agent id of
`MISSINGAGT` answers ResourceNotFoundException and one of `BADFRAMES` a frame whose CRC is wrong.
"""

from __future__ import annotations

import base64
import json
import re
import struct
import zlib
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from bot.modelserver.control import ServerState
from bot.modelserver.rules import answer
from bot.modelserver.vendors import BeforeAnswer, verify_sigv4

ENDPOINT = "bedrock.invokeAgent"
CONTENT_TYPE = "application/vnd.amazon.eventstream"
_ID = re.compile(r"^[0-9a-zA-Z]{1,10}$")  # AWS's agentId and agentAliasId
_SESSION = re.compile(r"^[0-9a-zA-Z._:-]{2,100}$")  # AWS's sessionId and memoryId


def _header(name: str, value: str) -> bytes:
    raw_name, raw_value = name.encode(), value.encode()
    return struct.pack(">B", len(raw_name)) + raw_name + b"\x07" + struct.pack(">H", len(raw_value)) + raw_value  # 7: string


def frame(headers: dict[str, str], payload: bytes) -> bytes:
    """One event-stream frame as AWS sends it."""
    head = b"".join(_header(k, v) for k, v in headers.items())
    total = 12 + len(head) + len(payload) + 4
    prelude = struct.pack(">II", total, len(head))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    body = prelude + head + payload
    return body + struct.pack(">I", zlib.crc32(body))


def event(kind: str, payload: dict[str, Any]) -> bytes:
    return frame({":event-type": kind, ":content-type": "application/json", ":message-type": "event"}, json.dumps(payload).encode())


def exception(kind: str, message: str) -> bytes:
    return frame({":exception-type": kind, ":content-type": "application/json", ":message-type": "exception"},
                 json.dumps({"message": message}).encode())


def _validation(message: str) -> JSONResponse:
    return JSONResponse({"message": message}, status_code=400, headers={"x-amzn-ErrorType": "ValidationException"})


def register(app: FastAPI, state: ServerState, before_answer: BeforeAnswer, api_key: str | None) -> None:
    @app.post("/agents/{agent_id}/agentAliases/{alias_id}/sessions/{session_id}/text")
    async def invoke_agent(agent_id: str, alias_id: str, session_id: str, request: Request) -> Response:
        raw = await request.body()
        if api_key is not None and request.headers.get("authorization", "") != f"Bearer {api_key}":
            problem = verify_sigv4(request, raw)
            if problem:
                return JSONResponse({"message": f"The request signature we calculated does not match: {problem}"}, status_code=403,
                                    headers={"x-amzn-ErrorType": "InvalidSignatureException"})
        if not _ID.match(agent_id) or not _ID.match(alias_id) or not _SESSION.match(session_id):
            return _validation("1 validation error detected: agentId, agentAliasId or sessionId does not satisfy its pattern")
        try:
            data = json.loads(raw or b"null")
        except json.JSONDecodeError:
            return _validation("The request body is not valid JSON.")
        text_in = data.get("inputText") if isinstance(data, dict) else None
        if not isinstance(text_in, str):
            return _validation("1 validation error detected: Value at 'inputText' failed to satisfy constraint: Member must not be null")
        memory = data.get("memoryId")
        if memory is not None and (not isinstance(memory, str) or not _SESSION.match(memory)):
            return _validation("1 validation error detected: Value at 'memoryId' failed to satisfy constraint")
        headers = {"x-amz-bedrock-agent-session-id": session_id, "x-amzn-bedrock-agent-content-type": "application/json"}
        if memory:
            headers["x-amz-bedrock-agent-memory-id"] = memory
        if agent_id == "MISSINGAGT":
            body = exception("resourceNotFoundException", f"Agent {agent_id} was not found")
            return Response(body, media_type=CONTENT_TYPE, headers=headers)
        chat = [{"role": "user", "content": text_in}]
        model = f"agent-{agent_id}"
        key = state.record(ENDPOINT, model, chat)
        if (failed := await before_answer(request, "openai", model)) is not None:
            return failed
        out = answer(chat, model, {}, call_index=state.answered(model, key)).encode()
        cut = len(out) // 2  # two chunks, possibly splitting a character's bytes (the client joins bytes, then decodes)
        frames = b""
        if data.get("enableTrace") is True:
            frames += event("trace", {"agentId": agent_id, "agentAliasId": alias_id, "sessionId": session_id, "agentVersion": "1",
                                      "eventTime": "2026-01-01T00:00:00Z", "unmodeledMember": "dropped by the SDK",
                                      "trace": {"orchestrationTrace": {"rationale": {"traceId": "t-1", "text": f"Answering: {text_in[:80]}"}}}})
        for part in (out[:cut], out[cut:]):
            frames += event("chunk", {"bytes": base64.b64encode(part).decode()})
        if agent_id == "BADFRAMES":
            frames = frames[:-1] + bytes([frames[-1] ^ 0xFF])
        return Response(frames, media_type=CONTENT_TYPE, headers=headers)
