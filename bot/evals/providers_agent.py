"""promptfoo's Amazon Bedrock Agents provider — `bedrock-agent:AGENT_ID` (or `config.agentId`) with
`config.agentAliasId` — as promptfoo 0.121 calls it (its AwsBedrockAgentsProvider): one InvokeAgent request of the
Agents for Amazon Bedrock runtime (`POST /agents/ID/agentAliases/ALIAS/sessions/SESSION/text`, SigV4 for the `bedrock`
service, or a Bedrock API key) whose answer is an AWS event stream: the output is the text of its `chunk` events, the
metadata the session the answer names, the `trace` events when `enableTrace` is set, the `memoryId` and the guardrail
of the config. The config keys it reads are checked here at load, with the suite's line; the transport (credentials,
base URL, retries, limits) is the Caller's.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import struct
import uuid
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

from bot.evals.providers_kb import _modeled, kb_config
from bot.evals.providers_parts import prompt_json
from bot.evals.providers_shapes import Messages
from bot.evals.suite import ProviderSpec

AGENT = "bedrock-agent"  # the vendor (ProviderSpec.kind): the agent runtime's host, like bedrock:kb
# Sent in the request (members of AWS's InvokeAgent request): the ids and the session go in the path, the rest in the body
SENT = ("agentId", "agentAliasId", "sessionId", "enableTrace", "endSession", "sessionState", "memoryId")
# Read by promptfoo's provider and handed to AWS's SDK, whose InvokeAgent serialiser sends only the members of AWS's
# model — these are not among them (they are InvokeInlineAgent's), so they never reach AWS: accepted, not sent, as there.
# guardrailConfiguration still shows in the metadata (promptfoo's `guardrails`).
UNSENT = ("temperature", "topP", "topK", "maximumLength", "stopSequences", "inferenceConfig", "guardrailConfiguration",
          "promptOverrideConfiguration", "knowledgeBaseConfigurations", "actionGroups", "inputDataConfig")
SESSION_STATE = ("sessionAttributes", "promptSessionAttributes", "invocationId", "returnControlInvocationResults")
BOOLS = ("enableTrace", "endSession")
TEXTS = ("agentId", "agentAliasId", "sessionId", "memoryId")
MAX_ID_CHARS = 2048  # an id goes into the request's path; AWS's own are 10 (agent, alias) and 100 (session, memory)
_PRELUDE = 12  # an event-stream frame: total length, headers length, prelude CRC32; then headers, payload, message CRC32
_FRAME_OVERHEAD = 16


class AgentError(Exception):
    """An answer promptfoo turns into the case's error; the message is promptfoo's."""


def agent_kind(pid: str, head: str, rest: list[str]) -> tuple[str, str, tuple[tuple[str, Any], ...]] | None:
    """(vendor, agent id from the path, options) for bedrock-agent:ID (the id may be empty: config.agentId then), or
    None for every other id."""
    if head != AGENT:
        return None
    return AGENT, pid[len(AGENT) + 1:], ()


def agent_config(key: str, value: Any, params: list[tuple[str, Any]], opts: dict[str, Any]) -> str | None:
    """The problem with one config key of an agent provider, or None; read keys go to `params` (the provider's
    fingerprint: each one changes the request or the metadata), the region to `opts`."""
    if key == "region":
        return kb_config(key, value, params, opts)  # the same rule as the knowledge base's
    if key not in SENT and key not in UNSENT:
        listed = ", ".join(sorted({*SENT, *UNSENT, "region"}))
        return f"unsupported provider config key {key!r} for a Bedrock agent (supported: {listed})"
    problem = _problem(key, value)
    if problem is None:
        params.append((key, value))
    return problem


def _problem(key: str, value: Any) -> str | None:
    if key in TEXTS and (not isinstance(value, str) or not value or len(value) > MAX_ID_CHARS):
        return f"{key} must be non-empty text (at most {MAX_ID_CHARS} characters)"
    if key in BOOLS and not isinstance(value, bool):
        return f"{key} must be true or false"
    if key == "sessionState":
        if not isinstance(value, dict):
            return "sessionState must be a mapping"
        unknown = sorted(str(k) for k in value if k not in SESSION_STATE)
        if unknown:
            return (f"sessionState key {unknown[0]!r} is not one promptfoo sends (it sends {', '.join(SESSION_STATE)})")
    if key in ("inferenceConfig", "guardrailConfiguration") and not isinstance(value, dict):
        return f"{key} must be a mapping"
    return None


def agent_missing(params: dict[str, Any], path_id: str, pid: str) -> str | None:
    """promptfoo refuses an agent without an id, and answers every case of one without an alias with an error."""
    if not path_id and not params.get("agentId"):
        return f"provider {pid!r}: a Bedrock agent needs its id (bedrock-agent:AGENT_ID or config.agentId); promptfoo refuses it too"
    if not params.get("agentAliasId"):
        return (f"provider {pid!r}: a Bedrock agent needs config.agentAliasId (promptfoo answers every case with "
                "'Agent Alias ID is required')")
    return None


def agent_request(spec: ProviderSpec, messages: Messages) -> tuple[str, dict[str, Any], str]:
    """(path, body, session id) of one InvokeAgent request: config.agentId else the path's id; config.sessionId else a
    fresh `session-UUID` per call (as promptfoo); the rendered prompt (a chat prompt as its JSON) as `inputText`; the
    body's other members only when the config sets them. The path's segments are percent-encoded as AWS's SDK does."""
    params = dict(spec.params)
    agent_id = params.get("agentId") or spec.model
    session = params.get("sessionId") or f"session-{uuid.uuid4()}"
    path = "/agents/{}/agentAliases/{}/sessions/{}/text".format(*(quote(str(s), safe="") for s in (agent_id, params["agentAliasId"], session)))
    body: dict[str, Any] = {"inputText": prompt_json(messages)}
    for key in ("enableTrace", "endSession", "memoryId"):
        if params.get(key) is not None:
            body[key] = params[key]
    state = params.get("sessionState")
    if state:
        body["sessionState"] = {k: state[k] for k in SESSION_STATE if state.get(k) is not None}
    return path, body, session


def frames(data: bytes) -> list[tuple[dict[str, Any], bytes]]:
    """(headers, payload) of each frame of an AWS event stream (application/vnd.amazon.eventstream). The frames are
    cut here with their lengths checked against what is left (the whole answer is already bounded by
    evals.max_response_bytes, so a frame is too); botocore's EventStreamBuffer (already a dependency, for SigV4)
    checks each frame's two CRC32s and its header and payload limits and decodes the headers."""
    from botocore.eventstream import EventStreamBuffer, ParserError

    out, at = [], 0
    while at < len(data):
        if len(data) - at < _FRAME_OVERHEAD:
            raise AgentError("the event stream ends inside a frame")
        total, headers_length = struct.unpack_from(">II", data, at)
        if total < _FRAME_OVERHEAD or headers_length > total - _FRAME_OVERHEAD or total > len(data) - at:
            raise AgentError("an event-stream frame's lengths do not fit the stream")
        buffer = EventStreamBuffer()
        buffer.add_data(data[at:at + total])
        try:
            message = next(buffer)
        except (ParserError, StopIteration, struct.error, KeyError, IndexError, ValueError, UnicodeDecodeError):
            raise AgentError("an event-stream frame is corrupt (its CRC32 or headers do not check out)") from None
        out.append((message.headers, message.payload))
        at += total
    return out


def agent_answer(spec: ProviderSpec, body: bytes, headers: dict[str, str]) -> tuple[str, dict[str, Any]]:
    """(output, metadata) as promptfoo makes them of an InvokeAgent answer: the text of the `chunk` events' bytes
    (base64 in the JSON payload) decoded as UTF-8 (bad bytes replaced), the `trace` events as AWS's SDK hands them
    over when config.enableTrace is set (others ignored); metadata `{sessionId, trace, memoryId, guardrails}`, each
    only when there is one. An exception event is the case's error with promptfoo's message for it."""
    params = dict(spec.params)
    text, traces = bytearray(), []
    for event_headers, payload in frames(body):
        kind = event_headers.get(":message-type")
        if kind == "error":
            raise AgentError(f"Failed to invoke agent: {event_headers.get(':error-message') or event_headers.get(':error-code')}")
        if kind == "exception":
            raise AgentError(_exception(str(event_headers.get(":exception-type", "")), _json(payload), params, spec.model))
        event = event_headers.get(":event-type")
        if event == "chunk":
            encoded = _json(payload).get("bytes")
            if isinstance(encoded, str):
                try:
                    text += base64.b64decode(encoded, validate=True)
                except (binascii.Error, ValueError):
                    raise AgentError("Failed to invoke agent: a chunk's bytes are not base64") from None
        elif event == "trace" and params.get("enableTrace"):
            traces.append(_js_dates(_trace_shape(), _modeled(_trace_shape(), _json(payload))))
    metadata: dict[str, Any] = {}
    session = headers.get("x-amz-bedrock-agent-session-id")
    if session:
        metadata["sessionId"] = session
    if traces:
        metadata["trace"] = traces
    if params.get("memoryId"):
        metadata["memoryId"] = params["memoryId"]
    guardrail = params.get("guardrailConfiguration")
    if guardrail:
        metadata["guardrails"] = {"applied": True, **{k: guardrail[k] for k in ("guardrailId", "guardrailVersion") if k in guardrail}}
    return text.decode("utf-8", errors="replace"), metadata


def _json(payload: bytes) -> dict[str, Any]:
    try:
        value = json.loads(payload or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise AgentError("Failed to invoke agent: an event's payload is not JSON") from None
    return value if isinstance(value, dict) else {}


def _exception(kind: str, payload: dict[str, Any], params: dict[str, Any], path_id: str) -> str:
    """promptfoo's message for an exception AWS's SDK raises (its name: the event's exception type, capitalised)."""
    name = kind[:1].upper() + kind[1:]
    message = payload.get("message") if isinstance(payload.get("message"), str) else name
    if name == "ResourceNotFoundException":
        return (f"Agent or alias not found. Verify agentId: {params.get('agentId') or path_id} and agentAliasId: "
                f"{params.get('agentAliasId')}")
    if name == "AccessDeniedException":
        return "Access denied. Check IAM permissions for bedrock:InvokeAgent"
    if name == "ValidationException":
        return f"Invalid configuration: {message}"
    if name == "ThrottlingException":
        return "Rate limit exceeded. Please retry later."
    return f"Failed to invoke agent: {message}"


def _js_dates(shape: Any, value: Any) -> Any:
    """AWS's SDK makes a timestamp a Date, which promptfoo's metadata shows as JavaScript writes it (UTC, with
    milliseconds: 2026-01-01T00:00:00.000Z); a text it cannot read stays as it is here."""
    if shape.type_name == "timestamp" and isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(timezone.utc)
        except ValueError:
            return value
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    if shape.type_name == "structure" and isinstance(value, dict):
        return {k: _js_dates(shape.members[k], v) if k in shape.members else v for k, v in value.items()}
    if shape.type_name == "list" and isinstance(value, list):
        return [_js_dates(shape.member, v) for v in value]
    if shape.type_name == "map" and isinstance(value, dict):
        return {k: _js_dates(shape.value, v) for k, v in value.items()}
    return value


@functools.cache
def _trace_shape() -> Any:
    """AWS's model of InvokeAgent's trace event (TracePart), from the API description botocore ships."""
    from botocore.loaders import Loader
    from botocore.model import ServiceModel

    model = ServiceModel(Loader().load_service_model("bedrock-agent-runtime", "service-2"))
    return model.operation_model("InvokeAgent").output_shape.members["completion"].members["trace"]
