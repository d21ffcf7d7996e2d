"""What every wire format shares: the parsed answer (Parsed), the error for an answer of the wrong
shape (WireError), and helpers that read untrusted answer fields without failing on odd values.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from bot.core.errors import CheckError
from bot.core.parts import Parts

Messages = tuple[tuple[str, str], ...]
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,62}$")  # a region, location or project id: it becomes part of a host or path


def mapping(value: object) -> dict:
    """A JSON object from an answer, or {} for anything else (a missing or odd field never fails the parse)."""
    return value if isinstance(value, dict) else {}


class WireError(Exception):
    """The answer does not have the vendor's shape; str() says which field is missing."""

    def __init__(self, message: str, kind: CheckError = CheckError.BAD_RESPONSE):
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class Parsed:
    text: str
    tokens_in: int = 0
    tokens_out: int = 0
    finish_reason: str | None = None  # promptfoo's normalised names: stop, length, content_filter, tool_calls
    # What the provider says answered (re-validation notices a model changed behind the same name).
    model: str | None = None
    system_fingerprint: str | None = None
    # the text is the JSON of an answer that is not text (tool calls, Gemini parts): promptfoo's output
    # is then that object, and code (transforms, javascript/python) sees the object
    structured: bool = False
    # each answer token's log-probability, when the vendor returned them (OpenAI chat asked for `logprobs`)
    logprobs: tuple[float, ...] | None = None


def _js_value(value: Any) -> Any:
    if isinstance(value, float):
        if not math.isfinite(value):
            return None  # JSON.stringify writes NaN and Infinity as null
        return int(value) if value.is_integer() and abs(value) < 1e21 else value
    if isinstance(value, dict):
        return {k: _js_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_js_value(v) for v in value]
    return value


def js_json(value: Any) -> str:
    """`value` as JavaScript's JSON.stringify writes it: compact, keys in their order, 1.0 as 1. promptfoo's
    text of an answer that is an object (tool calls, function calls, parts) is that, and text checks
    (`contains '"name":"get_weather"'`) read it."""
    return json.dumps(_js_value(value), ensure_ascii=False, separators=(",", ":"))


def js_string(value: Any) -> str:
    """`value` as JavaScript's String() (and a template literal) writes it: what promptfoo puts in its output lines
    and substitutes for a var that is not text. Arrays join their items with commas (null as nothing); objects are
    "[object Object]"."""
    if isinstance(value, str):
        return value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return js_json(value)
    if isinstance(value, list):
        return ",".join("" if v is None else js_string(v) for v in value)
    return "[object Object]"


# `{{env.NAME}}` in an http/websocket provider's header: the only template a header may hold (bot.evals.header_secrets)
ENV_TOKEN = re.compile(r"{{\s*env\.([A-Za-z_][A-Za-z0-9_]*)\s*}}")


def headers_problem(value: Any) -> str | None:
    """An http or WebSocket provider's `headers`: text values; `{{env.NAME}}` is the only template (filled when the
    request is sent, where bot.evals.header_secrets allows)."""
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        return "headers must be a mapping of name → text"
    if any("{{" in v or "{%" in v for v in (ENV_TOKEN.sub("", v) for v in value.values())):
        return ("unsupported: a header may use {{env.NAME}} (the service's environment, sent where the base branch's "
                "evals.http_credentials allows) and nothing else templated")
    return None


def one_line(text: str, limit: int = 120) -> str:
    """Text from a remote server made safe to show: one line, no control characters, at most `limit` chars."""
    clean = " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())
    return clean if len(clean) <= limit else clean[: limit - 1] + "…"


def count(value: Any) -> int:
    return value if isinstance(value, int) and 0 <= value < 10**12 else 0


def finish(value: Any, table: dict[str, str]) -> str | None:
    if not isinstance(value, str):
        return None
    return table.get(value, value.lower())


def checked_name(value: str, what: str) -> str:
    if not _NAME.match(value):
        raise WireError(f"{what} {value[:40]!r} is not a valid name", CheckError.URL_REFUSED)
    return value


def vertex_place(option: Callable[[str], Any]) -> tuple[str, str]:
    """(project, location) of a Vertex provider from its `option` reader, each a plain name (they are parts of the URL)."""
    project = checked_name(str(option("projectId") or option("project") or ""), "vertex projectId")
    location = checked_name(str(option("location") or option("region") or "us-central1"), "vertex location")
    return project, location


def segment(value: str, what: str = "model") -> str:
    """A name from the suite as one URL path segment: percent-encoded, and never `.` or `..` (which a
    server or proxy would resolve to another path on the same host, where the operator's key goes)."""
    if value in ("", ".", ".."):
        raise WireError(f"{what} {value!r} is not a valid name", CheckError.URL_REFUSED)
    return quote(value, safe="")


def is_chat(messages: Messages) -> bool:
    """A prompt that promptfoo hands the provider as a JSON message list (not one user text)."""
    return not (len(messages) == 1 and messages[0][0] == "user" and not isinstance(messages[0][1], Parts))


# transformResponse we evaluate ourselves (a property path into the JSON answer); anything else is JavaScript.
JSON_PATH = re.compile(r"^\s*json((?:\.[A-Za-z_$][\w$]*|\[\d+\]|\[(?:'[^'\\]*'|\"[^\"\\]*\")\])*)\s*$")
_PATH_PART = re.compile(r"\.([A-Za-z_$][\w$]*)|\[(\d+)\]|\['([^'\\]*)'\]|\[\"([^\"\\]*)\"\]")


def json_path(expr: str) -> tuple[str | int, ...] | None:
    """`json.choices[0].text` → ('choices', 0, 'text'); None for anything that is not a plain path."""
    m = JSON_PATH.match(expr)
    if m is None:
        return None
    return tuple(int(n) if n else (a or b or c) for a, n, b, c in _PATH_PART.findall(m.group(1)))


# Config keys that change nothing a verdict depends on: caching, pricing, client pacing.
INERT_CONFIG = {"cache_control", "cost", "inputCost", "outputCost", "timeout", "maxRetries", "debug", "inferenceModelType",
                "stream",  # promptfoo assembles a streamed answer into the same text; prompt-review asks for it whole
                "usage_tier",  # Perplexity's price tier: promptfoo's cost estimate only
                "omitDefaults"}  # promptfoo's OpenAI client then omits its max_tokens 1024 / temperature 0, never sent here
