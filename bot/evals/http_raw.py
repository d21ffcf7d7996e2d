"""An `http` provider's raw `request` (promptfoo 0.121's callApiWithRawRequest): the request written as HTTP text —
request line, headers, blank line, body — inline, or `file://x.txt` read from the repository relative to the suite's
folder (bot.evals.loader; the file is then a dependency of the suite). Read when the suite loads into the provider's
url, method, headers and a body template; the URL is `http(s)://HOST` + the request line's path (https when the provider's id or url is https, or
`useHttps`), and goes through the same URL allowlist as `url`.

As promptfoo: header names are lowercased and content-length is dropped; the body is rendered with the test's vars
and the prompt (after transformRequest) JSON-escaped when they are text (promptfoo's escapeJsonVariables), its line
ends made CRLF, trimmed, and sent as it is (no JSON reading); without a content-type header it goes as
`text/plain;charset=UTF-8` (what fetch sends for text). Only the body is rendered: its `{{…}}`, filters included
(bot.evals.http_templates), a `{% … %}` sent as written (promptfoo renders a raw request that way); headers may use
`{{env.NAME}}` (bot.evals.header_secrets), the request line and Host nothing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from bot.core.yamlsrc import Path
from bot.evals.http_body import Fill, HttpBody, header_content_type
from bot.evals.http_config import headers_problem
from bot.evals.http_templates import raw_template, template_problem
from bot.evals.providers_shapes import js_string

RAW = "raw"  # the option marking a body written in a raw request (sent as rendered, not read as JSON)
REQUEST_FILE = "request_file"  # the option naming the repository file a `request: file://…` was read from
RAW_KEYS = ("url", "method", "headers", "body", RAW)  # the options a raw request sets
TEXT_TYPE = "text/plain;charset=UTF-8"
_VAR = re.compile(r"{{\s*([A-Za-z_]\w*)\s*}}")
_LINE = re.compile(r"^([A-Z]+) (\S+) (HTTP/\d(?:\.\d)?)$", re.IGNORECASE)
_METHODS = ("POST", "PUT", "GET")
# (where, `file://…` as written) → (repository path, text) of a `request: file://…`, or None (the reader reported why)
FileReader = Callable[[Path, str], "tuple[str, str] | None"]
# keys promptfoo does not read when `request` is set
IGNORED_WITH_REQUEST = ("url", "method", "headers", "body", "queryParams")


def _crlf(text: str) -> str:
    return text.replace("\r\n", "\n").strip().replace("\n", "\r\n")


def parse_request(text: Any, https: bool) -> dict[str, Any] | str:
    """The request as {url, method, headers, body, raw: True}, or why it cannot be sent."""
    if not isinstance(text, str) or not text.strip():
        return "request must be text: an HTTP request (request line, headers, a blank line, the body)"
    lines = text.replace("\r\n", "\n").strip().split("\n")
    first = lines[0].strip()
    m = _LINE.match(first)
    if m is None:
        return f"request: the first line must be METHOD PATH HTTP/1.1, not {first[:80]!r}"
    method, target = m.group(1).upper(), m.group(2)
    if method not in _METHODS:
        return f"request: method must be POST, PUT or GET, not {method}"
    if "{{" in target or "{%" in target:
        return "unsupported: request: a templated path (the request line may not use {{…}}); put vars in the body"
    headers: dict[str, str] = {}
    end = len(lines)
    for i, line in enumerate(lines[1:], start=1):
        if not line.strip():
            end = i
            break
        name, sep, value = line.partition(":")
        if not sep or not name.strip() or name != name.strip():
            return f"request: line {i + 1} is not a header (NAME: value): {line[:80]!r}"
        headers[name.strip().lower()] = value.strip()
    headers.pop("content-length", None)
    host = headers.pop("host", None)
    if target.startswith(("http://", "https://")):
        url = target
    elif target.startswith("/"):
        if not host:
            return "request: a Host header is needed (it says where the request goes)"
        if "{{" in host or "{%" in host or "/" in host or "@" in host:
            return "unsupported: request: the Host header must be a plain host[:port] (no templates)"
        url = ("https://" if https else "http://") + host + target
    else:
        return "request: the path must start with / (or be an http(s) URL)"
    if (problem := headers_problem(headers)) is not None:
        return f"request: {problem}"
    body = "\r\n".join(lines[end + 1:]) if end < len(lines) else ""
    if (problem := template_problem("request: the body", raw_template(body))) is not None:
        return problem
    if method == "GET" and body.strip():
        return "request: a GET request sends no body here: remove it or use POST"
    if method != "GET" and not body.strip():
        return f"unsupported: request: a {method} request without a body"
    return {"url": url, "method": method, "headers": headers, "body": body if body.strip() else None, RAW: True}


def _escaped(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)[1:-1]
    return js_string(value)


def raw_body(template: str, headers: Mapping[str, Any] | None, prompt: Any, vars_: Mapping[str, Any],
             fill: Fill | None = None) -> HttpBody:
    """The body of a raw request for one call, as promptfoo renders and sends it; `fill` renders one with filters
    (its text already a raw_template: only the `{{…}}` rendered, text vars JSON-escaped)."""
    values = {**vars_, "prompt": prompt}
    if fill is not None:
        escaped = {k: json.dumps(v, ensure_ascii=False)[1:-1] if isinstance(v, str) else v for k, v in values.items()}
        text = _crlf(str(fill(template, escaped)))
    else:
        text = _crlf(_VAR.sub(lambda m: _escaped(values.get(m.group(1))), template))
    return HttpBody(text.encode(), header_content_type(headers) or TEXT_TYPE)
