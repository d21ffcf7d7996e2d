"""An `http` provider's request body, made as promptfoo 0.121 makes it (its determineRequestBody with processJsonBody
and processTextBody), for one case: the test's vars and the prompt (or what the provider's transformRequest made of it)
rendered into the body template, then sent as the content type says.

- **JSON** (a `content-type` header naming application/json; the default for a mapping or list body): a text body is
  first read as JSON as written (so `'{"q": "{{prompt}}"}'` is a mapping whose value is filled). In a mapping or list
  every text value is rendered, then any rendered value that reads as a JSON object or list *is* that object or list
  (`"{{prompt}}"` holding `{"messages": …}` is sent as the object). A body still text after that is rendered and read
  as JSON (any JSON value; a JSON string is sent as its text); when that fails and it looks like an object or list,
  it is rendered again with text vars JSON-escaped and read again; else it is sent as rendered. A transformRequest
  that returns a mapping or list is merged over a mapping body instead.
- **Text** (any other content type; the default for a text body is application/x-www-form-urlencoded): the template
  rendered, trimmed. A mapping or list body with a non-JSON content type is refused when the suite is read
  (promptfoo fails every call of such a provider).

Rendering: plain `{{ name }}`s are filled here (a var the test lacks and null are empty; a value that is not text is
written as JavaScript's String() writes it, as nunjucks); a body with filters or tags is rendered in the sandbox with
the same printing (a `Fill` from bot.evals.http_templates), then read the same way.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus

from bot.evals.providers_shapes import js_json, js_string

_VAR = re.compile(r"{{\s*([A-Za-z_]\w*)\s*}}")
JSON_TYPE = "application/json"
# how a template value (text, or a mapping or list of them) is rendered with vars: `render`, or the sandbox's
Fill = Callable[[Any, Mapping[str, Any]], Any]
FORM_TYPE = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class HttpBody:
    """The bytes an http provider sends for one case, and the content type they go with unless the suite's
    headers name one."""
    content: bytes
    content_type: str | None

    def shown(self) -> str:
        return self.content.decode("utf-8", "replace")


def form_encoded(text: str) -> str:
    """application/x-www-form-urlencoded as URLSearchParams writes it (only *-._ and letters and digits stay)."""
    return quote_plus(text, safe="*").replace("~", "%7E")


def header_content_type(headers: Mapping[str, Any] | None) -> str | None:
    """The content type the suite's headers set (names compare without case), or None."""
    for name, value in (headers or {}).items():
        if str(name).lower().startswith("content-type"):
            return str(value)
    return None


def default_content_type(template: Any) -> str | None:
    """promptfoo's default content type for a body template: JSON for a mapping or list, a form for text."""
    if isinstance(template, (dict, list)):
        return JSON_TYPE
    if isinstance(template, str):
        return FORM_TYPE
    return None


def is_json(template: Any, headers: Mapping[str, Any] | None) -> bool:
    given = header_content_type(headers)
    return JSON_TYPE in (given if given is not None else default_content_type(template) or "")


def body_problem(template: Any, headers: Mapping[str, Any] | None) -> str | None:
    """Why promptfoo would fail every call with this body and these headers, or None."""
    if isinstance(template, (dict, list)) and not is_json(template, headers):
        return (f"a mapping or list body is sent as JSON; the content-type header says {header_content_type(headers)!r} "
                "(promptfoo fails every call of such a provider): make the body text or the content type application/json")
    return None


def _text(value: Any) -> str:
    return "" if value is None else js_string(value)


def render(value: Any, vars_: Mapping[str, Any]) -> Any:
    """`{{ name }}` filled in every text value (keys stay as written)."""
    if isinstance(value, str):
        return _VAR.sub(lambda m: _text(vars_.get(m.group(1))), value)
    if isinstance(value, dict):
        return {k: render(v, vars_) for k, v in value.items()}
    if isinstance(value, list):
        return [render(v, vars_) for v in value]
    return value


def _nested_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _nested_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_nested_json(v) for v in value]
    if isinstance(value, str) and value.strip().startswith(("{", "[")):
        parsed = _json(value)
        return parsed if isinstance(parsed, (dict, list)) else value
    return value


_NOT_JSON = object()


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return _NOT_JSON


def _json_escaped(vars_: Mapping[str, Any]) -> dict[str, Any]:
    return {k: json.dumps(v, ensure_ascii=False)[1:-1] if isinstance(v, str) else v for k, v in vars_.items()}


def json_body(template: Any, vars_: Mapping[str, Any], fill: Fill | None = None) -> Any:
    """promptfoo's processJsonBody: the value sent as JSON (text: sent as it is)."""
    fill = fill or render
    rendered = fill(template, vars_)
    if isinstance(rendered, (dict, list)):
        return _nested_json(rendered)
    if not isinstance(rendered, str):
        return rendered
    parsed = _json(rendered)
    if parsed is not _NOT_JSON:
        return parsed
    if rendered.strip().startswith(("{", "[")) and isinstance(template, str):
        again = _json(fill(template, _json_escaped(vars_)))
        if again is not _NOT_JSON:
            return again
    return rendered


def request_body(template: Any, headers: Mapping[str, Any] | None, prompt: Any, vars_: Mapping[str, Any],
                 fill: Fill | None = None) -> HttpBody:
    """The body for one call: `prompt` is the rendered prompt's text, or what transformRequest returned; `fill` renders
    templates with filters or tags (None: plain `{{name}}`s, filled here)."""
    content_type = header_content_type(headers) or default_content_type(template)
    if not is_json(template, headers):
        text = (fill or render)(template, {**vars_, "prompt": prompt})
        return HttpBody(_text(text).strip().encode(), content_type)
    actual = template
    if isinstance(template, str):
        parsed = _json(template)
        actual = template if parsed is _NOT_JSON else parsed
    if isinstance(prompt, (dict, list)):  # promptfoo: Object.assign({}, body, transformed)
        given = prompt if isinstance(prompt, dict) else {str(i): v for i, v in enumerate(prompt)}
        value: Any = {**(actual if isinstance(actual, dict) else {}), **given}
    else:
        value = json_body(actual, {**vars_, "prompt": prompt}, fill)
    if isinstance(value, str):
        return HttpBody(value.encode(), content_type)
    return HttpBody(js_json(value).encode(), content_type)  # as JSON.stringify writes it
