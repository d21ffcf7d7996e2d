"""WebSocket providers (`ws://…` / `wss://…`, promptfoo's websocket provider): what their config may hold,
and one exchange per call — connect to the address the URL policy checked and pinned, send the rendered
`messageTemplate` as one text frame, read the first message back (bounded in size; the caller bounds the
time), close. wsproto does the protocol (sans-IO: the socket, deadline, pinning and limits stay ours).
"""

from __future__ import annotations

import asyncio
import json
import re
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
from wsproto import ConnectionType, WSConnection
from wsproto.events import (AcceptConnection, BytesMessage, CloseConnection, Ping, RejectConnection, Request, TextMessage)
from wsproto.utilities import LocalProtocolError, RemoteProtocolError

from bot.core import safejson
from bot.core.errors import CheckError
from bot.evals.providers_shapes import Parsed, WireError, headers_problem, js_json, json_path

WS_KEYS = {"url", "messageTemplate", "transformResponse", "timeoutMs", "headers", "protocols", "streamResponse"}
# promptfoo's ids of the websocket provider whose URL is config.url
WS_IDS = ("websocket", "ws", "wss")
# keys of websocket examples that promptfoo 0.121.20's websocket provider never reads
WS_INERT = {"type"}
WS_REFUSED = {
    "setSessionContext": "executes code from the PR before each call to set up a server session (code that calls the "
                         "service, e.g. fetch), which prompt-review does not run; promptfoo 0.121.20 does not read it either: "
                         "remove it, and give the session id through the test's vars (defaultTest options.transformVars)",
}
# promptfoo renders the template with nunjucks; prompt-review fills {{ name }} and {{ name | dump }} only
MESSAGE_VAR = re.compile(r"{{\s*([A-Za-z_]\w*)\s*(\|\s*dump\s*)?}}")
_TEMPLATE = re.compile(r"{{|{%")
# promptfoo's websocket transformResponse is JavaScript over `data`; a plain path is read without code
DATA_PATH = re.compile(r"^\s*data(?=[.\[]|\s*$)")
READ_BYTES = 65_536


def ws_problem(key: str, value: Any) -> str | None:
    """Why a websocket provider's config value cannot be used, or None."""
    if key == "messageTemplate":
        if not isinstance(value, str):
            return "messageTemplate must be text (the message sent, with {{prompt}} and the test's {{var}}s)"
        if _TEMPLATE.search(MESSAGE_VAR.sub("", value)):
            return ("unsupported: a websocket messageTemplate may use {{prompt}} and the test's {{var}}s, plain or "
                    "with | dump (no other filters, tags or env)")
    if key == "transformResponse" and (not isinstance(value, str) or not value.strip() or value.strip().startswith("file://")):
        return ("transformResponse must be text: a property path such as data.output, or a JavaScript expression over "
                "data (promptfoo reads no file here)")
    if key == "timeoutMs" and (isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0):
        return "timeoutMs must be a positive number of milliseconds"
    if key == "headers":
        return headers_problem(value)
    if key == "protocols" and not (isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value))):
        return "protocols must be text or a list of text (WebSocket subprotocols)"
    if key == "streamResponse" and (not isinstance(value, str) or not value.strip() or value.strip().startswith("file://")):
        return ("streamResponse must be inline JavaScript: a function (accumulator, event, context) => [response, done], "
                "or a body over accumulator, data and context (file:// is not supported here)")
    if key == "url" and (not isinstance(value, str) or not value.startswith(("ws://", "wss://")) or _TEMPLATE.search(value)):
        return "url must be a ws:// or wss:// URL (not templated)"
    return None


def data_path(expr: str) -> tuple[str | int, ...] | None:
    """`data.output[0].text` → ('output', 0, 'text'); None for anything that is not a plain path."""
    return json_path(DATA_PATH.sub("json", expr, count=1)) if DATA_PATH.match(expr) else None


def response_source(expr: str) -> str:
    """A JavaScript transformResponse as code over `output` = {json, text}: promptfoo evaluates it with
    `data` — the answer's JSON, else its text. Line 2 of the body is the user's first line."""
    return f"const data = output.json !== null ? output.json : output.text; return (\n{expr.strip()}\n)"


# promptfoo's three inline forms of streamResponse (a function expression, a body with `return`, an expression)
_FUNCTION_EXPRESSION = re.compile(r"^(\(.*?\)\s*=>|function\s*\(.*?\))")
_CALL = "(output.accumulator, output.event, output.context)"


def stream_source(text: str) -> str:
    """A streamResponse as code over `output` = {accumulator, event, context}, called as promptfoo calls it."""
    code = text.strip()
    if _FUNCTION_EXPRESSION.match(code):
        return f"return (\n{code}\n){_CALL}"
    body = code if re.search(r"\breturn\b", code) else f"return (\n{code}\n);"
    return f"return (function (accumulator, data, context) {{\n{body}\n}}){_CALL}"


def stream_step(value: Any) -> tuple[dict[str, Any], bool]:
    """(the new accumulator, whether the answer is complete) from what a streamResponse returned."""
    if not (isinstance(value, list) and len(value) == 2 and isinstance(value[0], dict)):
        raise WireError("streamResponse must return [response, done] (a response object and true or false)", CheckError.ASSERTION)
    return value[0], bool(value[1])


def fill_message(template: str, values: dict[str, Any], only: set[str] | None = None) -> str:
    """The template with `{{ name }}` (text as it is, anything else as JSON) and `{{ name | dump }}` (JSON) filled
    in; a missing name is empty text, as nunjucks. With `only`, other names are left as written."""
    def one(m: re.Match[str]) -> str:
        name, dump = m.group(1), m.group(2)
        if only is not None and name not in only:
            return m.group(0)
        if name not in values:
            return ""
        value = values[name]
        if dump:
            return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)

    return MESSAGE_VAR.sub(one, template)


def parse_answer(spec_id: str, raw: str, path: str | None, code: bool) -> Parsed:
    """The first message as the provider's output (promptfoo: a JSON text is parsed, else it stays text;
    then transformResponse; an object with an `output` is a provider response, one with an `error` an error)."""
    try:
        data: Any = safejson.loads(raw)
    except safejson.JsonTooDeep as exc:
        raise WireError(f"{spec_id}: the answer is JSON nested deeper than {exc.limit} levels", CheckError.BAD_RESPONSE) from None
    except ValueError:
        data = raw
    if code:  # the JavaScript transformResponse runs later, in the sandbox (bot.evals.provider_output)
        return Parsed(raw) if isinstance(data, str) else Parsed(json.dumps(data, ensure_ascii=False), structured=True)
    value = data
    if path is not None:
        for step in data_path(path) or ():
            try:
                value = value[step]
            except (KeyError, IndexError, TypeError):
                raise WireError(f"{spec_id}: no output from provider: the answer has nothing at {path}", CheckError.BAD_RESPONSE) from None
    if isinstance(value, dict) and value.get("error"):
        raise WireError(f"{spec_id}: the provider answered an error: {str(value['error'])[:200]}", CheckError.OTHER)
    if isinstance(value, dict) and "output" in value:
        value = value["output"]
    if value is None:
        raise WireError(f"{spec_id}: no output from provider", CheckError.BAD_RESPONSE)
    return Parsed(value) if isinstance(value, str) else Parsed(js_json(value))


@dataclass(frozen=True)
class Connection:
    """Where to connect (the checked address) and what the handshake says (the URL's host and path)."""

    url: str  # ws(s)://ADDRESS:PORT/path?query — the host part is the pinned address when pinned
    host_header: str
    server_name: str  # the TLS name (the URL's host)


class HandshakeRefused(WireError):
    """The server answered the WebSocket handshake with an HTTP status instead of switching protocols."""

    def __init__(self, message: str, status: int):
        super().__init__(message, CheckError.PROVIDER_DOWN)
        self.status = status


class ClosedEarly(WireError):
    """The server closed the connection (a close frame's code and reason) before the answer was complete."""

    def __init__(self, message: str, code: int, reason: str):
        super().__init__(message, CheckError.BAD_RESPONSE)
        self.code, self.reason = code, reason


# What a conversation's handler returns for one message: the messages to send, and whether the answer is complete
Step = tuple[list[str], bool]


async def exchange(conn: Connection, message: str, headers: dict[str, str], protocols: list[str], max_bytes: int,
                   spec_id: str, done: Callable[[str], Awaitable[bool]] | None = None) -> str:
    """Send `message`, return the first message the server sends back — or, with `done`, the message after
    which `done` says the answer is complete (every message is given to it). The caller bounds the time;
    `max_bytes` bounds all messages together."""
    last = ""

    async def on_message(text: str) -> Step:
        nonlocal last
        last = text
        return [], done is None or await done(text)

    await converse(conn, [message], headers, protocols, max_bytes, spec_id, on_message)
    return last


async def converse(conn: Connection, opening: list[str], headers: dict[str, str], protocols: list[str], max_bytes: int,
                   spec_id: str, on_message: Callable[[str], Awaitable[Step]], max_messages: int | None = None) -> None:
    """Send `opening` once connected, then give every message the server sends to `on_message`, send what it
    returns, and stop when it says the answer is complete. The caller bounds the time; `max_bytes` bounds all
    messages together, `max_messages` their number."""
    u = httpx.URL(conn.url)
    tls = u.scheme == "wss"
    port = u.port or (443 if tls else 80)
    context = ssl.create_default_context() if tls else None
    try:
        reader, writer = await asyncio.open_connection(u.host, port, ssl=context, server_hostname=conn.server_name if tls else None,
                                                       limit=READ_BYTES)
    except (OSError, ssl.SSLError) as exc:
        raise WireError(f"{spec_id}: WebSocket connection failed ({type(exc).__name__})", CheckError.PROVIDER_DOWN) from None
    ws = WSConnection(ConnectionType.CLIENT)
    target = u.raw_path.decode("ascii") or "/"
    try:
        writer.write(ws.send(Request(host=conn.host_header, target=target, extra_headers=[(k.encode(), v.encode()) for k, v in headers.items()],
                                     subprotocols=protocols)))
        parts: list[str | bytes] = []
        size = messages = 0
        while True:
            data = await reader.read(READ_BYTES)
            ws.receive_data(data or None)
            for event in ws.events():
                if isinstance(event, AcceptConnection):
                    for message in opening:
                        writer.write(ws.send(TextMessage(data=message)))
                elif isinstance(event, RejectConnection):
                    raise HandshakeRefused(f"{spec_id}: the server refused the WebSocket connection (HTTP {event.status_code})",
                                           event.status_code)
                elif isinstance(event, Ping):
                    writer.write(ws.send(event.response()))
                elif isinstance(event, (TextMessage, BytesMessage)):
                    size += len(event.data)
                    if size > max_bytes:
                        raise WireError(f"{spec_id}: the answer is larger than {max_bytes} bytes (evals.max_response_bytes)",
                                        CheckError.RESPONSE_TOO_LARGE)
                    parts.append(event.data if isinstance(event.data, str) else bytes(event.data))
                    if event.message_finished:
                        messages += 1
                        if max_messages is not None and messages > max_messages:
                            raise WireError(f"{spec_id}: the answer was not complete within {max_messages} messages",
                                            CheckError.RESPONSE_TOO_LARGE)
                        text = "".join(p if isinstance(p, str) else p.decode("utf-8", "replace") for p in parts)
                        parts = []
                        replies, finished = await on_message(text)
                        if finished:
                            return
                        for reply in replies:
                            writer.write(ws.send(TextMessage(data=reply)))
                elif isinstance(event, CloseConnection):
                    raise ClosedEarly(f"{spec_id}: the server closed the WebSocket connection before answering", event.code,
                                      (event.reason or "")[:300])
            await writer.drain()
            if not data:
                raise WireError(f"{spec_id}: the server closed the connection before answering", CheckError.PROVIDER_DOWN)
    except OSError as exc:
        raise WireError(f"{spec_id}: WebSocket connection failed ({type(exc).__name__})", CheckError.PROVIDER_DOWN) from None
    except (LocalProtocolError, RemoteProtocolError):  # a bad handshake answer, a malformed frame
        raise WireError(f"{spec_id}: the server broke the WebSocket protocol", CheckError.BAD_RESPONSE) from None
    finally:
        writer.close()
