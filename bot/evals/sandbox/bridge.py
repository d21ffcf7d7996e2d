"""The network of a provider written in code, as the sandbox sees it: the code asks for a request, the host
(bot.evals.providers_code.Bridge) decides where it may go, sends it, and hands back the answer. JavaScript asks
through `fetch` (bot.evals.sandbox.js_provider), Python through the `openai`, `anthropic`, `requests` and `httpx` modules of the
sandbox (bot.evals.sandbox.py_shims); both speak these plain values.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

MAX_REQUESTS = 16  # per call: the host refuses the next one (bot.evals.providers_code)
MAX_URL_CHARS = 8192
MAX_REQUEST_BYTES = 1_000_000  # one request's body


@dataclass(frozen=True)
class Request:
    """One request the provider's code asked for, as plain values."""

    id: int  # the code's number for it (JavaScript: the pending promise)
    kind: str  # fetch | cache
    url: str
    method: str
    headers: dict[str, str]
    body: str | None
    timeout_ms: float | None


@dataclass(frozen=True)
class Answer:
    """The host's answer to a Request: a response, or `error` (the request fails with it)."""

    status: int = 0
    status_text: str = ""
    headers: dict[str, str] | None = None
    body: str = ""
    error: str | None = None

    def as_json(self) -> str:
        if self.error is not None:
            return json.dumps({"error": self.error})
        return json.dumps({"status": self.status, "statusText": self.status_text, "headers": self.headers or {},
                           "body": self.body})


Send = Callable[[Request], Answer]  # called on the code's thread between its runs; may block on the network
