"""One call of a streaming chat provider over WebSocket (bot.evals.providers_live): OpenAI's Realtime API
(`session.update`, `conversation.item.create`, `response.create`, text deltas until `response.done`) and
Gemini's Live API (`setup`, `clientContent` turns until `turnComplete`), as promptfoo holds them; text only,
tool calls reported and never answered by code; vendor errors as case errors of their kind. The socket and
its limits are bot.evals.providers_ws's; the Caller chooses the endpoint (credentials, URL policy) and bounds
the time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from bot.core import safejson
from bot.core.errors import CheckError
from bot.core.parts import Parts
from bot.evals.providers_live import LiveApi, live_modalities
from bot.evals.providers_parts import gemini_contents
from bot.evals.providers_shapes import Messages, WireError
from bot.evals.providers_ws import ClosedEarly, Connection, HandshakeRefused, Step, converse
from bot.evals.suite import ProviderSpec
from bot.evals.urls import Target

# where each API is, under the vendor's base URL (OPENAI_BASE_URL / GEMINI_BASE_URL or the public API)
GEMINI_LIVE_PATH = "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"


def realtime_path(model: str, azure_base: str | None = None) -> str:
    """The Realtime API's path under the base URL; on Azure under the resource's /openai/v1, as promptfoo
    completes a base that lacks it."""
    path = f"/realtime?model={quote(model, safe='')}"
    if azure_base is None:
        return path
    base = azure_base.rstrip("/").lower()
    return path if base.endswith("/openai/v1") else "/v1" + path if base.endswith("/openai") else "/openai/v1" + path


MAX_EVENTS = 20_000  # server events one call reads before it is an error (deltas are small; audio is never asked for)
DEFAULT_INSTRUCTIONS = "You are a helpful assistant."  # promptfoo's, when config.instructions is not set


@dataclass
class LiveAnswer:
    """What one call produced, as it streams in."""

    text: str = ""
    tokens_in: int = 0
    tokens_out: int = 0
    finish_reason: str = "stop"
    calls: list[dict[str, Any]] = field(default_factory=list)  # the model's function calls, as the vendor sent them
    structured: bool = False


def _event(spec_id: str, raw: str) -> dict[str, Any]:
    try:
        data = safejson.loads(raw)
    except safejson.JsonTooDeep as exc:
        raise WireError(f"{spec_id}: an event is JSON nested deeper than {exc.limit} levels", CheckError.BAD_RESPONSE) from None
    except ValueError:
        raise WireError(f"{spec_id}: an event is not JSON", CheckError.BAD_RESPONSE) from None
    if not isinstance(data, dict):
        raise WireError(f"{spec_id}: an event is not a JSON object", CheckError.BAD_RESPONSE)
    return data


def _obj(value: Any) -> dict[str, Any]:
    """A JSON object field, or an empty one when the event lacks it or holds something else."""
    return value if isinstance(value, dict) else {}


def _short(value: Any) -> str:
    return " ".join(str(value).split())[:200]


def classify(spec_id: str, key_var: str, status: int | None, code: str, message: str) -> WireError:
    """A vendor's error as a case error: refused credentials, rate limit or quota, an outage, or the
    vendor's own words (bounded) for anything else."""
    code = code.lower()
    said = f" ({_short(message)})" if message else ""
    if status in (401, 403) or code in ("invalid_api_key", "authentication_error", "unauthenticated", "permission_denied",
                                         "invalid_authentication"):
        return WireError(f"{spec_id}: the provider refused the credentials{said}: check {key_var}", CheckError.BAD_CREDENTIALS)
    if status == 429 or code in ("rate_limit_exceeded", "rate_limit_error", "insufficient_quota", "resource_exhausted"):
        return WireError(f"{spec_id}: rate limited{said}", CheckError.RATE_LIMITED)
    if (status is not None and status >= 500) or code in ("server_error", "internal", "unavailable", "overloaded_error"):
        return WireError(f"{spec_id}: the provider failed{said}", CheckError.PROVIDER_DOWN)
    return WireError(f"{spec_id}: the provider answered an error{said}", CheckError.OTHER)


# Gemini reports errors by closing the connection: the close frame's reason is Google's status message.
def close_error(spec_id: str, key_var: str, code: int, reason: str) -> WireError:
    """A Live API connection the server closed before the turn completed."""
    lowered = reason.lower()
    if "api key" in lowered or "unauthenticated" in lowered or "permission" in lowered:
        return classify(spec_id, key_var, 401, "", reason)
    if "quota" in lowered or "exhausted" in lowered or "rate limit" in lowered:
        return classify(spec_id, key_var, 429, "", reason)
    if code in (1011, 1012, 1013, 1014):
        return classify(spec_id, key_var, 503, "", reason)
    detail = f" (code {code}" + (f": {_short(reason)})" if reason else ")")
    return WireError(f"{spec_id}: the server closed the WebSocket connection before the answer was complete{detail}", CheckError.BAD_RESPONSE)


class RealtimeTurn:
    """One answer from OpenAI's Realtime API, as promptfoo asks for it: session.update with the session's
    settings, the last user message as a conversation item, response.create once the item exists; text (or
    transcript) deltas until response.done. prompt-review asks for text output only."""

    def __init__(self, spec_id: str, model: str, params: dict[str, Any], messages: Messages, key_var: str,
                 earlier: tuple[Messages, ...] = ()):
        self.spec_id, self.model, self.params, self.key_var = spec_id, model, params, key_var
        self.content = _realtime_content(spec_id, messages)
        # a conversation kept across tests (bot.evals.realtime_turns): the earlier turns are asked first, in order, on
        # this connection, as promptfoo's persistent session had them; only the last answer is the case's
        self._turns = [_realtime_content(spec_id, m) for m in earlier] + [self.content]
        self._turn = 0
        self._previous_item: str | None = None
        self.answer = LiveAnswer()
        self._asked = False

    def _settings(self) -> dict[str, Any]:
        p = self.params
        out: dict[str, Any] = {"output_modalities": ["text"], "instructions": p.get("instructions") or DEFAULT_INSTRUCTIONS,
                               "max_output_tokens": p.get("max_response_output_tokens", "inf")}
        for key in ("parallel_tool_calls", "reasoning"):
            if key in p:
                out[key] = p[key]
        if p.get("tools"):
            out["tools"] = [_flat_tool(t) for t in p["tools"]] if isinstance(p["tools"], list) else p["tools"]
            choice = p.get("tool_choice", "auto")
            if isinstance(choice, dict) and isinstance(choice.get("function"), dict):
                choice = {"type": "function", "name": choice["function"].get("name")}
            out["tool_choice"] = choice
        return out

    @property
    def turns(self) -> int:
        return len(self._turns)

    def opening(self) -> list[str]:
        """session.update and the turn's user item; a later turn of a kept conversation names the item it follows
        (the model's last answer), as promptfoo's persistent session does."""
        session = {"type": "realtime", "model": self.model, **self._settings()}
        item = {"type": "message", "role": "user", "content": self._turns[self._turn]}
        return [json.dumps({"type": "session.update", "session": session}),
                json.dumps({"type": "conversation.item.create", "previous_item_id": self._previous_item, "item": item})]

    async def on_message(self, raw: str) -> Step:
        event = _event(self.spec_id, raw)
        kind = event.get("type")
        answer = self.answer
        if kind in ("conversation.item.created", "conversation.item.added", "conversation.item.done"):
            item = event.get("item")
            if isinstance(item, dict) and item.get("role") == "user" and not self._asked:
                self._asked = True
                return [json.dumps({"type": "response.create", "response": self._settings()})], False
            if isinstance(item, dict) and item.get("role") == "assistant" and isinstance(item.get("id"), str):
                self._previous_item = item["id"]
        elif kind in ("response.output_text.delta", "response.text.delta", "response.output_audio_transcript.delta",
                      "response.audio_transcript.delta"):
            if isinstance(event.get("delta"), str):
                answer.text += event["delta"]
        elif kind in ("response.output_text.done", "response.text.done", "response.output_audio_transcript.done",
                      "response.audio_transcript.done"):
            final = event.get("text", event.get("transcript"))
            if isinstance(final, str) and final:
                answer.text = final
        elif kind == "response.output_item.added":
            item = event.get("item")
            if isinstance(item, dict) and item.get("type") == "function_call":
                answer.calls.append({"name": str(item.get("name") or "?"), "call_id": item.get("call_id")})
        elif kind == "error":
            error = _obj(event.get("error"))
            raise classify(self.spec_id, self.key_var, None, str(error.get("code") or error.get("type") or ""), str(error.get("message") or ""))
        elif kind == "response.done":
            if self._turn + 1 < len(self._turns):  # an earlier turn answered: its answer stays in the session; ask the next
                usage = _obj(_obj(event.get("response")).get("usage"))
                answer.tokens_in += int(usage.get("input_tokens") or 0)
                answer.tokens_out += int(usage.get("output_tokens") or 0)
                answer.text, answer.calls, self._asked = "", [], False
                self._turn += 1
                return self.opening(), False
            return [], self._done(_obj(event.get("response")))
        return [], False

    def output(self) -> str:
        return self.answer.text

    def _done(self, response: dict[str, Any]) -> bool:
        answer = self.answer
        usage = _obj(response.get("usage"))
        answer.tokens_in += int(usage.get("input_tokens") or 0)
        answer.tokens_out += int(usage.get("output_tokens") or 0)
        status = response.get("status")
        details = _obj(response.get("status_details"))
        if status == "failed":
            error = _obj(details.get("error"))
            raise classify(self.spec_id, self.key_var, None, str(error.get("code") or error.get("type") or ""),
                           str(error.get("message") or "the response failed"))
        if status == "incomplete":
            answer.finish_reason = "length" if details.get("reason") == "max_output_tokens" else "content_filter" if details.get(
                "reason") == "content_filter" else "stop"
        if not answer.text:
            if answer.calls:
                names = ", ".join(c["name"] for c in answer.calls)
                raise WireError(f"{self.spec_id}: the model called {names} and answered no text; promptfoo answers a call with "
                                "config.functionCallHandler, code that prompt-review does not run", CheckError.BAD_RESPONSE)
            raise WireError(f"{self.spec_id}: the Realtime API returned an empty response (no text)", CheckError.BAD_RESPONSE)
        return True


def _flat_tool(tool: Any) -> Any:
    """A chat-completions tool ({type: function, function: {...}}) in the Realtime API's flat form, as promptfoo."""
    if isinstance(tool, dict) and tool.get("type") == "function" and isinstance(tool.get("function"), dict):
        rest = {k: v for k, v in tool.items() if k != "function"}
        return {**rest, **tool["function"]}
    return tool


def _realtime_content(spec_id: str, messages: Messages) -> list[dict[str, Any]]:
    """The last user message as Realtime content (promptfoo sends that one message; earlier turns and the
    system message are not sent — config.instructions is the system prompt)."""
    for role, content in reversed(messages):
        if role != "user":
            continue
        if not isinstance(content, Parts):
            return [{"type": "input_text", "text": content}]
        out: list[dict[str, Any]] = []
        for part in content.parts:
            if isinstance(part, str):
                out.append({"type": "input_text", "text": part})
            elif isinstance(part, dict) and part.get("type") in ("text", "input_text") and isinstance(part.get("text"), str):
                out.append({"type": "input_text", "text": part["text"]})
            elif isinstance(part, dict) and part.get("type") == "input_audio" and isinstance(part.get("audio"), str):
                out.append({"type": "input_audio", "audio": part["audio"]})
            elif isinstance(part, dict) and part.get("type") in ("input_image", "image_url"):
                url = part.get("image_url")
                url = url.get("url") if isinstance(url, dict) else url
                if isinstance(url, str):
                    out.append({"type": "input_image", "image_url": url})
        if out:
            return out
    raise WireError(f"{spec_id}: the prompt has no user message to send", CheckError.RENDER)


class LiveTurn:
    """One answer from Gemini's Live API, as promptfoo asks for it: setup with the generation config, tools
    and system instruction; on setupComplete each user message as a client turn, the next one after each
    turnComplete; model-turn text accumulated over all turns. A function call is answered with an empty
    response, as promptfoo answers one it has no callback for. The answer is promptfoo's JSON:
    {text, toolCall: {functionCalls}}."""

    def __init__(self, spec_id: str, model: str, params: dict[str, Any], system: str | None, messages: Messages, key_var: str):
        self.spec_id, self.model, self.params, self.key_var = spec_id, model, params, key_var
        contents, system_texts = gemini_contents(spec_id, messages)
        for i, c in enumerate(contents):
            if c["role"] != "user":
                raise WireError(f"{spec_id}: message {i + 1} is the model's; the Live API provider sends user messages only "
                                "(promptfoo: 'Can only take user role inputs')", CheckError.RENDER)
        if not contents:
            raise WireError(f"{spec_id}: the prompt has no user message to send", CheckError.RENDER)
        self.turns = contents
        self.system = _system_instruction(system, system_texts)
        self.answer = LiveAnswer(structured=True)
        self._next = 0

    def opening(self) -> list[str]:
        p = self.params
        generation: dict[str, Any] = {k: p[k] for k in ("temperature", "maxOutputTokens", "topP", "topK", "stopSequences") if k in p}
        configured = dict(p.get("generationConfig") or {})
        generation.update(configured)
        if live_modalities(configured) is None:
            generation["responseModalities"] = ["TEXT"]  # prompt-review reviews text; the Live API's default may be audio
        setup: dict[str, Any] = {"model": f"models/{self.model}", "generationConfig": generation}
        if p.get("tools"):
            setup["tools"] = p["tools"]
        if p.get("toolConfig"):
            setup["toolConfig"] = p["toolConfig"]
        if self.system:
            setup["systemInstruction"] = self.system
        return [json.dumps({"setup": setup})]

    def _turn(self) -> str:
        turn = self.turns[self._next]
        self._next += 1
        return json.dumps({"clientContent": {"turns": [turn], "turnComplete": True}})

    async def on_message(self, raw: str) -> Step:
        event = _event(self.spec_id, raw)
        answer = self.answer
        if isinstance(event.get("error"), dict):
            error = event["error"]
            status = error.get("code") if isinstance(error.get("code"), int) else None
            raise classify(self.spec_id, self.key_var, status, str(error.get("status") or ""), str(error.get("message") or ""))
        usage = event.get("usageMetadata")
        if isinstance(usage, dict):
            answer.tokens_in += int(usage.get("promptTokenCount") or 0)
            answer.tokens_out += int(usage.get("responseTokenCount") or usage.get("candidatesTokenCount") or 0)
        if "setupComplete" in event:
            return [self._turn()], False
        replies: list[str] = []
        tool_call = event.get("toolCall")
        if isinstance(tool_call, dict) and isinstance(tool_call.get("functionCalls"), list):
            for call in tool_call["functionCalls"]:
                answer.calls.append(call)
                if isinstance(call, dict) and call.get("id") and call.get("name"):
                    replies.append(json.dumps({"toolResponse": {"functionResponses": [{"id": call["id"], "name": call["name"], "response": {}}]}}))
        content = event.get("serverContent")
        if isinstance(content, dict):
            turn = content.get("modelTurn")
            for part in turn.get("parts", []) if isinstance(turn, dict) and isinstance(turn.get("parts"), list) else []:
                if isinstance(part, dict) and isinstance(part.get("text"), str) and not part.get("thought"):
                    answer.text += part["text"]
            if content.get("turnComplete"):
                if self._next < len(self.turns):
                    return [*replies, self._turn()], False
                return [], True
        return replies, False

    def output(self) -> str:
        return json.dumps({"text": self.answer.text, "toolCall": {"functionCalls": self.answer.calls}}, ensure_ascii=False)


def _system_instruction(configured: str | None, texts: list[str]) -> dict[str, Any] | None:
    """config.systemInstruction (text, or the JSON of {parts}) with the prompt's system messages, as promptfoo."""
    parts: list[dict[str, Any]] = []
    if configured:
        try:
            value = json.loads(configured)
        except ValueError:
            value = None
        if isinstance(value, dict) and isinstance(value.get("parts"), list):
            parts += [p for p in value["parts"] if isinstance(p, dict)]
        else:
            parts.append({"text": configured})
    parts += [{"text": t} for t in texts]
    return {"parts": parts} if parts else None


def live_turn(spec: ProviderSpec, messages: Messages) -> RealtimeTurn | LiveTurn:
    """The conversation one call of `spec` holds (its messages checked here: a case error before connecting)."""
    params = dict(spec.params)
    if spec.option("api") == LiveApi.REALTIME.value:
        return RealtimeTurn(spec.id, spec.model, params, messages, "", spec.conversation)
    system = spec.option("systemInstruction")
    return LiveTurn(spec.id, spec.model, params, system if isinstance(system, str) else None, messages, "")


def socket_of(target: Target) -> tuple[Connection, dict[str, str]]:
    """Where to open the WebSocket for an endpoint the Caller chose (https → wss; a pinned address keeps the
    original Host header and TLS name) and the handshake's other headers (the credentials)."""
    url = httpx.URL(target.url)
    host = target.headers.get("Host", url.netloc.decode("ascii"))
    server_name = str(target.extensions.get("sni_hostname") or url.host)
    headers = {k: v for k, v in target.headers.items() if k.lower() != "host"}
    return Connection(str(url.copy_with(scheme="wss" if url.scheme == "https" else "ws")), host, server_name), headers


async def talk(turn: RealtimeTurn | LiveTurn, target: Target, max_bytes: int, key_var: str) -> None:
    """Hold the conversation to its end (the caller bounds the time). Every failure is a WireError of its
    kind: a refused handshake by its status, a close frame by Google's codes and words, an error event by
    the vendor's code."""
    turn.key_var = key_var
    conn, headers = socket_of(target)
    try:
        turns = turn.turns if isinstance(turn, RealtimeTurn) else 1  # each turn of a kept conversation has the bounds of one call
        await converse(conn, turn.opening(), headers, [], max_bytes * turns, turn.spec_id, turn.on_message, MAX_EVENTS * turns)
    except HandshakeRefused as exc:
        raise classify(turn.spec_id, key_var, exc.status, "", f"HTTP {exc.status}") from None
    except ClosedEarly as exc:
        raise close_error(turn.spec_id, key_var, exc.code, exc.reason) from None
